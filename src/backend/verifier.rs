//! `SyncVerifier`: proves that a batch came untampered from a session.
//!
//! Checks, in order: size and format (before and while parsing), every grant
//! (signature by a configured issuer, one device, one user), the seq run
//! (contiguous, no gap after the cursor), the MAC chain from the cursor,
//! each entry's time inside its grant's window and its collection inside
//! the grant's scope. Entries at or before the cursor are replays: counted,
//! never returned. Any failure rejects the whole batch.

use std::collections::HashMap;
use std::sync::Arc;

use crate::config::DEFAULT_GRANT_CLOCK_SKEW_SECS;
use crate::crypto::{ct_eq, Mac32, MacKey, SecretKey};
use crate::error::{Error, Result, VaultError};
use crate::grant::{self, GrantClaims, IssuerKey, TrustedIssuers};
use crate::records::{check_names, check_value};
use crate::sync::batch::{Batch, SyncCursor, SyncOperation, VerifiedBatch};
use crate::sync::entry::{EntryBody, Operation, QueueEntry};

/// Verifies device batches against the issuer keys the backend trusts.
#[derive(Debug, uniffi::Object)]
pub struct SyncVerifier {
    issuers: TrustedIssuers,
    skew_secs: i64,
}

fn reject(reason: impl Into<String>) -> Error {
    Error::BatchRejected(reason.into())
}

#[uniffi::export]
impl SyncVerifier {
    /// A verifier trusting `issuer_keys` (all keys whose grants may still
    /// cover unsynced edits, including recently rotated ones).
    ///
    /// # Errors
    /// `InvalidInput` for no keys, duplicate `kid`s or malformed keys.
    #[uniffi::constructor]
    pub fn new(issuer_keys: Vec<IssuerKey>) -> Result<Arc<Self>, VaultError> {
        let issuers = TrustedIssuers::new(&issuer_keys)?;
        Ok(Arc::new(Self { issuers, skew_secs: DEFAULT_GRANT_CLOCK_SKEW_SECS as i64 }))
    }

    /// Verifies `batch` for the device whose sync key is `sync_key`, starting
    /// from the `cursor` stored for it. Returns the new operations in order
    /// and the cursor to store once they are applied.
    ///
    /// # Errors
    /// `InvalidInput` for a sync key or cursor MAC that is not 32 bytes;
    /// `BatchRejected` with the reason for anything wrong with the batch.
    pub fn verify(&self, batch: Vec<u8>, sync_key: Vec<u8>, cursor: SyncCursor) -> Result<VerifiedBatch, VaultError> {
        Ok(self.verify_batch(&batch, sync_key, &cursor)?)
    }
}

impl SyncVerifier {
    fn verify_batch(&self, bytes: &[u8], sync_key: Vec<u8>, cursor: &SyncCursor) -> Result<VerifiedBatch> {
        let sync_key = MacKey::new(
            &SecretKey::from_vec(sync_key).map_err(|_| Error::InvalidInput("the sync key must be 32 bytes".into()))?,
        );
        let cursor_mac: Mac32 = cursor
            .last_mac
            .as_slice()
            .try_into()
            .map_err(|_| Error::InvalidInput("the cursor MAC must be 32 bytes".into()))?;
        let batch = Batch::from_bytes(bytes)?;
        let grants = self.verify_grants(&batch)?;
        let user_id = grants.values().next().map(|g| g.sub.clone()).ok_or_else(|| reject("batch has no grant"))?;

        let first_seq = batch.entries.first().map_or(0, |e| e.body.seq);
        if first_seq == 0 {
            return Err(reject("seq numbers start at 1"));
        }
        if first_seq > cursor.last_seq.saturating_add(1) {
            return Err(reject(format!(
                "gap: the batch starts at seq {first_seq}, the cursor is at {}",
                cursor.last_seq
            )));
        }
        let mut operations = Vec::new();
        let mut duplicates = 0u64;
        // The MAC the next entry must chain from: the cursor's for a batch
        // that starts right after it; unknown for the first entry of a batch
        // that starts with replays (its predecessor is not in the batch).
        let mut prev_mac = (first_seq == cursor.last_seq.saturating_add(1)).then_some(cursor_mac);
        let mut last_seq = cursor.last_seq;
        let Batch { device_id, entries, .. } = batch;
        for (offset, entry) in (0u64..).zip(entries) {
            let seq = entry.body.seq;
            if Some(seq) != first_seq.checked_add(offset) {
                return Err(reject(format!("entries out of order at seq {seq}")));
            }
            // Replays are checked too (never applied): an altered old entry
            // means the batch was tampered with.
            if let Some(prev) = &prev_mac {
                let expected = entry.body.chain_mac(&sync_key, prev)?;
                if !ct_eq(&expected, &entry.mac) {
                    return Err(reject(format!("MAC chain broken at seq {seq}")));
                }
            }
            prev_mac = Some(entry.mac);
            if seq <= cursor.last_seq {
                if seq == cursor.last_seq && !ct_eq(&entry.mac, &cursor_mac) {
                    return Err(reject(format!("entry {seq} differs from the one already applied")));
                }
                duplicates += 1;
                continue;
            }
            let grant = grants
                .get(entry.body.grant_id.as_str())
                .ok_or_else(|| reject(format!("entry {seq} names a grant the batch does not carry")))?;
            self.check_entry(&entry, grant)?;
            operations.push(operation(entry));
            last_seq = seq;
        }
        let last_mac = if last_seq == cursor.last_seq { cursor_mac } else { prev_mac.unwrap_or(cursor_mac) };
        Ok(VerifiedBatch {
            device_id,
            user_id,
            operations,
            duplicates,
            cursor: SyncCursor { last_seq, last_mac: last_mac.to_vec() },
        })
    }

    /// Every grant verified, for the batch's device, of one user, each used.
    fn verify_grants<'b>(&self, batch: &'b Batch) -> Result<HashMap<String, GrantClaims>> {
        let mut grants = HashMap::with_capacity(batch.grants.len());
        for token in &batch.grants {
            let claims = grant::verify_signature(token, &self.issuers)
                .map_err(|e| reject(format!("grant rejected: {}", VaultError::from(e))))?;
            if claims.dev != batch.device_id {
                return Err(reject("a grant is for another device"));
            }
            if grants.values().any(|g: &GrantClaims| g.sub != claims.sub) {
                return Err(reject("grants name different users"));
            }
            if grants.insert(claims.jti.clone(), claims).is_some() {
                return Err(reject("a grant appears twice"));
            }
        }
        let used = |jti: &str| batch.entries.iter().any(|e: &'b QueueEntry| e.body.grant_id == jti);
        if grants.keys().any(|jti| !used(jti)) {
            return Err(reject("the batch carries a grant no entry uses"));
        }
        Ok(grants)
    }

    /// Time within the grant's window, collection within its scope.
    fn check_entry(&self, entry: &QueueEntry, grant: &GrantClaims) -> Result<()> {
        let (seq, time) = (entry.body.seq, entry.body.time);
        if time < grant.iat.saturating_sub(self.skew_secs) || time >= grant.exp {
            return Err(reject(format!("entry {seq} was made outside its grant's window")));
        }
        if !grant.allows(entry.body.op.collection()) {
            return Err(reject(format!("entry {seq} writes a collection outside the grant's scope")));
        }
        let sizes = match &entry.body.op {
            Operation::Put { collection, key, value } => check_names(collection, key).and_then(|()| check_value(value)),
            Operation::Delete { collection, key } => check_names(collection, key),
        };
        sizes.map_err(|_| reject(format!("entry {seq} exceeds the size limits of names or values")))
    }
}

fn operation(entry: QueueEntry) -> SyncOperation {
    let EntryBody { seq, grant_id, time, boots, op } = entry.body;
    let (collection, key, value) = match op {
        Operation::Put { collection, key, value } => (collection, key, Some(value)),
        Operation::Delete { collection, key } => (collection, key, None),
    };
    SyncOperation { seq, time, grant_id, boots, collection, key, value }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::GrantIssuer;
    use crate::sync::batch::{BatchV1, BatchWire, MAGIC};
    use crate::sync::entry::EntryV1;

    const T: i64 = 1_000_000;

    struct Fixture {
        verifier: Arc<SyncVerifier>,
        token: String,
        jti: String,
        sync_key: SecretKey,
    }

    fn fixture() -> Fixture {
        let issuer = GrantIssuer::generate("k".into()).unwrap();
        let token = issuer.issue("u".into(), "d".into(), vec!["visits".into()], T, T + 3600).unwrap();
        let verifier = SyncVerifier::new(vec![issuer.issuer_key()]).unwrap();
        let jti = grant::verify_signature(&token, &verifier.issuers).unwrap().jti;
        Fixture { verifier, token, jti, sync_key: SecretKey::generate().unwrap() }
    }

    /// A chain of entries with the given boot counts (`None`: first-release entries).
    fn chain(fx: &Fixture, boots: &[Option<u32>]) -> Vec<QueueEntry> {
        let key = MacKey::new(&fx.sync_key);
        let mut prev = [0u8; 32];
        (1u64..)
            .zip(boots)
            .map(|(seq, boots)| {
                let op = Operation::Put { collection: "visits".into(), key: format!("k{seq}"), value: vec![1] };
                let body = EntryBody { seq, grant_id: fx.jti.clone(), time: T + 10, boots: *boots, op };
                let mac = body.chain_mac(&key, &prev).unwrap();
                prev = mac;
                QueueEntry { body, mac }
            })
            .collect()
    }

    fn verify(fx: &Fixture, bytes: &[u8]) -> Result<VerifiedBatch> {
        fx.verifier.verify_batch(bytes, fx.sync_key.to_vec().to_vec(), &SyncCursor::initial())
    }

    #[test]
    fn a_first_release_batch_still_verifies() {
        let fx = fixture();
        let entries = chain(&fx, &[None, None]).iter().map(|e| EntryV1::of(e).unwrap()).collect();
        let wire = BatchWire::V1(BatchV1 { device_id: "d".into(), grants: vec![fx.token.clone()], entries });
        let mut bytes = MAGIC.to_vec();
        bytes.extend(postcard::to_stdvec(&wire).unwrap());
        let verified = verify(&fx, &bytes).unwrap();
        assert_eq!(verified.operations.iter().map(|o| o.boots).collect::<Vec<_>>(), [None, None]);
    }

    #[test]
    fn a_queue_written_across_an_upgrade_verifies_with_each_entry_in_its_format() {
        let fx = fixture();
        let entries = chain(&fx, &[None, Some(3)]);
        let bytes = Batch { device_id: "d".into(), grants: vec![fx.token.clone()], entries }.to_bytes().unwrap();
        let verified = verify(&fx, &bytes).unwrap();
        assert_eq!(verified.operations.iter().map(|o| o.boots).collect::<Vec<_>>(), [None, Some(3)]);
    }

    #[test]
    fn the_boot_count_is_covered_by_the_mac() {
        let fx = fixture();
        let mut entries = chain(&fx, &[Some(1), Some(1)]);
        if let Some(last) = entries.last_mut() {
            last.body.boots = Some(0);
        }
        let bytes = Batch { device_id: "d".into(), grants: vec![fx.token.clone()], entries }.to_bytes().unwrap();
        assert!(matches!(verify(&fx, &bytes), Err(Error::BatchRejected(reason)) if reason.contains("MAC chain")));
    }
}
