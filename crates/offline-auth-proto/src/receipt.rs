//! Receipts: the backend's authenticated word that it applied a device's
//! entries through a seq.
//!
//! A device must not trust its own idea of what it sent: anyone on the path
//! can cut a batch to a shorter prefix (still a valid chain) and re-encode
//! it, and the backend then applies less than the device uploaded. So the
//! device deletes entries only on a receipt: `(device, seq applied through,
//! the chain MAC of that entry)`, MACed with the sync key. The sync key is
//! provisioned per enrolment, so it also names the vault: a receipt for an
//! earlier enrolment of the same device does not verify.
//!
//! Bytes: the magic `OASR`, postcard of `ReceiptWire` (variant index =
//! version), then `HMAC-SHA256(SK, "offline-auth/receipt/1" ‖ body)`, 32 bytes,
//! where `body` is everything between the magic and the tag.
//!
//! Version 2 is a [`ChainPosition`]: the backend's answer to a batch that
//! overlaps what it already applied without reaching its head on the same
//! chain (a device whose files were written back with an older copy). It
//! says where the backend's chain is and how far the device's agrees with
//! it, MACed like a receipt, so the device re-bases only on the backend's
//! authenticated word (`docs/decisions/0010-re-basing-a-written-back-queue.md`).

use serde::{Deserialize, Serialize};

use crate::crypto::{ct_eq, Mac32, MacKey};
use crate::error::{Error, Result};

const MAGIC: &[u8; 4] = b"OASR";
const DOMAIN: &[u8] = b"offline-auth/receipt/1";
/// Longest receipt accepted (a device id is at most 256 bytes).
pub const MAX_RECEIPT_BYTES: usize = 512;

/// What a receipt says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The device whose entries were applied (the batch's device id).
    pub device_id: String,
    /// The backend applied every entry through this seq (0: none yet).
    pub through_seq: u64,
    /// The chain MAC of entry `through_seq` (its cursor).
    pub head_mac: Mac32,
}

/// Where the backend's chain is, and how far a device's batch agrees with
/// it: the answer to a batch that overlaps what the backend applied but does
/// not reach its head on the same chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainPosition {
    /// The device whose batch was answered.
    pub device_id: String,
    /// The backend applied every entry through this seq (its cursor).
    pub through_seq: u64,
    /// The chain MAC of entry `through_seq`: the device's re-based entries
    /// chain from it.
    pub head_mac: Mac32,
    /// The batch's entries agree with the backend's chain through this seq
    /// (`common_seq ≤ through_seq`).
    pub common_seq: u64,
    /// The chain MAC of entry `common_seq` (32 zero bytes for seq 0).
    pub common_mac: Mac32,
    /// The chain MAC of the batch's entry `common_seq + 1` when it differs
    /// from the one the backend applied at that seq (the chains parted
    /// there); `None` when the batch ended at `common_seq`. It binds the
    /// answer to the queue it answers: a device holding another entry at
    /// that seq re-bases nothing.
    pub diverged_mac: Option<Mac32>,
}

/// The backend's authenticated answers: a receipt, or a chain position.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Answer {
    /// Every entry through a seq is applied (version 1).
    Applied(Receipt),
    /// The batch overlaps the backend's chain without reaching its head on
    /// the same chain (version 2).
    Position(ChainPosition),
}

#[derive(Serialize, Deserialize)]
enum ReceiptWire {
    V1(Receipt),
    V2(ChainPosition),
}

fn invalid(reason: &str) -> Error {
    Error::ReceiptInvalid(reason.to_owned())
}

impl Receipt {
    /// The receipt's bytes, MACed with the sync key.
    pub fn to_bytes(&self, sync_key: &MacKey) -> Result<Vec<u8>> {
        seal(&ReceiptWire::V1(self.clone()), sync_key)
    }

    /// Checks the size, magic and MAC, then reads the receipt (a chain
    /// position is refused: see [`Answer::verify`]).
    pub fn verify(bytes: &[u8], sync_key: &MacKey) -> Result<Self> {
        match Answer::verify(bytes, sync_key)? {
            Answer::Applied(receipt) => Ok(receipt),
            Answer::Position(_) => Err(invalid("a chain position, not a receipt")),
        }
    }
}

impl ChainPosition {
    /// The answer's bytes, MACed with the sync key like a receipt.
    pub fn to_bytes(&self, sync_key: &MacKey) -> Result<Vec<u8>> {
        seal(&ReceiptWire::V2(self.clone()), sync_key)
    }
}

fn seal(wire: &ReceiptWire, sync_key: &MacKey) -> Result<Vec<u8>> {
    let body = postcard::to_stdvec(wire).map_err(|_| Error::Encoding)?;
    let tag = sync_key.mac(&[DOMAIN, &body]);
    Ok([MAGIC.as_slice(), &body, &tag].concat())
}

impl Answer {
    /// Checks the size, magic and MAC, then reads the answer.
    pub fn verify(bytes: &[u8], sync_key: &MacKey) -> Result<Self> {
        if bytes.len() > MAX_RECEIPT_BYTES {
            return Err(invalid("receipt exceeds the size limit"));
        }
        let rest = bytes.strip_prefix(MAGIC.as_slice()).ok_or_else(|| invalid("not an offline-auth receipt"))?;
        let (body, tag) = rest.split_last_chunk::<32>().ok_or_else(|| invalid("receipt is truncated"))?;
        if !ct_eq(&sync_key.mac(&[DOMAIN, body]), tag) {
            return Err(invalid("receipt does not verify with this vault's sync key"));
        }
        match postcard::from_bytes::<ReceiptWire>(body) {
            Ok(ReceiptWire::V1(receipt)) => Ok(Answer::Applied(receipt)),
            Ok(ReceiptWire::V2(position)) => Ok(Answer::Position(position)),
            Err(_) => Err(invalid("malformed receipt")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SecretKey;

    #[test]
    fn a_receipt_verifies_only_whole_and_under_its_key() {
        let key = MacKey::new(&SecretKey::generate().unwrap());
        let other = MacKey::new(&SecretKey::generate().unwrap());
        let receipt = Receipt { device_id: "d".into(), through_seq: 7, head_mac: [3; 32] };
        let bytes = receipt.to_bytes(&key).unwrap();
        assert_eq!(Receipt::verify(&bytes, &key).unwrap(), receipt);
        assert!(Receipt::verify(&bytes, &other).is_err());
        for i in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[i] ^= 1;
            assert!(Receipt::verify(&flipped, &key).is_err(), "byte {i}");
        }
        for len in 0..bytes.len() {
            assert!(Receipt::verify(&bytes[..len], &key).is_err(), "cut to {len}");
        }
        assert!(Receipt::verify(&vec![0; 10_000], &key).is_err());
    }

    #[test]
    fn a_chain_position_verifies_only_whole_and_is_no_receipt() {
        let key = MacKey::new(&SecretKey::generate().unwrap());
        let other = MacKey::new(&SecretKey::generate().unwrap());
        let position = ChainPosition {
            device_id: "d".into(),
            through_seq: 9,
            head_mac: [9; 32],
            common_seq: 4,
            common_mac: [4; 32],
            diverged_mac: Some([5; 32]),
        };
        let bytes = position.to_bytes(&key).unwrap();
        assert_eq!(Answer::verify(&bytes, &key).unwrap(), Answer::Position(position));
        assert!(Answer::verify(&bytes, &other).is_err());
        assert!(Receipt::verify(&bytes, &key).is_err(), "a position must not read as a receipt");
        for i in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[i] ^= 1;
            assert!(Answer::verify(&flipped, &key).is_err(), "byte {i}");
        }
    }
}
