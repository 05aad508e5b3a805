//! `offline-auth`: the operators' and QA's tool for the offline-auth backend.
//!
//! Generates issuer key pairs (the private key file is written with mode
//! 0600), prints the JWKS to publish, issues and inspects grants, and
//! verifies a device's batch against its sync key and cursor; revokes a
//! device or queues a remote directive for it through the reference
//! server's admin endpoints (`revoke`, `directive`). Output is JSON
//! on stdout; errors are one line on stderr (`--help` and `--version` print
//! to stdout and exit 0).
//!
//! Exit codes:
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | verification failed: the grant or batch was rejected (bad signature, broken MAC chain, malformed or oversized batch or grant); `revoke`, `directive`: the server refused the revocation or the directive (wrong token, unknown device) |
//! | 2 | usage error: unknown command or option, missing or conflicting arguments, an out-of-range number, a malformed `--sync-key` or `--cursor-mac`, an argument the library refuses (empty `--user`, bad `--kid`, …), stdin (`-`) named twice |
//! | 3 | input/output error: a key, JWKS, batch or output file (or stdout) that cannot be read or written, a key or JWKS that is malformed or over its limit, or (on Unix) a private key or sync key file that group or others can access |
//!
//! Inputs: every file argument (`--batch`, `--jwks`, `--key`, the key files
//! of `jwks`, `--sync-key-file`) may be `-` to read standard input, as may
//! the grant of `inspect`; stdin can feed one input per run. Every input is
//! read with its size limit applied while reading: a batch up to
//! `offline_auth_backend::MAX_BATCH_BYTES`, a grant 16 KiB, a JWKS 256 KiB, a private
//! key file 8 KiB, a sync key file 1 KiB.
//!
//! Secrets: on Unix a private key file or sync key file that group or others
//! can access (any of mode 0077) is refused; fix it with `chmod 600 FILE`.
//! Give the sync key with `--sync-key-file` (or `--sync-key-file -` from a
//! pipe): `--sync-key HEX` still works but puts the key on the command line,
//! where other users of the machine can see it (`ps`, `/proc/*/cmdline`).
//!
//! Time: `issue --issued-at` takes 0 to 253402300799 (9999-12-31T23:59:59Z);
//! `inspect` shows `iat`, `nbf` and `exp` as ISO 8601 UTC dates beside the
//! raw numbers, and a `status` of `expired`, `valid until <date>` or `not
//! valid before <date>` (a device's view, 60 s skew on `iat`; without
//! `--jwks`, `not verified (pass --jwks); expires <date>`) against the
//! system clock, or against the hidden `--now UNIX_SECS` (for tests).

mod date;
mod input;
mod keyfile;
mod revoke;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use clap::error::ErrorKind;
use clap::{ArgGroup, Parser, Subcommand};
use offline_auth_backend::{
    issuer_keys_from_jwks, jwks_from_issuer_keys, verify_grant, BackendError, GrantIssuer, IssuerKey, SyncCursor,
    SyncVerifier, DEFAULT_GRANT_CLOCK_SKEW_SECS, MAX_BATCH_BYTES,
};
use serde_json::json;
use zeroize::Zeroizing;

use crate::input::{Input, STDIN};

/// Exit code: the grant or batch was rejected.
pub(crate) const REJECTED: u8 = 1;
/// Exit code: the command line is wrong.
pub(crate) const USAGE: u8 = 2;
/// Exit code: an input or output file could not be used.
pub(crate) const IO: u8 = 3;

/// Most bytes of a grant (the library's own limit; real ones are a few hundred).
const GRANT_LIMIT: usize = 16 * 1024;
/// Most bytes of a JWKS document (the library's own limit).
const JWKS_LIMIT: usize = 256 * 1024;
/// Most bytes of a sync key file (64 hex digits and a newline, with room to spare).
const SYNC_KEY_FILE_LIMIT: usize = 1024;
/// Length of a sync key and of a cursor MAC.
const KEY_LEN: usize = 32;

#[derive(Parser)]
#[command(name = "offline-auth", version, about = "Issuer keys, grants and sync batches for offline-auth backends")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate an Ed25519 issuer key pair; writes the private JWK (mode 0600)
    /// and prints the public JWKS.
    Keygen {
        /// Key id to put in grants' `kid` header (e.g. the month of rotation).
        #[arg(long)]
        kid: String,
        /// Where to write the private key (refuses to overwrite).
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the JWKS (public keys) of one or more private key files.
    Jwks {
        /// Private key files written by `keygen` (mode 0600; `-` for stdin).
        #[arg(required = true)]
        keys: Vec<PathBuf>,
    },
    /// Sign an offline grant and print it.
    Issue {
        /// Private key file written by `keygen` (mode 0600; `-` for stdin).
        #[arg(long)]
        key: PathBuf,
        /// The user (`sub`).
        #[arg(long)]
        user: String,
        /// The device (`dev`).
        #[arg(long)]
        device: String,
        /// A collection the grant allows writing (repeat for several).
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Length of the offline window in seconds (1 to 4294967295).
        #[arg(long, default_value_t = 259_200, value_parser = clap::value_parser!(u32).range(1..))]
        valid_for: u32,
        /// Issue time in seconds since the epoch, 0 to 253402300799 (default: now).
        #[arg(long, value_parser = parse_issue_time, allow_negative_numbers = true)]
        issued_at: Option<i64>,
    },
    /// Print a grant's header, claims, dates and status; with --jwks, verify its signature.
    Inspect {
        /// The compact JWS, or `-` to read it from stdin.
        grant: String,
        /// JWKS file of trusted issuer keys (`-` for stdin).
        #[arg(long)]
        jwks: Option<PathBuf>,
        /// The current time in seconds since the epoch (default: the system clock).
        #[arg(long, hide = true, value_name = "UNIX_SECS", allow_negative_numbers = true)]
        now: Option<i64>,
    },
    /// Verify a batch file and print its operations and the new cursor as JSON.
    #[command(group = ArgGroup::new("sync").required(true).args(["sync_key_file", "sync_key"]))]
    VerifyBatch {
        /// The batch bytes as uploaded by the device (`-` for stdin).
        #[arg(long)]
        batch: PathBuf,
        /// JWKS file of trusted issuer keys (`-` for stdin).
        #[arg(long)]
        jwks: PathBuf,
        /// File holding the device's 32-byte sync key as hex (mode 0600; `-` for stdin).
        #[arg(long, value_name = "PATH")]
        sync_key_file: Option<PathBuf>,
        /// The device's 32-byte sync key, hex. Visible to other users of this
        /// machine (`ps`): prefer --sync-key-file.
        #[arg(long, value_name = "HEX")]
        sync_key: Option<String>,
        /// The stored cursor's seq (0 for a device that never synced).
        #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
        cursor_seq: u64,
        /// The stored cursor's MAC, hex (default: 32 zero bytes).
        #[arg(long)]
        cursor_mac: Option<String>,
    },
    /// Revoke a device through the reference server's admin endpoint: no
    /// grant is issued for it any more and its uploads are judged by the
    /// server's revocation policy. Prints the server's answer.
    Revoke {
        /// The server, `https://…` (or `http://` to a loopback address).
        #[arg(long)]
        server: String,
        /// The device to revoke.
        #[arg(long)]
        device: String,
        /// Why (logged, and shown to the device's app).
        #[arg(long)]
        reason: String,
        /// File holding the admin bearer token (mode 0600; `-` for stdin).
        #[arg(long, value_name = "PATH")]
        token_file: PathBuf,
    },
    /// Queue a remote directive for a device through the reference server's
    /// admin endpoint: delivered in its next sync and renewal answers until
    /// it acknowledges it. Prints the server's answer (with the `jti`).
    Directive {
        /// The server, `https://…` (or `http://` to a loopback address).
        #[arg(long)]
        server: String,
        /// The device it is for.
        #[arg(long)]
        device: String,
        /// `wipe`, `lock_until_renewal` or `biometrics_off`.
        #[arg(long)]
        action: String,
        /// File holding the admin bearer token (mode 0600; `-` for stdin).
        #[arg(long, value_name = "PATH")]
        token_file: PathBuf,
    },
}

/// A failure with its exit code and one-line reason.
pub(crate) struct Failure {
    code: u8,
    reason: String,
}

impl Failure {
    pub(crate) fn new(code: u8, reason: impl std::fmt::Display) -> Self {
        Self { code, reason: reason.to_string() }
    }
    pub(crate) fn rejected(reason: impl std::fmt::Display) -> Self {
        Self::new(REJECTED, reason)
    }
    pub(crate) fn usage(reason: impl std::fmt::Display) -> Self {
        Self::new(USAGE, reason)
    }
    pub(crate) fn io(reason: impl std::fmt::Display) -> Self {
        Self::new(IO, reason)
    }
}

impl From<BackendError> for Failure {
    fn from(error: BackendError) -> Self {
        match error {
            BackendError::GrantInvalid { .. } | BackendError::BatchRejected { .. } => Self::rejected(error),
            // Files are checked where they are read, so what the library
            // still refuses is an argument: an empty user, a bad kid, …
            BackendError::InvalidInput { .. } => Self::usage(error),
            other => Self::io(other),
        }
    }
}

fn main() -> ExitCode {
    use std::io::Write as _;
    // No `println!`: it panics when stdout is closed (`| head -0`); that is
    // an output error, exit 3.
    let outcome = parse().and_then(|cli| run(cli.command)).and_then(|output| {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{output}").and_then(|()| stdout.flush()).map_err(|e| Failure::io(format!("stdout: {e}")))
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            // Nowhere left to report a failure to write this.
            let _ = writeln!(std::io::stderr(), "offline-auth: {}", failure.reason);
            ExitCode::from(failure.code)
        }
    }
}

/// The command line, or a one-line usage error (exit 2). Help and version
/// print as clap prints them.
fn parse() -> Result<Cli, Failure> {
    Cli::try_parse().map_err(|error| match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            error.exit()
        }
        _ => Failure::usage(one_line(&error.render().to_string())),
    })
}

/// Clap's multi-line message as one line, without its usage and help hints.
fn one_line(message: &str) -> String {
    let parts: Vec<&str> = message
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with("Usage:") && !line.starts_with("For more information"))
        .map(|line| line.strip_prefix("error: ").unwrap_or(line))
        .collect();
    if parts.is_empty() {
        "invalid arguments; see --help".to_owned()
    } else {
        format!("{}; see --help", parts.join(" "))
    }
}

fn parse_issue_time(text: &str) -> Result<i64, String> {
    text.parse::<i64>().ok().filter(|secs| (0..=date::MAX_ISSUE_TIME).contains(secs)).ok_or_else(|| {
        format!("must be seconds since the epoch from 0 to {} (9999-12-31T23:59:59Z)", date::MAX_ISSUE_TIME)
    })
}

fn run(command: Command) -> Result<String, Failure> {
    match command {
        Command::Keygen { kid, out } => {
            let issuer = GrantIssuer::generate(&kid)?;
            keyfile::write_new(&out, &issuer)?;
            Ok(jwks_from_issuer_keys(&[issuer.issuer_key()])?)
        }
        Command::Jwks { keys } => {
            let keys =
                keys.iter().map(|path| Ok(keyfile::read(path)?.issuer_key())).collect::<Result<Vec<_>, Failure>>()?;
            Ok(jwks_from_issuer_keys(&keys)?)
        }
        Command::Issue { key, user, device, scopes, valid_for, issued_at } => {
            let now = match issued_at {
                Some(at) => at,
                None => unix_now()?,
            };
            let expires_at = now.checked_add(i64::from(valid_for)).ok_or_else(|| {
                Failure::usage(format!("--issued-at {now} plus --valid-for {valid_for} is past the largest time"))
            })?;
            let issuer = keyfile::read(&key)?;
            Ok(issuer.issue(&user, &device, &scopes, now, expires_at)?)
        }
        Command::Inspect { grant, jwks, now } => inspect(&grant, jwks.as_deref(), now),
        Command::Revoke { server, device, reason, token_file } => {
            revoke::revoke(&server, &device, &reason, &token_file)
        }
        Command::Directive { server, device, action, token_file } => {
            revoke::directive(&server, &device, &action, &token_file)
        }
        Command::VerifyBatch { batch, jwks, sync_key_file, sync_key, cursor_seq, cursor_mac } => {
            // Arguments first (usage errors), then the files.
            let sync_key = match (sync_key, sync_key_file) {
                (Some(hex), None) => {
                    decode_key(hex.as_bytes()).map_err(|why| Failure::usage(format!("--sync-key {why}")))?
                }
                (None, Some(path)) => read_sync_key(&path)?,
                _ => return Err(Failure::usage("give exactly one of --sync-key-file and --sync-key")),
            };
            let last_mac = match cursor_mac {
                Some(mac) => decode_key(mac.as_bytes()).map_err(|why| Failure::usage(format!("--cursor-mac {why}")))?,
                None => Zeroizing::new(vec![0; KEY_LEN]),
            };
            let bytes =
                Input { path: &batch, what: "batch", limit: MAX_BATCH_BYTES, oversize_code: REJECTED, private: false }
                    .read()?;
            let verifier = SyncVerifier::new(read_jwks(&jwks)?)?;
            let cursor = SyncCursor { last_seq: cursor_seq, last_mac: last_mac.to_vec() };
            let verified = verifier.verify(&bytes, &sync_key, &cursor)?;
            let operations: Vec<_> = verified
                .operations
                .iter()
                .map(|op| {
                    json!({
                        "seq": op.seq, "time": op.time, "grant_id": op.grant_id,
                        "collection": op.collection, "key": op.key,
                        "value_base64url": op.value.as_ref().map(|v| URL_SAFE_NO_PAD.encode(v)),
                        "value_utf8": op.value.as_ref().and_then(|v| std::str::from_utf8(v).ok()),
                    })
                })
                .collect();
            let output = json!({
                "device_id": verified.device_id,
                "user_id": verified.user_id,
                "duplicates": verified.duplicates,
                "operations": operations,
                "cursor": {"last_seq": verified.cursor.last_seq, "last_mac": hex::encode(&verified.cursor.last_mac)},
            });
            serde_json::to_string_pretty(&output).map_err(Failure::io)
        }
    }
}

/// 32 bytes from hex (surrounding whitespace ignored), or why not.
fn decode_key(hex_text: &[u8]) -> Result<Zeroizing<Vec<u8>>, String> {
    let bytes = Zeroizing::new(hex::decode(hex_text.trim_ascii()).map_err(|_| "is not hex".to_owned())?);
    if bytes.len() != KEY_LEN {
        return Err(format!("must be {KEY_LEN} bytes ({} hex digits), not {}", KEY_LEN.saturating_mul(2), bytes.len()));
    }
    Ok(bytes)
}

/// The sync key from a file holding it as hex (owner-only on Unix) or stdin.
fn read_sync_key(path: &Path) -> Result<Zeroizing<Vec<u8>>, Failure> {
    let input = Input { path, what: "sync key file", limit: SYNC_KEY_FILE_LIMIT, oversize_code: IO, private: true };
    let text = input.read()?;
    decode_key(&text).map_err(|why| Failure::io(format!("{}: the sync key {why}", input.name())))
}

fn inspect(grant: &str, jwks: Option<&Path>, now: Option<i64>) -> Result<String, Failure> {
    let grant = if grant == STDIN {
        let input = Input {
            path: Path::new(STDIN),
            what: "grant",
            limit: GRANT_LIMIT,
            oversize_code: REJECTED,
            private: false,
        };
        String::from_utf8(input.read()?.to_vec()).map_err(|_| Failure::rejected("stdin: the grant is not UTF-8"))?
    } else if grant.len() > GRANT_LIMIT {
        return Err(Failure::rejected(format!("the grant is larger than {GRANT_LIMIT} bytes")));
    } else {
        grant.to_owned()
    };
    let grant = grant.trim();
    // The files before the verdict: an unreadable JWKS is an input error
    // whatever the grant is.
    let keys = jwks.map(read_jwks).transpose()?;
    let decode = |part: Option<&str>, what: &str| -> Result<serde_json::Value, Failure> {
        let bytes = URL_SAFE_NO_PAD
            .decode(part.unwrap_or_default())
            .map_err(|_| Failure::rejected(format!("the {what} is not base64url")))?;
        serde_json::from_slice(&bytes).map_err(|_| Failure::rejected(format!("the {what} is not JSON")))
    };
    let mut parts = grant.split('.');
    let header = decode(parts.next(), "header")?;
    let claims = decode(parts.next(), "claims")?;
    let verified = match keys {
        None => json!(null),
        Some(keys) => {
            let info = verify_grant(grant, &keys)?;
            json!({"kid": info.kid, "signature": "valid"})
        }
    };
    let now = match now {
        Some(now) => now,
        None => unix_now()?,
    };
    let claim = |name: &str| claims.get(name).and_then(serde_json::Value::as_i64);
    let mut times = serde_json::Map::new();
    for name in ["iat", "nbf", "exp"] {
        if let Some(secs) = claim(name) {
            times.insert(name.to_owned(), json!({"unix": secs, "utc": date::iso8601(secs)}));
        }
    }
    let status = grant_status(claim("iat"), claim("exp"), now, !verified.is_null());
    serde_json::to_string_pretty(&json!({
        "header": header, "claims": claims, "times": times, "status": status, "verified": verified,
    }))
    .map_err(Failure::io)
}

/// What a device would make of the grant at `now`: `expired`, `not valid
/// before <iat>` (beyond the clock skew it allows) or `valid until <exp>`;
/// without a checked signature, `not verified (pass --jwks); expires <exp>`.
fn grant_status(iat: Option<i64>, exp: Option<i64>, now: i64, signature_checked: bool) -> String {
    let date = |secs: i64| date::iso8601(secs).unwrap_or_else(|| secs.to_string());
    let Some(exp) = exp else {
        return "no exp claim: not a grant".to_owned();
    };
    if now >= exp {
        return "expired".to_owned();
    }
    let skew = i64::try_from(DEFAULT_GRANT_CLOCK_SKEW_SECS).unwrap_or(i64::MAX);
    if let Some(iat) = iat.filter(|&iat| iat > now.saturating_add(skew)) {
        return format!("not valid before {}", date(iat));
    }
    if signature_checked {
        format!("valid until {}", date(exp))
    } else {
        format!("not verified (pass --jwks); expires {}", date(exp))
    }
}

fn read_jwks(path: &Path) -> Result<Vec<IssuerKey>, Failure> {
    let input = Input { path, what: "JWKS", limit: JWKS_LIMIT, oversize_code: IO, private: false };
    let bytes = input.read()?;
    let text = std::str::from_utf8(&bytes).map_err(|_| Failure::io(format!("{}: not UTF-8", input.name())))?;
    issuer_keys_from_jwks(text).map_err(|e| Failure::io(format!("{}: {e}", input.name())))
}

fn unix_now() -> Result<i64, Failure> {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| Failure::io("the system clock is before 1970"))?;
    i64::try_from(since.as_secs()).map_err(|_| Failure::io("the system clock is out of range"))
}
