//! Codes checked against independent implementations: oathtool (Debian),
//! pyotp (PyPI), and the key URIs python-vipaccess prints with codes from the
//! `oath` library it uses.

use softtoken_core::otp::{self, Algorithm, Digits, Mode, OtpParams};
use softtoken_core::{Issuer, ManualClock, MemoryStore, Prefix, Secret, SerialKind, Vault};
use softtoken_tests::{hex, oracle_available, python, Cases};
use std::process::Command;

/// Unix time at 2200-01-01.
const YEAR_2200: u64 = 7_258_118_400;
const SEED: u64 = 0x5eed_0a7e;

struct Case {
    key: Vec<u8>,
    params: OtpParams,
    time: u64,
}

/// Random algorithm, digits, period or counter, key length (10–80 bytes) and time up to 2200.
fn cases(seed: u64, n: usize) -> Vec<Case> {
    let mut r = Cases::new(seed);
    (0..n)
        .map(|i| {
            let algorithm = Algorithm::ALL[r.range(0, 2) as usize];
            let digits = Digits::new(r.range(6, 8)).unwrap();
            let mode = if i % 10 == 9 {
                Mode::Hotp {
                    counter: r.range(0, 1 << 40),
                }
            } else {
                Mode::Totp {
                    period: [30, 60, 15, 1, 45, 90, 3600][r.range(0, 6) as usize],
                }
            };
            let len = r.range(10, 80) as usize;
            Case {
                key: r.bytes(len),
                params: OtpParams {
                    algorithm,
                    digits,
                    mode,
                },
                time: r.range(0, YEAR_2200),
            }
        })
        .collect()
}

fn ours(case: &Case) -> String {
    let secret = Secret::from_bytes(&case.key).unwrap();
    otp::generate(&secret, &case.params, case.time)
        .unwrap()
        .value
        .to_string()
}

#[test]
fn oathtool_agrees_on_1000_random_cases() {
    if !oracle_available("oathtool", "oathtool", &["--version"]) {
        return;
    }
    let mut compared = 0;
    for (i, case) in cases(SEED, 1100).iter().enumerate() {
        let alg = case.params.algorithm.name().to_lowercase();
        let mut cmd = Command::new("oathtool");
        match case.params.mode {
            Mode::Totp { period } => {
                cmd.arg(format!("--totp={alg}"))
                    .arg(format!("--time-step-size={period}s"))
                    .arg(format!("--now=@{}", case.time));
            }
            // oathtool's HOTP is HMAC-SHA1 only.
            Mode::Hotp { .. } if case.params.algorithm != Algorithm::Sha1 => continue,
            Mode::Hotp { counter } => {
                cmd.arg("--hotp").arg(format!("--counter={counter}"));
            }
        }
        let out = cmd
            .arg(format!("--digits={}", case.params.digits.get()))
            .arg(hex(&case.key))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "oathtool failed on case {i}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let theirs = String::from_utf8(out.stdout).unwrap();
        assert_eq!(
            ours(case),
            theirs.trim(),
            "case {i}: {:?} at {}",
            case.params,
            case.time
        );
        compared += 1;
    }
    assert!(compared >= 1000, "only {compared} cases compared");
    eprintln!("oathtool: {compared} random cases agree");
}

const PYOTP: &str = r#"
import sys, base64, hashlib, pyotp
# Our floor is 80 bits, as many real issuers use; pyotp's default floor is 112.
pyotp.OTP.min_secret_length_bits = 80
for line in sys.stdin:
    alg, digits, kind, n, t, key = line.split()
    secret = base64.b32encode(bytes.fromhex(key)).decode()
    digest = getattr(hashlib, alg)
    if kind == "totp" and int(n) > 120:
        # pyotp's TOTP takes periods up to 120 s; a longer one is its HOTP at t // period.
        print(pyotp.HOTP(secret, digits=int(digits), digest=digest).at(int(t) // int(n)))
    elif kind == "totp":
        print(pyotp.TOTP(secret, digits=int(digits), digest=digest, interval=int(n)).at(int(t)))
    else:
        print(pyotp.HOTP(secret, digits=int(digits), digest=digest).at(int(n)))
"#;

#[test]
fn pyotp_agrees_on_2000_random_cases() {
    if !oracle_available("pyotp", "python3", &["-c", "import pyotp"]) {
        return;
    }
    let all = cases(SEED ^ 0xffff, 2000);
    let input: String = all
        .iter()
        .map(|c| {
            let (kind, n) = match c.params.mode {
                Mode::Totp { period } => ("totp", period),
                Mode::Hotp { counter } => ("hotp", counter),
            };
            let alg = c.params.algorithm.name().to_lowercase();
            format!(
                "{alg} {} {kind} {n} {} {}\n",
                c.params.digits.get(),
                c.time,
                hex(&c.key)
            )
        })
        .collect();
    let theirs = python(PYOTP, &input);
    assert_eq!(theirs.len(), all.len());
    for (i, (case, code)) in all.iter().zip(&theirs).enumerate() {
        assert_eq!(
            &ours(case),
            code,
            "case {i}: {:?} at {}",
            case.params,
            case.time
        );
    }
    eprintln!("pyotp: {} random cases agree", all.len());
}

const VIPACCESS: &str = r#"
import sys, oath
from vipaccess import provision
for line in sys.stdin:
    serial, key, t = line.split()
    uri = provision.generate_otp_uri({"id": serial, "digits": 6, "period": 30}, bytes.fromhex(key))
    print(uri + " " + oath.totp(key, t=int(t)))
"#;

#[test]
fn python_vipaccess_uris_import_as_they_are() {
    if !oracle_available(
        "python-vipaccess",
        "python3",
        &["-c", "import vipaccess.provision, oath"],
    ) {
        return;
    }
    let mut r = Cases::new(SEED ^ 0x717);
    let prefixes = ["SYMC", "VSST", "VSMT", "SYDC"];
    let rows: Vec<(String, u64)> = (0..300)
        .map(|i| {
            let serial = format!("{}{:08}", prefixes[i % 4], r.range(0, 99_999_999));
            (
                format!("{serial} {} ", hex(&r.bytes(20))),
                r.range(0, YEAR_2200),
            )
        })
        .collect();
    let input: String = rows
        .iter()
        .map(|(line, t)| format!("{line}{t}\n"))
        .collect();
    let out = python(VIPACCESS, &input);
    assert_eq!(out.len(), rows.len());
    let clock = ManualClock::new(0);
    let mut vault = Vault::open(MemoryStore::new(), &clock, Issuer::new(Prefix::DESKTOP)).unwrap();
    for ((line, time), printed) in rows.iter().zip(&out) {
        let serial = line.split(' ').next().unwrap();
        let (uri, code) = printed.rsplit_once(' ').unwrap();
        let token = vault.import_uri(uri).unwrap().remove(0);
        assert_eq!(token.serial.as_str(), serial, "{uri}");
        assert_eq!(token.serial.kind(), SerialKind::Foreign);
        assert_eq!(token.issuer.as_deref(), Some("VIP Access"));
        clock.set(*time);
        assert_eq!(
            vault.code(serial).unwrap().value.as_str(),
            code,
            "{uri} at {time}"
        );
    }
    eprintln!(
        "python-vipaccess: {} URIs imported with matching codes",
        rows.len()
    );
}
