//! Records: get, put, delete and list, each write queued in the same
//! durable transaction as the record change, each read checked against the
//! authenticated record set (`record_index.rs`).

use std::collections::HashMap;

use super::record_index::{self, digest_add, digest_sub};
use super::{load_state, store_state, Need, OfflineSession};
use crate::crypto::Mac32;
use crate::error::{Error, Result};
use crate::records::{check_names, check_value, RecordBody};
use crate::storage::{QueueRow, RecordRow};
use crate::sync::entry::{EntryBody, Operation, QueueEntry};
use crate::sync::SealedEntry;

pub(super) fn get(session: &OfflineSession, collection: &str, key: &str) -> Result<Option<Vec<u8>>> {
    check_names(collection, key)?;
    let access = session.access(Need::Data)?;
    let keys = &access.keys;
    let location = keys.record_location(collection, key);
    let tag = keys.collection_tag(collection);
    let body = session.vault.db.read(|c| {
        let body = RecordRow::get(c, &location)?.map(|row| RecordBody::open(keys, &row)).transpose()?;
        let found = body.as_ref().map(|b| b.version);
        record_index::check(&session.vault, c, keys, |index| index.version(&tag, &location) == found)?;
        Ok(body)
    })?;
    Ok(body.map(|mut body| std::mem::take(&mut body.value)))
}

pub(super) fn keys(session: &OfflineSession, collection: &str) -> Result<Vec<String>> {
    check_names(collection, "-")?;
    let access = session.access(Need::Data)?;
    let keys = &access.keys;
    let tag = keys.collection_tag(collection);
    let mut names = session.vault.db.read(|c| {
        let mut found = HashMap::new();
        let mut names = Vec::new();
        for row in RecordRow::in_collection(c, &tag)? {
            let mut body = RecordBody::open(keys, &row)?;
            found.insert(row.location.as_slice().try_into().map_err(|_| Error::Tampered)?, body.version);
            names.push(std::mem::take(&mut body.key));
        }
        record_index::check(&session.vault, c, keys, |index| index.collection_is(&tag, &found))?;
        Ok(names)
    })?;
    names.sort_unstable();
    Ok(names)
}

pub(super) fn put(session: &OfflineSession, collection: String, key: String, value: Vec<u8>) -> Result<u64> {
    check_names(&collection, &key)?;
    check_value(&value)?;
    write(session, Operation::Put { collection, key, value })
}

pub(super) fn delete(session: &OfflineSession, collection: String, key: String) -> Result<u64> {
    check_names(&collection, &key)?;
    write(session, Operation::Delete { collection, key })
}

/// Applies `op` to the records and appends its queue entry, in one transaction.
fn write(session: &OfflineSession, op: Operation) -> Result<u64> {
    let access = session.access(Need::Data)?;
    let keys = &access.keys;
    let vault = &session.vault;
    let (location, tag, collection): (Mac32, Mac32, String) = match &op {
        Operation::Put { collection, key, .. } | Operation::Delete { collection, key } => {
            (keys.record_location(collection, key), keys.collection_tag(collection), collection.clone())
        }
    };
    let written = vault.db.write(|tx| {
        let mut state = load_state(tx, keys)?;
        // What the access observed, with what other handles stored meanwhile.
        state.time.merge(&access.time);
        if state.time.rollback_locked {
            return Err(Error::ClockRollback);
        }
        let time = state.time.trusted;
        let grant = &state.current_grant()?.claims;
        if time >= grant.exp {
            return Err(Error::GrantExpired);
        }
        if !grant.allows(&collection) {
            return Err(Error::InvalidInput(format!("collection {collection:?} is outside the grant's scope")));
        }
        let grant_id = grant.jti.clone();
        let seq = state.head_seq.checked_add(1).ok_or(Error::Tampered)?;

        // The version this write replaces must be the one the record set says.
        let old = RecordRow::get(tx, &location)?.map(|row| RecordBody::open(keys, &row)).transpose()?;
        let old_version = old.as_ref().map(|body| body.version);
        record_index::check(vault, tx, keys, |index| index.version(&tag, &location) == old_version)?;
        if let Some(old_version) = old_version {
            digest_sub(&mut state.records_digest, &keys.record_version_tag(&location, old_version));
            state.record_count = state.record_count.checked_sub(1).ok_or(Error::Tampered)?;
        }

        let body = EntryBody { seq, grant_id, time, boots: Some(state.time.boots), op };
        let mac = body.chain_mac(&state.sync_mac_key()?, &state.head_mac)?;
        let entry = QueueEntry { body, mac };
        QueueRow { seq, body: entry.seal(keys)? }.append(tx)?;

        let new_version = match &entry.body.op {
            Operation::Put { collection, key, value } => {
                let record =
                    RecordBody { collection: collection.clone(), key: key.clone(), value: value.clone(), version: seq };
                let body = record.seal(keys, &location, &tag)?;
                RecordRow { location: location.to_vec(), collection: tag.to_vec(), body }.upsert(tx)?;
                digest_add(&mut state.records_digest, &keys.record_version_tag(&location, seq));
                state.record_count = state.record_count.checked_add(1).ok_or(Error::Tampered)?;
                Some(seq)
            }
            Operation::Delete { .. } => {
                RecordRow::delete(tx, &location)?;
                None
            }
        };
        state.head_seq = seq;
        state.head_mac = mac;
        store_state(tx, keys, &state)?;
        // Should the commit still fail, the index is ahead of the file and
        // the next read rebuilds it from the file.
        record_index::note_write(vault, keys, tag, location, new_version);
        Ok(state)
    });
    match written {
        Ok(state) => {
            session.observe(&state);
            Ok(state.head_seq)
        }
        Err(error) => session.fail(error),
    }
}
