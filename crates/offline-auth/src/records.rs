//! Record bodies: what a `(collection, key) → value` row holds, sealed.
//!
//! The row's primary key is the blinded location (an HMAC of the names under
//! a vault-key subkey), so the database shows no names; the names travel
//! inside the ciphertext, whose associated data is the location and the
//! blinded collection tag of the row. A body moved to another row, or a row
//! whose collection tag was edited, fails to open; a body whose names differ
//! from the ones asked for is reported as tampering.

use offline_auth_proto::limits;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::crypto::{ct_eq, AadKind};
use crate::error::{Error, Result};
use crate::keys::VaultKeys;
use crate::storage::RecordRow;

/// What a record row holds, once opened.
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub(crate) struct RecordBody {
    /// The collection's name.
    pub(crate) collection: String,
    /// The record's key in the collection.
    pub(crate) key: String,
    /// The stored value.
    pub(crate) value: Vec<u8>,
    /// Seq of the queue entry that wrote this version (unique, increasing).
    pub(crate) version: u64,
}

#[derive(Serialize, Deserialize)]
enum RecordWire {
    V1(RecordBody),
}

/// What the record's associated data binds it to: its row key and collection tag.
fn place(location: &[u8], collection_tag: &[u8]) -> Vec<u8> {
    [location, collection_tag].concat()
}

impl RecordBody {
    /// Seals the body for the row at `location` in the collection tagged `collection_tag`.
    pub(crate) fn seal(&self, keys: &VaultKeys, location: &[u8], collection_tag: &[u8]) -> Result<Vec<u8>> {
        let mut bytes = postcard::to_stdvec(&RecordWireRef::V1(self)).map_err(|_| Error::Encoding)?;
        let sealed = keys.seal(AadKind::Record, &place(location, collection_tag), &bytes);
        bytes.zeroize();
        sealed
    }

    /// Opens a stored row and checks that it holds `(collection, key)` when given.
    pub(crate) fn open(keys: &VaultKeys, row: &RecordRow) -> Result<Self> {
        let bytes = keys.open(AadKind::Record, &place(&row.location, &row.collection), &row.body)?;
        let body = match postcard::from_bytes::<RecordWire>(&bytes) {
            Ok(RecordWire::V1(body)) => body,
            Err(_) => return Err(Error::Tampered),
        };
        // The row key must be the one these names blind to.
        let expected = keys.record_location(&body.collection, &body.key);
        let tag = keys.collection_tag(&body.collection);
        if !ct_eq(&expected, &row.location) || !ct_eq(&tag, &row.collection) {
            return Err(Error::Tampered);
        }
        Ok(body)
    }
}

#[derive(Serialize)]
enum RecordWireRef<'a> {
    V1(&'a RecordBody),
}

/// Rejects empty or oversized names.
pub(crate) fn check_names(collection: &str, key: &str) -> Result<()> {
    Ok(limits::check_names(collection, key)?)
}

/// Rejects values over the size limit.
pub(crate) fn check_value(value: &[u8]) -> Result<()> {
    Ok(limits::check_value(value)?)
}

/// Most records one bulk call (`get_many`, `put_many`, `entries`) takes or returns.
pub const MAX_BULK_RECORDS: u32 = 1_000;
/// Most bytes of keys and values one bulk call takes or returns (collection
/// names not counted).
pub const MAX_BULK_BYTES: u64 = 8 * 1024 * 1024;

/// A record's key and value, within a collection the call names.
///
/// `Debug` and `Display` show the key and the value's length, never the
/// value; both are exported, so Python's `repr()` and `str()`, Kotlin's
/// `toString()` and Swift's `description` redact the value too (the
/// bindings' own would print it).
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
#[uniffi::export(Debug, Display)]
pub struct KeyValue {
    /// Key of the record within its collection.
    pub key: String,
    /// The record's value.
    pub value: Vec<u8>,
}

impl std::fmt::Debug for KeyValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyValue").field("key", &self.key).field("value_len", &self.value.len()).finish()
    }
}

impl std::fmt::Display for KeyValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

/// Checks a bulk call's count and byte size against the limits.
pub(crate) fn check_bulk(count: usize, bytes: u64, what: &str) -> Result<()> {
    if count > MAX_BULK_RECORDS as usize {
        return Err(Error::InvalidInput(format!("{what}: at most {MAX_BULK_RECORDS} records per call, got {count}")));
    }
    if bytes > MAX_BULK_BYTES {
        return Err(Error::InvalidInput(format!("{what}: at most {MAX_BULK_BYTES} bytes of keys and values per call")));
    }
    Ok(())
}
