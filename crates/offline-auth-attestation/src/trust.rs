//! The verifier's world, given by the caller: which roots it trusts and
//! which serials are revoked. Nothing here is read from a global, a file or
//! the network; a backend loads Google's roots and refreshes the revocation
//! status list itself and hands the result in.

use std::collections::{BTreeMap, BTreeSet};

use rustls_pki_types::{CertificateDer, TrustAnchor};

use crate::limits::MAX_CERTIFICATE_LEN;

/// A root certificate given as a trust anchor could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("trust anchor {index} is not a DER certificate of at most {max} bytes", max = MAX_CERTIFICATE_LEN)]
pub struct TrustAnchorError {
    /// Position in the list given.
    pub index: usize,
}

/// The roots a chain must end at, held as `rustls-webpki` trust anchors
/// (subject name and public key of each root certificate).
#[derive(Clone, Debug, Default)]
pub struct TrustAnchors {
    anchors: Vec<TrustAnchor<'static>>,
}

impl TrustAnchors {
    /// Anchors from DER root certificates (for example Google's RSA root and
    /// its ECDSA P-384 root). Operators add and remove roots by changing the list.
    ///
    /// # Errors
    /// [`TrustAnchorError`] naming the first certificate that is too large or
    /// does not decode.
    pub fn from_der_certificates<'a>(roots: impl IntoIterator<Item = &'a [u8]>) -> Result<Self, TrustAnchorError> {
        let mut anchors = Vec::new();
        for (index, der) in roots.into_iter().enumerate() {
            if der.len() > MAX_CERTIFICATE_LEN {
                return Err(TrustAnchorError { index });
            }
            let cert = CertificateDer::from(der);
            let anchor = webpki::anchor_from_trusted_cert(&cert).map_err(|_| TrustAnchorError { index })?;
            anchors.push(anchor.to_owned());
        }
        Ok(Self { anchors })
    }

    pub(crate) fn as_webpki(&self) -> &[TrustAnchor<'static>] {
        &self.anchors
    }

    /// How many anchors there are.
    pub fn len(&self) -> usize {
        self.anchors.len()
    }

    /// Whether there is none (then every chain is refused).
    pub fn is_empty(&self) -> bool {
        self.anchors.is_empty()
    }
}

/// Largest status list accepted, in bytes (Google's is far smaller: a few
/// thousand entries of under 100 bytes each).
pub const MAX_STATUS_LIST_LEN: usize = 8 * 1024 * 1024;

/// A revocation status list could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StatusListError {
    /// Larger than [`MAX_STATUS_LIST_LEN`].
    #[error("status list of {len} bytes is over the limit of {max} bytes", max = MAX_STATUS_LIST_LEN)]
    TooLarge {
        /// Its length.
        len: usize,
    },
    /// Not a JSON object with an `entries` object keyed by hex serials.
    #[error("status list is malformed")]
    Malformed,
}

/// Revoked certificate serial numbers, in the form of Google's attestation
/// status list: lowercase hex without leading zeros.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RevokedSerials {
    serials: BTreeSet<String>,
}

impl RevokedSerials {
    /// No serial revoked.
    pub fn none() -> Self {
        Self::default()
    }

    /// A set from hex serials (any case, leading zeros ignored, as the
    /// status list's keys are written).
    pub fn from_hex<'a>(serials: impl IntoIterator<Item = &'a str>) -> Self {
        Self { serials: serials.into_iter().map(normalise_hex).collect() }
    }

    /// The serials of Google's attestation status list (the JSON served at
    /// `https://android.googleapis.com/attestation/status`, fetched and
    /// cached by the backend): every key of its `entries` object, whatever
    /// the entry's status (`REVOKED` or `SUSPENDED`), as Google's verifier
    /// reads it.
    ///
    /// # Errors
    /// [`StatusListError::TooLarge`] above [`MAX_STATUS_LIST_LEN`] bytes
    /// (checked before parsing), [`StatusListError::Malformed`] if it is not
    /// such a JSON object or a key is not hex.
    pub fn from_status_list_json(json: &[u8]) -> Result<Self, StatusListError> {
        #[derive(serde::Deserialize)]
        struct StatusFile {
            entries: BTreeMap<String, serde::de::IgnoredAny>,
        }
        if json.len() > MAX_STATUS_LIST_LEN {
            return Err(StatusListError::TooLarge { len: json.len() });
        }
        let file: StatusFile = serde_json::from_slice(json).map_err(|_| StatusListError::Malformed)?;
        let keys = file.entries.keys();
        if keys.clone().any(|k| k.is_empty() || !k.bytes().all(|b| b.is_ascii_hexdigit())) {
            return Err(StatusListError::Malformed);
        }
        Ok(Self::from_hex(keys.map(String::as_str)))
    }

    /// Whether a certificate serial (its DER INTEGER content bytes) is revoked.
    pub fn contains_serial_bytes(&self, serial: &[u8]) -> bool {
        self.serials.contains(&serial_hex(serial))
    }

    /// How many serials are revoked.
    pub fn len(&self) -> usize {
        self.serials.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.serials.is_empty()
    }
}

fn normalise_hex(s: &str) -> String {
    let lower = s.trim().to_ascii_lowercase();
    let trimmed = lower.trim_start_matches('0');
    if trimmed.is_empty() {
        "0".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// The status list's form of a serial: lowercase hex, no leading zeros.
pub(crate) fn serial_hex(serial: &[u8]) -> String {
    let mut s = String::with_capacity(serial.len() * 2);
    for b in serial {
        s.push_str(&format!("{b:02x}"));
    }
    normalise_hex(&s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_match_whatever_their_case_and_leading_zeros() {
        let set = RevokedSerials::from_hex(["00C35747A084470C3135AEEFE2B8D40CD6"]);
        assert!(set.contains_serial_bytes(&[
            0x00, 0xc3, 0x57, 0x47, 0xa0, 0x84, 0x47, 0x0c, 0x31, 0x35, 0xae, 0xef, 0xe2, 0xb8, 0xd4, 0x0c, 0xd6
        ]));
        assert!(!set.contains_serial_bytes(&[0x01]));
    }

    #[test]
    fn every_entry_of_a_status_list_is_revoked_whatever_its_status() {
        let json = br#"{"entries": {
            "2c8cdddfd5e03bfc": {"status": "REVOKED", "reason": "KEY_COMPROMISE"},
            "0ABC": {"status": "SUSPENDED"}
        }}"#;
        let set = RevokedSerials::from_status_list_json(json).unwrap_or_default();
        assert_eq!(set.len(), 2);
        assert!(set.contains_serial_bytes(&[0x2c, 0x8c, 0xdd, 0xdf, 0xd5, 0xe0, 0x3b, 0xfc]));
        assert!(set.contains_serial_bytes(&[0x0a, 0xbc]));
    }

    #[test]
    fn a_malformed_or_oversized_status_list_is_refused() {
        for bad in [&b"[]"[..], b"{}", br#"{"entries": {"xyz": {}}}"#, br#"{"entries": "#] {
            assert_eq!(RevokedSerials::from_status_list_json(bad), Err(StatusListError::Malformed));
        }
        let huge = vec![b' '; MAX_STATUS_LIST_LEN + 1];
        assert_eq!(
            RevokedSerials::from_status_list_json(&huge),
            Err(StatusListError::TooLarge { len: MAX_STATUS_LIST_LEN + 1 })
        );
    }
}
