//! `GET /.well-known/jwks.json` serves the issuer's public key set, with a
//! `Cache-Control` that bounds how long a verifier keeps it (the rotation
//! in DEPLOYMENT.md relies on that bound): the device SDK parses it and
//! accepts the grants this server issues with it, and a set with another
//! key under the same `kid` does not.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use crate::common;

use std::time::Duration;

use offline_auth::{issuer_keys_from_jwks, PinVault, SoftwareKeystore, VaultConfig};
use offline_auth_server::{LocalServer, JWKS_MAX_AGE_SECS};
use serde_json::json;

/// Enrols `device_id` into a fresh vault that trusts `jwks`, with a grant from the server.
fn enrol_with(jwks: &str, grant: &str, sync_key: Vec<u8>, device_id: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db").to_string_lossy().into_owned();
    let keys = issuer_keys_from_jwks(jwks).unwrap();
    let vault = PinVault::open(path, SoftwareKeystore::new(), VaultConfig::new(device_id, keys)).unwrap();
    vault.enroll(common::PIN.into(), grant, sync_key).map(drop).map_err(|error| error.to_string())
}

#[test]
fn the_well_known_jwks_verifies_the_grants_the_server_issues() {
    let dir = tempfile::tempdir().unwrap();
    let server = LocalServer::start(&dir.path().join("server.db")).unwrap();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let mut response = agent.get(&server.url("/.well-known/jwks.json")).call().unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    assert_eq!(header("cache-control"), format!("public, max-age={JWKS_MAX_AGE_SECS}"));
    assert_eq!(header("content-type"), "application/jwk-set+json");
    let jwks = response.body_mut().read_to_string().unwrap();
    let set: serde_json::Value = serde_json::from_str(&jwks).unwrap();
    assert_eq!(set["keys"].as_array().unwrap().len(), 1, "the server holds one issuer key: {set}");

    let (user, password) = common::USERS[0];
    let credentials = json!({"user": user, "password": password, "device_id": "jwks-1"}).to_string();
    let (status, enrolment) = server.post_json("/enroll", credentials.as_bytes()).unwrap();
    assert_eq!(status, 200, "{enrolment}");
    assert_eq!(enrolment["jwks"], set, "enrolment and the well-known path give the same set");
    let grant = enrolment["grant"].as_str().unwrap();
    let sync_key = hex::decode(enrolment["sync_key"].as_str().unwrap()).unwrap();

    // Another key under the same kid: the grant's signature is what is checked.
    let stranger = offline_auth_backend::GrantIssuer::generate(set["keys"][0]["kid"].as_str().unwrap()).unwrap();
    let other = offline_auth_backend::jwks_from_issuer_keys(&[stranger.issuer_key()]).unwrap();
    let refused = enrol_with(&other, grant, sync_key.clone(), "jwks-1").expect_err("a grant verified with another key");
    assert!(refused.contains("signature does not verify"), "{refused}");

    enrol_with(&jwks, grant, sync_key, "jwks-1").unwrap();
    server.stop().unwrap();
}
