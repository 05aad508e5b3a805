//! Parsing the chain (bounded) and validating it: the second of the three
//! places. The bounds, the extension rules and the path validation are the
//! crate's shared ones (`crate::path`: `rustls-webpki` over RustCrypto
//! signature algorithms, see `docs/decisions/0009-attestation-verifier-crate.md`);
//! this module adds what an Android leaf carries.
//!
//! Parse, for the chain given leaf first:
//! - sizes are checked before decoding ([`crate::MAX_CHAIN_LEN`], [`crate::MAX_CERTIFICATE_LEN`]);
//! - each certificate is DER X.509 with nothing trailing (`x509-cert`);
//!   no extension twice; no critical extension other than basic
//!   constraints and key usage; the key description in the leaf only.
//!
//! Validate, at the time given:
//! - no serial is in the revoked set (Google's status list names serials,
//!   not CRLs, so this is a set lookup over every certificate given);
//! - `rustls-webpki` builds the path from the leaf through the given
//!   certificates to one of the anchors: each signature by its issuer's
//!   key, names chained, issuers are CAs within their path length, every
//!   certificate valid at the time, no unknown critical extension, bounded
//!   path depth and signature checks. The leaf's extended key usage is not
//!   required (Android leaves carry none).

use std::time::SystemTime;

use der::{Decode, Encode};
use x509_cert::Certificate;

use super::key_description::KEY_DESCRIPTION_OID;
use crate::path::{self, BASIC_CONSTRAINTS, KEY_USAGE};
use crate::refusal::Refusal;
use crate::trust::{RevokedSerials, TrustAnchors};

/// A decoded chain whose sizes and extension structure are checked; not yet validated.
#[derive(Debug)]
pub struct ParsedChain {
    certs: Vec<Certificate>,
    /// The same certificates as given (for path validation).
    ders: Vec<Vec<u8>>,
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
    path::check_bounds(chain)?;
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
    let ders = chain.iter().map(|c| c.as_ref().to_vec()).collect();
    Ok(ParsedChain { certs, ders, key_description })
}

/// Validates a parsed chain against the anchors, the revoked serials and the time.
///
/// # Errors
/// [`Refusal::Revoked`] first, then what path validation found:
/// [`Refusal::NotValidAtTime`], [`Refusal::BadSignature`],
/// [`Refusal::UnsupportedAlgorithm`], [`Refusal::NotACa`],
/// [`Refusal::UntrustedRoot`] (no path from the leaf to an anchor, which
/// includes names that do not chain) or [`Refusal::PathRefused`].
pub fn validate_chain(
    chain: &ParsedChain,
    anchors: &TrustAnchors,
    revoked: &RevokedSerials,
    at: SystemTime,
) -> Result<(), Refusal> {
    path::validate(&chain.certs, &chain.ders, anchors, revoked, at)
}
