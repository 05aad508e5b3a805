//! Escrow: the backend's side of escrowed entries (`offline_auth_proto::escrow`).
//!
//! Devices seal every queued entry to the backend's escrow public key; after
//! a wipe they upload what they escrowed (a salvage upload). The private
//! keys stay behind [`EscrowKeyProvider`] (a file or an environment variable
//! here, [`StaticEscrowKeys`]; a KMS or secret manager implements the trait),
//! looked up by the `kid` each blob names, so a rotated key keeps opening
//! what was sealed to it while the provider still holds it.
//!
//! [`SalvageOpener`] opens each entry, rebuilds the batch the device would
//! have sent (the entries as they were chained, with their grants) and
//! hands it to the one [`SyncVerifier`]: the MAC chain is checked with the
//! device's sync key from its cursor, entries already applied are
//! duplicates (never applied twice), and the result is the same
//! [`VerifiedBatch`]. A blob that does not open (altered, moved to another
//! seq, device or enrolment, or sealed by someone without the sync key and
//! so failing the chain) rejects the whole upload.

use std::collections::HashSet;
use std::sync::Arc;

use offline_auth_proto::batch::Batch;
use offline_auth_proto::crypto::{hpke_generate, hpke_public_key, HPKE_KEY_LEN};
use offline_auth_proto::escrow::{EscrowBlob, EscrowPlace, EscrowPublicKey, MAX_ESCROW_KID_LEN};
use offline_auth_proto::salvage::{SalvageReader, MAX_SALVAGE_BYTES};
use zeroize::Zeroizing;

use crate::cursor::{AppliedEntry, SyncCursor, VerifiedBatch};
use crate::error::{BackendError as Error, RejectReason, Result};
use crate::verifier::SyncVerifier;

/// Where the escrow private keys live. Implement it over a KMS or a secret
/// manager; [`StaticEscrowKeys`] holds them in memory.
pub trait EscrowKeyProvider: Send + Sync {
    /// The 32-byte X25519 private key named `kid`, or `None` if this
    /// backend does not hold it (never held, or retired).
    ///
    /// # Errors
    /// Whatever the key store reports (`Internal`).
    fn private_key(&self, kid: &str) -> Result<Option<Zeroizing<Vec<u8>>>>;
}

/// Escrow private keys held in memory (zeroized on drop), read from text
/// with one key per line, `kid:hex-of-32-bytes` (blank lines and lines
/// starting with `#` ignored). Several lines during a rotation.
pub struct StaticEscrowKeys {
    keys: Vec<(String, Zeroizing<Vec<u8>>)>,
}

impl std::fmt::Debug for StaticEscrowKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.keys.iter().map(|(kid, _)| kid)).finish()
    }
}

impl StaticEscrowKeys {
    /// Keys from text (see the type's documentation).
    ///
    /// # Errors
    /// `InvalidInput` naming the line (never its key) that is malformed, a
    /// `kid` given twice, or no key at all.
    pub fn from_text(text: &str) -> Result<Self> {
        let mut keys: Vec<(String, Zeroizing<Vec<u8>>)> = Vec::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = || Error::invalid(format!("escrow key line {}: expected kid:64 hex digits", number + 1));
            let (kid, hex_key) = line.split_once(':').ok_or_else(bad)?;
            let key = Zeroizing::new(hex::decode(hex_key.trim()).map_err(|_| bad())?);
            let kid = kid.trim();
            if key.len() != HPKE_KEY_LEN || kid.is_empty() || kid.len() > MAX_ESCROW_KID_LEN {
                return Err(bad());
            }
            if keys.iter().any(|(known, _)| known == kid) {
                return Err(Error::invalid(format!("escrow key id {kid:?} appears twice")));
            }
            keys.push((kid.to_owned(), key));
        }
        if keys.is_empty() {
            return Err(Error::invalid("no escrow key given"));
        }
        Ok(Self { keys })
    }

    /// Keys from a file (see [`StaticEscrowKeys::from_text`]).
    ///
    /// # Errors
    /// `InvalidInput` if the file cannot be read or is malformed.
    pub fn from_file(path: &std::path::Path) -> Result<Self> {
        let text = Zeroizing::new(
            std::fs::read_to_string(path).map_err(|e| Error::invalid(format!("escrow key file: {}", e.kind())))?,
        );
        Self::from_text(&text)
    }

    /// The public keys, to sign and publish ([`crate::GrantIssuer::sign_escrow_key`]).
    ///
    /// # Errors
    /// `InvalidInput` if a stored key is not an X25519 key.
    pub fn public_keys(&self) -> Result<Vec<EscrowPublicKey>> {
        self.keys.iter().map(|(kid, key)| Ok(EscrowPublicKey::new(kid, &hpke_public_key(key)?)?)).collect()
    }
}

impl EscrowKeyProvider for StaticEscrowKeys {
    fn private_key(&self, kid: &str) -> Result<Option<Zeroizing<Vec<u8>>>> {
        Ok(self.keys.iter().find(|(known, _)| known == kid).map(|(_, key)| key.clone()))
    }
}

/// A fresh escrow key pair for `kid`: the line to keep in the key file
/// (`kid:hex`, secret) and the public key to sign and publish.
///
/// # Errors
/// `InvalidInput` for a bad `kid`; `Internal` if the RNG fails.
pub fn generate_escrow_key(kid: &str) -> Result<(Zeroizing<String>, EscrowPublicKey)> {
    let pair = hpke_generate()?;
    let public = EscrowPublicKey::new(kid, &pair.public_key)?;
    Ok((Zeroizing::new(format!("{kid}:{}", hex::encode(*pair.private_key))), public))
}

fn reject(kind: RejectReason, reason: impl Into<String>) -> Error {
    Error::rejected(kind, reason)
}

/// Opens salvage uploads and verifies them as batches.
#[cfg_attr(feature = "ffi", derive(uniffi::Object))]
pub struct SalvageOpener {
    verifier: Arc<SyncVerifier>,
    keys: Arc<dyn EscrowKeyProvider>,
}

impl std::fmt::Debug for SalvageOpener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SalvageOpener").finish_non_exhaustive()
    }
}

impl SalvageOpener {
    /// An opener that verifies with `verifier` and opens with `keys`.
    pub fn new(verifier: Arc<SyncVerifier>, keys: Arc<dyn EscrowKeyProvider>) -> Self {
        Self { verifier, keys }
    }

    /// The device id a salvage upload names (read before anything is
    /// opened, to find the device's sync key and cursor).
    ///
    /// # Errors
    /// `BatchRejected` (`Malformed`, `TooLarge`) for an unreadable upload.
    pub fn device_id(upload: &[u8]) -> Result<String> {
        Ok(SalvageReader::open(upload)?.device_id.to_owned())
    }

    /// Opens every escrowed entry of `upload` and verifies them like a
    /// batch from the device whose sync key is `sync_key`, from its stored
    /// `cursor` (and the `applied` entries the upload overlaps, as for
    /// [`SyncVerifier::verify_with_chain`]). Entries at or before the
    /// cursor are duplicates; only new ones become operations.
    ///
    /// # Errors
    /// `BatchRejected`: `TooLarge`, `Malformed` (format, or sealed to an
    /// escrow key this backend does not hold), `ChainBroken` (an entry does
    /// not open: altered or moved), and every reason of the verifier;
    /// `Diverged` as the verifier; `InvalidInput`; `Internal` from the key provider.
    pub fn verify(
        &self,
        upload: &[u8],
        sync_key: &[u8],
        cursor: &SyncCursor,
        applied: &[AppliedEntry],
    ) -> Result<VerifiedBatch> {
        if upload.len() > MAX_SALVAGE_BYTES {
            return Err(reject(RejectReason::TooLarge, "salvage upload exceeds the size limit"));
        }
        let mut reader = SalvageReader::open(upload)?;
        let (device_id, enrolment) = (reader.device_id, reader.enrolment);
        let mut entries = Vec::with_capacity(reader.count as usize);
        let (mut grants, mut seen) = (Vec::new(), HashSet::new());
        while let Some(item) = reader.next_entry()? {
            let blob = EscrowBlob::parse(item.blob)
                .map_err(|_| reject(RejectReason::Malformed, format!("escrowed entry {} is malformed", item.seq)))?;
            let key = self.keys.private_key(blob.kid)?.ok_or_else(|| {
                reject(RejectReason::Malformed, format!("entry {} is sealed to an escrow key not held", item.seq))
            })?;
            let at = EscrowPlace { device_id, enrolment, seq: item.seq };
            let opened = blob
                .open(&key, &at)
                .map_err(|_| reject(RejectReason::ChainBroken, format!("escrowed entry {} does not open", item.seq)))?;
            if seen.insert(opened.entry.body.grant_id.clone()) {
                grants.push(opened.grant);
            }
            entries.push(opened.entry);
        }
        let batch = Batch { device_id: device_id.to_owned(), grants, entries }.to_bytes()?;
        // The batch is built here from the opened entries: the result owns its copies.
        Ok(self.verifier.verify_with_chain(&batch, sync_key, cursor, applied)?.into_owned())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn escrow_key_text_is_checked_line_by_line_and_errors_never_show_a_key() {
        let (line, public) = generate_escrow_key("e1").unwrap();
        let (second, _) = generate_escrow_key("e2").unwrap();
        let keys = StaticEscrowKeys::from_text(&format!("# escrow keys\n\n{}\n{}\n", *line, *second)).unwrap();
        assert_eq!(keys.public_keys().unwrap().first(), Some(&public));
        assert!(keys.private_key("e2").unwrap().is_some() && keys.private_key("e3").unwrap().is_none());
        assert_eq!(format!("{keys:?}"), r#"["e1", "e2"]"#, "Debug names the ids only");

        let secret = line.split_once(':').unwrap().1.to_owned();
        for bad in
            [format!("e1:{}", &secret[2..]), format!("e1 {secret}"), String::new(), format!("{}\n{}", *line, *line)]
        {
            let error = StaticEscrowKeys::from_text(&bad).unwrap_err().to_string();
            assert!(!error.contains(&secret[2..]), "the error shows key material: {error}");
        }
        let dir = std::env::temp_dir().join(format!("escrow-keys-{}", std::process::id()));
        std::fs::write(&dir, format!("{}\n", *line)).unwrap();
        assert_eq!(StaticEscrowKeys::from_file(&dir).unwrap().public_keys().unwrap(), [public]);
        std::fs::remove_file(&dir).unwrap();
        assert!(StaticEscrowKeys::from_file(&dir).is_err());
    }
}
