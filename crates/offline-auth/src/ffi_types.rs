//! The wire-format types the device API shares with `offline-auth-proto`,
//! declared to UniFFI as remote types (the proto crate knows nothing of FFI),
//! and the JWKS reader devices configure their issuer keys from.

use offline_auth_proto::grant::{GrantPolicy, IssuerKey};

use crate::error::VaultError;

offline_auth_proto::uniffi_remote_grant_types!();

/// The Ed25519 signing keys of a JWKS document (as the backend publishes
/// them), to put in `VaultConfig::issuer_keys`.
///
/// # Errors
/// `InvalidInput` for malformed JSON, a usable-looking key without `kid` or
/// with a bad `x`, a private key (`d`) in the set, or no Ed25519 key at all.
#[uniffi::export]
pub fn issuer_keys_from_jwks(jwks: &str) -> Result<Vec<IssuerKey>, VaultError> {
    Ok(offline_auth_proto::jwks::parse_jwks(jwks).map_err(crate::error::Error::from)?)
}
