//! Real attestations from real devices (Google's `android/keyattestation`
//! test data; provenance in `tests/data/android/README.md`): each verifies at
//! a time inside its certificates' validity, and what is parsed matches the
//! vector's `.json`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::common;

use std::time::{Duration, SystemTime};

use common::*;
use offline_auth_attestation::android::chain::{parse_chain, validate_chain};
use offline_auth_attestation::android::{
    AndroidPolicy, AndroidVerifier, KeyDescription, KeyOrigin, SecurityLevel, VerifiedBootState,
};
use offline_auth_attestation::{Refusal, RevokedSerials, TrustAnchors};
use serde_json::Value;

/// (file stem, security level, verified boot and locked)
const VECTORS: &[(&str, SecurityLevel, bool)] = &[
    ("akita_sdk34_TEE_EC_NONE", SecurityLevel::TrustedEnvironment, false),
    ("blueline_sdk28_SB_RSA_NONE", SecurityLevel::StrongBox, false),
    ("caiman_sdk36_SB_EC_RKP", SecurityLevel::StrongBox, true),
    ("tegu_sdk36_SB_EC_2026_ROOT", SecurityLevel::StrongBox, true),
];

fn level(s: &str) -> SecurityLevel {
    match s {
        "SOFTWARE" => SecurityLevel::Software,
        "TRUSTED_ENVIRONMENT" => SecurityLevel::TrustedEnvironment,
        "STRONG_BOX" => SecurityLevel::StrongBox,
        other => panic!("unknown level {other}"),
    }
}

fn num(v: &Value) -> Option<u64> {
    v.as_str().map(|s| s.parse().unwrap())
}

fn policy_for(name: &str, lvl: SecurityLevel, verified: bool) -> AndroidPolicy {
    let exp = expected(name);
    let app = &exp["softwareEnforced"]["attestationApplicationId"];
    let mut policy = AndroidPolicy::new(b64(exp["attestationChallenge"].as_str().unwrap()))
        .with_min_security_level(lvl)
        .with_allowed_packages([app["packages"][0]["name"].as_str().unwrap()])
        .with_allowed_signer_digests([b64(app["signatures"][0].as_str().unwrap())]);
    if !verified {
        policy = policy.allowing_unverified_boot();
    }
    policy
}

#[test]
fn each_real_key_description_parses_to_its_json_expectations() {
    for (name, _, _) in VECTORS {
        let exp = expected(name);
        let parsed = parse_chain(&chain(name)).unwrap();
        let kd = KeyDescription::from_der(parsed.key_description_der()).unwrap();
        assert_eq!(Some(kd.attestation_version), num(&exp["attestationVersion"]), "{name}");
        assert_eq!(Some(kd.keymint_version), num(&exp["keyMintVersion"]), "{name}");
        assert_eq!(kd.attestation_security_level, level(exp["attestationSecurityLevel"].as_str().unwrap()));
        assert_eq!(kd.keymint_security_level, level(exp["keyMintSecurityLevel"].as_str().unwrap()));
        assert_eq!(kd.attestation_challenge, b64(exp["attestationChallenge"].as_str().unwrap()));
        assert_eq!(kd.unique_id, b64(exp["uniqueId"].as_str().unwrap()));

        let sw = &exp["softwareEnforced"];
        assert_eq!(kd.software_enforced.creation_date_time, num(&sw["creationDateTime"]), "{name}");
        let app = kd.software_enforced.application_id.as_ref().unwrap();
        let want_pkgs = sw["attestationApplicationId"]["packages"].as_array().unwrap();
        assert_eq!(app.packages.len(), want_pkgs.len());
        for (got, want) in app.packages.iter().zip(want_pkgs) {
            assert_eq!(got.name, want["name"].as_str().unwrap());
            assert_eq!(Some(got.version), num(&want["version"]));
        }
        let want_sigs: Vec<Vec<u8>> = sw["attestationApplicationId"]["signatures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| b64(s.as_str().unwrap()))
            .collect();
        assert_eq!(app.signature_digests, want_sigs);

        let hw = &exp["hardwareEnforced"];
        let h = &kd.hardware_enforced;
        let purposes: Vec<u64> = hw["purposes"].as_array().unwrap().iter().map(|p| num(p).unwrap()).collect();
        assert_eq!(h.purposes, purposes, "{name}");
        assert_eq!(h.algorithm, num(&hw["algorithms"]), "{name}");
        assert_eq!(h.key_size, num(&hw["keySize"]), "{name}");
        assert_eq!(h.ec_curve, num(&hw["ecCurve"]), "{name}");
        assert_eq!(h.no_auth_required, hw["noAuthRequired"].as_bool().unwrap_or(false));
        assert_eq!(hw["origin"].as_str(), Some("GENERATED"));
        assert_eq!(h.origin, Some(KeyOrigin::Generated));
        assert_eq!(h.os_version, num(&hw["osVersion"]), "{name}");
        assert_eq!(h.os_patch_level, num(&hw["osPatchLevel"]), "{name}");
        assert_eq!(h.vendor_patch_level, num(&hw["vendorPatchLevel"]), "{name}");
        assert_eq!(h.boot_patch_level, num(&hw["bootPatchLevel"]), "{name}");
        let rot = h.root_of_trust.as_ref().unwrap();
        let want_rot = &hw["rootOfTrust"];
        assert_eq!(rot.verified_boot_key, b64(want_rot["verifiedBootKey"].as_str().unwrap()));
        assert_eq!(rot.device_locked, want_rot["deviceLocked"].as_bool().unwrap());
        let state = match want_rot["verifiedBootState"].as_str().unwrap() {
            "VERIFIED" => VerifiedBootState::Verified,
            "SELF_SIGNED" => VerifiedBootState::SelfSigned,
            "UNVERIFIED" => VerifiedBootState::Unverified,
            _ => VerifiedBootState::Failed,
        };
        assert_eq!(rot.verified_boot_state, state);
        assert_eq!(rot.verified_boot_hash, want_rot["verifiedBootHash"].as_str().map(b64), "{name}");
    }
}

#[test]
fn each_real_chain_validates_to_googles_roots_inside_its_validity() {
    let anchors = google_anchors();
    assert_eq!(anchors.len(), 2, "roots.json holds the RSA root and the ECDSA P-384 root");
    for (name, _, _) in VECTORS {
        let certs = chain(name);
        let parsed = parse_chain(&certs).unwrap();
        validate_chain(&parsed, &anchors, &RevokedSerials::none(), time_inside(&certs))
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
    }
}

#[test]
fn each_real_attestation_verifies_end_to_end_with_its_evidence() {
    let verifier = AndroidVerifier::new(google_anchors(), RevokedSerials::none());
    for (name, lvl, verified) in VECTORS {
        let certs = chain(name);
        let exp = expected(name);
        let evidence = verifier
            .verify(&certs, time_inside(&certs), &policy_for(name, *lvl, *verified))
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(evidence.attestation_security_level, *lvl);
        assert_eq!(evidence.keymint_security_level, *lvl);
        assert_eq!(evidence.device_locked, Some(*verified));
        assert_eq!(
            evidence.verified_boot_state,
            Some(if *verified { VerifiedBootState::Verified } else { VerifiedBootState::Unverified })
        );
        assert_eq!(evidence.os_patch_level, num(&exp["hardwareEnforced"]["osPatchLevel"]));
        assert_eq!(
            evidence.package_names,
            vec![exp["softwareEnforced"]["attestationApplicationId"]["packages"][0]["name"]
                .as_str()
                .unwrap()
                .to_owned()]
        );
        // The attested key is the leaf's, as DER SubjectPublicKeyInfo.
        let leaf = parse_chain(&certs).unwrap().leaf_spki_der().unwrap();
        assert_eq!(evidence.attested_key_spki, leaf);
    }
}

#[test]
fn strongbox_policy_refuses_the_tee_device() {
    let verifier = AndroidVerifier::new(google_anchors(), RevokedSerials::none());
    let name = "akita_sdk34_TEE_EC_NONE";
    let certs = chain(name);
    let policy = policy_for(name, SecurityLevel::StrongBox, false);
    assert_eq!(
        verifier.verify(&certs, time_inside(&certs), &policy),
        Err(Refusal::SecurityLevelTooLow {
            which: offline_auth_attestation::WhichLevel::Attestation,
            found: SecurityLevel::TrustedEnvironment,
            required: SecurityLevel::StrongBox,
        })
    );
}

#[test]
fn a_real_unlocked_development_device_is_refused_by_the_strict_policy() {
    let verifier = AndroidVerifier::new(google_anchors(), RevokedSerials::none());
    let name = "akita_sdk34_TEE_EC_NONE";
    let certs = chain(name);
    let policy = policy_for(name, SecurityLevel::TrustedEnvironment, true);
    assert_eq!(
        verifier.verify(&certs, time_inside(&certs), &policy),
        Err(Refusal::BootNotVerified { found: Some(VerifiedBootState::Unverified) })
    );
}

#[test]
fn a_real_chain_is_refused_after_its_intermediate_expired() {
    let verifier = AndroidVerifier::new(google_anchors(), RevokedSerials::none());
    let name = "caiman_sdk36_SB_EC_RKP";
    let certs = chain(name);
    let (_, end) = validity_window(&certs);
    let after = SystemTime::UNIX_EPOCH + end + Duration::from_secs(1);
    let err = verifier.verify(&certs, after, &policy_for(name, SecurityLevel::StrongBox, true));
    assert!(matches!(err, Err(Refusal::NotValidAtTime { .. })), "{err:?}");
}

#[test]
fn a_real_chain_is_refused_without_its_root_among_the_anchors() {
    let verifier = AndroidVerifier::new(TrustAnchors::default(), RevokedSerials::none());
    let name = "tegu_sdk36_SB_EC_2026_ROOT";
    let certs = chain(name);
    assert_eq!(
        verifier.verify(&certs, time_inside(&certs), &policy_for(name, SecurityLevel::StrongBox, true)),
        Err(Refusal::UntrustedRoot)
    );
}

#[test]
fn a_real_chain_with_a_revoked_intermediate_is_refused() {
    let name = "caiman_sdk36_SB_EC_RKP";
    let certs = chain(name);
    let parsed_intermediate = {
        use der::Decode;
        x509_cert::Certificate::from_der(&certs[1]).unwrap()
    };
    let serial = parsed_intermediate.tbs_certificate().serial_number().as_bytes();
    let hex: String = serial.iter().map(|b| format!("{b:02x}")).collect();
    // As Google's status list would name it.
    let json = format!(r#"{{"entries": {{"{hex}": {{"status": "REVOKED", "reason": "KEY_COMPROMISE"}}}}}}"#);
    let revoked = RevokedSerials::from_status_list_json(json.as_bytes()).unwrap();
    let verifier = AndroidVerifier::new(google_anchors(), revoked);
    let err = verifier.verify(&certs, time_inside(&certs), &policy_for(name, SecurityLevel::StrongBox, true));
    assert!(matches!(err, Err(Refusal::Revoked { index: 1, .. })), "{err:?}");
}
