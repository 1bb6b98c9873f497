//! Shared helpers for the end-to-end tests: independent oracles (oathtool,
//! pyotp, python-vipaccess), a deterministic case generator, a fuzzer.

pub mod fuzz;

use std::io::Write;
use std::process::{Command, Stdio};

/// Whether this run is CI's, where every oracle must be present.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false")
}

/// Whether `program` runs; in CI a missing oracle fails the test, elsewhere it is a printed skip.
pub fn oracle_available(what: &str, program: &str, args: &[&str]) -> bool {
    let ok = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            !in_ci(),
            "oracle {what} is missing in CI: .ci/run must install it"
        );
        eprintln!("SKIP: oracle {what} is not installed here (CI installs it); this cross-check did not run");
    }
    ok
}

/// Runs a Python program with `input` on stdin and returns its stdout lines.
pub fn python(program: &str, input: &str) -> Vec<String> {
    let mut child = Command::new("python3")
        .args(["-c", program])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_string();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().expect("python finishes");
    writer
        .join()
        .expect("writer thread")
        .expect("write to python");
    assert!(out.status.success(), "python failed");
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .map(str::to_string)
        .collect()
}

/// A small deterministic random generator for test cases (SplitMix64).
#[derive(Debug, Clone)]
pub struct Cases(u64);

impl Cases {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `low..=high`.
    pub fn range(&mut self, low: u64, high: u64) -> u64 {
        low + self.next_u64() % (high - low + 1)
    }

    /// `n` random bytes.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A phone and a bank sharing one driven clock, for the seed's flows.
pub mod world {
    use softtoken_core::directory::MemoryDirectory;
    use softtoken_core::issuer::Credential;
    use softtoken_core::{
        Directory, Issuer, KeyUri, ManualClock, MemoryLedger, MemoryStore, Outcome, Policy, Prefix,
        TokenInfo, Vault, Verifier,
    };
    use std::sync::Arc;

    /// 2023-11-14 22:13:30 UTC, at the start of a 30-second step.
    pub const START: u64 = 1_700_000_010;

    /// A phone's token app over its own store.
    pub type Phone = Vault<Arc<MemoryStore>, Arc<ManualClock>>;

    /// The bank, its credential directory and the clock everyone shares.
    pub struct World {
        /// The one clock: phones and bank agree on time.
        pub clock: Arc<ManualClock>,
        /// Where the bank finds serials' secrets (the token vendor's service).
        pub directory: Arc<MemoryDirectory>,
        /// The bank's verifier.
        pub bank: Verifier,
    }

    impl World {
        /// A world at [`START`] with the default policy.
        pub fn new() -> Self {
            Self::with_policy(Policy::default())
        }

        /// A world at [`START`] with `policy`.
        pub fn with_policy(policy: Policy) -> Self {
            let clock = Arc::new(ManualClock::new(START));
            let directory = Arc::new(MemoryDirectory::new());
            let bank = Verifier::new(
                directory.clone(),
                Arc::new(MemoryLedger::new()),
                clock.clone(),
                policy,
            );
            Self {
                clock,
                directory,
                bank,
            }
        }

        /// Installs the token app on a new phone (T1): an empty store on the shared clock.
        pub fn new_phone(&self) -> Phone {
            Vault::open(
                Arc::new(MemoryStore::new()),
                self.clock.clone(),
                Issuer::new(Prefix::ANDROID),
            )
            .expect("a new phone opens")
        }

        /// The app issues its token on first start (T2) and hands its key URI to the token service, which records it for banks.
        pub fn first_start(&self, phone: &mut Phone) -> TokenInfo {
            let token = phone.issue().expect("issue");
            let uri = phone.export_uri(token.serial.as_str()).expect("export");
            let credential =
                Credential::try_from(KeyUri::parse(&uri).expect("uri")).expect("credential");
            self.directory.add(credential).expect("recorded");
            token
        }

        /// The phone's current code for `token`.
        pub fn code(&self, phone: &mut Phone, token: &TokenInfo) -> String {
            phone
                .code(token.serial.as_str())
                .expect("code")
                .value
                .to_string()
        }

        /// Waits for the next 30-second code.
        pub fn next_step(&self) {
            self.clock.advance(30);
        }

        /// Registers `token` for `contract` with the phone's current code (B1).
        pub fn register(&self, contract: &str, phone: &mut Phone, token: &TokenInfo) -> Outcome {
            let code = self.code(phone, token);
            self.bank
                .register(contract, &token.serial.grouped(), &code)
                .expect("register")
        }

        /// Logs in to `contract` with the phone's current code (B2).
        pub fn login(&self, contract: &str, phone: &mut Phone, token: &TokenInfo) -> Outcome {
            let code = self.code(phone, token);
            self.bank.login(contract, &code).expect("login")
        }
    }

    impl Default for World {
        fn default() -> Self {
            Self::new()
        }
    }
}
