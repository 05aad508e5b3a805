//! The reference sync server:
//!
//! ```text
//! offline-auth-server [LIMITS] [DB] [ADDR]            # SQLite file (default sync-server.db)
//! offline-auth-server [LIMITS] --postgres URL [ADDR]  # PostgreSQL (`postgres` feature)
//! ```
//!
//! Logs go to stderr as text, or as JSON lines with `--log-json` (or
//! `OFFLINE_AUTH_LOG=json`); `RUST_LOG` filters them (default `info`).
//!
//! LIMITS (defaults in `Limits`, see the `limits` module and DEPLOYMENT.md):
//! `--max-connections N`, `--header-timeout-secs S`, `--body-timeout-secs S`,
//! `--body-idle-secs S`, `--body-budget-mib M`, `--per-address-body-mib M`.
//!
//! Listens on loopback (default 127.0.0.1:8787; port 0 picks a free one);
//! prints the address it bound, then serves until Ctrl-C. With PostgreSQL
//! the instance keeps no state of its own: start as many as you like on the
//! same database.
//! See the library's documentation for the endpoints.

use offline_auth_server as server;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    server::logs::init_logging(server::logs::take_log_json(&mut args)).map_err(|e| e.to_string())?;
    let limits = take_limits(&mut args)?;
    let mut postgres = None;
    if let Some(at) = args.iter().position(|a| a == "--postgres") {
        args.remove(at);
        if at >= args.len() {
            return Err("--postgres needs a URL".into());
        }
        postgres = Some(args.remove(at));
    }
    let mut args = args.into_iter();
    let state = match postgres {
        Some(url) => open_postgres(&url).await?,
        None => {
            let db = PathBuf::from(args.next().unwrap_or_else(|| "sync-server.db".into()));
            server::AppState::with_store(Arc::new(server::store::sqlite::SqliteStore::open(&db)?)).await?
        }
    };
    let addr: SocketAddr = args.next().unwrap_or_else(|| "127.0.0.1:8787".into()).parse()?;
    if !addr.ip().is_loopback() {
        return Err("the reference server only listens on loopback".into());
    }
    let shutdown = async {
        tokio::signal::ctrl_c().await.ok();
    };
    server::serve_with(state, addr, limits, |bound| println!("listening on http://{bound}"), shutdown).await?;
    Ok(())
}

/// Takes the `--limit value` pairs out of `args`.
fn take_limits(args: &mut Vec<String>) -> Result<server::Limits, Box<dyn std::error::Error>> {
    use std::time::Duration;
    let mut limits = server::Limits::default();
    let mut at = 0;
    while at < args.len() {
        let set: fn(&mut server::Limits, u64) = match args.get(at).map(String::as_str) {
            Some("--max-connections") => |l, n| l.max_connections = u32::try_from(n).unwrap_or(u32::MAX),
            Some("--header-timeout-secs") => |l, n| l.header_read_timeout = Duration::from_secs(n),
            Some("--body-timeout-secs") => |l, n| l.body_read_timeout = Duration::from_secs(n),
            Some("--body-idle-secs") => |l, n| l.body_idle_timeout = Duration::from_secs(n),
            Some("--body-budget-mib") => |l, n| l.body_budget_bytes = mib(n),
            Some("--per-address-body-mib") => |l, n| l.per_address_body_bytes = mib(n),
            _ => {
                at += 1;
                continue;
            }
        };
        let flag = args.remove(at);
        let value = if at < args.len() { args.remove(at) } else { String::new() };
        let n: u64 = value.parse().map_err(|_| format!("{flag} needs a whole number"))?;
        if n == 0 {
            return Err(format!("{flag} must be above 0").into());
        }
        set(&mut limits, n);
    }
    Ok(limits)
}

fn mib(n: u64) -> usize {
    usize::try_from(n.saturating_mul(1024 * 1024)).unwrap_or(usize::MAX)
}

#[cfg(feature = "postgres")]
async fn open_postgres(url: &str) -> Result<Arc<server::AppState>, Box<dyn std::error::Error>> {
    server::AppState::open_postgres(url).await
}

#[cfg(not(feature = "postgres"))]
async fn open_postgres(_url: &str) -> Result<Arc<server::AppState>, Box<dyn std::error::Error>> {
    Err("this build has no PostgreSQL support: build with --features postgres".into())
}
