//! Grant interoperability with two stock JOSE libraries, both ways: PyJWT and
//! joserfc sign grants the device accepts (under both names of the algorithm,
//! `EdDSA` and `Ed25519`), both verify grants our `GrantIssuer` signs (through
//! the published JWKS), and the classic attacks built with PyJWT — and a JWT
//! signed for another purpose — are refused.
//!
//! Needs `python3` with PyJWT, joserfc and cryptography (`scripts/test.sh`
//! installs them). Without them the test is skipped with a message, unless
//! `OFFLINE_AUTH_REQUIRE_INTEROP=1` (set by the test script and CI), where it fails.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)] // a panic is how a test fails

use crate::common;

use std::io::Write as _;
use std::process::{Command, Stdio};

use common::*;
use offline_auth::{VaultError, GRANT_TYP};
use offline_auth_backend::{jwks_from_issuer_keys, GrantIssuer, IssuerOptions};
use serde_json::{json, Value};

fn pyjwt_available() -> bool {
    let found =
        Command::new("python3").args(["-c", "import jwt, joserfc, cryptography"]).status().is_ok_and(|s| s.success());
    if !found && std::env::var("OFFLINE_AUTH_REQUIRE_INTEROP").as_deref() == Ok("1") {
        panic!(
            "python3 with PyJWT, joserfc and cryptography is required (pip install -r tests/interop/requirements.txt)"
        );
    }
    if !found {
        eprintln!("SKIPPED: python3 with PyJWT, joserfc and cryptography not found");
    }
    found
}

fn run_pyjwt(request: &Value) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/pyjwt_interop.py");
    let mut child = Command::new("python3").arg(script).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(request.to_string().as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "the PyJWT side failed");
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn pyjwt_joserfc_and_offline_auth_understand_each_other() {
    if !pyjwt_available() {
        return;
    }
    let device = Device::new();
    let issuer = &device.backend.issuer;
    let claims = json!({"sub": USER, "dev": DEVICE, "iat": T0, "exp": T0 + DAY, "scope": ["visits"], "jti": "py-1"});
    let scopes = vec!["visits".to_owned(), "notes".to_owned()];
    let eddsa = issuer.issue(USER, DEVICE, &scopes, T0, T0 + DAY).unwrap();
    let options = IssuerOptions::default().with_algorithm("Ed25519");
    let ed25519 = GrantIssuer::with_options(&issuer.kid(), issuer.private_key().unwrap(), options)
        .unwrap()
        .issue(USER, DEVICE, &scopes, T0, T0 + DAY)
        .unwrap();
    let jwks: Value = serde_json::from_str(&jwks_from_issuer_keys(&[issuer.issuer_key()]).unwrap()).unwrap();
    let answer = run_pyjwt(&json!({
        "private_key_hex": hex::encode(issuer.private_key().unwrap()),
        "kid": issuer.kid(),
        "claims": claims,
        "other_device": "device-2",
        "jwks": jwks,
        "rust_tokens": {"EdDSA": eddsa, "Ed25519": ed25519},
        "now": T0 + HOUR,
    }));

    // Ours -> PyJWT and joserfc: the signature verifies with the JWKS and the claims read back.
    for alg in ["EdDSA", "Ed25519"] {
        let read = &answer["read"][alg];
        assert_eq!(read["header"]["alg"], alg);
        assert_eq!(read["header"]["typ"], GRANT_TYP);
        assert_eq!(read["header"]["kid"], "k1");
        assert_eq!(read["joserfc_header"]["typ"], GRANT_TYP);
        for library in ["pyjwt_claims", "joserfc_claims"] {
            let claims = &read[library];
            assert_eq!((claims["sub"].as_str(), claims["dev"].as_str()), (Some(USER), Some(DEVICE)), "{alg} {library}");
            assert_eq!((claims["iat"].as_i64(), claims["exp"].as_i64()), (Some(T0), Some(T0 + DAY)));
            assert_eq!(claims["scope"], json!(["visits", "notes"]));
        }
        assert_eq!(read["valid_at_now"], json!(true), "inside its window at the test's time");
        assert_eq!(read["valid_at_exp"], json!(false), "expired at its own exp");
    }

    // The attacks, each refused with a typed error and nothing enrolled.
    for attack in ["none", "hs256_public_key", "unknown_kid", "other_device", "untyped"] {
        let vault = device.open();
        let token = answer[attack].as_str().unwrap().to_owned();
        let refused = vault.enroll(PIN.into(), &token, device.backend.sync_key.clone());
        assert!(matches!(refused, Err(VaultError::GrantInvalid { .. })), "{attack}: {refused:?}");
        assert!(!vault.is_enrolled().unwrap());
    }

    // PyJWT and joserfc -> device: grants signed by the stock libraries are accepted.
    for made_by in ["eddsa", "ed25519", "joserfc_eddsa", "joserfc_ed25519"] {
        let device = Device { backend: Backend { issuer: issuer.clone(), ..Backend::new() }, ..Device::new() };
        let vault = device.open();
        let grant = answer[made_by].as_str().unwrap();
        let session = vault.enroll(PIN.into(), grant, device.backend.sync_key.clone()).unwrap();
        assert_eq!(session.user_id().unwrap(), USER, "{made_by}");
        assert_eq!(session.scopes().unwrap(), ["visits"]);
        assert_eq!(session.expires_at().unwrap(), T0 + DAY);
    }
}
