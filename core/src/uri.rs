//! Key URIs (`otpauth://totp/ISSUER:ACCOUNT?secret=…`, Google Authenticator's
//! Key URI format) in both directions, and whole exports in Google
//! Authenticator's export format ([`migration`], `otpauth-migration://`).

pub mod migration;
mod percent;

use crate::otp::{Algorithm, Digits, Mode, OtpError, OtpParams};
use crate::secret::{Secret, SecretError};
use crate::serial::Serial;
use migration::MigrationError;
use percent::{exact, percent_decode, percent_encode};
use std::fmt;
use thiserror::Error;
use zeroize::Zeroizing;

/// Why a key URI was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UriError {
    /// Not an `otpauth://` or `otpauth-migration://` URI.
    #[error("not a key URI: it must start with otpauth:// (or otpauth-migration:// for an export); scan or copy the whole code again")]
    WrongScheme,
    /// A type other than totp or hotp.
    #[error("key URI type '{0}' is not supported: use otpauth://totp/… or otpauth://hotp/…")]
    WrongType(String),
    /// No account name in the path.
    #[error("the key URI has no account name after the type (otpauth://totp/ISSUER:ACCOUNT?…)")]
    MissingLabel,
    /// `%` not followed by two hex digits, or bytes that are not UTF-8.
    #[error("bad percent-encoding at character {0} of the key URI: '%' must be followed by two hex digits of UTF-8 text")]
    BadPercentEncoding(usize),
    /// No `secret` parameter.
    #[error("the key URI has no secret= parameter")]
    MissingSecret,
    /// The secret is not usable.
    #[error("the key URI's secret is not usable: {0}")]
    Secret(#[from] SecretError),
    /// Unknown algorithm.
    #[error("the key URI's algorithm is not usable: {0}")]
    Algorithm(OtpError),
    /// Digits not 6, 7 or 8.
    #[error("the key URI's digits={0} is not usable: use 6, 7 or 8")]
    Digits(String),
    /// Period zero or not a number.
    #[error("the key URI's period={0} is not usable: use a whole number of seconds, 1 or more")]
    Period(String),
    /// HOTP without a counter.
    #[error("an hotp key URI needs a counter= parameter")]
    MissingCounter,
    /// Counter not a number.
    #[error("the key URI's counter={0} is not usable: use a whole number from 0")]
    Counter(String),
    /// A parameter given twice.
    #[error("the key URI gives {0}= twice: keep one")]
    Duplicate(String),
    /// An issuer containing a colon.
    #[error("issuer '{0}' contains ':', which separates issuer and account in a key URI")]
    IssuerColon(String),
    /// An `otpauth-migration://` export that cannot be read.
    #[error(transparent)]
    Migration(#[from] MigrationError),
}

/// One account as a key URI describes it.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyUri {
    /// The shared key.
    pub secret: Secret,
    /// Algorithm, digits, period or counter.
    pub params: OtpParams,
    /// The service (e.g. `VIP Access`, `Example Co`), if named.
    pub issuer: Option<String>,
    /// The account name (for a VIP token, its serial).
    pub account: String,
}

impl fmt::Debug for KeyUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyUri")
            .field("secret", &self.secret)
            .field("params", &self.params)
            .field("issuer", &self.issuer)
            .field("account", &self.account)
            .finish()
    }
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

/// Reads one `otpauth://` URI, or every account of an `otpauth-migration://` export.
pub fn parse_any(text: &str) -> Result<Vec<KeyUri>, UriError> {
    let text = text.trim();
    if strip_prefix_ignore_case(text, "otpauth-migration://").is_some() {
        Ok(migration::decode_uri(text)?)
    } else {
        Ok(vec![KeyUri::parse(text)?])
    }
}

impl KeyUri {
    /// An account, checking that the issuer has no colon.
    pub fn new(
        secret: Secret,
        params: OtpParams,
        issuer: Option<String>,
        account: String,
    ) -> Result<Self, UriError> {
        if let Some(issuer) = issuer.as_deref().filter(|i| i.contains(':')) {
            return Err(UriError::IssuerColon(issuer.to_string()));
        }
        Ok(Self {
            secret,
            params,
            issuer: issuer.filter(|i| !i.is_empty()),
            account,
        })
    }

    /// Parses an `otpauth://totp/…` or `otpauth://hotp/…` URI.
    pub fn parse(uri: &str) -> Result<Self, UriError> {
        let uri = uri.trim();
        let rest = strip_prefix_ignore_case(uri, "otpauth://").ok_or(UriError::WrongScheme)?;
        let (kind, rest) = rest.split_once('/').unwrap_or((rest, ""));
        let hotp = if kind.eq_ignore_ascii_case("totp") {
            false
        } else if kind.eq_ignore_ascii_case("hotp") {
            true
        } else {
            return Err(UriError::WrongType(kind.chars().take(32).collect()));
        };
        let label_start = uri.len() - rest.len();
        let (label, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (issuer_in_label, account) = match label.split_once(':') {
            Some((issuer, account)) => (
                Some(percent_decode(issuer, false, label_start)?),
                percent_decode(account, false, label_start + issuer.len() + 1)?,
            ),
            None => {
                let decoded = percent_decode(label, false, label_start)?;
                match decoded.split_once(':') {
                    Some((i, a)) => (
                        Some(Zeroizing::new(i.to_string())),
                        Zeroizing::new(a.to_string()),
                    ),
                    None => (None, decoded),
                }
            }
        };
        let account = account.trim_start().to_string();
        if account.is_empty() {
            return Err(UriError::MissingLabel);
        }

        let mut query_at = uri.len() - query.len();
        let mut secret = None;
        let (mut issuer, mut algorithm, mut digits, mut period, mut counter) =
            (None, None, None, None, None);
        for pair in query.split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value_at = query_at + key.len() + 1;
            query_at += pair.len() + 1;
            let slot = match key.to_ascii_lowercase().as_str() {
                "secret" => &mut secret,
                "issuer" => &mut issuer,
                "algorithm" => &mut algorithm,
                "digits" => &mut digits,
                "period" => &mut period,
                "counter" => &mut counter,
                _ => continue,
            };
            if slot.is_some() {
                return Err(UriError::Duplicate(key.to_ascii_lowercase()));
            }
            *slot = Some(percent_decode(value, true, value_at)?);
        }

        let secret = Secret::from_base32(&secret.ok_or(UriError::MissingSecret)?)?;
        let algorithm = match algorithm {
            Some(name) => Algorithm::from_name(&name).map_err(UriError::Algorithm)?,
            None => Algorithm::default(),
        };
        let digits = match digits {
            Some(d) => d
                .parse::<u64>()
                .ok()
                .and_then(|n| Digits::new(n).ok())
                .ok_or_else(|| UriError::Digits(d.chars().take(16).collect()))?,
            None => Digits::default(),
        };
        let mode = if hotp {
            let c = counter.ok_or(UriError::MissingCounter)?;
            Mode::Hotp {
                counter: c
                    .parse()
                    .map_err(|_| UriError::Counter(c.chars().take(24).collect()))?,
            }
        } else {
            Mode::Totp {
                period: match period {
                    Some(p) => p
                        .parse::<u64>()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| UriError::Period(p.chars().take(24).collect()))?,
                    None => crate::otp::DEFAULT_PERIOD,
                },
            }
        };
        let issuer = issuer
            .map(|i| i.to_string())
            .or_else(|| issuer_in_label.map(|i| i.to_string()))
            .filter(|i| !i.is_empty());
        Ok(Self {
            secret,
            params: OtpParams {
                algorithm,
                digits,
                mode,
            },
            issuer,
            account,
        })
    }

    /// The serial this account names: ours when softtoken issued it (check digit verified), a
    /// VIP-style `ABCD12345678` verbatim; `None` for other accounts (`alice@example.com`).
    pub fn serial(&self) -> Option<Serial> {
        if self.issuer.as_deref() == Some(crate::issuer::ISSUER_NAME) {
            if let Ok(ours) = Serial::parse(&self.account) {
                return Some(ours);
            }
        }
        if Serial::looks_like_vip(&self.account) {
            return Serial::foreign(&self.account).ok();
        }
        None
    }

    /// Writes the URI (it contains the secret: show it only to its owner),
    /// in a buffer sized before it is written and wiped when dropped.
    pub fn to_uri(&self) -> Zeroizing<String> {
        let secret = self.secret.to_base32();
        exact(|out| {
            out.write_str("otpauth://")?;
            out.write_str(match self.params.mode {
                Mode::Totp { .. } => "totp/",
                Mode::Hotp { .. } => "hotp/",
            })?;
            if let Some(issuer) = &self.issuer {
                percent_encode(out, issuer)?;
                out.write_char(':')?;
            }
            percent_encode(out, &self.account)?;
            out.write_str("?secret=")?;
            out.write_str(&secret)?;
            if let Some(issuer) = &self.issuer {
                out.write_str("&issuer=")?;
                percent_encode(out, issuer)?;
            }
            write!(
                out,
                "&algorithm={}&digits={}&",
                self.params.algorithm.name(),
                self.params.digits.get()
            )?;
            match self.params.mode {
                Mode::Totp { period } => write!(out, "period={period}"),
                Mode::Hotp { counter } => write!(out, "counter={counter}"),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SECRET: &str = "JBSWY3DPEHPK3PXP";

    #[test]
    fn google_example() {
        let k = KeyUri::parse(
            "otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example",
        )
        .unwrap();
        assert_eq!(k.issuer.as_deref(), Some("Example"));
        assert_eq!(k.account, "alice@google.com");
        assert_eq!(k.params, OtpParams::default());
        assert_eq!(k.secret, Secret::from_base32(SECRET).unwrap());
        let k = KeyUri::parse("otpauth://totp/ACME%20Co:john.doe@email.com?secret=HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30").unwrap();
        assert_eq!(k.issuer.as_deref(), Some("ACME Co"));
        assert_eq!(
            k.to_uri().as_str(),
            "otpauth://totp/ACME%20Co:john.doe%40email.com?secret=HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn vip_access_forms() {
        let new = "otpauth://totp/VIP%20Access:SYMC26070843?secret=IKAJIEFLCSZ2AYVWF2QI6X3OBJQV3YVN&digits=6&algorithm=SHA1&image=https%3A%2F%2Fraw.githubusercontent.com%2Fdlenski%2Fpython-vipaccess%2Fmaster%2Fvipaccess.png&period=30";
        let k = KeyUri::parse(new).unwrap();
        assert_eq!(
            (k.issuer.as_deref(), k.account.as_str()),
            (Some("VIP Access"), "SYMC26070843")
        );
        let old = "otpauth://totp/VIP%20Access:VSST26070843?secret=IKAJIEFLCSZ2AYVWF2QI6X3OBJQV3YVN&issuer=Symantec&algorithm=SHA1&digits=6";
        let k = KeyUri::parse(old).unwrap();
        assert_eq!(
            (k.issuer.as_deref(), k.account.as_str()),
            (Some("Symantec"), "VSST26070843")
        );
        assert_eq!(k.params.period(), Some(30));
    }

    #[test]
    fn hotp_and_options() {
        let k = KeyUri::parse(
            "OTPAUTH://HOTP/a%3Ab?SECRET=jbsw+y3dp+ehpk+3pxp&counter=42&digits=8&algorithm=sha512",
        )
        .unwrap();
        assert_eq!(k.issuer.as_deref(), Some("a"));
        assert_eq!(k.account, "b");
        assert_eq!(k.params.mode, Mode::Hotp { counter: 42 });
        assert_eq!(k.params.digits.get(), 8);
        assert_eq!(k.params.algorithm, Algorithm::Sha512);
        let k =
            KeyUri::parse("otpauth://totp/Issuer:%20%20spaced?secret=JBSWY3DPEHPK3PXP&period=60")
                .unwrap();
        assert_eq!(k.account, "spaced");
        assert_eq!(k.params.period(), Some(60));
    }

    #[test]
    fn every_mistake_is_a_distinct_error() {
        let cases: [(&str, UriError); 14] = [
            ("https://x/y", UriError::WrongScheme),
            (
                "otpauth://motp/x?secret=JBSWY3DPEHPK3PXP",
                UriError::WrongType("motp".into()),
            ),
            (
                "otpauth://totp/?secret=JBSWY3DPEHPK3PXP",
                UriError::MissingLabel,
            ),
            ("otpauth://totp/x?issuer=a", UriError::MissingSecret),
            (
                "otpauth://totp/x?secret=JBSWY3DP",
                UriError::Secret(SecretError::TooShort { len: 5 }),
            ),
            (
                "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=9",
                UriError::Digits("9".into()),
            ),
            (
                "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=six",
                UriError::Digits("six".into()),
            ),
            (
                "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&period=0",
                UriError::Period("0".into()),
            ),
            (
                "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&period=-5",
                UriError::Period("-5".into()),
            ),
            (
                "otpauth://hotp/x?secret=JBSWY3DPEHPK3PXP",
                UriError::MissingCounter,
            ),
            (
                "otpauth://hotp/x?secret=JBSWY3DPEHPK3PXP&counter=x",
                UriError::Counter("x".into()),
            ),
            (
                "otpauth://totp/x%zz?secret=JBSWY3DPEHPK3PXP",
                UriError::BadPercentEncoding(17),
            ),
            (
                "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&secret=JBSWY3DPEHPK3PXP",
                UriError::Duplicate("secret".into()),
            ),
            (
                "otpauth://totp/x%FF?secret=JBSWY3DPEHPK3PXP",
                UriError::BadPercentEncoding(16),
            ),
        ];
        for (uri, want) in cases {
            assert_eq!(KeyUri::parse(uri).unwrap_err(), want, "{uri}");
        }
        assert!(matches!(
            KeyUri::parse("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&algorithm=MD5"),
            Err(UriError::Algorithm(_))
        ));
        // Unknown parameters are ignored, even malformed ones.
        assert!(KeyUri::parse("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&image=a%zz").is_ok());
        let e = KeyUri::parse("otpauth://totp/x?secret=JBSWY3DP").unwrap_err();
        assert_eq!(e.to_string(), "the key URI's secret is not usable: secret is 5 bytes; at least 10 are needed (ask the issuer for a longer key)");
        assert_eq!(
            KeyUri::new(
                Secret::from_base32(SECRET).unwrap(),
                OtpParams::default(),
                Some("a:b".into()),
                "c".into()
            )
            .unwrap_err(),
            UriError::IssuerColon("a:b".into())
        );
    }

    /// A VIP-style URI is longer than the 128 bytes the writer once reserved:
    /// its buffer grew after the secret was in it. It is sized first now.
    #[test]
    fn uri_buffers_are_sized_before_the_secret_is_written() {
        let vip = KeyUri::new(
            Secret::from_base32("IKAJIEFLCSZ2AYVWF2QI6X3OBJQV3YVN").unwrap(),
            OtpParams::default(),
            Some("VIP Access".into()),
            "SYMC26070843".into(),
        )
        .unwrap();
        let text = vip.to_uri();
        assert_eq!(
            text.as_str(),
            "otpauth://totp/VIP%20Access:SYMC26070843?secret=IKAJIEFLCSZ2AYVWF2QI6X3OBJQV3YVN&issuer=VIP%20Access&algorithm=SHA1&digits=6&period=30"
        );
        assert!(text.len() > 128);
        assert_eq!(text.capacity(), text.len());
    }

    #[test]
    fn debug_hides_the_secret() {
        let k = KeyUri::parse("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP").unwrap();
        assert!(!format!("{k:?}").contains(SECRET));
    }

    fn arb_params() -> impl Strategy<Value = OtpParams> {
        (
            prop::sample::select(Algorithm::ALL.to_vec()),
            6u64..=8,
            prop_oneof![
                (1u64..100_000).prop_map(|period| Mode::Totp { period }),
                any::<u64>().prop_map(|counter| Mode::Hotp { counter })
            ],
        )
            .prop_map(|(algorithm, d, mode)| OtpParams {
                algorithm,
                digits: Digits::new(d).unwrap(),
                mode,
            })
    }

    proptest! {
        #[test]
        fn round_trip_is_exact(
            key in proptest::collection::vec(any::<u8>(), 10..64),
            params in arb_params(),
            issuer in proptest::option::of("[^:]{1,20}"),
            account in "[a-zA-Z0-9@._][^:]{0,30}",
        ) {
            let k = KeyUri::new(Secret::from_bytes(&key).unwrap(), params, issuer, account).unwrap();
            let text = k.to_uri();
            // Sized before the secret was written: never grown, so no copy was left behind.
            prop_assert_eq!(text.capacity(), text.len());
            let back = KeyUri::parse(&text).unwrap();
            prop_assert_eq!(&back, &k);
            prop_assert_eq!(back.to_uri(), text);
        }

        #[test]
        fn never_panics(text in "otpauth://[th]otp/\\PC{0,60}") {
            let _ = KeyUri::parse(&text);
        }
    }
}
