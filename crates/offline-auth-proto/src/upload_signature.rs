//! The message a device's attested key signs for each upload.
//!
//! The sync key MACs the chain, but a copy of that key (read out of an
//! unlocked session's memory) could upload from anywhere. With attested
//! enrolment the device also signs every upload with the hardware key its
//! platform attested (Android Keystore EC P-256, `SHA256withECDSA`; App
//! Attest later), and the backend checks the signature against the key it
//! stored at enrolment. This module is the one definition of what is signed,
//! shared by the device SDK and the backend:
//!
//! ```text
//! UPLOAD_SIGNATURE_DOMAIN                  33 bytes, "offline-auth/upload-signature/v1" and a 0 byte
//! len(device_id) as u32 big-endian         4 bytes
//! device_id                                its UTF-8 bytes
//! first_seq as u64 big-endian              8 bytes
//! last_seq as u64 big-endian               8 bytes
//! SHA-256 of the batch bytes               32 bytes
//! ```
//!
//! The domain tag (with its version) keeps a signature made for an upload
//! from being taken for anything else the key signs, and lets the message
//! change later (`/v2`). The seq range is redundant with the hashed batch but
//! lets a backend log which entries a refused signature was for.

use sha2::{Digest, Sha256};

/// The domain-separation tag and version that start every upload message.
pub const UPLOAD_SIGNATURE_DOMAIN: &[u8; 33] = b"offline-auth/upload-signature/v1\0";

/// The HTTP header the reference server reads an upload's signature from
/// (base64, standard alphabet): the body stays the raw batch.
pub const UPLOAD_SIGNATURE_HEADER: &str = "x-offline-auth-signature";

/// The message signed for an upload of `batch` (its bytes as sent) holding
/// the entries `first_seq..=last_seq` of `device_id`.
pub fn upload_signature_message(device_id: &str, first_seq: u64, last_seq: u64, batch: &[u8]) -> Vec<u8> {
    let id = device_id.as_bytes();
    // A device id never nears 4 GiB (the batch format bounds it far below);
    // saturating keeps this total without a panic path.
    let id_len = u32::try_from(id.len()).unwrap_or(u32::MAX);
    let mut message = Vec::with_capacity(UPLOAD_SIGNATURE_DOMAIN.len() + 4 + id.len() + 8 + 8 + 32);
    message.extend_from_slice(UPLOAD_SIGNATURE_DOMAIN);
    message.extend_from_slice(&id_len.to_be_bytes());
    message.extend_from_slice(id);
    message.extend_from_slice(&first_seq.to_be_bytes());
    message.extend_from_slice(&last_seq.to_be_bytes());
    message.extend_from_slice(&Sha256::digest(batch));
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_upload_message_is_the_documented_layout() {
        let message = upload_signature_message("ab", 3, 4, b"batch");
        assert_eq!(&message[..33], UPLOAD_SIGNATURE_DOMAIN);
        assert_eq!(&message[33..37], &[0, 0, 0, 2]);
        assert_eq!(&message[37..39], b"ab");
        assert_eq!(&message[39..47], &3u64.to_be_bytes());
        assert_eq!(&message[47..55], &4u64.to_be_bytes());
        assert_eq!(&message[55..], Sha256::digest(b"batch").as_slice());
    }

    #[test]
    fn upload_messages_differ_by_device_range_and_bytes() {
        let base = upload_signature_message("dev", 1, 2, b"x");
        assert_ne!(base, upload_signature_message("dev2", 1, 2, b"x"));
        assert_ne!(base, upload_signature_message("dev", 1, 3, b"x"));
        assert_ne!(base, upload_signature_message("dev", 1, 2, b"y"));
        // The length prefix keeps ("de", "v…") apart from ("dev", …).
        assert_ne!(upload_signature_message("de", 1, 2, b"x")[33..], base[33..]);
    }
}
