//! The salvage upload: what a device sends of its escrowed entries when it
//! can no longer open its own keys (after a wipe, ten wrong PINs, a lost
//! device key or a forgotten PIN).
//!
//! Bytes (`docs/BATCH_FORMAT.md`, "Salvage upload"): the magic `OASV`, a
//! version byte (1), then postcard of the header (device id, enrolment id,
//! entry count), then `count` entries, each postcard of `(seq, blob)` where
//! `blob` is an escrowed entry (`crate::escrow`) as the device stored it.
//! The reader checks the size before reading and the count before any
//! entry, and hands entries out one at a time as views into the input: a
//! hostile upload costs no memory beyond its own size.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::escrow::{MAX_ENROLMENT_LEN, MAX_ESCROW_BLOB_LEN};
use crate::grant::MAX_CLAIM_LEN;
use crate::limits::{MAX_BATCH_BYTES, MAX_BATCH_ENTRIES};

/// First bytes of every salvage upload.
pub const SALVAGE_MAGIC: &[u8; 4] = b"OASV";
/// The version this build writes and reads.
pub const SALVAGE_V1: u8 = 1;
/// Largest salvage upload (bytes), checked before parsing: a batch's limit.
pub const MAX_SALVAGE_BYTES: usize = MAX_BATCH_BYTES;

fn reject(reason: &str) -> Error {
    Error::BatchRejected(format!("salvage: {reason}"))
}

#[derive(Serialize, Deserialize)]
struct Header<'a> {
    device_id: &'a str,
    enrolment: &'a [u8],
    count: u32,
}

/// One escrowed entry as uploaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SalvagedRef<'a> {
    /// The entry's seq (bound into the blob's AAD).
    pub seq: u64,
    /// The escrowed blob.
    pub blob: &'a [u8],
}

/// Writes a salvage upload of `entries` (seq, blob), in seq order.
///
/// # Errors
/// `InvalidInput` for too many entries or an oversized upload; `Encoding`.
pub fn write_salvage(device_id: &str, enrolment: &[u8], entries: &[(u64, Vec<u8>)]) -> Result<Vec<u8>> {
    let count = u32::try_from(entries.len()).map_err(|_| Error::InvalidInput("too many entries".into()))?;
    if count > MAX_BATCH_ENTRIES {
        return Err(Error::InvalidInput(format!("a salvage upload holds at most {MAX_BATCH_ENTRIES} entries")));
    }
    let mut bytes = SALVAGE_MAGIC.to_vec();
    bytes.push(SALVAGE_V1);
    postcard::to_io(&Header { device_id, enrolment, count }, &mut bytes).map_err(|_| Error::Encoding)?;
    for (seq, blob) in entries {
        postcard::to_io(&(seq, blob.as_slice()), &mut bytes).map_err(|_| Error::Encoding)?;
    }
    if bytes.len() > MAX_SALVAGE_BYTES {
        return Err(Error::InvalidInput("the salvage upload exceeds the size limit".into()));
    }
    Ok(bytes)
}

/// A salvage upload being read.
#[derive(Debug)]
pub struct SalvageReader<'a> {
    /// The device that escrowed the entries.
    pub device_id: &'a str,
    /// The enrolment they belong to.
    pub enrolment: &'a [u8],
    /// How many entries the upload declares (≤ [`MAX_BATCH_ENTRIES`]).
    pub count: u32,
    read: u32,
    rest: &'a [u8],
}

impl<'a> SalvageReader<'a> {
    /// Checks size, magic, version and header; reads no entry yet.
    ///
    /// # Errors
    /// `BatchRejected` naming the broken rule.
    pub fn open(bytes: &'a [u8]) -> Result<Self> {
        if bytes.len() > MAX_SALVAGE_BYTES {
            return Err(reject("the upload exceeds the size limit"));
        }
        let rest = bytes.strip_prefix(SALVAGE_MAGIC.as_slice()).ok_or_else(|| reject("not a salvage upload"))?;
        let (&version, rest) = rest.split_first().ok_or_else(|| reject("no version"))?;
        if version != SALVAGE_V1 {
            return Err(reject("unknown version"));
        }
        let (header, rest) = postcard::take_from_bytes::<Header<'a>>(rest).map_err(|_| reject("bad header"))?;
        if header.device_id.is_empty() || header.device_id.len() > MAX_CLAIM_LEN {
            return Err(reject("bad device id"));
        }
        if header.enrolment.len() > MAX_ENROLMENT_LEN {
            return Err(reject("bad enrolment id"));
        }
        if header.count == 0 || header.count > MAX_BATCH_ENTRIES {
            return Err(reject("entry count out of range"));
        }
        Ok(Self { device_id: header.device_id, enrolment: header.enrolment, count: header.count, read: 0, rest })
    }

    /// The next entry, or `None` after the declared count (then the input
    /// must be used up).
    ///
    /// # Errors
    /// `BatchRejected` for a truncated entry, an oversized blob or trailing bytes.
    pub fn next_entry(&mut self) -> Result<Option<SalvagedRef<'a>>> {
        if self.read == self.count {
            return if self.rest.is_empty() { Ok(None) } else { Err(reject("trailing bytes")) };
        }
        let ((seq, blob), rest) =
            postcard::take_from_bytes::<(u64, &'a [u8])>(self.rest).map_err(|_| reject("truncated entry"))?;
        if blob.len() > MAX_ESCROW_BLOB_LEN {
            return Err(reject("an escrowed entry exceeds the size limit"));
        }
        self.rest = rest;
        self.read += 1;
        Ok(Some(SalvagedRef { seq, blob }))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_salvage_upload_reads_back_and_bad_ones_are_refused() {
        let bytes = write_salvage("d", &[1; 16], &[(1, vec![1, 2]), (2, vec![3])]).unwrap();
        let mut reader = SalvageReader::open(&bytes).unwrap();
        assert_eq!((reader.device_id, reader.count), ("d", 2));
        assert_eq!(reader.next_entry().unwrap(), Some(SalvagedRef { seq: 1, blob: &[1, 2] }));
        assert_eq!(reader.next_entry().unwrap(), Some(SalvagedRef { seq: 2, blob: &[3] }));
        assert_eq!(reader.next_entry().unwrap(), None);
        let mut trailing = bytes.clone();
        trailing.push(0);
        let mut reader = SalvageReader::open(&trailing).unwrap();
        reader.next_entry().unwrap();
        reader.next_entry().unwrap();
        assert!(reader.next_entry().is_err());
        let mut reader = SalvageReader::open(&bytes[..bytes.len() - 1]).unwrap();
        reader.next_entry().unwrap();
        assert!(reader.next_entry().is_err());
        assert!(SalvageReader::open(b"OASB\x01").is_err());
        assert!(SalvageReader::open(&[b'O', b'A', b'S', b'V', 2]).is_err());
        assert!(write_salvage("d", &[1; 16], &[]).is_ok_and(|b| SalvageReader::open(&b).is_err()));
    }
}
