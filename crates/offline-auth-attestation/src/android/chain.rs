//! Parsing the chain (bounded) and validating it: the second of the three
//! places. The path is short and fixed in shape (leaf, then each issuer up
//! to a root), so the checks are written out here over `x509-cert` types
//! and RustCrypto signature crates; see `docs/decisions/0008` for why not
//! `rustls-webpki`.
//!
//! For each certificate `i` (0 = leaf) issued by `i + 1`:
//! - sizes are checked before decoding ([`MAX_CHAIN_LEN`], [`MAX_CERTIFICATE_LEN`]);
//! - DER with nothing trailing; no extension twice; no unknown critical one;
//!   the key description only in the leaf;
//! - `issuer(i) == subject(i + 1)`, the outer and inner signature algorithms
//!   agree, and the signature verifies under `i + 1`'s key
//!   (ECDSA P-256/P-384 with SHA-256/384/512, RSA PKCS#1 v1.5 of at least
//!   2048 bits with SHA-256/384/512);
//! - every issuer is a CA (basic constraints `cA`, key usage `keyCertSign`
//!   when present, path length respected);
//! - every certificate is valid at the given time;
//! - no serial is revoked;
//! - the top certificate's key is a trust anchor.
//!
//! The checks run in chain order and stop at the first failure, so each
//! refusal names one reason.

use std::time::{Duration, SystemTime};

use const_oid::ObjectIdentifier;
use der::{Decode, Encode};
use sha2::{Digest, Sha256, Sha384, Sha512};
use spki::DecodePublicKey;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages};
use x509_cert::Certificate;

use super::key_description::KEY_DESCRIPTION_OID;
use crate::limits::{MAX_CERTIFICATE_LEN, MAX_CHAIN_LEN};
use crate::refusal::Refusal;
use crate::trust::{serial_hex, RevokedSerials, TrustAnchors};

const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const ECDSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.4");
const RSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const RSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const RSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
const KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");

/// Smallest RSA modulus accepted, in bytes (2048 bits).
const MIN_RSA_BYTES: usize = 256;

/// A decoded chain whose sizes and extension structure are checked; not yet validated.
#[derive(Debug)]
pub struct ParsedChain {
    certs: Vec<Certificate>,
    /// The key description extension's value from the leaf.
    key_description: Vec<u8>,
}

impl ParsedChain {
    /// The leaf's key description, as DER (the extension's OCTET STRING content).
    pub fn key_description_der(&self) -> &[u8] {
        &self.key_description
    }

    /// The attested key: the leaf's `SubjectPublicKeyInfo` as DER.
    ///
    /// # Errors
    /// [`Refusal::MalformedCertificate`] if it cannot be re-encoded.
    pub fn leaf_spki_der(&self) -> Result<Vec<u8>, Refusal> {
        self.certs
            .first()
            .ok_or(Refusal::EmptyChain)?
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .map_err(|_| Refusal::MalformedCertificate { index: 0 })
    }

    /// How many certificates.
    pub fn len(&self) -> usize {
        self.certs.len()
    }

    /// Whether there is none (never, once parsed).
    pub fn is_empty(&self) -> bool {
        self.certs.is_empty()
    }
}

/// Decodes a chain given leaf first, checking every bound before decoding.
///
/// # Errors
/// [`Refusal::EmptyChain`], [`Refusal::ChainTooLong`],
/// [`Refusal::CertificateTooLarge`], [`Refusal::MalformedCertificate`],
/// [`Refusal::DuplicateExtension`], [`Refusal::UnknownCriticalExtension`],
/// [`Refusal::MissingKeyDescription`], [`Refusal::KeyDescriptionNotInLeaf`].
pub fn parse_chain<C: AsRef<[u8]>>(chain: &[C]) -> Result<ParsedChain, Refusal> {
    if chain.is_empty() {
        return Err(Refusal::EmptyChain);
    }
    if chain.len() > MAX_CHAIN_LEN {
        return Err(Refusal::ChainTooLong { len: chain.len(), max: MAX_CHAIN_LEN });
    }
    for (index, der) in chain.iter().enumerate() {
        let len = der.as_ref().len();
        if len > MAX_CERTIFICATE_LEN {
            return Err(Refusal::CertificateTooLarge { index, len, max: MAX_CERTIFICATE_LEN });
        }
    }
    let mut certs = Vec::with_capacity(chain.len());
    let mut key_description = None;
    for (index, der) in chain.iter().enumerate() {
        let cert = Certificate::from_der(der.as_ref()).map_err(|_| Refusal::MalformedCertificate { index })?;
        let extensions = cert.tbs_certificate().extensions().map(|e| e.as_slice()).unwrap_or(&[]);
        for (n, ext) in extensions.iter().enumerate() {
            if extensions.iter().skip(n + 1).any(|other| other.extn_id == ext.extn_id) {
                return Err(Refusal::DuplicateExtension { index });
            }
            if ext.extn_id == KEY_DESCRIPTION_OID {
                if index != 0 {
                    return Err(Refusal::KeyDescriptionNotInLeaf { index });
                }
                key_description = Some(ext.extn_value.as_bytes().to_vec());
            } else if ext.critical && ext.extn_id != BASIC_CONSTRAINTS && ext.extn_id != KEY_USAGE {
                return Err(Refusal::UnknownCriticalExtension { index });
            }
        }
        certs.push(cert);
    }
    let key_description = key_description.ok_or(Refusal::MissingKeyDescription)?;
    Ok(ParsedChain { certs, key_description })
}

/// Validates a parsed chain against the anchors, the revoked serials and the time.
///
/// # Errors
/// The first failing check's [`Refusal`] (see the module essay for the order).
pub fn validate_chain(
    chain: &ParsedChain,
    anchors: &TrustAnchors,
    revoked: &RevokedSerials,
    at: SystemTime,
) -> Result<(), Refusal> {
    let now = at.duration_since(SystemTime::UNIX_EPOCH).unwrap_or(Duration::ZERO);
    for (index, cert) in chain.certs.iter().enumerate() {
        let tbs = cert.tbs_certificate();
        if revoked.contains_serial_bytes(tbs.serial_number().as_bytes()) {
            return Err(Refusal::Revoked { index, serial_hex: serial_hex(tbs.serial_number().as_bytes()) });
        }
        let validity = tbs.validity();
        if now < validity.not_before.to_unix_duration() || now > validity.not_after.to_unix_duration() {
            return Err(Refusal::NotValidAtTime { index });
        }
        if index > 0 {
            check_ca(cert, index)?;
        }
        if let Some(issuer) = chain.certs.get(index + 1) {
            if tbs.issuer() != issuer.tbs_certificate().subject() {
                return Err(Refusal::IssuerMismatch { index });
            }
            verify_signature(cert, issuer, index)?;
        }
    }
    let top = chain.certs.last().ok_or(Refusal::EmptyChain)?;
    let top_key = top
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(|_| Refusal::MalformedCertificate { index: chain.certs.len() - 1 })?;
    if !anchors.contains_key(&top_key) {
        return Err(Refusal::UntrustedRoot);
    }
    Ok(())
}

/// Certificate `index` (above the leaf) may issue: `cA` set, `keyCertSign`
/// if key usage is present, and at most `pathLenConstraint` CA certificates
/// below it (the leaf is not counted).
fn check_ca(cert: &Certificate, index: usize) -> Result<(), Refusal> {
    let tbs = cert.tbs_certificate();
    let not_ca = Refusal::NotACa { index };
    let (_, bc) = tbs
        .get_extension::<BasicConstraints>()
        .map_err(|_| Refusal::MalformedCertificate { index })?
        .ok_or(not_ca.clone())?;
    if !bc.ca {
        return Err(not_ca);
    }
    if let Some(max) = bc.path_len_constraint {
        if index - 1 > usize::from(max) {
            return Err(not_ca);
        }
    }
    if let Some((_, ku)) = tbs.get_extension::<KeyUsage>().map_err(|_| Refusal::MalformedCertificate { index })? {
        if !ku.0.contains(KeyUsages::KeyCertSign) {
            return Err(not_ca);
        }
    }
    Ok(())
}

/// Verifies `cert`'s signature under `issuer`'s key.
fn verify_signature(cert: &Certificate, issuer: &Certificate, index: usize) -> Result<(), Refusal> {
    let unsupported = Refusal::UnsupportedAlgorithm { index };
    let bad = Refusal::BadSignature { index };
    let alg = cert.signature_algorithm();
    if alg != cert.tbs_certificate().signature() {
        return Err(unsupported);
    }
    let tbs = cert.tbs_certificate().to_der().map_err(|_| Refusal::MalformedCertificate { index })?;
    let signature = cert.signature().as_bytes().ok_or(bad.clone())?;
    let spki = issuer.tbs_certificate().subject_public_key_info();
    let spki_der = spki.to_der().map_err(|_| Refusal::MalformedCertificate { index: index + 1 })?;
    let curve = spki.algorithm.parameters.as_ref().and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
    let key_alg = (spki.algorithm.oid, curve);

    let digest = match alg.oid {
        ECDSA_SHA256 | RSA_SHA256 => Sha256::digest(&tbs).to_vec(),
        ECDSA_SHA384 | RSA_SHA384 => Sha384::digest(&tbs).to_vec(),
        ECDSA_SHA512 | RSA_SHA512 => Sha512::digest(&tbs).to_vec(),
        _ => return Err(unsupported),
    };
    let is_ecdsa = matches!(alg.oid, ECDSA_SHA256 | ECDSA_SHA384 | ECDSA_SHA512);

    match (key_alg, is_ecdsa) {
        ((EC_PUBLIC_KEY, Some(P256)), true) => {
            use p256::ecdsa::signature::hazmat::PrehashVerifier;
            let key = p256::ecdsa::VerifyingKey::from_public_key_der(&spki_der).map_err(|_| bad.clone())?;
            let sig = p256::ecdsa::Signature::from_der(signature).map_err(|_| bad.clone())?;
            key.verify_prehash(&digest, &sig).map_err(|_| bad)
        }
        ((EC_PUBLIC_KEY, Some(P384)), true) => {
            use p384::ecdsa::signature::hazmat::PrehashVerifier;
            let key = p384::ecdsa::VerifyingKey::from_public_key_der(&spki_der).map_err(|_| bad.clone())?;
            let sig = p384::ecdsa::Signature::from_der(signature).map_err(|_| bad.clone())?;
            key.verify_prehash(&digest, &sig).map_err(|_| bad)
        }
        ((RSA_ENCRYPTION, _), false) => {
            use rsa::traits::PublicKeyParts;
            let key = rsa::PublicKey::from_public_key_der(&spki_der).map_err(|_| bad.clone())?;
            if key.size() < MIN_RSA_BYTES {
                return Err(unsupported);
            }
            let scheme = match alg.oid {
                RSA_SHA256 => rsa::Pkcs1v15Sign::new::<Sha256>(),
                RSA_SHA384 => rsa::Pkcs1v15Sign::new::<Sha384>(),
                _ => rsa::Pkcs1v15Sign::new::<Sha512>(),
            };
            key.verify(scheme, &digest, signature).map_err(|_| bad)
        }
        _ => Err(unsupported),
    }
}
