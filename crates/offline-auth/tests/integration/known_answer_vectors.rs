//! Known-answer vectors for every primitive the SDK calls.
//!
//! The crate's crypto lives in the private `crypto` module (and `grant.rs` for
//! Ed25519), so these tests replay the vectors through the *same calls with
//! the same parameters* that module makes:
//!
//! | primitive | how `src/` calls it | vectors |
//! |---|---|---|
//! | AES-256-GCM | `Aes256Gcm::new`, 96-bit nonce, 128-bit tag, `Payload { msg, aad }` | Wycheproof `aes_gcm` (256-bit key, 96-bit IV, 128-bit tag groups) |
//! | HMAC-SHA256 | `Hmac<Sha256>` keyed with the key zero-padded to the 64-byte block | Wycheproof `hmac_sha256` |
//! | HKDF-SHA256 | `Hkdf::<Sha256>::new(Some(salt), ikm)` + `expand_multi_info` | Wycheproof `hkdf_sha256` |
//! | PBKDF2-HMAC-SHA256 | the reference `pbkdf2::pbkdf2_hmac::<Sha256>`, 32-byte output (the crate's own `crypto::kdf::pbkdf2_hmac_sha256` runs the same Wycheproof set in its unit test `pbkdf2_wycheproof_vectors`, and RFC 7914 §11) | RFC 7914 §11 (`tests/data/`) and Wycheproof `pbkdf2_hmacsha256` |
//! | Ed25519 | `VerifyingKey::from_bytes`, `Signature::from_slice`, `verify_strict` | Wycheproof `ed25519` |
//!
//! Each test prints how many vectors it ran (`--nocapture`); the counts are in
//! `docs/RELIABILITY.md`. Each also fails if it ran no vector at all.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)] // a panic is how a test fails

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::Aes256Gcm;
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use wycheproof::TestResult;

/// Vectors run and how they ended.
#[derive(Default, Debug)]
struct Count {
    valid: usize,
    invalid: usize,
    acceptable: usize,
}

impl Count {
    fn add(&mut self, result: TestResult) {
        match result {
            TestResult::Valid => self.valid += 1,
            TestResult::Invalid => self.invalid += 1,
            TestResult::Acceptable => self.acceptable += 1,
        }
    }
    fn report(&self, name: &str) {
        let total = self.valid + self.invalid + self.acceptable;
        println!(
            "vectors {name}: {total} passed ({} valid, {} invalid, {} acceptable)",
            self.valid, self.invalid, self.acceptable
        );
        assert!(total > 0, "{name}: no vector ran");
    }
}

#[test]
fn aes_256_gcm_wycheproof() {
    let set = wycheproof::aead::TestSet::load(wycheproof::aead::TestName::AesGcm).unwrap();
    let mut count = Count::default();
    let mut skipped = 0;
    for group in set.test_groups {
        // The crate only ever uses 256-bit keys, 96-bit nonces and full tags.
        if group.key_size != 256 || group.nonce_size != 96 || group.tag_size != 128 {
            skipped += group.tests.len();
            continue;
        }
        for t in group.tests {
            let cipher = Aes256Gcm::new(t.key.as_slice().try_into().unwrap());
            let nonce = t.nonce.as_slice().try_into().unwrap();
            let mut sealed = t.ct.to_vec();
            sealed.extend_from_slice(&t.tag);
            let opened = cipher.decrypt(nonce, Payload { msg: &sealed, aad: &t.aad });
            if t.result.must_fail() {
                assert!(opened.is_err(), "tc {} ({}) decrypted", t.tc_id, t.comment);
            } else {
                assert_eq!(opened.unwrap(), t.pt.to_vec(), "tc {} ({})", t.tc_id, t.comment);
                let ours = cipher.encrypt(nonce, Payload { msg: &t.pt, aad: &t.aad }).unwrap();
                assert_eq!(ours, sealed, "tc {} ({}) encrypts differently", t.tc_id, t.comment);
            }
            count.add(t.result);
        }
    }
    println!("aes_gcm: {skipped} vectors skipped (other key, nonce or tag sizes, which the crate never uses)");
    count.report("AES-256-GCM");
}

/// HMAC-SHA256 as `crypto::mac::hmac_sha256` computes it: the key copied
/// into a zeroed 64-byte block (RFC 2104 padding) for the infallible
/// block-sized constructor. Keys longer than the block are hashed first,
/// as RFC 2104 says (the crate's keys are always 32 bytes).
fn hmac_like_ours(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        use sha2::Digest;
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut mac = <Hmac<Sha256> as hmac::digest::KeyInit>::new(&block.into());
    mac.update(msg);
    mac.finalize().into_bytes().into()
}

#[test]
fn hmac_sha256_wycheproof() {
    let set = wycheproof::mac::TestSet::load(wycheproof::mac::TestName::HmacSha256).unwrap();
    let mut count = Count::default();
    let mut our_key_size = 0;
    for group in set.test_groups {
        for t in group.tests {
            let full = hmac_like_ours(&t.key, &t.msg);
            // The reference construction must agree with the zero-padded one.
            let mut reference = <Hmac<Sha256> as Mac>::new_from_slice(&t.key).unwrap();
            reference.update(&t.msg);
            assert_eq!(reference.finalize().into_bytes().as_slice(), full, "tc {}", t.tc_id);
            let tag_len = group.tag_size / 8;
            let matches = full.get(..tag_len) == Some(t.tag.as_slice());
            assert_eq!(matches, !t.result.must_fail(), "tc {} ({}) {:?}", t.tc_id, t.comment, t.result);
            if t.key.len() == 32 && tag_len == 32 {
                our_key_size += 1;
            }
            count.add(t.result);
        }
    }
    println!("hmac_sha256: {our_key_size} vectors with the crate's 32-byte keys and full tags");
    assert!(our_key_size > 0);
    count.report("HMAC-SHA256");
}

#[test]
fn hkdf_sha256_wycheproof() {
    let set = wycheproof::hkdf::TestSet::load(wycheproof::hkdf::TestName::HkdfSha256).unwrap();
    let mut count = Count::default();
    for group in set.test_groups {
        for t in group.tests {
            let hkdf = Hkdf::<Sha256>::new(Some(&t.salt), &t.ikm);
            let mut okm = vec![0u8; t.size];
            // `derive_key` passes info as parts; split it to exercise that too.
            let (a, b) = t.info.split_at(t.info.len() / 2);
            let expanded = hkdf.expand_multi_info(&[a, b], &mut okm);
            if t.result.must_fail() {
                assert!(expanded.is_err() || okm != t.okm.to_vec(), "tc {} ({})", t.tc_id, t.comment);
            } else {
                expanded.unwrap();
                assert_eq!(okm, t.okm.to_vec(), "tc {} ({})", t.tc_id, t.comment);
                // The crate takes 32 bytes; HKDF output is prefix-stable.
                let mut ours = [0u8; 32];
                if t.size >= 32 {
                    hkdf.expand_multi_info(&[&t.info], &mut ours).unwrap();
                    assert_eq!(&ours[..], &t.okm[..32], "tc {}", t.tc_id);
                }
            }
            count.add(t.result);
        }
    }
    count.report("HKDF-SHA256");
}

#[test]
fn pbkdf2_hmac_sha256_rfc7914() {
    let data = include_str!("../data/rfc7914_pbkdf2_sha256.txt");
    let mut ran = 0;
    for line in data.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split('|').collect();
        let [password, salt, iterations, dk_len, expected] = fields[..] else { panic!("bad line {line}") };
        let expected = hex::decode(expected).unwrap();
        let mut dk = vec![0u8; dk_len.parse().unwrap()];
        pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt.as_bytes(), iterations.parse().unwrap(), &mut dk);
        assert_eq!(dk, expected, "RFC 7914 §11: P={password} S={salt} c={iterations}");
        // `pin_key` takes a 32-byte output: PBKDF2's first block, the same prefix.
        let mut ours = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt.as_bytes(), iterations.parse().unwrap(), &mut ours);
        assert_eq!(&ours[..], &expected[..32]);
        ran += 1;
    }
    println!("vectors PBKDF2-HMAC-SHA256 (RFC 7914 §11): {ran} passed");
    assert_eq!(ran, 2, "RFC 7914 §11 has two PBKDF2-HMAC-SHA256 vectors");
}

#[test]
fn pbkdf2_hmac_sha256_wycheproof() {
    let set = wycheproof::pbkdf2::TestSet::load(wycheproof::pbkdf2::TestName::Pbkdf2HmacSha256).unwrap();
    let mut count = Count::default();
    for group in set.test_groups {
        for t in group.tests {
            let mut dk = vec![0u8; t.dk_len];
            pbkdf2::pbkdf2_hmac::<Sha256>(&t.password, &t.salt, u32::try_from(t.iteration_count).unwrap(), &mut dk);
            assert_eq!(dk == t.dk.to_vec(), !t.result.must_fail(), "tc {} ({})", t.tc_id, t.comment);
            count.add(t.result);
        }
    }
    count.report("PBKDF2-HMAC-SHA256 (Wycheproof)");
}

#[test]
fn ed25519_wycheproof_with_verify_strict() {
    let set = wycheproof::eddsa::TestSet::load(wycheproof::eddsa::TestName::Ed25519).unwrap();
    let mut count = Count::default();
    for group in set.test_groups {
        let key: Option<ed25519_dalek::VerifyingKey> = <[u8; 32]>::try_from(group.key.pk.as_slice())
            .ok()
            .and_then(|b| ed25519_dalek::VerifyingKey::from_bytes(&b).ok());
        for t in group.tests {
            // Exactly `grant::verify_signature`: from_slice, then verify_strict.
            let verified = match (&key, ed25519_dalek::Signature::from_slice(&t.sig)) {
                (Some(key), Ok(sig)) => key.verify_strict(&t.msg, &sig).is_ok(),
                _ => false,
            };
            match t.result {
                TestResult::Valid => assert!(verified, "tc {} ({}) rejected", t.tc_id, t.comment),
                TestResult::Invalid => assert!(!verified, "tc {} ({}) accepted", t.tc_id, t.comment),
                TestResult::Acceptable => {}
            }
            count.add(t.result);
        }
    }
    count.report("Ed25519 (verify_strict)");
}
