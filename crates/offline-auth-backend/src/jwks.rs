//! Publishing issuer keys as JWKS, and verifying a grant on the backend.

use offline_auth_proto::grant::{self, GrantPolicy, IssuerKey, TrustedIssuers};
use offline_auth_proto::jwks;

use crate::error::Result;

/// The verified content of a grant, for backends and operators.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct GrantInfo {
    /// Id of the issuer key that signed it.
    pub kid: String,
    /// The user (`sub`).
    pub user_id: String,
    /// The device (`dev`).
    pub device_id: String,
    /// Issued at (`iat`, seconds since the epoch).
    pub issued_at: i64,
    /// End of the offline window (`exp`).
    pub expires_at: i64,
    /// Collections it allows writing.
    pub scopes: Vec<String>,
    /// Grant id (`jti`).
    pub grant_id: String,
}

/// The issuer keys as a JWKS JSON document (`kty` `OKP`, `crv` `Ed25519`,
/// `alg` `EdDSA`, `use` `sig`).
///
/// # Errors
/// `InvalidInput` if a key is malformed or a `kid` repeats.
#[cfg_attr(feature = "ffi", uniffi::export)]
pub fn jwks_from_issuer_keys(keys: &[IssuerKey]) -> Result<String> {
    Ok(jwks::to_jwks(keys)?)
}

/// The Ed25519 signing keys of a JWKS document, to put in
/// `VaultConfig::issuer_keys` or `SyncVerifier::new`.
///
/// # Errors
/// `InvalidInput` for malformed JSON, a usable-looking key without `kid` or
/// with a bad `x`, a private key (`d`) in the set, or no Ed25519 key at all.
#[cfg_attr(feature = "ffi", uniffi::export)]
pub fn issuer_keys_from_jwks(jwks: &str) -> Result<Vec<IssuerKey>> {
    Ok(jwks::parse_jwks(jwks)?)
}

/// Verifies a grant's signature against `issuer_keys` (not its time or
/// device) and returns what it says.
///
/// # Errors
/// `InvalidInput` for bad issuer keys; `GrantInvalid` for a malformed or
/// badly signed grant, or an unknown `kid`.
#[cfg_attr(feature = "ffi", uniffi::export)]
pub fn verify_grant(grant: &str, issuer_keys: &[IssuerKey]) -> Result<GrantInfo> {
    let issuers = TrustedIssuers::new(issuer_keys)?;
    let claims = grant::verify_signature(grant, &issuers, &GrantPolicy::default())?;
    Ok(GrantInfo {
        kid: claims.kid,
        user_id: claims.sub,
        device_id: claims.dev,
        issued_at: claims.iat,
        expires_at: claims.exp,
        scopes: claims.scope,
        grant_id: claims.jti,
    })
}
