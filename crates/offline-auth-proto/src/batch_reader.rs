//! Reading a batch without copying it, one entry at a time.
//!
//! The verifier never materialises a batch: the header and grants are read
//! first (counts checked against the limits before anything is allocated for
//! them), then entries are read one by one as borrowed views into the input,
//! each carrying the exact bytes of its body. The chain MAC is computed over
//! those bytes as they arrived, so what is verified is exactly what was sent
//! (a non-canonical encoding simply fails its MAC). Memory beyond the input
//! is the grant list and whatever the caller keeps per entry.

use serde::Deserialize;

use crate::batch::MAGIC;
use crate::crypto::Mac32;
use crate::error::{Error, Result};
use crate::limits::{MAX_BATCH_BYTES, MAX_BATCH_ENTRIES, MAX_BATCH_GRANTS};

fn reject(reason: &str) -> Error {
    Error::BatchRejected(reason.to_owned())
}

/// What an entry did, borrowed from the batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum OpRef<'a> {
    /// Set the record `key` of `collection` to `value`.
    Put {
        /// Collection of the record.
        #[serde(borrow)]
        collection: &'a str,
        /// Key of the record within its collection.
        #[serde(borrow)]
        key: &'a str,
        /// The record's new value (opaque bytes).
        #[serde(borrow)]
        value: &'a [u8],
    },
    /// Delete the record `key` of `collection`.
    Delete {
        /// Collection of the record.
        #[serde(borrow)]
        collection: &'a str,
        /// Key of the record within its collection.
        #[serde(borrow)]
        key: &'a str,
    },
}

impl OpRef<'_> {
    /// The collection the operation touches.
    pub fn collection(&self) -> &str {
        match self {
            OpRef::Put { collection, .. } | OpRef::Delete { collection, .. } => collection,
        }
    }
}

#[derive(Deserialize)]
struct BodyV1<'a> {
    seq: u64,
    #[serde(borrow)]
    grant_id: &'a str,
    time: i64,
    #[serde(borrow)]
    op: OpRef<'a>,
}

#[derive(Deserialize)]
struct BodyV2<'a> {
    seq: u64,
    #[serde(borrow)]
    grant_id: &'a str,
    time: i64,
    boots: u32,
    #[serde(borrow)]
    op: OpRef<'a>,
}

/// One entry, borrowed from the batch.
#[derive(Debug, Clone, Copy)]
pub struct EntryRef<'a> {
    /// Seq of the entry: from 1, contiguous across the device's queue (as
    /// read; the verifier checks order and gaps).
    pub seq: u64,
    /// `jti` of the grant in force when the edit was made.
    pub grant_id: &'a str,
    /// The device's trusted time of the edit (seconds since the epoch).
    pub time: i64,
    /// Device boots seen since enrolment when the edit was made; `None` for
    /// a first-release entry.
    pub boots: Option<u32>,
    /// What the entry did.
    pub op: OpRef<'a>,
    /// The body as sent (everything the MAC covers after its domain).
    pub body: &'a [u8],
    /// The entry's chain MAC as sent (not yet verified; see
    /// [`chain_mac_over`](crate::entry::chain_mac_over)).
    pub mac: Mac32,
}

/// A batch being read: its header and grants, then its entries in order.
pub struct BatchReader<'a> {
    /// The device id the batch declares (not covered by the entry MACs).
    pub device_id: &'a str,
    /// The grants (compact JWS) the batch carries, unverified; at most
    /// [`MAX_BATCH_GRANTS`].
    pub grants: Vec<&'a str>,
    /// Entries the batch declares.
    pub entry_count: usize,
    /// Version 2 entries carry their own version tag.
    tagged: bool,
    rest: &'a [u8],
    read: usize,
}

/// Reads one postcard value, returning it and advancing `rest`.
fn take<'a, T: Deserialize<'a>>(rest: &mut &'a [u8], what: &str) -> Result<T> {
    let (value, after) = postcard::take_from_bytes::<T>(rest).map_err(|_| reject(what))?;
    *rest = after;
    Ok(value)
}

/// Reads a count and checks it against `max` before anything is read for it.
fn take_count(rest: &mut &[u8], max: u32, what: &str) -> Result<usize> {
    let count: u64 = take(rest, "malformed batch")?;
    if count > u64::from(max) {
        return Err(reject(what));
    }
    usize::try_from(count).map_err(|_| reject(what))
}

impl<'a> BatchReader<'a> {
    /// Checks the size, magic and version and reads the device id and grants.
    pub fn open(bytes: &'a [u8]) -> Result<Self> {
        if bytes.len() > MAX_BATCH_BYTES {
            return Err(reject("batch exceeds the size limit"));
        }
        let mut rest = bytes.strip_prefix(MAGIC.as_slice()).ok_or_else(|| reject("not an offline-auth batch"))?;
        let tagged = match take::<u32>(&mut rest, "malformed batch")? {
            0 => false,
            1 => true,
            _ => return Err(reject("unknown batch version")),
        };
        let device_id: &str = take(&mut rest, "malformed batch")?;
        let grant_count = take_count(&mut rest, MAX_BATCH_GRANTS, "batch carries too many grants")?;
        let mut grants = Vec::with_capacity(grant_count);
        for _ in 0..grant_count {
            grants.push(take::<&str>(&mut rest, "malformed batch")?);
        }
        let entry_count = take_count(&mut rest, MAX_BATCH_ENTRIES, "batch has too many entries")?;
        if entry_count == 0 {
            return Err(reject("batch has no entries"));
        }
        Ok(Self { device_id, grants, entry_count, tagged, rest, read: 0 })
    }

    /// Entries still to read that the remaining bytes could hold (an entry
    /// takes at least 38 bytes): a capacity to reserve that the input backs.
    pub fn plausible_entries(&self) -> usize {
        const MIN_ENTRY_BYTES: usize = 38;
        (self.entry_count - self.read).min(self.rest.len() / MIN_ENTRY_BYTES)
    }

    /// The next entry, or `None` after the last one declared (then the
    /// input must be used up).
    pub fn next_entry(&mut self) -> Result<Option<EntryRef<'a>>> {
        if self.read == self.entry_count {
            if !self.rest.is_empty() {
                return Err(reject("trailing bytes after the batch"));
            }
            return Ok(None);
        }
        self.read += 1;
        let version2 = if self.tagged {
            match take::<u32>(&mut self.rest, "malformed batch")? {
                0 => false,
                1 => true,
                _ => return Err(reject("unknown entry version")),
            }
        } else {
            false
        };
        let start = self.rest;
        let (seq, grant_id, time, boots, op) = if version2 {
            let b: BodyV2<'a> = take(&mut self.rest, "malformed batch")?;
            (b.seq, b.grant_id, b.time, Some(b.boots), b.op)
        } else {
            let b: BodyV1<'a> = take(&mut self.rest, "malformed batch")?;
            (b.seq, b.grant_id, b.time, None, b.op)
        };
        let body = start.get(..start.len() - self.rest.len()).ok_or_else(|| reject("malformed batch"))?;
        let (mac, after) = self.rest.split_first_chunk::<32>().ok_or_else(|| reject("malformed batch"))?;
        self.rest = after;
        Ok(Some(EntryRef { seq, grant_id, time, boots, op, body, mac: *mac }))
    }
}
