//! Key derivation: PBKDF2-HMAC-SHA256 for the PIN, HKDF-SHA256 for everything else.
//!
//! PBKDF2 is the one place where speed is security: at the same unlock delay,
//! every nanosecond we waste per iteration is an iteration the attacker does
//! not have to pay for. So the PIN derivation does not go through a generic
//! HMAC object. Once the HMAC inner and outer pads are absorbed (once per
//! derivation), each iteration `U_j = HMAC(P, U_{j-1})` is exactly two
//! SHA-256 compressions over fixed, pre-padded 64-byte blocks, which is the
//! hardware bound. `sha2::compress256` picks SHA-NI / ARMv8 SHA at run time.
//! Equality with RFC 7914 §11 and with the `pbkdf2` crate is tested below.
//! Every intermediate (pads, chaining states, blocks, accumulator) is
//! zeroized when the derivation ends.

use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::digest::generic_array::GenericArray;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::keys::{SecretKey, KEY_LEN};
use crate::error::Error;

/// Floor for PBKDF2-HMAC-SHA256 iterations: OWASP Password Storage Cheat
/// Sheet (2023) recommends 600 000 for PBKDF2-HMAC-SHA256. Lower values are
/// rejected with a typed error.
pub const MIN_PBKDF2_ITERATIONS: u32 = 600_000;

/// `PK` = PBKDF2-HMAC-SHA256(pin, salt, iterations), 32 bytes.
pub fn pin_key(pin: &[u8], salt: &[u8], iterations: u32) -> Result<SecretKey, Error> {
    if iterations < MIN_PBKDF2_ITERATIONS {
        return Err(Error::InvalidInput(format!("PBKDF2 iterations must be at least {MIN_PBKDF2_ITERATIONS}")));
    }
    let mut out = Zeroizing::new([0u8; KEY_LEN]);
    pbkdf2_hmac_sha256(pin, salt, iterations, out.as_mut_slice())?;
    SecretKey::from_slice(out.as_slice())
}

/// SHA-256 initial hash value (FIPS 180-4 §5.3.3).
const SHA256_IV: [u32; 8] =
    [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

/// SHA-256 block length, which is also HMAC-SHA256's key block length.
const BLOCK_LEN: usize = 64;
/// SHA-256 digest length, which is also one PBKDF2 output block.
const DIGEST_LEN: usize = 32;

/// A 64-byte block whose first 32 bytes are a digest and whose tail is the
/// fixed SHA-256 padding of a 96-byte message (64-byte pad block + digest).
fn padded_digest_block() -> Zeroizing<[u8; BLOCK_LEN]> {
    let mut block = Zeroizing::new([0u8; BLOCK_LEN]);
    // 0x80 right after the 32-byte digest; big-endian bit length 768 = 0x0300 at the end.
    for (i, byte) in block.iter_mut().enumerate() {
        *byte = match i {
            DIGEST_LEN => 0x80,
            62 => 0x03,
            _ => 0,
        };
    }
    block
}

/// Writes the chaining state `words` big-endian into the first 32 bytes of `block`.
#[inline(always)]
fn store_words(block: &mut [u8; BLOCK_LEN], words: &[u32; 8]) {
    for (dst, word) in block.chunks_exact_mut(4).zip(words.iter()) {
        dst.copy_from_slice(&word.to_be_bytes());
    }
}

/// One SHA-256 compression of `block` into a copy of `start`.
#[inline(always)]
fn compress_from(start: &[u32; 8], block: &[u8; BLOCK_LEN], out: &mut [u32; 8]) {
    *out = *start;
    sha2::compress256(out, std::slice::from_ref(GenericArray::from_slice(block)));
}

/// HMAC-SHA256's chaining states after absorbing `key ⊕ ipad` and `key ⊕ opad`.
fn hmac_pad_states(password: &[u8]) -> (Zeroizing<[u32; 8]>, Zeroizing<[u32; 8]>) {
    // RFC 2104: a key longer than the block is hashed first, then zero-padded.
    let mut key = Zeroizing::new([0u8; BLOCK_LEN]);
    if password.len() > BLOCK_LEN {
        let digest = Zeroizing::new(<[u8; DIGEST_LEN]>::from(Sha256::digest(password)));
        for (dst, src) in key.iter_mut().zip(digest.iter()) {
            *dst = *src;
        }
    } else {
        for (dst, src) in key.iter_mut().zip(password) {
            *dst = *src;
        }
    }
    let mut pad = Zeroizing::new([0u8; BLOCK_LEN]);
    let mut inner = Zeroizing::new(SHA256_IV);
    let mut outer = Zeroizing::new(SHA256_IV);
    for (dst, src) in pad.iter_mut().zip(key.iter()) {
        *dst = src ^ 0x36;
    }
    sha2::compress256(&mut inner, std::slice::from_ref(GenericArray::from_slice(pad.as_slice())));
    for (dst, src) in pad.iter_mut().zip(key.iter()) {
        *dst = src ^ 0x5c;
    }
    sha2::compress256(&mut outer, std::slice::from_ref(GenericArray::from_slice(pad.as_slice())));
    (inner, outer)
}

/// PBKDF2-HMAC-SHA256 (RFC 8018 §5.2) of any output length.
///
/// # Errors
/// [`Error::InvalidInput`] for zero iterations or an output longer than
/// the 2^32 − 1 blocks RFC 8018 allows.
pub fn pbkdf2_hmac_sha256(password: &[u8], salt: &[u8], iterations: u32, out: &mut [u8]) -> Result<(), Error> {
    if iterations == 0 {
        return Err(Error::InvalidInput("PBKDF2 needs at least one iteration".into()));
    }
    let (inner, outer) = hmac_pad_states(password);
    // The first HMAC (over salt ‖ INT(i)) has a variable-length message: the
    // hmac crate handles it, keyed with the same password.
    let first_mac = Hmac::<Sha256>::new_from_slice(password).map_err(|_| Error::Encoding)?;

    let mut u_block = padded_digest_block(); // U_{j-1} ‖ padding
    let mut h_block = padded_digest_block(); // inner digest ‖ padding
    let mut state = Zeroizing::new([0u32; 8]);
    let mut acc = Zeroizing::new([0u32; 8]);
    let mut block_bytes = Zeroizing::new([0u8; DIGEST_LEN]);

    for (index, chunk) in out.chunks_mut(DIGEST_LEN).enumerate() {
        let block_index = u32::try_from(index)
            .ok()
            .and_then(|i| i.checked_add(1))
            .ok_or_else(|| Error::InvalidInput("PBKDF2 output too long".into()))?;
        // U_1 = HMAC(P, S ‖ INT(i)).
        let mut mac = first_mac.clone();
        mac.update(salt);
        mac.update(&block_index.to_be_bytes());
        let u1 = Zeroizing::new(<[u8; DIGEST_LEN]>::from(mac.finalize().into_bytes()));
        for (word, bytes) in acc.iter_mut().zip(u1.chunks_exact(4)) {
            let mut be = [0u8; 4];
            be.copy_from_slice(bytes);
            *word = u32::from_be_bytes(be);
        }
        for (dst, src) in u_block.iter_mut().zip(u1.iter()) {
            *dst = *src;
        }
        // U_j = HMAC(P, U_{j-1}) = outer(inner(U_{j-1})): two compressions.
        for _ in 1..iterations {
            compress_from(&inner, &u_block, &mut state);
            store_words(&mut h_block, &state);
            compress_from(&outer, &h_block, &mut state);
            store_words(&mut u_block, &state);
            for (a, s) in acc.iter_mut().zip(state.iter()) {
                *a ^= s;
            }
        }
        for (dst, word) in block_bytes.chunks_exact_mut(4).zip(acc.iter()) {
            dst.copy_from_slice(&word.to_be_bytes());
        }
        for (dst, src) in chunk.iter_mut().zip(block_bytes.iter()) {
            *dst = *src;
        }
    }
    Ok(())
}

/// HKDF-SHA256: extract with `salt` from `ikm`, expand with `info` to a key.
pub fn derive_key(ikm: &[u8], salt: &[u8], info: &[&[u8]]) -> Result<SecretKey, Error> {
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

    fn pbkdf2_hex(password: &[u8], salt: &[u8], iterations: u32, len: usize) -> String {
        let mut out = vec![0u8; len];
        pbkdf2_hmac_sha256(password, salt, iterations, &mut out).unwrap();
        hex::encode(out)
    }

    #[test]
    fn pbkdf2_rfc7914_section_11_vectors() {
        assert_eq!(
            pbkdf2_hex(b"passwd", b"salt", 1, 64),
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc\
             49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"
        );
        assert_eq!(
            pbkdf2_hex(b"Password", b"NaCl", 80_000, 64),
            "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56\
             a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d"
        );
    }

    #[test]
    fn pbkdf2_equals_the_pbkdf2_crate_on_random_inputs() {
        // Passwords from empty to longer than the HMAC block (hashed first),
        // outputs from 1 byte to several blocks with a partial last one.
        let mut seed = [0u8; 4 * 64];
        getrandom::fill(&mut seed).unwrap();
        for params in seed.chunks_exact(4) {
            let (pw_len, salt_len, iterations, out_len) = (
                params[0] as usize % 100,
                params[1] as usize % 80,
                1 + u32::from(params[2]) % 40,
                1 + params[3] as usize % 100,
            );
            let password = crate::crypto::random_bytes(pw_len).unwrap();
            let salt = crate::crypto::random_bytes(salt_len).unwrap();
            let mut reference = vec![0u8; out_len];
            pbkdf2::pbkdf2_hmac::<Sha256>(&password, &salt, iterations, &mut reference);
            assert_eq!(
                pbkdf2_hex(&password, &salt, iterations, out_len),
                hex::encode(&reference),
                "password {password:02x?} salt {salt:02x?} iterations {iterations} len {out_len}"
            );
        }
    }

    #[test]
    fn pbkdf2_wycheproof_vectors() {
        // The crate's own PBKDF2 against every Wycheproof PBKDF2-HMAC-SHA256
        // vector (tests/integration/known_answer_vectors.rs runs the same set against the pbkdf2 crate).
        use wycheproof::pbkdf2::{TestName, TestSet};
        let set = TestSet::load(TestName::Pbkdf2HmacSha256).unwrap();
        let mut ran = 0;
        for t in set.test_groups.iter().flat_map(|g| &g.tests) {
            let iterations = u32::try_from(t.iteration_count).unwrap();
            let matches = pbkdf2_hex(&t.password, &t.salt, iterations, t.dk_len) == hex::encode(&*t.dk);
            assert_eq!(matches, !t.result.must_fail(), "tc {} ({})", t.tc_id, t.comment);
            ran += 1;
        }
        assert!(ran >= 60, "only {ran} Wycheproof vectors");
    }

    #[test]
    fn pin_key_equals_the_pbkdf2_crate_at_the_floor() {
        let mut reference = [0u8; KEY_LEN];
        pbkdf2::pbkdf2_hmac::<Sha256>(b"482915", b"vault-salt", MIN_PBKDF2_ITERATIONS, &mut reference);
        let ours = pin_key(b"482915", b"vault-salt", MIN_PBKDF2_ITERATIONS).unwrap();
        assert_eq!(ours.as_bytes(), &reference);
    }

    #[test]
    fn pbkdf2_zero_iterations_is_rejected() {
        assert!(matches!(pbkdf2_hmac_sha256(b"p", b"s", 0, &mut [0u8; 32]), Err(Error::InvalidInput(_))));
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
