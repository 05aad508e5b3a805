//! Key derivation: PBKDF2-HMAC-SHA256 for the PIN, HKDF-SHA256 for everything else.

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use super::keys::{SecretKey, KEY_LEN};
use crate::error::Error;

/// Floor for PBKDF2-HMAC-SHA256 iterations: OWASP Password Storage Cheat
/// Sheet (2023) recommends 600 000 for PBKDF2-HMAC-SHA256. Lower values are
/// rejected with a typed error.
pub(crate) const MIN_PBKDF2_ITERATIONS: u32 = 600_000;

/// `PK` = PBKDF2-HMAC-SHA256(pin, salt, iterations), 32 bytes.
pub(crate) fn pin_key(pin: &[u8], salt: &[u8], iterations: u32) -> Result<SecretKey, Error> {
    if iterations < MIN_PBKDF2_ITERATIONS {
        return Err(Error::InvalidInput(format!("PBKDF2 iterations must be at least {MIN_PBKDF2_ITERATIONS}")));
    }
    let mut out = Zeroizing::new([0u8; KEY_LEN]);
    pbkdf2::pbkdf2_hmac::<Sha256>(pin, salt, iterations, out.as_mut_slice());
    SecretKey::from_slice(out.as_slice())
}

/// HKDF-SHA256: extract with `salt` from `ikm`, expand with `info` to a key.
pub(crate) fn derive_key(ikm: &[u8], salt: &[u8], info: &[&[u8]]) -> Result<SecretKey, Error> {
    let hkdf = Hkdf::<Sha256>::new(Some(salt), ikm);
    let mut out = Zeroizing::new([0u8; KEY_LEN]);
    hkdf.expand_multi_info(info, out.as_mut_slice()).map_err(|_| Error::Encoding)?;
    SecretKey::from_slice(out.as_slice())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_floor_is_rejected() {
        assert!(matches!(pin_key(b"123456", b"salt", MIN_PBKDF2_ITERATIONS - 1), Err(Error::InvalidInput(_))));
    }

    #[test]
    fn hkdf_rfc5869_case_1() {
        // RFC 5869 A.1, truncated to our 32-byte output.
        let ikm = [0x0b_u8; 22];
        let salt: Vec<u8> = (0x00..=0x0c).collect();
        let info: Vec<u8> = (0xf0..=0xf9).collect();
        let okm = derive_key(&ikm, &salt, &[&info]).unwrap();
        assert_eq!(hex::encode(okm.as_bytes()), "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf");
    }

    #[test]
    fn info_parts_are_concatenated() {
        let a = derive_key(b"ikm", b"salt", &[b"ab", b"c"]).unwrap();
        let b = derive_key(b"ikm", b"salt", &[b"abc"]).unwrap();
        assert_eq!(a.as_bytes(), b.as_bytes());
    }
}
