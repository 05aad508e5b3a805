//! The bulk calls (`get_many`, `put_many`, `entries`): one crossing for one
//! user action, bounded, typed errors, and `put_many` all or nothing.
//!
//! "Nothing written" is checked on the file itself: every row of every table
//! through a separate `rusqlite` connection, before and after.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)] // a panic is how a test fails

use crate::common;

use common::*;
use offline_auth::{KeyValue, VaultError, MAX_BULK_BYTES, MAX_BULK_RECORDS, MAX_KEY_LEN, MAX_VALUE_LEN};
use offline_auth_backend::SyncCursor;
use rusqlite::types::Value;

fn kv(key: &str, value: &[u8]) -> KeyValue {
    KeyValue { key: key.into(), value: value.to_vec() }
}

/// Every row of every table, read through a connection of our own.
fn rows(device: &Device) -> Vec<(String, Vec<Vec<Value>>)> {
    all_rows(&device.path())
}

#[test]
fn put_many_writes_every_record_and_queues_every_edit_in_order() {
    let device = Device::new();
    let (_vault, session) = device.enrolled();
    session.put("visits", "a", b"old a".to_vec()).unwrap();
    let last =
        session.put_many("visits", vec![kv("c", b"3"), kv("a", b"new a"), kv("b", b""), kv("d", &[7; 1000])]).unwrap();
    assert_eq!(last, 5, "one seq per record, consecutive after the put's 1");
    assert_eq!(
        session.get_many("visits", &["a".into(), "zz".into(), "d".into(), "b".into(), "c".into()]).unwrap(),
        vec![Some(b"new a".to_vec()), None, Some(vec![7; 1000]), Some(vec![]), Some(b"3".to_vec())]
    );
    assert_eq!(
        session.entries("visits").unwrap(),
        vec![kv("a", b"new a"), kv("b", b""), kv("c", b"3"), kv("d", &[7; 1000])]
    );
    assert_eq!(session.keys("visits").unwrap(), ["a", "b", "c", "d"]);
    assert_eq!(session.entries("notes").unwrap(), vec![]);
    assert_eq!(session.get_many("notes", &[]).unwrap(), Vec::<Option<Vec<u8>>>::new());

    // The queue holds the five edits as a chain the backend verifies, in the order given.
    let batch = session.clone().sync_queue().next_batch(100).unwrap().unwrap();
    assert_eq!((batch.first_seq, batch.last_seq), (1, 5));
    let verified =
        device.backend.verifier().verify(&batch.bytes, &device.backend.sync_key, &SyncCursor::initial()).unwrap();
    let keys: Vec<&str> = verified.operations.iter().map(|o| o.key).collect();
    assert_eq!(keys, ["a", "c", "a", "b", "d"]);
    assert_eq!(verified.operations[2].value, Some(&b"new a"[..]));

    // A later single put continues the chain; a reopened session reads the same.
    assert_eq!(session.put("visits", "e", b"5".to_vec()).unwrap(), 6);
    session.lock();
    let session = device.open().unlock(PIN.into()).unwrap();
    assert_eq!(session.get_many("visits", &["a".into(), "e".into()]).unwrap().len(), 2);
    assert_eq!(session.entries("visits").unwrap().len(), 5);
}

#[test]
fn put_many_refuses_bad_input_before_writing_anything() {
    let device = Device::new();
    let (_vault, session) = device.enrolled();
    session.put("visits", "kept", b"v".to_vec()).unwrap();
    let before = rows(&device);
    let ok = || kv("fine", b"ok");
    let too_many: Vec<KeyValue> = (0..=MAX_BULK_RECORDS).map(|i| kv(&format!("k{i}"), b"")).collect();
    let too_big: Vec<KeyValue> =
        (0..(MAX_BULK_BYTES / MAX_VALUE_LEN as u64 + 1)).map(|i| kv(&format!("k{i}"), &[1; MAX_VALUE_LEN])).collect();
    let cases: Vec<(&str, String, Vec<KeyValue>)> = vec![
        ("no records", "visits".into(), vec![]),
        ("too many records", "visits".into(), too_many),
        ("too many bytes", "visits".into(), too_big),
        // The bad record comes last: an implementation writing as it goes would leave the first ones.
        ("oversized value", "visits".into(), vec![ok(), kv("x", &[0; MAX_VALUE_LEN + 1])]),
        ("empty key", "visits".into(), vec![ok(), kv("", b"v")]),
        ("oversized key", "visits".into(), vec![ok(), kv(&"k".repeat(MAX_KEY_LEN + 1), b"v")]),
        ("duplicate key", "visits".into(), vec![ok(), kv("other", b""), kv("fine", b"again")]),
        ("empty collection", String::new(), vec![ok()]),
        ("collection outside the grant's scope", "payroll".into(), vec![ok(), kv("x", b"y")]),
    ];
    for (what, collection, records) in cases {
        let result = session.put_many(&collection, records);
        assert!(matches!(result, Err(VaultError::InvalidInput { .. })), "{what}: {result:?}");
        assert!(rows(&device) == before, "{what}: the file changed");
    }
    assert_eq!(session.get("visits", "fine").unwrap(), None);
    assert_eq!(session.keys("visits").unwrap(), ["kept"]);
}

#[test]
fn get_many_and_entries_are_bounded_and_typed() {
    let device = Device::new();
    let (_vault, session) = device.enrolled();
    let too_many: Vec<String> = (0..=MAX_BULK_RECORDS).map(|i| format!("k{i}")).collect();
    assert!(matches!(session.get_many("visits", &too_many), Err(VaultError::InvalidInput { .. })));
    assert!(matches!(session.get_many("visits", &[String::new()]), Err(VaultError::InvalidInput { .. })));
    assert!(matches!(session.entries(""), Err(VaultError::InvalidInput { .. })));

    // A collection over the byte limit is refused whole by entries and get_many; keys still lists it.
    let per_call = (MAX_BULK_BYTES / MAX_VALUE_LEN as u64) as usize - 1;
    let mut names = Vec::new();
    for round in 0..2 {
        let records: Vec<KeyValue> =
            (0..per_call).map(|i| kv(&format!("r{round}-{i:03}"), &[round as u8; MAX_VALUE_LEN])).collect();
        names.extend(records.iter().map(|r| r.key.clone()));
        session.put_many("notes", records).unwrap();
    }
    assert!(matches!(session.entries("notes"), Err(VaultError::InvalidInput { .. })));
    assert!(matches!(session.get_many("notes", &names), Err(VaultError::InvalidInput { .. })));
    assert_eq!(session.keys("notes").unwrap().len(), names.len());
    assert_eq!(session.get_many("notes", &names[..per_call]).unwrap().len(), per_call);

    // Locked: SessionLocked, as every data call.
    session.lock();
    assert!(matches!(session.get_many("visits", &["a".into()]), Err(VaultError::SessionLocked)));
    assert!(matches!(session.put_many("visits", vec![kv("a", b"")]), Err(VaultError::SessionLocked)));
    assert!(matches!(session.entries("visits"), Err(VaultError::SessionLocked)));
}

#[test]
fn key_value_debug_shows_no_value() {
    let printed = format!("{:?}", kv("station-4", b"PLAINTEXT secret"));
    assert!(printed.contains("station-4") && !printed.contains("PLAINTEXT"), "{printed}");
}
