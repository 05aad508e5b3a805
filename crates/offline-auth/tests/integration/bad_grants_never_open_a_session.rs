//! Offline grants: every malformed, forged or misdirected grant gets its own
//! typed error and never yields a session.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)] // a panic is how a test fails

use crate::common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use common::*;
use ed25519_dalek::{Signer as _, SigningKey};
use hmac::{Hmac, Mac};
use offline_auth::VaultError;
use serde_json::json;
use sha2::Sha256;

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn claims(iat: i64, exp: i64, dev: &str) -> serde_json::Value {
    json!({"sub": USER, "dev": dev, "iat": iat, "exp": exp, "scope": ["visits"], "jti": "g-1"})
}

/// A compact JWS over `header` and `claims`, signed by `key` with EdDSA.
fn ed25519_token(key: &SigningKey, header: &serde_json::Value, claims: &serde_json::Value) -> String {
    let input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()));
    let signature = key.sign(input.as_bytes());
    format!("{input}.{}", b64(&signature.to_bytes()))
}

fn enrol_with(device: &Device, grant: String) -> Result<(), VaultError> {
    let vault = device.open();
    let result = vault.enroll(PIN.into(), &grant, device.backend.sync_key.clone()).map(|_| ());
    assert_eq!(vault.is_enrolled().unwrap(), result.is_ok(), "a refused grant leaves nothing enrolled");
    result
}

fn assert_invalid(result: Result<(), VaultError>, what: &str) {
    assert!(matches!(result, Err(VaultError::GrantInvalid { .. })), "{what}: {result:?}");
}

fn issuer_key(device: &Device) -> SigningKey {
    SigningKey::from_bytes(&device.backend.issuer.private_key().unwrap().try_into().unwrap())
}

#[test]
fn a_hand_made_grant_from_the_issuer_key_is_accepted() {
    // Proves the hand-made tokens below differ from a good one only where intended.
    let device = Device::new();
    let token = ed25519_token(
        &issuer_key(&device),
        &json!({"alg": "EdDSA", "typ": "offline-grant+jwt", "kid": "k1"}),
        &claims(T0, T0 + DAY, DEVICE),
    );
    enrol_with(&device, token).unwrap();
}

#[test]
fn wrong_signature_is_invalid() {
    let device = Device::new();
    let other = SigningKey::from_bytes(&[7; 32]);
    let token = ed25519_token(
        &other,
        &json!({"alg": "EdDSA", "typ": "offline-grant+jwt", "kid": "k1"}),
        &claims(T0, T0 + DAY, DEVICE),
    );
    assert_invalid(enrol_with(&device, token), "signed by another key");

    let good = device.backend.grant(T0, 1);
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    parts[1] = b64(claims(T0, T0 + 30 * DAY, DEVICE).to_string().as_bytes());
    assert_invalid(enrol_with(&device, parts.join(".")), "claims swapped under a valid signature");
}

#[test]
fn unknown_or_missing_kid_is_invalid() {
    let device = Device::new();
    let key = issuer_key(&device);
    let token = ed25519_token(
        &key,
        &json!({"alg": "EdDSA", "typ": "offline-grant+jwt", "kid": "k2"}),
        &claims(T0, T0 + DAY, DEVICE),
    );
    assert_invalid(enrol_with(&device, token), "unknown kid");
    let token =
        ed25519_token(&key, &json!({"alg": "EdDSA", "typ": "offline-grant+jwt"}), &claims(T0, T0 + DAY, DEVICE));
    assert_invalid(enrol_with(&device, token), "no kid");
}

#[test]
fn algorithms_other_than_eddsa_are_refused() {
    let device = Device::new();
    let body = b64(claims(T0, T0 + DAY, DEVICE).to_string().as_bytes());

    let none = format!("{}.{body}.", b64(br#"{"alg":"none","typ":"offline-grant+jwt","kid":"k1"}"#));
    assert_invalid(enrol_with(&device, none), "alg none");

    // HS256 keyed with the issuer's public key: the classic confusion attack.
    let header = b64(br#"{"alg":"HS256","typ":"offline-grant+jwt","kid":"k1"}"#);
    let mut mac = Hmac::<Sha256>::new_from_slice(&device.backend.issuer.issuer_key().public_key).unwrap();
    mac.update(format!("{header}.{body}").as_bytes());
    let hs256 = format!("{header}.{body}.{}", b64(&mac.finalize().into_bytes()));
    assert_invalid(enrol_with(&device, hs256), "HS256 with the public key");

    let rs256 =
        format!("{}.{body}.{}", b64(br#"{"alg":"RS256","typ":"offline-grant+jwt","kid":"k1"}"#), b64(&[1; 256]));
    assert_invalid(enrol_with(&device, rs256), "RS256");

    let key = issuer_key(&device);
    let crit = ed25519_token(
        &key,
        &json!({"alg": "EdDSA", "typ": "offline-grant+jwt", "kid": "k1", "crit": ["exp"]}),
        &claims(T0, T0 + DAY, DEVICE),
    );
    assert_invalid(enrol_with(&device, crit), "crit header");
}

#[test]
fn another_device_is_invalid() {
    let device = Device::new();
    let token = device.backend.grant_for(USER, "device-2", T0, T0 + DAY);
    assert_invalid(enrol_with(&device, token), "another device");
}

#[test]
fn expired_grant_is_grant_expired() {
    let device = Device::new();
    let token = device.backend.grant_for(USER, DEVICE, T0 - 2 * DAY, T0 - DAY);
    assert_eq!(enrol_with(&device, token), Err(VaultError::GrantExpired));
    let token = device.backend.grant_for(USER, DEVICE, T0 - DAY, T0);
    assert_eq!(enrol_with(&device, token), Err(VaultError::GrantExpired), "exp is exclusive");
}

#[test]
fn grant_issued_in_the_future_is_invalid() {
    let device = Device::new();
    let token = device.backend.grant_for(USER, DEVICE, T0 + 3600, T0 + DAY);
    assert_invalid(enrol_with(&device, token), "iat an hour ahead");
    // Within the 60 s skew a server slightly ahead is fine.
    let token = device.backend.grant_for(USER, DEVICE, T0 + 30, T0 + DAY);
    enrol_with(&device, token).unwrap();
}

#[test]
fn garbage_is_invalid() {
    let device = Device::new();
    let key = issuer_key(&device);
    let header = json!({"alg": "EdDSA", "typ": "offline-grant+jwt", "kid": "k1"});
    let oversized = "a".repeat(20_000);
    let cases = vec![
        String::new(),
        "not a token".into(),
        "a.b".into(),
        "a.b.c.d".into(),
        "!!!.???.***".into(),
        format!("{}.{}.", b64(b"{}"), b64(b"{}")),
        ed25519_token(&key, &header, &json!({"sub": USER})),
        ed25519_token(
            &key,
            &header,
            &json!({"sub": USER, "dev": DEVICE, "iat": "soon", "exp": 1, "scope": [], "jti": "x"}),
        ),
        ed25519_token(&key, &header, &claims(T0, T0, DEVICE)),
        ed25519_token(
            &key,
            &header,
            &json!({"sub": "", "dev": DEVICE, "iat": T0, "exp": T0 + 9, "scope": [], "jti": "x"}),
        ),
        oversized,
    ];
    for token in cases {
        let shown: String = token.chars().take(40).collect();
        assert_invalid(enrol_with(&device, token), &shown);
    }
}

#[test]
fn scope_may_be_a_space_separated_string() {
    let device = Device::new();
    let claims = json!({"sub": USER, "dev": DEVICE, "iat": T0, "exp": T0 + DAY, "scope": "visits notes", "jti": "g"});
    let token =
        ed25519_token(&issuer_key(&device), &json!({"alg": "EdDSA", "typ": "offline-grant+jwt", "kid": "k1"}), &claims);
    let session = device.open().enroll(PIN.into(), &token, device.backend.sync_key.clone()).unwrap();
    assert_eq!(session.scopes().unwrap(), ["visits", "notes"]);
    assert!(matches!(session.put("payroll", "x", vec![1]), Err(VaultError::InvalidInput { .. })));
}

const TYP: &str = "offline-grant+jwt";

#[test]
fn only_tokens_typed_as_offline_grants_are_accepted() {
    // RFC 8725 3.11: another JWT the backend signs with the same key, with
    // the same claims, must not pass for an offline grant.
    let device = Device::new();
    let key = issuer_key(&device);
    let token = |typ: Option<&str>| {
        let header = match typ {
            Some(typ) => json!({"alg": "EdDSA", "typ": typ, "kid": "k1"}),
            None => json!({"alg": "EdDSA", "kid": "k1"}),
        };
        ed25519_token(&key, &header, &claims(T0, T0 + DAY, DEVICE))
    };
    for typ in [None, Some("JWT"), Some("at+jwt"), Some("offline-grant"), Some("")] {
        assert_invalid(enrol_with(&device, token(typ)), &format!("typ {typ:?}"));
    }
    for typ in [TYP, "application/offline-grant+jwt", "Offline-Grant+JWT"] {
        let device = Device::new();
        let key = issuer_key(&device);
        let header = json!({"alg": "EdDSA", "typ": typ, "kid": "k1"});
        enrol_with(&device, ed25519_token(&key, &header, &claims(T0, T0 + DAY, DEVICE))).unwrap();
    }
}

#[test]
fn the_algorithm_may_be_named_ed25519() {
    let device = Device::new();
    let header = json!({"alg": "Ed25519", "typ": TYP, "kid": "k1"});
    enrol_with(&device, ed25519_token(&issuer_key(&device), &header, &claims(T0, T0 + DAY, DEVICE))).unwrap();
    let issued = offline_auth_backend::GrantIssuer::with_options(
        "k1",
        device.backend.issuer.private_key().unwrap(),
        offline_auth_backend::IssuerOptions::default().with_algorithm("Ed25519"),
    )
    .unwrap()
    .issue(USER, DEVICE, &["visits".to_owned()], T0, T0 + DAY)
    .unwrap();
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(issued.split('.').next().unwrap()).unwrap()).unwrap();
    assert_eq!((header["alg"].as_str(), header["typ"].as_str()), (Some("Ed25519"), Some(TYP)));
    enrol_with(
        &Device { backend: Backend { issuer: device.backend.issuer.clone(), ..Backend::new() }, ..Device::new() },
        issued,
    )
    .unwrap();
    let other = offline_auth_backend::IssuerOptions::default().with_algorithm("ES256");
    assert!(offline_auth_backend::GrantIssuer::with_options("k1", vec![1; 32], other).is_err());
}

#[test]
fn a_grant_not_valid_yet_is_invalid() {
    let device = Device::new();
    let key = issuer_key(&device);
    let header = json!({"alg": "EdDSA", "typ": TYP, "kid": "k1"});
    let mut later = claims(T0, T0 + DAY, DEVICE);
    later["nbf"] = json!(T0 + HOUR);
    assert_invalid(enrol_with(&device, ed25519_token(&key, &header, &later)), "nbf an hour ahead");
    let mut now = claims(T0, T0 + DAY, DEVICE);
    now["nbf"] = json!(T0);
    enrol_with(&device, ed25519_token(&key, &header, &now)).unwrap();
}

#[test]
fn a_pinned_issuer_and_audience_are_required_on_device_and_backend() {
    let device = Device::new();
    let pinned = offline_auth_backend::GrantIssuer::with_options(
        "k1",
        device.backend.issuer.private_key().unwrap(),
        offline_auth_backend::IssuerOptions::default().with_issuer("https://auth.example").with_audience("field-app"),
    )
    .unwrap();
    let grant = |issuer: &offline_auth_backend::GrantIssuer| {
        issuer.issue(USER, DEVICE, &["visits".to_owned()], T0, T0 + DAY).unwrap()
    };
    let mut config = device.backend.config();
    config.grant_issuer = Some("https://auth.example".into());
    config.grant_audience = Some("field-app".into());
    let open = |config: &offline_auth::VaultConfig| device.open_with(config.clone()).unwrap();
    let refused = open(&config).enroll(PIN.into(), &grant(&device.backend.issuer), device.backend.sync_key.clone());
    assert!(matches!(refused, Err(VaultError::GrantInvalid { .. })), "no iss/aud: {refused:?}");
    let mut wrong = config.clone();
    wrong.grant_audience = Some("other-app".into());
    let refused = open(&wrong).enroll(PIN.into(), &grant(&pinned), device.backend.sync_key.clone());
    assert!(matches!(refused, Err(VaultError::GrantInvalid { .. })), "other audience: {refused:?}");
    let session = open(&config).enroll(PIN.into(), &grant(&pinned), device.backend.sync_key.clone()).unwrap();
    session.put("visits", "v1", b"x".to_vec()).unwrap();

    // The backend's verifier pins them as well.
    let batch = session.clone().sync_queue().next_batch(10).unwrap().unwrap();
    let verifier = |policy: offline_auth::GrantPolicy| {
        offline_auth_backend::SyncVerifier::with_policy(
            vec![device.backend.issuer.issuer_key()],
            std::sync::Arc::new(offline_auth_backend::FixedServerClock(T0 + 365 * DAY)),
            policy,
        )
        .unwrap()
        .verify(&batch.bytes, &device.backend.sync_key, &offline_auth_backend::SyncCursor::initial())
    };
    let pinned_policy = offline_auth::GrantPolicy {
        issuer: Some("https://auth.example".into()),
        audience: Some("field-app".into()),
        accept_untyped: false,
    };
    verifier(pinned_policy.clone()).unwrap();
    let other = offline_auth::GrantPolicy { issuer: Some("https://evil.example".into()), ..pinned_policy };
    assert!(matches!(
        verifier(other),
        Err(offline_auth_backend::BackendError::BatchRejected {
            kind: offline_auth_backend::RejectReason::GrantRejected,
            ..
        })
    ));
}
