//! A server running on a free loopback port in a thread of its own, with a
//! small blocking client: what the story and the tests talk to.

use std::net::SocketAddr;
use std::path::Path;

use serde_json::Value;

use crate::{listen, router_and_probe, AppState, Limits};

/// The server and the address it bound.
pub struct LocalServer {
    addr: SocketAddr,
    probe: listen::Probe,
    stop: tokio::sync::oneshot::Sender<()>,
    thread: std::thread::JoinHandle<std::io::Result<()>>,
}

impl LocalServer {
    /// Starts a server on `127.0.0.1:0` with its state in `db`.
    pub fn start(db: &Path) -> Result<Self, Box<dyn std::error::Error>> {
        Self::start_with(db, Limits::default())
    }

    /// Starts a server on `127.0.0.1:0` with its state in `db` and these limits.
    pub fn start_with(db: &Path, limits: Limits) -> Result<Self, Box<dyn std::error::Error>> {
        Self::start_admin(db, limits, crate::Admin::default())
    }

    /// Starts a server with its admin endpoint and revocation policy (`admin`).
    pub fn start_admin(db: &Path, limits: Limits, admin: crate::Admin) -> Result<Self, Box<dyn std::error::Error>> {
        Self::start_state(AppState::open(db)?.with_admin(admin), limits)
    }

    /// Starts a server on `127.0.0.1:0` with its state in `db` and escrowed
    /// edits on (`GET /escrow-key`, `POST /salvage`) with these escrow keys.
    pub fn start_with_escrow(
        db: &Path,
        keys: offline_auth_backend::StaticEscrowKeys,
    ) -> Result<Self, Box<dyn std::error::Error>> {
        let state = AppState::open(db)?;
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
        state.set_escrow_keys(keys, i64::try_from(now)?)?;
        Self::start_state(state, Limits::default())
    }

    /// Starts a server on `127.0.0.1:0` over `state` (for example one made
    /// with [`AppState::open_with`] and an attestation at a fixed time).
    pub fn start_state(state: std::sync::Arc<AppState>, limits: Limits) -> Result<Self, Box<dyn std::error::Error>> {
        let (router, probe) = router_and_probe(state, &limits);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (bound_tx, bound_rx) = std::sync::mpsc::channel();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let running = probe.clone();
        let thread = std::thread::spawn(move || {
            let shutdown = async {
                stopped.await.ok();
            };
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
                // The receiver only goes away if start() already gave up.
                let _ = bound_tx.send(listener.local_addr()?);
                listen::run(listener, router, &limits, running, shutdown).await;
                Ok(())
            })
        });
        let addr = bound_rx.recv_timeout(std::time::Duration::from_secs(30))?;
        Ok(Self { addr, probe, stop, thread })
    }

    /// GETs `path`; returns the status and the JSON answer.
    pub fn get(&self, path: &str) -> Result<(u16, Value), Box<dyn std::error::Error>> {
        let mut response = client().get(&self.url(path)).call()?;
        let text = response.body_mut().read_to_string()?;
        Ok((response.status().as_u16(), serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    /// A look at what the server holds now (tests).
    #[doc(hidden)]
    pub fn probe(&self) -> &listen::Probe {
        &self.probe
    }

    /// Stops the server and waits for it to finish.
    pub fn stop(self) -> Result<(), Box<dyn std::error::Error>> {
        self.stop.send(()).map_err(|()| "the server had already stopped")?;
        self.thread.join().map_err(|_| "the server thread panicked")??;
        Ok(())
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// POSTs `body` to `path` as `content_type`; returns the status and the JSON answer.
    pub fn post_as(
        &self,
        path: &str,
        content_type: &str,
        body: &[u8],
    ) -> Result<(u16, Value), Box<dyn std::error::Error>> {
        let mut response = client().post(&self.url(path)).header("Content-Type", content_type).send(body)?;
        let text = response.body_mut().read_to_string()?;
        Ok((response.status().as_u16(), serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    /// POSTs JSON (`/enroll`, `/renew`).
    pub fn post_json(&self, path: &str, body: &[u8]) -> Result<(u16, Value), Box<dyn std::error::Error>> {
        self.post_as(path, "application/json", body)
    }

    /// POSTs a batch (`/sync`) with extra headers.
    pub fn post_batch_with(
        &self,
        path: &str,
        body: &[u8],
        headers: &[(&str, &str)],
    ) -> Result<(u16, Value), Box<dyn std::error::Error>> {
        let mut request = client().post(&self.url(path)).header("Content-Type", "application/octet-stream");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut response = request.send(body)?;
        let text = response.body_mut().read_to_string()?;
        Ok((response.status().as_u16(), serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    /// POSTs a batch (`/sync`).
    pub fn post_batch(&self, path: &str, body: &[u8]) -> Result<(u16, Value), Box<dyn std::error::Error>> {
        self.post_as(path, "application/octet-stream", body)
    }

    /// GETs `path` with HTTP Basic credentials; returns the status and the JSON answer.
    pub fn get_as(&self, path: &str, user: &str, password: &str) -> Result<(u16, Value), Box<dyn std::error::Error>> {
        use base64::Engine as _;
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        let mut response = client().get(&self.url(path)).header("Authorization", format!("Basic {basic}")).call()?;
        let text = response.body_mut().read_to_string()?;
        Ok((response.status().as_u16(), serde_json::from_str(&text).unwrap_or(Value::Null)))
    }
}

fn client() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(30)))
        .build()
        .into()
}
