//! The reference sync server:
//!
//! ```text
//! offline-auth-server [DB] [ADDR]                 # SQLite file (default sync-server.db)
//! offline-auth-server --postgres URL [ADDR]       # PostgreSQL (`postgres` feature)
//! ```
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
    server::serve(state, addr, |bound| println!("listening on http://{bound}"), shutdown).await?;
    Ok(())
}

#[cfg(feature = "postgres")]
async fn open_postgres(url: &str) -> Result<Arc<server::AppState>, Box<dyn std::error::Error>> {
    server::AppState::open_postgres(url).await
}

#[cfg(not(feature = "postgres"))]
async fn open_postgres(_url: &str) -> Result<Arc<server::AppState>, Box<dyn std::error::Error>> {
    Err("this build has no PostgreSQL support: build with --features postgres".into())
}
