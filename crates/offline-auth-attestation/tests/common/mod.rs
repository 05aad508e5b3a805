//! Shared test helpers: PEM reading and the copied test vectors.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use base64::Engine;
use der::Decode;
use offline_auth_attestation::TrustAnchors;
use x509_cert::Certificate;

pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/android")
}

/// DER certificates from PEM text, in file order.
pub fn pem_certs(text: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut body = None::<String>;
    for line in text.lines() {
        let line = line.trim();
        if line == "-----BEGIN CERTIFICATE-----" {
            body = Some(String::new());
        } else if line == "-----END CERTIFICATE-----" {
            let b = body.take().unwrap();
            out.push(base64::engine::general_purpose::STANDARD.decode(b).unwrap());
        } else if let Some(b) = body.as_mut() {
            b.push_str(line);
        }
    }
    out
}

/// A vector's chain, leaf first.
pub fn chain(name: &str) -> Vec<Vec<u8>> {
    pem_certs(&std::fs::read_to_string(data_dir().join(format!("{name}.pem"))).unwrap())
}

/// A vector's expected values.
pub fn expected(name: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(data_dir().join(format!("{name}.json"))).unwrap()).unwrap()
}

/// Google's roots, from the copied `roots.json` (a JSON array of PEM strings).
pub fn google_roots() -> Vec<Vec<u8>> {
    let roots: Vec<String> =
        serde_json::from_str(&std::fs::read_to_string(data_dir().join("roots.json")).unwrap()).unwrap();
    roots.iter().flat_map(|pem| pem_certs(pem)).collect()
}

pub fn google_anchors() -> TrustAnchors {
    let roots = google_roots();
    TrustAnchors::from_der_certificates(roots.iter().map(Vec::as_slice)).unwrap()
}

/// (latest notBefore, earliest notAfter) over a chain, as Unix durations.
pub fn validity_window(chain: &[Vec<u8>]) -> (Duration, Duration) {
    let mut start = Duration::ZERO;
    let mut end = Duration::MAX;
    for der in chain {
        let cert = Certificate::from_der(der).unwrap();
        let v = cert.tbs_certificate().validity();
        start = start.max(v.not_before.to_unix_duration());
        end = end.min(v.not_after.to_unix_duration());
    }
    assert!(start < end, "the chain has no common validity window");
    (start, end)
}

/// A time inside every certificate's validity: one hour after the latest
/// notBefore (never today's date).
pub fn time_inside(chain: &[Vec<u8>]) -> SystemTime {
    let (start, end) = validity_window(chain);
    let at = (start + Duration::from_secs(3600)).min(end);
    SystemTime::UNIX_EPOCH + at
}

pub fn b64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}
pub mod apple_ca;
pub mod ca;
