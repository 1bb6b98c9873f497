//! The seed's flows end to end (../shared/seed/README.md): a phone's vault gets a
//! token, the bank registers it, logs in, locks, unlocks, exchanges devices and
//! suspends after a loss, all on one driven clock.

use softtoken_core::{BindingState, KeyUri, MemoryLedger, Outcome, Policy, Verifier};
use softtoken_tests::world::World;
use std::sync::Arc;

#[test]
fn t2_t3_first_start_shows_a_serial_and_a_code_that_changes_every_30_seconds() {
    let w = World::new();
    let mut phone = w.new_phone();
    let token = w.first_start(&mut phone);
    assert_eq!(token.serial.grouped().len(), 14);
    let first = phone.code(token.serial.as_str()).unwrap();
    assert_eq!(
        first.window.unwrap().valid_until - first.window.unwrap().valid_from,
        30
    );
    w.next_step();
    let second = phone.code(token.serial.as_str()).unwrap();
    assert_eq!(second.counter, first.counter + 1);
    assert_eq!(second.value, first.next);
}

#[test]
fn b1_register_with_serial_and_current_code() {
    let w = World::new();
    let mut phone = w.new_phone();
    let token = w.first_start(&mut phone);
    // The customer copies the serial as printed; spaces and lower case are forgiven.
    let code = w.code(&mut phone, &token);
    assert_eq!(
        w.bank
            .register("contract-1", "SSTA 0000 0000", &code)
            .unwrap(),
        Outcome::UnknownSerial
    );
    assert_eq!(
        w.bank
            .register("contract-1", &token.serial.grouped().to_lowercase(), &code)
            .unwrap(),
        Outcome::Accepted
    );
    let status = w.bank.status("contract-1").unwrap().unwrap();
    assert_eq!(status.serial.as_deref(), Some(token.serial.as_str()));
    assert_eq!(status.state, BindingState::Active);
}

#[test]
fn b2_login_with_the_current_code() {
    let w = World::new();
    let mut phone = w.new_phone();
    let token = w.first_start(&mut phone);
    assert_eq!(
        w.login("contract-1", &mut phone, &token),
        Outcome::NotRegistered
    );
    assert_eq!(
        w.register("contract-1", &mut phone, &token),
        Outcome::Accepted
    );
    // The code used to register cannot log in; the next one can, once.
    assert_eq!(w.login("contract-1", &mut phone, &token), Outcome::Replayed);
    w.next_step();
    assert_eq!(w.login("contract-1", &mut phone, &token), Outcome::Accepted);
    assert_eq!(w.login("contract-1", &mut phone, &token), Outcome::Replayed);
    w.next_step();
    assert_eq!(w.login("contract-1", &mut phone, &token), Outcome::Accepted);
}

#[test]
fn b3_stop_using() {
    let w = World::new();
    let mut phone = w.new_phone();
    let token = w.first_start(&mut phone);
    w.register("c", &mut phone, &token);
    w.next_step();
    let code = w.code(&mut phone, &token);
    assert_eq!(w.bank.stop("c", &code).unwrap(), Outcome::Accepted);
    w.next_step();
    assert_eq!(w.login("c", &mut phone, &token), Outcome::Stopped);
    assert_eq!(
        w.bank.status("c").unwrap().unwrap().state,
        BindingState::Stopped
    );
}

#[test]
fn b4_lockout_until_the_branch_unlocks() {
    let w = World::with_policy(Policy::new(1, 1, 5, 5).unwrap());
    let mut phone = w.new_phone();
    let token = w.first_start(&mut phone);
    w.register("c", &mut phone, &token);
    w.next_step();
    let right = w.code(&mut phone, &token);
    let wrong = format!(
        "{:06}",
        (right.parse::<u32>().unwrap() + 500_000) % 1_000_000
    );
    for left in (0..5).rev() {
        assert_eq!(
            w.bank.login("c", &wrong).unwrap(),
            Outcome::WrongCode {
                attempts_left: left
            }
        );
    }
    assert_eq!(
        w.bank.login("c", &right).unwrap(),
        Outcome::Locked,
        "internet banking is unusable"
    );
    w.next_step();
    assert_eq!(
        w.login("c", &mut phone, &token),
        Outcome::Locked,
        "across sessions too"
    );
    assert_eq!(
        w.bank.unlock("c").unwrap(),
        Outcome::Accepted,
        "the branch unlocks on a written form"
    );
    assert_eq!(w.login("c", &mut phone, &token), Outcome::Accepted);
}

#[test]
fn b5_token_deleted_by_mistake_branch_reissues() {
    let w = World::new();
    let mut phone = w.new_phone();
    let token = w.first_start(&mut phone);
    w.register("c", &mut phone, &token);
    phone.delete(token.serial.as_str()).unwrap();
    // Re-downloading does not bring the serial back: the app issues a new one.
    let reinstalled = w.first_start(&mut phone);
    assert_ne!(reinstalled.serial, token.serial);
    w.next_step();
    assert_eq!(
        w.register("c", &mut phone, &reinstalled),
        Outcome::AlreadyBound,
        "the old token still holds the contract"
    );
    assert_eq!(
        w.bank.unbind("c").unwrap(),
        Outcome::Accepted,
        "the branch re-issues"
    );
    assert_eq!(w.register("c", &mut phone, &reinstalled), Outcome::Accepted);
    w.next_step();
    assert_eq!(w.login("c", &mut phone, &reinstalled), Outcome::Accepted);
}

#[test]
fn b6_device_change_with_the_old_token_still_working() {
    let w = World::new();
    let mut old_phone = w.new_phone();
    let old = w.first_start(&mut old_phone);
    w.register("c", &mut old_phone, &old);
    let mut new_phone = w.new_phone();
    let new = w.first_start(&mut new_phone);
    w.next_step();
    let old_code = w.code(&mut old_phone, &old);
    let new_code = w.code(&mut new_phone, &new);
    // A wrong new code changes nothing: the old token stays bound.
    let wrong_new = format!("{:06}", (new_code.parse::<u32>().unwrap() + 1) % 1_000_000);
    assert_eq!(
        w.bank
            .exchange("c", &old_code, &new.serial.grouped(), &wrong_new)
            .unwrap(),
        Outcome::WrongCode { attempts_left: 9 }
    );
    assert_eq!(
        w.bank.status("c").unwrap().unwrap().serial.as_deref(),
        Some(old.serial.as_str())
    );
    // The old code was right, so it is used up for the old token (RFC 6238 §5.2).
    assert_eq!(
        w.bank
            .exchange("c", &old_code, &new.serial.grouped(), &new_code)
            .unwrap(),
        Outcome::Replayed
    );
    w.next_step();
    let old_code = w.code(&mut old_phone, &old);
    let new_code = w.code(&mut new_phone, &new);
    assert_eq!(
        w.bank
            .exchange("c", &old_code, &new.serial.grouped(), &new_code)
            .unwrap(),
        Outcome::Accepted
    );
    assert_eq!(
        w.bank.status("c").unwrap().unwrap().serial.as_deref(),
        Some(new.serial.as_str())
    );
    w.next_step();
    assert!(
        matches!(
            w.login("c", &mut old_phone, &old),
            Outcome::WrongCode { .. }
        ),
        "the old token no longer works"
    );
    assert_eq!(w.login("c", &mut new_phone, &new), Outcome::Accepted);
}

#[test]
fn b7_device_change_with_the_old_token_unavailable() {
    let w = World::new();
    let mut old_phone = w.new_phone();
    let old = w.first_start(&mut old_phone);
    w.register("c", &mut old_phone, &old);
    drop(old_phone);
    let mut new_phone = w.new_phone();
    let new = w.first_start(&mut new_phone);
    w.next_step();
    assert_eq!(w.register("c", &mut new_phone, &new), Outcome::AlreadyBound);
    assert_eq!(w.bank.unbind("c").unwrap(), Outcome::Accepted);
    assert_eq!(w.register("c", &mut new_phone, &new), Outcome::Accepted);
}

#[test]
fn b8_stopping_before_discarding_needs_no_branch_visit() {
    let w = World::new();
    let mut old_phone = w.new_phone();
    let old = w.first_start(&mut old_phone);
    w.register("c", &mut old_phone, &old);
    w.next_step();
    let code = w.code(&mut old_phone, &old);
    assert_eq!(w.bank.stop("c", &code).unwrap(), Outcome::Accepted);
    old_phone.delete(old.serial.as_str()).unwrap();
    let mut new_phone = w.new_phone();
    let new = w.first_start(&mut new_phone);
    assert_eq!(
        w.register("c", &mut new_phone, &new),
        Outcome::Accepted,
        "no administrator action"
    );
}

#[test]
fn b9_lost_device_suspended_at_once_and_resumed_only_by_an_administrator() {
    let w = World::new();
    let mut phone = w.new_phone();
    let token = w.first_start(&mut phone);
    w.register("c", &mut phone, &token);
    assert_eq!(w.bank.suspend("c").unwrap(), Outcome::Accepted);
    w.next_step();
    // The device is found: its right codes are still refused.
    assert_eq!(w.login("c", &mut phone, &token), Outcome::Suspended);
    let code = w.code(&mut phone, &token);
    assert_eq!(w.bank.stop("c", &code).unwrap(), Outcome::Suspended);
    assert_eq!(
        w.bank
            .register("c", &token.serial.grouped(), &code)
            .unwrap(),
        Outcome::Suspended
    );
    assert_eq!(w.bank.resume("c").unwrap(), Outcome::Accepted);
    w.next_step();
    assert_eq!(w.login("c", &mut phone, &token), Outcome::Accepted);
}

#[test]
fn t5_every_installation_issues_a_new_serial_and_secret() {
    let w = World::new();
    let mut serials = std::collections::HashSet::new();
    let mut secrets = std::collections::HashSet::new();
    for _ in 0..50 {
        let mut phone = w.new_phone();
        let token = w.first_start(&mut phone);
        let uri = phone.export_uri(token.serial.as_str()).unwrap();
        assert!(serials.insert(token.serial.as_str().to_string()));
        assert!(secrets.insert(KeyUri::parse(&uri).unwrap().secret.to_base32().to_string()));
    }
    // Re-issue on one phone: new serial and new secret, and the old registration does not carry over.
    let mut phone = w.new_phone();
    let token = w.first_start(&mut phone);
    w.register("c", &mut phone, &token);
    let again = phone.reissue(token.serial.as_str()).unwrap();
    assert_ne!(again.serial, token.serial);
    assert!(phone.code(token.serial.as_str()).is_err());
}

#[test]
fn t6_one_token_for_several_contracts_and_banks() {
    let w = World::new();
    let mut phone = w.new_phone();
    let token = w.first_start(&mut phone);
    // Two banks' verifiers over one token service's state (the server keeps them apart by bank key).
    let ledger = Arc::new(MemoryLedger::new());
    let bank = Verifier::new(
        w.directory.clone(),
        ledger.clone(),
        w.clock.clone(),
        Policy::default(),
    );
    let other_bank = Verifier::new(
        w.directory.clone(),
        ledger,
        w.clock.clone(),
        Policy::default(),
    );
    let serial = token.serial.grouped();
    let code = w.code(&mut phone, &token);
    assert_eq!(
        bank.register("alice-savings", &serial, &code).unwrap(),
        Outcome::Accepted
    );
    w.next_step();
    let code = w.code(&mut phone, &token);
    assert_eq!(
        bank.register("alice-business", &serial, &code).unwrap(),
        Outcome::Accepted
    );
    w.next_step();
    let code = w.code(&mut phone, &token);
    assert_eq!(
        other_bank.register("alice@other", &serial, &code).unwrap(),
        Outcome::Accepted
    );
    w.next_step();
    let code = w.code(&mut phone, &token);
    assert_eq!(
        bank.login("alice-savings", &code).unwrap(),
        Outcome::Accepted
    );
    // A code accepted for the token is used up for it everywhere (RFC 6238 §5.2).
    assert_eq!(
        bank.login("alice-business", &code).unwrap(),
        Outcome::Replayed
    );
    assert_eq!(
        other_bank.login("alice@other", &code).unwrap(),
        Outcome::Replayed
    );
    w.next_step();
    let code = w.code(&mut phone, &token);
    assert_eq!(
        other_bank.login("alice@other", &code).unwrap(),
        Outcome::Accepted,
        "each contract logs in with the next code"
    );
}

#[test]
fn b3_a_code_that_stopped_the_token_cannot_register_it_again() {
    let w = World::new();
    let mut phone = w.new_phone();
    let token = w.first_start(&mut phone);
    w.register("c", &mut phone, &token);
    w.next_step();
    let code = w.code(&mut phone, &token);
    assert_eq!(w.bank.stop("c", &code).unwrap(), Outcome::Accepted);
    assert_eq!(
        w.bank.register("c", token.serial.as_str(), &code).unwrap(),
        Outcome::Replayed
    );
    w.next_step();
    assert_eq!(w.register("c", &mut phone, &token), Outcome::Accepted);
}

#[test]
fn t7_one_contract_has_one_token_at_a_time() {
    let w = World::new();
    let mut phone_a = w.new_phone();
    let a = w.first_start(&mut phone_a);
    let mut phone_b = w.new_phone();
    let b = w.first_start(&mut phone_b);
    assert_eq!(w.register("c", &mut phone_a, &a), Outcome::Accepted);
    assert_eq!(w.register("c", &mut phone_b, &b), Outcome::AlreadyBound);
    w.next_step();
    assert!(matches!(
        w.login("c", &mut phone_b, &b),
        Outcome::WrongCode { .. }
    ));
}

#[test]
fn the_verifier_restores_from_saved_state_without_accepting_a_replay() {
    let w = World::new();
    let mut phone = w.new_phone();
    let token = w.first_start(&mut phone);
    let ledger = Arc::new(MemoryLedger::new());
    let bank = Verifier::new(
        w.directory.clone(),
        ledger.clone(),
        w.clock.clone(),
        Policy::default(),
    );
    let code = w.code(&mut phone, &token);
    assert_eq!(
        bank.register("c", &token.serial.grouped(), &code).unwrap(),
        Outcome::Accepted
    );
    w.next_step();
    let code = w.code(&mut phone, &token);
    assert_eq!(bank.login("c", &code).unwrap(), Outcome::Accepted);
    let saved =
        serde_json::to_string(&softtoken_core::Ledger::export(ledger.as_ref()).unwrap()).unwrap();
    drop(bank);
    let restored = MemoryLedger::restore(serde_json::from_str(&saved).unwrap());
    let bank = Verifier::new(
        w.directory.clone(),
        Arc::new(restored),
        w.clock.clone(),
        Policy::default(),
    );
    assert_eq!(bank.login("c", &code).unwrap(), Outcome::Replayed);
    w.next_step();
    assert_eq!(
        bank.login("c", &w.code(&mut phone, &token)).unwrap(),
        Outcome::Accepted
    );
}

#[test]
fn a_token_minted_by_the_service_goes_to_the_phone_as_a_key_uri() {
    use softtoken_core::{directory, Issuer, KeyUri, Prefix};
    let w = World::new();
    let credential = directory::issue(w.directory.as_ref(), &Issuer::new(Prefix::IOS)).unwrap();
    let uri = KeyUri::new(
        credential.secret.clone(),
        credential.params,
        Some("softtoken".into()),
        credential.serial.as_str().into(),
    )
    .unwrap();
    let mut phone = w.new_phone();
    let token = phone.import_uri(&uri.to_uri()).unwrap().remove(0);
    assert_eq!(
        token.serial, credential.serial,
        "the phone keeps the service's serial"
    );
    assert_eq!(w.register("c", &mut phone, &token), Outcome::Accepted);
}
