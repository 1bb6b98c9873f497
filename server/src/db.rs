//! The database: banks, tokens (encrypted secrets, replay memory and drift),
//! contracts and the audit log, on SQLite or PostgreSQL through `sqlx::Any`
//! (the same SQL for both, `$n` parameters). Every decision is the core's
//! (`softtoken_core::rules`); this module loads the rows an operation needs,
//! locked in one transaction (PostgreSQL: `SELECT … FOR UPDATE`, the contract
//! row first, then the token rows in serial order; SQLite: `BEGIN IMMEDIATE`),
//! applies the decision and stores the result with its audit record, so any
//! number of server processes on one database keep every guarantee.
//! On PostgreSQL a login or stop for an active contract first goes without a
//! transaction: it starts from what this process last wrote for the contract
//! (else one read), decides, and one statement writes the decision only if
//! both rows still hold what it decided on (locked and compared), else it
//! reads again; after a few tries the locking path answers.

use crate::crypto::{self, KeyError, MasterKeys};
use softtoken_core::directory::Entry;
use softtoken_core::ledger::{Binding, BindingState, TokenMemory};
use softtoken_core::rules::{self, Decision, Side};
use softtoken_core::{
    input, Algorithm, Clock, Credential, Digits, Issuer, KeyUri, OtpParams, Outcome, Policy,
    Prefix, Secret, Serial, SystemClock,
};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, Row, Transaction};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use thiserror::Error;
use zeroize::Zeroizing;

#[path = "console/seal.rs"]
mod console_seal;

/// Why the store could not answer.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The database cannot be reached or failed.
    #[error("the database is unavailable: {0}; try again shortly")]
    Unavailable(String),
    /// A master key problem.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A stored row that does not make sense.
    #[error("the database holds a damaged record: {0}")]
    Damaged(String),
    /// A request the store refuses (e.g. a bank name taken).
    #[error("{0}")]
    Refused(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Unavailable(e.to_string())
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError::Unavailable(format!("migrating the schema failed: {e}"))
    }
}

/// Which database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

impl Backend {
    /// The backend a URL names.
    pub fn of(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
}

/// A bank as the keys identify it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BankId(pub i64);

/// Which of a bank's keys was shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The bank's systems: register, login, stop, exchange, status.
    Bank,
    /// The bank's branch staff: unlock, unbind, suspend, resume, audit.
    Branch,
}

/// A freshly issued token, for the app.
pub struct Issued {
    /// The serial.
    pub serial: String,
    /// The secret in base32.
    pub secret: Zeroizing<String>,
    /// The code parameters.
    pub params: OtpParams,
    /// The key URI.
    pub key_uri: Zeroizing<String>,
}

/// An answer to a bank: the outcome and, where it concerns failures, the attempts left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply {
    /// What happened.
    pub outcome: Outcome,
    /// Attempts left before lockout, when the contract has a record.
    pub attempts_left: Option<u32>,
}

/// A contract's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractStatus {
    /// The contract.
    pub contract: String,
    /// The bound serial.
    pub serial: Option<String>,
    /// Where it stands.
    pub state: BindingState,
    /// Consecutive failures.
    pub failures: u32,
    /// Attempts left.
    pub attempts_left: u32,
}

/// One audit record: never a code, never anything typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Unix time.
    pub time: i64,
    /// The operation.
    pub event: String,
    /// Its outcome.
    pub outcome: String,
    /// The branch staff member named.
    pub staff: Option<String>,
    /// The serial concerned (a known one only).
    pub serial: Option<String>,
}

/// A bank as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankInfo {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Unix time added.
    pub created: i64,
    /// Contracts it has.
    pub contracts: i64,
}

/// The operations, as the audit log names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// B1.
    Register,
    /// B2.
    Login,
    /// B3.
    Stop,
    /// B6.
    Exchange,
    /// B4.
    Unlock,
    /// B5, B7.
    Unbind,
    /// B9.
    Suspend,
    /// B9.
    Resume,
}

impl Event {
    /// The name in the audit log and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Event::Register => "register",
            Event::Login => "login",
            Event::Stop => "stop",
            Event::Exchange => "exchange",
            Event::Unlock => "unlock",
            Event::Unbind => "unbind",
            Event::Suspend => "suspend",
            Event::Resume => "resume",
        }
    }
}

const KEY_CACHE_TTL: Duration = Duration::from_secs(30);
const ENTRY_CACHE_MAX: usize = 200_000;
const SERIAL_DRAWS: u32 = 16;
/// The shortest secret the service takes from outside (RFC 4226 R6).
pub const MIN_SECRET_BYTES: usize = 16;

/// The service's state in a database.
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    keys: RwLock<Arc<MasterKeys>>,
    key_path: PathBuf,
    entries: RwLock<HashMap<String, Arc<Entry>>>,
    api_keys: RwLock<HashMap<String, (BankId, Role, Instant)>>,
    /// PostgreSQL: what this process last wrote for an active contract and its token, so the
    /// next code check can skip its read; the check's conditional write finds it out when
    /// anything (another process, another contract of the token) changed the rows since.
    known: RwLock<HashMap<(i64, String), (Binding, TokenRow)>>,
    policy: Policy,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

type Tx = Transaction<'static, Any>;

fn u32_of(v: i64) -> u32 {
    u32::try_from(v.max(0)).unwrap_or(u32::MAX)
}

/// The forms of a typed serial to look up: as typed (trimmed), then normalised.
fn serial_candidates(typed: &str) -> Vec<String> {
    let trimmed = typed.trim().to_string();
    let normalized = input::normalize(typed);
    if normalized != trimmed && !normalized.is_empty() {
        vec![trimmed, normalized]
    } else {
        vec![trimmed]
    }
}

fn binding_of(contract: &str, row: &AnyRow) -> Result<Binding, StoreError> {
    let state: String = row.try_get("state")?;
    let suspended_from: Option<String> = row.try_get("suspended_from")?;
    let failures: i64 = row.try_get("failures")?;
    Ok(Binding {
        contract: contract.to_string(),
        serial: row.try_get("serial")?,
        state: BindingState::from_name(&state)
            .ok_or_else(|| StoreError::Damaged(format!("contract state '{state}'")))?,
        suspended_from: match suspended_from {
            Some(s) => Some(
                BindingState::from_name(&s)
                    .ok_or_else(|| StoreError::Damaged(format!("contract state '{s}'")))?,
            ),
            None => None,
        },
        failures: u32_of(failures),
    })
}

/// Reads and conditional writes a code check tries before it locks the rows for the rest.
const UNLOCKED_TRIES: usize = 4;

/// What an unlocked code check came to.
enum Unlocked {
    /// Decided and written.
    Done(Reply),
    /// The contract or its token changed between the read and the write: nothing was written.
    Changed,
    /// Not an active contract with a bound token: the locking path answers.
    NotBound,
}

/// The most contracts [`Store`] remembers the state of at once.
const KNOWN_CONTRACTS: usize = 100_000;

/// A token row: its memory and credential.
#[derive(Clone)]
struct TokenRow {
    serial: String,
    memory: TokenMemory,
    entry: Arc<Entry>,
}

impl Store {
    /// Connects (creating an SQLite file if needed), migrates the schema, and loads the master keys.
    pub async fn connect(
        url: &str,
        keys: MasterKeys,
        policy: Policy,
        pool_size: u32,
    ) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of(url).ok_or_else(|| {
            StoreError::Refused(format!(
                "'{url}' is not a database URL: use postgres://user@host/db or sqlite://path"
            ))
        })?;
        let pool = AnyPoolOptions::new()
            .max_connections(pool_size.max(1))
            .min_connections(0)
            .acquire_timeout(Duration::from_secs(3))
            // No ping before each use, which would cost every statement a round trip: a
            // connection the database dropped fails its statement (a 503 "try again") and is
            // closed, not returned to the pool.
            .test_before_acquire(false)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL: readers never wait for the writer; NORMAL sync is durable
                        // across a killed process (a power cut may lose the last commits).
                        for pragma in [
                            "PRAGMA journal_mode = WAL",
                            "PRAGMA synchronous = NORMAL",
                            "PRAGMA foreign_keys = ON",
                            "PRAGMA busy_timeout = 5000",
                        ] {
                            sqlx::Executor::execute(&mut *conn, pragma).await?;
                        }
                    }
                    Ok(())
                })
            })
            .connect(url)
            .await?;
        match backend {
            Backend::Sqlite => sqlx::migrate!("migrations/sqlite").run(&pool).await?,
            Backend::Postgres => sqlx::migrate!("migrations/postgres").run(&pool).await?,
        }
        Ok(Self {
            pool,
            backend,
            key_path: keys.path().to_path_buf(),
            keys: RwLock::new(Arc::new(keys)),
            entries: RwLock::new(HashMap::new()),
            api_keys: RwLock::new(HashMap::new()),
            known: RwLock::new(HashMap::new()),
            policy,
            clock: Arc::new(SystemClock),
        })
    }

    /// The same store on another clock (tests drive time with a manual clock).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The time now on the store's clock, in Unix seconds.
    pub fn now(&self) -> u64 {
        self.clock.now().unwrap_or(0)
    }

    fn now_i64(&self) -> i64 {
        i64::try_from(self.now()).unwrap_or(i64::MAX)
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The policy in force.
    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    fn keys(&self) -> Arc<MasterKeys> {
        self.keys
            .read()
            .map(|k| k.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// The master keys, re-read from the file when `id` is not among them (another process rotated).
    fn keys_with(&self, id: i64) -> Result<Arc<MasterKeys>, StoreError> {
        let keys = self.keys();
        if keys.has(id) {
            return Ok(keys);
        }
        let fresh = Arc::new(MasterKeys::load(&self.key_path)?);
        if let Ok(mut slot) = self.keys.write() {
            *slot = fresh.clone();
        }
        Ok(fresh)
    }

    async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    fn for_update(&self) -> &'static str {
        match self.backend {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        }
    }

    // ---- banks and keys ----

    /// Adds a bank; returns its bank key and branch key (shown once, stored hashed).
    pub async fn add_bank(
        &self,
        name: &str,
    ) -> Result<(Zeroizing<String>, Zeroizing<String>), StoreError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(StoreError::Refused(
                "a bank name is 1 to 100 printable characters".into(),
            ));
        }
        let bank_key = crypto::new_api_key("stb")?;
        let branch_key = crypto::new_api_key("stbr")?;
        let taken = sqlx::query("SELECT id FROM banks WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        if taken.is_some() {
            return Err(StoreError::Refused(format!(
                "a bank named '{name}' already exists: choose another name"
            )));
        }
        sqlx::query(
            "INSERT INTO banks (name, bank_key_hash, branch_key_hash, created) VALUES ($1, $2, $3, $4)",
        )
        .bind(name)
        .bind(crypto::hash_api_key(&bank_key))
        .bind(crypto::hash_api_key(&branch_key))
        .bind(self.now_i64())
        .execute(&self.pool)
        .await?;
        Ok((bank_key, branch_key))
    }

    /// Every bank, with its number of contracts.
    pub async fn list_banks(&self) -> Result<Vec<BankInfo>, StoreError> {
        let rows = sqlx::query(
            "SELECT b.id AS id, b.name AS name, b.created AS created, \
             (SELECT COUNT(*) FROM contracts c WHERE c.bank_id = b.id) AS contracts \
             FROM banks b ORDER BY b.id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(BankInfo {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    created: r.try_get("created")?,
                    contracts: r.try_get("contracts")?,
                })
            })
            .collect()
    }

    /// The bank and role an API key belongs to.
    pub async fn authenticate(&self, key: &str) -> Result<Option<(BankId, Role)>, StoreError> {
        let hash = crypto::hash_api_key(key);
        if let Ok(cache) = self.api_keys.read() {
            if let Some((bank, role, at)) = cache.get(&hash) {
                if at.elapsed() < KEY_CACHE_TTL {
                    return Ok(Some((*bank, *role)));
                }
            }
        }
        let row = sqlx::query(
            "SELECT id, bank_key_hash FROM banks WHERE bank_key_hash = $1 OR branch_key_hash = $1",
        )
        .bind(&hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let bank = BankId(row.try_get("id")?);
        let bank_hash: String = row.try_get("bank_key_hash")?;
        let role = if bank_hash == hash {
            Role::Bank
        } else {
            Role::Branch
        };
        if let Ok(mut cache) = self.api_keys.write() {
            if cache.len() > 10_000 {
                cache.clear();
            }
            cache.insert(hash, (bank, role, Instant::now()));
        }
        Ok(Some((bank, role)))
    }

    // ---- tokens ----

    /// Issues a token: a serial unique in the database (retried on a clash), a fresh 20-byte secret.
    pub async fn issue(&self, prefix: Prefix) -> Result<Issued, StoreError> {
        let issuer = Issuer::new(prefix);
        for _ in 0..SERIAL_DRAWS {
            let credential = issuer
                .mint(|_| false)
                .map_err(|e| StoreError::Refused(e.to_string()))?;
            if self.insert_token(&credential).await? {
                return Self::issued(credential);
            }
        }
        Err(StoreError::Refused(format!(
            "no unused serial found with prefix {prefix} after {SERIAL_DRAWS} draws"
        )))
    }

    fn issued(credential: Credential) -> Result<Issued, StoreError> {
        let serial = credential.serial.as_str().to_string();
        let secret = credential.secret.to_base32();
        let uri = KeyUri::new(
            credential.secret.clone(),
            credential.params,
            Some(softtoken_core::issuer::ISSUER_NAME.into()),
            serial.clone(),
        )
        .map_err(|e| StoreError::Damaged(e.to_string()))?;
        Ok(Issued {
            serial,
            secret,
            params: credential.params,
            key_uri: uri.to_uri(),
        })
    }

    /// Records a token taken from outside (a key URI): TOTP with a secret of at least 16 bytes.
    pub async fn import(&self, uri: &str) -> Result<String, StoreError> {
        let key = KeyUri::parse(uri).map_err(|e| StoreError::Refused(e.to_string()))?;
        let credential =
            Credential::try_from(key).map_err(|e| StoreError::Refused(e.to_string()))?;
        if credential.secret.len() < MIN_SECRET_BYTES {
            return Err(StoreError::Refused(format!(
                "the secret is {} bytes: the service takes tokens with secrets of at least {MIN_SECRET_BYTES} bytes (RFC 4226 R6)",
                credential.secret.len()
            )));
        }
        Entry::new(credential.clone()).map_err(|e| StoreError::Refused(e.to_string()))?;
        let serial = credential.serial.as_str().to_string();
        if !self.insert_token(&credential).await? {
            return Err(StoreError::Refused(format!(
                "serial {serial} is already in the service"
            )));
        }
        Ok(serial)
    }

    /// Inserts a token; `false` when the serial is taken (the UNIQUE key refused it).
    async fn insert_token(&self, c: &Credential) -> Result<bool, StoreError> {
        let serial = c.serial.as_str();
        let (sealed, key_id) = self.keys().encrypt(serial, c.secret.expose())?;
        let period = c.params.period().unwrap_or(30);
        let done = sqlx::query(
            "INSERT INTO tokens (serial, secret, key_id, algorithm, digits, period, drift, created) \
             VALUES ($1, $2, $3, $4, $5, $6, 0, $7) ON CONFLICT (serial) DO NOTHING",
        )
        .bind(serial)
        .bind(sealed)
        .bind(key_id)
        .bind(c.params.algorithm.name())
        .bind(i64::from(c.params.digits.get()))
        .bind(period as i64)
        .bind(self.now_i64())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The credential of a token row: from the cache (a serial's secret never changes), else decrypted.
    fn entry_of(&self, serial: &str, row: &AnyRow) -> Result<Arc<Entry>, StoreError> {
        if let Some(e) = self
            .entries
            .read()
            .ok()
            .and_then(|m| m.get(serial).cloned())
        {
            return Ok(e);
        }
        let sealed: Vec<u8> = row.try_get("secret")?;
        let key_id: i64 = row.try_get("key_id")?;
        let algorithm: String = row.try_get("algorithm")?;
        let digits: i64 = row.try_get("digits")?;
        let period: i64 = row.try_get("period")?;
        let secret = self.keys_with(key_id)?.decrypt(serial, &sealed, key_id)?;
        let damaged = |what: String| StoreError::Damaged(format!("token {serial}: {what}"));
        let params = OtpParams::totp(
            Algorithm::from_name(&algorithm).map_err(|e| damaged(e.to_string()))?,
            Digits::new(u64::try_from(digits).unwrap_or(0)).map_err(|e| damaged(e.to_string()))?,
            u64::try_from(period).unwrap_or(0),
        )
        .map_err(|e| damaged(e.to_string()))?;
        let serial_value = Serial::parse(serial)
            .ok()
            .filter(|s| s.as_str() == serial)
            .map_or_else(|| Serial::foreign(serial), Ok)
            .map_err(|e| damaged(e.to_string()))?;
        let credential = Credential {
            serial: serial_value,
            secret: Secret::from_bytes(&secret).map_err(|e| damaged(e.to_string()))?,
            params,
        };
        let entry = Arc::new(Entry::new(credential).map_err(|e| damaged(e.to_string()))?);
        if let Ok(mut map) = self.entries.write() {
            if map.len() >= ENTRY_CACHE_MAX {
                map.clear();
            }
            map.insert(serial.to_string(), entry.clone());
        }
        Ok(entry)
    }

    /// Locks and reads a token row by its exact serial.
    async fn lock_token(&self, tx: &mut Tx, serial: &str) -> Result<Option<TokenRow>, StoreError> {
        let sql = format!(
            "SELECT serial, last_step, drift, secret, key_id, algorithm, digits, period \
             FROM tokens WHERE serial = $1{}",
            self.for_update()
        );
        let Some(row) = sqlx::query(&sql)
            .bind(serial)
            .fetch_optional(&mut **tx)
            .await?
        else {
            return Ok(None);
        };
        let last_step: Option<i64> = row.try_get("last_step")?;
        let drift: i64 = row.try_get("drift")?;
        Ok(Some(TokenRow {
            serial: serial.to_string(),
            memory: TokenMemory {
                last_step: last_step.map(|s| s.max(0) as u64),
                drift,
            },
            entry: self.entry_of(serial, &row)?,
        }))
    }

    /// The stored form of a typed serial, if such a token exists (serials never change, so no lock).
    async fn resolve_serial(&self, tx: &mut Tx, typed: &str) -> Result<Option<String>, StoreError> {
        for candidate in serial_candidates(typed) {
            if candidate.is_empty() || candidate.chars().count() > 64 {
                continue;
            }
            let found = sqlx::query("SELECT serial FROM tokens WHERE serial = $1")
                .bind(&candidate)
                .fetch_optional(&mut **tx)
                .await?;
            if found.is_some() {
                return Ok(Some(candidate));
            }
        }
        Ok(None)
    }

    async fn save_token(
        &self,
        tx: &mut Tx,
        serial: &str,
        m: TokenMemory,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE tokens SET last_step = $2, drift = $3 WHERE serial = $1")
            .bind(serial)
            .bind(m.last_step.map(|s| s as i64))
            .bind(m.drift)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    // ---- contracts ----

    async fn lock_contract(
        &self,
        tx: &mut Tx,
        bank: BankId,
        contract: &str,
    ) -> Result<Option<Binding>, StoreError> {
        let sql = format!(
            "SELECT serial, state, suspended_from, failures FROM contracts \
             WHERE bank_id = $1 AND contract = $2{}",
            self.for_update()
        );
        let row = sqlx::query(&sql)
            .bind(bank.0)
            .bind(contract)
            .fetch_optional(&mut **tx)
            .await?;
        row.map(|r| binding_of(contract, &r)).transpose()
    }

    /// The contract with its bound token in one query, when the contract is active: locked
    /// (`FOR UPDATE`, contract row first) inside a transaction, or a plain read outside one.
    fn bound_sql(&self, lock: bool) -> String {
        format!(
            "SELECT c.serial AS serial, c.state AS state, c.suspended_from AS suspended_from, \
             c.failures AS failures, t.last_step AS last_step, t.drift AS drift, t.secret AS secret, \
             t.key_id AS key_id, t.algorithm AS algorithm, t.digits AS digits, t.period AS period \
             FROM contracts c JOIN tokens t ON t.serial = c.serial \
             WHERE c.bank_id = $1 AND c.contract = $2 AND c.state = 'active'{}",
            if lock { self.for_update() } else { "" }
        )
    }

    /// The binding and token of a [`Self::bound_sql`] row.
    fn bound_of(
        &self,
        contract: &str,
        row: &AnyRow,
    ) -> Result<Option<(Binding, TokenRow)>, StoreError> {
        let binding = binding_of(contract, row)?;
        let Some(serial) = binding.serial.clone() else {
            return Ok(None);
        };
        let last_step: Option<i64> = row.try_get("last_step")?;
        let token = TokenRow {
            memory: TokenMemory {
                last_step: last_step.map(|s| s.max(0) as u64),
                drift: row.try_get("drift")?,
            },
            entry: self.entry_of(&serial, row)?,
            serial,
        };
        Ok(Some((binding, token)))
    }

    /// Locks an active contract's row and its bound token's row in one query (the contract's first).
    async fn lock_bound(
        &self,
        tx: &mut Tx,
        bank: BankId,
        contract: &str,
    ) -> Result<Option<(Binding, Option<TokenRow>)>, StoreError> {
        let Some(row) = sqlx::query(&self.bound_sql(true))
            .bind(bank.0)
            .bind(contract)
            .fetch_optional(&mut **tx)
            .await?
        else {
            return Ok(None);
        };
        Ok(self
            .bound_of(contract, &row)?
            .map(|(binding, token)| (binding, Some(token))))
    }

    /// Locks the contract's row, creating an unbound one first when there is none.
    async fn lock_or_create_contract(
        &self,
        tx: &mut Tx,
        bank: BankId,
        contract: &str,
    ) -> Result<Binding, StoreError> {
        if let Some(b) = self.lock_contract(tx, bank, contract).await? {
            return Ok(b);
        }
        sqlx::query(
            "INSERT INTO contracts (bank_id, contract, state, failures) VALUES ($1, $2, 'unbound', 0) \
             ON CONFLICT (bank_id, contract) DO NOTHING",
        )
        .bind(bank.0)
        .bind(contract)
        .execute(&mut **tx)
        .await?;
        self.lock_contract(tx, bank, contract)
            .await?
            .ok_or_else(|| StoreError::Damaged(format!("contract {contract} vanished")))
    }

    async fn save_contract(
        &self,
        tx: &mut Tx,
        bank: BankId,
        b: &Binding,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE contracts SET serial = $3, state = $4, suspended_from = $5, failures = $6 \
             WHERE bank_id = $1 AND contract = $2",
        )
        .bind(bank.0)
        .bind(&b.contract)
        .bind(b.serial.clone())
        .bind(b.state.name())
        .bind(b.suspended_from.map(|s| s.name().to_string()))
        .bind(i64::from(b.failures))
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn audit(
        &self,
        tx: &mut Tx,
        bank: BankId,
        contract: &str,
        event: Event,
        outcome: Outcome,
        staff: Option<&str>,
        serial: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO audit (bank_id, contract, time, event, outcome, staff, serial) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(bank.0)
        .bind(contract)
        .bind(self.now_i64())
        .bind(event.name())
        .bind(outcome.kind())
        .bind(staff.map(str::to_string))
        .bind(serial.map(str::to_string))
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    fn reply(&self, outcome: Outcome, binding: Option<&Binding>) -> Reply {
        let attempts_left = match outcome {
            Outcome::WrongCode { attempts_left } => Some(attempts_left),
            _ => binding.map(|b| self.policy.attempts_left(b.failures)),
        };
        Reply {
            outcome,
            attempts_left,
        }
    }

    /// Writes the contract when it changed, the audit record, and commits.
    #[allow(clippy::too_many_arguments)]
    async fn finish(
        &self,
        mut tx: Tx,
        bank: BankId,
        before: Option<&Binding>,
        after: Option<&Binding>,
        event: Event,
        outcome: Outcome,
        staff: Option<&str>,
        serial: Option<&str>,
        contract: &str,
    ) -> Result<Reply, StoreError> {
        self.forget(bank, contract);
        if let Some(after) = after {
            if before != Some(after) {
                self.save_contract(&mut tx, bank, after).await?;
            }
        }
        self.audit(&mut tx, bank, contract, event, outcome, staff, serial)
            .await?;
        tx.commit().await?;
        Ok(self.reply(outcome, after))
    }

    /// Answers `event` on a contract the bank never registered: audited, nothing else written.
    async fn not_registered(
        &self,
        tx: Tx,
        bank: BankId,
        event: Event,
        contract: &str,
    ) -> Result<Reply, StoreError> {
        self.finish(
            tx,
            bank,
            None,
            None,
            event,
            Outcome::NotRegistered,
            None,
            None,
            contract,
        )
        .await
    }

    /// B1: registers `serial` to the bank's contract with a current code.
    pub async fn register(
        &self,
        bank: BankId,
        contract: &str,
        serial: &str,
        code: &str,
    ) -> Result<Reply, StoreError> {
        let now = self.now();
        let mut tx = self.begin().await?;
        let mut binding = self
            .lock_or_create_contract(&mut tx, bank, contract)
            .await?;
        let before = binding.clone();
        let mut registered = None;
        let (decision, shown): (Decision, Option<String>) =
            if let Some(halt) = rules::register_gate(Some(&binding)) {
                (halt.into(), None)
            } else {
                let found = match self.resolve_serial(&mut tx, serial).await? {
                    Some(s) => self.lock_token(&mut tx, &s).await?,
                    None => None,
                };
                match found {
                    None => (
                        rules::register_unknown(&self.policy, &mut binding).into(),
                        None,
                    ),
                    Some(mut token) => {
                        let before_memory = token.memory;
                        let d = rules::register(
                            &self.policy,
                            &mut binding,
                            &mut token.memory,
                            &token.entry,
                            code,
                            now,
                        );
                        if token.memory != before_memory {
                            self.save_token(&mut tx, &token.serial, token.memory)
                                .await?;
                        }
                        let shown = Some(token.serial.clone());
                        registered = Some(token);
                        (d, shown)
                    }
                }
            };
        let reply = self
            .finish(
                tx,
                bank,
                Some(&before),
                Some(&binding),
                Event::Register,
                decision.outcome,
                None,
                shown.as_deref(),
                contract,
            )
            .await?;
        if let Some(token) = registered {
            self.remember(bank, binding, token);
        }
        Ok(reply)
    }

    /// B2 and B3 on PostgreSQL for an active contract, holding no lock between round trips:
    /// reads the contract and its token, decides, then one statement locks both rows, checks
    /// that neither changed since the read, writes the decision and its audit record, or writes
    /// nothing at all (`Changed`: read again). Equal values decide equally, so a write that
    /// finds the rows as they were read is the decision taken at that instant.
    async fn code_unlocked(
        &self,
        bank: BankId,
        contract: &str,
        code: &str,
        event: Event,
        now: u64,
        use_known: bool,
    ) -> Result<Unlocked, StoreError> {
        let known = use_known
            .then(|| {
                let key = (bank.0, contract.to_string());
                self.known.read().ok()?.get(&key).cloned()
            })
            .flatten();
        let found = match known {
            Some(found) => Some(found),
            None => match sqlx::query(&self.bound_sql(false))
                .bind(bank.0)
                .bind(contract)
                .fetch_optional(&self.pool)
                .await?
            {
                Some(row) => self.bound_of(contract, &row)?,
                None => None,
            },
        };
        let Some((mut binding, mut token)) = found else {
            return Ok(Unlocked::NotBound);
        };
        let (before, before_memory) = (binding.clone(), token.memory);
        let outcome = self.decide_code(event, &mut binding, Some(&mut token), code, now);
        let state_name = |s: Option<BindingState>| s.map(|s| s.name().to_string());
        let written = sqlx::query(
            "WITH seen AS MATERIALIZED (\
                SELECT 1 FROM contracts c JOIN tokens t ON t.serial = c.serial \
                WHERE c.bank_id = $1 AND c.contract = $2 AND c.serial = $3 AND c.state = $4 \
                AND c.suspended_from IS NOT DISTINCT FROM $5 AND c.failures = $6 \
                AND t.last_step IS NOT DISTINCT FROM $7 AND t.drift = $8 \
                FOR UPDATE OF c, t), \
             c AS (UPDATE contracts SET serial = $9, state = $10, suspended_from = $11, failures = $12 \
                WHERE $13 AND bank_id = $1 AND contract = $2 AND EXISTS (SELECT 1 FROM seen)), \
             t AS (UPDATE tokens SET last_step = $14, drift = $15 \
                WHERE $16 AND serial = $3 AND EXISTS (SELECT 1 FROM seen)) \
             INSERT INTO audit (bank_id, contract, time, event, outcome, staff, serial) \
             SELECT $1, $2, $17, $18, $19, NULL, $3 FROM seen",
        )
        .bind(bank.0)
        .bind(contract)
        .bind(token.serial.clone())
        .bind(before.state.name())
        .bind(state_name(before.suspended_from))
        .bind(i64::from(before.failures))
        .bind(before_memory.last_step.map(|s| s as i64))
        .bind(before_memory.drift)
        .bind(binding.serial.clone())
        .bind(binding.state.name())
        .bind(state_name(binding.suspended_from))
        .bind(i64::from(binding.failures))
        .bind(binding != before)
        .bind(token.memory.last_step.map(|s| s as i64))
        .bind(token.memory.drift)
        .bind(token.memory != before_memory)
        .bind(self.now_i64())
        .bind(event.name())
        .bind(outcome.kind())
        .execute(&self.pool)
        .await;
        match written {
            Ok(done) if done.rows_affected() == 1 => {
                let reply = self.reply(outcome, Some(&binding));
                self.remember(bank, binding, token);
                Ok(Unlocked::Done(reply))
            }
            Ok(_) => {
                self.forget(bank, contract);
                Ok(Unlocked::Changed)
            }
            // Under a stricter isolation level set for the database, a concurrent write is a
            // serialization failure or a deadlock rather than a changed row: read again too.
            Err(sqlx::Error::Database(e))
                if matches!(e.code().as_deref(), Some("40001" | "40P01")) =>
            {
                self.forget(bank, contract);
                Ok(Unlocked::Changed)
            }
            Err(e) => {
                self.forget(bank, contract);
                Err(e.into())
            }
        }
    }

    /// The outcome of a code for `event` on a contract and its bound token (`None`: the serial
    /// is unknown), both updated as the core's rules decide.
    fn decide_code(
        &self,
        event: Event,
        binding: &mut Binding,
        token: Option<&mut TokenRow>,
        code: &str,
        now: u64,
    ) -> Outcome {
        match (rules::gate(Some(binding)), token) {
            (Some(halt), _) => halt,
            (None, None) => Outcome::UnknownSerial,
            (None, Some(token)) => {
                let decide = match event {
                    Event::Stop => rules::stop,
                    _ => rules::login,
                };
                decide(
                    &self.policy,
                    binding,
                    &mut token.memory,
                    &token.entry,
                    code,
                    now,
                )
                .outcome
            }
        }
    }

    /// Keeps what was just written for a contract bound to `token` while it is active (PostgreSQL).
    fn remember(&self, bank: BankId, binding: Binding, token: TokenRow) {
        if self.backend != Backend::Postgres
            || binding.state != BindingState::Active
            || binding.serial.as_deref() != Some(token.serial.as_str())
        {
            return self.forget(bank, &binding.contract);
        }
        if let Ok(mut known) = self.known.write() {
            if known.len() >= KNOWN_CONTRACTS {
                known.clear();
            }
            known.insert((bank.0, binding.contract.clone()), (binding, token));
        }
    }

    /// Drops what this process knows of a contract (it is about to change, or did elsewhere).
    fn forget(&self, bank: BankId, contract: &str) {
        if self.backend != Backend::Postgres {
            return;
        }
        if let Ok(mut known) = self.known.write() {
            known.remove(&(bank.0, contract.to_string()));
        }
    }

    /// B2 and B3: a code of the contract's bound token.
    async fn with_code(
        &self,
        bank: BankId,
        contract: &str,
        code: &str,
        event: Event,
    ) -> Result<Reply, StoreError> {
        let now = self.now();
        if self.backend == Backend::Postgres {
            for attempt in 0..UNLOCKED_TRIES {
                match self
                    .code_unlocked(bank, contract, code, event, now, attempt == 0)
                    .await?
                {
                    Unlocked::Done(reply) => return Ok(reply),
                    Unlocked::Changed => continue,
                    Unlocked::NotBound => break,
                }
            }
        }
        let mut tx = self.begin().await?;
        // The usual case in one round trip: the contract and its bound token, both locked
        // (contract row first, as everywhere). Anything else takes the general path.
        let (mut binding, mut token) = match self.lock_bound(&mut tx, bank, contract).await? {
            Some(found) => found,
            None => {
                let Some(binding) = self.lock_contract(&mut tx, bank, contract).await? else {
                    return self.not_registered(tx, bank, event, contract).await;
                };
                let token = match (rules::gate(Some(&binding)), &binding.serial) {
                    (None, Some(s)) => self.lock_token(&mut tx, s).await?,
                    _ => None,
                };
                (binding, token)
            }
        };
        let before = binding.clone();
        let serial = binding.serial.clone();
        let before_memory = token.as_ref().map(|t| t.memory);
        let outcome = self.decide_code(event, &mut binding, token.as_mut(), code, now);
        if let Some(token) = token.filter(|t| Some(t.memory) != before_memory) {
            self.save_token(&mut tx, &token.serial, token.memory)
                .await?;
        }
        self.finish(
            tx,
            bank,
            Some(&before),
            Some(&binding),
            event,
            outcome,
            None,
            serial.as_deref(),
            contract,
        )
        .await
    }

    /// B2: a login.
    pub async fn login(
        &self,
        bank: BankId,
        contract: &str,
        code: &str,
    ) -> Result<Reply, StoreError> {
        self.with_code(bank, contract, code, Event::Login).await
    }

    /// B3: the customer stops the token with a current code.
    pub async fn stop(
        &self,
        bank: BankId,
        contract: &str,
        code: &str,
    ) -> Result<Reply, StoreError> {
        self.with_code(bank, contract, code, Event::Stop).await
    }

    /// B6: moves the contract to a new token with the old token's code and the new one's.
    pub async fn exchange(
        &self,
        bank: BankId,
        contract: &str,
        old_code: &str,
        new_serial: &str,
        new_code: &str,
    ) -> Result<Reply, StoreError> {
        let now = self.now();
        let mut tx = self.begin().await?;
        let Some(mut binding) = self.lock_contract(&mut tx, bank, contract).await? else {
            return self
                .not_registered(tx, bank, Event::Exchange, contract)
                .await;
        };
        let before = binding.clone();
        if let Some(halt) = rules::gate(Some(&binding)) {
            return self
                .finish(
                    tx,
                    bank,
                    Some(&before),
                    Some(&binding),
                    Event::Exchange,
                    halt,
                    None,
                    None,
                    contract,
                )
                .await;
        }
        let new = self.resolve_serial(&mut tx, new_serial).await?;
        let (Some(old), Some(new)) = (binding.serial.clone(), new) else {
            let outcome = rules::exchange_unknown(&self.policy, &mut binding);
            return self
                .finish(
                    tx,
                    bank,
                    Some(&before),
                    Some(&binding),
                    Event::Exchange,
                    outcome,
                    None,
                    None,
                    contract,
                )
                .await;
        };
        if old == new {
            return self
                .finish(
                    tx,
                    bank,
                    Some(&before),
                    Some(&binding),
                    Event::Exchange,
                    Outcome::AlreadyBound,
                    None,
                    Some(&new),
                    contract,
                )
                .await;
        }
        // Token rows in serial order: every transaction locks in the same order.
        let (first, second) = if old < new {
            (&old, &new)
        } else {
            (&new, &old)
        };
        let a = self.lock_token(&mut tx, first).await?;
        let b = self.lock_token(&mut tx, second).await?;
        let (Some(a), Some(b)) = (a, b) else {
            let outcome = rules::exchange_unknown(&self.policy, &mut binding);
            return self
                .finish(
                    tx,
                    bank,
                    Some(&before),
                    Some(&binding),
                    Event::Exchange,
                    outcome,
                    None,
                    None,
                    contract,
                )
                .await;
        };
        let (mut old_row, mut new_row) = if a.serial == old { (a, b) } else { (b, a) };
        let (old_before, new_before) = (old_row.memory, new_row.memory);
        let decision = rules::exchange(
            &self.policy,
            &mut binding,
            Side {
                token: &mut old_row.memory,
                entry: &old_row.entry,
                code: old_code,
            },
            Side {
                token: &mut new_row.memory,
                entry: &new_row.entry,
                code: new_code,
            },
            now,
        );
        if old_row.memory != old_before {
            self.save_token(&mut tx, &old_row.serial, old_row.memory)
                .await?;
        }
        if new_row.memory != new_before {
            self.save_token(&mut tx, &new_row.serial, new_row.memory)
                .await?;
        }
        self.finish(
            tx,
            bank,
            Some(&before),
            Some(&binding),
            Event::Exchange,
            decision.outcome,
            None,
            Some(&new),
            contract,
        )
        .await
    }

    /// B4, B5/B7, B9: the branch's actions.
    pub async fn admin(
        &self,
        bank: BankId,
        contract: &str,
        event: Event,
        staff: Option<&str>,
    ) -> Result<Reply, StoreError> {
        let mut tx = self.begin().await?;
        let mut slot = if event == Event::Suspend {
            Some(
                self.lock_or_create_contract(&mut tx, bank, contract)
                    .await?,
            )
        } else {
            self.lock_contract(&mut tx, bank, contract).await?
        };
        let before = slot.clone();
        let serial = slot.as_ref().and_then(|b| b.serial.clone());
        let outcome = match event {
            Event::Unlock => rules::unlock(slot.as_mut()),
            Event::Unbind => rules::unbind(slot.as_mut()),
            Event::Suspend => match slot.as_mut() {
                Some(b) => rules::suspend(b),
                None => Outcome::NotRegistered,
            },
            Event::Resume => rules::resume(slot.as_mut()),
            _ => Outcome::NotApplicable,
        };
        self.finish(
            tx,
            bank,
            before.as_ref(),
            slot.as_ref(),
            event,
            outcome,
            staff,
            serial.as_deref(),
            contract,
        )
        .await
    }

    /// The contract's status, or `None` when the bank has no such contract.
    pub async fn status(
        &self,
        bank: BankId,
        contract: &str,
    ) -> Result<Option<ContractStatus>, StoreError> {
        let row = sqlx::query(
            "SELECT serial, state, suspended_from, failures FROM contracts WHERE bank_id = $1 AND contract = $2",
        )
        .bind(bank.0)
        .bind(contract)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let b = binding_of(contract, &row)?;
        Ok(Some(ContractStatus {
            attempts_left: self.policy.attempts_left(b.failures),
            contract: b.contract,
            serial: b.serial,
            state: b.state,
            failures: b.failures,
        }))
    }

    /// The contract's audit history, oldest first (at most `limit` latest events).
    pub async fn audit_log(
        &self,
        bank: BankId,
        contract: &str,
        limit: i64,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT time, event, outcome, staff, serial FROM audit \
             WHERE bank_id = $1 AND contract = $2 ORDER BY id DESC LIMIT $3",
        )
        .bind(bank.0)
        .bind(contract)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut out = rows
            .iter()
            .map(|r| {
                Ok(AuditRecord {
                    time: r.try_get("time")?,
                    event: r.try_get("event")?,
                    outcome: r.try_get("outcome")?,
                    staff: r.try_get("staff")?,
                    serial: r.try_get("serial")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        out.reverse();
        Ok(out)
    }

    /// Re-encrypts every secret under `keys`' current key, in batches; returns how many.
    async fn reencrypt(&self, keys: &MasterKeys) -> Result<u64, StoreError> {
        let current = keys.current();
        let mut count = 0u64;
        loop {
            let rows = sqlx::query(
                "SELECT serial, secret, key_id FROM tokens WHERE key_id <> $1 ORDER BY serial LIMIT 500",
            )
            .bind(current)
            .fetch_all(&self.pool)
            .await?;
            if rows.is_empty() {
                return Ok(count);
            }
            let mut tx = self.pool.begin().await?;
            for row in &rows {
                let serial: String = row.try_get("serial")?;
                let sealed: Vec<u8> = row.try_get("secret")?;
                let key_id: i64 = row.try_get("key_id")?;
                let secret = keys.decrypt(&serial, &sealed, key_id)?;
                let (resealed, id) = keys.encrypt(&serial, &secret)?;
                sqlx::query(
                    "UPDATE tokens SET secret = $2, key_id = $3 WHERE serial = $1 AND key_id = $4",
                )
                .bind(&serial)
                .bind(resealed)
                .bind(id)
                .bind(key_id)
                .execute(&mut *tx)
                .await?;
                count += 1;
            }
            tx.commit().await?;
        }
    }

    /// Adds a new master key, re-encrypts every secret with it, and with `retire` drops the old keys
    /// once no secret uses them; returns the new key id and how many secrets were re-encrypted.
    pub async fn rotate_master_key(&self, retire: bool) -> Result<(i64, u64), StoreError> {
        let mut keys = MasterKeys::load(&self.key_path)?;
        let new_id = keys.add_new_key()?;
        let mut count = self.reencrypt(&keys).await?;
        if retire {
            // A server still on the old key may have written since: catch those, then drop.
            count += self.reencrypt(&keys).await?;
            keys.retain_current()?;
        }
        if let Ok(mut slot) = self.keys.write() {
            *slot = Arc::new(keys);
        }
        Ok((new_id, count))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backends_from_urls() {
        assert_eq!(Backend::of("sqlite:///tmp/x.db"), Some(Backend::Sqlite));
        assert_eq!(Backend::of("postgres://u@h/db"), Some(Backend::Postgres));
        assert_eq!(Backend::of("postgresql://u@h/db"), Some(Backend::Postgres));
        assert_eq!(Backend::of("mysql://u@h/db"), None);
    }

    #[test]
    fn typed_serials_are_looked_up_as_typed_then_normalised() {
        assert_eq!(serial_candidates(" SYMC12345678 "), ["SYMC12345678"]);
        assert_eq!(
            serial_candidates("ssta 1234 5678"),
            ["ssta 1234 5678", "SSTA12345678"]
        );
    }
}
