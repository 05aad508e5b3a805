//! Verification time on real data: each real Android chain
//! (`AndroidVerifier::verify`, policy included), the real App Attest
//! object (`AppleVerifier::verify_attestation`) and its assertion
//! (`verify_assertion`), each at a fixed time inside its certificates'
//! validity. Per enrolment (chains, objects) and per request (assertions).
//!
//!   cargo bench -p offline-auth-attestation --bench attestation
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, missing_docs)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, SystemTime};

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use offline_auth_attestation::android::{AndroidPolicy, AndroidVerifier, SecurityLevel};
use offline_auth_attestation::apple::{verify_assertion, ApplePolicy, AppleVerifier};
use offline_auth_attestation::{RevokedSerials, TrustAnchors};

const ANDROID: [&str; 4] =
    ["akita_sdk34_TEE_EC_NONE", "blueline_sdk28_SB_RSA_NONE", "caiman_sdk36_SB_EC_RKP", "tegu_sdk36_SB_EC_2026_ROOT"];

fn android(c: &mut Criterion) {
    let verifier = AndroidVerifier::new(common::google_anchors(), RevokedSerials::none());
    let mut group = c.benchmark_group("android_chain");
    for name in ANDROID {
        let chain = common::chain(name);
        let at = common::time_inside(&chain);
        let exp = common::expected(name);
        let policy = AndroidPolicy::new(common::b64(exp["attestationChallenge"].as_str().unwrap()))
            .with_min_security_level(SecurityLevel::Software)
            .allowing_unverified_boot();
        verifier.verify(&chain, at, &policy).unwrap();
        group.bench_function(name, |b| b.iter(|| verifier.verify(black_box(&chain), at, &policy).unwrap()));
    }
    group.finish();
}

fn apple(c: &mut Criterion) {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/apple");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("ios-14.4.json")).unwrap()).unwrap();
    let s = |v: &serde_json::Value| common::b64(v.as_str().unwrap());
    let att = &json["attestation"];
    let app_id = format!("{}.{}", att["teamIdentifier"].as_str().unwrap(), att["bundleIdentifier"].as_str().unwrap());
    let root = common::pem_certs(&std::fs::read_to_string(dir.join("Apple_App_Attestation_Root_CA.pem")).unwrap());
    let anchors = TrustAnchors::from_der_certificates(root.iter().map(Vec::as_slice)).unwrap();
    let verifier = AppleVerifier::new(anchors, RevokedSerials::none());
    // 2021-01-24T00:00:00Z, inside the leaf's three days.
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_611_446_400);
    let object = s(&att["attestationBase64"]);
    let key_id = s(&att["keyIdBase64"]);
    let policy = ApplePolicy::new(app_id.clone(), s(&att["clientDataHashSha256Base64"])).allowing_development();
    let evidence = verifier.verify_attestation(&object, &key_id, at, &policy).unwrap();
    c.bench_function("app_attest_object", |b| {
        b.iter(|| verifier.verify_attestation(black_box(&object), &key_id, at, &policy).unwrap())
    });
    let assertion = s(&json["assertion"]["assertionBase64"]);
    let client_data = s(&json["assertion"]["clientDataBase64"]);
    let point = evidence.public_key_point;
    c.bench_function("app_attest_assertion", |b| {
        b.iter(|| verify_assertion(black_box(&assertion), &client_data, &point, &app_id, 0).unwrap())
    });
}

criterion_group!(benches, android, apple);
criterion_main!(benches);
