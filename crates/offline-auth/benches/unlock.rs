//! PIN unlock with 1 000, 10 000 and 100 000 stored records (each with its
//! queue entry still pending): unlock must cost the same whatever the data
//! size. The records are written through the real API on RAM-backed storage
//! (fast to fill), then the file is copied to disk and unlocked there.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::sync::Arc;

use offline_auth::PinVault;

fn filled_vault(records: u64, disk: &std::path::Path) -> Arc<PinVault> {
    let scratch = common::scratch_dir();
    let path = scratch.path().join("vault.db");
    let common::Fixture { keystore, config, vault, session, .. } = common::Fixture::enrol(&path);
    for i in 0..records {
        session.put(common::COLLECTION, &common::key(i), common::value(176, i)).unwrap();
    }
    session.lock();
    drop(session);
    drop(vault); // closes the connection: SQLite checkpoints the WAL into the file
    let target = disk.join(format!("vault-{records}.db"));
    std::fs::copy(&path, &target).unwrap();
    for suffix in ["-wal", "-shm"] {
        let side = scratch.path().join(format!("vault.db{suffix}"));
        if side.exists() {
            std::fs::copy(&side, disk.join(format!("vault-{records}.db{suffix}"))).unwrap();
        }
    }
    PinVault::open(target.to_string_lossy().into_owned(), keystore, config).unwrap()
}

fn unlock(c: &mut Criterion) {
    let disk = common::disk_dir();
    let mut group = c.benchmark_group("unlock");
    group.sample_size(10);
    for records in [1_000u64, 10_000, 100_000] {
        let vault = filled_vault(records, disk.path());
        assert_eq!(vault.status().unwrap().pending_entries, records);
        group.bench_with_input(BenchmarkId::from_parameter(records), &vault, |b, vault| {
            b.iter(|| vault.unlock(common::PIN.into()).unwrap().lock())
        });
    }
    group.finish();
}

criterion_group! { name = benches; config = common::quick(); targets = unlock }
criterion_main!(benches);
