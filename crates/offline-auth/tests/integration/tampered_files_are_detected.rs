//! A data tamperer (docs/THREAT_MODEL.md, T4) edits the
//! SQLite file behind the SDK's back.
//!
//! A second, plain `rusqlite` connection flips every byte of every stored
//! BLOB/TEXT value of `records`, `queue` and `vault` in turn (and nudges
//! every INTEGER), runs the SDK call that reads that value, and restores it.
//! Each call must fail with a typed error — never return other data, never
//! panic, never change anything (no attempt counted, no key rotated). Rows
//! are also swapped. Afterwards the untouched vault must still work.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)] // a panic is how a test fails

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use offline_auth::{OfflineSession, PinVault, VaultError};
use offline_auth_backend::SyncCursor;
use rusqlite::types::Value;
use rusqlite::{params, Connection};

/// Every table the SDK keeps, for before/after comparisons.
const TABLES: &[&str] = &["vault", "records", "queue", "meta", "retired_keys"];

/// The full contents of the database, table by table, in primary-key order.
type Snapshot = Vec<Vec<Vec<Value>>>;

fn snapshot(db: &Connection) -> Snapshot {
    TABLES
        .iter()
        .map(|table| {
            let mut stmt = db.prepare(&format!("SELECT * FROM {table} ORDER BY 1")).unwrap();
            let width = stmt.column_count();
            let rows = stmt
                .query_map([], |row| (0..width).map(|i| row.get::<_, Value>(i)).collect::<Result<Vec<_>, _>>())
                .unwrap();
            rows.map(Result::unwrap).collect()
        })
        .collect()
}

/// Column names of `table`, in order.
fn columns(db: &Connection, table: &str) -> Vec<String> {
    let mut stmt = db.prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid").unwrap();
    let names = stmt.query_map([table], |r| r.get(0)).unwrap();
    names.map(Result::unwrap).collect()
}

/// The values of `column` in `table`, keyed by the row's primary key.
fn cells(db: &Connection, table: &str, pk: &str, column: &str) -> Vec<(Value, Value)> {
    let mut stmt = db.prepare(&format!("SELECT {pk}, {column} FROM {table} ORDER BY {pk}")).unwrap();
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    rows.map(Result::unwrap).collect()
}

fn set_cell(db: &Connection, table: &str, pk: &str, key: &Value, column: &str, value: &Value) {
    let changed =
        db.execute(&format!("UPDATE {table} SET {column} = ?1 WHERE {pk} = ?2"), params![value, key]).unwrap();
    assert_eq!(changed, 1, "{table}.{column} at {key:?}");
}

/// The tampered versions of one stored value: each byte XOR 0x01 for
/// BLOB/TEXT, a few nearby and extreme numbers for INTEGER.
///
/// `failed_attempts` is never raised to the attempt limit here: a counter at
/// the limit wipes the vault before anything is checked, which is what it is
/// for (an attacker who can write the file can delete it anyway).
fn variants(column: &str, value: &Value) -> Vec<(String, Value)> {
    match value {
        Value::Blob(bytes) => (0..bytes.len())
            .map(|i| {
                let mut flipped = bytes.clone();
                flipped[i] ^= 0x01;
                (format!("byte {i} flipped"), Value::Blob(flipped))
            })
            .collect(),
        Value::Text(text) => {
            assert!(text.is_ascii(), "aliases are ASCII, so a flipped byte stays valid TEXT");
            (0..text.len())
                .map(|i| {
                    let mut flipped = text.clone().into_bytes();
                    flipped[i] ^= 0x01;
                    (format!("byte {i} flipped"), Value::Text(String::from_utf8(flipped).unwrap()))
                })
                .collect()
        }
        Value::Integer(n) => {
            let mut seen = BTreeSet::from([*n]);
            let far = if column == "failed_attempts" { i64::from(u32::MAX) + 1 } else { n.wrapping_add(1000) };
            [n.wrapping_add(1), n.wrapping_add(3), n.wrapping_sub(1), 0, -1, far, i64::MAX]
                .into_iter()
                .filter(|m| column != "failed_attempts" || !(10..=i64::from(u32::MAX)).contains(m))
                .filter(|m| seen.insert(*m))
                .map(|m| (format!("{n} -> {m}"), Value::Integer(m)))
                .collect()
        }
        Value::Null | Value::Real(_) => panic!("no column of ours is NULL or REAL here: {value:?}"),
    }
}

/// A record as the app wrote it.
#[derive(Clone, Debug, PartialEq)]
struct Rec {
    collection: &'static str,
    key: &'static str,
    value: Vec<u8>,
}

/// The device after a realistic day: records in two collections (one
/// overwritten, one deleted), a partly acknowledged queue, biometrics on and
/// one wrong PIN counted.
struct Fixture {
    device: Device,
    vault: Arc<PinVault>,
    session: Arc<OfflineSession>,
    db: Connection,
    /// Blinded row key → the record stored there.
    records: BTreeMap<Vec<u8>, Rec>,
    /// The backend's cursor after the acknowledged first batch.
    cursor: SyncCursor,
}

fn locations(db: &Connection) -> BTreeSet<Vec<u8>> {
    cells(db, "records", "location", "location")
        .into_iter()
        .map(|(_, location)| match location {
            Value::Blob(bytes) => bytes,
            other => panic!("location {other:?}"),
        })
        .collect()
}

fn setup() -> Fixture {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    let db = Connection::open(device.path()).unwrap();
    db.busy_timeout(Duration::from_secs(10)).unwrap();
    // Our own edits need not be durable; the SDK's connection keeps FULL.
    db.pragma_update(None, "synchronous", "OFF").unwrap();

    let mut records = BTreeMap::new();
    let writes: &[(&str, &str, &[u8])] = &[
        ("visits", "v1", b"pump station 4: pressure low"),
        ("visits", "v2", b"valve 12 replaced"),
        ("notes", "n1", b"call the depot back on Tuesday"),
        ("visits", "v1", b"pump station 4: fixed, pressure ok"),
        ("notes", "n2", b"gate code is in the office"),
        ("notes", "n3", b"temporary"),
        ("visits", "v3", b"meter 7 reads 10423"),
    ];
    for &(collection, key, value) in writes {
        let before = locations(&db);
        session.put(collection, key, value.to_vec()).unwrap();
        let rec = Rec { collection, key, value: value.to_vec() };
        match locations(&db).difference(&before).next() {
            Some(new) => assert!(records.insert(new.clone(), rec).is_none()),
            None => {
                let slot = records.values_mut().find(|r| r.collection == collection && r.key == key).unwrap();
                *slot = rec;
            }
        }
    }
    session.delete("notes", "n3").unwrap();
    let remaining = locations(&db);
    records.retain(|location, _| remaining.contains(location));
    assert_eq!(records.len(), 5);

    // The backend took the first two edits; six stay queued.
    let queue = session.clone().sync_queue();
    let batch = queue.next_batch(2).unwrap().unwrap();
    let verifier = device.backend.verifier();
    let verified = verifier.verify(&batch.bytes, &device.backend.sync_key, &SyncCursor::initial()).unwrap();
    assert_eq!(verified.operations.len(), 2);
    queue.acknowledge(verified.receipt).unwrap();
    assert_eq!(queue.pending_count().unwrap(), 6);

    session.enable_biometrics().unwrap();
    assert!(matches!(vault.unlock("730264".into()), Err(VaultError::WrongPin { attempts_remaining: 9 })));
    assert_eq!(vault.status().unwrap().failed_attempts, 1);

    Fixture { device, vault, session, db, records, cursor: verified.cursor }
}

/// Name of an error's variant, for the tally.
fn variant(error: &VaultError) -> String {
    let debug = format!("{error:?}");
    debug.split([' ', '{', '(']).next().unwrap_or_default().to_owned()
}

/// Counts what the tampered reads returned.
#[derive(Default)]
struct Tally {
    mutations: usize,
    reads: usize,
    errors: BTreeMap<String, usize>,
    violations: Vec<String>,
}

impl Tally {
    /// Notes an error result; `allowed` lists the variants this read may give.
    fn expect_err<T: std::fmt::Debug>(
        &mut self,
        what: &str,
        result: Result<T, VaultError>,
        allowed: &[&str],
    ) -> Result<(), String> {
        self.reads += 1;
        match result {
            Ok(value) => {
                let shown: String = format!("{value:?}").chars().take(160).collect();
                Err(format!("{what} succeeded: {shown}"))
            }
            Err(error) => {
                let name = variant(&error);
                *self.errors.entry(name.clone()).or_default() += 1;
                if allowed.contains(&name.as_str()) {
                    Ok(())
                } else {
                    Err(format!("{what} failed with {error:?}, expected one of {allowed:?}"))
                }
            }
        }
    }
}

/// What a record mutation must do to the reads.
#[derive(Default)]
struct Expect<'a> {
    /// `get` of these must fail with `Tampered`.
    broken: Vec<&'a Rec>,
    /// `get` of these may return nothing (the row left its place) or fail.
    vanished: Vec<&'a Rec>,
    /// `keys` of these collections must fail with `Tampered`.
    broken_lists: Vec<&'static str>,
}

/// Reads every record and lists both collections: only the expected reads
/// may fail, and no read may return data other than what was written.
fn check_records(fx: &Fixture, tally: &mut Tally, expect: &Expect<'_>) -> Result<(), String> {
    for rec in fx.records.values() {
        let got = fx.session.get(rec.collection, rec.key);
        let what = format!("get({}, {})", rec.collection, rec.key);
        if expect.broken.contains(&rec) {
            tally.expect_err(&what, got, &["Tampered"])?;
        } else if expect.vanished.contains(&rec) {
            tally.reads += 1;
            match got {
                Ok(None) => {}
                Ok(Some(value)) => return Err(format!("{what} read {value:?} from a moved row")),
                Err(_) => tally.expect_err(&what, got, &["Tampered"])?,
            }
        } else {
            tally.reads += 1;
            if got.as_ref() != Ok(&Some(rec.value.clone())) {
                return Err(format!("{what} of an untouched record returned {got:?}"));
            }
        }
    }
    for collection in ["visits", "notes"] {
        let listed = fx.session.keys(collection);
        let what = format!("keys({collection})");
        // A listing that misses (or finds extra) rows of its collection is
        // refused by the authenticated record set.
        let touched = fx
            .records
            .values()
            .any(|r| r.collection == collection && (expect.broken.contains(&r) || expect.vanished.contains(&r)));
        if expect.broken_lists.contains(&collection) || (touched && listed.is_err()) {
            tally.expect_err(&what, listed, &["Tampered"])?;
            continue;
        }
        tally.reads += 1;
        let listed = listed.map_err(|e| format!("{what} failed with {e:?}"))?;
        for key in &listed {
            if !fx.records.values().any(|r| r.collection == collection && r.key == key) {
                return Err(format!("{what} listed {key:?}, which was never written"));
            }
        }
        for rec in fx.records.values().filter(|r| r.collection == collection) {
            let affected = expect.broken.contains(&rec) || expect.vanished.contains(&rec);
            if !affected && !listed.iter().any(|k| k == rec.key) {
                return Err(format!("{what} lost the untouched key {}", rec.key));
            }
        }
    }
    Ok(())
}

fn check_queue(fx: &Fixture, tally: &mut Tally) -> Result<(), String> {
    let result = fx.session.clone().sync_queue().next_batch(100);
    tally.expect_err("next_batch(100)", result, &["Tampered"])
}

/// SDK calls that read the vault row.
#[derive(Clone, Copy, Debug)]
enum VaultRead {
    /// `unlock(PIN)`: must fail before the attempt is counted (no PBKDF2).
    Pin,
    /// `unlock(PIN)` with an edited counter, which may also hit the backoff
    /// (enforced from the stored counter before its MAC is checked).
    PinCounter,
    /// `unlock_with_biometrics()`.
    Biometric,
    /// `put`, which opens the sealed state.
    Put,
    /// `next_batch`, which opens the sealed state too.
    Batch,
}

/// Which reads use which column of `vault`.
fn vault_reads(column: &str) -> &'static [VaultRead] {
    use VaultRead::*;
    match column {
        "vault_id" => &[Pin, Biometric],
        "device_alias" | "device_wrap" | "last_failure_at" | "attempts_mac" | "pin_wrap" | "failure_mark" => &[Pin],
        // The epoch and the state binding are checked by every unlock and
        // by every load of the state in a session.
        "key_epoch" | "state_mac" => &[Pin, Biometric, Put, Batch],
        "failed_attempts" => &[PinCounter],
        "bio_alias" | "bio_wrap" => &[Biometric],
        "state" => &[Put, Batch, Biometric],
        // The pending queue bounds (schema 5; `meta` rows before): a hint
        // for `status()`'s pending count, which the sealed state overrides
        // at its next store; no read trusts them.
        "queue_acked" | "queue_head" => &[],
        other => panic!("vault column {other} is not covered by this test: add it"),
    }
}

/// An edited device alias names no keystore key: `DeviceKeyLost`, since the
/// vault cannot tell it from a key the platform deleted (nothing is counted
/// or changed either way); an edited device wrap is `Keystore` (unwrap failed).
fn check_vault(fx: &Fixture, tally: &mut Tally, reads: &[VaultRead]) -> Result<(), String> {
    for read in reads {
        match read {
            VaultRead::Pin => tally.expect_err(
                "unlock(PIN)",
                fx.vault.unlock(PIN.into()),
                &["Tampered", "Keystore", "DeviceKeyLost"],
            )?,
            VaultRead::PinCounter => tally.expect_err(
                "unlock(PIN)",
                fx.vault.unlock(PIN.into()),
                &["Tampered", "Keystore", "DeviceKeyLost", "LockedOut"],
            )?,
            VaultRead::Biometric => tally.expect_err(
                "unlock_with_biometrics()",
                fx.vault.unlock_with_biometrics(),
                &["Tampered", "Keystore", "DeviceKeyLost"],
            )?,
            VaultRead::Put => {
                tally.expect_err("put(visits, v9)", fx.session.put("visits", "v9", b"new".to_vec()), &["Tampered"])?
            }
            VaultRead::Batch => check_queue(fx, tally)?,
        }
    }
    Ok(())
}

/// Applies `mutate`, runs `check`, and makes sure the failed reads changed
/// nothing: not the database, not the keystore, not the session. Then `undo`.
fn tamper(
    fx: &Fixture,
    tally: &mut Tally,
    what: String,
    mutate: impl FnOnce(&Connection),
    check: impl FnOnce(&Fixture, &mut Tally) -> Result<(), String>,
    undo: impl FnOnce(&Connection),
) {
    tally.mutations += 1;
    mutate(&fx.db);
    let tampered = snapshot(&fx.db);
    let keys_before = fx.device.keystore.inner.key_count();
    let outcome = catch_unwind(AssertUnwindSafe(|| check(fx, tally)))
        .unwrap_or_else(|panic| Err(format!("panicked: {:?}", panic.downcast_ref::<String>())));
    let mut problems = Vec::new();
    if let Err(problem) = outcome {
        problems.push(problem);
    }
    if snapshot(&fx.db) != tampered {
        problems.push("the failed read changed the database".into());
    }
    if fx.device.keystore.inner.key_count() != keys_before {
        problems.push("the failed read changed the keystore".into());
    }
    if !fx.session.is_unlocked() {
        problems.push("the session got locked".into());
    }
    if !problems.is_empty() {
        tally.violations.push(format!("{what}: {}", problems.join("; ")));
    }
    undo(&fx.db);
}

/// Flips/nudges every value of `column` in every row of `table` in turn.
fn tamper_column(
    fx: &Fixture,
    tally: &mut Tally,
    table: &str,
    pk: &str,
    column: &str,
    check: &dyn Fn(&Fixture, &mut Tally, &Value) -> Result<(), String>,
) {
    for (key, original) in cells(&fx.db, table, pk, column) {
        if original == Value::Null {
            continue;
        }
        for (how, value) in variants(column, &original) {
            let taken: i64 = fx
                .db
                .query_row(&format!("SELECT count(*) FROM {table} WHERE {column} = ?1"), [&value], |r| r.get(0))
                .unwrap();
            if column == pk && taken > 0 {
                // Would collide with another row's key; that is a swap, tested below.
                continue;
            }
            // The row's key after the edit (it changes when the edited column is the key).
            let edited = if column == pk { value.clone() } else { key.clone() };
            tamper(
                fx,
                tally,
                format!("{table}.{column} of row {key:?}: {how}"),
                |db| set_cell(db, table, pk, &key, column, &value),
                |fx, tally| check(fx, tally, &key),
                |db| set_cell(db, table, pk, &edited, column, &original),
            );
        }
    }
}

fn blob(value: &Value) -> Vec<u8> {
    match value {
        Value::Blob(bytes) => bytes.clone(),
        other => panic!("expected a BLOB, got {other:?}"),
    }
}

fn report(name: &str, tally: &Tally, started: Instant) {
    println!(
        "{name}: {} mutations, {} reads, errors {:?}, {} violations, {:.1} s",
        tally.mutations,
        tally.reads,
        tally.errors,
        tally.violations.len(),
        started.elapsed().as_secs_f64()
    );
    let shown: Vec<&String> = tally.violations.iter().take(20).collect();
    assert!(tally.violations.is_empty(), "{} violations, first ones:\n{shown:#?}", tally.violations.len());
}

/// The untouched vault still reads back exactly what was written, its queue
/// verifies at the backend, and both unlock paths work.
fn assert_intact(fx: &Fixture, original: &Snapshot) {
    assert!(snapshot(&fx.db) == *original, "every mutation was restored");
    for rec in fx.records.values() {
        assert_eq!(fx.session.get(rec.collection, rec.key).unwrap(), Some(rec.value.clone()));
    }
    assert_eq!(fx.session.keys("visits").unwrap(), ["v1", "v2", "v3"]);
    assert_eq!(fx.session.keys("notes").unwrap(), ["n1", "n2"]);
    let batch = fx.session.clone().sync_queue().next_batch(100).unwrap().unwrap();
    assert_eq!((batch.first_seq, batch.last_seq), (3, 8));
    let verifier = fx.device.backend.verifier();
    let verified = verifier.verify(&batch.bytes, &fx.device.backend.sync_key, &fx.cursor).unwrap();
    assert_eq!(verified.operations.len(), 6);
    let last = verified.operations.last().unwrap();
    assert_eq!((last.collection, last.key, last.value), ("notes", "n3", None));

    assert_eq!(fx.vault.status().unwrap().failed_attempts, 1, "no tampered unlock counted an attempt");
    let by_bio = fx.vault.unlock_with_biometrics().unwrap();
    assert_eq!(by_bio.get("notes", "n1").unwrap().unwrap(), b"call the depot back on Tuesday");
    let by_pin = fx.vault.unlock(PIN.into()).unwrap();
    assert_eq!(by_pin.get("visits", "v2").unwrap().unwrap(), b"valve 12 replaced");
    assert_eq!(fx.vault.status().unwrap().failed_attempts, 0);
}

/// Flip every byte of every record row (blinded location, collection tag,
/// sealed body), one at a time: the read of that row fails with `Tampered`,
/// every other record still reads back exactly, nothing reads wrong data.
#[test]
fn every_flipped_byte_of_a_record_is_tampered() {
    let started = Instant::now();
    let fx = setup();
    let original = snapshot(&fx.db);
    let mut tally = Tally::default();
    let mut columns_seen = columns(&fx.db, "records");
    columns_seen.sort();
    assert_eq!(columns_seen, ["body", "collection", "location"], "a new column needs a case here");

    for column in ["location", "collection", "body"] {
        let check = |fx: &Fixture, tally: &mut Tally, key: &Value| {
            let rec = &fx.records[&blob(key)];
            let expect = match column {
                // The row left its place: `get` finds nothing there, listing its collection fails.
                "location" => Expect { vanished: vec![rec], broken_lists: vec![rec.collection], ..Expect::default() },
                // The row no longer lists under its collection, and reading it fails.
                "collection" => Expect { broken: vec![rec], ..Expect::default() },
                _ => Expect { broken: vec![rec], broken_lists: vec![rec.collection], ..Expect::default() },
            };
            check_records(fx, tally, &expect)
        };
        tamper_column(&fx, &mut tally, "records", "location", column, &check);
    }
    report("records", &tally, started);
    assert!(tally.mutations > 5 * (32 + 32 + 40), "every byte of five rows was tried");
    assert_intact(&fx, &original);
}

/// Flip every byte of every queued entry, and move entries to other seqs
/// (including dropping the newest one off the end): `next_batch` refuses to
/// hand out anything.
#[test]
fn every_flipped_byte_of_a_queue_entry_is_tampered() {
    let started = Instant::now();
    let fx = setup();
    let original = snapshot(&fx.db);
    let mut tally = Tally::default();
    let mut columns_seen = columns(&fx.db, "queue");
    columns_seen.sort();
    assert_eq!(columns_seen, ["body", "seq"], "a new column needs a case here");

    for column in ["body", "seq"] {
        tamper_column(&fx, &mut tally, "queue", "seq", column, &|fx, tally, _| check_queue(fx, tally));
    }
    report("queue", &tally, started);
    assert!(tally.mutations > 6 * 80, "every byte of six entries was tried");
    assert_intact(&fx, &original);
}

/// Flip every byte of the enrolment row (vault id, device key alias and
/// wrap, attempt MAC, PIN wrap, biometric alias and wrap, sealed state) and
/// change the attempt counter and last-failure time: the PIN path fails with
/// `Tampered`/`Keystore` *before* an attempt is counted or a key rotated,
/// the biometric path and writes fail, and nothing changes.
#[test]
fn every_flipped_byte_of_the_vault_row_is_caught_before_anything_changes() {
    let started = Instant::now();
    let fx = setup();
    let original = snapshot(&fx.db);
    let mut tally = Tally::default();

    for column in columns(&fx.db, "vault") {
        if column == "id" {
            continue; // CHECK (id = 1): SQLite itself refuses other values.
        }
        let reads = vault_reads(&column);
        tamper_column(&fx, &mut tally, "vault", "id", &column, &|fx, tally, _| check_vault(fx, tally, reads));
    }
    // Half a biometric pair is as bad as a wrong one.
    let bio_alias = original_cell(&fx.db, "bio_alias");
    tamper(
        &fx,
        &mut tally,
        "vault.bio_alias set to NULL".into(),
        |db| set_cell(db, "vault", "id", &Value::Integer(1), "bio_alias", &Value::Null),
        |fx, tally| check_vault(fx, tally, &[VaultRead::Biometric, VaultRead::Pin]),
        |db| set_cell(db, "vault", "id", &Value::Integer(1), "bio_alias", &bio_alias),
    );
    report("vault", &tally, started);
    assert!(tally.mutations > 500, "every byte of the vault row was tried");
    assert_intact(&fx, &original);
}

/// The stored value of `column` of the vault row.
fn original_cell(db: &Connection, column: &str) -> Value {
    cells(db, "vault", "id", column).remove(0).1
}

/// Swap whole stored values between rows: two record bodies in one
/// collection, two records across collections (their locations), two queue
/// entries. Each swapped read fails with `Tampered`.
#[test]
fn swapped_rows_are_tampered() {
    let started = Instant::now();
    let fx = setup();
    let original = snapshot(&fx.db);
    let mut tally = Tally::default();
    let find = |collection: &str, key: &str| {
        let (location, _) = fx.records.iter().find(|(_, r)| r.collection == collection && r.key == key).unwrap();
        Value::Blob(location.clone())
    };
    let body_of = |location: &Value| -> Value {
        fx.db.query_row("SELECT body FROM records WHERE location = ?1", [location], |r| r.get(0)).unwrap()
    };
    let rec = |location: &Value| &fx.records[&blob(location)];

    // Two bodies in the same collection.
    let (v1, v2) = (find("visits", "v1"), find("visits", "v2"));
    let (b1, b2) = (body_of(&v1), body_of(&v2));
    tamper(
        &fx,
        &mut tally,
        "records: bodies of visits/v1 and visits/v2 swapped".into(),
        |db| {
            set_cell(db, "records", "location", &v1, "body", &b2);
            set_cell(db, "records", "location", &v2, "body", &b1);
        },
        |fx, tally| {
            check_records(
                fx,
                tally,
                &Expect { broken: vec![rec(&v1), rec(&v2)], broken_lists: vec!["visits"], ..Expect::default() },
            )
        },
        |db| {
            set_cell(db, "records", "location", &v1, "body", &b1);
            set_cell(db, "records", "location", &v2, "body", &b2);
        },
    );

    // A visit and a note trade places: each row's collection tag and body now
    // sit under the other's location.
    let n1 = find("notes", "n1");
    let swap_locations = |db: &Connection, a: &Value, b: &Value| {
        let parked = Value::Blob(vec![0; 32]);
        set_cell(db, "records", "location", a, "location", &parked);
        set_cell(db, "records", "location", b, "location", a);
        set_cell(db, "records", "location", &parked, "location", b);
    };
    tamper(
        &fx,
        &mut tally,
        "records: locations of visits/v1 and notes/n1 swapped".into(),
        |db| swap_locations(db, &v1, &n1),
        |fx, tally| {
            let expect =
                Expect { broken: vec![rec(&v1), rec(&n1)], broken_lists: vec!["visits", "notes"], ..Expect::default() };
            check_records(fx, tally, &expect)
        },
        |db| swap_locations(db, &v1, &n1),
    );

    // Two queue entries trade seqs (the first and the last pending one, and
    // two neighbours).
    let seqs: Vec<Value> = cells(&fx.db, "queue", "seq", "seq").into_iter().map(|(k, _)| k).collect();
    assert_eq!(seqs.len(), 6);
    let swap_seqs = |db: &Connection, a: &Value, b: &Value| {
        let parked = Value::Integer(1_000_000);
        set_cell(db, "queue", "seq", a, "seq", &parked);
        set_cell(db, "queue", "seq", b, "seq", a);
        set_cell(db, "queue", "seq", &parked, "seq", b);
    };
    for (a, b) in [(&seqs[0], &seqs[5]), (&seqs[2], &seqs[3])] {
        tamper(
            &fx,
            &mut tally,
            format!("queue: entries {a:?} and {b:?} swapped"),
            |db| swap_seqs(db, a, b),
            check_queue,
            |db| swap_seqs(db, a, b),
        );
    }
    report("swaps", &tally, started);
    assert_eq!(tally.mutations, 4);
    assert_intact(&fx, &original);
}

/// Deleting queued entries — from the middle, the newest one, or all that
/// are pending — is caught by `next_batch` (`Tampered`) rather than sending
/// a shorter batch that silently drops edits.
#[test]
fn deleted_queue_entries_are_tampered() {
    let started = Instant::now();
    let fx = setup();
    let original = snapshot(&fx.db);
    let mut tally = Tally::default();
    let stored: Vec<(i64, Value)> = cells(&fx.db, "queue", "seq", "body")
        .into_iter()
        .map(|(seq, body)| match seq {
            Value::Integer(n) => (n, body),
            other => panic!("seq {other:?}"),
        })
        .collect();
    assert_eq!(stored.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(), [3, 4, 5, 6, 7, 8]);
    let reinsert = |db: &Connection, from: i64, to: i64| {
        for (seq, body) in stored.iter().filter(|(seq, _)| (from..=to).contains(seq)) {
            db.execute("INSERT INTO queue (seq, body) VALUES (?1, ?2)", params![seq, body]).unwrap();
        }
    };
    let cases =
        [(5, 5, "a middle entry"), (8, 8, "the newest entry"), (7, 8, "the two newest"), (3, 8, "every pending entry")];
    for (from, to, what) in cases {
        tamper(
            &fx,
            &mut tally,
            format!("queue: {what} ({from}..={to}) deleted"),
            |db| {
                db.execute("DELETE FROM queue WHERE seq BETWEEN ?1 AND ?2", [from, to]).unwrap();
            },
            check_queue,
            |db| reinsert(db, from, to),
        );
    }
    report("deletions", &tally, started);
    assert_eq!(tally.mutations, 4);
    assert_intact(&fx, &original);
}

/// The authenticated record set: an older ciphertext of the same row, or a
/// deleted row, is refused — including after reopening the file.
#[test]
fn an_older_copy_of_a_record_or_a_deleted_row_is_tampered() {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    session.put("visits", "v1", b"first version".to_vec()).unwrap();
    let db = Connection::open(device.path()).unwrap();
    let (location, old): (Vec<u8>, Vec<u8>) =
        db.query_row("SELECT location, body FROM records", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    session.put("visits", "v2", b"other".to_vec()).unwrap();
    session.put("visits", "v1", b"second version".to_vec()).unwrap();

    // Put the first version back.
    db.execute("UPDATE records SET body = ?1 WHERE location = ?2", params![old, location]).unwrap();
    assert_eq!(session.get("visits", "v1"), Err(VaultError::Tampered));
    assert_eq!(session.keys("visits"), Err(VaultError::Tampered));
    assert_eq!(session.put("visits", "v1", b"third".to_vec()), Err(VaultError::Tampered));
    // Still refused by a fresh process-level view of the file.
    session.lock();
    drop((session, vault));
    let vault = device.open();
    let session = vault.unlock(PIN.into()).unwrap();
    assert_eq!(session.get("visits", "v2"), Err(VaultError::Tampered), "the whole set fails to verify");

    // Deleting the row instead is refused too.
    db.execute("DELETE FROM records WHERE location = ?1", [&location]).unwrap();
    assert_eq!(session.get("visits", "v1"), Err(VaultError::Tampered));
    assert_eq!(session.get("visits", "v2"), Err(VaultError::Tampered));
}
