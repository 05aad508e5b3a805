//! Durable `put` (record + queue entry, one transaction, WAL,
//! synchronous=FULL) beside the smallest durable SQLite write: a bare
//! rusqlite connection in WAL mode with synchronous=FULL committing one
//! 256-byte row per transaction, in the same directory on the same disk;
//! and beside a bare commit touching as many pages as `put` (the bound).
//! Then records per second through `put_many` (100 per call) against 100
//! separate `put`s. And `put` on a vault with an escrow key (each entry
//! also sealed with HPKE to the backend's key and stored beside the queue)
//! against the same `put` without, with the bytes each costs on disk.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use offline_auth::KeyValue;

/// Records per `put_many` call in the bulk figure.
const BULK: u64 = 100;

fn durable(c: &mut Criterion) {
    let mut group = c.benchmark_group("durable_put_256B");
    let dir = common::disk_dir();

    let fixture = common::Fixture::enrol(&dir.path().join("vault.db"));
    let value = common::value(256, 3);
    let mut i = 0u64;
    group.bench_function("ours", |b| {
        b.iter(|| {
            i += 1;
            fixture.session.put(common::COLLECTION, &common::key(i % 10_000), value.clone()).unwrap()
        })
    });

    // The same put with escrowed edits: one HPKE seal (X25519 + ChaCha20-
    // Poly1305) and one more row per entry.
    let escrowed = common::Fixture::enrol_escrowed(&dir.path().join("escrowed.db"));
    let mut e = 0u64;
    group.bench_function("ours_escrowed", |b| {
        b.iter(|| {
            e += 1;
            escrowed.session.put(common::COLLECTION, &common::key(e % 10_000), value.clone()).unwrap()
        })
    });
    report_escrow_bytes(&dir.path().join("escrowed.db"));

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

    // The page-count bound: one durable commit touching as many b-tree pages
    // as `put` does since schema 5 (the record row, keyed by collection tag
    // and row key; the queue row; the vault row with the sealed state and
    // the queue bounds), bare rusqlite, same pragmas.
    let conn3 = rusqlite::Connection::open(dir.path().join("bare3.db")).unwrap();
    conn3.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn3.pragma_update(None, "synchronous", "FULL").unwrap();
    conn3
        .execute_batch(
            "CREATE TABLE r (k INTEGER NOT NULL, c BLOB NOT NULL, v BLOB NOT NULL, PRIMARY KEY (c, k)) WITHOUT ROWID;
             CREATE TABLE q (k INTEGER PRIMARY KEY, v BLOB NOT NULL);
             CREATE TABLE s (k INTEGER PRIMARY KEY, v BLOB NOT NULL, a INTEGER NOT NULL, h INTEGER NOT NULL);",
        )
        .unwrap();
    let state = common::value(2048, 9);
    let mut n = 0i64;
    group.bench_function("rusqlite_wal_full_same_pages", |b| {
        b.iter(|| {
            n += 1;
            let tx = conn3.unchecked_transaction().unwrap();
            tx.prepare_cached("INSERT OR REPLACE INTO r (k, c, v) VALUES (?1, ?2, ?3)")
                .unwrap()
                .execute(rusqlite::params![n % 10_000, [1u8; 32], value])
                .unwrap();
            tx.prepare_cached("INSERT INTO q (k, v) VALUES (?1, ?2)")
                .unwrap()
                .execute(rusqlite::params![n, value])
                .unwrap();
            tx.prepare_cached("INSERT OR REPLACE INTO s (k, v, a, h) VALUES (1, ?1, 0, ?2)")
                .unwrap()
                .execute(rusqlite::params![&state, n])
                .unwrap();
            tx.commit().unwrap()
        })
    });
    group.finish();

    // Records per second: BULK records through one put_many, and through
    // BULK separate puts (each its own durable transaction).
    let mut group = c.benchmark_group("durable_bulk_256B");
    group.throughput(Throughput::Elements(BULK));
    let mut k = 0u64;
    group.bench_function("put_many_100", |b| {
        b.iter(|| {
            let records = (0..BULK)
                .map(|_| {
                    k += 1;
                    KeyValue { key: common::key(k % 10_000), value: value.clone() }
                })
                .collect::<Vec<_>>();
            fixture.session.put_many(common::COLLECTION, records).unwrap()
        })
    });
    group.bench_function("put_x100", |b| {
        b.iter(|| {
            for _ in 0..BULK {
                k += 1;
                fixture.session.put(common::COLLECTION, &common::key(k % 10_000), value.clone()).unwrap();
            }
        })
    });
    group.finish();
}

/// Prints what a pending entry costs on disk: its sealed queue row, and its
/// escrowed blob (the entry, its grant and the HPKE envelope).
fn report_escrow_bytes(path: &std::path::Path) {
    let db = rusqlite::Connection::open(path).unwrap();
    let average = |sql: &str| -> Option<f64> { db.query_row(sql, [], |r| r.get(0)).unwrap() };
    // Nothing written when a filter skipped the benchmark.
    if let (Some(queue), Some(escrow)) =
        (average("SELECT avg(length(body)) FROM queue"), average("SELECT avg(length(blob)) FROM escrow"))
    {
        eprintln!("escrow bytes per entry (256 B value): queue row {queue:.0} B, escrow blob {escrow:.0} B");
    }
}

/// The CPU cost escrow adds to a `put`, without the disk: sealing one entry
/// (256 B value, with a grant of the usual size) to an escrow key.
fn escrow_seal(c: &mut Criterion) {
    use offline_auth_proto::entry::{EntryBody, Operation, QueueEntry};
    use offline_auth_proto::escrow::{seal_entry, EscrowPlace};
    let (_, public) = offline_auth_backend::generate_escrow_key("escrow-1").unwrap();
    let op =
        Operation::Put { collection: common::COLLECTION.into(), key: common::key(1), value: common::value(256, 3) };
    let entry =
        QueueEntry { body: EntryBody { seq: 1, grant_id: "g".repeat(32), time: 0, boots: Some(1), op }, mac: [7; 32] };
    let grant = "g".repeat(320);
    let at = EscrowPlace { device_id: "tablet-42", enrolment: &[1; 16], seq: 1 };
    let mut group = c.benchmark_group("escrow_seal_256B");
    group.bench_function("hpke_x25519_chacha20poly1305", |b| {
        b.iter(|| seal_entry(&public, &at, &entry, &grant).unwrap())
    });
    group.finish();
}

criterion_group! { name = benches; config = common::quick(); targets = durable, escrow_seal }
criterion_main!(benches);
