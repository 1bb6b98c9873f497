//! Secrets never leak: Debug, Display and every error of every type that holds
//! or touched a secret, and the desktop's output, never contain it.

use softtoken_core::directory::{self, MemoryDirectory};
use softtoken_core::issuer::Credential;
use softtoken_core::otp::{Algorithm, Digits, OtpKey, Totp};
use softtoken_core::store::Record;
use softtoken_core::vault::VAULT_KEY;
use softtoken_core::{
    Issuer, KeyUri, ManualClock, MemoryLedger, MemoryStore, Policy, Prefix, Secret, SecureStore,
    Vault, Verifier,
};
use std::sync::Arc;

const SECRET: &str = "IKAJIEFLCSZ2AYVWF2QI6X3OBJQV3YVN";

/// Every spelling of the secret that would betray it.
fn forms() -> Vec<String> {
    let secret = Secret::from_base32(SECRET).unwrap();
    let bytes = secret.expose();
    vec![
        SECRET.to_string(),
        SECRET.to_lowercase(),
        SECRET[..16].to_string(),
        bytes.iter().map(|b| format!("{b:02x}")).collect(),
        format!("{bytes:?}"),
        String::from_utf8_lossy(bytes).into_owned(),
    ]
}

fn assert_clean(what: &str, text: &str) {
    for form in forms() {
        assert!(
            !text.contains(&form),
            "{what} shows the secret ({form}): {text}"
        );
    }
}

#[test]
fn debug_display_and_errors_never_show_the_secret() {
    let secret = Secret::from_base32(SECRET).unwrap();
    let uri = format!("otpauth://totp/VIP%20Access:SYMC26070843?secret={SECRET}");
    let key = KeyUri::parse(&uri).unwrap();
    let credential = Credential::try_from(key.clone()).unwrap();
    let mut shown = vec![
        format!("{secret:?}"),
        format!("{secret}"),
        format!("{key:?}"),
        format!("{credential:?}"),
        format!("{:?}", OtpKey::new(&secret, Algorithm::Sha1)),
        format!(
            "{:?}",
            Totp::new(&secret, Algorithm::Sha1, Digits::SIX, 30).unwrap()
        ),
    ];
    let store = MemoryStore::new();
    let clock = ManualClock::new(1_700_000_000);
    let mut vault = Vault::open(&store, &clock, Issuer::new(Prefix::DESKTOP)).unwrap();
    vault.import_uri(&uri).unwrap();
    shown.push(format!("{vault:?}"));
    shown.push(format!("{:?}", vault.tokens()));
    shown.push(format!("{:?}", vault.code("SYMC26070843").unwrap()));
    let record = Record::decode(&store.read(VAULT_KEY).unwrap().unwrap()).unwrap();
    shown.push(format!("{:?}", record.tokens));
    // Errors from operations on secret-bearing input.
    let errors = [
        vault.import_uri(&uri).unwrap_err().to_string(),
        vault
            .import_uri(&format!("otpauth://totp/x?secret={SECRET}&digits=9"))
            .unwrap_err()
            .to_string(),
        vault
            .import_uri(&format!("otpauth://totp/x?secret={SECRET}&secret={SECRET}"))
            .unwrap_err()
            .to_string(),
        vault
            .import_uri(&format!("otpauth://totp/x?secret={}!", &SECRET[..20]))
            .unwrap_err()
            .to_string(),
        vault
            .import_uri(&format!("otpauth://hotp/x?secret={SECRET}"))
            .unwrap_err()
            .to_string(),
        vault
            .import_uri(&format!("otpauth://totp/x?secret={SECRET}&period=0"))
            .unwrap_err()
            .to_string(),
        vault
            .import_uri(&format!("otpauth://totp/x%ZZ?secret={SECRET}"))
            .unwrap_err()
            .to_string(),
        Secret::from_base32(&SECRET[..14]).unwrap_err().to_string(),
        Secret::from_base32(&format!("{}0", &SECRET[..20]))
            .unwrap_err()
            .to_string(),
        Record::decode(&store.read(VAULT_KEY).unwrap().unwrap()[..200])
            .unwrap_err()
            .to_string(),
        directory::issue(&MemoryDirectory::new(), &Issuer::new(Prefix::ANDROID))
            .map(|c| format!("{c:?}"))
            .unwrap(),
    ];
    shown.extend(errors.iter().cloned());
    shown.extend(errors.iter().map(|e| format!("{e:?}")));
    let dir = Arc::new(MemoryDirectory::new());
    softtoken_core::Directory::add(dir.as_ref(), credential.clone()).unwrap();
    shown.push(format!(
        "{:?}",
        softtoken_core::Directory::lookup(dir.as_ref(), "SYMC26070843").unwrap()
    ));
    let verifier = Verifier::new(
        dir,
        Arc::new(MemoryLedger::new()),
        Arc::new(ManualClock::new(0)),
        Policy::default(),
    );
    shown.push(format!("{verifier:?}"));
    for (i, text) in shown.iter().enumerate() {
        assert_clean(&format!("rendering {i}"), text);
    }
}
