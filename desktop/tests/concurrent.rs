//! Several `softtoken` processes on one store at once: no change is lost, no
//! code is given twice, and the store directory is the owner's alone.

mod common;

use common::{ok, Store};
use std::collections::BTreeSet;
use std::process::Child;

impl Store {
    fn list(&self) -> Vec<serde_json::Value> {
        let out = ok(&self.run(&["list", "--json"]));
        match serde_json::from_str(&out).expect("list --json is JSON") {
            serde_json::Value::Array(all) => all,
            other => panic!("not a list: {other}"),
        }
    }

    fn serials(&self) -> BTreeSet<String> {
        self.list()
            .iter()
            .map(|t| t["serial"].as_str().expect("a serial").to_string())
            .collect()
    }
}

/// A distinct base32 secret for account `i`.
fn secret(i: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    (0..32)
        .map(|k| char::from(ALPHABET[(i * 7 + k * 13 + i * k) % 32]))
        .collect()
}

/// The first serial printed in `line` ("SSTD 1234 5678" as the binary groups it), ungrouped.
fn serial_in(line: &str) -> Option<String> {
    let at = line.find("SST")?;
    let serial: String = line[at..].chars().take(14).filter(|c| *c != ' ').collect();
    (serial.len() == 12).then_some(serial)
}

#[test]
fn twenty_concurrent_imports_keep_twenty_tokens() {
    let store = Store::new("concurrent", "imports");
    let uris: Vec<String> = (0..20)
        .map(|i| format!("otpauth://totp/Example:user{i}?secret={}", secret(i)))
        .collect();
    let children: Vec<Child> = uris
        .iter()
        .map(|uri| store.spawn(&["import", uri], None))
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("import finishes");
        assert!(ok(&out).contains("Imported"), "{out:?}");
    }
    let tokens = store.list();
    let labels: BTreeSet<String> = tokens
        .iter()
        .map(|t| t["label"].as_str().expect("a label").to_string())
        .collect();
    let want: BTreeSet<String> = (0..20).map(|i| format!("user{i}")).collect();
    assert_eq!(labels, want, "every import is in the store");
    assert_eq!(tokens.len(), 20);
}

#[test]
fn import_and_reissue_racing_keep_both_changes() {
    for round in 0..4 {
        let store = Store::new("concurrent", &format!("reissue-{round}"));
        ok(&store.run(&["show"]));
        let reissues: Vec<Child> = (0..3).map(|_| store.spawn(&["reissue"], None)).collect();
        let imports: Vec<Child> = (0..3)
            .map(|i| {
                let uri = format!(
                    "otpauth://totp/Race:r{round}a{i}?secret={}",
                    secret(round * 10 + i)
                );
                store.spawn(&["import", &uri], None)
            })
            .collect();
        let mut printed = Vec::new();
        for child in reissues {
            let out = ok(&child.wait_with_output().expect("reissue finishes"));
            // "Token OLD was replaced by NEW. Register NEW with your bank."
            let new = out
                .split("replaced by ")
                .nth(1)
                .and_then(serial_in)
                .unwrap_or_else(|| panic!("no new serial in {out:?}"));
            printed.push(new);
        }
        for child in imports {
            for line in ok(&child.wait_with_output().expect("import finishes")).lines() {
                printed.extend(serial_in(line));
            }
        }
        let stored = store.serials();
        // Each reissue replaced the one issued token in turn: the last printed one remains,
        // and all three imports are there.
        let tokens = store.list();
        let issued = tokens.iter().filter(|t| t["origin"] == "issued").count();
        assert_eq!(issued, 1, "one issued token: {stored:?}");
        let imported = tokens.iter().filter(|t| t["origin"] == "imported").count();
        assert_eq!(imported, 3, "every import kept: {stored:?}");
        let survivors: Vec<&String> = printed.iter().filter(|s| stored.contains(*s)).collect();
        // Every import's serial is stored, and exactly one of the reissued serials (the last one) is.
        assert_eq!(survivors.len(), 4, "printed {printed:?}, stored {stored:?}");
    }
}

#[test]
fn concurrent_hotp_codes_are_distinct_and_move_the_counter_each_time() {
    const N: usize = 10;
    let store = Store::new("concurrent", "hotp");
    let out = ok(&store.run(&[
        "import",
        "otpauth://hotp/Example:counter?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter=0",
    ]));
    let serial = out
        .lines()
        .find_map(serial_in)
        .unwrap_or_else(|| panic!("no serial in {out:?}"));
    let children: Vec<Child> = (0..N)
        .map(|_| store.spawn(&["code", "--serial", &serial], None))
        .collect();
    let codes: BTreeSet<String> = children
        .into_iter()
        .map(|c| {
            ok(&c.wait_with_output().expect("code finishes"))
                .trim()
                .to_string()
        })
        .collect();
    assert_eq!(codes.len(), N, "each process got its own code: {codes:?}");
    // They are exactly RFC 4226's codes for counters 0..N (its appendix D).
    let want: BTreeSet<String> = [
        "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871",
        "520489",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(codes, want);
    let token = store.list().into_iter().next().expect("the token");
    assert_eq!(token["counter"], N as u64, "the counter moved {N} times");
}

#[cfg(unix)]
#[test]
fn a_store_directory_open_to_others_is_tightened() {
    use std::os::unix::fs::PermissionsExt;
    let mode_of = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let store = Store::new("concurrent", "perms");
    std::fs::create_dir_all(&store.0).unwrap();
    std::fs::set_permissions(&store.0, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = store.run(&["list"]);
    ok(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("was open to other users (mode 777)"), "{err}");
    assert_eq!(
        mode_of(&store.0),
        0o700,
        "the directory is the owner's alone"
    );
    // A vault file others could read is tightened as well.
    ok(&store.run(&["show"]));
    let vault = store.0.join("softtoken.vault");
    std::fs::set_permissions(&vault, std::fs::Permissions::from_mode(0o644)).unwrap();
    ok(&store.run(&["list"]));
    assert_eq!(mode_of(&vault), 0o600, "the vault is the owner's alone");
}

/// In a directory others could change, a missing vault may have been removed by one of them:
/// no new token is issued in its place unasked.
#[cfg(unix)]
#[test]
fn a_vault_gone_from_an_open_directory_is_not_silently_replaced() {
    use std::os::unix::fs::PermissionsExt;
    let store = Store::new("concurrent", "removed");
    ok(&store.run(&["show"]));
    let before = store.serials();
    std::fs::set_permissions(&store.0, std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::remove_file(store.0.join("softtoken.vault")).unwrap();
    let out = store.run(&["show"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("was open to other users (mode 777) and holds no vault"),
        "{err}"
    );
    assert!(
        !store.0.join("softtoken.vault").exists(),
        "no token was issued"
    );
    // Asked again, in a directory that is now private, it is a first run.
    ok(&store.run(&["show"]));
    let after = store.serials();
    assert_eq!(after.len(), 1);
    assert_ne!(after, before);
}

/// While another process holds the store's lock, a change waits for it and a reader does not.
#[cfg(unix)]
#[test]
fn changes_wait_for_the_lock_and_readers_do_not() {
    use std::time::{Duration, Instant};
    let store = Store::new("concurrent", "held");
    ok(&store.run(&["show"]));
    // The lock every change takes: the store directory's (see filestore.rs).
    let mut lock = fd_lock::RwLock::new(std::fs::File::open(&store.0).unwrap());
    let held = lock.write().unwrap();
    let start = Instant::now();
    ok(&store.run(&["list"]));
    ok(&store.run(&["show", "--json"]));
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "readers never wait"
    );
    let mut import = store.spawn(
        &["import", "otpauth://totp/Held:x?secret=JBSWY3DPEHPK3PXP"],
        None,
    );
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        import.try_wait().unwrap().is_none(),
        "the import waits for the lock"
    );
    assert_eq!(store.serials().len(), 1, "nothing changed meanwhile");
    drop(held);
    ok(&import.wait_with_output().unwrap());
    assert_eq!(store.serials().len(), 2);
}
