//! The reference sync server:
//!
//! ```text
//! offline-auth-server [OPTIONS] [DB] [ADDR]            # SQLite file (default sync-server.db)
//! offline-auth-server [OPTIONS] --postgres URL [ADDR]  # PostgreSQL (`postgres` feature)
//! ```
//!
//! Every option is also an `OFFLINE_AUTH_*` environment variable (clap's
//! `env`; `--help` lists them with their defaults): `--db`, `--addr`,
//! `--postgres`, the limits (`--max-connections N`, `--header-timeout-secs
//! S`, `--body-timeout-secs S`, `--body-idle-secs S`, `--body-budget-mib M`,
//! `--per-address-body-mib M`, the rate limits `--address-rate N`,
//! `--address-burst N`, `--device-rate N`, `--device-burst N` and
//! `--address-from-forwarded-for`; defaults in `Limits`, see the `limits`
//! module and DEPLOYMENT.md), `--drain-secs S`, the admin endpoint's
//! `--admin-token TOKEN` and `--apply-edits-queued-before-revocation`, and the
//! escrow private keys (`--escrow-key-file FILE` or `OFFLINE_AUTH_ESCROW_KEYS`), the
//! key-encryption keys (`--kek-file FILE` or `OFFLINE_AUTH_KEK`; without
//! one the keys are stored in plain bytes and a warning is logged) and
//! `--rewrap-keys`. The positional DB and
//! ADDR (kept for the scripts that call the binary so) win over the
//! environment; given with `--db` or `--addr` on the same command line they
//! are refused. A bad value is refused with a message and exit code 2.
//!
//! Logs go to stderr as text, or as JSON lines with `--log-json` (or
//! `OFFLINE_AUTH_LOG=json`); `RUST_LOG` filters them (default `info`).
//!
//! Listens on loopback (default 127.0.0.1:8787; port 0 picks a free one);
//! prints the address it bound, then serves until SIGTERM or Ctrl-C: then
//! it stops accepting (the port is closed), lets the requests in flight
//! finish for at most `--drain-secs`, and exits 0. With PostgreSQL the
//! instance keeps no state of its own: start as many as you like on the
//! same database.
//! See the library's documentation for the endpoints.

use offline_auth_server as server;

mod limit_flags;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::error::ErrorKind;
use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser};

/// offline-auth's reference sync server (SQLite, or PostgreSQL with the
/// `postgres` feature). Every option can also be given by its environment
/// variable; a command-line value wins.
#[derive(Parser, Debug)]
#[command(name = "offline-auth-server", version)]
struct Config {
    /// The SQLite database file, as the first positional argument (same as
    /// --db). With --postgres the only positional argument is ADDR.
    #[arg(value_name = "DB")]
    db_positional: Option<String>,
    /// The address to listen on, as the second positional argument (same as --addr).
    #[arg(value_name = "ADDR")]
    addr_positional: Option<SocketAddr>,
    /// The SQLite database file (created if missing).
    #[arg(long, env = "OFFLINE_AUTH_DB", value_name = "FILE", default_value = "sync-server.db")]
    db: PathBuf,
    /// The address to listen on: loopback only (put a TLS proxy in front); port 0 picks a free one.
    #[arg(long, env = "OFFLINE_AUTH_ADDR", value_name = "ADDR", default_value = "127.0.0.1:8787")]
    addr: SocketAddr,
    /// A PostgreSQL URL instead of SQLite (needs the `postgres` feature).
    #[arg(long, env = "OFFLINE_AUTH_POSTGRES", value_name = "URL", hide_env_values = true)]
    postgres: Option<String>,
    /// The connection, body, drain and rate limits (`limit_flags.rs`).
    #[command(flatten)]
    limits: limit_flags::LimitFlags,
    /// The bearer token of the admin endpoint (`POST /admin/devices/{id}/revoke`);
    /// without one the endpoint is off. At least 22 bytes, no spaces.
    #[arg(long, env = "OFFLINE_AUTH_ADMIN_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    admin_token: Option<Secret>,
    /// Apply a revoked device's edits stamped before its revocation (work
    /// done before it was reported lost); by default every edit it uploads
    /// after the revocation is refused (and reported).
    #[arg(long, env = "OFFLINE_AUTH_APPLY_EDITS_QUEUED_BEFORE_REVOCATION")]
    apply_edits_queued_before_revocation: bool,
    /// A file of escrow private keys, one `kid:hex` a line (the last is the
    /// one devices are given; keep older ones while their entries may still
    /// be salvaged). Turns on `GET /escrow-key` and `POST /salvage`.
    #[arg(long, env = "OFFLINE_AUTH_ESCROW_KEY_FILE", value_name = "FILE", conflicts_with = "escrow_keys")]
    escrow_key_file: Option<PathBuf>,
    /// The escrow private keys themselves, `kid:hex` separated by commas or
    /// lines: give them through the environment (a secret store), not on
    /// the command line, where other users of the machine can read them.
    #[arg(long, env = "OFFLINE_AUTH_ESCROW_KEYS", value_name = "KEYS", hide_env_values = true)]
    escrow_keys: Option<String>,
    /// Attested enrolment: `off` (grants get 72 h, uploads unsigned),
    /// `development` (any device; software and unattested ones 1 h) or
    /// `production` (TEE 24 h, StrongBox 72 h, others refused; signed
    /// uploads). See DEPLOYMENT.md, "Attestation".
    #[arg(long, env = "OFFLINE_AUTH_ATTESTATION", value_name = "MODE", default_value = "off",
          value_parser = ["off", "development", "production"])]
    attestation: String,
    /// The attestation roots: a JSON array of PEM certificates (default:
    /// Google's two hardware attestation roots, built in).
    #[arg(long, env = "OFFLINE_AUTH_ATTESTATION_ROOTS", value_name = "FILE")]
    attestation_roots: Option<PathBuf>,
    /// The revocation status list (the JSON Google publishes), re-read
    /// every --attestation-refresh-secs; a file that fails to read keeps
    /// the list read before.
    #[arg(long, env = "OFFLINE_AUTH_ATTESTATION_REVOKED", value_name = "FILE")]
    attestation_revoked: Option<PathBuf>,
    /// Seconds between two reads of --attestation-revoked.
    #[arg(long, env = "OFFLINE_AUTH_ATTESTATION_REFRESH_SECS", value_name = "S", default_value_t = 3600,
          value_parser = clap::value_parser!(u64).range(1..))]
    attestation_refresh_secs: u64,
    /// Accept Apple App Attest evidence for this App ID: the team id, a dot,
    /// the bundle id (`ABCDE12345.org.example.fieldapp`). Without it, App
    /// Attest enrolments are refused (`unsupported_evidence`).
    #[arg(long, env = "OFFLINE_AUTH_ATTESTATION_APPLE_APP_ID", value_name = "TEAM.BUNDLE")]
    attestation_apple_app_id: Option<String>,
    /// The App Attest roots: a JSON array of PEM certificates (default:
    /// Apple's App Attestation Root CA, built in).
    #[arg(
        long,
        env = "OFFLINE_AUTH_ATTESTATION_APPLE_ROOTS",
        value_name = "FILE",
        requires = "attestation_apple_app_id"
    )]
    attestation_apple_roots: Option<PathBuf>,
    /// Package names an attested app must have (comma-separated; default any).
    #[arg(long, env = "OFFLINE_AUTH_ATTESTATION_PACKAGES", value_name = "NAMES", value_delimiter = ',')]
    attestation_packages: Vec<String>,
    /// A file of key-encryption keys, one `id:hex` (32 bytes) a line: the
    /// last wraps new keys, older ones still open keys wrapped before (a
    /// rotation). Sync keys and the issuer key are stored wrapped under it.
    #[arg(long, env = "OFFLINE_AUTH_KEK_FILE", value_name = "FILE", conflicts_with = "kek")]
    kek_file: Option<PathBuf>,
    /// The key-encryption keys themselves, `id:hex` separated by commas or
    /// lines: through the environment (a secret store), not the command line.
    #[arg(long, env = "OFFLINE_AUTH_KEK", value_name = "KEYS", hide_env_values = true)]
    kek: Option<Secret>,
    /// At start, rewrap every stored key that is plain or under an older
    /// KEK, then serve (keys are otherwise rewrapped when first read).
    #[arg(long, env = "OFFLINE_AUTH_REWRAP_KEYS")]
    rewrap_keys: bool,
    /// Logs as JSON lines instead of text (also `OFFLINE_AUTH_LOG=json`);
    /// `RUST_LOG` filters them (default `info`).
    #[arg(long)]
    log_json: bool,
}

/// A secret value as given (the admin token, the KEK entries): never
/// printed (`Config` is `Debug`).
#[derive(Clone)]
struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(token: &str) -> Result<Self, Self::Err> {
        Ok(Self(token.to_owned()))
    }
}

/// Where the state is kept.
enum Database {
    Sqlite(PathBuf),
    Postgres(String),
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let matches = Config::command().try_get_matches().unwrap_or_else(|error| name_the_variable(error).exit());
    let config = Config::from_arg_matches(&matches).unwrap_or_else(|error| error.exit());
    let (database, addr) = resolve(&config, &matches).unwrap_or_else(|error| error.exit());
    server::logs::init_logging(server::logs::wants_json(config.log_json)).map_err(|e| e.to_string())?;
    let limits = config.limits.limits();
    // Refused before anything is opened or created.
    let kek = config
        .kek()
        .unwrap_or_else(|error| Config::command().error(ErrorKind::ValueValidation, error.to_string()).exit());
    // Signal handlers are installed before the port is announced, so a
    // SIGTERM sent as soon as the address is printed is a graceful stop.
    let shutdown = shutdown_signal()?;
    let attestation = attestation(&config)?;
    let rows: Arc<dyn server::store::KeyRows> = match database {
        Database::Postgres(url) => open_postgres(&url).await?,
        Database::Sqlite(db) => Arc::new(server::store::sqlite::SqliteStore::open(&db)?),
    };
    if kek.is_none() {
        tracing::warn!("no KEK configured (--kek-file or OFFLINE_AUTH_KEK): sync keys and the issuer key are stored in plain bytes; production must set one");
    }
    let store = Arc::new(server::store::sealed::SealedStore::new(rows, kek));
    if config.rewrap_keys {
        let rewritten = store.rewrap_all().await?;
        tracing::info!(rewritten, "--rewrap-keys: every stored sync key is under the current KEK");
    }
    let state = server::AppState::with_store_and_attestation(store, attestation).await?;
    let policy =
        server::RevocationPolicy::default().with_edits_queued_before(config.apply_edits_queued_before_revocation);
    let admin = server::Admin::new(config.admin_token.as_ref().map(|t| t.0.clone()), policy)
        .unwrap_or_else(|message| Config::command().error(ErrorKind::ValueValidation, message).exit());
    let state = state.with_admin(admin);
    if let Some(keys) = config.escrow_keys()? {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
        state.set_escrow_keys(keys, i64::try_from(now)?)?;
    }
    server::serve_with(state, addr, limits, |bound| println!("listening on http://{bound}"), shutdown).await?;
    Ok(())
}

/// The attestation the flags ask for (`None`: off); with a revocation list,
/// a task re-reads it (and the roots) every --attestation-refresh-secs.
fn attestation(config: &Config) -> Result<Option<Arc<server::Attestation>>, String> {
    let Some(mut policy) = server::attest::policy_named(&config.attestation) else { return Ok(None) };
    if !config.attestation_packages.is_empty() {
        policy = policy.with_allowed_packages(config.attestation_packages.iter().cloned());
    }
    let (roots, revoked) = (config.attestation_roots.clone(), config.attestation_revoked.clone());
    let apple = config
        .attestation_apple_app_id
        .clone()
        .map(|app_id| server::attest::AppleAttestConfig { app_id, roots: config.attestation_apple_roots.clone() });
    let verifier = server::attest::load_verifier(policy.clone(), roots.as_deref(), revoked.as_deref(), apple.as_ref())?;
    tracing::info!(?policy, "attestation on");
    let attestation = Arc::new(server::Attestation::new(verifier, Arc::new(offline_auth_backend::SystemServerClock)));
    if revoked.is_some() {
        let (every, refreshed) = (Duration::from_secs(config.attestation_refresh_secs), attestation.clone());
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(every);
            interval.tick().await; // the first tick is now: already read
            loop {
                interval.tick().await;
                match server::attest::load_verifier(
                    policy.clone(),
                    roots.as_deref(),
                    revoked.as_deref(),
                    apple.as_ref(),
                ) {
                    Ok(verifier) => refreshed.replace_verifier(verifier),
                    Err(error) => tracing::warn!(%error, "revocation list not refreshed; keeping the last one"),
                }
            }
        });
    }
    Ok(Some(attestation))
}

impl Config {
    /// The key-encryption keys, from the file or the variable, if given.
    fn kek(&self) -> Result<Option<Arc<dyn server::kek::KekProvider>>, server::kek::KekError> {
        use server::kek::StaticKeks;
        Ok(match (&self.kek_file, &self.kek) {
            (Some(file), _) => Some(Arc::new(StaticKeks::from_file(file)?)),
            (None, Some(text)) => Some(Arc::new(StaticKeks::from_text(&text.0)?)),
            (None, None) => None,
        })
    }

    /// The escrow private keys, from the file or the variable, if given.
    fn escrow_keys(&self) -> Result<Option<offline_auth_backend::StaticEscrowKeys>, Box<dyn std::error::Error>> {
        use offline_auth_backend::StaticEscrowKeys;
        Ok(match (&self.escrow_key_file, &self.escrow_keys) {
            (Some(file), _) => Some(StaticEscrowKeys::from_file(file)?),
            (None, Some(text)) => Some(StaticEscrowKeys::from_text(&text.replace(',', "\n"))?),
            (None, None) => None,
        })
    }
}

/// The database and address: the positional arguments (with `--postgres`
/// the only one is ADDR) over the environment, refused beside the same
/// option on the command line; the address must be loopback.
fn resolve(config: &Config, matches: &ArgMatches) -> Result<(Database, SocketAddr), clap::Error> {
    let usage = |message: String| Config::command().error(ErrorKind::ArgumentConflict, message);
    let on_command_line = |id: &str| matches.value_source(id) == Some(ValueSource::CommandLine);
    let given =
        |id: &str| matches!(matches.value_source(id), Some(ValueSource::CommandLine | ValueSource::EnvVariable));
    let (db, addr) = match (&config.postgres, &config.db_positional) {
        (Some(_), Some(first)) => {
            if config.addr_positional.is_some() {
                return Err(usage("with --postgres the only positional argument is ADDR".into()));
            }
            let addr = first.parse().map_err(|error| {
                Config::command()
                    .error(ErrorKind::ValueValidation, format!("invalid value '{first}' for '[ADDR]': {error}"))
            })?;
            (None, Some(addr))
        }
        _ => (config.db_positional.as_ref().map(PathBuf::from), config.addr_positional),
    };
    if db.is_some() && on_command_line("db") {
        return Err(usage("the database file is given twice: as [DB] and as --db".into()));
    }
    if addr.is_some() && on_command_line("addr") {
        return Err(usage("the address is given twice: as [ADDR] and as --addr".into()));
    }
    let addr = addr.unwrap_or(config.addr);
    if !addr.ip().is_loopback() {
        return Err(Config::command()
            .error(ErrorKind::ValueValidation, format!("the reference server only listens on loopback, not {addr}")));
    }
    let database = match &config.postgres {
        Some(_) if given("db") => {
            return Err(usage("--db (OFFLINE_AUTH_DB) is for SQLite; --postgres is given".into()))
        }
        Some(url) => Database::Postgres(url.clone()),
        None => Database::Sqlite(db.unwrap_or_else(|| config.db.clone())),
    };
    Ok((database, addr))
}

/// A refused value that came from the environment: says from which variable.
fn name_the_variable(mut error: clap::Error) -> clap::Error {
    use clap::error::{ContextKind, ContextValue};
    let Some(ContextValue::String(refused)) = error.get(ContextKind::InvalidArg) else { return error };
    let refused = refused.split(' ').next().unwrap_or_default().to_owned();
    let on_command_line = std::env::args().any(|a| a == refused || a.starts_with(&format!("{refused}=")));
    let command = Config::command();
    let variable = command
        .get_arguments()
        .filter(|arg| arg.get_long().is_some_and(|long| format!("--{long}") == refused))
        .find_map(|arg| arg.get_env())
        .filter(|variable| !on_command_line && std::env::var_os(variable).is_some());
    if let Some(variable) = variable {
        let note = format!("the value came from the environment variable {}", variable.to_string_lossy());
        error.insert(ContextKind::Suggested, ContextValue::StyledStrs(vec![note.into()]));
    }
    error
}

/// Resolves at the first SIGTERM or Ctrl-C (SIGINT); the handlers are
/// installed now, not when first polled.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut terminate = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        Ok(async move {
            let name = tokio::select! {
                _ = terminate.recv() => "SIGTERM",
                _ = interrupt.recv() => "SIGINT",
            };
            eprintln!("{name}: no new connections; draining the requests in flight");
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
            eprintln!("Ctrl-C: no new connections; draining the requests in flight");
        })
    }
}

#[cfg(feature = "postgres")]
async fn open_postgres(url: &str) -> Result<Arc<dyn server::store::KeyRows>, Box<dyn std::error::Error>> {
    Ok(Arc::new(server::store::postgres::PgStore::connect(url).await?))
}

#[cfg(not(feature = "postgres"))]
async fn open_postgres(_url: &str) -> Result<Arc<dyn server::store::KeyRows>, Box<dyn std::error::Error>> {
    Err("this build has no PostgreSQL support: build with --features postgres".into())
}
