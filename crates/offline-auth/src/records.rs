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
use std::ops::Range;

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

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

/// Borrowing reader of [`RecordWire`]: the same bytes (postcard writes a
/// `Vec<u8>` as its length and its bytes, which is what `&[u8]` reads), with
/// the names and the value borrowed from the opened plaintext.
#[derive(Deserialize)]
enum RecordWireBorrowed<'a> {
    V1(#[serde(borrow)] RecordBodyRef<'a>),
}

#[derive(Deserialize)]
struct RecordBodyRef<'a> {
    collection: &'a str,
    key: &'a str,
    value: &'a [u8],
    version: u64,
}

impl RecordBody {
    /// Opens the sealed body of the row that the caller found at `location`,
    /// the row key it blinded from `(collection, key)`, under the collection
    /// tag `row_tag` (the row's stored tag, part of its key). Returns `take` of the opened plaintext
    /// with the range of the value in it (see [`value_in_place`]), and the
    /// version.
    ///
    /// The same guarantee as [`RecordBody::open`] at a third of its cost (no
    /// MAC computed here, no copy of the row, names not copied): the
    /// associated data binds the body to `location` and `row_tag`, which only
    /// a holder of the vault key can seal, and the vault seals a body only at
    /// the row key and tag its own names blind to. So a body that opens here
    /// and holds `(collection, key)` is that record's, and `row_tag` is that
    /// collection's tag. A body that holds other names is `Tampered`.
    pub(crate) fn open_known<T>(
        keys: &VaultKeys,
        location: &[u8; 32],
        row_tag: &[u8],
        sealed: &[u8],
        (collection, key): (&str, &str),
        take: impl FnOnce(Zeroizing<Vec<u8>>, Range<usize>) -> T,
    ) -> Result<(T, u64)> {
        let mut place = [0u8; 64];
        let (at, tag) = place.split_at_mut(32);
        at.copy_from_slice(location);
        let row_tag: &[u8; 32] = row_tag.try_into().map_err(|_| Error::Tampered)?;
        tag.copy_from_slice(row_tag);
        let bytes = keys.open(AadKind::Record, &place, sealed)?;
        let body = match postcard::from_bytes::<RecordWireBorrowed<'_>>(&bytes) {
            Ok(RecordWireBorrowed::V1(body)) => body,
            Err(_) => return Err(Error::Tampered),
        };
        if !ct_eq(body.collection.as_bytes(), collection.as_bytes()) || !ct_eq(body.key.as_bytes(), key.as_bytes()) {
            return Err(Error::Tampered);
        }
        let start = body.value.as_ptr().addr().checked_sub(bytes.as_ptr().addr()).ok_or(Error::Tampered)?;
        let value = start..start + body.value.len();
        let version = body.version;
        Ok((take(bytes, value), version))
    }
}

/// The value of an opened record body, made from the plaintext buffer
/// itself ([`move_value_to_front`], then cut to the value's length): no copy
/// of the value is made and none left to wipe, so a `get` copies a record
/// once, from SQLite's page into the buffer it decrypts and returns. The
/// spare capacity keeps only zeros, bytes of the value and the version.
pub(crate) fn value_in_place(mut plaintext: Zeroizing<Vec<u8>>, value: Range<usize>) -> Vec<u8> {
    let mut bytes = std::mem::take(&mut *plaintext);
    let len = move_value_to_front(&mut bytes, value);
    bytes.truncate(len);
    bytes
}

/// Wipes the bytes before `value` in `buffer` (the record's names), then
/// moves the value to the front; returns its length. A range outside the
/// buffer (not made by `open_known`) leaves an empty value, all wiped.
fn move_value_to_front(buffer: &mut [u8], value: Range<usize>) -> usize {
    let Some(names) = buffer.get_mut(..value.start) else {
        buffer.zeroize();
        return 0;
    };
    names.zeroize();
    if value.end > buffer.len() || value.start > value.end {
        buffer.zeroize();
        return 0;
    }
    let len = value.len();
    buffer.copy_within(value, 0);
    len
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{Mac32, SecretKey};

    fn sealed(keys: &VaultKeys, names: (&str, &str), at: (&str, &str)) -> (Mac32, Mac32, Vec<u8>) {
        let body = RecordBody { collection: names.0.into(), key: names.1.into(), value: vec![7; 300], version: 42 };
        let (location, tag) = (keys.record_location(at.0, at.1), keys.collection_tag(at.0));
        let bytes = body.seal(keys, &location, &tag).unwrap();
        (location, tag, bytes)
    }

    #[test]
    fn the_borrowing_reader_opens_what_the_owned_form_sealed() {
        let keys = VaultKeys::unbound(b"v", SecretKey::generate().unwrap()).unwrap();
        let (location, tag, bytes) = sealed(&keys, ("forms", "a"), ("forms", "a"));
        let (value, version) =
            RecordBody::open_known(&keys, &location, &tag, &bytes, ("forms", "a"), value_in_place).unwrap();
        assert_eq!((value, version), (vec![7; 300], 42));
        // And the full open agrees.
        let row = RecordRow { location: location.to_vec(), collection: tag.to_vec(), body: bytes };
        assert_eq!(RecordBody::open(&keys, &row).unwrap().version, 42);
    }

    #[test]
    fn a_known_read_of_a_body_holding_other_names_or_under_another_tag_is_tampered() {
        let keys = VaultKeys::unbound(b"v", SecretKey::generate().unwrap()).unwrap();
        // Sealed (by a bug, say) at the row of ("forms", "a") but holding "b".
        let (location, tag, bytes) = sealed(&keys, ("forms", "b"), ("forms", "a"));
        let read = RecordBody::open_known(&keys, &location, &tag, &bytes, ("forms", "a"), |_, _| ());
        assert!(matches!(read, Err(Error::Tampered)));
        // The right body, with its row's collection tag edited.
        let (location, _, bytes) = sealed(&keys, ("forms", "a"), ("forms", "a"));
        let other = keys.collection_tag("other");
        let read = RecordBody::open_known(&keys, &location, &other, &bytes, ("forms", "a"), |_, _| ());
        assert!(matches!(read, Err(Error::Tampered)));
        let read = RecordBody::open_known(&keys, &location, &other[..31], &bytes, ("forms", "a"), |_, _| ());
        assert!(matches!(read, Err(Error::Tampered)));
    }
}

#[cfg(test)]
mod in_place_tests {
    use super::*;

    #[test]
    fn a_value_moved_in_place_leaves_no_byte_of_the_names_behind() {
        // Names longer than the value: moving it covers part of them only.
        let mut buffer = b"NNNNNNNNNNNNNNNNNNNNvalue!V".to_vec();
        assert_eq!(move_value_to_front(&mut buffer, 20..26), 6);
        assert_eq!(&buffer[..6], b"value!");
        assert!(!buffer.contains(&b'N'), "{buffer:?}");
        // Names shorter than the value.
        let mut buffer = b"NNvalue-longer-than-namesV".to_vec();
        assert_eq!(move_value_to_front(&mut buffer, 2..25), 23);
        assert_eq!(&buffer[..23], b"value-longer-than-names");
        assert!(!buffer.contains(&b'N'));
        // A range not from the decoder: nothing returned, everything wiped.
        let mut buffer = b"NNNvalue".to_vec();
        assert_eq!(move_value_to_front(&mut buffer, 3..40), 0);
        assert_eq!(buffer, vec![0; 8]);
        assert_eq!(value_in_place(Zeroizing::new(b"NNvalueV".to_vec()), 2..7), b"value");
    }
}
