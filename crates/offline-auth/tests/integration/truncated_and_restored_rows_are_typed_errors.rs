//! The tamper matrix: truncations and restored older
//! copies of every stored cell, plus resurrected deleted rows.
//!
//! `tests/integration/tampered_files_are_detected.rs` flips every byte of every cell and swaps rows;
//! this file covers the other mutations of the matrix, for every table and
//! blob (records, queue entries, the wraps and attempt counter, and the sealed
//! state — grant, trusted time, chain head — in `vault`):
//! - **truncate** each BLOB/TEXT cell to 0, 1, half and all-but-one bytes;
//! - **restore an older copy** of each cell that changed since two earlier
//!   snapshots (before later edits, and with one wrong PIN counted);
//! - **resurrect** a deleted record row and acknowledged queue rows.
//!
//! Each mutation is applied to a copy of the vault (file and keystore state
//! restored between mutations), then a fresh `PinVault` is opened and unlocked
//! with the PIN, the records listed and read, and a batch verified by the
//! backend. Outcomes: a typed error (any `VaultError`) or the current data
//! (the mutated cell is not read by those calls). Never a panic, never data
//! that was not stored, and — since the record set is authenticated — never
//! stale data (an older value that was once stored) either.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)] // a panic is how a test fails

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

use common::*;
use offline_auth::{KeyProtection, KeystoreError, PinVault, PlatformKeystore, SoftwareKeystore, VaultError};
use offline_auth_backend::{BackendError, SyncCursor, SyncVerifier};
use rusqlite::types::Value;
use rusqlite::{params, Connection};

/// A software keystore whose deletions can be rolled back with the file, so
/// each mutation starts from the same vault. Deleted aliases stay deleted
/// for the probe (unwrap gives `KeyNotFound`), as on a platform keystore.
struct RollbackKeystore {
    inner: Arc<SoftwareKeystore>,
    deleted: Mutex<BTreeSet<String>>,
}

impl PlatformKeystore for RollbackKeystore {
    fn wrap(&self, alias: String, protection: KeyProtection, plaintext: Vec<u8>) -> Result<Vec<u8>, KeystoreError> {
        self.inner.wrap(alias, protection, plaintext)
    }
    fn unwrap(&self, alias: String, protection: KeyProtection, wrapped: Vec<u8>) -> Result<Vec<u8>, KeystoreError> {
        if self.deleted.lock().unwrap().contains(&alias) {
            return Err(KeystoreError::KeyNotFound);
        }
        self.inner.unwrap(alias, protection, wrapped)
    }
    fn delete_key(&self, alias: String) -> Result<(), KeystoreError> {
        self.deleted.lock().unwrap().insert(alias);
        Ok(())
    }
}

/// Every row of the three data tables, keyed by (table, primary key).
type Rows = BTreeMap<(String, Vec<u8>), Vec<(String, Value)>>;

const TABLES: &[(&str, &str)] = &[("vault", "id"), ("records", "location"), ("queue", "seq")];

fn pk_bytes(value: &Value) -> Vec<u8> {
    match value {
        Value::Integer(i) => i.to_be_bytes().to_vec(),
        Value::Blob(b) => b.clone(),
        other => format!("{other:?}").into_bytes(),
    }
}

fn rows(conn: &Connection) -> Rows {
    let mut all = Rows::new();
    for (table, pk) in TABLES {
        let mut stmt = conn.prepare(&format!("SELECT * FROM {table}")).unwrap();
        let names: Vec<String> = stmt.column_names().map(|s| s.to_string()).collect();
        let pk_index = names.iter().position(|n| n == pk).unwrap();
        let mut query = stmt.query([]).unwrap();
        while let Some(row) = query.next().unwrap() {
            let cells: Vec<(String, Value)> =
                names.iter().enumerate().map(|(i, n)| (n.clone(), row.get::<_, Value>(i).unwrap())).collect();
            all.insert((table.to_string(), pk_bytes(&cells[pk_index].1)), cells);
        }
    }
    all
}

/// What the app can see: records and the pending operations as the backend verifies them.
#[derive(Debug, Clone, PartialEq)]
struct View {
    records: BTreeMap<String, Vec<u8>>,
    pending: Vec<(u64, String, Option<Vec<u8>>)>,
}

/// A failure of the device or of the backend, shown as its variant.
enum Failure {
    Device(VaultError),
    Backend(BackendError),
}

impl std::fmt::Debug for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Device(error) => error.fmt(f),
            Failure::Backend(error) => error.fmt(f),
        }
    }
}

impl From<VaultError> for Failure {
    fn from(error: VaultError) -> Self {
        Failure::Device(error)
    }
}

impl From<BackendError> for Failure {
    fn from(error: BackendError) -> Self {
        Failure::Backend(error)
    }
}

struct World {
    device: Device,
    keystore: Arc<RollbackKeystore>,
    verifier: Arc<SyncVerifier>,
    cursor: SyncCursor,
    file: Vec<u8>,
    deleted: BTreeSet<String>,
}

impl World {
    fn open(&self) -> Result<Arc<PinVault>, VaultError> {
        PinVault::open_with_clock(
            self.device.path_str(),
            self.keystore.clone(),
            self.device.clock.clone(),
            self.device.backend.config(),
        )
    }

    /// Puts back the saved file and keystore state.
    fn restore(&self) {
        let path = self.device.path();
        for suffix in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        std::fs::write(&path, &self.file).unwrap();
        *self.keystore.deleted.lock().unwrap() = self.deleted.clone();
    }

    /// Opens, unlocks with the PIN and reads everything.
    fn view(&self) -> Result<View, Failure> {
        let vault = self.open()?;
        vault.status()?;
        let session = vault.unlock(PIN.into())?;
        let mut records = BTreeMap::new();
        for key in session.keys("visits")? {
            let value = session.get("visits", &key)?.ok_or(VaultError::Tampered)?;
            records.insert(key, value);
        }
        for key in ["k1", "k2", "k3", "k4"] {
            if let Some(value) = session.get("visits", key)? {
                assert_eq!(records.get(key), Some(&value), "get and keys disagree on {key}");
            }
        }
        let queue = session.clone().sync_queue();
        let pending = match queue.next_batch(100)? {
            Some(batch) => {
                let verified = self.verifier.verify(&batch.bytes, &self.device.backend.sync_key, &self.cursor);
                let verified = verified?;
                verified
                    .operations
                    .into_iter()
                    .map(|o| (o.seq, o.key.to_owned(), o.value.map(<[u8]>::to_vec)))
                    .collect()
            }
            None => Vec::new(),
        };
        session.lock();
        Ok(View { records, pending })
    }
}

fn with_conn<T>(world: &World, f: impl FnOnce(&Connection) -> T) -> T {
    let conn = Connection::open(world.device.path()).unwrap();
    let out = f(&conn);
    conn.pragma_update(None, "wal_checkpoint", "TRUNCATE").ok();
    out
}

/// Saves the vault file (checkpointed) and keystore state into the world.
fn save(world: &mut World) {
    with_conn(world, |_| ());
    world.file = std::fs::read(world.device.path()).unwrap();
    world.deleted = world.keystore.deleted.lock().unwrap().clone();
}

#[derive(Default)]
struct Tally {
    tried: usize,
    typed: BTreeMap<String, usize>,
    unchanged: usize,
    stale: Vec<String>,
}

#[test]
fn truncated_older_and_resurrected_rows_give_typed_errors_or_documented_outcomes() {
    let device = Device::new();
    let keystore = Arc::new(RollbackKeystore { inner: SoftwareKeystore::new(), deleted: Mutex::new(BTreeSet::new()) });
    let verifier = device.backend.verifier();
    let mut world =
        World { device, keystore, verifier, cursor: SyncCursor::initial(), file: Vec::new(), deleted: BTreeSet::new() };

    // History: snapshot 1 after three puts; snapshot 2 after later edits, a
    // sync, a renewal, biometrics and one wrong PIN; then the current state.
    let (snap1, snap2) = {
        let vault = world.open().unwrap();
        let grant = world.device.backend.grant(T0, 7);
        let session = vault.enroll(PIN.into(), &grant, world.device.backend.sync_key.clone()).unwrap();
        for (k, v) in [("k1", "one"), ("k2", "two"), ("k3", "three")] {
            session.put("visits", k, v.as_bytes().to_vec()).unwrap();
        }
        session.lock();
        let snap1 = with_conn(&world, rows);
        world.device.clock.advance(HOUR);
        let session = vault.unlock(PIN.into()).unwrap();
        session.put("visits", "k1", b"one-v2".to_vec()).unwrap();
        session.delete("visits", "k3").unwrap();
        let queue = session.clone().sync_queue();
        let batch = queue.next_batch(3).unwrap().unwrap();
        let verified =
            world.verifier.verify(&batch.bytes, &world.device.backend.sync_key, &SyncCursor::initial()).unwrap();
        world.cursor = verified.cursor;
        queue.acknowledge(verified.receipt).unwrap();
        session.renew_grant(&world.device.backend.grant(world.device.clock.now(), 7)).unwrap();
        session.enable_biometrics().unwrap();
        session.put("visits", "k2", b"two-v2".to_vec()).unwrap();
        session.lock();
        assert!(matches!(vault.unlock("135792".into()), Err(VaultError::WrongPin { .. })));
        let snap2 = with_conn(&world, rows);
        let session = vault.unlock(PIN.into()).unwrap();
        session.put("visits", "k4", b"four".to_vec()).unwrap();
        session.lock();
        (snap1, snap2)
    }; // every handle on the vault is closed here
    save(&mut world);
    let current_rows = with_conn(&world, rows);
    let current = world.view().unwrap();
    world.restore();
    assert_eq!(current.records.len(), 3);
    // Every value ever stored under each key (for telling stale from wrong).
    let mut history: BTreeMap<&str, BTreeSet<Option<Vec<u8>>>> = BTreeMap::new();
    for (k, v) in [
        ("k1", Some("one")),
        ("k1", Some("one-v2")),
        ("k2", Some("two")),
        ("k2", Some("two-v2")),
        ("k3", Some("three")),
        ("k3", None),
        ("k4", Some("four")),
        ("k4", None),
    ] {
        history.entry(k).or_default().insert(v.map(|s| s.as_bytes().to_vec()));
    }

    // The mutations: (description, SQL effect).
    type Mutation = (String, Box<dyn Fn(&Connection)>);
    let mut mutations: Vec<Mutation> = Vec::new();
    for ((table, pk), cells) in &current_rows {
        let pk_name = TABLES.iter().find(|(t, _)| t == table).unwrap().1;
        let pk_value = cells.iter().find(|(n, _)| n == pk_name).unwrap().1.clone();
        for (column, value) in cells {
            if column == pk_name {
                continue;
            }
            let len = match value {
                Value::Blob(b) => b.len(),
                Value::Text(t) => t.len(),
                _ => 0,
            };
            let cuts: BTreeSet<usize> =
                [0, 1, len / 2, len.saturating_sub(1)].into_iter().filter(|c| *c < len).collect();
            for cut in cuts {
                let cut_value = match value {
                    Value::Blob(b) => Value::Blob(b[..cut].to_vec()),
                    Value::Text(t) => Value::Text(t[..cut].to_owned()),
                    _ => unreachable!(),
                };
                let (table, column, pk_value, pk_name) = (table.clone(), column.clone(), pk_value.clone(), pk_name);
                mutations.push((
                    format!("{table}.{column} truncated to {cut}/{len}"),
                    Box::new(move |c: &Connection| {
                        c.execute(
                            &format!("UPDATE {table} SET {column} = ?1 WHERE {pk_name} = ?2"),
                            params![cut_value, pk_value],
                        )
                        .unwrap();
                    }),
                ));
            }
            for (snap_name, snap) in [("snapshot 1", &snap1), ("snapshot 2", &snap2)] {
                let Some(old_cells) = snap.get(&(table.clone(), pk.clone())) else { continue };
                let old = old_cells.iter().find(|(n, _)| n == column).unwrap().1.clone();
                if &old == value {
                    continue;
                }
                let (table, column, pk_value, pk_name) = (table.clone(), column.clone(), pk_value.clone(), pk_name);
                mutations.push((
                    format!("{table}.{column} restored from {snap_name}"),
                    Box::new(move |c: &Connection| {
                        c.execute(
                            &format!("UPDATE {table} SET {column} = ?1 WHERE {pk_name} = ?2"),
                            params![old, pk_value],
                        )
                        .unwrap();
                    }),
                ));
            }
        }
    }
    // Whole older rows: the vault row from each snapshot; deleted rows brought back.
    for (snap_name, snap) in [("snapshot 1", &snap1), ("snapshot 2", &snap2)] {
        for ((table, pk), cells) in snap.iter() {
            let exists = current_rows.contains_key(&(table.clone(), pk.clone()));
            if exists && table != "vault" {
                continue;
            }
            let what = if exists { "whole row restored" } else { "deleted row resurrected" };
            let (table, cells) = (table.clone(), cells.clone());
            mutations.push((
                format!("{table} {what} from {snap_name} ({})", hex::encode(&pk[..pk.len().min(4)])),
                Box::new(move |c: &Connection| {
                    let names: Vec<&str> = cells.iter().map(|(n, _)| n.as_str()).collect();
                    let marks: Vec<String> = (1..=cells.len()).map(|i| format!("?{i}")).collect();
                    let values: Vec<&Value> = cells.iter().map(|(_, v)| v).collect();
                    c.execute(
                        &format!("INSERT OR REPLACE INTO {table} ({}) VALUES ({})", names.join(","), marks.join(",")),
                        rusqlite::params_from_iter(values),
                    )
                    .unwrap();
                }),
            ));
        }
    }

    let mut tally = Tally::default();
    for (what, mutate) in &mutations {
        world.restore();
        with_conn(&world, |c| mutate(c));
        let outcome = catch_unwind(AssertUnwindSafe(|| world.view()));
        tally.tried += 1;
        match outcome {
            Err(_) => panic!("{what}: panicked"),
            Ok(Err(error)) => {
                let name = format!("{error:?}");
                let name = name.split([' ', '{', '(']).next().unwrap_or_default().to_owned();
                if what.contains("restored") || what.contains("resurrected") {
                    println!("  {what}: {error:?}");
                }
                *tally.typed.entry(name).or_default() += 1;
            }
            Ok(Ok(view)) if view == current => tally.unchanged += 1,
            Ok(Ok(view)) => {
                // Allowed only if every record is some value that key once had.
                for key in ["k1", "k2", "k3", "k4"] {
                    let seen = view.records.get(key).cloned();
                    assert!(
                        history[key].contains(&seen),
                        "{what}: {key} reads {seen:?}, a value never stored: WRONG DATA"
                    );
                }
                for (seq, key, value) in &view.pending {
                    assert!(history[key.as_str()].contains(value), "{what}: queued seq {seq} carries wrong data");
                }
                tally.stale.push(format!("{what}: records {:?}", view.records.keys().collect::<Vec<_>>()));
            }
        }
    }
    world.restore();
    assert_eq!(world.view().unwrap(), current, "the untouched vault still works");

    println!("tamper matrix: {} mutations tried", tally.tried);
    println!("tamper matrix: typed errors {:?}", tally.typed);
    println!("tamper matrix: no visible effect {}", tally.unchanged);
    println!("tamper matrix: stale (documented rollback limit) {}", tally.stale.len());
    for line in &tally.stale {
        println!("  stale: {line}");
    }
    assert!(tally.tried >= 50, "the matrix is too small: {}", tally.tried);
    // Since 2db5a35 (authenticated record set) an older or resurrected row is
    // Tampered too, so no single-row rollback may show stale data.
    assert!(tally.stale.is_empty(), "stale data served: {:#?}", tally.stale);
    assert!(tally.typed.values().sum::<usize>() > tally.tried / 2, "most mutations must be caught");
}
