//! AES-256-GCM with a random 96-bit nonce per message, in a versioned envelope.
//!
//! Every blob the crate stores is a [`Sealed`] value: a format version, the
//! nonce and the ciphertext with its tag. The associated data names what the
//! blob is and where it lives ([`Aad`]), so a blob copied to another row, kind
//! or vault fails authentication instead of decrypting to the wrong thing.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::keys::{random_array, SecretKey};
use crate::error::Error;

/// Domain-separation prefix of all associated data.
const AAD_PREFIX: &[u8] = b"offline-auth/aad/1";

/// What a sealed blob is; part of its associated data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum AadKind {
    /// The vault key wrapped under a key derived from the PIN and the
    /// device secret.
    PinWrap = 1,
    /// The vault's stored state.
    VaultState = 2,
    /// A stored record.
    Record = 3,
    /// A queue entry awaiting sync (location: its seq, big-endian).
    QueueEntry = 4,
    /// A key held by the software keystore (location: its alias).
    SoftwareKeystore = 5,
}

/// Associated data: prefix ‖ kind ‖ owner id ‖ location, each length-prefixed.
pub struct Aad(Vec<u8>);

impl Aad {
    /// Associated data for a blob of `kind` owned by `owner` at `location`.
    pub fn new(kind: AadKind, owner: &[u8], location: &[u8]) -> Self {
        let mut bytes = Vec::with_capacity(AAD_PREFIX.len() + 1 + 8 + owner.len() + location.len());
        bytes.extend_from_slice(AAD_PREFIX);
        bytes.push(kind as u8);
        for part in [owner, location] {
            bytes.extend_from_slice(&(part.len() as u32).to_be_bytes());
            bytes.extend_from_slice(part);
        }
        Self(bytes)
    }
}

/// A sealed blob: nonce and ciphertext‖tag, serialised with a version tag.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    nonce: [u8; 12],
    ciphertext: Vec<u8>,
}

/// On-disk form; a new variant is added when the format changes.
#[derive(Serialize, Deserialize)]
enum SealedWire {
    V1(Sealed),
}

/// Borrowing twin of [`SealedWire`], to serialise without a copy.
#[derive(Serialize)]
enum SealedWireRef<'a> {
    V1(&'a Sealed),
}

impl Sealed {
    /// The versioned byte form that is stored.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        postcard::to_stdvec(&SealedWireRef::V1(self)).map_err(|_| Error::Encoding)
    }

    /// Parses a stored blob; anything malformed is treated as tampering.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        match postcard::from_bytes::<SealedWire>(bytes) {
            Ok(SealedWire::V1(sealed)) => Ok(sealed),
            Err(_) => Err(Error::Tampered),
        }
    }
}

/// An AES-256-GCM key schedule, wiped on drop (the `aes` crate's `zeroize`
/// feature). Kept only for the length of one call: a schedule that lives in
/// a struct which moves leaves copies of the key on the stack.
struct AeadKey(Aes256Gcm);

impl AeadKey {
    fn new(key: &SecretKey) -> Self {
        Self(Aes256Gcm::new(key.as_bytes().into()))
    }

    /// Encrypts `plaintext` with a fresh random nonce.
    fn seal(&self, aad: &Aad, plaintext: &[u8]) -> Result<Sealed, Error> {
        let nonce: [u8; 12] = random_array()?;
        let ciphertext = self
            .0
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext, aad: &aad.0 })
            .map_err(|_| Error::Encoding)?;
        Ok(Sealed { nonce, ciphertext })
    }

    /// Decrypts and authenticates; any mismatch is [`Error::Tampered`].
    fn open(&self, aad: &Aad, sealed: &Sealed) -> Result<Zeroizing<Vec<u8>>, Error> {
        self.0
            .decrypt(Nonce::from_slice(&sealed.nonce), Payload { msg: &sealed.ciphertext, aad: &aad.0 })
            .map(Zeroizing::new)
            .map_err(|_| Error::Tampered)
    }
}

/// Encrypts `plaintext` under `key` with a fresh random nonce (one-off use).
pub fn seal(key: &SecretKey, aad: &Aad, plaintext: &[u8]) -> Result<Sealed, Error> {
    AeadKey::new(key).seal(aad, plaintext)
}

/// Decrypts and authenticates (one-off use); any mismatch is [`Error::Tampered`].
pub fn open(key: &SecretKey, aad: &Aad, sealed: &Sealed) -> Result<Zeroizing<Vec<u8>>, Error> {
    AeadKey::new(key).open(aad, sealed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> SecretKey {
        SecretKey::from_slice(&[byte; 32]).unwrap()
    }

    #[test]
    fn round_trip_through_bytes() {
        let aad = Aad::new(AadKind::Record, b"vault", b"loc");
        let sealed = seal(&key(1), &aad, b"hello").unwrap();
        let parsed = Sealed::from_bytes(&sealed.to_bytes().unwrap()).unwrap();
        assert_eq!(open(&key(1), &aad, &parsed).unwrap().as_slice(), b"hello");
    }

    #[test]
    fn wrong_key_kind_owner_or_location_is_tampered() {
        let aad = Aad::new(AadKind::Record, b"vault", b"loc");
        let sealed = seal(&key(1), &aad, b"hello").unwrap();
        for (k, a) in [
            (key(2), Aad::new(AadKind::Record, b"vault", b"loc")),
            (key(1), Aad::new(AadKind::QueueEntry, b"vault", b"loc")),
            (key(1), Aad::new(AadKind::Record, b"other", b"loc")),
            (key(1), Aad::new(AadKind::Record, b"vault", b"loc2")),
            // Length prefixes keep owner/location boundaries unambiguous.
            (key(1), Aad::new(AadKind::Record, b"vaultl", b"oc")),
        ] {
            assert!(matches!(open(&k, &a, &sealed), Err(Error::Tampered)));
        }
    }

    #[test]
    fn nonces_are_fresh() {
        let aad = Aad::new(AadKind::Record, b"v", b"l");
        let a = seal(&key(1), &aad, b"same").unwrap();
        let b = seal(&key(1), &aad, b"same").unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn garbage_bytes_are_tampered() {
        assert!(matches!(Sealed::from_bytes(&[9, 9, 9]), Err(Error::Tampered)));
        assert!(matches!(Sealed::from_bytes(&[]), Err(Error::Tampered)));
    }
}
