//! `offline-auth`: the operators' and QA's tool for the offline-auth backend.
//!
//! Generates issuer key pairs (the private key file is written with mode
//! 0600), prints the JWKS to publish, issues and inspects grants, and
//! verifies a device's batch against its sync key and cursor. Output is JSON
//! on stdout; errors are one line on stderr. Exit codes:
//! 0 success, 1 verification failed (the grant or batch was rejected),
//! 2 usage error, 3 input/output error (unreadable or malformed files).

mod keyfile;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use clap::{Parser, Subcommand};
use offline_auth::{
    issuer_keys_from_jwks, jwks_from_issuer_keys, verify_grant, GrantIssuer, IssuerKey, SyncCursor, SyncVerifier,
    VaultError,
};
use serde_json::json;

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
        /// Private key files written by `keygen`.
        #[arg(required = true)]
        keys: Vec<PathBuf>,
    },
    /// Sign an offline grant and print it.
    Issue {
        /// Private key file written by `keygen`.
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
        /// Length of the offline window in seconds.
        #[arg(long, default_value_t = 3 * 24 * 3600)]
        valid_for: u32,
        /// Issue time in seconds since the epoch (default: now).
        #[arg(long)]
        issued_at: Option<i64>,
    },
    /// Print a grant's header and claims; with --jwks, verify its signature.
    Inspect {
        /// The compact JWS.
        grant: String,
        /// JWKS file of trusted issuer keys.
        #[arg(long)]
        jwks: Option<PathBuf>,
    },
    /// Verify a batch file and print its operations and the new cursor as JSON.
    VerifyBatch {
        /// The batch bytes as uploaded by the device.
        #[arg(long)]
        batch: PathBuf,
        /// JWKS file of trusted issuer keys.
        #[arg(long)]
        jwks: PathBuf,
        /// The device's 32-byte sync key, hex.
        #[arg(long)]
        sync_key: String,
        /// The stored cursor's seq (0 for a device that never synced).
        #[arg(long, default_value_t = 0)]
        cursor_seq: u64,
        /// The stored cursor's MAC, hex (default: 32 zero bytes).
        #[arg(long)]
        cursor_mac: Option<String>,
    },
}

/// A failure with its exit code and one-line reason.
struct Failure {
    code: u8,
    reason: String,
}

impl Failure {
    fn rejected(reason: impl std::fmt::Display) -> Self {
        Self { code: 1, reason: reason.to_string() }
    }
    fn io(reason: impl std::fmt::Display) -> Self {
        Self { code: 3, reason: reason.to_string() }
    }
}

impl From<VaultError> for Failure {
    fn from(error: VaultError) -> Self {
        match error {
            VaultError::GrantInvalid { .. } | VaultError::GrantExpired | VaultError::BatchRejected { .. } => {
                Self::rejected(error)
            }
            other => Self::io(other),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(output) => {
            println!("{output}");
            ExitCode::SUCCESS
        }
        Err(failure) => {
            eprintln!("offline-auth: {}", failure.reason);
            ExitCode::from(failure.code)
        }
    }
}

fn run(command: Command) -> Result<String, Failure> {
    match command {
        Command::Keygen { kid, out } => {
            let issuer = GrantIssuer::generate(kid)?;
            keyfile::write_new(&out, &issuer)?;
            Ok(jwks_from_issuer_keys(vec![issuer.issuer_key()])?)
        }
        Command::Jwks { keys } => {
            let keys = keys.iter().map(|path| Ok(keyfile::read(path)?.issuer_key())).collect::<Result<_, Failure>>()?;
            Ok(jwks_from_issuer_keys(keys)?)
        }
        Command::Issue { key, user, device, scopes, valid_for, issued_at } => {
            let issuer = keyfile::read(&key)?;
            let now = match issued_at {
                Some(at) => at,
                None => unix_now()?,
            };
            Ok(issuer.issue(user, device, scopes, now, now + i64::from(valid_for))?)
        }
        Command::Inspect { grant, jwks } => inspect(&grant, jwks.as_deref()),
        Command::VerifyBatch { batch, jwks, sync_key, cursor_seq, cursor_mac } => {
            let bytes = std::fs::read(&batch).map_err(|e| Failure::io(format!("{}: {e}", batch.display())))?;
            let sync_key = hex::decode(sync_key.trim()).map_err(|_| Failure::io("--sync-key is not hex"))?;
            let last_mac = match cursor_mac {
                Some(mac) => hex::decode(mac.trim()).map_err(|_| Failure::io("--cursor-mac is not hex"))?,
                None => vec![0; 32],
            };
            let verifier = SyncVerifier::new(read_jwks(&jwks)?)?;
            let verified = verifier.verify(bytes, sync_key, SyncCursor { last_seq: cursor_seq, last_mac })?;
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

fn inspect(grant: &str, jwks: Option<&Path>) -> Result<String, Failure> {
    let decode = |part: Option<&str>, what: &str| -> Result<serde_json::Value, Failure> {
        let bytes = URL_SAFE_NO_PAD
            .decode(part.unwrap_or_default())
            .map_err(|_| Failure::rejected(format!("the {what} is not base64url")))?;
        serde_json::from_slice(&bytes).map_err(|_| Failure::rejected(format!("the {what} is not JSON")))
    };
    let mut parts = grant.trim().split('.');
    let header = decode(parts.next(), "header")?;
    let claims = decode(parts.next(), "claims")?;
    let verified = match jwks {
        None => json!(null),
        Some(path) => {
            let info = verify_grant(grant.trim().to_owned(), read_jwks(path)?)?;
            json!({"kid": info.kid, "signature": "valid"})
        }
    };
    serde_json::to_string_pretty(&json!({"header": header, "claims": claims, "verified": verified}))
        .map_err(Failure::io)
}

fn read_jwks(path: &Path) -> Result<Vec<IssuerKey>, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| Failure::io(format!("{}: {e}", path.display())))?;
    issuer_keys_from_jwks(text).map_err(|e| Failure::io(format!("{}: {e}", path.display())))
}

fn unix_now() -> Result<i64, Failure> {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| Failure::io("the system clock is before 1970"))?;
    i64::try_from(since.as_secs()).map_err(|_| Failure::io("the system clock is out of range"))
}
