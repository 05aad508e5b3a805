//! Bounds checked before any decoding, so hostile input costs at most these
//! many bytes of work and memory. Real chains are far below them: Google's
//! remotely provisioned chains have 4 or 5 certificates of under 2 KiB each
//! (the RSA-4096 root is the largest, about 1.3 KiB).

/// Most certificates accepted in one chain (leaf to root).
pub const MAX_CHAIN_LEN: usize = 8;

/// Largest DER certificate accepted, in bytes.
pub const MAX_CERTIFICATE_LEN: usize = 16 * 1024;
