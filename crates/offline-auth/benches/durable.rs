//! Durable `put` (record + queue entry, one transaction, WAL,
//! synchronous=FULL) beside the smallest durable SQLite write: a bare
//! rusqlite connection in WAL mode with synchronous=FULL committing one
//! 256-byte row per transaction, in the same directory on the same disk.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use criterion::{criterion_group, criterion_main, Criterion};

fn durable(c: &mut Criterion) {
    let mut group = c.benchmark_group("durable_put_256B");
    let dir = common::disk_dir();

    let fixture = common::Fixture::enrol(&dir.path().join("vault.db"));
    let value = common::value(256, 3);
    let mut i = 0u64;
    group.bench_function("ours", |b| {
        b.iter(|| {
            i += 1;
            fixture.session.put(common::COLLECTION.into(), common::key(i % 10_000), value.clone()).unwrap()
        })
    });

    let conn = rusqlite::Connection::open(dir.path().join("bare.db")).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "synchronous", "FULL").unwrap();
    conn.execute_batch("CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB NOT NULL)").unwrap();
    let mut insert = conn.prepare("INSERT OR REPLACE INTO t (k, v) VALUES (?1, ?2)").unwrap();
    let mut j = 0i64;
    group.bench_function("rusqlite_wal_full", |b| {
        b.iter(|| {
            j += 1;
            insert.execute(rusqlite::params![j % 10_000, value]).unwrap()
        })
    });
    group.finish();
}

criterion_group! { name = benches; config = common::quick(); targets = durable }
criterion_main!(benches);
