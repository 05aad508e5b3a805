//! One upload cannot exhaust the verifier: peak extra memory while verifying
//! stays within 2x the batch size plus 1 MiB, for hostile batches that claim
//! huge counts and for the largest honest ones.
//!
//! Each case runs in a child process of this test binary, which resets its
//! peak RSS (`/proc/self/clear_refs`) once the batch is in memory and reads
//! `VmHWM` after `SyncVerifier::verify`: other tests' threads cannot disturb
//! the figure. Time per MiB is printed for the record (performance figures
//! come from `benches/`, not from assertions here).
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)] // a panic is how a test fails

mod common;

use std::time::Instant;

use common::*;
use hmac::{Hmac, Mac};
use offline_auth::MAX_BATCH_BYTES;
use offline_auth_backend::SyncCursor;
use serde::Serialize;
use sha2::Sha256;

#[derive(Serialize)]
enum Op {
    Put { collection: String, key: String, value: Vec<u8> },
}

#[derive(Serialize)]
struct Body {
    seq: u64,
    grant_id: String,
    time: i64,
    boots: u32,
    op: Op,
}

#[derive(Serialize)]
enum Entry {
    #[allow(dead_code)]
    V1(()),
    V2 {
        body: Body,
        mac: [u8; 32],
    },
}

#[derive(Serialize)]
enum Batch {
    #[allow(dead_code)]
    V1(()),
    V2 {
        device_id: String,
        grants: Vec<String>,
        entries: Vec<Entry>,
    },
}

fn encode(batch: &Batch) -> Vec<u8> {
    let mut bytes = b"OASB".to_vec();
    bytes.extend(postcard::to_stdvec(batch).unwrap());
    bytes
}

/// A valid batch of `count` entries with `value_len`-byte values.
fn honest(backend: &Backend, count: u64, value_len: usize) -> Vec<u8> {
    let grant = backend.grant(T0, 7);
    let jti = offline_auth_backend::verify_grant(&grant, &[backend.issuer.issuer_key()]).unwrap().grant_id;
    let mut prev = [0u8; 32];
    let entries = (1..=count)
        .map(|seq| {
            let op = Op::Put { collection: "visits".into(), key: format!("k{seq}"), value: vec![7; value_len] };
            let body = Body { seq, grant_id: jti.clone(), time: T0 + 10, boots: 0, op };
            let mut mac = Hmac::<Sha256>::new_from_slice(&backend.sync_key).unwrap();
            mac.update(&prev);
            mac.update(b"offline-auth/queue-entry/2");
            mac.update(&postcard::to_stdvec(&body).unwrap());
            prev = mac.finalize().into_bytes().into();
            Entry::V2 { body, mac: prev }
        })
        .collect();
    encode(&Batch::V2 { device_id: DEVICE.into(), grants: vec![grant], entries })
}

/// 16 MiB that declares sixteen million empty grants.
fn empty_grants() -> Vec<u8> {
    let mut bytes = b"OASB".to_vec();
    bytes.push(1); // V2
    bytes.extend(postcard::to_stdvec(DEVICE).unwrap());
    let count = MAX_BATCH_BYTES - bytes.len() - 8;
    bytes.extend(postcard::to_stdvec(&(count as u64)).unwrap());
    bytes.resize(MAX_BATCH_BYTES, 0);
    bytes
}

/// 16 MiB that declares a billion entries and is full of empty ones.
fn empty_entries() -> Vec<u8> {
    let mut bytes = b"OASB".to_vec();
    bytes.push(1);
    bytes.extend(postcard::to_stdvec(DEVICE).unwrap());
    bytes.push(0); // no grants
    bytes.extend(postcard::to_stdvec(&1_000_000_000u64).unwrap());
    while bytes.len() < MAX_BATCH_BYTES - 64 {
        // tag V2, seq 1, empty grant id, time 0, boots 0, Put, "", "", empty value, mac
        bytes.extend([1, 1, 0, 0, 0, 0, 0, 0, 0]);
        bytes.extend([0u8; 32]);
    }
    bytes
}

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

const CHILD_ENV: &str = "OFFLINE_AUTH_BATCH_MEMORY_CASE";

/// Run by `verifying_hostile_and_large_batches_stays_within_twice_their_size`.
#[test]
#[ignore = "run as a child process"]
fn batch_memory_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let backend = Backend::fixed();
    // Read from a file the parent wrote: one allocation of the batch's size,
    // and no freed memory for the verifier to reuse unseen.
    let bytes = std::fs::read(path).unwrap();
    let verifier = backend.verifier();
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    let baseline = status_kib("VmRSS:");
    let started = Instant::now();
    let len = bytes.len();
    let outcome = verifier.verify(&bytes, &backend.sync_key, &SyncCursor::initial());
    let elapsed = started.elapsed();
    let peak = status_kib("VmHWM:");
    let verdict = match &outcome {
        Ok(v) => format!("accepted {} operations", v.operations.len()),
        Err(e) => format!("{e}"),
    };
    println!(
        "RESULT {} {} {} {}",
        len,
        peak.saturating_sub(baseline) * 1024,
        elapsed.as_micros(),
        verdict.replace(' ', "_")
    );
}

#[test]
fn verifying_hostile_and_large_batches_stays_within_twice_their_size() {
    let backend = Backend::fixed();
    let dir = tempfile::tempdir().unwrap();
    for (case, should_accept, bytes) in [
        ("empty-grants", false, empty_grants()),
        ("empty-entries", false, empty_entries()),
        ("honest-10000-small", true, honest(&backend, 10_000, 16)),
        ("honest-10000-large", true, honest(&backend, 10_000, 1_500)),
    ] {
        let path = dir.path().join(case);
        std::fs::write(&path, bytes).unwrap();
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--ignored", "--exact", "batch_memory_child", "--nocapture"])
            .env(CHILD_ENV, &path)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let line = stdout.lines().find(|l| l.starts_with("RESULT ")).unwrap_or_else(|| panic!("{case}: {stdout}"));
        let fields: Vec<&str> = line.split(' ').collect();
        let (len, extra, micros): (u64, u64, u64) =
            (fields[1].parse().unwrap(), fields[2].parse().unwrap(), fields[3].parse().unwrap());
        let verdict = fields[4].replace('_', " ");
        let bound = 2 * len + 1024 * 1024;
        let mib = len as f64 / (1024.0 * 1024.0);
        println!(
            "{case}: {mib:.1} MiB batch, peak extra {:.1} MiB (bound {:.1}), {:.0} ms ({:.0} ms/MiB): {verdict}",
            extra as f64 / 1048576.0,
            bound as f64 / 1048576.0,
            micros as f64 / 1000.0,
            micros as f64 / 1000.0 / mib.max(0.001),
        );
        assert!(extra <= bound, "{case}: {extra} > {bound}");
        assert_eq!(verdict.starts_with("accepted"), should_accept, "{case}: {verdict}");
    }
}
