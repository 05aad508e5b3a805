//! Records: get, put, delete and list, each write queued in the same
//! durable transaction as the record change, each read checked against the
//! authenticated record set (`engine/record_index.rs`).

use std::collections::HashSet;

use super::live::{Need, SessionCore};
use crate::crypto::Mac32;
use crate::engine::{offline_window, RecordVersions, VaultState};
use crate::error::{Error, Result};
use crate::records::{check_bulk, check_names, check_value, value_in_place, KeyValue, RecordBody};
use crate::storage::{QueueRow, RecordReader, RecordRow};
use crate::sync::{escrow_entry, SealedEntry};
use offline_auth_proto::entry::Operation;

/// `OfflineSession::get`: the value, checked against the record set. Two
/// MACs (the row key and the collection tag, which together key the row),
/// one read, one open (`RecordBody::open_known`).
pub(super) fn get(session: &SessionCore, collection: &str, key: &str) -> Result<Option<Vec<u8>>> {
    check_names(collection, key)?;
    let access = session.access(Need::Data)?;
    let keys = &access.keys;
    let location = keys.record_location(collection, key);
    let tag = keys.collection_tag(collection);
    session.vault().db.read(|c| {
        let found = RecordReader::new(c)?.read(&tag, &location, |sealed| {
            RecordBody::open_known(keys, &location, &tag, sealed, (collection, key), value_in_place)
        })?;
        let version = found.as_ref().map(|(_, version)| *version);
        session.vault().record_index.check(c, keys, |index| index.version(&tag, &location) == version)?;
        Ok(found.map(|(value, _)| value))
    })
}

/// `OfflineSession::keys`: the collection's keys, sorted; the whole
/// collection is checked against the record set.
pub(super) fn keys(session: &SessionCore, collection: &str) -> Result<Vec<String>> {
    check_names(collection, "-")?;
    let access = session.access(Need::Data)?;
    let keys = &access.keys;
    let tag = keys.collection_tag(collection);
    let mut names = session.vault().db.read(|c| {
        let mut found = RecordVersions::default();
        let mut names = Vec::new();
        for row in RecordRow::in_collection(c, &tag)? {
            let mut body = RecordBody::open(keys, &row)?;
            found.insert(row.location.as_slice().try_into().map_err(|_| Error::Tampered)?, body.version);
            names.push(std::mem::take(&mut body.key));
        }
        session.vault().record_index.check(c, keys, |index| index.collection_is(&tag, &found))?;
        Ok(names)
    })?;
    names.sort_unstable();
    Ok(names)
}

/// `OfflineSession::put`.
pub(super) fn put(session: &SessionCore, collection: &str, key: &str, value: Vec<u8>) -> Result<u64> {
    check_names(collection, key)?;
    check_value(&value)?;
    let op = Operation::Put { collection: collection.to_owned(), key: key.to_owned(), value };
    write(session, collection, vec![op])
}

/// `OfflineSession::delete`.
pub(super) fn delete(session: &SessionCore, collection: &str, key: &str) -> Result<u64> {
    check_names(collection, key)?;
    let op = Operation::Delete { collection: collection.to_owned(), key: key.to_owned() };
    write(session, collection, vec![op])
}

/// `OfflineSession::get_many`: the values of `keys` in `collection`, in the
/// order asked, each checked against the record set; one read transaction,
/// one prepared statement, and per record one MAC (its row key) and one open,
/// the value decrypted where it is returned (`records::value_in_place`).
pub(super) fn get_many(session: &SessionCore, collection: &str, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>> {
    let names: u64 = keys.iter().map(|k| k.len() as u64).sum();
    check_bulk(keys.len(), names, "get_many")?;
    for key in keys {
        check_names(collection, key)?;
    }
    let access = session.access(Need::Data)?;
    let vault_keys = &access.keys;
    let tag = vault_keys.collection_tag(collection);
    session.vault().db.read(|c| {
        // One snapshot for the whole call (and one transaction, not one per row).
        let snapshot = c.unchecked_transaction()?;
        let mut reader = RecordReader::new(&snapshot)?;
        let mut values = Vec::with_capacity(keys.len());
        let mut versions = Vec::with_capacity(keys.len());
        let mut total = 0u64;
        for key in keys {
            let location = vault_keys.record_location(collection, key);
            let found = reader.read(&tag, &location, |sealed| {
                RecordBody::open_known(vault_keys, &location, &tag, sealed, (collection, key), value_in_place)
            })?;
            total += found.as_ref().map_or(0, |(value, _)| value.len() as u64);
            check_bulk(values.len(), total, "get_many")?;
            versions.push((location, found.as_ref().map(|(_, version)| *version)));
            values.push(found.map(|(value, _)| value));
        }
        drop(reader);
        session.vault().record_index.check(&snapshot, vault_keys, |index| {
            versions.iter().all(|(location, version)| index.version(&tag, location) == *version)
        })?;
        snapshot.finish()?;
        Ok(values)
    })
}

/// `OfflineSession::entries`: every record of `collection` with its value,
/// sorted by key; the whole collection is checked against the record set.
pub(super) fn entries(session: &SessionCore, collection: &str) -> Result<Vec<KeyValue>> {
    check_names(collection, "-")?;
    let access = session.access(Need::Data)?;
    let keys = &access.keys;
    let tag = keys.collection_tag(collection);
    let mut entries = session.vault().db.read(|c| {
        let mut found = RecordVersions::default();
        let mut entries = Vec::new();
        let mut total = 0u64;
        for row in RecordRow::in_collection(c, &tag)? {
            let mut body = RecordBody::open(keys, &row)?;
            found.insert(row.location.as_slice().try_into().map_err(|_| Error::Tampered)?, body.version);
            total += (body.key.len() + body.value.len()) as u64;
            check_bulk(entries.len() + 1, total, "entries (use keys and get_many for larger collections)")?;
            entries.push(KeyValue { key: std::mem::take(&mut body.key), value: std::mem::take(&mut body.value) });
        }
        session.vault().record_index.check(c, keys, |index| index.collection_is(&tag, &found))?;
        Ok(entries)
    })?;
    entries.sort_unstable_by(|a, b| a.key.cmp(&b.key));
    Ok(entries)
}

/// `OfflineSession::put_many`: every record stored and every edit queued,
/// in one durable transaction, all or nothing. Every argument is checked
/// before anything is written; a key may appear once.
pub(super) fn put_many(session: &SessionCore, collection: &str, records: Vec<KeyValue>) -> Result<u64> {
    if records.is_empty() {
        return Err(Error::InvalidInput("put_many needs at least one record".into()));
    }
    let bytes: u64 = records.iter().map(|r| (r.key.len() + r.value.len()) as u64).sum();
    check_bulk(records.len(), bytes, "put_many")?;
    let mut seen = HashSet::with_capacity(records.len());
    for record in &records {
        check_names(collection, &record.key)?;
        check_value(&record.value)?;
        if !seen.insert(record.key.as_str()) {
            return Err(Error::InvalidInput(format!("put_many: key {:?} appears twice", record.key)));
        }
    }
    drop(seen);
    // Moved, not copied: no second plaintext of a value is left to free unwiped.
    let ops = records
        .into_iter()
        .map(|KeyValue { key, value }| Operation::Put { collection: collection.to_owned(), key, value })
        .collect();
    write(session, collection, ops)
}

/// Applies `ops` (all in `collection`, each to a different record) to the
/// records and appends their queue entries, in one transaction: the state
/// is loaded, checked and stored once. Returns the last entry's seq.
fn write(session: &SessionCore, collection: &str, ops: Vec<Operation>) -> Result<u64> {
    let access = session.access(Need::Data)?;
    let keys = &access.keys;
    let vault = session.vault();
    // Everything that needs no stored state is done before the transaction.
    let tag = keys.collection_tag(collection);
    let locations: Vec<Mac32> = ops
        .iter()
        .map(|op| match op {
            Operation::Put { key, .. } | Operation::Delete { key, .. } => keys.record_location(collection, key),
        })
        .collect();
    let written = vault.db.write(|tx| {
        let mut state = VaultState::load(tx, keys)?;
        // What the access observed, with what other handles stored meanwhile.
        state.merge_time(&access.time);
        let grant = &state.current_grant()?.claims;
        offline_window(state.time(), grant.exp)?;
        if !grant.allows(collection) {
            return Err(Error::InvalidInput(format!("collection {collection:?} is outside the grant's scope")));
        }
        // The grant the entries are made under, for their escrowed copies.
        let escrow_grant = vault.escrow.as_ref().map(|_| state.current_grant().map(|g| g.token.clone())).transpose()?;
        let mut notes = Vec::with_capacity(ops.len());
        for (op, location) in ops.into_iter().zip(&locations) {
            let seq = state.next_seq()?;

            // The version this write replaces must be the one the record set says.
            let names = match &op {
                Operation::Put { key, .. } | Operation::Delete { key, .. } => (collection, key.as_str()),
            };
            let old_version = RecordReader::new(tx)?.read(&tag, location, |sealed| {
                // The old value is wiped when its buffer drops.
                Ok(RecordBody::open_known(keys, location, &tag, sealed, names, |_, _| ())?.1)
            })?;
            vault.record_index.check(tx, keys, |index| index.version(&tag, location) == old_version)?;
            if let Some(old_version) = old_version {
                state.remove_record(keys, location, old_version)?;
            }

            let entry = state.append_entry(op)?;
            QueueRow { seq, body: entry.seal(keys)? }.append(tx)?;
            if let Some(grant) = &escrow_grant {
                escrow_entry(tx, vault, keys.vault_id(), &entry, grant)?;
            }

            let new_version = match &entry.body.op {
                Operation::Put { collection, key, value } => {
                    let record = RecordBody {
                        collection: collection.clone(),
                        key: key.clone(),
                        value: value.clone(),
                        version: seq,
                    };
                    let body = record.seal(keys, location, &tag)?;
                    RecordRow { location: location.to_vec(), collection: tag.to_vec(), body }.upsert(tx)?;
                    state.add_record(keys, location, seq)?;
                    Some(seq)
                }
                Operation::Delete { .. } => {
                    RecordRow::delete(tx, &tag, location)?;
                    None
                }
            };
            notes.push((*location, new_version));
        }
        state.store(tx, keys)?;
        // Should the commit still fail, the index is ahead of the file and
        // the next read rebuilds it from the file.
        for (location, version) in notes {
            vault.record_index.note_write(keys, tag, location, version);
        }
        Ok(state)
    });
    match written {
        Ok(state) => {
            session.observe(&state);
            Ok(state.head_seq())
        }
        Err(error) => session.fail(error),
    }
}
