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

#[derive(Serialize, Deserialize)]
enum ReceiptWire {
    V1(Receipt),
}

fn invalid(reason: &str) -> Error {
    Error::ReceiptInvalid(reason.to_owned())
}

impl Receipt {
    /// The receipt's bytes, MACed with the sync key.
    pub fn to_bytes(&self, sync_key: &MacKey) -> Result<Vec<u8>> {
        let body = postcard::to_stdvec(&ReceiptWire::V1(self.clone())).map_err(|_| Error::Encoding)?;
        let tag = sync_key.mac(&[DOMAIN, &body]);
        Ok([MAGIC.as_slice(), &body, &tag].concat())
    }

    /// Checks the size, magic and MAC, then reads the receipt.
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
            Ok(ReceiptWire::V1(receipt)) => Ok(receipt),
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
}
