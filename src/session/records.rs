//! Records: get, put, delete and list, each write queued in the same
//! durable transaction as the record change.

use super::{load_state, store_state, Need, OfflineSession};
use crate::clock::{check_time, TimeCheck};
use crate::error::{Error, Result};
use crate::records::{check_names, check_value, RecordBody};
use crate::storage::{QueueRow, RecordRow};
use crate::sync::entry::{EntryBody, Operation, QueueEntry};

pub(super) fn get(session: &OfflineSession, collection: &str, key: &str) -> Result<Option<Vec<u8>>> {
    check_names(collection, key)?;
    let access = session.access(Need::Data)?;
    let location = access.keys.record_location(collection, key);
    let Some(row) = session.vault.db.read(|c| RecordRow::get(c, &location))? else {
        return Ok(None);
    };
    let mut body = RecordBody::open(&access.keys, &row)?;
    Ok(Some(std::mem::take(&mut body.value)))
}

pub(super) fn keys(session: &OfflineSession, collection: &str) -> Result<Vec<String>> {
    check_names(collection, "-")?;
    let access = session.access(Need::Data)?;
    let tag = access.keys.collection_tag(collection);
    let rows = session.vault.db.read(|c| RecordRow::in_collection(c, &tag))?;
    let mut keys = rows
        .iter()
        .map(|row| {
            let mut body = RecordBody::open(&access.keys, row)?;
            Ok(std::mem::take(&mut body.key))
        })
        .collect::<Result<Vec<_>>>()?;
    keys.sort_unstable();
    Ok(keys)
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
    let written = vault.db.write(|tx| {
        let mut state = load_state(tx, keys)?;
        if state.rollback_locked {
            return Err(Error::ClockRollback);
        }
        let time = match check_time(access.now, state.trusted_time, vault.config.clock_rollback_tolerance_secs) {
            TimeCheck::Trusted(time) => time,
            TimeCheck::RolledBack => return Err(Error::ClockRollback),
        };
        let grant = &state.current_grant()?.claims;
        if time >= grant.exp {
            return Err(Error::GrantExpired);
        }
        if !grant.allows(op.collection()) {
            return Err(Error::InvalidInput(format!("collection {:?} is outside the grant's scope", op.collection())));
        }
        let seq = state.head_seq.checked_add(1).ok_or(Error::Tampered)?;
        let body = EntryBody { seq, grant_id: grant.jti.clone(), time, op };
        let mac = body.chain_mac(&state.sync_key()?, &state.head_mac)?;
        let entry = QueueEntry { body, mac };
        QueueRow { seq, body: entry.seal(keys)? }.append(tx)?;

        match &entry.body.op {
            Operation::Put { collection, key, value } => {
                let location = keys.record_location(collection, key);
                let tag = keys.collection_tag(collection);
                let record = RecordBody { collection: collection.clone(), key: key.clone(), value: value.clone() };
                let body = record.seal(keys, &location, &tag)?;
                RecordRow { location: location.to_vec(), collection: tag.to_vec(), body }.upsert(tx)?;
            }
            Operation::Delete { collection, key } => {
                RecordRow::delete(tx, &keys.record_location(collection, key))?;
            }
        }
        state.head_seq = seq;
        state.head_mac = mac;
        state.trusted_time = time;
        store_state(tx, keys, &state)?;
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
