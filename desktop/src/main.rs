//! `softtoken`: the PC token (T1). It shows a serial number and a security code
//! that changes every 30 seconds, and makes codes for scripts like oathtool.

#![forbid(unsafe_code)]
#![warn(clippy::unwrap_used, clippy::expect_used)]

mod cli;
mod display;
mod filestore;
mod live;
mod qr;
mod service;

use clap::Parser;
use cli::{AlgorithmArg, Cli, CodeArgs, Command};
use display::Entry;
use filestore::FileStore;
use softtoken_core::otp::{Algorithm, Digits, Mode, OtpKey};
use softtoken_core::provision::service_base;
use softtoken_core::vault::VAULT_KEY;
use softtoken_core::{
    Clock, Issuer, Origin, Prefix, RecordError, Secret, SystemClock, Vault, VaultError,
};
use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use zeroize::Zeroizing;

type DesktopVault = Vault<FileStore, SystemClock>;

/// A failure, with the exit code it earns.
#[derive(Debug, thiserror::Error)]
enum Failure {
    /// The command line was wrong (exit 2).
    #[error("{0}")]
    Usage(String),
    /// Anything else (exit 1).
    #[error("{0}")]
    Other(String),
}

impl From<VaultError> for Failure {
    fn from(e: VaultError) -> Self {
        Failure::Other(e.to_string())
    }
}

fn store_dir(cli: &Cli) -> Result<PathBuf, Failure> {
    cli.store.clone().or_else(FileStore::default_dir).ok_or_else(|| {
        Failure::Other("cannot find a data directory (HOME is not set): choose one with --store PATH or SOFTTOKEN_STORE".into())
    })
}

fn open(cli: &Cli) -> Result<DesktopVault, Failure> {
    let store = FileStore::new(store_dir(cli)?);
    let path = store.path_of(VAULT_KEY);
    Vault::open(store, SystemClock, Issuer::new(Prefix::DESKTOP)).map_err(|e| match e {
        VaultError::Record(RecordError::NewerVersion { .. }) => {
            Failure::Other(format!("{}: {e}", path.display()))
        }
        VaultError::Record(_) => Failure::Other(format!(
            "{}: {e} (for example: mv '{p}' '{p}.damaged')",
            path.display(),
            p = path.display()
        )),
        other => other.into(),
    })
}

/// Opens the vault and gets the first token when it is empty (the first run, T2): from the token
/// service when one is configured, else issued here.
fn open_with_token(cli: &Cli) -> Result<DesktopVault, Failure> {
    let service = service(cli)?;
    let mut vault = open(cli)?;
    if vault.is_empty() {
        service::first_token(&mut vault, service.as_deref())?;
    }
    Ok(vault)
}

/// The token service's URL from `--service` or `SOFTTOKEN_SERVICE`, checked, when one is set.
fn service(cli: &Cli) -> Result<Option<String>, Failure> {
    service::configured(cli.service.as_deref())
        .map(|url| service_base(url).map_err(|e| Failure::Usage(e.to_string())))
        .transpose()
}

/// The token service's URL, which `provision` and `sync-time` need.
fn service_url(cli: &Cli) -> Result<String, Failure> {
    service(cli)?.ok_or_else(|| {
        Failure::Usage(
            "no token service configured: pass --service URL or set SOFTTOKEN_SERVICE".into(),
        )
    })
}

fn provision(cli: &Cli) -> Result<(), Failure> {
    let url = service_url(cli)?;
    let mut vault = open(cli)?;
    let token = service::provision(&mut vault, &url)?;
    println!(
        "Got token {} from the token service at {url}. Register it with your bank.",
        token.serial
    );
    Ok(())
}

fn sync_time(cli: &Cli) -> Result<(), Failure> {
    let url = service_url(cli)?;
    let mut vault = open(cli)?;
    let offset = vault.sync_time(&url, &service::UreqTransport::new())?;
    println!("Clock offset: {offset:+} s (from the token service at {url})");
    Ok(())
}

/// Every token with its TOTP code at `time` (HOTP codes are not drawn, as that would use them up).
fn entries(vault: &DesktopVault, time: u64) -> Result<Vec<Entry>, Failure> {
    vault
        .tokens()
        .into_iter()
        .map(|info| {
            let code = match info.params.mode {
                Mode::Totp { .. } => Some(vault.code_at(info.serial.as_str(), time)?),
                Mode::Hotp { .. } => None,
            };
            Ok(Entry { info, code })
        })
        .collect()
}

fn run_default(cli: &Cli) -> Result<(), Failure> {
    let vault = open_with_token(cli)?;
    if std::io::stdout().is_terminal() {
        live::run(|| {
            let now = vault.now()?;
            entries(&vault, now)
        })
    } else {
        for line in display::plain(&entries(&vault, vault.now()?)?) {
            println!("{line}");
        }
        Ok(())
    }
}

fn show(cli: &Cli, serial: Option<&str>, json: bool) -> Result<(), Failure> {
    let mut vault = open_with_token(cli)?;
    let now = vault.now()?;
    let shown = match serial {
        Some(serial) => {
            let info = vault.token(serial)?;
            // Showing one counter-based token uses its next code, as pressing a hardware token's button does.
            let code = Some(match info.params.mode {
                Mode::Totp { .. } => vault.code_at(serial, now)?,
                Mode::Hotp { .. } => vault.code(serial)?,
            });
            vec![Entry { info, code }]
        }
        None => entries(&vault, now)?,
    };
    if json {
        let value = match (serial, shown.as_slice()) {
            (Some(_), [one]) => display::json(one),
            _ => serde_json::Value::Array(shown.iter().map(display::json).collect()),
        };
        println!("{value}");
    } else {
        for line in display::plain(&shown) {
            println!("{line}");
        }
    }
    Ok(())
}

fn read_stdin_secret() -> Result<Zeroizing<String>, Failure> {
    let mut text = Zeroizing::new(String::new());
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| Failure::Other(format!("cannot read the secret from stdin: {e}")))?;
    Ok(text)
}

fn secret_text(args: &CodeArgs) -> Result<Zeroizing<String>, Failure> {
    match (&args.secret, &args.secret_file) {
        (Some(s), _) if s == "-" => read_stdin_secret(),
        (Some(s), _) => Ok(Zeroizing::new(s.clone())),
        (None, Some(path)) if path.as_os_str() == "-" => read_stdin_secret(),
        (None, Some(path)) => std::fs::read_to_string(path)
            .map(Zeroizing::new)
            .map_err(|e| {
                Failure::Other(format!(
                    "cannot read the secret file {}: {e}",
                    path.display()
                ))
            }),
        (None, None) => Err(Failure::Usage(
            "code needs --secret, --secret-file or --serial".into(),
        )),
    }
}

fn algorithm(arg: Option<AlgorithmArg>) -> Algorithm {
    match arg {
        Some(AlgorithmArg::Sha256) => Algorithm::Sha256,
        Some(AlgorithmArg::Sha512) => Algorithm::Sha512,
        _ => Algorithm::Sha1,
    }
}

/// One line per code: just the code, or with a window `offset code` for each neighbour.
fn window_lines(
    window: u64,
    code_at: impl Fn(u64) -> Result<String, Failure>,
    center: u64,
) -> Result<Vec<String>, Failure> {
    if window == 0 {
        return Ok(vec![code_at(center)?]);
    }
    (center.saturating_sub(window)..=center.saturating_add(window))
        .map(|n| {
            Ok(format!(
                "{:+} {}",
                i128::from(n) - i128::from(center),
                code_at(n)?
            ))
        })
        .collect()
}

fn stored_code(cli: &Cli, serial: &str, args: &CodeArgs) -> Result<Vec<String>, Failure> {
    let mut vault = open(cli)?;
    let info = vault.token(serial)?;
    match info.params.mode {
        Mode::Totp { period } => {
            let time = match args.time {
                Some(t) => t,
                None => vault.now()?,
            };
            let step = time / period;
            window_lines(
                args.window,
                |n| {
                    Ok(vault
                        .code_at(serial, n.saturating_mul(period))?
                        .value
                        .to_string())
                },
                step,
            )
        }
        Mode::Hotp { .. } if args.window > 0 => Err(Failure::Usage(
            "--window cannot be used with a stored counter-based token: it would use codes up"
                .into(),
        )),
        Mode::Hotp { .. } => Ok(vec![vault.code(serial)?.value.to_string()]),
    }
}

fn code(cli: &Cli, args: &CodeArgs) -> Result<(), Failure> {
    let lines = if let Some(serial) = &args.serial {
        stored_code(cli, serial, args)?
    } else {
        let text = secret_text(args)?;
        let secret = Secret::from_base32(text.trim()).map_err(|e| Failure::Other(e.to_string()))?;
        let digits =
            Digits::new(args.digits.unwrap_or(6)).map_err(|e| Failure::Usage(e.to_string()))?;
        let key = OtpKey::new(&secret, algorithm(args.algorithm));
        let center = match (args.hotp, args.counter) {
            (true, Some(counter)) => counter,
            _ => {
                let time = match args.time {
                    Some(t) => t,
                    None => Clock::now(&SystemClock).map_err(VaultError::from)?,
                };
                time / args.period.unwrap_or(30).max(1)
            }
        };
        window_lines(args.window, |n| Ok(key.hotp(n, digits).to_string()), center)?
    };
    let mut out = std::io::stdout().lock();
    for line in lines {
        writeln!(out, "{line}")
            .map_err(|e| Failure::Other(format!("cannot write the code: {e}")))?;
    }
    Ok(())
}

fn list(cli: &Cli, json: bool) -> Result<(), Failure> {
    let vault = open(cli)?;
    let tokens = vault.tokens();
    if json {
        let all: Vec<_> = tokens
            .into_iter()
            .map(|info| display::json(&Entry { info, code: None }))
            .collect();
        println!("{}", serde_json::Value::Array(all));
        return Ok(());
    }
    if tokens.is_empty() {
        println!("No tokens yet: run `softtoken` to issue one, or `softtoken import URI`.");
    }
    for t in tokens {
        let kind = match t.params.mode {
            Mode::Totp { period } => format!("totp {period}s"),
            Mode::Hotp { counter } => format!("hotp #{counter}"),
        };
        let origin = origin_name(t.origin);
        println!(
            "{:<16} {:<8} {} {} {:<11} {}",
            t.serial.grouped(),
            origin,
            t.params.algorithm,
            t.params.digits.get(),
            kind,
            account(&t)
        );
    }
    Ok(())
}

/// How a token came, as `list` and `show --json` say it.
fn origin_name(origin: Origin) -> &'static str {
    match origin {
        Origin::Issued => "issued",
        Origin::Imported => "imported",
        Origin::Service => "service",
    }
}

/// "Issuer: account", or the account alone.
fn account(t: &softtoken_core::TokenInfo) -> String {
    match &t.issuer {
        Some(issuer) => format!("{issuer}: {}", t.label),
        None => t.label.clone(),
    }
}

fn import(cli: &Cli, uri: &str) -> Result<(), Failure> {
    let text = if uri == "-" {
        let mut text = Zeroizing::new(String::new());
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| Failure::Other(format!("cannot read URIs from stdin: {e}")))?;
        text
    } else {
        Zeroizing::new(uri.to_string())
    };
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if lines.is_empty() {
        return Err(Failure::Usage(
            "no URI given: pass an otpauth:// URI or '-' with URIs on stdin".into(),
        ));
    }
    let mut vault = open(cli)?;
    for line in lines {
        for t in vault.import_uri(line)? {
            println!("Imported {} ({})", t.serial, account(&t));
        }
    }
    Ok(())
}

fn export(cli: &Cli, serial: &str, as_qr: bool) -> Result<(), Failure> {
    let vault = open(cli)?;
    let uri = vault.export_uri(serial)?;
    eprintln!("Warning: this reveals the token's secret. Anyone who sees it can make its codes.");
    if as_qr {
        let art = qr::render(&uri).map_err(Failure::Other)?;
        print!("{}", art.as_str());
    } else {
        println!("{}", uri.as_str());
    }
    Ok(())
}

fn confirm(question: &str) -> Result<bool, Failure> {
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Failure::Other(format!("cannot read the answer: {e}")))?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

fn delete(cli: &Cli, serial: &str, yes: bool) -> Result<(), Failure> {
    let mut vault = open(cli)?;
    let info = vault.token(serial)?;
    let question = format!(
        "Delete token {}? It cannot be recovered; stop it at your bank first (or the bank must re-issue).",
        info.serial
    );
    if !yes && !confirm(&question)? {
        return Err(Failure::Other(format!(
            "token {} was not deleted (answer y, or pass --yes)",
            info.serial
        )));
    }
    let gone = vault.delete(info.serial.as_str())?;
    println!("Deleted token {}", gone.serial);
    Ok(())
}

fn reissue(cli: &Cli, serial: Option<&str>) -> Result<(), Failure> {
    let mut vault = open(cli)?;
    let old = match serial {
        Some(s) => vault.token(s)?,
        None => vault
            .tokens()
            .into_iter()
            .find(|t| t.origin == Origin::Issued)
            .ok_or_else(|| {
                Failure::Other(
                    "there is no token issued on this PC to replace: run `softtoken` to issue one (a token from the token service is replaced with `softtoken provision`)".into(),
                )
            })?,
    };
    let new = vault.reissue(old.serial.as_str())?;
    println!(
        "Token {} was replaced by {}. Register {} with your bank.",
        old.serial, new.serial, new.serial
    );
    Ok(())
}

fn clock_offset(cli: &Cli, seconds: Option<i64>) -> Result<(), Failure> {
    let mut vault = open(cli)?;
    if let Some(s) = seconds {
        vault.set_clock_offset(s)?;
    }
    println!("Clock offset: {:+} s", vault.clock_offset());
    Ok(())
}

fn run(cli: &Cli) -> Result<(), Failure> {
    match &cli.command {
        None => run_default(cli),
        Some(Command::Show { serial, json }) => show(cli, serial.as_deref(), *json),
        Some(Command::Code(args)) => code(cli, args),
        Some(Command::List { json }) => list(cli, *json),
        Some(Command::Import { uri }) => import(cli, uri),
        Some(Command::Export { serial, qr }) => export(cli, serial, *qr),
        Some(Command::Delete { serial, yes }) => delete(cli, serial, *yes),
        Some(Command::Reissue { serial }) => reissue(cli, serial.as_deref()),
        Some(Command::ClockOffset { seconds }) => clock_offset(cli, *seconds),
        Some(Command::Provision) => provision(cli),
        Some(Command::SyncTime) => sync_time(cli),
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // clap's message, up to its usage block, on one line.
            let rendered = e.render().to_string();
            let message: Vec<&str> = rendered
                .lines()
                .take_while(|l| !l.trim().is_empty())
                .map(str::trim)
                .collect();
            let message = message.join(" ");
            let message = message.strip_prefix("error: ").unwrap_or(&message);
            eprintln!("softtoken: {message} (see softtoken --help)");
            return ExitCode::from(2);
        }
    };
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(message)) => {
            eprintln!("softtoken: {message} (see softtoken --help)");
            ExitCode::from(2)
        }
        Err(Failure::Other(message)) => {
            eprintln!("softtoken: {message}");
            ExitCode::from(1)
        }
    }
}
