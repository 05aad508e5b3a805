//! Bounded CBOR decoding of App Attest's two objects, the first of the
//! three places. `ciborium` decodes into typed structs (serde), never into
//! a generic value tree:
//! - the input's length is checked before decoding
//!   ([`MAX_ATTESTATION_OBJECT_LEN`], [`MAX_ASSERTION_LEN`]);
//! - nesting is bounded by ciborium's recursion limit ([`MAX_CBOR_DEPTH`]);
//! - byte and text strings grow as their bytes are read, so a declared
//!   length larger than the input allocates nothing for it and ends in
//!   [`CborProblem::Truncated`];
//! - the `x5c` array is refused past [`MAX_CHAIN_LEN`] entries, declared or
//!   read, before any room is made for them;
//! - keys are exactly the documented ones (none missing, unknown or
//!   repeated) and nothing may follow the item.

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;

use crate::limits::{MAX_ASSERTION_LEN, MAX_ATTESTATION_OBJECT_LEN, MAX_CBOR_DEPTH, MAX_CHAIN_LEN};
use crate::refusal::{CborProblem, Refusal};

/// An attestation object, decoded but not yet checked.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AttestationObject {
    pub(crate) fmt: String,
    #[serde(rename = "attStmt")]
    pub(crate) att_stmt: Statement,
    #[serde(rename = "authData")]
    pub(crate) auth_data: Bytes,
}

/// The `apple-appattest` statement: the certificate chain (leaf first) and
/// Apple's receipt (opaque here; the backend keeps it for fraud metrics).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Statement {
    pub(crate) x5c: Certificates,
    pub(crate) receipt: Bytes,
}

/// An assertion, decoded but not yet checked.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Assertion {
    pub(crate) signature: Bytes,
    #[serde(rename = "authenticatorData")]
    pub(crate) authenticator_data: Bytes,
}

/// Decodes an attestation object.
pub(crate) fn attestation_object(input: &[u8]) -> Result<AttestationObject, Refusal> {
    if input.len() > MAX_ATTESTATION_OBJECT_LEN {
        return Err(Refusal::AttestationObjectTooLarge { len: input.len(), max: MAX_ATTESTATION_OBJECT_LEN });
    }
    decode(input).map_err(|problem| Refusal::MalformedAttestationObject { problem })
}

/// Decodes an assertion.
pub(crate) fn assertion(input: &[u8]) -> Result<Assertion, Refusal> {
    if input.len() > MAX_ASSERTION_LEN {
        return Err(Refusal::AssertionTooLarge { len: input.len(), max: MAX_ASSERTION_LEN });
    }
    decode(input).map_err(|problem| Refusal::MalformedAssertion { problem })
}

fn decode<T: de::DeserializeOwned>(input: &[u8]) -> Result<T, CborProblem> {
    let mut rest = input;
    let value = ciborium::de::from_reader_with_recursion_limit(&mut rest, MAX_CBOR_DEPTH).map_err(|e| match e {
        ciborium::de::Error::Io(_) => CborProblem::Truncated,
        ciborium::de::Error::Syntax(_) => CborProblem::Syntax,
        ciborium::de::Error::Semantic(..) => CborProblem::Shape,
        ciborium::de::Error::RecursionLimitExceeded => CborProblem::TooDeep,
    })?;
    if !rest.is_empty() {
        return Err(CborProblem::TrailingBytes);
    }
    Ok(value)
}

/// A CBOR byte string (major type 2), and only that: an array of small
/// integers is not accepted in its place.
#[derive(Debug, Default)]
pub(crate) struct Bytes(pub(crate) Vec<u8>);

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BytesVisitor;
        impl Visitor<'_> for BytesVisitor {
            type Value = Bytes;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a byte string")
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Bytes, E> {
                Ok(Bytes(v.to_vec()))
            }
            fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Bytes, E> {
                Ok(Bytes(v))
            }
        }
        deserializer.deserialize_byte_buf(BytesVisitor)
    }
}

/// The `x5c` array: at most [`MAX_CHAIN_LEN`] byte strings.
#[derive(Debug, Default)]
pub(crate) struct Certificates(pub(crate) Vec<Vec<u8>>);

impl<'de> Deserialize<'de> for Certificates {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CertificatesVisitor;
        impl<'de> Visitor<'de> for CertificatesVisitor {
            type Value = Certificates;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "an array of at most {MAX_CHAIN_LEN} byte strings")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Certificates, A::Error> {
                if seq.size_hint().is_some_and(|n| n > MAX_CHAIN_LEN) {
                    return Err(de::Error::invalid_length(seq.size_hint().unwrap_or(0), &self));
                }
                let mut certs = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(Bytes(cert)) = seq.next_element()? {
                    if certs.len() == MAX_CHAIN_LEN {
                        return Err(de::Error::invalid_length(certs.len() + 1, &self));
                    }
                    certs.push(cert);
                }
                Ok(Certificates(certs))
            }
        }
        deserializer.deserialize_seq(CertificatesVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_array_of_integers_is_not_a_byte_string() {
        // {"signature": [1, 2], "authenticatorData": h''}
        let mut cbor = vec![0xa2, 0x69];
        cbor.extend_from_slice(b"signature");
        cbor.extend_from_slice(&[0x82, 0x01, 0x02, 0x71]);
        cbor.extend_from_slice(b"authenticatorData");
        cbor.push(0x40);
        assert_eq!(assertion(&cbor).err(), Some(Refusal::MalformedAssertion { problem: CborProblem::Shape }));
    }

    #[test]
    fn a_well_formed_assertion_decodes_and_trailing_bytes_are_refused() {
        let mut cbor = vec![0xa2, 0x69];
        cbor.extend_from_slice(b"signature");
        cbor.extend_from_slice(&[0x42, 0x01, 0x02, 0x71]);
        cbor.extend_from_slice(b"authenticatorData");
        cbor.extend_from_slice(&[0x41, 0x07]);
        let decoded = assertion(&cbor).map(|a| (a.signature.0, a.authenticator_data.0));
        assert_eq!(decoded, Ok((vec![1, 2], vec![7])));
        cbor.push(0x00);
        assert_eq!(assertion(&cbor).err(), Some(Refusal::MalformedAssertion { problem: CborProblem::TrailingBytes }));
    }
}
