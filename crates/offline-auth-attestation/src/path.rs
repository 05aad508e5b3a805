//! The chain checks both platforms share: bounded decoding of a certificate
//! list, the extension rules every certificate must meet, and path
//! validation by `rustls-webpki` to the given anchors at the given time
//! (see `docs/decisions/0009-attestation-verifier-crate.md`). Android's
//! `chain` and Apple's `x5c` each add what their leaf carries.
//!
//! - sizes are checked before decoding ([`MAX_CHAIN_LEN`], [`MAX_CERTIFICATE_LEN`]);
//! - each certificate is DER X.509 with nothing trailing (`x509-cert`);
//!   no extension twice; no critical extension other than basic
//!   constraints and key usage;
//! - no serial is in the revoked set, then `rustls-webpki` builds the path
//!   from the leaf through the given certificates to one of the anchors:
//!   each signature by its issuer's key, names chained, issuers are CAs
//!   within their path length, every certificate valid at the time, no
//!   unknown critical extension, bounded path depth and signature checks.
//!   The leaf's extended key usage is not required (neither platform's
//!   leaves carry one).

use std::time::{Duration, SystemTime};

use const_oid::ObjectIdentifier;
use der::Decode;
use rustls_pki_types::{CertificateDer, UnixTime};
use x509_cert::Certificate;

use crate::limits::{MAX_CERTIFICATE_LEN, MAX_CHAIN_LEN};
use crate::refusal::Refusal;
use crate::signatures::ALGORITHMS;
use crate::trust::{serial_hex, RevokedSerials, TrustAnchors};

pub(crate) const BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
pub(crate) const KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");

/// Checks the chain's length and each certificate's size, before any decoding.
pub(crate) fn check_bounds<C: AsRef<[u8]>>(chain: &[C]) -> Result<(), Refusal> {
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
    Ok(())
}

/// Decodes one certificate and checks its extensions' structure: none
/// twice, no critical one other than basic constraints and key usage.
pub(crate) fn decode_certificate(der: &[u8], index: usize) -> Result<Certificate, Refusal> {
    let cert = Certificate::from_der(der).map_err(|_| Refusal::MalformedCertificate { index })?;
    let extensions = cert.tbs_certificate().extensions().map(|e| e.as_slice()).unwrap_or(&[]);
    for (n, ext) in extensions.iter().enumerate() {
        if extensions.iter().skip(n + 1).any(|other| other.extn_id == ext.extn_id) {
            return Err(Refusal::DuplicateExtension { index });
        }
        if ext.critical && ext.extn_id != BASIC_CONSTRAINTS && ext.extn_id != KEY_USAGE {
            return Err(Refusal::UnknownCriticalExtension { index });
        }
    }
    Ok(cert)
}

/// Revoked serials first, then path validation of `ders` (leaf first)
/// against `anchors` at `at`. `certs` are the same certificates decoded.
pub(crate) fn validate(
    certs: &[Certificate],
    ders: &[Vec<u8>],
    anchors: &TrustAnchors,
    revoked: &RevokedSerials,
    at: SystemTime,
) -> Result<(), Refusal> {
    for (index, cert) in certs.iter().enumerate() {
        let serial = cert.tbs_certificate().serial_number().as_bytes();
        if revoked.contains_serial_bytes(serial) {
            return Err(Refusal::Revoked { index, serial_hex: serial_hex(serial) });
        }
    }
    let now = at.duration_since(SystemTime::UNIX_EPOCH).unwrap_or(Duration::ZERO);
    let (leaf, rest) = ders.split_first().ok_or(Refusal::EmptyChain)?;
    let leaf = CertificateDer::from(leaf.as_slice());
    let intermediates: Vec<CertificateDer<'_>> = rest.iter().map(|d| CertificateDer::from(d.as_slice())).collect();
    let end_entity = webpki::EndEntityCert::try_from(&leaf).map_err(|_| Refusal::MalformedCertificate { index: 0 })?;
    end_entity
        .verify_for_usage(
            ALGORITHMS,
            anchors.as_webpki(),
            &intermediates,
            UnixTime::since_unix_epoch(now),
            AnyKeyUsage,
            None,
            None,
        )
        .map(|_| ())
        .map_err(|e| refusal_from(e, certs, now))
}

/// Attestation leaves have no extended key usage; none is required.
struct AnyKeyUsage;

impl webpki::ExtendedKeyUsageValidator for AnyKeyUsage {
    fn validate(&self, _: webpki::KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        Ok(())
    }
}

/// One refusal per webpki error; a validity error names the first
/// certificate outside its validity at `now`.
fn refusal_from(error: webpki::Error, certs: &[Certificate], now: Duration) -> Refusal {
    use webpki::Error as E;
    match error {
        E::CertExpired { .. } | E::CertNotValidYet { .. } | E::InvalidCertValidity => {
            let index = certs
                .iter()
                .position(|c| {
                    let v = c.tbs_certificate().validity();
                    now < v.not_before.to_unix_duration() || now > v.not_after.to_unix_duration()
                })
                .unwrap_or(0);
            Refusal::NotValidAtTime { index }
        }
        E::UnknownIssuer => Refusal::UntrustedRoot,
        E::InvalidSignatureForPublicKey | E::SignatureAlgorithmMismatch => Refusal::BadSignature,
        E::UnsupportedSignatureAlgorithmContext(_) | E::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => {
            Refusal::UnsupportedAlgorithm
        }
        E::CaUsedAsEndEntity | E::EndEntityUsedAsCa | E::PathLenConstraintViolated => Refusal::NotACa,
        other => Refusal::PathRefused { reason: format!("{other:?}") },
    }
}
