//! Where grants are signed: a [`GrantSigner`] holds the issuer key, so the
//! key can stay in a KMS or HSM; [`Ed25519Signer`] keeps it in memory.

use std::sync::Arc;

use ed25519_dalek::{Signer as _, SigningKey};
use offline_auth_proto::crypto::SecretKey;
use offline_auth_proto::grant::MAX_CLAIM_LEN;
use zeroize::Zeroizing;

use crate::error::{BackendError, Result};

/// Signs grants with one Ed25519 key named by `kid`. Implement it over a KMS
/// or HSM so the private key never enters the server's memory; the
/// [`crate::GrantIssuer`] checks every signature it gets back against
/// [`GrantSigner::public_key`] before handing a grant out.
#[cfg_attr(feature = "ffi", uniffi::export(with_foreign))]
pub trait GrantSigner: Send + Sync {
    /// The key id, put in each grant's header and in the JWKS.
    fn kid(&self) -> String;
    /// The raw 32-byte Ed25519 public key.
    fn public_key(&self) -> Vec<u8>;
    /// The 64-byte Ed25519 signature of `message` (the JWS signing input).
    ///
    /// # Errors
    /// `Signer` when the key store fails.
    fn sign(&self, message: Vec<u8>) -> Result<Vec<u8>, BackendError>;
}

/// An Ed25519 key held in memory (zeroized on drop).
#[cfg_attr(feature = "ffi", derive(uniffi::Object))]
pub struct Ed25519Signer {
    kid: String,
    key: SigningKey,
}

impl std::fmt::Debug for Ed25519Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ed25519Signer").field("kid", &self.kid).finish_non_exhaustive()
    }
}

#[cfg_attr(feature = "ffi", uniffi::export)]
impl Ed25519Signer {
    /// A signer from a 32-byte Ed25519 private key (seed) and its key id.
    ///
    /// # Errors
    /// `InvalidInput` for a key that is not 32 bytes or an empty or
    /// oversized `kid`.
    #[cfg_attr(feature = "ffi", uniffi::constructor)]
    pub fn new(kid: &str, private_key: Vec<u8>) -> Result<Arc<Self>> {
        let seed = SecretKey::from_vec(private_key)
            .map_err(|_| BackendError::invalid("the issuer private key must be 32 bytes"))?;
        Ok(Arc::new(Self::from_seed(kid, &seed)?))
    }

    /// A signer with a fresh random key.
    ///
    /// # Errors
    /// `InvalidInput` for a bad `kid`; `Internal` if the RNG fails.
    #[cfg_attr(feature = "ffi", uniffi::constructor)]
    pub fn generate(kid: &str) -> Result<Arc<Self>> {
        Ok(Arc::new(Self::from_seed(kid, &SecretKey::generate()?)?))
    }

    /// The 32-byte private key (seed), to store a generated key in the
    /// backend's secret store. Handle it like any signing key.
    pub fn private_key(&self) -> Vec<u8> {
        self.key.to_bytes().to_vec()
    }
}

impl Ed25519Signer {
    fn from_seed(kid: &str, seed: &SecretKey) -> Result<Self> {
        if kid.is_empty() || kid.len() > MAX_CLAIM_LEN {
            return Err(BackendError::invalid(format!("kid must be 1 to {MAX_CLAIM_LEN} bytes")));
        }
        let seed = Zeroizing::new(*seed.as_bytes());
        Ok(Self { key: SigningKey::from_bytes(&seed), kid: kid.to_owned() })
    }
}

impl GrantSigner for Ed25519Signer {
    fn kid(&self) -> String {
        self.kid.clone()
    }

    fn public_key(&self) -> Vec<u8> {
        self.key.verifying_key().to_bytes().to_vec()
    }

    fn sign(&self, message: Vec<u8>) -> Result<Vec<u8>> {
        Ok(self.key.sign(&message).to_bytes().to_vec())
    }
}
