//! `GrantIssuer`: signs offline grants (compact JWS, EdDSA/Ed25519, `kid`).

use std::sync::Arc;

use offline_auth_proto::crypto::random_array;
use offline_auth_proto::directive::{
    assemble_directive, directive_signing_input, verify_directive, Directive, DirectiveAction,
};
use offline_auth_proto::escrow::EscrowPublicKey;
use offline_auth_proto::escrow_key;
use offline_auth_proto::grant::{
    self, GrantClaims, GrantPolicy, IssuerKey, Issuing, TrustedIssuers, ALG, ALG_ED25519, MAX_CLAIM_LEN, MAX_SCOPES,
};

use crate::error::{BackendError, Result};
use crate::signer::{Ed25519Signer, GrantSigner};

/// Signs offline grants with one Ed25519 key, named by `kid`, through a
/// [`GrantSigner`]: an in-memory key ([`GrantIssuer::new`],
/// [`GrantIssuer::generate`]) or a KMS/HSM ([`GrantIssuer::with_signer`]).
///
/// Publish [`GrantIssuer::issuer_key`] to devices (in `VaultConfig`'s
/// issuer keys) and to the [`crate::SyncVerifier`].
#[cfg_attr(feature = "ffi", derive(uniffi::Object))]
pub struct GrantIssuer {
    signer: Arc<dyn GrantSigner>,
    /// Set when the key is in memory, so it can be exported for storage.
    in_memory: Option<Arc<Ed25519Signer>>,
    kid: String,
    public_key: Vec<u8>,
    /// The signer's own key, to check every signature it returns.
    own_key: TrustedIssuers,
    options: IssuerOptions,
}

/// How a [`GrantIssuer`] signs: the algorithm's name in the header, and the
/// `iss`/`aud` claims it adds (for verifiers that pin them).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct IssuerOptions {
    /// `EdDSA` (RFC 8037, what most JOSE libraries know) or `Ed25519`
    /// (RFC 9864); the signature is the same.
    #[cfg_attr(feature = "ffi", uniffi(default = "EdDSA"))]
    pub algorithm: String,
    /// The `iss` claim to add, if any.
    #[cfg_attr(feature = "ffi", uniffi(default = None))]
    pub issuer: Option<String>,
    /// The `aud` claim to add, if any.
    #[cfg_attr(feature = "ffi", uniffi(default = None))]
    pub audience: Option<String>,
}

impl Default for IssuerOptions {
    fn default() -> Self {
        Self { algorithm: ALG.into(), issuer: None, audience: None }
    }
}

impl IssuerOptions {
    /// Names the algorithm `EdDSA` or `Ed25519` in the header (options are
    /// built from [`IssuerOptions::default`] and these, so that a new option
    /// is not a breaking change).
    #[must_use]
    pub fn with_algorithm(mut self, algorithm: impl Into<String>) -> Self {
        self.algorithm = algorithm.into();
        self
    }

    /// Adds the `iss` claim.
    #[must_use]
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Adds the `aud` claim.
    #[must_use]
    pub fn with_audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }
}

impl std::fmt::Debug for GrantIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrantIssuer").field("kid", &self.kid).finish_non_exhaustive()
    }
}

#[cfg_attr(feature = "ffi", uniffi::export)]
impl GrantIssuer {
    /// An issuer from a 32-byte Ed25519 private key (seed) and its key id.
    /// The key is taken by value, so that the library wipes its copy; every
    /// other argument of the issuer is borrowed.
    ///
    /// # Errors
    /// `InvalidInput` for a key that is not 32 bytes or an empty or
    /// oversized `kid`.
    #[cfg_attr(feature = "ffi", uniffi::constructor)]
    pub fn new(kid: &str, private_key: Vec<u8>) -> Result<Arc<Self>> {
        Self::with_options(kid, private_key, IssuerOptions::default())
    }

    /// Like [`GrantIssuer::new`], with the algorithm name and `iss`/`aud`.
    ///
    /// # Errors
    /// As [`GrantIssuer::new`]; `InvalidInput` for another algorithm or an
    /// empty or oversized `iss`/`aud`.
    #[cfg_attr(feature = "ffi", uniffi::constructor)]
    pub fn with_options(kid: &str, private_key: Vec<u8>, options: IssuerOptions) -> Result<Arc<Self>> {
        let signer = Ed25519Signer::new(kid, private_key)?;
        Self::build(signer.clone(), Some(signer), options)
    }

    /// An issuer with a fresh random key.
    ///
    /// # Errors
    /// `InvalidInput` for a bad `kid`; `Internal` if the RNG fails.
    #[cfg_attr(feature = "ffi", uniffi::constructor)]
    pub fn generate(kid: &str) -> Result<Arc<Self>> {
        let signer = Ed25519Signer::generate(kid)?;
        Self::build(signer.clone(), Some(signer), IssuerOptions::default())
    }

    /// An issuer whose key stays in `signer` (a KMS or HSM).
    ///
    /// # Errors
    /// `InvalidInput` for a bad `kid` or public key from the signer, or bad
    /// options.
    #[cfg_attr(feature = "ffi", uniffi::constructor)]
    pub fn with_signer(signer: Arc<dyn GrantSigner>, options: IssuerOptions) -> Result<Arc<Self>> {
        Self::build(signer, None, options)
    }

    /// The key id put in every grant's header.
    pub fn kid(&self) -> String {
        self.kid.clone()
    }

    /// The public key to configure on devices and verifiers.
    pub fn issuer_key(&self) -> IssuerKey {
        IssuerKey { kid: self.kid.clone(), public_key: self.public_key.clone() }
    }

    /// The 32-byte private key (seed) of an in-memory key, to store a
    /// generated key in the backend's secret store. Handle it like any
    /// signing key.
    ///
    /// # Errors
    /// `InvalidInput` when the key is held by an external [`GrantSigner`].
    pub fn private_key(&self) -> Result<Vec<u8>> {
        match &self.in_memory {
            Some(signer) => Ok(signer.private_key()),
            None => Err(BackendError::invalid("the key is held by an external signer and cannot be exported")),
        }
    }

    /// Signs a grant letting `user_id` work offline on `device_id` on the
    /// collections in `scopes`, from `issued_at` until `expires_at` (seconds
    /// since the epoch). A random `jti` is chosen.
    ///
    /// # Errors
    /// `InvalidInput` for empty or oversized ids or scopes, or `expires_at`
    /// not after `issued_at`; `Signer` if the signer fails or returns a
    /// signature that does not verify.
    pub fn issue(
        &self,
        user_id: &str,
        device_id: &str,
        scopes: &[String],
        issued_at: i64,
        expires_at: i64,
    ) -> Result<String> {
        self.issue_renewal(user_id, device_id, scopes, issued_at, expires_at, None)
    }

    /// Like [`GrantIssuer::issue`], signing in the renewal nonce the device
    /// sent with its request (`nonce` claim), if any: with it, the device
    /// may take the grant's `issued_at` as fresh and repair its trusted time
    /// from it (docs/TIME.md). Pass the device's value unchanged, and set
    /// `issued_at` to the backend's time now.
    ///
    /// # Errors
    /// As [`GrantIssuer::issue`]; `InvalidInput` for an empty or oversized nonce.
    pub fn issue_renewal(
        &self,
        user_id: &str,
        device_id: &str,
        scopes: &[String],
        issued_at: i64,
        expires_at: i64,
        nonce: Option<String>,
    ) -> Result<String> {
        let nonce = grant::nonce_claim(nonce)
            .map_err(|_| BackendError::invalid(format!("the renewal nonce must be 1 to {MAX_CLAIM_LEN} bytes")))?;
        let claims = GrantClaims {
            sub: user_id.to_owned(),
            dev: device_id.to_owned(),
            iat: issued_at,
            exp: expires_at,
            scope: scopes.to_vec(),
            jti: hex::encode(random_array::<16>()?),
            kid: self.kid.clone(),
            nbf: None,
            nonce,
        };
        check_claims(&claims)?;
        let issuing = Issuing {
            alg: &self.options.algorithm,
            iss: self.options.issuer.as_deref(),
            aud: self.options.audience.as_deref(),
        };
        let input = grant::signing_input(&self.kid, &claims, &issuing)?;
        let signature: [u8; 64] = self
            .signer
            .sign(input.as_bytes().to_vec())?
            .try_into()
            .map_err(|_| BackendError::Signer { reason: "the signature is not 64 bytes".into() })?;
        let token = grant::assemble(&input, &signature);
        grant::verify_signature(&token, &self.own_key, &GrantPolicy { accept_untyped: false, ..Default::default() })
            .map_err(|_| BackendError::Signer {
                reason: "the signature does not verify with the signer's public key".into(),
            })?;
        Ok(token)
    }
}

impl GrantIssuer {
    /// Signs a remote directive (`offline-directive+jwt`) telling
    /// `device_id` to take `action`, issued at `issued_at` (the backend's
    /// time) with a random `jti`. Devices verify it with the same issuer
    /// keys as grants and apply it with `PinVault::apply_directive` (decision 0015).
    ///
    /// # Errors
    /// `InvalidInput` for an empty or oversized device id; `Signer` if the
    /// signer fails or returns a signature that does not verify.
    pub fn issue_directive(&self, device_id: &str, action: DirectiveAction, issued_at: i64) -> Result<String> {
        let directive = Directive {
            device_id: device_id.to_owned(),
            jti: hex::encode(random_array::<16>()?),
            iat: issued_at,
            action,
            kid: self.kid.clone(),
        };
        let input = directive_signing_input(&self.options.algorithm, &directive)?;
        let signature: [u8; 64] = self
            .signer
            .sign(input.as_bytes().to_vec())?
            .try_into()
            .map_err(|_| BackendError::Signer { reason: "the signature is not 64 bytes".into() })?;
        let token = assemble_directive(&input, &signature);
        verify_directive(&token, &self.own_key, device_id).map_err(|_| BackendError::Signer {
            reason: "the signature does not verify with the signer's public key".into(),
        })?;
        Ok(token)
    }

    fn build(
        signer: Arc<dyn GrantSigner>,
        in_memory: Option<Arc<Ed25519Signer>>,
        options: IssuerOptions,
    ) -> Result<Arc<Self>> {
        let kid = signer.kid();
        if kid.is_empty() || kid.len() > MAX_CLAIM_LEN {
            return Err(BackendError::invalid(format!("kid must be 1 to {MAX_CLAIM_LEN} bytes")));
        }
        if options.algorithm != ALG && options.algorithm != ALG_ED25519 {
            return Err(BackendError::invalid("the algorithm must be EdDSA or Ed25519"));
        }
        for value in [&options.issuer, &options.audience].into_iter().flatten() {
            if value.is_empty() || value.len() > MAX_CLAIM_LEN {
                return Err(BackendError::invalid(format!("iss and aud must be 1 to {MAX_CLAIM_LEN} bytes")));
            }
        }
        let public_key = signer.public_key();
        let own_key = TrustedIssuers::new(&[IssuerKey { kid: kid.clone(), public_key: public_key.clone() }])?;
        Ok(Arc::new(Self { signer, in_memory, kid, public_key, own_key, options }))
    }
}

fn check_claims(claims: &GrantClaims) -> Result<()> {
    for (name, value) in [("user_id", &claims.sub), ("device_id", &claims.dev)] {
        if value.is_empty() || value.len() > MAX_CLAIM_LEN {
            return Err(BackendError::invalid(format!("{name} must be 1 to {MAX_CLAIM_LEN} bytes")));
        }
    }
    if claims.scope.len() > MAX_SCOPES
        || claims.scope.iter().any(|s| s.is_empty() || s.len() > MAX_CLAIM_LEN || s.contains(char::is_whitespace))
    {
        return Err(BackendError::invalid(format!(
            "scopes: at most {MAX_SCOPES}, each 1 to {MAX_CLAIM_LEN} bytes without spaces"
        )));
    }
    if claims.exp <= claims.iat {
        return Err(BackendError::invalid("expires_at must be after issued_at"));
    }
    Ok(())
}

// Not exported as such: the bindings have no escrow key type yet.
impl GrantIssuer {
    /// Signs the escrow public key `key` (see `crate::escrow`) as devices
    /// take it (`VaultConfig::escrow_key`): a JWS typed `escrow-key+jwt`.
    ///
    /// # Errors
    /// `Signer` if the signer fails or returns a signature that does not verify.
    pub fn sign_escrow_key(&self, key: &EscrowPublicKey, issued_at: i64) -> Result<String> {
        let input = escrow_key::escrow_key_signing_input(&self.kid, key, issued_at)?;
        let signature: [u8; 64] = self
            .signer
            .sign(input.as_bytes().to_vec())?
            .try_into()
            .map_err(|_| BackendError::Signer { reason: "the signature is not 64 bytes".into() })?;
        let token = grant::assemble(&input, &signature);
        escrow_key::verify_escrow_key(&token, &self.own_key).map_err(|_| BackendError::Signer {
            reason: "the signature does not verify with the signer's public key".into(),
        })?;
        Ok(token)
    }
}
