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

/// The reference decoding of an entry body: postcard's, through serde.
/// The reader decodes by hand ([`take_body`]); the tests prove the two
/// accept the same bytes with the same result and refuse the same bytes.
#[cfg(test)]
#[derive(Deserialize)]
struct BodyV1<'a> {
    seq: u64,
    #[serde(borrow)]
    grant_id: &'a str,
    time: i64,
    #[serde(borrow)]
    op: OpRef<'a>,
}

#[cfg(test)]
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

/// postcard's unsigned varint of at most `max_len` bytes, the last of which
/// may carry no more than `last_max` (the bits the type has left): the
/// checks of `postcard::de::Deserializer::try_take_varint_*`. A longer
/// encoding than needed is accepted, as postcard does (the chain MAC covers
/// the bytes as sent either way).
#[inline(always)]
fn varint(rest: &mut &[u8], max_len: u32, last_max: u8) -> Option<u64> {
    let mut out = 0u64;
    for i in 0..max_len {
        let (&byte, after) = rest.split_first()?;
        *rest = after;
        out |= u64::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            return (i + 1 < max_len || byte <= last_max).then_some(out);
        }
    }
    None
}

fn varint_u64(rest: &mut &[u8]) -> Option<u64> {
    varint(rest, 10, 0x01)
}

fn varint_u32(rest: &mut &[u8]) -> Option<u32> {
    varint(rest, 5, 0x0F).and_then(|v| u32::try_from(v).ok())
}

/// postcard's `usize` varint: the `u64` form on 64-bit targets, the `u32`
/// form (at most 5 bytes) on 32-bit ones, as `try_take_varint_usize` reads it.
fn varint_usize(rest: &mut &[u8]) -> Option<usize> {
    #[cfg(target_pointer_width = "64")]
    let value = varint_u64(rest)?;
    #[cfg(not(target_pointer_width = "64"))]
    let value = u64::from(varint_u32(rest)?);
    usize::try_from(value).ok()
}

/// A length (postcard's `usize` varint) and that many bytes.
fn bytes<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
    let len = varint_usize(rest)?;
    let (taken, after) = rest.split_at_checked(len)?;
    *rest = after;
    Some(taken)
}

/// A UTF-8 string as postcard writes it. `same` is a string read before
/// from the same batch: bytes equal to it are that string (already checked
/// UTF-8, and inside the batch too), which spares re-validating the grant id
/// and collection that runs of entries repeat.
fn same_string<'a>(rest: &mut &'a [u8], same: &mut &'a str) -> Option<&'a str> {
    let raw = bytes(rest)?;
    if raw == same.as_bytes() {
        return Some(*same);
    }
    let text = std::str::from_utf8(raw).ok()?;
    *same = text;
    Some(text)
}

/// A UTF-8 string as postcard writes it.
fn string<'a>(rest: &mut &'a [u8]) -> Option<&'a str> {
    std::str::from_utf8(bytes(rest)?).ok()
}

/// The strings the previous entry carried (see [`same_string`]).
#[derive(Clone, Copy, Default)]
struct Seen<'a> {
    grant_id: &'a str,
    collection: &'a str,
}

/// The fields of an entry body, read by hand from postcard's encoding of
/// `{seq: u64, grant_id: &str, time: i64, [boots: u32,] op: OpRef}` (the
/// device writes it with `entry::BodyRefV1`/`BodyRefV2`): exactly the bytes
/// serde's derived decoding accepts, without its visitor calls per field
/// (issue 28: decoding was a sixth of the verifier's time).
type BodyFields<'a> = (u64, &'a str, i64, Option<u32>, OpRef<'a>);

fn take_body<'a>(rest: &mut &'a [u8], version2: bool, seen: &mut Seen<'a>) -> Option<BodyFields<'a>> {
    let seq = varint_u64(rest)?;
    let grant_id = same_string(rest, &mut seen.grant_id)?;
    let zigzag = varint_u64(rest)?;
    let time = ((zigzag >> 1) as i64) ^ -((zigzag & 1) as i64);
    let boots = if version2 { Some(varint_u32(rest)?) } else { None };
    let op = match varint_u32(rest)? {
        0 => {
            let collection = same_string(rest, &mut seen.collection)?;
            let key = string(rest)?;
            OpRef::Put { collection, key, value: bytes(rest)? }
        }
        1 => {
            let collection = same_string(rest, &mut seen.collection)?;
            OpRef::Delete { collection, key: string(rest)? }
        }
        _ => return None,
    };
    Some((seq, grant_id, time, boots, op))
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
    seen: Seen<'a>,
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
        Ok(Self { device_id, grants, entry_count, tagged, rest, read: 0, seen: Seen::default() })
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
            match varint_u32(&mut self.rest) {
                Some(0) => false,
                Some(1) => true,
                Some(_) => return Err(reject("unknown entry version")),
                None => return Err(reject("malformed batch")),
            }
        } else {
            false
        };
        let start = self.rest;
        let (seq, grant_id, time, boots, op) =
            take_body(&mut self.rest, version2, &mut self.seen).ok_or_else(|| reject("malformed batch"))?;
        let body = start.get(..start.len() - self.rest.len()).ok_or_else(|| reject("malformed batch"))?;
        let (mac, after) = self.rest.split_first_chunk::<32>().ok_or_else(|| reject("malformed batch"))?;
        self.rest = after;
        Ok(Some(EntryRef { seq, grant_id, time, boots, op, body, mac: *mac }))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde::Serialize;

    use super::*;

    /// What the device writes (the shape of `entry::BodyRefV2`/`V1`).
    #[derive(Serialize)]
    enum Op<'a> {
        Put { collection: &'a str, key: &'a str, value: &'a [u8] },
        Delete { collection: &'a str, key: &'a str },
    }

    #[derive(Serialize)]
    struct WriteV2<'a> {
        seq: u64,
        grant_id: &'a str,
        time: i64,
        boots: u32,
        op: Op<'a>,
    }

    /// The hand decoder's answer and postcard's for the same bytes: both
    /// the fields and the bytes left, or both a refusal.
    fn both(input: &[u8], version2: bool, seen: Seen<'_>) {
        let mut rest = input;
        let mut seen = seen;
        let ours = take_body(&mut rest, version2, &mut seen).map(|fields| (fields, rest));
        let reference = if version2 {
            postcard::take_from_bytes::<BodyV2<'_>>(input)
                .ok()
                .map(|(b, rest)| ((b.seq, b.grant_id, b.time, Some(b.boots), b.op), rest))
        } else {
            postcard::take_from_bytes::<BodyV1<'_>>(input)
                .ok()
                .map(|(b, rest)| ((b.seq, b.grant_id, b.time, None, b.op), rest))
        };
        assert_eq!(ours, reference, "input {input:02x?}");
    }

    fn body(seq: u64, grant_id: &str, time: i64, boots: u32, put: bool, key: &str, value: &[u8]) -> Vec<u8> {
        let collection = "inspections";
        let op = if put { Op::Put { collection, key, value } } else { Op::Delete { collection, key } };
        postcard::to_stdvec(&WriteV2 { seq, grant_id, time, boots, op }).unwrap()
    }

    #[test]
    fn hand_decoding_matches_postcard_at_the_varint_edges() {
        for seq in [0, 1, 127, 128, 16_383, 16_384, u64::from(u32::MAX), u64::MAX - 1, u64::MAX] {
            for time in [0, -1, 1, i64::MIN, i64::MAX, 1_800_000_000] {
                for boots in [0, 127, 128, u32::MAX] {
                    let bytes = body(seq, "0123456789abcdef", time, boots, seq % 2 == 0, "station-00001", &[7; 200]);
                    both(&bytes, true, Seen::default());
                    both(&bytes, false, Seen::default());
                }
            }
        }
        // A varint one byte too long, and last bytes just over the type's bits.
        for bad in [&[0x80u8; 10][..], &[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02], &[0x80, 0x00]] {
            both(bad, true, Seen::default());
        }
        // boots: a 5th byte over 0x0F is refused by both.
        let mut over = vec![1, 0, 0];
        over.extend_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF, 0x10, 1, 1, b'c', 1, b'k']);
        both(&over, true, Seen::default());
    }

    #[test]
    fn a_string_seen_before_is_reused_only_when_its_bytes_are_equal() {
        let first = body(1, "grant-a", 5, 1, true, "k1", b"v");
        let mut rest = first.as_slice();
        let mut seen = Seen::default();
        let (_, grant_id, ..) = take_body(&mut rest, true, &mut seen).unwrap();
        assert_eq!(grant_id, "grant-a");
        for (grant, ok) in [("grant-a", true), ("grant-b", true), ("grant-", true)] {
            let next = body(2, grant, 6, 1, false, "k2", b"");
            both(&next, true, seen);
            assert_eq!(take_body(&mut next.as_slice(), true, &mut seen.clone()).is_some(), ok);
        }
        // Bytes equal to a seen string but not UTF-8 cannot occur (the seen
        // one was checked); bytes that differ from it are checked again.
        let mut bad = body(2, "grant-a", 6, 1, false, "k2", b"");
        bad[2] = 0xFF;
        both(&bad, true, seen);
        assert!(take_body(&mut bad.as_slice(), true, &mut seen.clone()).is_none());
    }

    proptest! {
        #[test]
        fn hand_decoding_matches_postcard_on_any_bytes(input in proptest::collection::vec(any::<u8>(), 0..64), version2: bool) {
            both(&input, version2, Seen::default());
        }

        #[test]
        fn hand_decoding_matches_postcard_on_altered_bodies(
            seq: u64, time: i64, boots: u32, put: bool,
            grant_id in "[a-f0-9]{0,40}", key in "\\PC{0,20}", value in proptest::collection::vec(any::<u8>(), 0..300),
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4), cut in any::<usize>(),
        ) {
            let mut bytes = body(seq, &grant_id, time, boots, put, &key, &value);
            both(&bytes, true, Seen::default());
            both(&bytes, false, Seen::default());
            for (at, xor) in flips {
                let len = bytes.len();
                bytes[at % len] ^= xor;
            }
            let len = bytes.len();
            bytes.truncate(len - cut % (len + 1) / 2);
            both(&bytes, true, Seen::default());
            both(&bytes, false, Seen::default());
        }
    }
}
