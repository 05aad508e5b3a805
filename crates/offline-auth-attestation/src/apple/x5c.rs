//! The `x5c` chain of an attestation object: bounded decoding with the
//! crate's shared rules (`crate::path`), then the leaf's two App Attest
//! facts: the nonce extension and the attested key.
//!
//! The nonce extension (OID 1.2.840.113635.100.8.2) is
//! `SEQUENCE { [1] EXPLICIT OCTET STRING (32 bytes) }`, decoded with `der`
//! derive types, strictly (no trailing byte). It may appear in the leaf
//! only, and only once (a repeated extension is refused with the others).

use std::time::SystemTime;

use const_oid::ObjectIdentifier;
use der::asn1::OctetString;
use der::{Decode, Encode, Sequence};
use x509_cert::Certificate;

use crate::path;
use crate::refusal::Refusal;
use crate::trust::{RevokedSerials, TrustAnchors};

/// OID of App Attest's nonce extension in the credential certificate.
pub const NONCE_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113635.100.8.2");
/// id-ecPublicKey and the P-256 curve, the only key App Attest makes.
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");

#[derive(Sequence)]
struct NonceExtension {
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT")]
    nonce: OctetString,
}

/// A decoded `x5c` whose bounds and extension structure are checked; not yet validated.
#[derive(Debug)]
pub(crate) struct Chain {
    certs: Vec<Certificate>,
    ders: Vec<Vec<u8>>,
    /// The leaf's nonce: SHA-256(authData ‖ clientDataHash) when genuine.
    pub(crate) nonce: [u8; 32],
    /// The attested key: its `SubjectPublicKeyInfo` as DER and its
    /// uncompressed SEC1 point (65 bytes).
    pub(crate) spki_der: Vec<u8>,
    pub(crate) point: Vec<u8>,
}

/// Decodes `x5c` (leaf first), checking every bound before decoding.
pub(crate) fn parse(x5c: Vec<Vec<u8>>) -> Result<Chain, Refusal> {
    path::check_bounds(&x5c)?;
    let mut certs = Vec::with_capacity(x5c.len());
    for (index, der) in x5c.iter().enumerate() {
        certs.push(path::decode_certificate(der, index)?);
    }
    let mut nonce = None;
    for (index, cert) in certs.iter().enumerate() {
        let extensions = cert.tbs_certificate().extensions().map(|e| e.as_slice()).unwrap_or(&[]);
        if let Some(ext) = extensions.iter().find(|e| e.extn_id == NONCE_OID) {
            if index != 0 {
                return Err(Refusal::MalformedNonce);
            }
            nonce = Some(decode_nonce(ext.extn_value.as_bytes())?);
        }
    }
    let nonce = nonce.ok_or(Refusal::MissingNonce)?;
    let leaf = certs.first().ok_or(Refusal::EmptyChain)?;
    let spki = leaf.tbs_certificate().subject_public_key_info();
    let curve = spki.algorithm.parameters.as_ref().and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
    if spki.algorithm.oid != EC_PUBLIC_KEY || curve != Some(P256) {
        return Err(Refusal::UnsupportedKey);
    }
    let point = spki.subject_public_key.as_bytes().ok_or(Refusal::UnsupportedKey)?.to_vec();
    if point.len() != 65 || p256::PublicKey::from_sec1_bytes(&point).is_err() {
        return Err(Refusal::UnsupportedKey);
    }
    let spki_der = spki.to_der().map_err(|_| Refusal::MalformedCertificate { index: 0 })?;
    Ok(Chain { certs, ders: x5c, nonce, spki_der, point })
}

fn decode_nonce(value: &[u8]) -> Result<[u8; 32], Refusal> {
    let ext = NonceExtension::from_der(value).map_err(|_| Refusal::MalformedNonce)?;
    ext.nonce.as_bytes().try_into().map_err(|_| Refusal::MalformedNonce)
}

/// Validates the chain to the anchors at `at` (revoked serials first).
pub(crate) fn validate(
    chain: &Chain,
    anchors: &TrustAnchors,
    revoked: &RevokedSerials,
    at: SystemTime,
) -> Result<(), Refusal> {
    path::validate(&chain.certs, &chain.ders, anchors, revoked, at)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_of_another_length_or_with_trailing_bytes_is_refused() {
        let good = NonceExtension { nonce: OctetString::new([7u8; 32]).unwrap() }.to_der().unwrap();
        assert_eq!(decode_nonce(&good), Ok([7u8; 32]));
        let short = NonceExtension { nonce: OctetString::new([7u8; 31]).unwrap() }.to_der().unwrap();
        assert_eq!(decode_nonce(&short), Err(Refusal::MalformedNonce));
        let mut trailing = good.clone();
        trailing.push(0);
        assert_eq!(decode_nonce(&trailing), Err(Refusal::MalformedNonce));
    }
}
