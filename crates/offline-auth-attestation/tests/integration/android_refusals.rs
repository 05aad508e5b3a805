//! Negative cases from our own test CA (`common::ca`): each chain differs
//! from an accepted one in one thing, and is refused with that thing's
//! own `Refusal`. All verify at a fixed time (2025-01-01), never today.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::common;

use std::time::{Duration, SystemTime};

use common::ca::{self, Spec, AT_SECS, CHALLENGE, PACKAGE, SIGNER};
use offline_auth_attestation::android::chain::parse_chain;
use offline_auth_attestation::android::{
    AndroidPolicy, AndroidVerifier, KeyDescription, SecurityLevel, VerifiedBootState,
};
use offline_auth_attestation::{Refusal, RevokedSerials, TrustAnchors, WhichLevel, MAX_CERTIFICATE_LEN, MAX_CHAIN_LEN};

fn at() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(AT_SECS)
}

fn anchors(seed: u8) -> TrustAnchors {
    let root = ca::root_cert(seed);
    TrustAnchors::from_der_certificates([root.as_slice()]).unwrap()
}

fn policy() -> AndroidPolicy {
    AndroidPolicy::new(CHALLENGE)
        .with_min_security_level(SecurityLevel::TrustedEnvironment)
        .with_allowed_packages([PACKAGE])
        .with_allowed_signer_digests([SIGNER.to_vec()])
        .with_min_os_patch_level(202_401)
}

fn verify_spec(spec: &Spec) -> Result<offline_auth_attestation::android::AndroidEvidence, Refusal> {
    AndroidVerifier::new(anchors(3), RevokedSerials::none()).verify(&ca::chain(spec), at(), &policy())
}

#[test]
fn the_test_cas_unchanged_chain_is_accepted() {
    let evidence = verify_spec(&Spec::default()).unwrap();
    assert_eq!(evidence.keymint_security_level, SecurityLevel::StrongBox);
    assert_eq!(evidence.package_names, vec![PACKAGE.to_owned()]);
    assert_eq!(evidence.signer_digests, vec![SIGNER.to_vec()]);
    assert_eq!(evidence.os_patch_level, Some(202_410));
    assert_eq!(evidence.device_locked, Some(true));
}

#[test]
fn a_wrong_challenge_is_refused() {
    let spec = Spec { challenge: b"server challenge 0002".to_vec(), ..Spec::default() };
    assert_eq!(verify_spec(&spec), Err(Refusal::ChallengeMismatch));
    let shorter = Spec { challenge: b"server".to_vec(), ..Spec::default() };
    assert_eq!(verify_spec(&shorter), Err(Refusal::ChallengeMismatch));
}

#[test]
fn a_software_level_key_is_refused() {
    let spec = Spec { level: SecurityLevel::Software, ..Spec::default() };
    assert_eq!(
        verify_spec(&spec),
        Err(Refusal::SecurityLevelTooLow {
            which: WhichLevel::Attestation,
            found: SecurityLevel::Software,
            required: SecurityLevel::TrustedEnvironment,
        })
    );
}

#[test]
fn a_software_level_key_is_accepted_only_by_a_policy_that_allows_it() {
    let spec = Spec { level: SecurityLevel::Software, ..Spec::default() };
    let dev = policy().with_min_security_level(SecurityLevel::Software);
    let evidence =
        AndroidVerifier::new(anchors(3), RevokedSerials::none()).verify(&ca::chain(&spec), at(), &dev).unwrap();
    assert_eq!(evidence.attestation_security_level, SecurityLevel::Software);
}

#[test]
fn an_unlocked_bootloader_is_refused() {
    let spec = Spec { locked: false, ..Spec::default() };
    assert_eq!(verify_spec(&spec), Err(Refusal::BootloaderUnlocked));
}

#[test]
fn an_unverified_boot_is_refused() {
    let spec = Spec { boot_state: VerifiedBootState::Unverified, locked: false, ..Spec::default() };
    assert_eq!(verify_spec(&spec), Err(Refusal::BootNotVerified { found: Some(VerifiedBootState::Unverified) }));
    let self_signed = Spec { boot_state: VerifiedBootState::SelfSigned, ..Spec::default() };
    assert_eq!(verify_spec(&self_signed), Err(Refusal::BootNotVerified { found: Some(VerifiedBootState::SelfSigned) }));
}

#[test]
fn a_wrong_package_is_refused() {
    let spec = Spec { package: "org.example.repackaged".to_owned(), ..Spec::default() };
    assert_eq!(verify_spec(&spec), Err(Refusal::PackageNotAllowed));
}

#[test]
fn a_wrong_signer_is_refused() {
    let spec = Spec { signer: vec![0xa5; 32], ..Spec::default() };
    assert_eq!(verify_spec(&spec), Err(Refusal::SignerNotAllowed));
}

#[test]
fn an_old_patch_level_is_refused() {
    let spec = Spec { os_patch: 202_312, ..Spec::default() };
    assert_eq!(verify_spec(&spec), Err(Refusal::PatchLevelTooOld { found: Some(202_312), required: 202_401 }));
}

#[test]
fn an_imported_key_is_refused() {
    let spec = Spec { origin: 2, ..Spec::default() };
    assert_eq!(verify_spec(&spec), Err(Refusal::KeyNotGenerated));
}

#[test]
fn a_revoked_serial_is_refused() {
    let chain = ca::chain(&Spec::default());
    let verifier = AndroidVerifier::new(anchors(3), RevokedSerials::from_hex(["20"]));
    assert_eq!(
        verifier.verify(&chain, at(), &policy()),
        Err(Refusal::Revoked { index: 1, serial_hex: "20".to_owned() })
    );
}

#[test]
fn an_expired_certificate_is_refused() {
    // The intermediate ended on 2024-12-31, a day before the verifier's time.
    let spec = Spec { intermediate_validity: (1_577_836_800, AT_SECS - 86_400), ..Spec::default() };
    assert_eq!(verify_spec(&spec), Err(Refusal::NotValidAtTime { index: 1 }));
}

#[test]
fn a_certificate_not_yet_valid_is_refused() {
    let spec = Spec { intermediate_validity: (AT_SECS + 86_400, AT_SECS + 2 * 86_400), ..Spec::default() };
    assert_eq!(verify_spec(&spec), Err(Refusal::NotValidAtTime { index: 1 }));
}

#[test]
fn a_chain_to_another_root_is_refused() {
    let spec = Spec { root_seed: 4, root_name: "CN=Another CA".to_owned(), ..Spec::default() };
    assert_eq!(verify_spec(&spec), Err(Refusal::UntrustedRoot));
}

#[test]
fn a_root_impostor_with_the_trusted_name_and_another_key_is_refused() {
    // The intermediate is signed by a key that is not the anchor's, under
    // the anchor's name: path validation finds the anchor and its signature fails.
    let spec = Spec { root_seed: 4, ..Spec::default() };
    assert_eq!(verify_spec(&spec), Err(Refusal::BadSignature));
}

#[test]
fn a_duplicated_key_description_extension_is_refused() {
    let spec = Spec { duplicate_key_description: true, ..Spec::default() };
    assert_eq!(verify_spec(&spec), Err(Refusal::DuplicateExtension { index: 0 }));
}

#[test]
fn a_key_description_above_the_leaf_is_refused() {
    let spec = Spec { key_description_in_intermediate: true, ..Spec::default() };
    assert_eq!(verify_spec(&spec), Err(Refusal::KeyDescriptionNotInLeaf { index: 1 }));
}

#[test]
fn a_leaf_without_key_description_is_refused() {
    let spec = Spec { no_key_description: true, ..Spec::default() };
    assert_eq!(verify_spec(&spec), Err(Refusal::MissingKeyDescription));
}

#[test]
fn an_unknown_tag_in_the_key_description_is_refused() {
    let spec = Spec { unknown_tag: true, ..Spec::default() };
    assert_eq!(verify_spec(&spec), Err(Refusal::MalformedKeyDescription));
}

#[test]
fn trailing_bytes_after_the_key_description_are_refused() {
    let mut kd = ca::key_description(&Spec::default());
    assert!(KeyDescription::from_der(&kd).is_ok());
    kd.push(0);
    assert_eq!(KeyDescription::from_der(&kd), Err(Refusal::MalformedKeyDescription));
}

#[test]
fn an_unknown_critical_extension_is_refused() {
    let spec = Spec { unknown_critical: true, ..Spec::default() };
    assert_eq!(verify_spec(&spec), Err(Refusal::UnknownCriticalExtension { index: 1 }));
}

#[test]
fn an_intermediate_that_is_not_a_ca_is_refused() {
    let spec = Spec { intermediate_not_ca: true, ..Spec::default() };
    assert_eq!(verify_spec(&spec), Err(Refusal::NotACa));
}

#[test]
fn a_certificate_with_a_flipped_signature_bit_is_refused() {
    let mut chain = ca::chain(&Spec::default());
    let last = chain[0].len() - 3;
    chain[0][last] ^= 0x01;
    let err = AndroidVerifier::new(anchors(3), RevokedSerials::none()).verify(&chain, at(), &policy());
    // Near the end of the signature's last INTEGER: the encoding stays valid, the value does not.
    assert_eq!(err, Err(Refusal::BadSignature));
}

#[test]
fn a_real_chain_with_a_flipped_signature_bit_is_refused() {
    let mut chain = common::chain("caiman_sdk36_SB_EC_RKP");
    let at = common::time_inside(&chain);
    // The last byte of a DER certificate is the last byte of its signature.
    let last = chain[1].len() - 1;
    chain[1][last] ^= 0x01;
    let verifier = AndroidVerifier::new(common::google_anchors(), RevokedSerials::none());
    let policy = AndroidPolicy::new(b"challenge".to_vec()).with_min_security_level(SecurityLevel::StrongBox);
    assert_eq!(verifier.verify(&chain, at, &policy), Err(Refusal::BadSignature));
}

#[test]
fn certificates_swapped_in_the_chain_are_refused() {
    let mut chain = ca::chain(&Spec::default());
    chain.swap(0, 1);
    let err = AndroidVerifier::new(anchors(3), RevokedSerials::none()).verify(&chain, at(), &policy());
    assert_eq!(err, Err(Refusal::KeyDescriptionNotInLeaf { index: 1 }));
}

#[test]
fn a_leaf_whose_issuer_is_missing_from_the_chain_is_refused() {
    // The leaf followed directly by the root: the leaf names the
    // intermediate as its issuer, not the root.
    let chain = ca::chain(&Spec::default());
    let spliced = vec![chain[0].clone(), chain[2].clone()];
    let err = AndroidVerifier::new(anchors(3), RevokedSerials::none()).verify(&spliced, at(), &policy());
    assert_eq!(err, Err(Refusal::UntrustedRoot));
}

#[test]
fn every_truncation_of_a_certificate_is_malformed_and_nothing_panics() {
    let chain = ca::chain(&Spec::default());
    for cut in 0..chain[0].len() {
        let truncated = vec![chain[0][..cut].to_vec(), chain[1].clone(), chain[2].clone()];
        assert_eq!(parse_chain(&truncated).err(), Some(Refusal::MalformedCertificate { index: 0 }), "cut at {cut}");
    }
}

#[test]
fn trailing_bytes_after_a_certificate_are_refused() {
    let mut chain = ca::chain(&Spec::default());
    chain[1].push(0);
    assert_eq!(parse_chain(&chain).err(), Some(Refusal::MalformedCertificate { index: 1 }));
}

#[test]
fn a_huge_length_prefix_is_refused_before_any_allocation() {
    // SEQUENCE with a 4-byte length of 4 GiB - 1, then a few bytes: the
    // length is checked against the bytes present, nothing is reserved.
    let hostile = vec![0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0x30, 0x03, 0x02, 0x01, 0x02];
    assert_eq!(parse_chain(&[hostile]).err(), Some(Refusal::MalformedCertificate { index: 0 }));
    // The same inside the key description.
    let kd = [0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x02, 0x01, 0x03];
    assert_eq!(KeyDescription::from_der(&kd), Err(Refusal::MalformedKeyDescription));
    // An 8-byte length (over what der accepts at all).
    let long = vec![0x30, 0x88, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00];
    assert_eq!(parse_chain(&[long]).err(), Some(Refusal::MalformedCertificate { index: 0 }));
}

#[test]
fn an_oversized_certificate_is_refused_before_decoding() {
    let chain = ca::chain(&Spec::default());
    let big = vec![0u8; MAX_CERTIFICATE_LEN + 1];
    let with_big = vec![chain[0].clone(), big, chain[2].clone()];
    assert_eq!(
        parse_chain(&with_big).err(),
        Some(Refusal::CertificateTooLarge { index: 1, len: MAX_CERTIFICATE_LEN + 1, max: MAX_CERTIFICATE_LEN })
    );
}

#[test]
fn a_too_long_chain_is_refused_before_decoding() {
    let chain = ca::chain(&Spec::default());
    let long: Vec<Vec<u8>> = std::iter::repeat_n(chain[1].clone(), MAX_CHAIN_LEN + 1).collect();
    assert_eq!(parse_chain(&long).err(), Some(Refusal::ChainTooLong { len: MAX_CHAIN_LEN + 1, max: MAX_CHAIN_LEN }));
    let empty: Vec<Vec<u8>> = Vec::new();
    assert_eq!(parse_chain(&empty).err(), Some(Refusal::EmptyChain));
}
