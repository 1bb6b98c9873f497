//! The verifier under concurrent calls: one acceptance per code, exact failure counts.

use softtoken_core::{BindingState, Outcome, Policy, Verifier};
use softtoken_tests::world::World;
use std::sync::{Arc, Barrier};
use std::thread;

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn the_verifier_is_send_and_sync() {
    assert_send_sync::<Verifier>();
}

/// Runs `f` on `n` threads released at the same moment, collecting the outcomes.
fn race(n: usize, f: impl Fn(usize) -> Outcome + Send + Sync + 'static) -> Vec<Outcome> {
    let f = Arc::new(f);
    let barrier = Arc::new(Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let (f, barrier) = (f.clone(), barrier.clone());
            thread::spawn(move || {
                barrier.wait();
                f(i)
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().expect("no panic"))
        .collect()
}

#[test]
fn n_threads_with_the_same_valid_code_exactly_one_accepted() {
    for round in 0..20 {
        let w = Arc::new(World::new());
        let mut phone = w.new_phone();
        let token = w.first_start(&mut phone);
        w.register("c", &mut phone, &token);
        w.next_step();
        let code = w.code(&mut phone, &token);
        let world = w.clone();
        let outcomes = race(16, move |_| world.bank.login("c", &code).expect("login"));
        let accepted = outcomes.iter().filter(|o| **o == Outcome::Accepted).count();
        assert_eq!(accepted, 1, "round {round}: {outcomes:?}");
        assert!(outcomes
            .iter()
            .all(|o| matches!(o, Outcome::Accepted | Outcome::Replayed)));
    }
}

#[test]
fn n_threads_with_wrong_codes_count_exactly_n() {
    let w = Arc::new(World::with_policy(Policy::new(1, 1, 100, 5).unwrap()));
    let mut phone = w.new_phone();
    let token = w.first_start(&mut phone);
    w.register("c", &mut phone, &token);
    w.next_step();
    let right: u32 = w.code(&mut phone, &token).parse().unwrap();
    let wrong = format!("{:06}", (right + 333_333) % 1_000_000);
    let world = w.clone();
    let outcomes = race(64, move |_| world.bank.login("c", &wrong).expect("login"));
    let mut left: Vec<u32> = outcomes
        .iter()
        .map(|o| match o {
            Outcome::WrongCode { attempts_left } => *attempts_left,
            other => panic!("{other:?}"),
        })
        .collect();
    left.sort_unstable();
    assert_eq!(
        left,
        (36..100).collect::<Vec<u32>>(),
        "each failure counted once"
    );
    assert_eq!(w.bank.status("c").unwrap().unwrap().failures, 64);
}

#[test]
fn one_code_for_a_token_bound_to_two_contracts_is_accepted_once() {
    for round in 0..10 {
        let w = Arc::new(World::new());
        let mut phone = w.new_phone();
        let token = w.first_start(&mut phone);
        w.register("a", &mut phone, &token);
        w.next_step();
        w.register("b", &mut phone, &token);
        w.next_step();
        let code = w.code(&mut phone, &token);
        let world = w.clone();
        let outcomes = race(16, move |i| {
            let contract = if i % 2 == 0 { "a" } else { "b" };
            world.bank.login(contract, &code).expect("login")
        });
        let accepted = outcomes.iter().filter(|o| **o == Outcome::Accepted).count();
        assert_eq!(accepted, 1, "round {round}: {outcomes:?}");
        assert!(outcomes
            .iter()
            .all(|o| matches!(o, Outcome::Accepted | Outcome::Replayed)));
    }
}

#[test]
fn more_wrong_codes_than_the_threshold_lock_exactly_at_it() {
    let w = Arc::new(World::with_policy(Policy::new(1, 1, 10, 5).unwrap()));
    let mut phone = w.new_phone();
    let token = w.first_start(&mut phone);
    w.register("c", &mut phone, &token);
    w.next_step();
    let world = w.clone();
    let outcomes = race(40, move |i| {
        world
            .bank
            .login("c", &format!("{:06}", 999_000 + i))
            .expect("login")
    });
    let wrong = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::WrongCode { .. }))
        .count();
    let locked = outcomes.iter().filter(|o| **o == Outcome::Locked).count();
    let accepted = outcomes.iter().filter(|o| **o == Outcome::Accepted).count();
    // One of the 40 guesses may by chance be the right code.
    assert_eq!(wrong + locked + accepted, 40);
    if accepted == 0 {
        assert_eq!((wrong, locked), (10, 30));
        let status = w.bank.status("c").unwrap().unwrap();
        assert_eq!((status.state, status.failures), (BindingState::Locked, 10));
    }
}

#[test]
fn contracts_on_many_threads_do_not_disturb_each_other() {
    let w = Arc::new(World::new());
    let mut phones: Vec<_> = (0..32)
        .map(|i| {
            let mut phone = w.new_phone();
            let token = w.first_start(&mut phone);
            w.register(&format!("c{i}"), &mut phone, &token);
            (phone, token)
        })
        .collect();
    w.next_step();
    let codes: Arc<Vec<String>> = Arc::new(
        phones
            .iter_mut()
            .map(|(phone, token)| w.code(phone, token))
            .collect(),
    );
    let world = w.clone();
    let outcomes = race(32, move |i| {
        world
            .bank
            .login(&format!("c{i}"), &codes[i])
            .expect("login")
    });
    assert!(
        outcomes.iter().all(|o| *o == Outcome::Accepted),
        "{outcomes:?}"
    );
}

/// 8 threads × 100,000 mixed operations (fewer in a debug build): logins with
/// right, wrong and replayed codes, stops, registrations, exchanges and the
/// administrator's actions, on a clock that moves. At the end every record is
/// consistent and failures never passed the threshold. (That no step is
/// accepted twice is checked exactly by the next test, through the audit log.)
#[test]
fn mixed_operations_on_eight_threads_keep_the_invariants() {
    use softtoken_core::otp::Totp;
    use softtoken_core::{directory, Issuer, KeyUri, Prefix};
    use std::sync::atomic::{AtomicUsize, Ordering};

    const CONTRACTS: usize = 24;
    const TOKENS: usize = 12;
    let per_thread = if cfg!(debug_assertions) {
        5_000
    } else {
        100_000
    };
    let w = Arc::new(World::with_policy(Policy::new(1, 1, 5, 3).unwrap()));
    let issuer = Issuer::new(Prefix::ANDROID);
    let tokens: Arc<Vec<(String, Totp)>> = Arc::new(
        (0..TOKENS)
            .map(|_| {
                let c = directory::issue(w.directory.as_ref(), &issuer).unwrap();
                let key = KeyUri::new(c.secret.clone(), c.params, None, "x".into()).unwrap();
                (
                    c.serial.as_str().to_string(),
                    Totp::new(&key.secret, key.params.algorithm, key.params.digits, 30).unwrap(),
                )
            })
            .collect(),
    );
    let accepted = Arc::new(AtomicUsize::new(0));
    let barrier = Arc::new(Barrier::new(8));
    let handles: Vec<_> = (0..8u64)
        .map(|t| {
            let (w, tokens, accepted, barrier) =
                (w.clone(), tokens.clone(), accepted.clone(), barrier.clone());
            thread::spawn(move || {
                let mut seed = 0x9E37_79B9_7F4A_7C15u64.wrapping_mul(t + 1);
                let mut next = move || {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed
                };
                barrier.wait();
                for i in 0..per_thread {
                    if t == 0 && i % 2_000 == 0 {
                        w.clock.advance(30);
                    }
                    let now = softtoken_core::Clock::now(w.clock.as_ref()).unwrap();
                    let c = (next() % CONTRACTS as u64) as usize;
                    let contract = format!("contract-{c}");
                    let k = (next() % TOKENS as u64) as usize;
                    let (serial, totp) = &tokens[k];
                    let step = now / 30 - (next() % 2);
                    let code = totp.at_step(step).to_string();
                    let status = w.bank.status(&contract).unwrap();
                    let bound = status.as_ref().and_then(|s| s.serial.clone());
                    let bound_code = bound.as_ref().map(|b| {
                        let (_, t) = tokens.iter().find(|(s, _)| s == b).unwrap();
                        t.at_step(step).to_string()
                    });
                    let outcome = match next() % 20 {
                        0..=9 => w
                            .bank
                            .login(&contract, bound_code.as_deref().unwrap_or(&code))
                            .unwrap(),
                        10..=11 => w.bank.login(&contract, "000000").unwrap(),
                        12..=13 => w.bank.register(&contract, serial, &code).unwrap(),
                        14 => w
                            .bank
                            .stop(&contract, bound_code.as_deref().unwrap_or(&code))
                            .unwrap(),
                        15 => w
                            .bank
                            .exchange(
                                &contract,
                                bound_code.as_deref().unwrap_or(&code),
                                serial,
                                &code,
                            )
                            .unwrap(),
                        16 => w.bank.unlock(&contract).unwrap(),
                        17 => w.bank.suspend(&contract).unwrap(),
                        18 => w.bank.resume(&contract).unwrap(),
                        _ => w.bank.unbind(&contract).unwrap(),
                    };
                    if outcome == Outcome::Accepted {
                        accepted.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("no panic");
    }
    for c in 0..CONTRACTS {
        let Some(s) = w.bank.status(&format!("contract-{c}")).unwrap() else {
            continue;
        };
        match s.state {
            BindingState::Active => assert!(s.serial.is_some(), "{s:?}"),
            BindingState::Unbound | BindingState::Stopped => assert!(s.serial.is_none(), "{s:?}"),
            BindingState::Locked => assert!(s.failures >= 5, "{s:?}"),
            BindingState::Suspended => {}
        }
        assert!(s.failures <= 5, "failures passed the threshold: {s:?}");
        assert_eq!(s.attempts_left, 5 - s.failures);
    }
    let accepted = accepted.load(Ordering::Relaxed);
    assert!(accepted > 1000, "only {accepted} acceptances");
    println!(
        "concurrency: {} mixed operations on 8 threads, {accepted} accepted, invariants hold",
        8 * per_thread
    );
}

/// Every acceptance of a login is of a step after the last one accepted for that binding.
#[test]
fn concurrent_logins_never_accept_a_step_twice() {
    use softtoken_core::{Audit, AuditEvent, MemoryLedger, Operation};
    use std::sync::Mutex;

    #[derive(Default)]
    struct Log(Mutex<Vec<AuditEvent>>);
    impl Audit for Log {
        fn record(&self, e: &AuditEvent) {
            self.0.lock().unwrap().push(e.clone());
        }
    }
    let w = World::new();
    let log = Arc::new(Log::default());
    let bank = Arc::new(
        Verifier::new(
            w.directory.clone(),
            Arc::new(MemoryLedger::new()),
            w.clock.clone(),
            Policy::default(),
        )
        .with_audit(log.clone()),
    );
    let mut phone = w.new_phone();
    let token = w.first_start(&mut phone);
    let code = w.code(&mut phone, &token);
    assert_eq!(
        bank.register("c", token.serial.as_str(), &code).unwrap(),
        Outcome::Accepted
    );
    let rounds = if cfg!(debug_assertions) { 200 } else { 2_000 };
    for _ in 0..rounds {
        w.next_step();
        let codes: Vec<String> = [0u64, 30]
            .iter()
            .map(|back| {
                let t = softtoken_core::Clock::now(w.clock.as_ref()).unwrap() - back;
                phone
                    .code_at(token.serial.as_str(), t)
                    .unwrap()
                    .value
                    .to_string()
            })
            .collect();
        let codes = Arc::new(codes);
        let b = bank.clone();
        race(8, move |i| b.login("c", &codes[i % 2]).unwrap());
    }
    let events = log.0.lock().unwrap();
    let steps: Vec<u64> = events
        .iter()
        .filter(|e| e.operation == Operation::Login && e.outcome == Outcome::Accepted)
        .filter_map(|e| e.step)
        .collect();
    let unique: std::collections::HashSet<_> = steps.iter().collect();
    assert_eq!(unique.len(), steps.len(), "a step was accepted twice");
    assert!(
        steps.len() >= rounds,
        "{} acceptances over {rounds} rounds",
        steps.len()
    );
}
