//! The policy alone: `AndroidPolicy::check` over decoded key descriptions,
//! with no certificate and no chain, so each rule is seen by itself.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::common;

use common::ca::{self, Spec, CHALLENGE, PACKAGE, SIGNER};
use offline_auth_attestation::android::{AndroidPolicy, KeyDescription, SecurityLevel, VerifiedBootState};
use offline_auth_attestation::{Refusal, WhichLevel};

fn described(spec: &Spec) -> KeyDescription {
    KeyDescription::from_der(&ca::key_description(spec)).unwrap()
}

#[test]
fn the_strict_default_policy_accepts_a_locked_verified_hardware_key() {
    assert_eq!(AndroidPolicy::new(CHALLENGE).check(&described(&Spec::default())), Ok(()));
}

#[test]
fn the_key_level_is_checked_as_well_as_the_attestation_level() {
    let spec = Spec { keymint_level: Some(SecurityLevel::Software), ..Spec::default() };
    assert_eq!(
        AndroidPolicy::new(CHALLENGE).check(&described(&spec)),
        Err(Refusal::SecurityLevelTooLow {
            which: WhichLevel::KeyMint,
            found: SecurityLevel::Software,
            required: SecurityLevel::TrustedEnvironment,
        })
    );
}

#[test]
fn a_strongbox_minimum_refuses_a_tee_key() {
    let spec = Spec { level: SecurityLevel::TrustedEnvironment, ..Spec::default() };
    let policy = AndroidPolicy::new(CHALLENGE).with_min_security_level(SecurityLevel::StrongBox);
    assert_eq!(
        policy.check(&described(&spec)),
        Err(Refusal::SecurityLevelTooLow {
            which: WhichLevel::Attestation,
            found: SecurityLevel::TrustedEnvironment,
            required: SecurityLevel::StrongBox,
        })
    );
}

#[test]
fn a_development_policy_accepts_an_unlocked_device_the_strict_one_refuses() {
    let spec = Spec { boot_state: VerifiedBootState::Unverified, locked: false, ..Spec::default() };
    let kd = described(&spec);
    assert_eq!(
        AndroidPolicy::new(CHALLENGE).check(&kd),
        Err(Refusal::BootNotVerified { found: Some(VerifiedBootState::Unverified) })
    );
    assert_eq!(AndroidPolicy::new(CHALLENGE).allowing_unverified_boot().check(&kd), Ok(()));
}

#[test]
fn package_and_signer_rules_apply_only_when_set() {
    let spec = Spec { package: "org.other".to_owned(), signer: vec![1; 32], ..Spec::default() };
    let kd = described(&spec);
    assert_eq!(AndroidPolicy::new(CHALLENGE).check(&kd), Ok(()));
    assert_eq!(
        AndroidPolicy::new(CHALLENGE).with_allowed_packages([PACKAGE]).check(&kd),
        Err(Refusal::PackageNotAllowed)
    );
    assert_eq!(
        AndroidPolicy::new(CHALLENGE).with_allowed_signer_digests([SIGNER.to_vec()]).check(&kd),
        Err(Refusal::SignerNotAllowed)
    );
}

#[test]
fn the_challenge_is_checked_before_anything_else() {
    // Everything is wrong; the refusal names the challenge.
    let spec =
        Spec { challenge: b"another".to_vec(), level: SecurityLevel::Software, locked: false, ..Spec::default() };
    assert_eq!(AndroidPolicy::new(CHALLENGE).check(&described(&spec)), Err(Refusal::ChallengeMismatch));
}

#[test]
fn a_policy_is_plain_data_that_compares_and_prints() {
    let a = AndroidPolicy::new(CHALLENGE).with_min_os_patch_level(202_401);
    let b = a.clone();
    assert_eq!(a, b);
    let shown = format!("{a:?}");
    assert!(shown.contains("min_os_patch_level: Some(202401)"), "{shown}");
    assert!(shown.contains("TrustedEnvironment"), "{shown}");
}
