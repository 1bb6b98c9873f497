//! The verifier under racing operations on one token: registrations, stops and
//! exchanges racing each other and logins. The invariants are the token's: a
//! time step of a token is accepted at most once, whatever the operation and
//! whichever contract it comes through; failures and lockout are counted
//! exactly; the final state is the one the accepted operation left.

use softtoken_core::otp::Totp;
use softtoken_core::{directory, BindingState, Clock, Issuer, KeyUri, Outcome, Policy, Prefix};
use softtoken_tests::world::World;
use std::collections::BTreeMap;
use std::sync::{Arc, Barrier};
use std::thread;

/// A token the bank knows: its serial and its codes.
struct Token {
    serial: String,
    totp: Totp,
}

impl Token {
    fn code(&self, step: u64) -> String {
        self.totp.at_step(step).to_string()
    }
}

fn tokens(w: &World, n: usize) -> Vec<Token> {
    let issuer = Issuer::new(Prefix::ANDROID);
    (0..n)
        .map(|_| {
            let c = directory::issue(w.directory.as_ref(), &issuer).unwrap();
            let key = KeyUri::new(c.secret.clone(), c.params, None, "x".into()).unwrap();
            Token {
                serial: c.serial.as_str().to_string(),
                totp: Totp::new(&key.secret, key.params.algorithm, key.params.digits, 30).unwrap(),
            }
        })
        .collect()
}

fn step(w: &World) -> u64 {
    w.clock.now().unwrap() / 30
}

/// One operation: the contract, and which token's code of which step it spends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Login {
        contract: usize,
        token: usize,
    },
    Stop {
        contract: usize,
        token: usize,
    },
    Register {
        contract: usize,
        token: usize,
    },
    Exchange {
        contract: usize,
        old: usize,
        new: usize,
    },
    /// A login with a code that is no token's.
    Wrong {
        contract: usize,
        tag: u32,
    },
}

impl Op {
    /// The (token, step) pairs the operation spends when it is accepted.
    fn spends(self, step: u64) -> Vec<(usize, u64)> {
        match self {
            Op::Login { token, .. } | Op::Stop { token, .. } | Op::Register { token, .. } => {
                vec![(token, step)]
            }
            Op::Exchange { old, new, .. } => vec![(old, step), (new, step)],
            Op::Wrong { .. } => vec![],
        }
    }

    fn contract(self) -> usize {
        match self {
            Op::Login { contract, .. }
            | Op::Stop { contract, .. }
            | Op::Register { contract, .. }
            | Op::Exchange { contract, .. }
            | Op::Wrong { contract, .. } => contract,
        }
    }
}

fn name(contract: usize) -> String {
    format!("contract-{contract}")
}

/// A code that is none of `tokens`' codes at `step` (nor the steps beside it).
fn wrong_code(tokens: &[Token], step: u64, tag: u32) -> String {
    (0..)
        .map(|i: u32| format!("{:06}", (tag * 7_919 + i * 104_729 + 123_457) % 1_000_000))
        .find(|c| {
            tokens
                .iter()
                .all(|t| (step - 1..=step + 1).all(|s| t.code(s) != *c))
        })
        .unwrap()
}

/// Runs every operation on its own thread, all released together, at the clock's current step.
fn race(w: &Arc<World>, tokens: &Arc<Vec<Token>>, ops: &[Op]) -> Vec<Outcome> {
    let barrier = Arc::new(Barrier::new(ops.len()));
    let now = step(w);
    let handles: Vec<_> = ops
        .iter()
        .map(|&op| {
            let (w, tokens, barrier) = (w.clone(), tokens.clone(), barrier.clone());
            thread::spawn(move || {
                let t = |i: usize| &tokens[i];
                let (bank, c) = (&w.bank, name(op.contract()));
                barrier.wait();
                match op {
                    Op::Login { token, .. } => bank.login(&c, &t(token).code(now)),
                    Op::Stop { token, .. } => bank.stop(&c, &t(token).code(now)),
                    Op::Register { token, .. } => {
                        bank.register(&c, &t(token).serial, &t(token).code(now))
                    }
                    Op::Exchange { old, new, .. } => {
                        bank.exchange(&c, &t(old).code(now), &t(new).serial, &t(new).code(now))
                    }
                    Op::Wrong { tag, .. } => bank.login(&c, &wrong_code(&tokens, now, tag)),
                }
                .expect("the verifier answers")
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().expect("no panic"))
        .collect()
}

/// How many times each (token, step) was spent by an accepted operation.
fn spent(ops: &[Op], outcomes: &[Outcome], step: u64) -> BTreeMap<(usize, u64), usize> {
    let mut spent = BTreeMap::new();
    for (op, outcome) in ops.iter().zip(outcomes) {
        if *outcome == Outcome::Accepted {
            for pair in op.spends(step) {
                *spent.entry(pair).or_insert(0) += 1;
            }
        }
    }
    spent
}

/// Binds `contract` to `token` at the current step, then moves the clock to the next step.
fn bind(w: &World, tokens: &[Token], contract: usize, token: usize) {
    let t = &tokens[token];
    let outcome = w
        .bank
        .register(&name(contract), &t.serial, &t.code(step(w)))
        .unwrap();
    assert_eq!(outcome, Outcome::Accepted);
}

/// Logins, a stop and two exchanges, all with the same code of the one bound token, on one
/// contract: exactly one is accepted, the others are replays, stopped, or (once the contract
/// moved to another token) wrong codes counted exactly; the final state is the winner's.
#[test]
fn login_stop_and_exchanges_with_one_code_accept_exactly_one() {
    let rounds = if cfg!(debug_assertions) { 60 } else { 300 };
    let mut winners = BTreeMap::<&str, usize>::new();
    for round in 0..rounds {
        let w = Arc::new(World::with_policy(Policy::new(1, 1, 100, 5).unwrap()));
        let tokens = Arc::new(tokens(&w, 3));
        bind(&w, &tokens, 0, 0);
        w.next_step();
        let now = step(&w);
        let ops = [
            Op::Login {
                contract: 0,
                token: 0,
            },
            Op::Login {
                contract: 0,
                token: 0,
            },
            Op::Login {
                contract: 0,
                token: 0,
            },
            Op::Login {
                contract: 0,
                token: 0,
            },
            Op::Stop {
                contract: 0,
                token: 0,
            },
            Op::Exchange {
                contract: 0,
                old: 0,
                new: 1,
            },
            Op::Exchange {
                contract: 0,
                old: 0,
                new: 2,
            },
        ];
        let outcomes = race(&w, &tokens, &ops);
        let accepted: Vec<Op> = ops
            .iter()
            .zip(&outcomes)
            .filter(|(_, o)| **o == Outcome::Accepted)
            .map(|(op, _)| *op)
            .collect();
        assert_eq!(accepted.len(), 1, "round {round}: {outcomes:?}");
        assert!(spent(&ops, &outcomes, now).values().all(|n| *n == 1));
        let status = w.bank.status(&name(0)).unwrap().unwrap();
        let wrong: Vec<u32> = outcomes
            .iter()
            .filter_map(|o| match o {
                Outcome::WrongCode { attempts_left } => Some(*attempts_left),
                _ => None,
            })
            .collect();
        let mut left = wrong.clone();
        left.sort_unstable();
        let expected: Vec<u32> = (100 - wrong.len() as u32..100).collect();
        assert_eq!(left, expected, "round {round}: each failure counted once");
        assert_eq!(status.failures as usize, wrong.len(), "round {round}");
        match accepted[0] {
            Op::Login { .. } => {
                *winners.entry("login").or_default() += 1;
                assert_eq!(status.state, BindingState::Active);
                assert_eq!(status.serial.as_deref(), Some(tokens[0].serial.as_str()));
                assert_eq!(status.last_step, Some(now));
                assert!(wrong.is_empty());
                assert!(outcomes
                    .iter()
                    .all(|o| matches!(o, Outcome::Accepted | Outcome::Replayed)));
            }
            Op::Stop { .. } => {
                *winners.entry("stop").or_default() += 1;
                assert_eq!((status.state, status.serial), (BindingState::Stopped, None));
                assert!(outcomes
                    .iter()
                    .all(|o| matches!(o, Outcome::Accepted | Outcome::Stopped)));
            }
            Op::Exchange { new, .. } => {
                *winners.entry("exchange").or_default() += 1;
                assert_eq!(status.state, BindingState::Active);
                assert_eq!(status.serial.as_deref(), Some(tokens[new].serial.as_str()));
                assert_eq!(status.last_step, Some(now));
                // The old token's code is now wrong for the contract, or (for the exchange to
                // the token it already has) refused as such.
                assert!(outcomes.iter().all(|o| matches!(
                    o,
                    Outcome::Accepted | Outcome::WrongCode { .. } | Outcome::AlreadyBound
                )));
            }
            other => panic!("{other:?}"),
        }
    }
    println!("verifier races: {rounds} rounds of login/stop/exchange, winners {winners:?}");
}

/// Wrong codes through logins, stops and exchanges racing registrations: the contract locks at
/// exactly the threshold, each failure counted once, and no code was spent meanwhile.
#[test]
fn wrong_codes_through_every_operation_lock_exactly_at_the_threshold() {
    let rounds = if cfg!(debug_assertions) { 20 } else { 100 };
    for round in 0..rounds {
        let w = Arc::new(World::with_policy(Policy::new(1, 1, 10, 5).unwrap()));
        let tokens = Arc::new(tokens(&w, 2));
        bind(&w, &tokens, 0, 0);
        w.next_step();
        let mut ops: Vec<Op> = (0..24).map(|tag| Op::Wrong { contract: 0, tag }).collect();
        // A stop and an exchange with the other token's code: wrong for this contract.
        ops.extend((0..4).map(|_| Op::Stop {
            contract: 0,
            token: 1,
        }));
        ops.extend((0..4).map(|_| Op::Exchange {
            contract: 0,
            old: 1,
            new: 1,
        }));
        ops.extend((0..4).map(|_| Op::Exchange {
            contract: 0,
            old: 1,
            new: 0,
        }));
        // Registrations on the bound contract are refused without a failure.
        ops.extend((0..4).map(|_| Op::Register {
            contract: 0,
            token: 1,
        }));
        let outcomes = race(&w, &tokens, &ops);
        let mut left: Vec<u32> = outcomes
            .iter()
            .filter_map(|o| match o {
                Outcome::WrongCode { attempts_left } => Some(*attempts_left),
                _ => None,
            })
            .collect();
        left.sort_unstable();
        assert_eq!(
            left,
            (0..10).collect::<Vec<_>>(),
            "round {round}: {outcomes:?}"
        );
        for (op, outcome) in ops.iter().zip(&outcomes) {
            let fine = match op {
                Op::Register { .. } => {
                    matches!(outcome, Outcome::AlreadyBound | Outcome::Locked)
                }
                Op::Exchange { new: 0, .. } => matches!(
                    outcome,
                    Outcome::AlreadyBound | Outcome::Locked | Outcome::WrongCode { .. }
                ),
                _ => matches!(outcome, Outcome::Locked | Outcome::WrongCode { .. }),
            };
            assert!(fine, "round {round}: {op:?} -> {outcome:?}");
        }
        let status = w.bank.status(&name(0)).unwrap().unwrap();
        assert_eq!(
            (status.state, status.failures, status.serial.as_deref()),
            (BindingState::Locked, 10, Some(tokens[0].serial.as_str())),
            "round {round}"
        );
        // Nothing was accepted meanwhile: once unlocked, the current code is still unspent.
        assert_eq!(w.bank.unlock(&name(0)).unwrap(), Outcome::Accepted);
        let code = tokens[0].code(step(&w));
        assert_eq!(w.bank.login(&name(0), &code).unwrap(), Outcome::Accepted);
    }
}

/// One token's code, spent through every operation and several contracts at once: it is
/// accepted once at most. Today the verifier remembers the last step per contract, so the
/// same code is accepted once by each contract that registers the token, and again by a
/// registration after a stop; the change that makes replay memory per token fixes it.
#[test]
fn one_tokens_step_is_accepted_once_across_operations_and_contracts() {
    let rounds = if cfg!(debug_assertions) { 60 } else { 300 };
    for round in 0..rounds {
        let w = Arc::new(World::new());
        let tokens = Arc::new(tokens(&w, 2));
        bind(&w, &tokens, 0, 0);
        bind(&w, &tokens, 3, 1);
        w.next_step();
        let now = step(&w);
        let ops = [
            Op::Login {
                contract: 0,
                token: 0,
            },
            Op::Login {
                contract: 0,
                token: 0,
            },
            Op::Stop {
                contract: 0,
                token: 0,
            },
            Op::Register {
                contract: 0,
                token: 0,
            },
            Op::Register {
                contract: 1,
                token: 0,
            },
            Op::Register {
                contract: 2,
                token: 0,
            },
            Op::Login {
                contract: 1,
                token: 0,
            },
            Op::Exchange {
                contract: 3,
                old: 1,
                new: 0,
            },
        ];
        let outcomes = race(&w, &tokens, &ops);
        let spent = spent(&ops, &outcomes, now);
        assert!(
            spent.values().all(|n| *n <= 1),
            "round {round}: a step spent twice: {spent:?} from {:?}",
            ops.iter().zip(&outcomes).collect::<Vec<_>>()
        );
        // Every contract's state is one an operation could leave.
        for c in 0..4 {
            if let Some(s) = w.bank.status(&name(c)).unwrap() {
                match s.state {
                    BindingState::Active => assert!(s.serial.is_some() && s.last_step.is_some()),
                    BindingState::Stopped | BindingState::Unbound => assert!(s.serial.is_none()),
                    other => panic!("round {round}: {other:?}"),
                }
                assert_eq!(s.failures, 0, "round {round}: no code here is wrong");
            }
        }
    }
}

/// The same, step by step: a stop spends the code, and registering the token again on the
/// same contract or another with that code must be a replay.
#[test]
fn a_stopped_tokens_spent_code_cannot_register_it_again() {
    let w = World::new();
    let tokens = tokens(&w, 1);
    bind(&w, &tokens, 0, 0);
    w.next_step();
    let code = tokens[0].code(step(&w));
    assert_eq!(w.bank.stop(&name(0), &code).unwrap(), Outcome::Accepted);
    assert_eq!(
        w.bank.register(&name(0), &tokens[0].serial, &code).unwrap(),
        Outcome::Replayed
    );
    assert_eq!(
        w.bank.register(&name(1), &tokens[0].serial, &code).unwrap(),
        Outcome::Replayed
    );
}
