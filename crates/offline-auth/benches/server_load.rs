//! The reference server under hostile load, on loopback: honest devices sync
//! while 20 uploads of 16 MiB (sixteen million declared empty grants, for a
//! known device id) arrive at once. Prints the honest uploads' latency
//! (p50, p99, max) with and without the hostile ones, how the hostile ones
//! were refused (422 by the verifier, or 503 over the server's body budget),
//! and the peak RSS. Not a criterion benchmark; `cargo bench --bench server_load`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, missing_docs)]

use offline_auth_server as server;

use std::time::{Duration, Instant};

use offline_auth::{issuer_keys_from_jwks, PinVault, SoftwareKeystore, VaultConfig, MAX_BATCH_BYTES};
use serde_json::json;
use server::LocalServer;

const HONEST_DEVICES: usize = 5;
const ROUNDS: usize = 20;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

/// 16 MiB that declares sixteen million empty grants.
fn hostile_batch() -> Vec<u8> {
    let mut bytes = b"OASB".to_vec();
    bytes.push(1);
    bytes.extend(postcard::to_stdvec("hostile").unwrap());
    let count = (MAX_BATCH_BYTES - bytes.len() - 8) as u64;
    bytes.extend(postcard::to_stdvec(&count).unwrap());
    bytes.resize(MAX_BATCH_BYTES, 0);
    bytes
}

/// Each honest device makes `ROUNDS` edits, uploading after each; returns the upload latencies.
fn honest_load(server: &LocalServer, dir: &std::path::Path, tag: &str) -> Vec<Duration> {
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..HONEST_DEVICES)
            .map(|d| {
                scope.spawn(move || {
                    let device = format!("{tag}-device-{d}");
                    let credentials =
                        json!({"user": "amira", "password": "correct horse battery", "device_id": device}).to_string();
                    let (_, enrolment) = server.post_json("/enroll", credentials.as_bytes()).unwrap();
                    let keys = issuer_keys_from_jwks(&enrolment["jwks"].to_string()).unwrap();
                    let sync_key = hex::decode(enrolment["sync_key"].as_str().unwrap()).unwrap();
                    let path = dir.join(format!("{device}.db")).to_string_lossy().into_owned();
                    let vault = PinVault::open(path, SoftwareKeystore::new(), VaultConfig::new(&device, keys)).unwrap();
                    let session =
                        vault.enroll("482915".into(), enrolment["grant"].as_str().unwrap(), sync_key).unwrap();
                    let queue = session.clone().sync_queue();
                    let mut latencies = Vec::new();
                    for i in 0..ROUNDS {
                        session.put("inspections", &format!("s{i}"), vec![b'x'; 200]).unwrap();
                        let batch = queue.next_batch(100).unwrap().unwrap();
                        let started = Instant::now();
                        let (status, answer) =
                            server.post_batch(&format!("/sync?device_id={device}"), &batch.bytes).unwrap();
                        latencies.push(started.elapsed());
                        assert_eq!(status, 200, "{answer}");
                        use base64::Engine as _;
                        let receipt = base64::engine::general_purpose::URL_SAFE_NO_PAD
                            .decode(answer["receipt"].as_str().unwrap())
                            .unwrap();
                        queue.acknowledge(receipt).unwrap();
                    }
                    latencies
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap()).collect()
    })
}

fn report(what: &str, mut latencies: Vec<Duration>) {
    latencies.sort();
    println!(
        "server_load {what}: {} honest uploads, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        latencies.len(),
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().unwrap().as_secs_f64() * 1e3,
    );
}

fn main() {
    if !std::env::args().any(|arg| arg == "--bench") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = LocalServer::start(&dir.path().join("server.db")).unwrap();
    let credentials = json!({"user": "jonas", "password": "staple tuna", "device_id": "hostile"}).to_string();
    assert_eq!(server.post_json("/enroll", credentials.as_bytes()).unwrap().0, 200);

    report("alone", honest_load(&server, dir.path(), "quiet"));
    let hostile = hostile_batch();
    let (latencies, refused) = std::thread::scope(|scope| {
        let attackers: Vec<_> = (0..20)
            .map(|_| scope.spawn(|| server.post_batch("/sync?device_id=hostile", &hostile).unwrap().0))
            .collect();
        let latencies = honest_load(&server, dir.path(), "loaded");
        let statuses: Vec<u16> = attackers.into_iter().map(|a| a.join().unwrap()).collect();
        // 422: read and refused by the verifier; 503: refused for the server's body budget.
        let refused = (statuses.iter().filter(|s| **s == 422).count(), statuses.iter().filter(|s| **s == 503).count());
        (latencies, refused)
    });
    report("with 20 hostile 16 MiB uploads", latencies);
    println!(
        "server_load hostile uploads refused: {} of 20 (422 after verifying: {}, 503 over the body budget: {}); \
         peak RSS of client and server {:.0} MiB",
        refused.0 + refused.1,
        refused.0,
        refused.1,
        peak_rss_mib()
    );
    server.stop().unwrap();
}
