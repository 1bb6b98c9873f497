//! `softtoken import -`: a batch imports every line it can, names each refused
//! line with its number and reason, and ends with a summary. The fixtures are
//! this project's own, with the shapes other authenticators' exports have.

mod common;

use common::Store;

/// Seven key URIs as an authenticator's plain-text export lists them, a Steam entry
/// (a type softtoken does not make codes for) on line 3.
const LIST: &str = "\
otpauth://totp/Forge:ana?secret=GEZDGNBVGY3TQOJQ&issuer=Forge&algorithm=SHA1&digits=6&period=30
otpauth://totp/Mill:ben?secret=MFRGGZDFMZTWQ2LK&issuer=Mill&algorithm=SHA256&digits=7&period=20
otpauth://steam/Game:cy?secret=ONSWG4TFORZWK3DM&issuer=Game&algorithm=SHA1&digits=5&period=30
otpauth://totp/Kiln:dee?secret=NBSWY3DPO5XXE3DE&issuer=Kiln&algorithm=SHA512&digits=8&period=60
otpauth://hotp/Loom:eve?secret=KRUGS4ZANFZSAYJA&issuer=Loom&algorithm=SHA1&digits=6&counter=5
otpauth://hotp/Dock%20Co:fay?secret=OBQXG43XN5ZGIMJS&issuer=Dock+Co&algorithm=SHA256&digits=7&counter=50
otpauth://totp/Yard:gil?secret=MNUGK3DMN5XWI4TF&issuer=Yard&digits=6&period=30&extra=%7B%22x%22%3A1%7D
";

/// A Google Authenticator export of two TOTP accounts (Example: alice, Example: bob), made here.
const EXPORT: &str = "otpauth-migration://offline?data=CiAKCkhlbGxvId6tvu8SBWFsaWNlGgdFeGFtcGxlIAEoATACCh4KCgECAwQFBgcICQoSA2JvYhoHRXhhbXBsZSABKAEwAhABGAEgAA%3D%3D";

impl Store {
    fn labels(&self) -> Vec<String> {
        let out = self.run(&["list", "--json"]);
        assert!(out.status.success());
        let list: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        list.as_array()
            .expect("a list")
            .iter()
            .map(|t| t["label"].as_str().expect("a label").to_string())
            .collect()
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8")
}

#[test]
fn a_refused_line_mid_list_does_not_stop_the_rest() {
    let store = Store::new("import", "list");
    let out = store.run_stdin(&["import", "-"], LIST);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert_eq!(
        store.labels(),
        ["ana", "ben", "dee", "eve", "fay", "gil"],
        "{stderr}"
    );
    assert_eq!(stdout.matches("Imported ").count(), 6, "{stdout}");
    assert!(
        stdout.ends_with("6 imported, 0 already present, 1 refused\n"),
        "{stdout}"
    );
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(
        lines[0].starts_with("softtoken: line 3 refused: "),
        "{stderr}"
    );
    assert!(
        lines[0].contains("steam"),
        "the reason names the type: {stderr}"
    );
    assert_eq!(
        lines[1],
        "softtoken: line 3 was refused; every other line was imported"
    );
    // The secrets appear nowhere in what was printed.
    assert!(!stdout.contains("GEZDGNBV") && !stderr.contains("ONSWG4TF"));
    // Each parameter came through: dee is SHA512, 8 digits, 60 s; fay's counter is 50.
    let out = store.run(&["list", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let dee = &list[2];
    assert_eq!(
        (&dee["algorithm"], &dee["digits"], &dee["period"]),
        (&"SHA512".into(), &8.into(), &60.into())
    );
    assert_eq!(list[4]["issuer"], "Dock Co");
    assert_eq!(list[4]["counter"], 50);
}

#[test]
fn an_export_repeating_accounts_reports_them_and_imports_the_rest() {
    let store = Store::new("import", "export");
    let first = store.run(&["import", EXPORT]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    // The same export again, then two more lines and comments and blank lines as exporters write them.
    let input = format!(
        "# exported accounts\n{EXPORT}\n\n{}\n# the end\n{}\n",
        "otpauth://totp/Forge:ana?secret=GEZDGNBVGY3TQOJQ&issuer=Forge",
        "otpauth://totp/Mill:ben?secret=MFRGGZDFMZTWQ2LK&issuer=Mill",
    );
    let out = store.run_stdin(&["import", "-"], &input);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}{stderr}");
    assert_eq!(stderr, "");
    assert_eq!(stdout.matches("Already present: ").count(), 2, "{stdout}");
    assert!(stdout.contains("(line 2)"), "{stdout}");
    assert!(
        stdout.ends_with("2 imported, 2 already present, 0 refused\n"),
        "{stdout}"
    );
    assert_eq!(store.labels(), ["alice", "bob", "ana", "ben"]);
}

#[test]
fn a_batch_of_nothing_but_refusals_changes_nothing() {
    let store = Store::new("import", "refused");
    let out = store.run_stdin(
        &["import", "-"],
        "https://example.com/\notpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=9\n",
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("line 1 refused: ") && stderr.contains("line 2 refused: "));
    assert!(stderr.ends_with("lines 1, 2 were refused; nothing was imported\n"));
    assert!(text(&out.stdout).ends_with("0 imported, 0 already present, 2 refused\n"));
    assert!(
        !store.0.join("softtoken.vault").exists(),
        "nothing was written"
    );
}
