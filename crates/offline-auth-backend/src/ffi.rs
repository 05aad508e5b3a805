//! The backend as the bindings see it.
//!
//! The Rust API counts seqs in `u64`. Kotlin maps those to `ULong`, an
//! inline class a Java caller cannot name: the record constructors become
//! private and the getters mangled (`getLastSeq-s-VKNKU`). The bindings
//! therefore get records of the same names with `i64` seqs and counts
//! (`long` in Java, `Long` in Kotlin, `Int64` in Swift, `int` in Python),
//! converted here, range-checked: a negative seq from a caller is an
//! `InvalidInput` error, never a wrap-around. Seqs past `i64::MAX` cannot
//! occur (a device would need 2^63 edits) and are refused all the same.
//!
//! Also declares to UniFFI the wire-format types the backend shares with
//! `offline-auth-proto` (the proto crate knows nothing of FFI).

use std::sync::Arc;

use offline_auth_proto::grant::{GrantPolicy, IssuerKey};

use crate::cursor;
use crate::error::{BackendError, Result};
use crate::issuer::GrantIssuer;
use crate::verifier::SyncVerifier;

offline_auth_proto::uniffi_remote_grant_types!();

/// Where the backend is in a device's chain. Store it per device after each
/// accepted batch; a device that never synced starts from seq 0 and 32
/// zero bytes.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncCursor {
    /// Seq of the last entry applied (0 before the first); never negative.
    pub last_seq: i64,
    /// MAC of that entry (32 zero bytes before the first).
    pub last_mac: Vec<u8>,
}

/// The cursor of a device that never synced, where every chain starts (the
/// bindings' form of [`cursor::SyncCursor::initial`]: Python
/// `SyncCursor.initial()`, Java `OfflineAuthBackend.initialSyncCursor()`).
#[uniffi::export]
pub fn initial_sync_cursor() -> SyncCursor {
    let initial = cursor::SyncCursor::initial();
    SyncCursor { last_seq: 0, last_mac: initial.last_mac }
}

/// One verified edit, ready to apply.
///
/// Its `Debug` and `Display` (exported: Python's `repr()` and `str()`,
/// Kotlin's `toString()`) show the seq, time and collection, never the key
/// or the value.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
#[uniffi::export(Debug, Display)]
pub struct SyncOperation {
    /// The entry's seq (at least 1).
    pub seq: i64,
    /// When the device made the edit (its trusted time, seconds since the epoch).
    pub time: i64,
    /// `jti` of the grant in force.
    pub grant_id: String,
    /// Device boots since enrolment when the edit was made (`None` from
    /// devices on the first release).
    pub boots: Option<i64>,
    /// Collection of the record.
    pub collection: String,
    /// Key of the record.
    pub key: String,
    /// The new value, or `None` for a delete.
    pub value: Option<Vec<u8>>,
    /// The entry's chain MAC: keep it with the seq for `verify_with_chain`.
    pub mac: Vec<u8>,
}

/// An entry the backend applied, as it kept it: its seq and chain MAC.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AppliedEntry {
    /// The entry's seq (at least 1).
    pub seq: i64,
    /// Its chain MAC (32 bytes).
    pub mac: Vec<u8>,
}

impl TryFrom<AppliedEntry> for cursor::AppliedEntry {
    type Error = BackendError;
    fn try_from(e: AppliedEntry) -> Result<Self> {
        let seq = u64::try_from(e.seq).map_err(|_| BackendError::invalid("an applied seq must not be negative"))?;
        Ok(Self { seq, mac: e.mac })
    }
}

impl std::fmt::Debug for SyncOperation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncOperation")
            .field("seq", &self.seq)
            .field("time", &self.time)
            .field("collection", &self.collection)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Display for SyncOperation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

/// What the backend may apply, and the cursor to store afterwards.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct VerifiedBatch {
    /// The device the batch came from (the grants' `dev`).
    pub device_id: String,
    /// The user who made the edits (the grants' `sub`).
    pub user_id: String,
    /// New operations, in order.
    pub operations: Vec<SyncOperation>,
    /// Entries already applied earlier (seq ≤ cursor), skipped.
    pub duplicates: i64,
    /// The cursor to store once the operations are applied.
    pub cursor: SyncCursor,
    /// The answer for the device once the operations and the cursor are
    /// committed: it passes these bytes to `SyncQueue::acknowledge`.
    pub receipt: Vec<u8>,
}

fn to_i64(value: u64, what: &str) -> Result<i64> {
    i64::try_from(value).map_err(|_| BackendError::invalid(format!("{what} exceeds the bindings' 63-bit range")))
}

impl TryFrom<SyncCursor> for cursor::SyncCursor {
    type Error = BackendError;
    fn try_from(c: SyncCursor) -> Result<Self> {
        let last_seq =
            u64::try_from(c.last_seq).map_err(|_| BackendError::invalid("the cursor seq must not be negative"))?;
        Ok(Self { last_seq, last_mac: c.last_mac })
    }
}

impl TryFrom<cursor::SyncCursor> for SyncCursor {
    type Error = BackendError;
    fn try_from(c: cursor::SyncCursor) -> Result<Self> {
        Ok(Self { last_seq: to_i64(c.last_seq, "the cursor seq")?, last_mac: c.last_mac })
    }
}

impl TryFrom<cursor::SyncOperation> for SyncOperation {
    type Error = BackendError;
    fn try_from(op: cursor::SyncOperation) -> Result<Self> {
        Ok(Self {
            seq: to_i64(op.seq, "an entry seq")?,
            time: op.time,
            grant_id: op.grant_id,
            boots: op.boots.map(i64::from),
            collection: op.collection,
            key: op.key,
            value: op.value,
            mac: op.mac.to_vec(),
        })
    }
}

/// The bindings' owned operation, copied once from the borrowing one.
impl TryFrom<&cursor::SyncOperationRef<'_>> for SyncOperation {
    type Error = BackendError;
    fn try_from(op: &cursor::SyncOperationRef<'_>) -> Result<Self> {
        Ok(Self {
            seq: to_i64(op.seq, "an entry seq")?,
            time: op.time,
            grant_id: op.grant_id.to_owned(),
            boots: op.boots.map(i64::from),
            collection: op.collection.to_owned(),
            key: op.key.to_owned(),
            value: op.value.map(<[u8]>::to_vec),
            mac: op.mac.to_vec(),
        })
    }
}

impl TryFrom<cursor::VerifiedBatchRef<'_>> for VerifiedBatch {
    type Error = BackendError;
    fn try_from(b: cursor::VerifiedBatchRef<'_>) -> Result<Self> {
        Ok(Self {
            device_id: b.device_id.to_owned(),
            user_id: b.user_id,
            operations: b.operations.iter().map(SyncOperation::try_from).collect::<Result<_>>()?,
            duplicates: to_i64(b.duplicates, "the duplicate count")?,
            cursor: b.cursor.try_into()?,
            receipt: b.receipt,
        })
    }
}

impl TryFrom<cursor::VerifiedBatch> for VerifiedBatch {
    type Error = BackendError;
    fn try_from(b: cursor::VerifiedBatch) -> Result<Self> {
        Ok(Self {
            device_id: b.device_id,
            user_id: b.user_id,
            operations: b.operations.into_iter().map(SyncOperation::try_from).collect::<Result<_>>()?,
            duplicates: to_i64(b.duplicates, "the duplicate count")?,
            cursor: b.cursor.try_into()?,
            receipt: b.receipt,
        })
    }
}

#[uniffi::export]
impl SyncVerifier {
    /// Verifies `batch` for the device whose sync key is `sync_key`, starting
    /// from the `cursor` stored for it. Returns the new operations in order,
    /// the cursor to store once they are applied, and the receipt to answer
    /// with once that is committed.
    ///
    /// # Errors
    /// `InvalidInput` for a sync key or cursor MAC that is not 32 bytes or a
    /// negative cursor seq; `Clock` if the server's clock cannot tell the
    /// time; `BatchRejected` with the reason for anything wrong with the batch.
    #[uniffi::method(name = "verify")]
    pub fn ffi_verify(&self, batch: Vec<u8>, sync_key: Vec<u8>, cursor: SyncCursor) -> Result<VerifiedBatch> {
        self.verify(&batch, &sync_key, &cursor.try_into()?)?.try_into()
    }

    /// [`verify`](Self::ffi_verify), shown the applied entries the batch
    /// overlaps, so a device written back with an older copy of its files
    /// gets an answer to re-base on.
    ///
    /// # Errors
    /// As `verify`; `Diverged` (the answer for the device, the range it
    /// lost) when its queue parted from the applied chain; `InvalidInput`
    /// for bad `applied` entries.
    #[uniffi::method(name = "verify_with_chain")]
    pub fn ffi_verify_with_chain(
        &self,
        batch: Vec<u8>,
        sync_key: Vec<u8>,
        cursor: SyncCursor,
        applied: Vec<AppliedEntry>,
    ) -> Result<VerifiedBatch> {
        let applied = applied.into_iter().map(cursor::AppliedEntry::try_from).collect::<Result<Vec<_>>>()?;
        self.verify_with_chain(&batch, &sync_key, &cursor.try_into()?, &applied)?.try_into()
    }

    /// The receipt for a stored `cursor` of `device_id`: for answering an
    /// upload again without verifying anything.
    ///
    /// # Errors
    /// `InvalidInput` for a sync key or cursor MAC that is not 32 bytes or a
    /// negative cursor seq.
    #[uniffi::method(name = "receipt")]
    pub fn ffi_receipt(&self, device_id: String, sync_key: Vec<u8>, cursor: SyncCursor) -> Result<Vec<u8>> {
        self.receipt(&device_id, &sync_key, &cursor.try_into()?)
    }

    /// [`verify`](Self::ffi_verify) off the caller's thread: a Kotlin
    /// `suspend` function, a Swift `async` method, a Python coroutine. The
    /// work runs on a pool thread (`blocking::unblock`), so a coroutine
    /// dispatcher or event loop keeps serving while a large batch is checked.
    /// Cancelling the caller abandons the result; the verification has no
    /// side effect to undo (the caller stores the cursor).
    ///
    /// # Errors
    /// As `verify`.
    #[uniffi::method(name = "verify_async")]
    pub async fn ffi_verify_async(
        self: Arc<Self>,
        batch: Vec<u8>,
        sync_key: Vec<u8>,
        cursor: SyncCursor,
    ) -> Result<VerifiedBatch> {
        blocking::unblock(move || self.ffi_verify(batch, sync_key, cursor)).await
    }
}

#[uniffi::export]
impl GrantIssuer {
    /// [`issue`](GrantIssuer::issue) off the caller's thread, for a signer
    /// that waits on a KMS or HSM: Kotlin `suspend`, Swift `async`, Python
    /// coroutine (the signer runs on a pool thread, `blocking::unblock`).
    ///
    /// # Errors
    /// As `issue`.
    #[uniffi::method(name = "issue_async")]
    pub async fn ffi_issue_async(
        self: Arc<Self>,
        user_id: String,
        device_id: String,
        scopes: Vec<String>,
        issued_at: i64,
        expires_at: i64,
    ) -> Result<String> {
        blocking::unblock(move || self.issue(&user_id, &device_id, &scopes, issued_at, expires_at)).await
    }

    /// [`issue_directive`](GrantIssuer::issue_directive) for the bindings:
    /// `action` is `wipe`, `lock_until_renewal` or `biometrics_off`.
    ///
    /// # Errors
    /// `InvalidInput` for another action or a bad device id; `Signer`.
    #[uniffi::method(name = "issue_directive")]
    pub fn ffi_issue_directive(&self, device_id: String, action: String, issued_at: i64) -> Result<String> {
        let action: offline_auth_proto::directive::DirectiveAction =
            serde_json::from_value(serde_json::Value::String(action))
                .map_err(|_| BackendError::invalid("action must be wipe, lock_until_renewal or biometrics_off"))?;
        self.issue_directive(&device_id, action, issued_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_cursor_seq_is_invalid_input_not_a_wrap() {
        let err = cursor::SyncCursor::try_from(SyncCursor { last_seq: -1, last_mac: vec![0; 32] }).unwrap_err();
        assert!(matches!(err, BackendError::InvalidInput { .. }), "{err:?}");
    }

    #[test]
    fn cursor_round_trips_through_the_bindings_form() {
        let rust = cursor::SyncCursor { last_seq: 7, last_mac: vec![9; 32] };
        let ffi = SyncCursor::try_from(rust.clone()).unwrap();
        assert_eq!(ffi.last_seq, 7);
        assert_eq!(cursor::SyncCursor::try_from(ffi).unwrap(), rust);
    }

    #[test]
    fn seq_past_the_63_bit_range_is_refused_not_truncated() {
        let err = SyncCursor::try_from(cursor::SyncCursor { last_seq: u64::MAX, last_mac: vec![0; 32] }).unwrap_err();
        assert!(matches!(err, BackendError::InvalidInput { .. }), "{err:?}");
    }
}
