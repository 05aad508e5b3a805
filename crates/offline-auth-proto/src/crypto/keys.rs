//! Secret key material: heap-held, zeroized on drop, never printed.

use std::fmt;

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::Error;

/// Length of every symmetric key in the crate (AES-256, HMAC-SHA256, HKDF output).
pub const KEY_LEN: usize = 32;

/// A 256-bit secret key. Boxed so moves do not leave copies on the stack.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretKey(Box<[u8; KEY_LEN]>);

impl SecretKey {
    /// A fresh key from the operating system's RNG.
    pub fn generate() -> Result<Self, Error> {
        let mut key = Box::new([0u8; KEY_LEN]);
        getrandom::fill(key.as_mut_slice()).map_err(|_| Error::Rng)?;
        Ok(Self(key))
    }

    /// Takes ownership of `bytes` (which is wiped) if it has the key length.
    pub fn from_vec(mut bytes: Vec<u8>) -> Result<Self, Error> {
        let result = Self::from_slice(&bytes);
        bytes.zeroize();
        result
    }

    /// Copies a key out of `bytes` if it has the key length.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, Error> {
        let array: &[u8; KEY_LEN] = bytes
            .try_into()
            .map_err(|_| Error::InvalidInput(format!("a key must be {KEY_LEN} bytes, got {}", bytes.len())))?;
        Ok(Self(Box::new(*array)))
    }

    /// The raw key bytes.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// A copy for handing across the FFI boundary (the keystore wraps it).
    pub fn to_vec(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(self.0.to_vec())
    }
}

impl ConstantTimeEq for SecretKey {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        self.0.as_slice().ct_eq(other.0.as_slice())
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

/// `N` random bytes from the operating system's RNG (for nonces, salts, ids).
pub fn random_array<const N: usize>() -> Result<[u8; N], Error> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).map_err(|_| Error::Rng)?;
    Ok(out)
}

/// `len` random bytes from the operating system's RNG.
pub fn random_bytes(len: usize) -> Result<Vec<u8>, Error> {
    let mut out = vec![0u8; len];
    getrandom::fill(&mut out).map_err(|_| Error::Rng)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_prints_no_material() {
        let key = SecretKey::from_slice(&[0xAB; KEY_LEN]).unwrap();
        let printed = format!("{key:?}");
        assert!(!printed.to_lowercase().contains("ab"), "{printed}");
    }

    #[test]
    fn wrong_length_is_rejected() {
        assert!(SecretKey::from_slice(&[0; 31]).is_err());
        assert!(SecretKey::from_vec(vec![0; 33]).is_err());
    }

    #[test]
    fn generated_keys_differ() {
        let a = SecretKey::generate().unwrap();
        let b = SecretKey::generate().unwrap();
        assert!(!bool::from(a.ct_eq(&b)));
    }
}
