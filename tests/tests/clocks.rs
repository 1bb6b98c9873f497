//! Clocks that jump back, leap years ahead, stand still, or sit at 0, 2^31
//! (2038), 2^32 (2106) and u64::MAX: codes are right or a typed error, the
//! verifier never accepts a replay because the clock went back, nothing panics.

use softtoken_core::otp::{self, OtpError, OtpParams};
use softtoken_core::{
    Issuer, KeyUri, ManualClock, MemoryStore, Outcome, Prefix, Vault, VaultError,
};
use softtoken_tests::world::World;
use std::collections::HashSet;
use std::sync::Arc;

const EDGES: [u64; 8] = [0, 1, 29, 30, 1 << 31, (1 << 31) - 1, 1 << 32, u64::MAX];

#[test]
fn the_vault_gives_the_right_code_or_a_typed_error_at_every_edge() {
    let clock = Arc::new(ManualClock::new(0));
    let mut vault = Vault::open(
        MemoryStore::new(),
        clock.clone(),
        Issuer::new(Prefix::DESKTOP),
    )
    .unwrap();
    let token = vault.issue().unwrap();
    let key = KeyUri::parse(&vault.export_uri(token.serial.as_str()).unwrap()).unwrap();
    let years = 365 * 24 * 3600;
    let times = EDGES.into_iter().chain([
        1_700_000_000,
        1_700_000_000 - 3 * years,
        1_700_000_000 + 100 * years,
        u64::MAX - 29,
        u64::MAX - 30,
        u64::MAX - 31,
    ]);
    for time in times {
        clock.set(time);
        match vault.code(token.serial.as_str()) {
            Ok(code) => {
                assert_eq!(
                    code,
                    otp::generate(&key.secret, &OtpParams::default(), time).unwrap(),
                    "at {time}"
                );
                let w = code.window.unwrap();
                assert!(w.valid_from <= time && time < w.valid_until);
            }
            Err(VaultError::Otp(OtpError::TimeOutOfRange(t))) => {
                assert_eq!(t, time);
                assert!(
                    time > u64::MAX - 30,
                    "only the last window cannot be expressed: {time}"
                );
            }
            Err(e) => panic!("at {time}: {e}"),
        }
    }
    // A clock that stands still gives the same code; an offset that leaves the range is refused.
    clock.set(1_700_000_000);
    assert_eq!(
        vault.code(token.serial.as_str()).unwrap(),
        vault.code(token.serial.as_str()).unwrap()
    );
    assert!(matches!(
        vault.set_clock_offset(i64::MIN),
        Err(VaultError::Clock(_))
    ));
    clock.set(u64::MAX - 10);
    assert!(matches!(
        vault.set_clock_offset(11),
        Err(VaultError::Clock(_))
    ));
    assert_eq!(vault.clock_offset(), 0);
}

#[test]
fn a_clock_going_back_never_lets_a_code_in_twice() {
    let w = World::new();
    let mut phone = w.new_phone();
    let token = w.first_start(&mut phone);
    assert_eq!(w.register("c", &mut phone, &token), Outcome::Accepted);
    let mut accepted_steps = HashSet::new();
    let start = softtoken_tests::world::START;
    // The bank's clock wanders: forward, back by minutes and years, standing still, to the edges.
    let path: Vec<u64> = vec![
        start + 30,
        start + 30,
        start + 60,
        start - 300,
        start + 60,
        start - 86_400 * 365,
        start + 90,
        0,
        start + 90,
        1 << 31,
        1 << 32,
        start + 120,
        u64::MAX,
        start + 150,
        start + 150,
        u64::MAX - 31,
        start + 180,
    ];
    let mut phone_times = path.clone();
    phone_times.sort_unstable();
    for (i, bank_time) in path.iter().enumerate() {
        w.clock.set(*bank_time);
        // Try the phone's code for every time seen so far, including the one at the bank's time.
        for phone_time in phone_times.iter().take(i + 1).copied().chain([*bank_time]) {
            let key = KeyUri::parse(&phone.export_uri(token.serial.as_str()).unwrap()).unwrap();
            let totp =
                otp::Totp::new(&key.secret, key.params.algorithm, key.params.digits, 30).unwrap();
            let step = phone_time / 30;
            match w.bank.login("c", totp.at_step(step).as_str()).unwrap() {
                Outcome::Accepted => {
                    assert!(accepted_steps.insert(step), "step {step} accepted twice")
                }
                Outcome::Replayed | Outcome::WrongCode { .. } | Outcome::Locked => {}
                other => panic!("{other:?}"),
            }
            if w.bank.status("c").unwrap().unwrap().failures > 5 {
                w.bank.unlock("c").unwrap();
            }
        }
    }
    assert!(accepted_steps.len() >= 4, "{accepted_steps:?}");
    // Accepted steps only ever increase: the last accepted step is the largest.
    let last = w.bank.status("c").unwrap().unwrap().last_step.unwrap();
    assert_eq!(Some(&last), accepted_steps.iter().max());
}
