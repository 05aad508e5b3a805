//! Backend verification: `SyncVerifier::verify` over a batch of 1 000
//! entries whose operations are 200 bytes (collection 11 + key 13 + value
//! 176), its operations borrowed from the batch (and, `_owned`, copied out
//! as the bindings do), beside raw HMAC-SHA256 (keyed once, pads precomputed) over the same
//! number of entry-sized messages — the MAC chain is the irreducible work.
//! Then the same verification on 2 threads at once, to show scaling.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::time::{Duration, Instant};

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use hmac::{Hmac, Mac};
use offline_auth_backend::{SyncCursor, SyncVerifier};
use sha2::Sha256;

const ENTRIES: u64 = 1_000;

fn verify(c: &mut Criterion) {
    let dir = common::scratch_dir();
    let fixture = common::Fixture::enrol(&dir.path().join("vault.db"));
    for i in 0..ENTRIES {
        fixture.session.put(common::COLLECTION, &common::key(i), common::value(176, i)).unwrap();
    }
    let batch = fixture.session.clone().sync_queue().next_batch(ENTRIES as u32).unwrap().unwrap();
    assert_eq!(u64::from(batch.entry_count), ENTRIES);
    let verifier = SyncVerifier::new(vec![fixture.issuer.issuer_key()]).unwrap();
    let sync_key = fixture.sync_key.clone();
    let run = |bytes: &[u8]| {
        let verified = verifier.verify(bytes, &sync_key, &SyncCursor::initial()).unwrap();
        assert_eq!(verified.operations.len() as u64, ENTRIES);
        verified.operations.len()
    };

    let mut group = c.benchmark_group("verify_1000x200B");
    group.throughput(Throughput::Elements(ENTRIES));
    group.bench_function("ours_1_thread", |b| b.iter(|| black_box(run(&batch.bytes))));
    group.bench_function("ours_1_thread_owned", |b| {
        b.iter_with_large_drop(|| {
            verifier.verify(&batch.bytes, &sync_key, &SyncCursor::initial()).map(|v| v.into_owned()).unwrap()
        })
    });

    // Raw HMAC-SHA256 over ENTRIES messages of one entry's share of the batch.
    let entry_len = batch.bytes.len() / ENTRIES as usize;
    let messages: Vec<Vec<u8>> = (0..ENTRIES).map(|i| common::value(entry_len, i)).collect();
    let keyed = <Hmac<Sha256> as Mac>::new_from_slice(&sync_key).unwrap();
    group.bench_function("raw_hmac_sha256", |b| {
        b.iter(|| {
            let mut last = [0u8; 32];
            for message in &messages {
                let mut mac = keyed.clone();
                mac.update(&last);
                mac.update(message);
                last = mac.finalize().into_bytes().into();
            }
            black_box(last)
        })
    });

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
                                black_box(run(&batch.bytes));
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

criterion_group! { name = benches; config = common::quick(); targets = verify }
criterion_main!(benches);
