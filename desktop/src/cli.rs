//! The command line: commands, options, help with examples.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Parses a Unix time, explaining times before 1970.
fn unix_time(text: &str) -> Result<u64, String> {
    match text.trim().parse::<i128>() {
        Ok(n) if n < 0 => Err(format!("time {n} is before 1970: give Unix seconds from 0")),
        Ok(n) => {
            u64::try_from(n).map_err(|_| format!("time {n} is too large: at most {}", u64::MAX))
        }
        Err(_) => Err(format!(
            "'{text}' is not a Unix time: give whole seconds since 1970, e.g. 1700000000"
        )),
    }
}

/// The algorithm names accepted on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum AlgorithmArg {
    /// HMAC-SHA-1 (the default).
    Sha1,
    /// HMAC-SHA-256.
    Sha256,
    /// HMAC-SHA-512.
    Sha512,
}

/// softtoken: a software token that shows a serial number and a security code that changes every 30 seconds.
#[derive(Debug, Parser)]
#[command(
    name = "softtoken",
    version,
    after_help = "Examples:\n  softtoken                      show the serial and the live code (issues a token on first run)\n  softtoken show --json          print the codes once as JSON\n  softtoken code --secret -      a code from a base32 secret read on stdin\n  softtoken import 'otpauth://totp/Example:alice?secret=JBSWY3DPEHPK3PXP'"
)]
pub struct Cli {
    /// The store directory [default: the platform's data directory]
    #[arg(long, global = true, env = "SOFTTOKEN_STORE", value_name = "PATH")]
    pub store: Option<PathBuf>,
    /// The token service to get the token from [default: none, the token is issued offline on this PC]
    #[arg(long, global = true, env = "SOFTTOKEN_SERVICE", value_name = "URL")]
    pub service: Option<String>,
    /// What to do; with none, show the tokens live.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the serial and the current code once.
    #[command(
        after_help = "Examples:\n  softtoken show\n  softtoken show 'SSTD 1234 5678' --json"
    )]
    Show {
        /// The token to show [default: all]
        serial: Option<String>,
        /// Print JSON: serial, code, next code, valid_until, seconds_left, label, issuer.
        #[arg(long)]
        json: bool,
    },
    /// Make a code from a secret, like oathtool (or from a stored token with --serial).
    #[command(
        after_help = "Examples:\n  softtoken code --secret JBSWY3DPEHPK3PXP\n  softtoken code --secret-file key.txt --time 1111111109 --digits 8\n  echo JBSWY3DPEHPK3PXP | softtoken code --secret - --window 1\n  softtoken code --hotp --counter 5 --secret JBSWY3DPEHPK3PXP\n  softtoken code --serial 'SSTD 1234 5678'"
    )]
    Code(CodeArgs),
    /// List the stored tokens.
    #[command(after_help = "Example:\n  softtoken list")]
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Import an account from an otpauth:// or otpauth-migration:// URI ('-' reads lines from stdin).
    #[command(
        after_help = "Examples:\n  softtoken import 'otpauth://totp/VIP%20Access:SYMC26070843?secret=...'\n  softtoken import - < uris.txt"
    )]
    Import {
        /// The key URI, or '-' for stdin.
        uri: String,
    },
    /// Print a token's key URI (this reveals its secret).
    #[command(
        after_help = "Examples:\n  softtoken export 'SSTD 1234 5678'\n  softtoken export 'SSTD 1234 5678' --qr"
    )]
    Export {
        /// The token's serial.
        serial: String,
        /// Draw the URI as a QR code to scan with a phone.
        #[arg(long)]
        qr: bool,
    },
    /// Delete a token (tell the bank first: stop it there, B3).
    #[command(after_help = "Example:\n  softtoken delete 'SSTD 1234 5678' --yes")]
    Delete {
        /// The token's serial.
        serial: String,
        /// Do not ask for confirmation.
        #[arg(long, short)]
        yes: bool,
    },
    /// Replace the issued token with a new serial and a new secret (register the new one at the bank).
    #[command(after_help = "Examples:\n  softtoken reissue\n  softtoken reissue 'SSTD 1234 5678'")]
    Reissue {
        /// The token to replace [default: the issued token]
        serial: Option<String>,
    },
    /// Show or set the seconds added to this PC's clock, for a clock known to be wrong.
    #[command(
        name = "clock-offset",
        after_help = "Examples:\n  softtoken clock-offset        show the offset\n  softtoken clock-offset -- -45  the clock is 45 s fast"
    )]
    ClockOffset {
        /// Seconds to add to the clock (negative when it is fast).
        #[arg(allow_negative_numbers = true)]
        seconds: Option<i64>,
    },
    /// Get another token from the token service (--service URL or SOFTTOKEN_SERVICE).
    #[command(after_help = "Example:\n  softtoken --service https://tokens.example.com provision")]
    Provision,
    /// Set the clock offset from the token service's time (--service URL or SOFTTOKEN_SERVICE).
    #[command(
        name = "sync-time",
        after_help = "Example:\n  SOFTTOKEN_SERVICE=https://tokens.example.com softtoken sync-time"
    )]
    SyncTime,
}

/// Options of `softtoken code`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["secret", "secret_file", "serial"])))]
pub struct CodeArgs {
    /// The base32 secret, or '-' to read it from stdin.
    #[arg(long, value_name = "BASE32", conflicts_with_all = ["secret_file", "serial"])]
    pub secret: Option<String>,
    /// A file holding the base32 secret ('-' for stdin).
    #[arg(long, value_name = "PATH", conflicts_with = "serial")]
    pub secret_file: Option<PathBuf>,
    /// Use a stored token instead of a secret.
    #[arg(long, value_name = "SERIAL", conflicts_with_all = ["algorithm", "digits", "period", "hotp", "counter"])]
    pub serial: Option<String>,
    /// Unix time in seconds [default: now]
    #[arg(long, value_name = "UNIX_SECONDS", value_parser = unix_time, allow_negative_numbers = true)]
    pub time: Option<u64>,
    /// The HMAC hash.
    #[arg(long, value_enum, default_value = "sha1")]
    pub algorithm: Option<AlgorithmArg>,
    /// Digits per code.
    #[arg(long, value_parser = clap::value_parser!(u64).range(6..=8), default_value = "6")]
    pub digits: Option<u64>,
    /// Seconds per code.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..), default_value = "30")]
    pub period: Option<u64>,
    /// Counter-based (HOTP) instead of time-based.
    #[arg(long, requires = "counter")]
    pub hotp: bool,
    /// The HOTP counter.
    #[arg(long, requires = "hotp")]
    pub counter: Option<u64>,
    /// Also print the N codes before and after.
    #[arg(long, value_name = "N", default_value = "0", value_parser = clap::value_parser!(u64).range(0..=1000))]
    pub window: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, FromArgMatches};

    #[test]
    fn unix_time_explains_mistakes() {
        assert_eq!(unix_time("59"), Ok(59));
        assert_eq!(unix_time(" 18446744073709551615 "), Ok(u64::MAX));
        assert!(unix_time("-1").unwrap_err().contains("before 1970"));
        assert!(unix_time("18446744073709551616")
            .unwrap_err()
            .contains("too large"));
        assert!(unix_time("soon").unwrap_err().contains("not a Unix time"));
    }

    /// A million argument lists (fewer in a debug build) from the commands' own
    /// words, numbers and junk: each parses or is refused, never a panic.
    #[test]
    fn fuzz_the_command_line() {
        const WORDS: &[&str] = &[
            "show",
            "code",
            "list",
            "import",
            "export",
            "delete",
            "reissue",
            "clock-offset",
            "provision",
            "sync-time",
            "--service",
            "--json",
            "--qr",
            "--yes",
            "-y",
            "--secret",
            "--secret-file",
            "--serial",
            "--time",
            "--algorithm",
            "--digits",
            "--period",
            "--hotp",
            "--counter",
            "--window",
            "--store",
            "--help",
            "--version",
            "-",
            "--",
            "sha1",
            "sha512",
            "md5",
            "6",
            "8",
            "9",
            "0",
            "-1",
            "30",
            "18446744073709551616",
            "JBSWY3DPEHPK3PXP",
            "SSTA 1234 5671",
            "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP",
            "",
            "\u{3000}",
            "ｃｏｄｅ",
            "--time=5",
            "--digits=7",
            "-h",
            "-V",
            "=",
            "--window=1001",
        ];
        let n = if cfg!(debug_assertions) {
            20_000
        } else {
            1_000_000
        };
        let mut command = Cli::command();
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let (mut parsed, mut refused) = (0usize, 0usize);
        for _ in 0..n {
            let len = (next() % 7) as usize;
            let mut args = vec!["softtoken".to_string()];
            for _ in 0..len {
                let word = if next() % 8 == 0 {
                    (0..next() % 12)
                        .map(|_| char::from((next() % 94 + 33) as u8))
                        .collect()
                } else {
                    WORDS[(next() % WORDS.len() as u64) as usize].to_string()
                };
                args.push(word);
            }
            match command.try_get_matches_from_mut(&args) {
                Ok(matches) => {
                    Cli::from_arg_matches(&matches).expect("matches that parse make a Cli");
                    parsed += 1;
                }
                Err(e) => {
                    let _ = e.render().to_string();
                    refused += 1;
                }
            }
        }
        assert_eq!(parsed + refused, n);
        assert!(
            parsed > n / 100 && refused > n / 100,
            "parsed {parsed}, refused {refused}"
        );
        println!(
            "fuzz: command line: {n} argument lists ({parsed} parsed, {refused} refused), no panic"
        );
    }
}
