//! Grant interoperability with a stock JOSE library, both ways (issue 4):
//! PyJWT signs grants the device accepts, PyJWT verifies grants our
//! `GrantIssuer` signs (through the published JWKS), and the classic attacks
//! built with PyJWT are refused.
//!
//! Needs `python3` with PyJWT and cryptography (`scripts/test.sh` installs
//! them). Without them the test is skipped with a message, unless
//! `OFFLINE_AUTH_REQUIRE_INTEROP=1` (set by the test script and CI), where it fails.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)] // a panic is how a test fails

mod common;

use std::io::Write as _;
use std::process::{Command, Stdio};

use common::*;
use offline_auth::{jwks_from_issuer_keys, VaultError};
use serde_json::{json, Value};

fn pyjwt_available() -> bool {
    let found = Command::new("python3").args(["-c", "import jwt, cryptography"]).status().is_ok_and(|s| s.success());
    if !found && std::env::var("OFFLINE_AUTH_REQUIRE_INTEROP").as_deref() == Ok("1") {
        panic!("python3 with PyJWT and cryptography is required (pip install pyjwt cryptography)");
    }
    if !found {
        eprintln!("SKIPPED: python3 with PyJWT and cryptography not found");
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
fn pyjwt_and_offline_auth_understand_each_other() {
    if !pyjwt_available() {
        return;
    }
    let device = Device::new();
    let issuer = &device.backend.issuer;
    let claims = json!({"sub": USER, "dev": DEVICE, "iat": T0, "exp": T0 + DAY, "scope": ["visits"], "jti": "py-1"});
    let rust_token =
        issuer.issue(USER.into(), DEVICE.into(), vec!["visits".into(), "notes".into()], T0, T0 + DAY).unwrap();
    let jwks: Value = serde_json::from_str(&jwks_from_issuer_keys(vec![issuer.issuer_key()]).unwrap()).unwrap();
    let answer = run_pyjwt(&json!({
        "private_key_hex": hex::encode(issuer.private_key()),
        "kid": issuer.kid(),
        "claims": claims,
        "other_device": "device-2",
        "jwks": jwks,
        "rust_token": rust_token,
        "now": T0 + HOUR,
    }));

    // Ours → PyJWT: the signature verifies with the JWKS and the claims read back.
    assert_eq!(answer["rust_header"]["alg"], "EdDSA");
    assert_eq!(answer["rust_header"]["kid"], "k1");
    let read = &answer["rust_claims"];
    assert_eq!((read["sub"].as_str(), read["dev"].as_str()), (Some(USER), Some(DEVICE)));
    assert_eq!((read["iat"].as_i64(), read["exp"].as_i64()), (Some(T0), Some(T0 + DAY)));
    assert_eq!(read["scope"], json!(["visits", "notes"]));
    assert_eq!(answer["rust_valid_at_now"], json!(true), "inside its window at the test's time");
    assert_eq!(answer["rust_valid_at_exp"], json!(false), "expired at its own exp");

    // The attacks, each refused with a typed error and nothing enrolled.
    for attack in ["none", "hs256_public_key", "unknown_kid", "other_device"] {
        let vault = device.open();
        let token = answer[attack].as_str().unwrap().to_owned();
        let refused = vault.enroll(PIN.into(), token, device.backend.sync_key.clone());
        assert!(matches!(refused, Err(VaultError::GrantInvalid { .. })), "{attack}: {refused:?}");
        assert!(!vault.is_enrolled().unwrap());
    }

    // PyJWT → device: a grant signed by the stock library is accepted.
    let vault = device.open();
    let session =
        vault.enroll(PIN.into(), answer["eddsa"].as_str().unwrap().into(), device.backend.sync_key.clone()).unwrap();
    assert_eq!(session.user_id().unwrap(), USER);
    assert_eq!(session.scopes().unwrap(), ["visits"]);
    assert_eq!(session.expires_at().unwrap(), T0 + DAY);
}
