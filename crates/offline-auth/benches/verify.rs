//! Backend verification: `SyncVerifier::verify` over a batch of 1 000
//! entries whose operations are 200 bytes (collection 11 + key 13 + value
//! 176): the borrowing result (`ours_borrowed_1_thread`, what a Rust backend
//! gets) and the owned copy the bindings return (`ours_owned_1_thread`),
//! beside raw HMAC-SHA256 (keyed once, pads precomputed) over the same
//! number of entry-sized messages — the MAC chain is the irreducible work.
//! Then the same verification on 2 threads at once, to show scaling.
//!
//! `VERIFY_CPU=N` (e.g. `VERIFY_CPU=200 cargo bench -p offline-auth
//! --features bench-internals --bench verify`) skips criterion and times, on
//! one clock (this thread's CPU time, so other processes on a shared machine
//! cost nothing but cache), N interleaved rounds of every row: ours borrowed,
//! ours owned, the raw HMAC bound, and the parts of ours measured alone (our
//! exact MAC inputs chained, the batch decoded with no check, the grant's
//! Ed25519 check once per batch). It prints the CPU flags, the load at the
//! start and the end, the medians and the median of the per-round ratios.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, missing_docs)]

mod common;

use std::time::{Duration, Instant};

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use hmac::{Hmac, Mac};
use offline_auth_backend::{SyncCursor, SyncVerifier};
use offline_auth_proto::batch_reader::BatchReader;
use offline_auth_proto::crypto::{MacKey, SecretKey};
use offline_auth_proto::entry::chain_mac_over;
use sha2::Sha256;

const ENTRIES: u64 = 1_000;

/// Everything every row needs, built once.
struct Setup {
    batch: Vec<u8>,
    verifier: std::sync::Arc<SyncVerifier>,
    issuer_keys: Vec<offline_auth_backend::IssuerKey>,
    sync_key: Vec<u8>,
    /// Raw HMAC inputs: one entry's share of the batch each.
    messages: Vec<Vec<u8>>,
    _dir: tempfile::TempDir,
}

fn setup() -> Setup {
    let dir = common::scratch_dir();
    let fixture = common::Fixture::enrol(&dir.path().join("vault.db"));
    for i in 0..ENTRIES {
        fixture.session.put(common::COLLECTION, &common::key(i), common::value(176, i)).unwrap();
    }
    let batch = fixture.session.clone().sync_queue().next_batch(ENTRIES as u32).unwrap().unwrap();
    assert_eq!(u64::from(batch.entry_count), ENTRIES);
    let issuer_keys = vec![fixture.issuer.issuer_key()];
    let verifier = SyncVerifier::new(issuer_keys.clone()).unwrap();
    let entry_len = batch.bytes.len() / ENTRIES as usize;
    let messages = (0..ENTRIES).map(|i| common::value(entry_len, i)).collect();
    Setup { batch: batch.bytes, verifier, issuer_keys, sync_key: fixture.sync_key.clone(), messages, _dir: dir }
}

impl Setup {
    fn ours_borrowed(&self) -> usize {
        let verified = self.verifier.verify(&self.batch, &self.sync_key, &SyncCursor::initial()).unwrap();
        assert_eq!(verified.operations.len() as u64, ENTRIES);
        verified.operations.len()
    }

    fn ours_owned(&self) -> offline_auth_backend::VerifiedBatch {
        self.verifier.verify(&self.batch, &self.sync_key, &SyncCursor::initial()).unwrap().into_owned()
    }

    /// Raw HMAC-SHA256 over ENTRIES messages of one entry's share of the
    /// batch, each chained from the previous tag.
    fn raw_hmac(&self, keyed: &Hmac<Sha256>) -> [u8; 32] {
        let mut last = [0u8; 32];
        for message in &self.messages {
            let mut mac = keyed.clone();
            mac.update(&last);
            mac.update(message);
            last = mac.finalize().into_bytes().into();
        }
        last
    }
}

fn verify(c: &mut Criterion) {
    let s = setup();
    if let Some(rounds) = std::env::var_os("VERIFY_CPU") {
        cpu_rounds(&s, rounds.to_str().and_then(|n| n.parse().ok()).expect("VERIFY_CPU=<rounds>"));
        return;
    }
    let mut group = c.benchmark_group("verify_1000x200B");
    group.throughput(Throughput::Elements(ENTRIES));
    group.bench_function("ours_borrowed_1_thread", |b| b.iter(|| black_box(s.ours_borrowed())));
    group.bench_function("ours_owned_1_thread", |b| b.iter_with_large_drop(|| s.ours_owned()));
    let keyed = <Hmac<Sha256> as Mac>::new_from_slice(&s.sync_key).unwrap();
    group.bench_function("raw_hmac_sha256", |b| b.iter(|| black_box(s.raw_hmac(&keyed))));

    // One and two threads verifying at once (each reads the shared batch):
    // throughput counts every thread's entries.
    for threads in [1u64, 2] {
        group.throughput(Throughput::Elements(threads * ENTRIES));
        group.bench_function(format!("ours_{threads}_threads_parallel"), |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                std::thread::scope(|scope| {
                    for _ in 0..threads {
                        scope.spawn(|| {
                            for _ in 0..iters {
                                black_box(s.ours_borrowed());
                            }
                        });
                    }
                });
                start.elapsed().max(Duration::from_nanos(1))
            })
        });
    }
    group.finish();
}

/// This thread's CPU time spent in `f`, in nanoseconds.
fn cpu_ns(f: &mut dyn FnMut()) -> u64 {
    use rustix::time::{clock_gettime, ClockId};
    let start = clock_gettime(ClockId::ThreadCPUTime);
    f();
    let end = clock_gettime(ClockId::ThreadCPUTime);
    ((end.tv_sec - start.tv_sec) * 1_000_000_000 + (end.tv_nsec - start.tv_nsec)) as u64
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split(' ').take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// `rounds` rounds, each timing every row once in turn (one clock for all).
fn cpu_rounds(s: &Setup, rounds: usize) {
    let flags = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let flags: Vec<&str> = flags
        .lines()
        .find(|l| l.starts_with("flags"))
        .map(|l| {
            l.split_whitespace()
                .filter(|f| ["aes", "pclmulqdq", "vaes", "vpclmulqdq", "avx2", "avx512f", "sha_ni"].contains(f))
                .collect()
        })
        .unwrap_or_default();
    println!("CPU flags: {}", flags.join(" "));
    println!("load average at start: {}", load());
    let keyed = <Hmac<Sha256> as Mac>::new_from_slice(&s.sync_key).unwrap();
    let mac_key = MacKey::new(&SecretKey::from_slice(&s.sync_key).unwrap());
    let grant = BatchReader::open(&s.batch).unwrap().grants[0].to_owned();
    // Our MAC inputs exactly: each entry's body under its own domain,
    // chained from the previous entry's MAC as sent.
    let mac_only = || {
        let mut reader = BatchReader::open(&s.batch).unwrap();
        let mut prev = [0u8; 32];
        while let Some(entry) = reader.next_entry().unwrap() {
            black_box(chain_mac_over(&mac_key, &prev, entry.boots.is_some(), entry.body));
            prev = entry.mac;
        }
    };
    let decode_only = || {
        let mut reader = BatchReader::open(&s.batch).unwrap();
        while let Some(entry) = reader.next_entry().unwrap() {
            black_box(&entry);
        }
    };
    let names =
        ["ours_borrowed", "ours_owned", "raw_hmac_sha256", "our_macs_only", "decode_only", "grant_check_per_batch"];
    let mut samples: Vec<Vec<u64>> = vec![Vec::with_capacity(rounds); names.len()];
    for _ in 0..3 {
        black_box(s.ours_borrowed());
        black_box(s.raw_hmac(&keyed));
    }
    for _ in 0..rounds {
        samples[0].push(cpu_ns(&mut || {
            black_box(s.ours_borrowed());
        }));
        samples[1].push(cpu_ns(&mut || drop(black_box(s.ours_owned()))));
        samples[2].push(cpu_ns(&mut || {
            black_box(s.raw_hmac(&keyed));
        }));
        samples[3].push(cpu_ns(&mut || mac_only()));
        samples[4].push(cpu_ns(&mut || decode_only()));
        samples[5].push(cpu_ns(&mut || {
            black_box(offline_auth_backend::verify_grant(&grant, &s.issuer_keys).unwrap());
        }));
    }
    let ratio_to_raw = |row: usize| {
        let mut r: Vec<f64> =
            samples[2].iter().zip(&samples[row]).map(|(raw, ours)| *raw as f64 / *ours as f64).collect();
        r.sort_by(|a, b| a.partial_cmp(b).unwrap());
        r[r.len() / 2]
    };
    let medians: Vec<f64> = samples
        .iter()
        .map(|v| {
            let mut v = v.clone();
            v.sort_unstable();
            v[v.len() / 2] as f64
        })
        .collect();
    println!("{rounds} interleaved rounds of {ENTRIES} entries, thread CPU time, medians:");
    for (i, name) in names.iter().enumerate() {
        let per_batch = medians[i];
        let rate = ENTRIES as f64 * 1e9 / per_batch / 1e6;
        let ratio = if i == 2 { String::new() } else { format!(", raw/this {:.3}", ratio_to_raw(i)) };
        println!("  {name:<22} {:>8.1} µs per batch, {rate:.2} M entries/s{ratio}", per_batch / 1e3);
    }
    println!(
        "  bound (raw HMAC + one grant check per batch): {:.3}x the raw rate",
        medians[2] / (medians[2] + medians[5])
    );
    println!("load average at end: {}", load());
}

criterion_group! { name = benches; config = common::quick(); targets = verify }
criterion_main!(benches);
