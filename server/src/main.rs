//! `softtoken-server`: serves the token service, or manages its banks and keys.

use clap::{Parser, Subcommand};
use softtoken_core::Policy;
use softtoken_server::crypto::MasterKeys;
use softtoken_server::{app, IssueLimits, Limits, Store};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// The softtoken token service: issues tokens to apps and checks codes for banks.
///
/// With no flags it serves http://127.0.0.1:8080 with an embedded SQLite
/// database in the user's data directory.
#[derive(Debug, Parser)]
#[command(name = "softtoken-server", version)]
struct Cli {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    serve: Serve,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, clap::Args)]
struct Common {
    /// Where the SQLite database and the master key file live [default: $XDG_DATA_HOME/softtoken-server].
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// A PostgreSQL URL (postgres://user@host/db) instead of the embedded SQLite database.
    #[arg(long, global = true, env = "DATABASE_URL", value_name = "URL")]
    database: Option<String>,
}

#[derive(Debug, clap::Args)]
struct Serve {
    /// Address to listen on (port 0 picks a free port; the first line of output names it).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// TLS certificate chain (PEM); with --tls-key, serves HTTPS.
    #[arg(long, requires = "tls_key", value_name = "FILE")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, requires = "tls_cert", value_name = "FILE")]
    tls_key: Option<PathBuf>,
    /// Plain HTTP behind a TLS-terminating proxy the operator runs (client addresses from X-Forwarded-For).
    #[arg(long)]
    behind_proxy: bool,
    /// Serve plain HTTP on a non-loopback address without a proxy (secrets travel unencrypted).
    #[arg(long)]
    insecure_http: bool,
    /// Consecutive wrong codes that lock a contract (1-100).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=100))]
    lockout: u32,
    /// Tokens each client address may be issued per minute.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    issue_per_minute: u32,
    /// Tokens each client address may be issued at once.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    issue_burst: u32,
    /// Database connections [default: 1 for SQLite, 16 for PostgreSQL].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pool_size: Option<u32>,
    /// Seconds a request may take before a 503.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    request_timeout: u64,
    /// Largest request body in bytes.
    #[arg(long, default_value_t = 16384, value_parser = clap::value_parser!(u64).range(64..=1048576))]
    max_body: u64,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Adds a bank and prints its bank key and branch key (shown once only).
    AddBank {
        /// The bank's name.
        name: String,
        /// Print {"bank_key": …, "branch_key": …} for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Lists the banks.
    ListBanks,
    /// Re-encrypts every token secret with a new master key.
    RotateMasterKey {
        /// Then drop the old keys from the key file.
        #[arg(long)]
        retire_old: bool,
    },
    /// Takes a token from outside (an otpauth:// URI with a secret of at least 16 bytes).
    ImportToken {
        /// The key URI; its account must be the serial.
        uri: String,
    },
}

fn default_data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("softtoken-server");
    }
    if let Some(home) = std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(home).join(".local/share/softtoken-server");
    }
    PathBuf::from("softtoken-server-data")
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("softtoken-server: {message}");
    ExitCode::FAILURE
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SOFTTOKEN_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(format!("could not start the runtime: {e}")),
    };
    runtime.block_on(run(cli))
}

/// Creates the data directory (and any missing parent) readable by its owner alone: it holds
/// the database and the master key. An existing directory is left as the operator set it.
fn create_data_dir(dir: &std::path::Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

async fn run(cli: Cli) -> ExitCode {
    let data_dir = cli.common.data_dir.clone().unwrap_or_else(default_data_dir);
    if let Err(e) = create_data_dir(&data_dir) {
        return fail(format!(
            "cannot create the data directory {}: {e}",
            data_dir.display()
        ));
    }
    let key_path = data_dir.join("master.key");
    let (keys, created) = match MasterKeys::load_or_create(&key_path) {
        Ok(k) => k,
        Err(e) => return fail(e),
    };
    if created {
        eprintln!("created master key file {} (mode 0600): keep it, and back it up apart from the database", key_path.display());
    }
    let (url, what) = match &cli.common.database {
        Some(url) => (url.clone(), "PostgreSQL".to_string()),
        None => {
            let file = data_dir.join("softtoken.db");
            let existed = file.exists();
            let what = format!("SQLite {}", file.display());
            if !existed {
                eprintln!("creating SQLite database {} (WAL)", file.display());
            }
            (format!("sqlite://{}?mode=rwc", file.display()), what)
        }
    };
    let pool_size = cli
        .serve
        .pool_size
        .unwrap_or(if cli.common.database.is_some() { 16 } else { 1 });
    let policy = match Policy::new(1, 1, cli.serve.lockout, 5) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let store = match Store::connect(&url, keys, policy, pool_size).await {
        Ok(s) => Arc::new(s),
        Err(e) => return fail(format!("{what}: {e}")),
    };
    let code = match cli.command {
        Some(Command::AddBank { name, json }) => {
            match store.add_bank(&name).await {
                Ok((bank_key, branch_key)) => {
                    if json {
                        println!(
                            "{}",
                            serde_json::json!({"bank_key": bank_key.as_str(), "branch_key": branch_key.as_str()})
                        );
                    } else {
                        println!("bank '{}' added. Its keys are shown once only; they are stored hashed.", name.trim());
                        println!(
                            "bank key (register, login, stop, exchange, status): {}",
                            bank_key.as_str()
                        );
                        println!(
                            "branch key (unlock, unbind, suspend, resume, audit): {}",
                            branch_key.as_str()
                        );
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e),
            }
        }
        Some(Command::ListBanks) => match store.list_banks().await {
            Ok(banks) => {
                if banks.is_empty() {
                    println!("no banks yet: add one with `softtoken-server add-bank NAME`");
                }
                for b in banks {
                    println!(
                        "{}\t{}\t{} contracts\tadded {}",
                        b.id, b.name, b.contracts, b.created
                    );
                }
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        },
        Some(Command::RotateMasterKey { retire_old }) => {
            match store.rotate_master_key(retire_old).await {
                Ok((id, n)) => {
                    println!(
                        "master key {id} is current; {n} secrets re-encrypted with it{}",
                        if retire_old {
                            "; old keys dropped"
                        } else {
                            "; old keys kept in the file (--retire-old drops them)"
                        }
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e),
            }
        }
        Some(Command::ImportToken { uri }) => match store.import(&uri).await {
            Ok(serial) => {
                println!("token {serial} recorded");
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        },
        None => serve(cli.serve, store.clone(), &what).await,
    };
    store.close().await;
    code
}

async fn serve(opts: Serve, store: Arc<Store>, what: &str) -> ExitCode {
    let tls = match (&opts.tls_cert, &opts.tls_key) {
        (Some(c), Some(k)) => Some((c.clone(), k.clone())),
        _ => None,
    };
    let loopback = opts.listen.ip().is_loopback();
    if tls.is_none() && !loopback && !opts.behind_proxy && !opts.insecure_http {
        return fail(format!(
            "refusing plain HTTP on {}: secrets travel only over TLS. Use --tls-cert/--tls-key, \
             --behind-proxy (a TLS-terminating proxy in front), or --insecure-http",
            opts.listen
        ));
    }
    let listener = match std::net::TcpListener::bind(opts.listen) {
        Ok(l) => l,
        Err(e) => return fail(format!("cannot listen on {}: {e}", opts.listen)),
    };
    let addr = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => return fail(e),
    };
    if let Err(e) = listener.set_nonblocking(true) {
        return fail(e);
    }
    let mode = match (&tls, opts.behind_proxy, loopback) {
        (Some(_), _, _) => "TLS",
        (None, true, _) => "plain HTTP behind a TLS-terminating proxy",
        (None, false, true) => "plain HTTP on loopback only",
        (None, false, false) => "INSECURE plain HTTP (--insecure-http)",
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!("listening on {scheme}://{addr} ({mode}; database: {what})");
    let _ = std::io::stdout().flush();
    let limits = Limits {
        max_body: usize::try_from(opts.max_body).unwrap_or(16384),
        timeout: Duration::from_secs(opts.request_timeout),
    };
    let issue = IssueLimits {
        per_minute: opts.issue_per_minute,
        burst: opts.issue_burst,
    };
    let service = app(store, issue, limits, opts.behind_proxy);
    let result = match tls {
        Some((cert, key)) => {
            let _ = rustls::crypto::ring::default_provider().install_default();
            let config =
                match axum_server::tls_rustls::RustlsConfig::from_pem_file(&cert, &key).await {
                    Ok(c) => c,
                    Err(e) => return fail(format!("cannot load the TLS certificate or key: {e}")),
                };
            let handle = axum_server::Handle::new();
            let h = handle.clone();
            tokio::spawn(async move {
                shutdown_signal().await;
                h.graceful_shutdown(Some(Duration::from_secs(5)));
            });
            axum_server::from_tcp_rustls(listener, config)
                .handle(handle)
                .serve(service)
                .await
        }
        None => match tokio::net::TcpListener::from_std(listener) {
            Ok(l) => {
                axum::serve(l, service)
                    .with_graceful_shutdown(shutdown_signal())
                    .await
            }
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(format!("the server stopped: {e}")),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_new_data_directory_is_the_owners_alone() {
        use std::os::unix::fs::PermissionsExt;
        let base = tempfile::tempdir().expect("temp dir");
        let dir = base.path().join("data").join("softtoken-server");
        create_data_dir(&dir).expect("created");
        for path in [dir.as_path(), base.path().join("data").as_path()] {
            let mode = std::fs::metadata(path)
                .expect("metadata")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o700, "{}", path.display());
        }
        // Again on the existing directory: no error.
        create_data_dir(&dir).expect("exists");
    }
}
