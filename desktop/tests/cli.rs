//! The real `softtoken` binary, driven as a person or a script would.

mod common;

use common::{ok, run_with, Store, BIN};
use std::path::Path;
use std::process::{Command, Output};

const SECRET: &str = "JBSWY3DPEHPK3PXP";

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("utf-8 stdout")
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("utf-8 stderr")
}

/// Asserts a failure: this exit code, one line on stderr containing `needle`, no panic.
fn fails(o: &Output, code: i32, needle: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(code), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.contains(needle), "{err:?} lacks {needle:?}");
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{err}"
    );
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_str(&ok(o)).expect("JSON")
}

/// The base32 secret in an exported key URI.
fn secret_of(uri: &str) -> String {
    let key = uri
        .trim()
        .split("secret=")
        .nth(1)
        .expect("a secret parameter");
    key.split('&').next().expect("a value").to_string()
}

fn first_serial(store: &Store) -> String {
    json(&store.run(&["list", "--json"]))[0]["serial"]
        .as_str()
        .expect("serial")
        .to_string()
}

#[test]
fn first_run_issues_and_shows_serial_code_and_seconds() {
    let store = Store::new("cli", "first");
    let out = store.run(&[]);
    let text = ok(&out);
    assert!(stderr(&out).contains("Issued a new token, serial SSTD "));
    let line = text.lines().next().expect("a line");
    let parts: Vec<&str> = line.split("  ").collect();
    assert_eq!(parts.len(), 3, "{line}");
    assert!(
        parts[0].starts_with("SSTD ") && parts[0].len() == 14,
        "{line}"
    );
    assert!(
        parts[1].len() == 6 && parts[1].bytes().all(|b| b.is_ascii_digit()),
        "{line}"
    );
    assert!(parts[2].ends_with(" s left"), "{line}");
    // The second run shows the same token and issues nothing.
    let again = store.run(&[]);
    assert!(ok(&again).starts_with(parts[0]));
    assert_eq!(stderr(&again), "");
}

#[test]
fn show_json_shape_and_codes_match_oathtool() {
    let store = Store::new("cli", "json");
    let all = json(&store.run(&["show", "--json"]));
    let one = &all[0];
    for key in [
        "serial",
        "code",
        "next_code",
        "valid_until",
        "seconds_left",
        "label",
        "issuer",
    ] {
        assert!(one.get(key).is_some(), "{key} missing in {one}");
    }
    let serial = one["serial"].as_str().unwrap();
    let single = json(&store.run(&["show", serial, "--json"]));
    assert_eq!(single["serial"], one["serial"]);
    assert_eq!(single["display_serial"].as_str().unwrap().len(), 14);
    // The title follows the core's one rule: the token issued here is "softtoken", not its serial again.
    assert_eq!(single["title"], "softtoken");
    let from = one["valid_from"].as_u64().unwrap();
    assert_eq!(one["valid_until"].as_u64().unwrap(), from + 30);
    let left = one["seconds_left"].as_u64().unwrap();
    assert!((1..=30).contains(&left));
    let code = ok(&store.run(&["code", "--serial", serial, "--time", &from.to_string()]));
    assert_eq!(code.trim(), one["code"].as_str().unwrap());
    let next = ok(&store.run(&[
        "code",
        "--serial",
        serial,
        "--time",
        &(from + 30).to_string(),
    ]));
    assert_eq!(next.trim(), one["next_code"].as_str().unwrap());
    let uri = ok(&store.run(&["export", serial]));
    let secret = &secret_of(&uri);
    if let Ok(o) = Command::new("oathtool")
        .args(["--totp", "-b", secret, &format!("--now=@{from}")])
        .output()
    {
        assert_eq!(
            String::from_utf8(o.stdout).unwrap().trim(),
            one["code"].as_str().unwrap()
        );
    }
}

#[test]
fn code_is_stateless_like_oathtool() {
    let out = run_with(
        None,
        &["code", "--secret", SECRET, "--time", "59", "--window", "1"],
        None,
    );
    assert_eq!(ok(&out), "-1 282760\n+0 996554\n+1 602287\n");
    // RFC 6238 SHA256 row at 1111111109, key "12345678901234567890123456789012".
    let key = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA";
    let out = run_with(
        None,
        &[
            "code",
            "--secret",
            key,
            "--time",
            "1111111109",
            "--digits",
            "8",
            "--algorithm",
            "sha256",
        ],
        None,
    );
    assert_eq!(ok(&out), "68084774\n");
    let out = run_with(
        None,
        &["code", "--secret", "-"],
        Some(" jbsw y3dp ehpk 3pxp \n"),
    );
    assert_eq!(ok(&out).trim().len(), 6);
    let out = run_with(
        None,
        &[
            "code",
            "--hotp",
            "--counter",
            "0",
            "--secret",
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
        ],
        None,
    );
    assert_eq!(ok(&out), "755224\n");
    let file = std::env::temp_dir().join(format!("softtoken-secret-{}", std::process::id()));
    std::fs::write(&file, format!("{SECRET}\n")).unwrap();
    let out = run_with(
        None,
        &[
            "code",
            "--secret-file",
            file.to_str().unwrap(),
            "--time",
            "59",
            "--period",
            "60",
        ],
        None,
    );
    let _ = std::fs::remove_file(&file);
    let want = Command::new("oathtool")
        .args(["--totp", "-b", SECRET, "--now=@59", "-s", "60s"])
        .output();
    if let Ok(want) = want {
        assert_eq!(ok(&out), String::from_utf8(want.stdout).unwrap());
    }
}

/// 500 random cases through the whole `softtoken code` process against `oathtool`.
#[test]
fn code_agrees_with_oathtool_on_500_random_cases() {
    if Command::new("oathtool").arg("--version").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "oathtool is missing in CI"
        );
        eprintln!("SKIP: oathtool is not installed; this cross-check did not run");
        return;
    }
    let mut seed = 0x1234_5678_9abc_def0u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    for i in 0..500 {
        let len = 16 + (next() % 5) as usize * 8;
        let secret: String = (0..len)
            .map(|_| char::from(alphabet[(next() % 32) as usize]))
            .collect();
        let time = (next() % 7_258_118_400).to_string();
        let digits = (6 + next() % 3).to_string();
        let period = ["30", "60", "15", "90"][(next() % 4) as usize];
        let alg = ["sha1", "sha256", "sha512"][(next() % 3) as usize];
        let ours = run_with(
            None,
            &[
                "code",
                "--secret",
                &secret,
                "--time",
                &time,
                "--digits",
                &digits,
                "--period",
                period,
                "--algorithm",
                alg,
            ],
            None,
        );
        let theirs = Command::new("oathtool")
            .args([
                &format!("--totp={alg}"),
                "-b",
                &secret,
                &format!("--now=@{time}"),
                "-d",
                &digits,
                "-s",
                &format!("{period}s"),
            ])
            .output()
            .unwrap();
        assert_eq!(
            ok(&ours),
            String::from_utf8(theirs.stdout).unwrap(),
            "case {i}: {secret} {time} {digits} {period} {alg}"
        );
    }
}

#[test]
fn import_list_export_delete_reissue() {
    let store = Store::new("cli", "manage");
    ok(&store.run(&[]));
    let seed = first_serial(&store);
    let vip = "otpauth://totp/VIP%20Access:SYMC26070843?secret=IKAJIEFLCSZ2AYVWF2QI6X3OBJQV3YVN&image=https%3A%2F%2Fexample.com%2Fa.png";
    assert_eq!(
        ok(&store.run(&["import", vip])),
        "Imported SYMC26070843 (VIP Access: SYMC26070843)\n"
    );
    let migration = "otpauth-migration://offline?data=CjEKCkhlbGxvId6tvu8SGEV4YW1wbGU6YWxpY2VAZ29vZ2xlLmNvbRoHRXhhbXBsZSABKAEwAhABGAEgAA%3D%3D";
    let out = ok(&store.run_stdin(&["import", "-"], &format!("{migration}\n\n")));
    assert!(out.contains("(Example: alice@google.com)"), "{out}");
    let list = ok(&store.run(&["list"]));
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 3);
    assert!(
        lines[0].contains("issued")
            && lines[1].contains("SYMC26070843")
            && lines[2].contains("alice@google.com")
    );

    let out = store.run(&["export", "SYMC26070843"]);
    assert!(ok(&out).starts_with(
        "otpauth://totp/VIP%20Access:SYMC26070843?secret=IKAJIEFLCSZ2AYVWF2QI6X3OBJQV3YVN"
    ));
    assert!(stderr(&out).contains("reveals the token's secret"));
    let qr = store.run(&["export", "SYMC26070843", "--qr"]);
    assert!(ok(&qr).contains('█') && !stdout(&qr).contains("secret="));
    assert!(stderr(&qr).contains("reveals"));

    // Delete asks; "n" keeps the token, "y" removes it.
    fails(
        &store.run_stdin(&["delete", "SYMC26070843"], "n\n"),
        1,
        "was not deleted",
    );
    assert_eq!(
        json(&store.run(&["list", "--json"]))
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert!(ok(&store.run_stdin(&["delete", "symc-2607-0843"], "y\n"))
        .contains("Deleted token SYMC26070843"));
    fails(
        &store.run(&["code", "--serial", "SYMC26070843"]),
        1,
        "no token with serial 'SYMC26070843'",
    );

    // Re-issue: a new serial and a new secret; the old serial is gone.
    let old_uri = ok(&store.run(&["export", &seed]));
    let out = ok(&store.run(&["reissue"]));
    let new = first_serial(&store);
    assert_ne!(new, seed);
    assert!(out.contains("was replaced by"), "{out}");
    let new_uri = ok(&store.run(&["export", &new]));
    assert_ne!(secret_of(&old_uri), secret_of(&new_uri));
    fails(&store.run(&["show", &seed]), 1, "no token with serial");
    assert!(ok(&store.run(&["delete", &new, "--yes"])).contains("Deleted"));
}

#[test]
fn clock_offset_moves_the_codes() {
    let store = Store::new("cli", "offset");
    ok(&store.run(&[]));
    assert_eq!(ok(&store.run(&["clock-offset"])), "Clock offset: +0 s\n");
    assert_eq!(
        ok(&store.run(&["clock-offset", "-3600"])),
        "Clock offset: -3600 s\n"
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let shown = json(&store.run(&["show", "--json"]));
    let until = shown[0]["valid_until"].as_u64().unwrap();
    assert!(
        until > now - 3600 && until <= now - 3600 + 31,
        "{until} vs {now}"
    );
    fails(
        &store.run(&["clock-offset", "-99999999999"]),
        1,
        "out of range",
    );
}

#[test]
fn every_mistake_gets_one_clear_line() {
    let store = Store::new("cli", "mistakes");
    ok(&store.run(&[]));
    let serial = first_serial(&store);
    let wrong = format!(
        "{}{}",
        &serial[..11],
        (serial.as_bytes()[11] - b'0' + 1) % 10
    );
    fails(
        &store.run(&["code", "--secret", "JBSWY3DP!HPK3PXP"]),
        1,
        "character 9 ('!') is not base32",
    );
    fails(
        &store.run(&["code", "--secret", "JBSWY3DP"]),
        1,
        "secret is 5 bytes; at least 10 are needed",
    );
    fails(
        &store.run(&["import", "https://example.com/"]),
        1,
        "not a key URI",
    );
    fails(
        &store.run(&[
            "import",
            "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=9",
        ]),
        1,
        "digits=9",
    );
    fails(
        &store.run(&["show", "NOPE"]),
        1,
        "no token with serial 'NOPE'",
    );
    fails(
        &store.run(&["code", "--serial", &wrong]),
        1,
        "check digit is wrong, please re-type it",
    );
    fails(
        &store.run(&["code", "--secret", SECRET, "--time", "-1"]),
        2,
        "before 1970",
    );
    fails(
        &store.run(&["code", "--secret", SECRET, "--digits", "9"]),
        2,
        "--digits",
    );
    fails(
        &store.run(&["code", "--secret", SECRET, "--hotp"]),
        2,
        "--counter",
    );
    fails(&store.run(&["code"]), 2, "required");
    fails(&store.run(&["frobnicate"]), 2, "unrecognized subcommand");
    fails(&store.run(&["import", "-"]), 2, "no URI given");
    // A store that cannot be written: /proc takes no new directories, even for root.
    fails(
        &run_with(
            Some(Path::new("/proc/softtoken-nowhere/store")),
            &["show"],
            None,
        ),
        1,
        "choose a writable place",
    );
}

#[test]
fn a_corrupt_store_is_named_and_left_untouched() {
    let store = Store::new("cli", "corrupt");
    ok(&store.run(&[]));
    let mut bytes = std::fs::read(store.vault()).unwrap();
    let at = bytes.len() - 10;
    bytes[at] ^= 0x20;
    std::fs::write(store.vault(), &bytes).unwrap();
    for args in [
        &[][..],
        &["show"],
        &["list"],
        &["reissue"],
        &["import", "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP"],
    ] {
        let out = store.run(args);
        fails(&out, 1, "damaged");
        let err = stderr(&out);
        assert!(
            err.contains(store.vault().to_str().unwrap()) && err.contains("mv "),
            "{err}"
        );
        assert_eq!(
            std::fs::read(store.vault()).unwrap(),
            bytes,
            "left untouched by {args:?}"
        );
    }
    std::fs::write(store.vault(), b"softtoken-vault 9 sha256=00\n{}").unwrap();
    fails(&store.run(&["list"]), 1, "update softtoken");
}

#[cfg(unix)]
#[test]
fn the_store_is_owner_only_and_survives_a_failed_write() {
    use std::os::unix::fs::PermissionsExt;
    let store = Store::new("cli", "durable");
    ok(&store.run(&[]));
    let mode = std::fs::metadata(store.vault())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let before = std::fs::read(store.vault()).unwrap();
    let serial = first_serial(&store);
    // No file may grow past 0 bytes: every write of the store fails (root included).
    let out = Command::new("sh")
        .args(["-c", "trap '' XFSZ; ulimit -f 0; exec \"$0\" reissue", BIN])
        .env("SOFTTOKEN_STORE", &store.0)
        .output()
        .unwrap();
    fails(&out, 1, "cannot write");
    assert_eq!(std::fs::read(store.vault()).unwrap(), before);
    assert_eq!(first_serial(&store), serial);
    let leftovers = std::fs::read_dir(&store.0).unwrap().count();
    assert_eq!(leftovers, 1, "no temporary file is left behind");
}

#[test]
fn help_on_every_command_and_version() {
    let top = ok(&run_with(None, &["--help"], None));
    assert!(top.contains("Examples:") && top.contains("--store"));
    for cmd in [
        "show",
        "code",
        "list",
        "import",
        "export",
        "delete",
        "reissue",
        "clock-offset",
    ] {
        let help = ok(&run_with(None, &[cmd, "--help"], None));
        assert!(help.contains("Example"), "{cmd} --help has no example");
    }
    let version = ok(&run_with(None, &["--version"], None));
    assert_eq!(
        version.trim(),
        format!("softtoken {}", env!("CARGO_PKG_VERSION"))
    );
}

/// No command but `export` prints a stored or given secret, on stdout or stderr.
#[test]
fn no_output_but_export_reveals_a_secret() {
    let secret = "IKAJIEFLCSZ2AYVWF2QI6X3OBJQV3YVN";
    let store = Store::new("cli", "leak");
    let uri = format!("otpauth://totp/VIP%20Access:SYMC26070843?secret={secret}");
    let mut outputs = vec![
        store.run(&[]),
        store.run(&["import", &uri]),
        store.run(&["import", &uri]),
    ];
    let seed = first_serial(&store);
    let seed_uri = ok(&store.run(&["export", &seed]));
    let seed_secret = secret_of(&seed_uri);
    for args in [
        &[][..],
        &["show"],
        &["show", "--json"],
        &["show", "SYMC26070843", "--json"],
        &["list"],
        &["list", "--json"],
        &["code", "--serial", "SYMC26070843"],
        &["code", "--serial", "SYMC26070843", "--window", "3"],
        &["code", "--secret", secret, "--window", "2"],
        &["code", "--secret", &secret[..20]],
        &["code", "--secret", &format!("{}!", &secret[..20])],
        &[
            "import",
            &format!("otpauth://totp/x?secret={secret}&digits=9"),
        ],
        &["clock-offset", "5"],
        &["reissue"],
        &["delete", "SYMC26070843", "--yes"],
        &["--help"],
    ] {
        outputs.push(store.run(args));
    }
    outputs.push(store.run_stdin(&["code", "--secret", "-"], secret));
    for out in &outputs {
        let text = format!("{}{}", stdout(out), stderr(out));
        for form in [
            secret.to_string(),
            secret.to_lowercase(),
            secret[..16].to_string(),
            seed_secret.clone(),
        ] {
            assert!(!text.contains(&form), "output shows a secret: {text}");
        }
    }
}
