//! AES-256-GCM with a random 96-bit nonce per message, in a versioned envelope.
//!
//! Every blob the crate stores is a [`Sealed`] value: a format version, the
//! nonce and the ciphertext with its tag. The associated data names what the
//! blob is and where it lives ([`Aad`]), so a blob copied to another row, kind
//! or vault fails authentication instead of decrypting to the wrong thing.

use aes_gcm::aead::{Aead, AeadInOut, KeyInit, Payload};
use aes_gcm::Aes256Gcm;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

use super::keys::SecretKey;
use super::nonce::fresh_nonce;
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
/// feature), for one-off calls.
struct AeadKey(Aes256Gcm);

impl AeadKey {
    fn new(key: &SecretKey) -> Self {
        Self(Aes256Gcm::new(key.as_bytes().into()))
    }

    /// Encrypts `plaintext` with a fresh random nonce.
    fn seal(&self, aad: &Aad, plaintext: &[u8]) -> Result<Sealed, Error> {
        let nonce = fresh_nonce()?;
        let ciphertext =
            self.0.encrypt((&nonce).into(), Payload { msg: plaintext, aad: &aad.0 }).map_err(|_| Error::Encoding)?;
        Ok(Sealed { nonce, ciphertext })
    }

    /// Decrypts and authenticates; any mismatch is [`Error::Tampered`].
    fn open(&self, aad: &Aad, sealed: &Sealed) -> Result<Zeroizing<Vec<u8>>, Error> {
        self.0
            .decrypt((&sealed.nonce).into(), Payload { msg: &sealed.ciphertext, aad: &aad.0 })
            .map(Zeroizing::new)
            .map_err(|_| Error::Tampered)
    }
}

/// AES-256-GCM tag length.
const TAG_LEN: usize = 16;

/// An AES-256-GCM key expanded once (AES round keys and the GHASH key) and
/// kept for the life of its owner, e.g. a session's vault key.
///
/// The schedule lives in its own heap allocation, made once and never moved
/// (moving the owner moves only the pointer), and is wiped when dropped (the
/// `aes`/`polyval` crates' `zeroize` feature). The stack frames that built it
/// are overwritten before [`SessionAead::new`] returns, so no copy of the
/// schedule (whose first two round keys are the key itself) stays behind.
///
/// Sealing writes the stored envelope (byte-identical to
/// [`Sealed::to_bytes`]) in one allocation, encrypting in place; opening
/// reads the envelope without copying it and decrypts into one zeroizing
/// allocation. Nonces come from the process's buffered OS random source
/// (see [`fresh_nonce`]).
pub struct SessionAead(Box<Aes256Gcm>);

impl std::fmt::Debug for SessionAead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionAead(<redacted>)")
    }
}

/// Expands the key straight into its heap allocation's value. Not inlined,
/// so that its frame (and any temporary copy the compiler makes while
/// building the value) lies below the caller's and is overwritten by
/// [`scrub_stack`].
#[inline(never)]
fn expand_boxed(key: &SecretKey) -> Box<Aes256Gcm> {
    Box::new(Aes256Gcm::new(key.as_bytes().into()))
}

/// Overwrites (with volatile writes) the 16 KiB of stack below the caller,
/// where the frames of a call that just returned lived.
#[inline(never)]
fn scrub_stack() {
    let mut scratch = [0u8; 16 * 1024];
    zeroize::Zeroize::zeroize(&mut scratch);
    std::hint::black_box(&scratch);
}

impl SessionAead {
    /// Expands `key` once, for sealing and opening many blobs.
    pub fn new(key: &SecretKey) -> Self {
        let cipher = expand_boxed(key);
        scrub_stack();
        Self(cipher)
    }

    /// The stored bytes of `plaintext` sealed under a fresh random nonce:
    /// the [`Sealed`] envelope, exactly as [`Sealed::to_bytes`] writes it.
    ///
    /// # Errors
    /// [`Error::Rng`] if the OS random source fails; [`Error::Encoding`] for
    /// a plaintext AES-GCM cannot take.
    pub fn seal_to_bytes(&self, aad: &Aad, plaintext: &[u8]) -> Result<Vec<u8>, Error> {
        let nonce = fresh_nonce()?;
        let ciphertext_len = plaintext.len().checked_add(TAG_LEN).ok_or(Error::Encoding)?;
        // Envelope: variant V1 (varint 0) ‖ nonce ‖ varint(len) ‖ ciphertext ‖ tag,
        // sized once so the plaintext is never left behind by a reallocation.
        let mut out = Vec::with_capacity(1 + nonce.len() + MAX_VARINT_LEN + ciphertext_len);
        out.push(0);
        out.extend_from_slice(&nonce);
        push_varint(&mut out, ciphertext_len as u64);
        let start = out.len();
        out.extend_from_slice(plaintext);
        let body = out.get_mut(start..).ok_or(Error::Encoding)?;
        let tag = self.0.encrypt_inout_detached((&nonce).into(), &aad.0, body.into());
        match tag {
            Ok(tag) => {
                out.extend_from_slice(&tag);
                Ok(out)
            }
            Err(_) => {
                out.zeroize();
                Err(Error::Encoding)
            }
        }
    }

    /// Opens stored bytes sealed by [`SessionAead::seal_to_bytes`] (or any
    /// [`Sealed`] envelope) under the same key and associated data.
    ///
    /// # Errors
    /// [`Error::Tampered`] for anything that does not parse or authenticate.
    pub fn open_bytes(&self, aad: &Aad, bytes: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error> {
        let SealedWireBorrowed::V1(sealed) =
            postcard::from_bytes::<SealedWireBorrowed<'_>>(bytes).map_err(|_| Error::Tampered)?;
        let split = sealed.ciphertext.len().checked_sub(TAG_LEN).ok_or(Error::Tampered)?;
        let (ciphertext, tag) = sealed.ciphertext.split_at(split);
        let tag = tag.try_into().map_err(|_| Error::Tampered)?;
        let mut out = Zeroizing::new(ciphertext.to_vec());
        self.0
            .decrypt_inout_detached((&sealed.nonce).into(), &aad.0, out.as_mut_slice().into(), tag)
            .map_err(|_| Error::Tampered)?;
        Ok(out)
    }
}

/// Longest LEB128 varint of a `u64` (postcard's length prefix).
const MAX_VARINT_LEN: usize = 10;

/// Appends `value` as postcard writes a length: LEB128, least significant group first.
fn push_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Borrowing reader of [`SealedWire`] (same encoding: variant, nonce, bytes).
#[derive(Deserialize)]
enum SealedWireBorrowed<'a> {
    V1(#[serde(borrow)] SealedRef<'a>),
}

#[derive(Deserialize)]
struct SealedRef<'a> {
    nonce: [u8; 12],
    #[serde(borrow)]
    ciphertext: &'a [u8],
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
    fn session_seal_is_the_stored_envelope_and_opens_both_ways() {
        // Sizes around every varint boundary of the length prefix.
        let session = SessionAead::new(&key(1));
        let aad = Aad::new(AadKind::Record, b"vault", b"loc");
        for len in [0usize, 1, 111, 112, 113, 127, 128, 1000, 16_367, 16_368, 16_369, 65_536, 70_000] {
            let plaintext: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
            let bytes = session.seal_to_bytes(&aad, &plaintext).unwrap();
            // Parsed by the envelope's own reader and written back: identical bytes.
            let parsed = Sealed::from_bytes(&bytes).unwrap();
            assert_eq!(parsed.to_bytes().unwrap(), bytes, "len {len}");
            // Opens one-off and through the session; one-off blobs open in the session.
            assert_eq!(open(&key(1), &aad, &parsed).unwrap().as_slice(), plaintext.as_slice());
            assert_eq!(session.open_bytes(&aad, &bytes).unwrap().as_slice(), plaintext.as_slice());
            let one_off = seal(&key(1), &aad, &plaintext).unwrap().to_bytes().unwrap();
            assert_eq!(session.open_bytes(&aad, &one_off).unwrap().as_slice(), plaintext.as_slice());
        }
    }

    #[test]
    fn session_open_refuses_tampering_and_garbage() {
        let session = SessionAead::new(&key(1));
        let aad = Aad::new(AadKind::Record, b"vault", b"loc");
        let bytes = session.seal_to_bytes(&aad, b"hello").unwrap();
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 1;
            assert!(matches!(session.open_bytes(&aad, &bad), Err(Error::Tampered)), "byte {i}");
        }
        assert!(matches!(session.open_bytes(&aad, &bytes[..bytes.len() - 1]), Err(Error::Tampered)));
        assert!(matches!(SessionAead::new(&key(2)).open_bytes(&aad, &bytes), Err(Error::Tampered)));
        let other = Aad::new(AadKind::Record, b"vault", b"loc2");
        assert!(matches!(session.open_bytes(&other, &bytes), Err(Error::Tampered)));
        for garbage in [&[][..], &[0][..], &[1, 0, 0][..], &[0; 13][..], &[0; 29][..]] {
            assert!(matches!(session.open_bytes(&aad, garbage), Err(Error::Tampered)));
        }
        assert_eq!(format!("{session:?}"), "SessionAead(<redacted>)");
    }

    #[test]
    fn session_nonces_are_fresh() {
        let session = SessionAead::new(&key(1));
        let aad = Aad::new(AadKind::Record, b"v", b"l");
        let nonces: std::collections::HashSet<Vec<u8>> =
            (0..500).map(|_| session.seal_to_bytes(&aad, b"same").unwrap()[1..13].to_vec()).collect();
        assert_eq!(nonces.len(), 500);
    }

    #[test]
    fn garbage_bytes_are_tampered() {
        assert!(matches!(Sealed::from_bytes(&[9, 9, 9]), Err(Error::Tampered)));
        assert!(matches!(Sealed::from_bytes(&[]), Err(Error::Tampered)));
    }
}
