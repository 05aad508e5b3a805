//! Hazmat: HPKE (RFC 9180) base mode, one suite, through the `hpke` crate.
//!
//! Suite: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305 (KEM
//! 0x0020, KDF 0x0001, AEAD 0x0003), the suite RFC 9180 lists first for
//! X25519 and the one that needs no AES hardware on older phones. The
//! envelope that uses it (`crate::escrow`) names the suite in its version
//! byte, so a later suite is a new version, not a silent change.
//!
//! The ephemeral key comes from our own RNG call (`random_array`), which
//! reports a failure as [`Error::Rng`], instead of the crate's `getrandom`
//! path, which would panic.

use hpke::aead::ChaCha20Poly1305;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::rand_core::{TryCryptoRng, TryRng};
use hpke::{Deserializable, Kem as _, OpModeR, OpModeS, Serializable};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

use super::keys::random_array;
use crate::error::{Error, Result};

type Kem = X25519HkdfSha256;

/// Length of an X25519 public key, private key and encapsulated key.
pub const HPKE_KEY_LEN: usize = 32;

/// An X25519 key pair for HPKE: the private half zeroized on drop.
pub struct HpkeKeyPair {
    /// The 32-byte private key.
    pub private_key: Zeroizing<[u8; HPKE_KEY_LEN]>,
    /// The 32-byte public key.
    pub public_key: [u8; HPKE_KEY_LEN],
}

impl std::fmt::Debug for HpkeKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HpkeKeyPair").field("public_key", &self.public_key).finish_non_exhaustive()
    }
}

/// A fresh key pair from the operating system's RNG.
///
/// # Errors
/// `Rng` if the operating system's RNG fails.
pub fn hpke_generate() -> Result<HpkeKeyPair> {
    let mut ikm = random_array::<32>()?;
    let (private, public) = Kem::derive_keypair(&ikm);
    ikm.zeroize();
    Ok(HpkeKeyPair { private_key: Zeroizing::new(array(&private.to_bytes())?), public_key: array(&public.to_bytes())? })
}

/// The public key of a 32-byte private key.
///
/// # Errors
/// `InvalidInput` for a key that is not 32 bytes.
pub fn hpke_public_key(private_key: &[u8]) -> Result<[u8; HPKE_KEY_LEN]> {
    let private = <Kem as hpke::Kem>::PrivateKey::from_bytes(private_key)
        .map_err(|_| Error::InvalidInput("an HPKE private key is 32 bytes".into()))?;
    array(&Kem::sk_to_pk(&private).to_bytes())
}

fn array(bytes: &[u8]) -> Result<[u8; HPKE_KEY_LEN]> {
    bytes.try_into().map_err(|_| Error::Encoding)
}

/// Seals `plaintext` to `public_key`: returns the encapsulated key and the
/// ciphertext (with its 16-byte tag).
///
/// # Errors
/// `InvalidInput` for a public key that is not a valid X25519 key; `Rng`.
pub fn hpke_seal(
    public_key: &[u8; HPKE_KEY_LEN],
    info: &[u8],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<([u8; HPKE_KEY_LEN], Vec<u8>)> {
    let public = <Kem as hpke::Kem>::PublicKey::from_bytes(public_key)
        .map_err(|_| Error::InvalidInput("the HPKE public key is not an X25519 key".into()))?;
    let mut rng = SeededRng::new()?;
    let (enc, ciphertext) = hpke::single_shot_seal_with_rng::<ChaCha20Poly1305, HkdfSha256, Kem>(
        &OpModeS::Base,
        &public,
        info,
        plaintext,
        aad,
        &mut rng,
    )
    .map_err(|_| Error::Encoding)?;
    Ok((array(&enc.to_bytes())?, ciphertext))
}

/// Opens what [`hpke_seal`] sealed with the matching private key.
///
/// # Errors
/// `Tampered` if anything (key, `info`, `aad`, `enc`, ciphertext) differs.
pub fn hpke_open(
    private_key: &[u8],
    enc: &[u8],
    info: &[u8],
    aad: &[u8],
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    let private = <Kem as hpke::Kem>::PrivateKey::from_bytes(private_key)
        .map_err(|_| Error::InvalidInput("an HPKE private key is 32 bytes".into()))?;
    let enc = <Kem as hpke::Kem>::EncappedKey::from_bytes(enc).map_err(|_| Error::Tampered)?;
    hpke::single_shot_open::<ChaCha20Poly1305, HkdfSha256, Kem>(&OpModeR::Base, &private, &enc, info, ciphertext, aad)
        .map(Zeroizing::new)
        .map_err(|_| Error::Tampered)
}

/// The randomness HPKE asks for (one ephemeral key), expanded with SHA-256
/// in counter mode from 32 bytes of our fallible RNG call.
struct SeededRng {
    seed: Zeroizing<[u8; 32]>,
    counter: u64,
}

impl SeededRng {
    fn new() -> Result<Self> {
        Ok(Self { seed: Zeroizing::new(random_array::<32>()?), counter: 0 })
    }
}

impl TryRng for SeededRng {
    type Error = core::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut bytes = [0u8; 4];
        self.try_fill_bytes(&mut bytes)?;
        Ok(u32::from_le_bytes(bytes))
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut bytes = [0u8; 8];
        self.try_fill_bytes(&mut bytes)?;
        Ok(u64::from_le_bytes(bytes))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for chunk in dst.chunks_mut(32) {
            let mut block = Sha256::new().chain_update(*self.seed).chain_update(self.counter.to_be_bytes()).finalize();
            self.counter = self.counter.wrapping_add(1);
            for (out, byte) in chunk.iter_mut().zip(block.iter()) {
                *out = *byte;
            }
            block.zeroize();
        }
        Ok(())
    }
}

impl TryCryptoRng for SeededRng {}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_sealed_message_opens_with_its_key_only() {
        let pair = hpke_generate().unwrap();
        let (enc, ct) = hpke_seal(&pair.public_key, b"info", b"aad", b"hello").unwrap();
        assert_eq!(hpke_open(&*pair.private_key, &enc, b"info", b"aad", &ct).unwrap().as_slice(), b"hello");
        assert_eq!(hpke_public_key(&*pair.private_key).unwrap(), pair.public_key);
        let other = hpke_generate().unwrap();
        assert_eq!(hpke_open(&*other.private_key, &enc, b"info", b"aad", &ct), Err(Error::Tampered));
        assert_eq!(hpke_open(&*pair.private_key, &enc, b"info", b"other", &ct), Err(Error::Tampered));
        assert_eq!(hpke_open(&*pair.private_key, &enc, b"other", b"aad", &ct), Err(Error::Tampered));
    }
}
