//! Bounds checked before any decoding, so hostile input costs at most these
//! many bytes of work and memory. Real chains are far below them: Google's
//! remotely provisioned chains have 4 or 5 certificates of under 2 KiB each
//! (the RSA-4096 root is the largest, about 1.3 KiB).

/// Most certificates accepted in one chain (leaf to root).
pub const MAX_CHAIN_LEN: usize = 8;

/// Largest DER certificate accepted, in bytes.
pub const MAX_CERTIFICATE_LEN: usize = 16 * 1024;

/// Largest App Attest attestation object accepted, in bytes (checked before
/// decoding). A real one is about 5.3 KiB: two certificates of under 1 KiB
/// and Apple's receipt of about 3.6 KiB.
pub const MAX_ATTESTATION_OBJECT_LEN: usize = 32 * 1024;

/// Largest App Attest assertion accepted, in bytes (checked before
/// decoding). A real one is 140 bytes: a DER ECDSA signature and 37 bytes
/// of authenticator data.
pub const MAX_ASSERTION_LEN: usize = 1024;

/// Deepest CBOR nesting the decoder enters (ciborium's recursion limit):
/// exactly what an attestation object needs, three levels (the object's
/// map, `attStmt`, the `x5c` array); anything nested below is refused as
/// too deep before it is read.
pub const MAX_CBOR_DEPTH: usize = 3;
