//! Android Key Attestation: a certificate chain from the Android Keystore
//! whose leaf carries the key description.
//!
//! [`AndroidVerifier::verify`] runs the three places in order: parse
//! ([`chain::parse_chain`], [`KeyDescription::from_der`]), chain
//! ([`chain::validate_chain`]), policy ([`AndroidPolicy::check`]), and
//! returns an [`AndroidEvidence`] or the first [`Refusal`].

pub mod chain;
pub mod key_description;
pub mod policy;

use std::time::SystemTime;

pub use key_description::{
    ApplicationId, AuthorizationList, KeyDescription, KeyOrigin, PackageInfo, RootOfTrust, SecurityLevel,
    VerifiedBootState, KEY_DESCRIPTION_OID,
};
pub use policy::{AndroidEvidence, AndroidPolicy};

use crate::refusal::Refusal;
use crate::trust::{RevokedSerials, TrustAnchors};

/// Verifies Android Key Attestation chains against the world it is given:
/// trust anchors and revoked serials here, the time and the policy per call.
#[derive(Clone, Debug)]
pub struct AndroidVerifier {
    anchors: TrustAnchors,
    revoked: RevokedSerials,
}

impl AndroidVerifier {
    /// A verifier trusting `anchors` and refusing `revoked` serials. Build
    /// a new one when the operator's roots or the revocation list change.
    pub fn new(anchors: TrustAnchors, revoked: RevokedSerials) -> Self {
        Self { anchors, revoked }
    }

    /// Verifies `chain` (DER certificates, leaf first, root last) at time
    /// `at` under `policy`.
    ///
    /// # Errors
    /// The [`Refusal`] naming the first failed check.
    pub fn verify<C: AsRef<[u8]>>(
        &self,
        chain: &[C],
        at: SystemTime,
        policy: &AndroidPolicy,
    ) -> Result<AndroidEvidence, Refusal> {
        let parsed = chain::parse_chain(chain)?;
        let description = KeyDescription::from_der(parsed.key_description_der())?;
        chain::validate_chain(&parsed, &self.anchors, &self.revoked, at)?;
        policy.check(&description)?;
        Ok(AndroidEvidence::new(&description, parsed.leaf_spki_der()?))
    }
}
