//! Console sessions: a cookie sealed under the service's master key
//! (AES-256-GCM), so any server process sharing the key file reads it and
//! nothing needs to be stored per session. The cookie holds the bank, the
//! staff member's name, the expiry and the session's CSRF token; a session
//! without a bank is the sign-in form's (its CSRF token guards the form).

use crate::db::{BankId, Store};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

/// What the sealed cookie is for (the associated data of the seal).
const PURPOSE: &str = "softtoken-console-session-v1";
/// How long a signed-in session lasts (a working day).
pub const SIGNED_IN_SECONDS: u64 = 8 * 3600;
/// How long a sign-in form stays valid.
pub const SIGN_IN_FORM_SECONDS: u64 = 3600;

/// A console session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The bank signed in to, or `None` for the sign-in form's session.
    #[serde(rename = "b")]
    pub bank: Option<i64>,
    /// The staff member's name, recorded with every action.
    #[serde(rename = "s")]
    pub staff: String,
    /// The CSRF token every form of this session carries (hex).
    #[serde(rename = "c")]
    pub csrf: String,
    /// Unix time the session ends.
    #[serde(rename = "e")]
    pub expires: u64,
}

impl Session {
    /// A fresh session (a new CSRF token) for `bank` and `staff`, ending `lifetime` seconds after `now`.
    pub fn new(bank: Option<BankId>, staff: &str, now: u64, lifetime: u64) -> Option<Self> {
        let mut token = [0u8; 16];
        getrandom::fill(&mut token).ok()?;
        Some(Self {
            bank: bank.map(|b| b.0),
            staff: staff.to_string(),
            csrf: token.iter().map(|b| format!("{b:02x}")).collect(),
            expires: now.saturating_add(lifetime),
        })
    }

    /// The bank, when signed in.
    pub fn bank(&self) -> Option<BankId> {
        self.bank.map(BankId)
    }

    /// Whether a form's token is this session's (constant time).
    pub fn csrf_matches(&self, token: &str) -> bool {
        !self.csrf.is_empty()
            && self.csrf.len() == token.len()
            && bool::from(self.csrf.as_bytes().ct_eq(token.as_bytes()))
    }

    /// The cookie value: `v1.<key id>.<hex of nonce ‖ ciphertext>`.
    pub fn seal(&self, store: &Store) -> Option<String> {
        let json = serde_json::to_vec(self).ok()?;
        let (id, sealed) = store.seal(PURPOSE, &json).ok()?;
        Some(format!("v1.{id}.{}", hex(&sealed)))
    }

    /// The session a cookie value holds, if it is genuine and has not expired at `now`.
    pub fn open(store: &Store, value: &str, now: u64) -> Option<Self> {
        let mut parts = value.splitn(3, '.');
        if parts.next()? != "v1" {
            return None;
        }
        let id: i64 = parts.next()?.parse().ok()?;
        let sealed = unhex(parts.next()?)?;
        let json = store.open(PURPOSE, id, &sealed)?;
        let session: Session = serde_json::from_slice(&json).ok()?;
        (now < session.expires).then_some(session)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 || text.len() > 4096 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::MasterKeys;
    use softtoken_core::Policy;

    async fn open_store(dir: &std::path::Path) -> Store {
        let (keys, _) = MasterKeys::load_or_create(&dir.join("master.key")).unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.join("t.db").display());
        Store::connect(&url, keys, Policy::default(), 1)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_sealed_session_opens_until_it_expires_and_not_when_touched() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(dir.path()).await;
        let session = Session::new(Some(BankId(7)), "佐藤", 1000, 60).unwrap();
        let cookie = session.seal(&store).unwrap();
        assert!(!cookie.contains("佐藤") && !cookie.contains(&session.csrf));
        assert_eq!(Session::open(&store, &cookie, 1059), Some(session.clone()));
        assert_eq!(Session::open(&store, &cookie, 1060), None, "expired");
        // Any changed character is refused.
        let mut bytes = cookie.clone().into_bytes();
        let last = bytes.len() - 1;
        bytes[last] = if bytes[last] == b'0' { b'1' } else { b'0' };
        let touched = String::from_utf8(bytes).unwrap();
        assert_eq!(Session::open(&store, &touched, 1000), None);
        assert_eq!(Session::open(&store, "v1.1.00", 1000), None);
        assert_eq!(Session::open(&store, "v1.99.0011", 1000), None);
        assert_eq!(Session::open(&store, "garbage", 1000), None);
        // Another service (another master key) cannot read it.
        let other_dir = tempfile::tempdir().unwrap();
        let other = open_store(other_dir.path()).await;
        assert_eq!(Session::open(&other, &cookie, 1000), None);
    }

    #[tokio::test]
    async fn a_second_process_on_the_same_key_file_reads_the_session() {
        let dir = tempfile::tempdir().unwrap();
        let first = open_store(dir.path()).await;
        let second = open_store(dir.path()).await;
        let session = Session::new(Some(BankId(1)), "Tanaka", 0, 60).unwrap();
        let cookie = session.seal(&first).unwrap();
        assert_eq!(Session::open(&second, &cookie, 1), Some(session));
    }

    #[test]
    fn csrf_tokens_are_fresh_and_compared_exactly() {
        let a = Session::new(None, "", 0, 60).unwrap();
        let b = Session::new(None, "", 0, 60).unwrap();
        assert_ne!(a.csrf, b.csrf);
        assert_eq!(a.csrf.len(), 32);
        assert!(a.csrf_matches(&a.csrf.clone()));
        assert!(!a.csrf_matches(&b.csrf));
        assert!(!a.csrf_matches(""));
        assert!(!a.csrf_matches(&a.csrf[..31]));
    }
}
