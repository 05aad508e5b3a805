//! The backend crate on the server side: JWKS publication, issuer key
//! rotation across a batch, grant verification, and grants signed through an
//! external `GrantSigner` (a bad signature never leaves the issuer).
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)] // a panic is how a test fails

use crate::common;

use common::*;
use offline_auth::{issuer_keys_from_jwks, VaultConfig, VaultError};
use offline_auth_backend::{
    jwks_from_issuer_keys, verify_grant, BackendError, Ed25519Signer, FixedServerClock, GrantIssuer, GrantSigner,
    IssuerOptions, RejectReason, SyncCursor, SyncVerifier,
};
use std::sync::Arc;

#[test]
fn jwks_round_trips_and_is_standard() {
    let a = GrantIssuer::generate("2026-11").unwrap();
    let b = GrantIssuer::generate("2026-12").unwrap();
    let jwks = jwks_from_issuer_keys(&[a.issuer_key(), b.issuer_key()]).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&jwks).unwrap();
    let first = &doc["keys"][0];
    assert_eq!((first["kty"].as_str(), first["crv"].as_str()), (Some("OKP"), Some("Ed25519")));
    assert_eq!(
        (first["alg"].as_str(), first["use"].as_str(), first["kid"].as_str()),
        (Some("EdDSA"), Some("sig"), Some("2026-11"))
    );
    assert_eq!(first["x"].as_str().unwrap().len(), 43, "32 bytes in unpadded base64url");
    assert!(!jwks.contains("\"d\""));
    assert_eq!(issuer_keys_from_jwks(&jwks).unwrap(), vec![a.issuer_key(), b.issuer_key()]);
}

#[test]
fn jwks_from_a_mixed_key_set_keeps_only_ed25519_signing_keys() {
    let a = GrantIssuer::generate("ed").unwrap();
    let x = jwks_from_issuer_keys(&[a.issuer_key()]).unwrap();
    let x = serde_json::from_str::<serde_json::Value>(&x).unwrap()["keys"][0]["x"].clone();
    let mixed = serde_json::json!({"keys": [
        {"kty": "RSA", "kid": "rsa", "n": "AQAB", "e": "AQAB"},
        {"kty": "OKP", "crv": "X25519", "kid": "ecdh", "x": x},
        {"kty": "OKP", "crv": "Ed25519", "kid": "enc", "use": "enc", "x": x},
        {"kty": "OKP", "crv": "Ed25519", "kid": "ed", "x": x},
    ]});
    assert_eq!(issuer_keys_from_jwks(&mixed.to_string()).unwrap(), vec![a.issuer_key()]);
}

#[test]
fn bad_jwks_documents_are_refused() {
    let x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
    for (doc, what) in [
        ("".to_string(), "empty"),
        ("{\"keys\": 5}".into(), "keys not a list"),
        ("{\"keys\": []}".into(), "no keys"),
        (format!("{{\"keys\":[{{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"{x}\"}}]}}"), "no kid"),
        ("{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"a\",\"x\":\"AAAA\"}]}".into(), "short x"),
        ("{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"a\",\"x\":\"!!\"}]}".into(), "x not base64url"),
        (format!("{{\"keys\":[{{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"a\",\"x\":\"{x}\",\"d\":\"{x}\"}}]}}"), "private key"),
        (
            format!("{{\"keys\":[{{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"a\",\"x\":\"{x}\"}},{{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"a\",\"x\":\"{x}\"}}]}}"),
            "duplicate kid",
        ),
    ] {
        assert!(matches!(issuer_keys_from_jwks(&doc), Err(VaultError::InvalidInput { .. })), "{what}");
    }
}

#[test]
fn rotation_trusts_several_keys_and_a_removed_kid_stops_working() {
    let old = GrantIssuer::generate("2026-10").unwrap();
    let new = GrantIssuer::generate("2026-11").unwrap();
    let device = Device::new();
    let both = VaultConfig::new(DEVICE, vec![old.issuer_key(), new.issuer_key()]);
    let vault = device.open_with(both).unwrap();
    let old_grant = old.issue(USER, DEVICE, &["visits".to_owned()], T0, T0 + DAY).unwrap();
    let session = vault.enroll(PIN.into(), &old_grant, device.backend.sync_key.clone()).unwrap();
    session.put("visits", "v1", b"under the old key".to_vec()).unwrap();
    // Renewed under the new key while both are trusted.
    device.clock.set(T0 + HOUR);
    let new_grant = new.issue(USER, DEVICE, &["visits".to_owned()], T0 + HOUR, T0 + DAY).unwrap();
    session.renew_grant(&new_grant).unwrap();
    session.put("visits", "v2", b"under the new key".to_vec()).unwrap();

    // The backend verifies a batch that spans both keys.
    let batch = session.clone().sync_queue().next_batch(10).unwrap().unwrap();
    let both_keys =
        SyncVerifier::with_clock(vec![old.issuer_key(), new.issuer_key()], Arc::new(FixedServerClock(T0 + 365 * DAY)))
            .unwrap();
    let verified = both_keys.verify(&batch.bytes, &device.backend.sync_key, &SyncCursor::initial()).unwrap();
    assert_eq!(verified.operations.len(), 2);
    // With the old kid removed, that batch no longer verifies…
    let new_only =
        SyncVerifier::with_clock(vec![new.issuer_key()], Arc::new(FixedServerClock(T0 + 365 * DAY))).unwrap();
    let refused = new_only.verify(&batch.bytes, &device.backend.sync_key, &SyncCursor::initial());
    assert!(
        matches!(refused, Err(BackendError::BatchRejected { kind: RejectReason::GrantRejected, .. })),
        "{refused:?}"
    );
    // …and a device configured without it refuses grants signed by it.
    assert!(matches!(verify_grant(&old_grant, &[new.issuer_key()]), Err(BackendError::GrantInvalid { .. })));
    let info = verify_grant(&new_grant, &[new.issuer_key()]).unwrap();
    assert_eq!((info.kid.as_str(), info.user_id.as_str(), info.device_id.as_str()), ("2026-11", USER, DEVICE));
    assert_eq!((info.issued_at, info.expires_at, info.scopes), (T0 + HOUR, T0 + DAY, vec!["visits".to_string()]));
    drop((session, vault));

    let second = Device::new();
    let vault = second.open_with(VaultConfig::new(DEVICE, vec![new.issuer_key()])).unwrap();
    let grant = old.issue(USER, DEVICE, &[], T0, T0 + DAY).unwrap();
    let refused = vault.enroll(PIN.into(), &grant, second.backend.sync_key.clone());
    assert!(matches!(refused, Err(VaultError::GrantInvalid { .. })));
}

#[test]
fn issuer_refuses_bad_requests() {
    let issuer = GrantIssuer::generate("k").unwrap();
    let bad = [
        ("", DEVICE, vec![], T0, T0 + 1),
        (USER, "", vec![], T0, T0 + 1),
        (USER, DEVICE, vec!["two words".to_string()], T0, T0 + 1),
        (USER, DEVICE, vec![String::new()], T0, T0 + 1),
        (USER, DEVICE, vec![], T0, T0),
    ];
    for (user, device, scopes, iat, exp) in bad {
        let result = issuer.issue(user, device, &scopes, iat, exp);
        assert!(matches!(result, Err(BackendError::InvalidInput { .. })), "{user:?} {device:?} {iat} {exp}");
    }
    assert!(matches!(GrantIssuer::generate(""), Err(BackendError::InvalidInput { .. })));
    let same = GrantIssuer::new("k", issuer.private_key().unwrap()).unwrap();
    assert_eq!(same.issuer_key(), issuer.issuer_key());
}

#[test]
fn verified_operations_do_not_print_their_values() {
    let op = offline_auth_backend::SyncOperation::new(
        1,
        T0,
        "g",
        "visits",
        "gate",
        Some(b"gate code 7731".to_vec()),
        [0; 32],
    )
    .with_boots(Some(0));
    let shown = format!("{op:?}");
    assert!(!shown.contains("7731") && !shown.contains("55, 55, 51, 49"), "{shown}");
    assert!(shown.contains("14 bytes redacted"), "{shown}");
}

/// A signer that keeps its key elsewhere (a KMS, an HSM): the issuer asks it
/// for signatures, checks each one against the signer's public key, and
/// cannot export the key.
struct RemoteSigner {
    key: Arc<Ed25519Signer>,
    /// Flips a bit of every signature (a broken or hostile key store).
    corrupt: bool,
}

impl GrantSigner for RemoteSigner {
    fn kid(&self) -> String {
        self.key.kid()
    }
    fn public_key(&self) -> Vec<u8> {
        self.key.public_key()
    }
    fn sign(&self, message: Vec<u8>) -> Result<Vec<u8>, BackendError> {
        let mut signature = self.key.sign(message)?;
        if self.corrupt {
            signature[0] ^= 1;
        }
        Ok(signature)
    }
}

#[test]
fn grants_signed_through_an_external_signer_verify_and_bad_signatures_never_leave_the_issuer() {
    let key = Ed25519Signer::generate("kms-1").unwrap();
    let issuer =
        GrantIssuer::with_signer(Arc::new(RemoteSigner { key: key.clone(), corrupt: false }), IssuerOptions::default())
            .unwrap();
    let grant = issuer.issue(USER, DEVICE, &["visits".to_owned()], T0, T0 + DAY).unwrap();
    assert_eq!(verify_grant(&grant, &[issuer.issuer_key()]).unwrap().kid, "kms-1");
    assert!(matches!(issuer.private_key(), Err(BackendError::InvalidInput { .. })));

    let broken =
        GrantIssuer::with_signer(Arc::new(RemoteSigner { key, corrupt: true }), IssuerOptions::default()).unwrap();
    let refused = broken.issue(USER, DEVICE, &["visits".to_owned()], T0, T0 + DAY);
    assert!(matches!(refused, Err(BackendError::Signer { .. })), "{refused:?}");
}
