//! The reference sync server: `cargo run -p offline-auth-server -- [DB] [ADDR]`.
//!
//! Listens on loopback (default 127.0.0.1:8787) with its state in SQLite
//! (default `sync-server.db`); prints the address it bound, then serves
//! until Ctrl-C. See the library's documentation for the endpoints.

use offline_auth_server as server;

use std::net::SocketAddr;
use std::path::PathBuf;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let db = PathBuf::from(args.next().unwrap_or_else(|| "sync-server.db".into()));
    let addr: SocketAddr = args.next().unwrap_or_else(|| "127.0.0.1:8787".into()).parse()?;
    if !addr.ip().is_loopback() {
        return Err("the reference server only listens on loopback".into());
    }
    let state = server::AppState::open(&db)?;
    let shutdown = async {
        tokio::signal::ctrl_c().await.ok();
    };
    server::serve(state, addr, |bound| println!("listening on http://{bound}"), shutdown).await?;
    Ok(())
}
