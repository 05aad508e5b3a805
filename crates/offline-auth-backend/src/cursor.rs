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
///
/// What [`SyncVerifier::verify`](crate::SyncVerifier::verify) returns: a
/// service that applies the operations while it holds the upload's bytes
/// copies nothing; [`into_owned`](Self::into_owned) copies once for a result
/// that outlives them (the bindings' `VerifiedBatch` is built the same way).
///
/// ```
/// use offline_auth_backend::{GrantIssuer, SyncCursor, SyncVerifier, VerifiedBatch};
/// # use offline_auth_proto::{batch::Batch, crypto::{MacKey, SecretKey}, entry::{EntryBody, Operation, QueueEntry}};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let issuer = GrantIssuer::generate("2026-12")?;
/// # let sync_key = offline_auth_backend::generate_sync_key()?;
/// # let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs() as i64;
/// # let grant = issuer.issue("amira", "tablet-42", &["inspections".to_owned()], now - 60, now + 3600)?;
/// # let jti = offline_auth_backend::verify_grant(&grant, &[issuer.issuer_key()])?.grant_id;
/// # let op = Operation::Put { collection: "inspections".into(), key: "station-7".into(), value: b"ok".to_vec() };
/// # let body = EntryBody { seq: 1, grant_id: jti, time: now, boots: Some(0), op };
/// # let mac = body.chain_mac(&MacKey::new(&SecretKey::from_slice(&sync_key)?), &[0; 32])?;
/// # let entries = vec![QueueEntry { body, mac }];
/// # let upload: Vec<u8> = Batch { device_id: "tablet-42".into(), grants: vec![grant], entries }.to_bytes()?;
/// let verifier = SyncVerifier::new(vec![issuer.issuer_key()])?;
/// let cursor = SyncCursor::initial(); // the one stored for the device
/// // `upload`: the request body as the device sent it.
/// let verified = verifier.verify(&upload, &sync_key, &cursor)?;
/// for op in &verified.operations {
///     // Names and value point into `upload`: nothing was copied.
///     assert!(upload.as_ptr_range().contains(&op.key.as_ptr()));
///     match op.value {
///         Some(value) => println!("{} sets {}/{} ({} bytes)", verified.user_id, op.collection, op.key, value.len()),
///         None => println!("{} deletes {}/{}", verified.user_id, op.collection, op.key),
///     }
/// }
/// assert_eq!(verified.cursor.last_seq, 1); // store it with the edits, then answer `verified.receipt`
///
/// // To keep the operations after `upload` is dropped: one copy.
/// let owned: VerifiedBatch = verified.into_owned();
/// drop(upload);
/// assert_eq!(owned.operations[0].key, "station-7");
/// # Ok(())
/// # }
/// ```
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
