//! What a screen shows of a token and its code: display serial, title, origin,
//! grouped and spoken code and the countdown. Every shell (desktop, Android,
//! iOS) draws from here, so they agree; none of them groups digits, names a
//! token or reads a clock itself.

use crate::clock::Clock;
use crate::otp::{Code, Mode};
use crate::store::SecureStore;
use crate::token::Origin;
use crate::vault::{TokenInfo, Vault, VaultError};

/// Seconds left at or below which a countdown is ending (drawn in a warning colour).
pub const ENDING_SECONDS: u64 = 5;

/// Between the parts of a title: `GitHub · alice`.
pub const TITLE_SEPARATOR: &str = " · ";

/// A token as every screen names it; never its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenView {
    /// The serial as stored (`SSTA12345678`, `SYMC26070843`).
    pub serial: String,
    /// The serial as shown and typed: ours grouped (`SSTA 1234 5678`), imported foreign ones as they are.
    pub display_serial: String,
    /// The serial for a screen reader, character by character, a pause between groups (`S S T A, 1 2 3 4, 5 6 7 8`).
    pub spoken_serial: String,
    /// The token's name on screen (see [`title`]).
    pub title: String,
    /// Issued here or imported.
    pub origin: Origin,
    /// Where it came from, in words (`issued here`, `imported`).
    pub origin_text: &'static str,
}

/// A code as every screen shows it, with the countdown of a TOTP code.
#[derive(Debug, Clone, PartialEq)]
pub struct CodeView {
    /// The code to type, zero-padded (`165873`).
    pub value: String,
    /// The code in two groups for reading (`165 873`, `1234 567`, `1234 5678`).
    pub grouped: String,
    /// The code for a screen reader, digit by digit, a pause between the groups (`1 6 5, 8 7 3`).
    pub spoken: String,
    /// The code that follows.
    pub next_value: String,
    /// The next code, grouped.
    pub next_grouped: String,
    /// The TOTP time step or HOTP counter of `value`.
    pub counter: u64,
    /// For TOTP, how long the code stays valid; `None` for HOTP.
    pub countdown: Option<Countdown>,
}

/// How long a TOTP code stays valid, from the vault's own clock (its offset applied).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Countdown {
    /// First Unix second the code is valid.
    pub valid_from: u64,
    /// First Unix second the code is no longer valid.
    pub valid_until: u64,
    /// Seconds per code.
    pub period: u64,
    /// Whole seconds until the code changes, 1 to `period`.
    pub seconds_left: u64,
    /// Share of the period elapsed, from 0.0 (new) up to below 1.0.
    pub progress: f64,
    /// Share of the period still to run, `1 - progress`: from 1.0 (new) down to above 0.0.
    pub remaining: f64,
    /// In the last [`ENDING_SECONDS`] seconds: about to change.
    pub ending: bool,
}

/// Where a token came from, in words.
pub fn origin_text(origin: Origin) -> &'static str {
    match origin {
        Origin::Issued => "issued here",
        Origin::Service => "from the token service",
        Origin::Imported => "imported",
    }
}

/// A token's title, one rule for every token and every screen: its issuer and
/// its account name joined by ` · `, leaving out an account name that is just
/// the serial shown beneath it and an issuer equal to the account name (case
/// and surrounding spaces ignored). `softtoken` for the token issued here,
/// `GitHub · alice`, `VIP Access` for a VIP token named by its serial, `alice`
/// without an issuer; the serial itself when nothing else is known.
pub fn title(info: &TokenInfo) -> String {
    let label = info.label.trim();
    let issuer = info
        .issuer
        .as_deref()
        .map(str::trim)
        .filter(|i| !i.is_empty());
    let is_serial = label == info.serial.as_str() || label == info.serial.grouped();
    let label = Some(label).filter(|l| !l.is_empty() && !is_serial);
    match (issuer, label) {
        (Some(i), Some(l)) if i.eq_ignore_ascii_case(l) => l.to_string(),
        (Some(i), Some(l)) => format!("{i}{TITLE_SEPARATOR}{l}"),
        (Some(only), None) | (None, Some(only)) => only.to_string(),
        (None, None) => info.serial.grouped(),
    }
}

/// Where a code splits in two for reading: `165 873`, `1234 567`, `1234 5678`
/// (the longer group first, never shorter than three digits).
fn split_at(len: usize) -> Option<usize> {
    (len > 3).then(|| len.div_ceil(2).max(3))
}

/// A code in two groups for reading or typing: `165 873`, `1234 567`, `1234 5678`.
pub fn grouped_code(code: &str) -> String {
    match split_at(code.len()).and_then(|at| Some((code.get(..at)?, code.get(at..)?))) {
        Some((a, b)) => format!("{a} {b}"),
        None => code.to_string(),
    }
}

/// Characters spelled one by one, groups (split at spaces) separated by a comma: `1 6 5, 8 7 3`.
fn spelled(grouped: &str) -> String {
    grouped
        .split_whitespace()
        .map(|group| {
            let mut chars = String::with_capacity(group.len() * 2);
            for c in group.chars() {
                if !chars.is_empty() {
                    chars.push(' ');
                }
                chars.push(c);
            }
            chars
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A code for a screen reader: digit by digit, a pause between the groups (`1 6 5, 8 7 3`),
/// so TalkBack and VoiceOver never read "one hundred sixty-five thousand".
pub fn spoken_code(code: &str) -> String {
    spelled(&grouped_code(code))
}

/// A serial as shown: ours grouped (`SSTA 1234 5678`), anything else (an imported foreign serial) as typed, trimmed.
pub fn display_serial(serial: &str) -> String {
    match crate::serial::Serial::parse(serial) {
        Ok(ours) => ours.grouped(),
        Err(_) => serial.trim().to_string(),
    }
}

/// What every screen shows of a token.
pub fn token(info: &TokenInfo) -> TokenView {
    let display_serial = info.serial.grouped();
    TokenView {
        serial: info.serial.as_str().to_string(),
        spoken_serial: spelled(&display_serial),
        display_serial,
        title: title(info),
        origin: info.origin,
        origin_text: origin_text(info.origin),
    }
}

/// What every screen shows of a code; its countdown is the one the code was made for (the vault's corrected time).
pub fn code(code: &Code) -> CodeView {
    let value = code.value.as_str();
    let next = code.next.as_str();
    CodeView {
        value: value.to_string(),
        grouped: grouped_code(value),
        spoken: spoken_code(value),
        next_value: next.to_string(),
        next_grouped: grouped_code(next),
        counter: code.counter,
        countdown: code.window.map(|w| {
            let period = w.valid_until.saturating_sub(w.valid_from).max(1);
            let seconds_left = w.seconds_left.clamp(1, period);
            let remaining = seconds_left as f64 / period as f64;
            Countdown {
                valid_from: w.valid_from,
                valid_until: w.valid_until,
                period,
                seconds_left,
                progress: 1.0 - remaining,
                remaining,
                ending: seconds_left <= ENDING_SECONDS,
            }
        }),
    }
}

/// One token with, for TOTP, its code at the moment drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct Card {
    /// The token.
    pub token: TokenView,
    /// The token's parameters, for a screen that shows them.
    pub info: TokenInfo,
    /// Its code now; `None` for HOTP, whose codes are drawn on demand only (drawing one uses it up).
    pub code: Option<CodeView>,
}

impl Card {
    /// A card for `info` and, when given, the code drawn for it.
    pub fn new(info: TokenInfo, code: Option<&Code>) -> Self {
        Card {
            token: token(&info),
            code: code.map(self::code),
            info,
        }
    }
}

/// Whether a token's codes may be drawn on a screen without being asked for (TOTP yes, HOTP no).
pub fn draws_code(info: &TokenInfo) -> bool {
    match info.params.mode {
        Mode::Totp { .. } => true,
        Mode::Hotp { .. } => false,
    }
}

/// Every token (the issued ones first) with, for TOTP, its code at one moment of the vault's own clock
/// (read once, its offset applied); HOTP codes are not drawn, as that would use them up.
pub fn cards<S: SecureStore, C: Clock>(vault: &Vault<S, C>) -> Result<Vec<Card>, VaultError> {
    let now = vault.now()?;
    vault
        .tokens()
        .into_iter()
        .map(|info| {
            let code = if draws_code(&info) {
                Some(vault.code_at(info.serial.as_str(), now)?)
            } else {
                None
            };
            Ok(Card::new(info, code.as_ref()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::otp::{self, Algorithm, Digits, OtpParams};
    use crate::serial::{Prefix, Serial};
    use crate::Secret;
    use proptest::prelude::*;

    fn info(serial: Serial, label: &str, issuer: Option<&str>, origin: Origin) -> TokenInfo {
        TokenInfo {
            serial,
            label: label.into(),
            issuer: issuer.map(Into::into),
            params: OtpParams::default(),
            origin,
            created: 0,
        }
    }

    fn ours() -> Serial {
        Serial::from_parts(Prefix::ANDROID, 1234567)
    }

    #[test]
    fn titles_follow_one_rule() {
        let s = ours();
        let issued = info(s.clone(), s.as_str(), Some("softtoken"), Origin::Issued);
        assert_eq!(title(&issued), "softtoken");
        let gh = info(s.clone(), "alice", Some("GitHub"), Origin::Imported);
        assert_eq!(title(&gh), "GitHub · alice");
        let same = info(s.clone(), "Example", Some("example "), Origin::Imported);
        assert_eq!(title(&same), "Example");
        let bare = info(s.clone(), "alice", None, Origin::Imported);
        assert_eq!(title(&bare), "alice");
        let vip = Serial::foreign("SYMC26070843").unwrap();
        let named = info(
            vip.clone(),
            "SYMC26070843",
            Some("VIP Access"),
            Origin::Imported,
        );
        assert_eq!(title(&named), "VIP Access");
        let nameless = info(vip, "SYMC26070843", None, Origin::Imported);
        assert_eq!(title(&nameless), "SYMC26070843");
        let empty = info(s.clone(), " ", Some(""), Origin::Imported);
        assert_eq!(title(&empty), s.grouped());
    }

    #[test]
    fn a_token_as_shown() {
        let s = ours();
        let view = token(&info(s.clone(), "alice", Some("GitHub"), Origin::Imported));
        assert_eq!(view.serial, s.as_str());
        assert_eq!(view.display_serial, s.grouped());
        let g = s.grouped();
        let spoken: Vec<String> = g
            .split(' ')
            .map(|part| part.chars().map(String::from).collect::<Vec<_>>().join(" "))
            .collect();
        assert_eq!(view.spoken_serial, spoken.join(", "));
        assert!(view.spoken_serial.starts_with("S S T A, "));
        assert_eq!(view.origin_text, "imported");
        assert_eq!(origin_text(Origin::Issued), "issued here");
        assert_eq!(display_serial(" symc26070843 "), "symc26070843");
        assert_eq!(display_serial(s.as_str()), s.grouped());
        assert_eq!(display_serial(&s.as_str().to_lowercase()), s.grouped());
    }

    #[test]
    fn grouping_and_speaking() {
        assert_eq!(grouped_code("165873"), "165 873");
        assert_eq!(grouped_code("1234567"), "1234 567");
        assert_eq!(grouped_code("12345678"), "1234 5678");
        assert_eq!(grouped_code("123"), "123");
        assert_eq!(grouped_code("12345"), "123 45");
        assert_eq!(spoken_code("165873"), "1 6 5, 8 7 3");
        assert_eq!(spoken_code("12345678"), "1 2 3 4, 5 6 7 8");
        assert_eq!(spoken_code("123"), "1 2 3");
        assert_eq!(spoken_code(""), "");
    }

    #[test]
    fn a_code_at_a_known_time() {
        // RFC 6238: at t=59 the SHA-1 code is 287082, 1 s left; the next (t=60) 359152.
        let secret = Secret::from_bytes(b"12345678901234567890").unwrap();
        let c = otp::generate(&secret, &OtpParams::default(), 59).unwrap();
        let v = code(&c);
        assert_eq!(v.value, "287082");
        assert_eq!(v.grouped, "287 082");
        assert_eq!(v.spoken, "2 8 7, 0 8 2");
        assert_eq!(v.next_value, "359152");
        assert_eq!(v.next_grouped, "359 152");
        let cd = v.countdown.unwrap();
        assert_eq!((cd.valid_from, cd.valid_until, cd.period), (30, 60, 30));
        assert_eq!(cd.seconds_left, 1);
        assert!(cd.ending);
        assert!((cd.remaining - 1.0 / 30.0).abs() < 1e-12);
        assert!((cd.progress - 29.0 / 30.0).abs() < 1e-12);
        let fresh = code(&otp::generate(&secret, &OtpParams::default(), 30).unwrap());
        let cd = fresh.countdown.unwrap();
        assert_eq!((cd.seconds_left, cd.remaining, cd.progress), (30, 1.0, 0.0));
        assert!(!cd.ending);
        let hotp = OtpParams::hotp(Algorithm::Sha1, Digits::SIX, 0);
        let h = code(&otp::generate(&secret, &hotp, 0).unwrap());
        assert_eq!((h.value.as_str(), h.countdown), ("755224", None));
    }

    #[test]
    fn cards_from_the_vault_clock_with_its_offset() {
        use crate::{Issuer, ManualClock, MemoryStore, Vault};
        let mut v = Vault::open(
            MemoryStore::new(),
            ManualClock::new(1_000_000_010),
            Issuer::new(Prefix::ANDROID),
        )
        .unwrap();
        let t = v.issue().unwrap();
        v.set_clock_offset(-15).unwrap();
        let now = v.now().unwrap();
        assert_eq!(now, 999_999_995);
        let card = Card::new(t.clone(), Some(&v.code_at(t.serial.as_str(), now).unwrap()));
        assert_eq!(card.token.title, "softtoken");
        assert_eq!(
            card.code.as_ref().unwrap().countdown.unwrap().seconds_left,
            25
        );
        assert!(draws_code(&t));
        v.import_uri("otpauth://hotp/x?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter=0")
            .unwrap();
        let all = cards(&v).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0], card);
        assert_eq!(all[1].code, None, "a counter-based code is not drawn");
        assert_eq!(
            v.code_at(all[1].info.serial.as_str(), 0).unwrap().counter,
            0
        );
    }

    proptest! {
        #[test]
        fn grouped_codes_keep_their_digits(n in 0u32..100_000_000, digits in 6u64..=8) {
            let d = Digits::new(digits).unwrap();
            let code = format!("{:0width$}", n % 10u32.pow(digits as u32), width = usize::from(d.get()));
            let grouped = grouped_code(&code);
            prop_assert_eq!(grouped.replace(' ', ""), code.clone());
            prop_assert_eq!(grouped.matches(' ').count(), 1);
            let spoken = spoken_code(&code);
            prop_assert_eq!(spoken.chars().filter(char::is_ascii_digit).collect::<String>(), code);
        }

        #[test]
        fn countdowns_stay_in_range(time in 0u64..4_000_000_000, period in 1u64..=300) {
            let secret = Secret::from_bytes(b"12345678901234567890").unwrap();
            let params = OtpParams::totp(Algorithm::Sha1, Digits::SIX, period).unwrap();
            let cd = code(&otp::generate(&secret, &params, time).unwrap()).countdown.unwrap();
            prop_assert!((1..=period).contains(&cd.seconds_left));
            prop_assert!((0.0..1.0).contains(&cd.progress));
            prop_assert!(cd.remaining > 0.0 && cd.remaining <= 1.0);
            prop_assert!((cd.progress + cd.remaining - 1.0).abs() < 1e-9);
            prop_assert_eq!(cd.valid_until - time, cd.seconds_left);
            prop_assert_eq!(cd.period, period);
        }
    }
}
