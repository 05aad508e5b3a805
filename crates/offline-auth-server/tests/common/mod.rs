//! Shared fixtures: server instances as separate processes (the real
//! binary), devices driven by the real device SDK, an HTTP client, and
//! read-only looks into PostgreSQL for the exactly-once checks.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

pub mod stall;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use offline_auth::{issuer_keys_from_jwks, OfflineSession, PinVault, SoftwareKeystore, SyncQueue, VaultConfig};
use serde_json::{json, Value};

pub const PIN: &str = "482915";
pub const USERS: [(&str, &str); 2] = offline_auth_server::USERS;

/// The PostgreSQL URL, or `None` (with a notice) to skip; with
/// `OFFLINE_AUTH_REQUIRE_PG` set a missing URL fails instead.
pub fn pg_url(test: &str) -> Option<String> {
    match std::env::var("OFFLINE_AUTH_PG_URL").ok().filter(|u| !u.is_empty()) {
        Some(url) => Some(url),
        None if std::env::var_os("OFFLINE_AUTH_REQUIRE_PG").is_some() => {
            panic!("OFFLINE_AUTH_REQUIRE_PG is set but OFFLINE_AUTH_PG_URL is not")
        }
        None => {
            eprintln!("SKIPPED {test}: set OFFLINE_AUTH_PG_URL (bash scripts/test-postgres.sh does)");
            None
        }
    }
}

/// A run-unique prefix, so tests sharing one database never share a device.
pub fn run_id() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{}-{:x}", std::process::id(), nanos % 0xffff_ffff)
}

/// A small deterministic generator (xorshift), seeded and printed by each test.
pub struct Rng(pub u64);

impl Rng {
    pub fn seeded() -> Self {
        let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
        eprintln!("seed {seed}");
        Self(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A server process (the real binary) and the address it bound.
pub struct Instance {
    child: Child,
    pub addr: String,
}

impl Instance {
    /// Starts `offline-auth-server --postgres URL 127.0.0.1:0`.
    pub fn postgres(url: &str) -> Self {
        Self::spawn(&["--postgres", url, "127.0.0.1:0"])
    }

    /// Starts `offline-auth-server --postgres URL 127.0.0.1:0` with `extra` flags.
    pub fn postgres_with(url: &str, extra: &[&str]) -> Self {
        let mut args = extra.to_vec();
        args.extend(["--postgres", url, "127.0.0.1:0"]);
        Self::spawn(&args)
    }

    /// Starts `offline-auth-server DB 127.0.0.1:0` (SQLite).
    pub fn sqlite(db: &std::path::Path) -> Self {
        Self::spawn(&[db.to_str().unwrap(), "127.0.0.1:0"])
    }

    /// Starts the binary with `args` and these environment variables.
    pub fn spawn_with(args: &[&str], envs: &[(&str, &str)]) -> Self {
        Self::spawn_env(args, envs)
    }

    fn spawn(args: &[&str]) -> Self {
        Self::spawn_env(args, &[])
    }

    fn spawn_env(args: &[&str], envs: &[(&str, &str)]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_offline-auth-server"))
            .args(args)
            .envs(envs.iter().copied())
            .env_remove("OFFLINE_AUTH_PG_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let addr = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("server said {line:?}"));
        Self { child, addr: addr.to_owned() }
    }

    /// `kill -9`: no graceful shutdown, requests in flight are cut.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An answer: status, `Retry-After` if any, JSON body (`Null` if not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<String>,
    pub body: Value,
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// POSTs `body` as `content_type`; `Err` for transport failures (refused, reset).
pub fn post(addr: &str, path: &str, content_type: &str, body: &[u8]) -> Result<Answer, ureq::Error> {
    let mut response = agent().post(&format!("{addr}{path}")).header("Content-Type", content_type).send(body)?;
    let retry_after = response.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let text = response.body_mut().read_to_string()?;
    Ok(Answer {
        status: response.status().as_u16(),
        retry_after,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
    })
}

/// POSTs a JSON `body` to an operator endpoint (`/admin/...`), with `token` as
/// the bearer token if any; the answer's body must be JSON.
pub fn admin_post(addr: &str, path: &str, body: &str, token: Option<&str>) -> Answer {
    let mut request = agent().post(&format!("{addr}{path}")).header("Content-Type", "application/json");
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    let mut response = request.send(body.as_bytes()).unwrap();
    let text = response.body_mut().read_to_string().unwrap();
    Answer { status: response.status().as_u16(), retry_after: None, body: serde_json::from_str(&text).unwrap() }
}

/// The user's records on the server whose keys start with `prefix`.
pub fn server_records(addr: &str, user: (&str, &str), prefix: &str) -> Vec<Value> {
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", user.0, user.1));
    let mut response =
        agent().get(&format!("{addr}/records")).header("Authorization", format!("Basic {basic}")).call().unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let all: Value = serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
    all.as_array().unwrap().iter().filter(|r| r["key"].as_str().unwrap().starts_with(prefix)).cloned().collect()
}

/// A device with a real vault, session and sync queue; its keys all start with its id.
pub struct Device {
    pub id: String,
    pub user: (&'static str, &'static str),
    pub session: Arc<OfflineSession>,
    pub queue: Arc<SyncQueue>,
    pub edits: u64,
    _dir: tempfile::TempDir,
}

impl Device {
    /// Enrols over HTTP at `addr`, retrying 503s.
    pub fn enroll(addr: &str, id: &str, user: (&'static str, &'static str)) -> Self {
        let credentials = json!({"user": user.0, "password": user.1, "device_id": id}).to_string();
        let enrolment = loop {
            let answer = post(addr, "/enroll", "application/json", credentials.as_bytes()).unwrap();
            if answer.status == 503 {
                std::thread::sleep(Duration::from_millis(200));
                continue;
            }
            assert_eq!(answer.status, 200, "{answer:?}");
            break answer.body;
        };
        let issuer_keys = issuer_keys_from_jwks(&enrolment["jwks"].to_string()).unwrap();
        let sync_key = hex::decode(enrolment["sync_key"].as_str().unwrap()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault.db").to_string_lossy().into_owned();
        let vault = PinVault::open(path, SoftwareKeystore::new(), VaultConfig::new(id, issuer_keys)).unwrap();
        let session = vault.enroll(PIN.into(), enrolment["grant"].as_str().unwrap(), sync_key).unwrap();
        let queue = session.clone().sync_queue();
        Self { id: id.to_owned(), user, session, queue, edits: 0, _dir: dir }
    }

    /// `n` edits on a few keys: puts, overwrites, and a delete now and then.
    pub fn edit(&mut self, n: u64, rng: &mut Rng) {
        for _ in 0..n {
            let key = format!("{}/k{}", self.id, rng.below(6));
            let collection = offline_auth_server::SCOPES[rng.below(2)].to_owned();
            if rng.below(5) == 0 {
                self.session.delete(&collection, &key).unwrap();
            } else {
                let value = format!("v{}-{}", self.edits, rng.next() % 1000);
                self.session.put(&collection, &key, value.into_bytes()).unwrap();
            }
            self.edits += 1;
        }
    }

    /// The device's records, as `/records` lists them.
    pub fn records(&self) -> Vec<Value> {
        let mut all = Vec::new();
        for collection in offline_auth_server::SCOPES {
            let mut keys = self.session.keys(collection).unwrap();
            keys.sort();
            for key in keys {
                let value = self.session.get(collection, &key).unwrap().unwrap();
                all.push(json!({"collection": collection, "key": key, "value": String::from_utf8(value).unwrap()}));
            }
        }
        all
    }

    pub fn sync_path(&self) -> String {
        format!("/sync?device_id={}", self.id)
    }

    /// Acknowledges a 200 answer's receipt.
    pub fn acknowledge(&self, answer: &Answer) {
        use base64::Engine as _;
        let receipt =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(answer.body["receipt"].as_str().unwrap()).unwrap();
        self.queue.acknowledge(receipt).unwrap();
    }
}

#[cfg(feature = "postgres")]
/// Runs `sql` against PostgreSQL (for the tests' checks only).
pub fn pg_query(
    url: &str,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Vec<tokio_postgres::Row> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        client.query(sql, params).await.unwrap()
    })
}

#[cfg(feature = "postgres")]
/// Every edit of `device` applied exactly once: the receipts recorded for
/// it cover seqs 1..=edits back to back, with no seq twice and none
/// missing, the cursor is at `edits`, and the server's records are the
/// device's. Returns the number of edits applied.
pub fn assert_applied_exactly_once(url: &str, addr: &str, device: &Device) -> u64 {
    let rows = pg_query(
        url,
        "SELECT from_seq, through_seq, applied FROM receipts WHERE device_id = $1 ORDER BY from_seq",
        &[&device.id],
    );
    let mut next = 1i64;
    let mut applied = 0i64;
    for row in &rows {
        let (from, through, count): (i64, i64, i32) = (row.get(0), row.get(1), row.get(2));
        assert_eq!(from, next, "{}: receipts overlap or leave a gap at seq {next}", device.id);
        assert_eq!(i64::from(count), through - from + 1, "{}: receipt count", device.id);
        applied += i64::from(count);
        next = through + 1;
    }
    assert_eq!(applied as u64, device.edits, "{}: edits applied", device.id);
    let cursor: i64 = pg_query(url, "SELECT cursor_seq FROM devices WHERE device_id = $1", &[&device.id])[0].get(0);
    assert_eq!(cursor as u64, device.edits, "{}: cursor", device.id);
    assert_eq!(device.queue.pending_count().unwrap(), 0, "{}: entries left unacknowledged", device.id);
    assert_eq!(
        server_records(addr, device.user, &format!("{}/", device.id)),
        device.records(),
        "{}: records",
        device.id
    );
    applied as u64
}

/// What a load run saw.
#[derive(Default)]
pub struct Stats {
    pub uploads: std::sync::atomic::AtomicU64,
    pub in_flight: std::sync::atomic::AtomicI64,
    pub transport_errors: std::sync::atomic::AtomicU64,
    pub unavailable: std::sync::atomic::AtomicU64,
}

/// Uploads `device`'s pending entries until all are acknowledged, starting
/// at instance `*target`. A transport error (instance gone) moves to the
/// next instance if `failover`, else fails; a 503 (or a 429 of the rate
/// limits) must carry `Retry-After` and a JSON reason, and is retried; any
/// other non-200 fails.
pub fn drain(device: &Device, addrs: &[String], target: &mut usize, failover: bool, stats: &Stats) {
    use std::sync::atomic::Ordering::SeqCst;
    while let Some(batch) = device.queue.next_batch(100).unwrap() {
        stats.in_flight.fetch_add(1, SeqCst);
        let sent = post(&addrs[*target % addrs.len()], &device.sync_path(), "application/octet-stream", &batch.bytes);
        stats.in_flight.fetch_sub(1, SeqCst);
        stats.uploads.fetch_add(1, SeqCst);
        match sent {
            Err(error) => {
                assert!(failover, "{}: {error}", device.id);
                stats.transport_errors.fetch_add(1, SeqCst);
                *target += 1;
            }
            Ok(answer) if answer.status == 200 => device.acknowledge(&answer),
            Ok(answer) if answer.status == 503 || answer.status == 429 => {
                assert!(answer.retry_after.is_some() && answer.body["error"].is_string(), "{answer:?}");
                stats.unavailable.fetch_add(1, SeqCst);
                std::thread::sleep(Duration::from_millis(100));
            }
            Ok(answer) => panic!("{}: {answer:?}", device.id),
        }
    }
}
