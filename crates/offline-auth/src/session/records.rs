//! Records: get, put, delete and list, each write queued in the same
//! durable transaction as the record change, each read checked against the
//! authenticated record set (`engine/record_index.rs`).

use std::collections::HashMap;

use super::live::{Need, SessionCore};
use crate::crypto::Mac32;
use crate::engine::{offline_window, VaultState};
use crate::error::{Error, Result};
use crate::records::{check_names, check_value, RecordBody};
use crate::storage::{QueueRow, RecordRow};
use crate::sync::SealedEntry;
use offline_auth_proto::entry::Operation;

/// `OfflineSession::get`: the value, checked against the record set.
pub(super) fn get(session: &SessionCore, collection: &str, key: &str) -> Result<Option<Vec<u8>>> {
    check_names(collection, key)?;
    let access = session.access(Need::Data)?;
    let keys = &access.keys;
    let location = keys.record_location(collection, key);
    let tag = keys.collection_tag(collection);
    let body = session.vault().db.read(|c| {
        let body = RecordRow::get(c, &location)?.map(|row| RecordBody::open(keys, &row)).transpose()?;
        let found = body.as_ref().map(|b| b.version);
        session.vault().record_index.check(c, keys, |index| index.version(&tag, &location) == found)?;
        Ok(body)
    })?;
    Ok(body.map(|mut body| std::mem::take(&mut body.value)))
}

/// `OfflineSession::keys`: the collection's keys, sorted; the whole
/// collection is checked against the record set.
pub(super) fn keys(session: &SessionCore, collection: &str) -> Result<Vec<String>> {
    check_names(collection, "-")?;
    let access = session.access(Need::Data)?;
    let keys = &access.keys;
    let tag = keys.collection_tag(collection);
    let mut names = session.vault().db.read(|c| {
        let mut found = HashMap::new();
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
pub(super) fn put(session: &SessionCore, collection: String, key: String, value: Vec<u8>) -> Result<u64> {
    check_names(&collection, &key)?;
    check_value(&value)?;
    write(session, Operation::Put { collection, key, value })
}

/// `OfflineSession::delete`.
pub(super) fn delete(session: &SessionCore, collection: String, key: String) -> Result<u64> {
    check_names(&collection, &key)?;
    write(session, Operation::Delete { collection, key })
}

/// Applies `op` to the records and appends its queue entry, in one transaction.
fn write(session: &SessionCore, op: Operation) -> Result<u64> {
    let access = session.access(Need::Data)?;
    let keys = &access.keys;
    let vault = session.vault();
    let (location, tag, collection): (Mac32, Mac32, String) = match &op {
        Operation::Put { collection, key, .. } | Operation::Delete { collection, key } => {
            (keys.record_location(collection, key), keys.collection_tag(collection), collection.clone())
        }
    };
    let written = vault.db.write(|tx| {
        let mut state = VaultState::load(tx, keys)?;
        // What the access observed, with what other handles stored meanwhile.
        state.merge_time(&access.time);
        let grant = &state.current_grant()?.claims;
        offline_window(state.time(), grant.exp)?;
        if !grant.allows(&collection) {
            return Err(Error::InvalidInput(format!("collection {collection:?} is outside the grant's scope")));
        }
        let seq = state.next_seq()?;

        // The version this write replaces must be the one the record set says.
        let old = RecordRow::get(tx, &location)?.map(|row| RecordBody::open(keys, &row)).transpose()?;
        let old_version = old.as_ref().map(|body| body.version);
        vault.record_index.check(tx, keys, |index| index.version(&tag, &location) == old_version)?;
        if let Some(old_version) = old_version {
            state.remove_record(keys, &location, old_version)?;
        }

        let entry = state.append_entry(op)?;
        QueueRow { seq, body: entry.seal(keys)? }.append(tx)?;

        let new_version = match &entry.body.op {
            Operation::Put { collection, key, value } => {
                let record =
                    RecordBody { collection: collection.clone(), key: key.clone(), value: value.clone(), version: seq };
                let body = record.seal(keys, &location, &tag)?;
                RecordRow { location: location.to_vec(), collection: tag.to_vec(), body }.upsert(tx)?;
                state.add_record(keys, &location, seq)?;
                Some(seq)
            }
            Operation::Delete { .. } => {
                RecordRow::delete(tx, &location)?;
                None
            }
        };
        state.store(tx, keys)?;
        // Should the commit still fail, the index is ahead of the file and
        // the next read rebuilds it from the file.
        vault.record_index.note_write(keys, tag, location, new_version);
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
