//! Escrow for the bindings (`ffi` feature): generating an escrow key,
//! signing its public half for devices, and opening salvage uploads, with
//! the same `i64` cursors as `ffi.rs`. The private keys are given as the
//! text [`StaticEscrowKeys`] reads (`kid:hex` lines), which a JVM or
//! Python backend keeps in its secret store.

use std::sync::Arc;

use offline_auth_proto::escrow::EscrowPublicKey;

use crate::cursor;
use crate::error::Result;
use crate::escrow::{generate_escrow_key, SalvageOpener, StaticEscrowKeys};
use crate::ffi::{AppliedEntry, SyncCursor, VerifiedBatch};
use crate::issuer::GrantIssuer;
use crate::verifier::SyncVerifier;

/// A new escrow key: the public half to sign and publish, and the secret
/// line (`kid:hex`) for the backend's key store.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct EscrowKeyPair {
    /// The key id.
    pub kid: String,
    /// The 32-byte X25519 public key.
    pub public_key: Vec<u8>,
    /// `kid:hex` of the private key: keep it secret.
    pub secret_line: String,
}

impl std::fmt::Debug for EscrowKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EscrowKeyPair").field("kid", &self.kid).finish_non_exhaustive()
    }
}

/// A fresh escrow key pair named `kid`.
///
/// # Errors
/// `InvalidInput` for an empty or oversized `kid`; `Internal` if the RNG fails.
#[uniffi::export(name = "generate_escrow_key_pair")]
pub fn ffi_generate_escrow_key_pair(kid: String) -> Result<EscrowKeyPair> {
    let (line, public) = generate_escrow_key(&kid)?;
    Ok(EscrowKeyPair { kid, public_key: public.public_key.to_vec(), secret_line: line.to_string() })
}

#[uniffi::export]
impl GrantIssuer {
    /// The escrow public key `public_key` (named `kid`) signed for devices
    /// (`VaultConfig.escrow_key`), dated `issued_at`.
    ///
    /// # Errors
    /// `InvalidInput` for a bad key or id; `Signer`.
    #[uniffi::method(name = "sign_escrow_key")]
    pub fn ffi_sign_escrow_key(&self, kid: String, public_key: Vec<u8>, issued_at: i64) -> Result<String> {
        self.sign_escrow_key(&EscrowPublicKey::new(&kid, &public_key)?, issued_at)
    }
}

#[uniffi::export]
impl SalvageOpener {
    /// An opener verifying with `verifier`, holding the escrow private keys
    /// given as `kid:hex` lines.
    ///
    /// # Errors
    /// `InvalidInput` for malformed key text (the error names the line, never the key).
    #[uniffi::constructor(name = "from_key_text")]
    pub fn ffi_from_key_text(verifier: Arc<SyncVerifier>, keys: String) -> Result<Arc<Self>> {
        let keys = StaticEscrowKeys::from_text(&zeroize::Zeroizing::new(keys))?;
        Ok(Arc::new(Self::new(verifier, Arc::new(keys))))
    }

    /// Opens and verifies a salvage upload (`SalvageOpener::verify`).
    ///
    /// # Errors
    /// As the Rust `verify`.
    #[uniffi::method(name = "verify")]
    pub fn ffi_verify(
        &self,
        upload: Vec<u8>,
        sync_key: Vec<u8>,
        cursor: SyncCursor,
        applied: Vec<AppliedEntry>,
    ) -> Result<VerifiedBatch> {
        let applied = applied.into_iter().map(cursor::AppliedEntry::try_from).collect::<Result<Vec<_>>>()?;
        self.verify(&upload, &sync_key, &cursor.try_into()?, &applied)?.try_into()
    }
}
