//! A durable write dirties few pages, and the format change that made it so
//! (schema 5: the pending queue bounds in the vault row instead of two
//! `meta` rows, records keyed by collection tag and row key instead of a
//! separate collection index) keeps every earlier vault readable.
//!
//! Page counts are read from the write-ahead log itself: after a truncating
//! checkpoint the log grows by one frame (a 24-byte header and a page) per
//! page a commit writes, which is deterministic for a given sequence of
//! writes (no clock, no timing).
#![allow(clippy::unwrap_used)]

use crate::common;

use common::{Device, PIN};
use offline_auth::OfflineSession;
use rusqlite::Connection;

/// `put` and `get` in "visits" (`into()` takes owned or borrowed arguments).
fn put(session: &OfflineSession, key: &str, value: &[u8]) {
    session.put("visits", key, value.into()).unwrap();
}

fn get(session: &OfflineSession, key: &str) -> Option<Vec<u8>> {
    session.get("visits", key).unwrap()
}

/// Frames the WAL of `path` holds (its size after a truncating checkpoint
/// is zero; a log has a 32-byte header before its frames).
fn wal_frames(path: &std::path::Path) -> u64 {
    let db = Connection::open(path).unwrap();
    let page = db.pragma_query_value(None, "page_size", |r| r.get::<_, i64>(0)).unwrap() as u64;
    let size = std::fs::metadata(path.with_extension("db-wal")).map_or(0, |m| m.len());
    size.saturating_sub(32) / (page + 24)
}

fn checkpoint(path: &std::path::Path) {
    let db = Connection::open(path).unwrap();
    let busy: i64 = db.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0)).unwrap();
    assert_eq!(busy, 0);
    assert_eq!(wal_frames(path), 0);
}

/// An edit (a `put` to a key already stored) writes the record's leaf, the
/// queue's leaf and the vault row's page: three pages, and now and then a
/// queue leaf split. Before schema 5 it also wrote the `meta` leaf (queue
/// bounds) and the collection index's leaf (`INSERT OR REPLACE` re-inserted
/// the index entry): 5.5 frames per edit on average.
#[test]
fn a_durable_edit_writes_at_most_three_and_a_half_wal_frames_on_average() {
    let device = Device::new();
    let (_vault, session) = device.enrolled();
    for i in 0..20 {
        put(&session, &format!("site-{i:02}"), &[i as u8; 256]);
    }
    checkpoint(&device.path());
    const EDITS: u64 = 40;
    for i in 0..EDITS {
        put(&session, &format!("site-{:02}", i % 20), &[0xEE; 256]);
    }
    let frames = wal_frames(&device.path());
    assert!(frames >= 3 * EDITS, "{frames} frames: an edit writes at least its three pages");
    assert!(frames * 2 <= 7 * EDITS, "{frames} frames for {EDITS} edits: more than 3.5 per edit");
}

/// A new record, in a vault small enough that no b-tree splits, writes
/// exactly three pages: the records' leaf, the queue's and the vault row's.
/// Before schema 5 it also wrote the collection index's leaf and the `meta`
/// leaf: five.
#[test]
fn a_new_record_writes_exactly_three_wal_frames_when_nothing_splits() {
    let device = Device::new();
    let (_vault, session) = device.enrolled();
    put(&session, "first", &[1; 16]);
    checkpoint(&device.path());
    for key in ["second", "third", "fourth"] {
        put(&session, key, &[2; 16]);
    }
    assert_eq!(wal_frames(&device.path()), 3 * 3);
}

/// A vault as schema 4 stored it (the queue bounds in `meta`, no bounds
/// columns in the vault row, records keyed by row key with a collection
/// index) opens, migrates, and keeps its records (read and listed) and its
/// pending count, which comes from the migrated bounds (not from counting
/// the queue's rows: here they differ).
#[test]
fn a_schema_4_vault_opens_with_its_records_and_its_pending_bounds() {
    let device = Device::new();
    {
        let (vault, session) = device.enrolled();
        for i in 0..3u8 {
            put(&session, &format!("site-{i}"), &[i; 40]);
        }
        session.lock();
        drop(vault);
    }
    // Back to schema 4, as that release wrote it: bounds (1, 3] in `meta`,
    // so 2 pending although the queue holds 3 rows.
    {
        let db = Connection::open(device.path()).unwrap();
        db.execute_batch(
            "INSERT INTO meta (key, value) VALUES ('queue_acked', 1), ('queue_head', 3);
             ALTER TABLE vault DROP COLUMN queue_acked;
             ALTER TABLE vault DROP COLUMN queue_head;
             CREATE TABLE records_4 (
                 location   BLOB PRIMARY KEY NOT NULL,
                 collection BLOB NOT NULL,
                 body       BLOB NOT NULL
             ) STRICT, WITHOUT ROWID;
             INSERT INTO records_4 SELECT location, collection, body FROM records;
             DROP TABLE records;
             ALTER TABLE records_4 RENAME TO records;
             CREATE INDEX records_by_collection ON records (collection);
             PRAGMA user_version = 4;",
        )
        .unwrap();
    }
    let vault = device.open();
    assert_eq!(vault.status().unwrap().pending_entries, 2);
    let db = Connection::open(device.path()).unwrap();
    let version: i64 = db.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
    let bounds: (i64, i64) =
        db.query_row("SELECT queue_acked, queue_head FROM vault", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    let meta: i64 =
        db.query_row("SELECT count(*) FROM meta WHERE key IN ('queue_acked', 'queue_head')", [], |r| r.get(0)).unwrap();
    let index: i64 = db
        .query_row("SELECT count(*) FROM sqlite_schema WHERE name = 'records_by_collection'", [], |r| r.get(0))
        .unwrap();
    assert_eq!((version, bounds, meta, index), (5, (1, 3), 0, 0));

    let session = vault.unlock(PIN.into()).unwrap();
    for i in 0..3u8 {
        assert_eq!(get(&session, &format!("site-{i}")), Some(vec![i; 40]));
    }
    assert_eq!(session.keys("visits").unwrap(), ["site-0", "site-1", "site-2"]);
    // The next write stores the state's own bounds there: nothing acked yet.
    put(&session, "site-3", &[3; 40]);
    assert_eq!(vault.status().unwrap().pending_entries, 4);
}
