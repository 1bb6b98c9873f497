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
    let mut phone = w.new_phone();
    let token = w.first_start(&mut phone);
    for i in 0..32 {
        let code = w.code(&mut phone, &token);
        assert_eq!(
            w.bank
                .register(&format!("c{i}"), token.serial.as_str(), &code)
                .unwrap(),
            Outcome::Accepted
        );
    }
    w.next_step();
    let code = w.code(&mut phone, &token);
    let world = w.clone();
    let outcomes = race(32, move |i| {
        world.bank.login(&format!("c{i}"), &code).expect("login")
    });
    assert!(
        outcomes.iter().all(|o| *o == Outcome::Accepted),
        "{outcomes:?}"
    );
}
