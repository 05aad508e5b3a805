//! `GrantIssuer`: signs offline grants (compact JWS, EdDSA/Ed25519, `kid`).

use std::sync::Arc;

use ed25519_dalek::SigningKey;
use zeroize::Zeroizing;

use crate::crypto::{random_array, SecretKey};
use crate::error::{Error, Result, VaultError};
use crate::grant::{self, GrantClaims, IssuerKey, Issuing, ALG, ALG_ED25519, MAX_CLAIM_LEN, MAX_SCOPES};

/// Signs offline grants with one Ed25519 key, named by `kid`.
///
/// Keep the private key in the backend's secret store; publish
/// [`GrantIssuer::issuer_key`] to devices (in `VaultConfig::issuer_keys`) and
/// to the [`crate::SyncVerifier`].
#[derive(uniffi::Object)]
pub struct GrantIssuer {
    signing_key: SigningKey,
    kid: String,
    options: IssuerOptions,
}

/// How a [`GrantIssuer`] signs: the algorithm's name in the header, and the
/// `iss`/`aud` claims it adds (for verifiers that pin them).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct IssuerOptions {
    /// `EdDSA` (RFC 8037, what most JOSE libraries know) or `Ed25519`
    /// (RFC 9864); the signature is the same.
    #[uniffi(default = "EdDSA")]
    pub algorithm: String,
    /// The `iss` claim to add, if any.
    #[uniffi(default = None)]
    pub issuer: Option<String>,
    /// The `aud` claim to add, if any.
    #[uniffi(default = None)]
    pub audience: Option<String>,
}

impl Default for IssuerOptions {
    fn default() -> Self {
        Self { algorithm: ALG.into(), issuer: None, audience: None }
    }
}

impl std::fmt::Debug for GrantIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrantIssuer").field("kid", &self.kid).finish_non_exhaustive()
    }
}

#[uniffi::export]
impl GrantIssuer {
    /// An issuer from a 32-byte Ed25519 private key (seed) and its key id.
    ///
    /// # Errors
    /// `InvalidInput` for a key that is not 32 bytes or an empty or
    /// oversized `kid`.
    #[uniffi::constructor]
    pub fn new(kid: String, private_key: Vec<u8>) -> Result<Arc<Self>, VaultError> {
        Self::with_options(kid, private_key, IssuerOptions::default())
    }

    /// Like [`GrantIssuer::new`], with the algorithm name and `iss`/`aud`.
    ///
    /// # Errors
    /// As [`GrantIssuer::new`]; `InvalidInput` for another algorithm or an
    /// empty or oversized `iss`/`aud`.
    #[uniffi::constructor]
    pub fn with_options(kid: String, private_key: Vec<u8>, options: IssuerOptions) -> Result<Arc<Self>, VaultError> {
        let seed = SecretKey::from_vec(private_key)
            .map_err(|_| Error::InvalidInput("the issuer private key must be 32 bytes".into()))?;
        let mut issuer = Self::from_seed(kid, &seed)?;
        if options.algorithm != ALG && options.algorithm != ALG_ED25519 {
            return Err(Error::InvalidInput("the algorithm must be EdDSA or Ed25519".into()).into());
        }
        for value in [&options.issuer, &options.audience].into_iter().flatten() {
            if value.is_empty() || value.len() > MAX_CLAIM_LEN {
                return Err(Error::InvalidInput(format!("iss and aud must be 1 to {MAX_CLAIM_LEN} bytes")).into());
            }
        }
        issuer.options = options;
        Ok(Arc::new(issuer))
    }

    /// An issuer with a fresh random key.
    ///
    /// # Errors
    /// `InvalidInput` for a bad `kid`; `Storage` if the RNG fails.
    #[uniffi::constructor]
    pub fn generate(kid: String) -> Result<Arc<Self>, VaultError> {
        let seed = SecretKey::generate()?;
        Ok(Arc::new(Self::from_seed(kid, &seed)?))
    }

    /// The key id put in every grant's header.
    pub fn kid(&self) -> String {
        self.kid.clone()
    }

    /// The public key to configure on devices and verifiers.
    pub fn issuer_key(&self) -> IssuerKey {
        IssuerKey { kid: self.kid.clone(), public_key: self.signing_key.verifying_key().to_bytes().to_vec() }
    }

    /// The 32-byte private key (seed), to store a generated key in the
    /// backend's secret store. Handle it like any signing key.
    pub fn private_key(&self) -> Vec<u8> {
        self.signing_key.to_bytes().to_vec()
    }

    /// Signs a grant letting `user_id` work offline on `device_id` on the
    /// collections in `scopes`, from `issued_at` until `expires_at` (seconds
    /// since the epoch). A random `jti` is chosen.
    ///
    /// # Errors
    /// `InvalidInput` for empty or oversized ids or scopes, or `expires_at`
    /// not after `issued_at`.
    pub fn issue(
        &self,
        user_id: String,
        device_id: String,
        scopes: Vec<String>,
        issued_at: i64,
        expires_at: i64,
    ) -> Result<String, VaultError> {
        let jti = hex::encode(random_array::<16>()?);
        let claims = GrantClaims {
            sub: user_id,
            dev: device_id,
            iat: issued_at,
            exp: expires_at,
            scope: scopes,
            jti,
            kid: self.kid.clone(),
            nbf: None,
        };
        check_claims(&claims)?;
        let issuing = Issuing {
            alg: &self.options.algorithm,
            iss: self.options.issuer.as_deref(),
            aud: self.options.audience.as_deref(),
        };
        Ok(grant::sign(&self.signing_key, &self.kid, &claims, &issuing)?)
    }
}

impl GrantIssuer {
    fn from_seed(kid: String, seed: &SecretKey) -> Result<Self> {
        if kid.is_empty() || kid.len() > MAX_CLAIM_LEN {
            return Err(Error::InvalidInput(format!("kid must be 1 to {MAX_CLAIM_LEN} bytes")));
        }
        let seed = Zeroizing::new(*seed.as_bytes());
        Ok(Self { signing_key: SigningKey::from_bytes(&seed), kid, options: IssuerOptions::default() })
    }
}

fn check_claims(claims: &GrantClaims) -> Result<()> {
    for (name, value) in [("user_id", &claims.sub), ("device_id", &claims.dev)] {
        if value.is_empty() || value.len() > MAX_CLAIM_LEN {
            return Err(Error::InvalidInput(format!("{name} must be 1 to {MAX_CLAIM_LEN} bytes")));
        }
    }
    if claims.scope.len() > MAX_SCOPES
        || claims.scope.iter().any(|s| s.is_empty() || s.len() > MAX_CLAIM_LEN || s.contains(char::is_whitespace))
    {
        return Err(Error::InvalidInput(format!(
            "scopes: at most {MAX_SCOPES}, each 1 to {MAX_CLAIM_LEN} bytes without spaces"
        )));
    }
    if claims.exp <= claims.iat {
        return Err(Error::InvalidInput("expires_at must be after issued_at".into()));
    }
    Ok(())
}
