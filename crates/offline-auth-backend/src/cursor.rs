//! What the verifier returns: the operations to apply, the cursor to store
//! and the receipt to answer with.
//!
//! [`SyncVerifier::verify`](crate::SyncVerifier::verify) returns a
//! [`VerifiedBatchRef`] whose operations borrow their grant id, names and
//! value from the batch bytes the caller holds: no allocation per entry. A
//! service that applies the operations before it drops the bytes needs
//! nothing else; [`VerifiedBatchRef::into_owned`] gives the owned
//! [`VerifiedBatch`] (what the bindings return, and what outlives the
//! bytes).

/// Where the backend is in a device's chain. Store it per device after each
/// accepted batch; start from [`SyncCursor::initial`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SyncCursor {
    /// Seq of the last entry applied (0 before the first).
    pub last_seq: u64,
    /// MAC of that entry (32 zero bytes before the first).
    pub last_mac: Vec<u8>,
}

impl SyncCursor {
    /// The cursor of a device that never synced.
    pub fn initial() -> Self {
        Self { last_seq: 0, last_mac: vec![0; 32] }
    }
}

/// One verified edit, ready to apply. Its `Debug` output omits the value.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SyncOperation {
    /// The entry's seq.
    pub seq: u64,
    /// When the device made the edit (its trusted time, seconds since the epoch).
    pub time: i64,
    /// `jti` of the grant in force.
    pub grant_id: String,
    /// Device boots since enrolment when the edit was made (`None` from
    /// devices on the first release). Boots that grow while `time` barely
    /// moves mean a device restarted to hold its clock back.
    pub boots: Option<u32>,
    /// Collection of the record.
    pub collection: String,
    /// Key of the record.
    pub key: String,
    /// The new value, or `None` for a delete.
    pub value: Option<Vec<u8>>,
    /// The entry's chain MAC. Keep it with the seq ([`AppliedEntry`]) if
    /// devices may be written back with older copies of their files: the
    /// verifier then tells where such a device's queue parts from what was
    /// applied (`SyncVerifier::verify_with_chain`). Inline, not on the heap:
    /// a batch's operations stay within the verifier's memory bound.
    pub mac: [u8; 32],
}

impl SyncOperation {
    /// An operation from its parts, with no boot count (for tests and for
    /// operations rebuilt from storage; the verifier makes its own).
    pub fn new(
        seq: u64,
        time: i64,
        grant_id: impl Into<String>,
        collection: impl Into<String>,
        key: impl Into<String>,
        value: Option<Vec<u8>>,
        mac: [u8; 32],
    ) -> Self {
        Self {
            seq,
            time,
            grant_id: grant_id.into(),
            boots: None,
            collection: collection.into(),
            key: key.into(),
            value,
            mac,
        }
    }

    /// The same operation with the device's boot count.
    #[must_use]
    pub fn with_boots(mut self, boots: Option<u32>) -> Self {
        self.boots = boots;
        self
    }
}

/// One verified edit, borrowing from the batch bytes. Its `Debug` output
/// omits the value.
#[derive(Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct SyncOperationRef<'a> {
    /// The entry's seq.
    pub seq: u64,
    /// When the device made the edit (its trusted time, seconds since the epoch).
    pub time: i64,
    /// `jti` of the grant in force.
    pub grant_id: &'a str,
    /// Device boots since enrolment when the edit was made (see [`SyncOperation::boots`]).
    pub boots: Option<u32>,
    /// Collection of the record.
    pub collection: &'a str,
    /// Key of the record.
    pub key: &'a str,
    /// The new value, or `None` for a delete.
    pub value: Option<&'a [u8]>,
    /// The entry's chain MAC (see [`SyncOperation::mac`]).
    pub mac: [u8; 32],
}

impl SyncOperationRef<'_> {
    /// The operation with its own copies of the names and value.
    pub fn to_owned_operation(&self) -> SyncOperation {
        SyncOperation {
            seq: self.seq,
            time: self.time,
            grant_id: self.grant_id.to_owned(),
            boots: self.boots,
            collection: self.collection.to_owned(),
            key: self.key.to_owned(),
            value: self.value.map(<[u8]>::to_vec),
            mac: self.mac,
        }
    }
}

impl std::fmt::Debug for SyncOperationRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncOperationRef")
            .field("seq", &self.seq)
            .field("time", &self.time)
            .field("collection", &self.collection)
            .field("value", &self.value.map(|v| format!("<{} bytes redacted>", v.len())))
            .finish_non_exhaustive()
    }
}

/// An entry the backend applied, as it kept it: its seq and chain MAC
/// ([`SyncOperation::mac`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct AppliedEntry {
    /// The entry's seq.
    pub seq: u64,
    /// Its chain MAC (32 bytes).
    pub mac: Vec<u8>,
}

impl std::fmt::Debug for SyncOperation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncOperation")
            .field("seq", &self.seq)
            .field("time", &self.time)
            .field("collection", &self.collection)
            .field("value", &self.value.as_ref().map(|v| format!("<{} bytes redacted>", v.len())))
            .finish_non_exhaustive()
    }
}

/// What the backend may apply, and the cursor to store afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct VerifiedBatch {
    /// The device the batch came from (the grants' `dev`).
    pub device_id: String,
    /// The user who made the edits (the grants' `sub`).
    pub user_id: String,
    /// New operations, in order.
    pub operations: Vec<SyncOperation>,
    /// Entries already applied earlier (seq ≤ cursor), skipped.
    pub duplicates: u64,
    /// The cursor to store once the operations are applied.
    pub cursor: SyncCursor,
    /// The answer for the device once the operations and the cursor are
    /// committed: it passes these bytes to `SyncQueue::acknowledge`, which
    /// deletes exactly the entries applied (MACed with the sync key).
    pub receipt: Vec<u8>,
}

/// What the backend may apply, borrowing from the batch bytes: the device
/// id and each operation's grant id, names and value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct VerifiedBatchRef<'a> {
    /// The device the batch came from (the grants' `dev`).
    pub device_id: &'a str,
    /// The user who made the edits (the grants' `sub`).
    pub user_id: String,
    /// New operations, in order.
    pub operations: Vec<SyncOperationRef<'a>>,
    /// Entries already applied earlier (seq ≤ cursor), skipped.
    pub duplicates: u64,
    /// The cursor to store once the operations are applied.
    pub cursor: SyncCursor,
    /// The answer for the device once the operations and the cursor are
    /// committed (see [`VerifiedBatch::receipt`]).
    pub receipt: Vec<u8>,
}

impl VerifiedBatchRef<'_> {
    /// The batch with its own copies of every borrowed string and value.
    pub fn into_owned(self) -> VerifiedBatch {
        VerifiedBatch {
            device_id: self.device_id.to_owned(),
            user_id: self.user_id,
            operations: self.operations.iter().map(SyncOperationRef::to_owned_operation).collect(),
            duplicates: self.duplicates,
            cursor: self.cursor,
            receipt: self.receipt,
        }
    }
}

impl From<VerifiedBatchRef<'_>> for VerifiedBatch {
    fn from(batch: VerifiedBatchRef<'_>) -> Self {
        batch.into_owned()
    }
}
