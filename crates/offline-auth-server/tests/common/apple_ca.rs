//! App Attest objects and assertions from our own test CA (the root of
//! `attest_ca`, an intermediate, a leaf with the nonce extension): the
//! attestation crate's own (`crates/offline-auth-attestation/tests/common/apple_ca.rs`),
//! copied so the server's tests enrol App Attest devices its test
//! configuration trusts. Include it beside `attest_ca` (`#[path]`).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use ciborium::Value;
use der::asn1::OctetString;
use der::{Encode, Sequence};
use offline_auth_attestation::apple::NONCE_OID;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use sha2::{Digest, Sha256};
use x509_cert::ext::Extension;

use crate::attest_ca::{self as ca, CA_FROM, CA_UNTIL, ROOT_NAME};

pub const APP_ID: &str = "ABCDE12345.org.example.fieldapp";
pub const AAGUID_PRODUCTION: [u8; 16] = *b"appattest\0\0\0\0\0\0\0";
pub const AAGUID_DEVELOPMENT: [u8; 16] = *b"appattestdevelop";
/// The device's App Attest key (seed 7 of the test CA's key family).
pub const DEVICE_KEY_SEED: u8 = 7;

/// What the server's challenge and enrolment request hash to.
pub fn client_data_hash() -> Vec<u8> {
    Sha256::digest(b"server challenge 0001 + enrolment request").to_vec()
}

#[derive(Sequence)]
struct Nonce {
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT")]
    nonce: OctetString,
}

/// One attestation object to make.
#[derive(Clone)]
pub struct AppleSpec {
    pub fmt: String,
    /// The client data hash the leaf's nonce covers.
    pub client_data_hash: Vec<u8>,
    /// The App ID whose hash is the RP ID hash.
    pub app_id: String,
    pub counter: u32,
    pub aaguid: [u8; 16],
    /// The credential id written in the authenticator data (default: the key id).
    pub credential_id: Option<Vec<u8>>,
    pub root_seed: u8,
    /// The name of the root that issued the intermediate.
    pub root_name: String,
    /// The leaf's validity, Unix seconds.
    pub leaf_validity: (u64, u64),
    /// No nonce extension in the leaf.
    pub no_nonce: bool,
}

impl Default for AppleSpec {
    fn default() -> Self {
        Self {
            fmt: "apple-appattest".to_owned(),
            client_data_hash: client_data_hash(),
            app_id: APP_ID.to_owned(),
            counter: 0,
            aaguid: AAGUID_PRODUCTION,
            credential_id: None,
            root_seed: 3,
            root_name: ROOT_NAME.to_owned(),
            leaf_validity: (CA_FROM, CA_UNTIL),
            no_nonce: false,
        }
    }
}

pub fn device_key() -> SigningKey {
    ca::key(DEVICE_KEY_SEED)
}

/// The device key's uncompressed point and its key id (SHA-256 of the point).
pub fn device_point_and_key_id() -> (Vec<u8>, Vec<u8>) {
    let point = device_key().verifying_key().to_sec1_point(false).as_bytes().to_vec();
    let key_id = Sha256::digest(&point).to_vec();
    (point, key_id)
}

pub fn auth_data(spec: &AppleSpec) -> Vec<u8> {
    let (_, key_id) = device_point_and_key_id();
    let credential_id = spec.credential_id.clone().unwrap_or(key_id);
    let mut d = Sha256::digest(spec.app_id.as_bytes()).to_vec();
    d.push(0x40);
    d.extend_from_slice(&spec.counter.to_be_bytes());
    d.extend_from_slice(&spec.aaguid);
    d.extend_from_slice(&u16::try_from(credential_id.len()).unwrap().to_be_bytes());
    d.extend_from_slice(&credential_id);
    // A COSE EC2 key header (not read by the verifier: the leaf carries the key).
    d.extend_from_slice(&[0xa1, 0x01, 0x02]);
    d
}

/// `[leaf, intermediate]` (the root is the anchor, not sent, as Apple does).
pub fn x5c(spec: &AppleSpec, auth_data: &[u8]) -> Vec<Vec<u8>> {
    let root_key = ca::key(spec.root_seed);
    let inter_key = ca::key(2);
    let nonce: Vec<u8> = Sha256::new().chain_update(auth_data).chain_update(&spec.client_data_hash).finalize().to_vec();
    let mut leaf_ext = Vec::new();
    if !spec.no_nonce {
        leaf_ext.push(Extension {
            extn_id: NONCE_OID,
            critical: false,
            extn_value: OctetString::new(Nonce { nonce: OctetString::new(nonce).unwrap() }.to_der().unwrap()).unwrap(),
        });
    }
    let leaf = ca::sign(
        0x41,
        "CN=Test App Attestation CA 1",
        "CN=Test App Attest Key",
        spec.leaf_validity,
        &ca::spki(&device_key()),
        leaf_ext,
        &inter_key,
    );
    let inter = ca::sign(
        0x42,
        &spec.root_name,
        "CN=Test App Attestation CA 1",
        (CA_FROM, CA_UNTIL),
        &ca::spki(&inter_key),
        vec![ca::basic_constraints(true)],
        &root_key,
    );
    vec![leaf, inter]
}

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

pub fn encode(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::ser::into_writer(value, &mut out).unwrap();
    out
}

/// The attestation object's CBOR for `spec`.
pub fn attestation(spec: &AppleSpec) -> Vec<u8> {
    let data = auth_data(spec);
    let certs = x5c(spec, &data).into_iter().map(Value::Bytes).collect();
    encode(&Value::Map(vec![
        (text("fmt"), text(&spec.fmt)),
        (
            text("attStmt"),
            Value::Map(vec![(text("x5c"), Value::Array(certs)), (text("receipt"), Value::Bytes(vec![0x30, 0x00]))]),
        ),
        (text("authData"), Value::Bytes(data)),
    ]))
}

/// An assertion by `key` over `client_data` for `app_id` with `counter`.
pub fn assertion(key: &SigningKey, client_data: &[u8], app_id: &str, counter: u32) -> Vec<u8> {
    let mut data = Sha256::digest(app_id.as_bytes()).to_vec();
    data.push(0x40);
    data.extend_from_slice(&counter.to_be_bytes());
    let nonce = Sha256::new().chain_update(&data).chain_update(Sha256::digest(client_data)).finalize();
    let signature: Signature = key.sign(&nonce);
    encode(&Value::Map(vec![
        (text("signature"), Value::Bytes(signature.to_der().as_bytes().to_vec())),
        (text("authenticatorData"), Value::Bytes(data)),
    ]))
}
