//! What an App Attest attestation must bind, and what a backend keeps: the
//! third place, our own code over plain data. [`ApplePolicy::check`] runs
//! Apple's steps 2 to 9 ("Validating apps that connect to your server")
//! after the chain (step 1) has validated, and names the first that fails.
//! Every comparison of digests is constant time.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::auth_data::AuthenticatorData;
use super::x5c::Chain;
use crate::refusal::Refusal;

/// App Attest's AAGUID in production: `appattest` and seven zero bytes.
const AAGUID_PRODUCTION: &[u8; 16] = b"appattest\0\0\0\0\0\0\0";
/// App Attest's AAGUID in the development environment.
const AAGUID_DEVELOPMENT: &[u8; 16] = b"appattestdevelop";

/// Which App Attest environment attested the key (from the AAGUID).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AppleEnvironment {
    /// An app from the App Store, TestFlight or an enterprise distribution.
    Production,
    /// A development build (the `com.apple.developer.devicecheck.appattest-environment`
    /// entitlement set to `development`).
    Development,
}

/// What an App Attest attestation must show to be accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApplePolicy {
    /// The App ID: team id, a dot, bundle id (`ABCDE12345.org.example.fieldapp`).
    pub app_id: String,
    /// SHA-256 of what the device signed over at enrolment (the server's
    /// challenge and the enrolment request); compared through the nonce.
    pub client_data_hash: Vec<u8>,
    /// Accept keys from the development environment.
    pub allow_development: bool,
}

impl ApplePolicy {
    /// The strict default for `app_id` and this enrolment's
    /// `client_data_hash`: production keys only.
    pub fn new(app_id: impl Into<String>, client_data_hash: impl Into<Vec<u8>>) -> Self {
        Self { app_id: app_id.into(), client_data_hash: client_data_hash.into(), allow_development: false }
    }

    /// Accepts keys attested in the development environment (test builds).
    #[must_use]
    pub fn allowing_development(mut self) -> Self {
        self.allow_development = true;
        self
    }

    /// Apple's steps 2 to 9 over a parsed attestation, for the key id the device sent.
    ///
    /// # Errors
    /// [`Refusal::NonceMismatch`], [`Refusal::KeyIdMismatch`],
    /// [`Refusal::AppIdMismatch`], [`Refusal::AttestationCounterNotZero`],
    /// [`Refusal::UnknownAaguid`], [`Refusal::DevelopmentEnvironment`],
    /// [`Refusal::CredentialIdMismatch`], in that order.
    pub(crate) fn check(
        &self,
        chain: &Chain,
        auth_data_bytes: &[u8],
        auth_data: &AuthenticatorData<'_>,
        key_id: &[u8],
    ) -> Result<AppleEnvironment, Refusal> {
        let nonce = Sha256::new().chain_update(auth_data_bytes).chain_update(&self.client_data_hash).finalize();
        if !bool::from(nonce.as_slice().ct_eq(&chain.nonce)) {
            return Err(Refusal::NonceMismatch);
        }
        if !bool::from(Sha256::digest(&chain.point).as_slice().ct_eq(key_id)) {
            return Err(Refusal::KeyIdMismatch);
        }
        check_app_id(auth_data, &self.app_id)?;
        if auth_data.counter != 0 {
            return Err(Refusal::AttestationCounterNotZero { counter: auth_data.counter });
        }
        let credential = auth_data.credential.as_ref().ok_or(Refusal::MalformedAuthenticatorData)?;
        let environment = if credential.aaguid == AAGUID_PRODUCTION {
            AppleEnvironment::Production
        } else if credential.aaguid == AAGUID_DEVELOPMENT {
            AppleEnvironment::Development
        } else {
            return Err(Refusal::UnknownAaguid);
        };
        if environment == AppleEnvironment::Development && !self.allow_development {
            return Err(Refusal::DevelopmentEnvironment);
        }
        if !bool::from(credential.credential_id.ct_eq(key_id)) {
            return Err(Refusal::CredentialIdMismatch);
        }
        Ok(environment)
    }
}

/// The RP ID hash must be SHA-256 of the App ID.
pub(crate) fn check_app_id(auth_data: &AuthenticatorData<'_>, app_id: &str) -> Result<(), Refusal> {
    if bool::from(Sha256::digest(app_id.as_bytes()).as_slice().ct_eq(auth_data.rp_id_hash)) {
        Ok(())
    } else {
        Err(Refusal::AppIdMismatch)
    }
}

/// What a backend stores per device after an accepted attestation: the key
/// to check later assertions with, its counter, and Apple's receipt.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AppleEvidence {
    /// Production or development.
    pub environment: AppleEnvironment,
    /// The key id: SHA-256 of the public key's uncompressed point.
    pub key_id: Vec<u8>,
    /// The attested key as DER `SubjectPublicKeyInfo`.
    pub public_key_spki: Vec<u8>,
    /// The attested key as an uncompressed SEC1 point (65 bytes): what
    /// [`super::verify_assertion`] takes.
    pub public_key_point: Vec<u8>,
    /// The sign counter (0 after an attestation); store it and pass it to
    /// the next assertion.
    pub counter: u32,
    /// Apple's receipt (DER PKCS #7), for the fraud-metric service.
    pub receipt: Vec<u8>,
}
