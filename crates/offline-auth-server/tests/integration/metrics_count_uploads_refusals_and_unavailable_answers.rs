//! `GET /metrics` after a run of uploads: one applied (5 entries), the same
//! batch again (5 duplicates), a tampered batch (`chain_broken`), a batch
//! for a device the server does not know (`unknown_device`), a body past
//! the address's budget share (503, cause `budget`), and a connection over
//! the cap (503, cause `connections`): the counters say exactly that, the
//! latency histograms saw each verification and store call, and no series
//! names a device, however many device ids a stranger sends. A device
//! restarted four times within seconds, an edit after each, is counted as
//! showing the clock-stretching sign (docs/TIME.md).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use crate::common;

use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use common::{Device, Rng, USERS};
use offline_auth_server::{Limits, LocalServer};

/// The scrape: `name{labels}` → value (comments and `# EOF` left out).
fn scrape(server: &LocalServer) -> (String, HashMap<String, f64>) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let mut response = agent.get(&server.url("/metrics")).call().unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let content_type = response.headers().get("content-type").unwrap().to_str().unwrap().to_owned();
    assert!(content_type.starts_with("application/openmetrics-text"), "{content_type}");
    let text = response.body_mut().read_to_string().unwrap();
    let values = text
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.rsplit_once(' '))
        .map(|(series, value)| (series.to_owned(), value.parse::<f64>().unwrap()))
        .collect();
    (text, values)
}

fn value(values: &HashMap<String, f64>, series: &str) -> f64 {
    *values.get(series).unwrap_or_else(|| panic!("no series {series} in the scrape"))
}

/// Waits (at most 10 s) until the server holds no connection open.
fn wait_for_no_connections(server: &LocalServer) {
    for _ in 0..200 {
        if server.probe().open_connections() == 0 {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("connections still open after 10 s");
}

#[test]
fn metrics_count_uploads_refusals_and_unavailable_answers() {
    let dir = tempfile::tempdir().unwrap();
    // A small share per address (past a body's free 64 KiB) and two
    // connections, to provoke both kinds of 503 cheaply.
    let limits = Limits { per_address_body_bytes: 16 * 1024, max_connections: 2, ..Limits::default() };
    let server = LocalServer::start_with(&dir.path().join("server.db"), limits).unwrap();
    let addr = server.url("");
    let mut rng = Rng::seeded();

    let (_, before) = scrape(&server);
    for outcome in ["applied", "duplicate", "refused", "diverged", "unavailable", "failed"] {
        assert_eq!(value(&before, &format!("offline_auth_uploads_total{{outcome=\"{outcome}\"}}")), 0.0);
    }
    assert_eq!(value(&before, "offline_auth_clock_stretch_suspected_uploads_total"), 0.0);

    let mut device = Device::enroll(&addr, "metrics-a", USERS[0]);
    device.edit(5, &mut rng);
    let first = device.queue.next_batch(100).unwrap().unwrap().bytes;
    let sync = device.sync_path();
    let (status, answer) = server.post_batch(&sync, &first).unwrap();
    assert_eq!((status, answer["applied"].as_u64()), (200, Some(5)), "{answer}");
    let receipt = answer["receipt"].as_str().unwrap().to_owned();
    // The same batch again: a replay, nothing applied.
    let (status, answer) = server.post_batch(&sync, &first).unwrap();
    assert_eq!((status, answer["duplicates"].as_u64()), (200, Some(5)), "{answer}");
    {
        use base64::Engine as _;
        device.queue.acknowledge(base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(receipt).unwrap()).unwrap();
    }

    // The next batch with its last MAC altered: refused, chain broken.
    device.edit(3, &mut rng);
    let mut tampered = device.queue.next_batch(100).unwrap().unwrap().bytes;
    *tampered.last_mut().unwrap() ^= 1;
    let (status, answer) = server.post_batch(&sync, &tampered).unwrap();
    assert_eq!(status, 422, "{answer}");
    // A device the server does not know.
    let (status, answer) = server.post_batch("/sync?device_id=nobody", &first).unwrap();
    assert_eq!(status, 404, "{answer}");
    // A body past this address's share of the budget: 503, nothing kept.
    let (status, answer) = server.post_batch(&sync, &[0u8; 200 * 1024]).unwrap();
    assert_eq!(status, 503, "{answer}");
    // Two connections held open, a third over the cap: 503 and closed
    // (once the clients' earlier connections are gone).
    wait_for_no_connections(&server);
    let held: Vec<_> =
        (0..2).map(|_| std::net::TcpStream::connect(server.url("").trim_start_matches("http://")).unwrap()).collect();
    let mut over = std::net::TcpStream::connect(server.url("").trim_start_matches("http://")).unwrap();
    over.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut refused = String::new();
    let _ = over.read_to_string(&mut refused);
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused:?}");
    drop(held);
    wait_for_no_connections(&server);
    let (text, after) = scrape(&server);

    let uploads = |outcome: &str| value(&after, &format!("offline_auth_uploads_total{{outcome=\"{outcome}\"}}"));
    let refusals = |reason: &str| value(&after, &format!("offline_auth_upload_refusals_total{{reason=\"{reason}\"}}"));
    let unavailable = |cause: &str| value(&after, &format!("offline_auth_unavailable_total{{cause=\"{cause}\"}}"));
    assert_eq!(
        (uploads("applied"), uploads("duplicate"), uploads("refused"), uploads("unavailable"), uploads("diverged")),
        (1.0, 1.0, 2.0, 1.0, 0.0),
        "{text}"
    );
    assert_eq!(value(&after, "offline_auth_entries_applied_total"), 5.0, "{text}");
    assert_eq!(value(&after, "offline_auth_entries_duplicated_total"), 5.0, "{text}");
    assert_eq!((refusals("chain_broken"), refusals("unknown_device"), refusals("seq_gap")), (1.0, 1.0, 0.0), "{text}");
    assert_eq!((unavailable("budget"), unavailable("connections"), unavailable("database")), (1.0, 1.0, 0.0), "{text}");
    // Verified: the upload, its replay and the tampered batch.
    assert_eq!(value(&after, "offline_auth_verification_duration_seconds_count"), 3.0, "{text}");
    let db = |op: &str| value(&after, &format!("offline_auth_database_duration_seconds_count{{operation=\"{op}\"}}"));
    // Looked up: the three verified uploads and the unknown device; applied once.
    assert_eq!((db("device"), db("apply"), db("enroll")), (4.0, 1.0, 1.0), "{text}");
    assert_eq!(value(&after, "offline_auth_clock_stretch_suspected_uploads_total"), 0.0, "{text}");
    assert!(!text.contains("metrics-a") && !text.contains("nobody"), "a series names a device:\n{text}");
}

#[test]
fn unknown_device_ids_add_no_series() {
    let dir = tempfile::tempdir().unwrap();
    let server = LocalServer::start(&dir.path().join("server.db")).unwrap();
    let (_, before) = scrape(&server);
    for n in 0..50 {
        let (status, _) = server.post_batch(&format!("/sync?device_id=stranger-{n}"), b"not a batch").unwrap();
        assert_eq!(status, 404);
    }
    let (text, after) = scrape(&server);
    assert_eq!(before.len(), after.len(), "new series:\n{text}");
    assert_eq!(value(&after, "offline_auth_upload_refusals_total{reason=\"unknown_device\"}"), 50.0);
    assert!(!text.contains("stranger"), "{text}");
}

/// A device's clocks, moved by the test: wall time, boot number, time since boot.
struct RebootingClock {
    wall: std::sync::atomic::AtomicI64,
    boot: std::sync::atomic::AtomicU64,
    elapsed_ms: std::sync::atomic::AtomicU64,
}

impl offline_auth::Clock for RebootingClock {
    fn now_unix_secs(&self) -> Result<i64, offline_auth::ClockError> {
        Ok(self.wall.load(std::sync::atomic::Ordering::SeqCst))
    }
    fn boot_id(&self) -> Result<String, offline_auth::ClockError> {
        Ok(format!("boot-{}", self.boot.load(std::sync::atomic::Ordering::SeqCst)))
    }
    fn elapsed_since_boot_millis(&self) -> Result<u64, offline_auth::ClockError> {
        Ok(self.elapsed_ms.load(std::sync::atomic::Ordering::SeqCst))
    }
}

#[test]
fn rebooting_again_and_again_within_minutes_is_counted_as_clock_stretching() {
    use std::sync::atomic::Ordering::SeqCst;
    let dir = tempfile::tempdir().unwrap();
    let server = LocalServer::start(&dir.path().join("server.db")).unwrap();
    let credentials = serde_json::json!({"user": USERS[0].0, "password": USERS[0].1, "device_id": "stretcher"});
    let (status, enrolment) = server.post_json("/enroll", credentials.to_string().as_bytes()).unwrap();
    assert_eq!(status, 200, "{enrolment}");
    // The device's clock starts at the server's time (relative, never a date).
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let clock = Arc::new(RebootingClock { wall: now.into(), boot: 1.into(), elapsed_ms: 60_000.into() });
    let keys = offline_auth::issuer_keys_from_jwks(&enrolment["jwks"].to_string()).unwrap();
    let path = dir.path().join("vault.db").to_string_lossy().into_owned();
    let vault = offline_auth::PinVault::open_with_clock(
        path,
        offline_auth::SoftwareKeystore::new(),
        clock.clone(),
        offline_auth::VaultConfig::new("stretcher", keys),
    )
    .unwrap();
    let grant = enrolment["grant"].as_str().unwrap().to_owned();
    let sync_key = hex::decode(enrolment["sync_key"].as_str().unwrap()).unwrap();
    let mut session = vault.enroll(common::PIN.into(), &grant, sync_key).unwrap();
    session.put("notes", "k0", b"before".to_vec()).unwrap();
    // Four restarts, five seconds each, an edit after each: the boot count
    // climbs by four while the entry times move by seconds.
    for n in 1..=4 {
        clock.wall.fetch_add(5, SeqCst);
        clock.boot.fetch_add(1, SeqCst);
        clock.elapsed_ms.store(5_000, SeqCst);
        session = vault.unlock(common::PIN.into()).unwrap();
        session.put("notes", &format!("k{n}"), b"after a restart".to_vec()).unwrap();
    }
    let batch = session.clone().sync_queue().next_batch(100).unwrap().unwrap().bytes;
    let (status, answer) = server.post_batch("/sync?device_id=stretcher", &batch).unwrap();
    assert_eq!((status, answer["applied"].as_u64()), (200, Some(5)), "{answer}");
    let (text, after) = scrape(&server);
    assert_eq!(value(&after, "offline_auth_clock_stretch_suspected_uploads_total"), 1.0, "{text}");
    assert!(!text.contains("stretcher"), "{text}");
}

/// The cursor lag (issue 26 §2): one observation per applied upload (the
/// server's time minus the device time of the newest entry it brings),
/// none for a replay or a refusal.
#[test]
fn cursor_lag_is_observed_once_per_applied_upload() {
    let dir = tempfile::tempdir().unwrap();
    let server = LocalServer::start(&dir.path().join("server.db")).unwrap();
    let (_, before) = scrape(&server);
    assert_eq!(value(&before, "offline_auth_sync_lag_seconds_count"), 0.0, "the series exists from the start");
    let mut rng = Rng::seeded();
    let mut device = Device::enroll(&server.url(""), "lagging-tablet", USERS[0]);
    for _ in 0..2 {
        device.edit(2, &mut rng);
        let batch = device.queue.next_batch(100).unwrap().unwrap().bytes;
        let (status, answer) = server.post_batch(&device.sync_path(), &batch).unwrap();
        assert_eq!(status, 200, "{answer}");
        // The same batch again: a replay, no lag observed.
        assert_eq!(server.post_batch(&device.sync_path(), &batch).unwrap().0, 200);
        let receipt = answer["receipt"].as_str().unwrap();
        use base64::Engine as _;
        let receipt = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(receipt).unwrap();
        device.queue.acknowledge(receipt).unwrap();
    }
    let (text, after) = scrape(&server);
    assert_eq!(value(&after, "offline_auth_sync_lag_seconds_count"), 2.0, "{text}");
    assert_eq!(value(&after, "offline_auth_sync_lag_seconds_bucket{le=\"+Inf\"}"), 2.0, "{text}");
    assert!(value(&after, "offline_auth_sync_lag_seconds_sum") >= 0.0);
    server.stop().unwrap();
}
