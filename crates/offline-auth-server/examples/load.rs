//! Load generator for the reference server: uploads per second, verified
//! entries per second, and upload latency (p50, p99) against one or more
//! running instances on loopback.
//!
//! ```text
//! cargo run --release -p offline-auth-server --example load -- \
//!     --addr http://127.0.0.1:8787 [--addr http://127.0.0.1:8788] \
//!     [--devices 64] [--batch 20] [--uploads 3000] [--secs 20] [--label NAME]
//! ```
//!
//! Enrols `--devices` devices over HTTP, then (untimed) prepares each one's
//! batches with the same format and MAC chain as the device SDK (the
//! `offline-auth-proto` crate, with the server's grant and sync key). The
//! timed phase sends every device's batches in order, one upload per device
//! in flight, each to the next instance in turn, until all `--uploads` are
//! sent or `--secs` have passed. Prints one line `LOAD key=value …`.
//! Refuses any address that is not loopback.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic, missing_docs)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use offline_auth_backend::{issuer_keys_from_jwks, verify_grant};
use offline_auth_proto::batch::Batch;
use offline_auth_proto::crypto::{MacKey, SecretKey};
use offline_auth_proto::entry::{EntryBody, Operation, QueueEntry};
use serde_json::{json, Value};

struct Args {
    addrs: Vec<String>,
    devices: usize,
    batch: usize,
    uploads: usize,
    secs: u64,
    label: String,
}

fn args() -> Args {
    let mut a = Args { addrs: vec![], devices: 64, batch: 20, uploads: 3000, secs: 20, label: "run".into() };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--addr" => a.addrs.push(value),
            "--devices" => a.devices = value.parse().unwrap(),
            "--batch" => a.batch = value.parse().unwrap(),
            "--uploads" => a.uploads = value.parse().unwrap(),
            "--secs" => a.secs = value.parse().unwrap(),
            "--label" => a.label = value,
            _ => panic!("unknown flag {flag}"),
        }
    }
    assert!(!a.addrs.is_empty(), "give at least one --addr");
    for addr in &a.addrs {
        let host = addr.trim_start_matches("http://").split(':').next().unwrap_or("");
        assert!(host == "127.0.0.1" || host == "localhost", "loopback only: {addr}");
    }
    assert!(a.devices > 0 && a.batch > 0 && a.uploads > 0 && a.secs > 0 && a.secs <= 600);
    a
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

fn post(agent: &ureq::Agent, url: &str, content_type: &str, body: &[u8]) -> (u16, Value) {
    let mut response = agent.post(url).header("Content-Type", content_type).send(body).unwrap();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    (response.status().as_u16(), serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Enrols a device and prepares `count` consecutive batches of `size` entries.
fn prepare(agent: &ureq::Agent, addr: &str, device_id: &str, count: usize, size: usize) -> Vec<Vec<u8>> {
    let credentials = json!({"user": "amira", "password": "correct horse battery", "device_id": device_id});
    let (status, enrolment) =
        post(agent, &format!("{addr}/enroll"), "application/json", credentials.to_string().as_bytes());
    assert_eq!(status, 200, "{enrolment}");
    let grant = enrolment["grant"].as_str().unwrap().to_owned();
    let keys = issuer_keys_from_jwks(&enrolment["jwks"].to_string()).unwrap();
    let info = verify_grant(&grant, &keys).unwrap();
    let sync_key = SecretKey::from_vec(hex::decode(enrolment["sync_key"].as_str().unwrap()).unwrap()).unwrap();
    let mac_key = MacKey::new(&sync_key);
    let (mut prev, mut seq) = ([0u8; 32], 0u64);
    (0..count)
        .map(|_| {
            let entries = (0..size)
                .map(|i| {
                    seq += 1;
                    let op = Operation::Put {
                        collection: "inspections".into(),
                        key: format!("{device_id}/k{}", i % 8),
                        value: format!("reading {seq}").into_bytes(),
                    };
                    let body =
                        EntryBody { seq, grant_id: info.grant_id.clone(), time: info.issued_at, boots: Some(1), op };
                    let mac = body.chain_mac(&mac_key, &prev).unwrap();
                    prev = mac;
                    QueueEntry { body, mac }
                })
                .collect();
            Batch { device_id: device_id.into(), grants: vec![grant.clone()], entries }.to_bytes().unwrap()
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1e3
}

fn main() {
    let a = args();
    let agent = agent();
    let per_device = a.uploads.div_ceil(a.devices);
    let run = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() % 0xffff_ffff;
    let queues: Vec<Mutex<std::collections::VecDeque<Vec<u8>>>> = (0..a.devices)
        .map(|d| {
            let addr = &a.addrs[d % a.addrs.len()];
            Mutex::new(prepare(&agent, addr, &format!("load-{run:x}-{d}"), per_device, a.batch).into())
        })
        .collect();

    let (sent, entries, errors) = (AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0));
    let stop = AtomicBool::new(false);
    let latencies = Mutex::new(Vec::with_capacity(a.uploads));
    let start = Instant::now();
    let deadline = start + Duration::from_secs(a.secs);
    std::thread::scope(|s| {
        for (d, queue) in queues.iter().enumerate() {
            let (a, sent, entries, errors, stop, latencies) = (&a, &sent, &entries, &errors, &stop, &latencies);
            s.spawn(move || {
                let agent = self::agent();
                let mut mine = Vec::new();
                let url = |n: usize| format!("{}/sync?device_id=load-{run:x}-{d}", a.addrs[(d + n) % a.addrs.len()]);
                let mut n = 0;
                while let Some(batch) = queue.lock().unwrap().pop_front() {
                    if stop.load(Relaxed)
                        || Instant::now() >= deadline
                        || sent.fetch_add(1, Relaxed) >= a.uploads as u64
                    {
                        stop.store(true, Relaxed);
                        break;
                    }
                    let began = Instant::now();
                    let (status, answer) = post(&agent, &url(n), "application/octet-stream", &batch);
                    mine.push(began.elapsed());
                    if status == 200 {
                        entries.fetch_add(answer["applied"].as_u64().unwrap_or(0), Relaxed);
                    } else {
                        errors.fetch_add(1, Relaxed);
                        eprintln!("upload {status}: {answer}");
                    }
                    n += 1;
                }
                latencies.lock().unwrap().extend(mine);
            });
        }
    });
    let elapsed = start.elapsed().as_secs_f64();
    let mut latencies = latencies.into_inner().unwrap();
    latencies.sort();
    let uploads = latencies.len();
    println!(
        "LOAD label={} instances={} devices={} batch={} uploads={uploads} errors={} secs={elapsed:.2} \
         uploads_per_s={:.0} entries_per_s={:.0} p50_ms={:.1} p99_ms={:.1}",
        a.label,
        a.addrs.len(),
        a.devices,
        a.batch,
        errors.load(Relaxed),
        uploads as f64 / elapsed,
        entries.load(Relaxed) as f64 / elapsed,
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
    );
}
