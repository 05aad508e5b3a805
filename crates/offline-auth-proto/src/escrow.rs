//! Escrowed entries: a queue entry sealed to the backend's escrow key, so
//! that an edit survives the loss of every key on the device.
//!
//! When an edit is queued the device also seals, with HPKE (RFC 9180, base
//! mode), the entry exactly as the backend verifies it (its body and its
//! chain MAC under the sync key) together with the grant that covers it.
//! Only the holder of the escrow private key (the backend's operator) can
//! open it; nothing on the device can, so the row needs no device key and
//! outlives a wipe. The chain MAC inside is what stops a forgery: the
//! escrow key is public, so anyone can seal *something*, but only the sync
//! key makes an entry the backend's verifier accepts.
//!
//! Stored blob (`docs/BATCH_FORMAT.md`, "Escrowed entry"):
//! `version (1) ‖ kid length (1) ‖ kid ‖ enc (32) ‖ ciphertext`. Version 1
//! is the suite X25519-HKDF-SHA256 / HKDF-SHA256 / ChaCha20-Poly1305. The
//! HPKE `info` names the format; the AAD binds the version, the `kid`, the
//! device id, the enrolment id and the seq, so a blob moved to another
//! seq, enrolment or device, or relabelled with another key id, does not open.

use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

use crate::crypto::{hpke_open, hpke_seal, HPKE_KEY_LEN};
use crate::entry::QueueEntry;
use crate::error::{Error, Result};
use crate::grant::MAX_GRANT_LEN;
use crate::limits::{MAX_COLLECTION_LEN, MAX_KEY_LEN, MAX_VALUE_LEN};

/// Version 1: X25519-HKDF-SHA256, HKDF-SHA256, ChaCha20-Poly1305.
pub const ESCROW_V1: u8 = 1;
/// Longest escrow key id (bytes).
pub const MAX_ESCROW_KID_LEN: usize = 64;
/// Longest enrolment id (bytes; devices use 16).
pub const MAX_ENROLMENT_LEN: usize = 64;
/// Largest escrowed blob: an entry at its limits, its grant, the envelope.
pub const MAX_ESCROW_BLOB_LEN: usize = MAX_VALUE_LEN + MAX_KEY_LEN + MAX_COLLECTION_LEN + MAX_GRANT_LEN + 1024;

/// HPKE `info` of version 1.
const INFO_V1: &[u8] = b"offline-auth/escrowed-entry/1";

/// The backend's escrow public key, as the device learnt it (authenticated:
/// see `crate::escrow_key`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscrowPublicKey {
    /// Key id: which private key opens what is sealed to it.
    pub kid: String,
    /// The raw X25519 public key.
    pub public_key: [u8; HPKE_KEY_LEN],
}

impl EscrowPublicKey {
    /// A key from its id and 32 bytes.
    ///
    /// # Errors
    /// `InvalidInput` for an empty or oversized id or a key that is not 32 bytes.
    pub fn new(kid: &str, public_key: &[u8]) -> Result<Self> {
        check_kid(kid)?;
        let public_key =
            public_key.try_into().map_err(|_| Error::InvalidInput("an escrow public key is 32 bytes".into()))?;
        Ok(Self { kid: kid.to_owned(), public_key })
    }
}

fn check_kid(kid: &str) -> Result<()> {
    if kid.is_empty() || kid.len() > MAX_ESCROW_KID_LEN {
        return Err(Error::InvalidInput(format!("an escrow key id is 1 to {MAX_ESCROW_KID_LEN} bytes")));
    }
    Ok(())
}

/// Where an escrowed entry belongs: bound into its AAD.
#[derive(Debug, Clone, Copy)]
pub struct EscrowPlace<'a> {
    /// The device's id (the grants' `dev`).
    pub device_id: &'a str,
    /// The enrolment's public id (the vault id): seqs restart with each.
    pub enrolment: &'a [u8],
    /// The entry's seq.
    pub seq: u64,
}

/// What an escrowed blob holds: the entry as the backend verifies it, and
/// the grant (compact JWS) that covered it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscrowedEntry {
    /// The entry with its chain MAC.
    pub entry: QueueEntry,
    /// The grant named by the entry's `grant_id`.
    pub grant: String,
}

impl std::fmt::Debug for EscrowedEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EscrowedEntry").field("seq", &self.entry.body.seq).finish_non_exhaustive()
    }
}

fn aad(version: u8, kid: &str, at: &EscrowPlace<'_>) -> Result<Vec<u8>> {
    check_kid(kid)?;
    if at.enrolment.len() > MAX_ENROLMENT_LEN {
        return Err(Error::InvalidInput("the enrolment id is too long".into()));
    }
    let device = u16::try_from(at.device_id.len()).map_err(|_| Error::InvalidInput("device id too long".into()))?;
    let mut aad = Vec::with_capacity(INFO_V1.len() + kid.len() + at.device_id.len() + at.enrolment.len() + 16);
    aad.extend_from_slice(INFO_V1);
    aad.push(version);
    aad.push(kid.len() as u8); // checked ≤ 64 above
    aad.extend_from_slice(kid.as_bytes());
    aad.extend_from_slice(&device.to_be_bytes());
    aad.extend_from_slice(at.device_id.as_bytes());
    aad.push(at.enrolment.len() as u8); // checked ≤ 64 above
    aad.extend_from_slice(at.enrolment);
    aad.extend_from_slice(&at.seq.to_be_bytes());
    Ok(aad)
}

/// Seals `entry` (and its `grant`) to `key` for the place `at`.
///
/// # Errors
/// `InvalidInput` (the entry's seq is not `at.seq`, or a bad id), `Rng`, `Encoding`.
pub fn seal_entry(key: &EscrowPublicKey, at: &EscrowPlace<'_>, entry: &QueueEntry, grant: &str) -> Result<Vec<u8>> {
    if entry.body.seq != at.seq {
        return Err(Error::InvalidInput("the entry's seq is not the place's".into()));
    }
    let escrowed = EscrowedEntry { entry: entry.clone(), grant: grant.to_owned() };
    let mut plaintext = postcard::to_stdvec(&escrowed).map_err(|_| Error::Encoding)?;
    drop(escrowed);
    let sealed = hpke_seal(&key.public_key, INFO_V1, &aad(ESCROW_V1, &key.kid, at)?, &plaintext);
    plaintext.zeroize();
    let (enc, ciphertext) = sealed?;
    let mut blob = Vec::with_capacity(2 + key.kid.len() + enc.len() + ciphertext.len());
    blob.push(ESCROW_V1);
    blob.push(key.kid.len() as u8); // checked ≤ 64 by `aad`
    blob.extend_from_slice(key.kid.as_bytes());
    blob.extend_from_slice(&enc);
    blob.extend_from_slice(&ciphertext);
    Ok(blob)
}

/// An escrowed blob, parsed but not opened.
#[derive(Debug, Clone, Copy)]
pub struct EscrowBlob<'a> {
    /// The envelope version.
    pub version: u8,
    /// Which escrow key it is sealed to.
    pub kid: &'a str,
    enc: &'a [u8],
    ciphertext: &'a [u8],
}

impl<'a> EscrowBlob<'a> {
    /// Reads the envelope's fields (bounded; nothing is allocated).
    ///
    /// # Errors
    /// `Tampered` for a blob too long, too short, of an unknown version or
    /// with a key id that is not text.
    pub fn parse(bytes: &'a [u8]) -> Result<Self> {
        if bytes.len() > MAX_ESCROW_BLOB_LEN {
            return Err(Error::Tampered);
        }
        let (&version, rest) = bytes.split_first().ok_or(Error::Tampered)?;
        if version != ESCROW_V1 {
            return Err(Error::Tampered);
        }
        let (&kid_len, rest) = rest.split_first().ok_or(Error::Tampered)?;
        let (kid, rest) = rest.split_at_checked(usize::from(kid_len)).ok_or(Error::Tampered)?;
        let kid = std::str::from_utf8(kid).map_err(|_| Error::Tampered)?;
        check_kid(kid).map_err(|_| Error::Tampered)?;
        let (enc, ciphertext) = rest.split_at_checked(HPKE_KEY_LEN).ok_or(Error::Tampered)?;
        Ok(Self { version, kid, enc, ciphertext })
    }

    /// Opens the blob with the private key of its `kid`, for the place `at`.
    ///
    /// # Errors
    /// `Tampered` if it does not open (another key, place or altered bytes)
    /// or holds an entry for another seq.
    pub fn open(&self, private_key: &[u8], at: &EscrowPlace<'_>) -> Result<EscrowedEntry> {
        let aad = aad(self.version, self.kid, at).map_err(|_| Error::Tampered)?;
        let plaintext = hpke_open(private_key, self.enc, INFO_V1, &aad, self.ciphertext)?;
        match postcard::from_bytes::<EscrowedEntry>(&plaintext) {
            Ok(escrowed) if escrowed.entry.body.seq == at.seq && escrowed.grant.len() <= MAX_GRANT_LEN => Ok(escrowed),
            _ => Err(Error::Tampered),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::crypto::hpke_generate;
    use crate::entry::{EntryBody, Operation};

    fn entry(seq: u64) -> QueueEntry {
        let op = Operation::Put { collection: "visits".into(), key: "v1".into(), value: b"gate code".to_vec() };
        QueueEntry { body: EntryBody { seq, grant_id: "g1".into(), time: 5, boots: Some(1), op }, mac: [7; 32] }
    }

    #[test]
    fn an_escrowed_entry_opens_only_at_its_place_with_its_key() {
        let pair = hpke_generate().unwrap();
        let key = EscrowPublicKey::new("e1", &pair.public_key).unwrap();
        let at = EscrowPlace { device_id: "d", enrolment: &[1; 16], seq: 3 };
        let blob = seal_entry(&key, &at, &entry(3), "grant").unwrap();
        assert!(!blob.windows(9).any(|w| w == b"gate code"));
        let parsed = EscrowBlob::parse(&blob).unwrap();
        assert_eq!(parsed.kid, "e1");
        let opened = parsed.open(&*pair.private_key, &at).unwrap();
        assert_eq!((opened.entry, opened.grant.as_str()), (entry(3), "grant"));
        for other in [
            EscrowPlace { seq: 4, ..at },
            EscrowPlace { device_id: "e", ..at },
            EscrowPlace { enrolment: &[2; 16], ..at },
        ] {
            assert_eq!(parsed.open(&*pair.private_key, &other), Err(Error::Tampered));
        }
        let mut altered = blob.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert_eq!(EscrowBlob::parse(&altered).unwrap().open(&*pair.private_key, &at), Err(Error::Tampered));
        assert!(EscrowBlob::parse(&blob[..20]).is_err());
        assert!(seal_entry(&key, &at, &entry(4), "grant").is_err());
    }
}
