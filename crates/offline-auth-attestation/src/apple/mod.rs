//! Apple App Attest: an attestation object at enrolment, then assertions
//! on later requests.
//!
//! [`AppleVerifier::verify_attestation`] runs the three places in order:
//! parse (`cbor`: the bounded CBOR object; `auth_data`; `x5c`: the
//! certificates, the nonce extension and the key), chain (`x5c::validate`,
//! `rustls-webpki` to the given roots at the given time, shared with
//! Android) and policy ([`ApplePolicy::check`]: nonce, key id, App ID,
//! counter 0, environment, credential id), and returns an [`AppleEvidence`]
//! or the first [`Refusal`].
//!
//! [`verify_assertion`] checks one assertion against the stored key and
//! counter and returns the new counter, which the backend stores before
//! it acts on the request (a counter that did not rise is a replay).

mod auth_data;
mod cbor;
mod policy;
mod x5c;

use std::time::SystemTime;

use p256::ecdsa::signature::hazmat::PrehashVerifier;
use sha2::{Digest, Sha256};

pub use policy::{AppleEnvironment, AppleEvidence, ApplePolicy};
pub use x5c::NONCE_OID;

use crate::refusal::Refusal;
use crate::trust::{RevokedSerials, TrustAnchors};
use auth_data::AuthenticatorData;

/// Verifies App Attest attestation objects against the world it is given:
/// trust anchors (Apple App Attestation Root CA) and revoked serials here,
/// the time and the policy per call.
#[derive(Clone, Debug)]
pub struct AppleVerifier {
    anchors: TrustAnchors,
    revoked: RevokedSerials,
}

impl AppleVerifier {
    /// A verifier trusting `anchors` and refusing `revoked` serials (Apple
    /// publishes no list; an operator may still refuse a serial).
    pub fn new(anchors: TrustAnchors, revoked: RevokedSerials) -> Self {
        Self { anchors, revoked }
    }

    /// Verifies an attestation object (the bytes `attestKey` returned) for
    /// `key_id` (the decoded key identifier `generateKey` returned) at time
    /// `at` under `policy`.
    ///
    /// # Errors
    /// The [`Refusal`] naming the first failed check.
    pub fn verify_attestation(
        &self,
        attestation: &[u8],
        key_id: &[u8],
        at: SystemTime,
        policy: &ApplePolicy,
    ) -> Result<AppleEvidence, Refusal> {
        let object = cbor::attestation_object(attestation)?;
        if object.fmt != "apple-appattest" {
            return Err(Refusal::UnsupportedAttestationFormat);
        }
        let auth_data_bytes = object.auth_data.0;
        let auth_data = AuthenticatorData::attestation(&auth_data_bytes)?;
        let chain = x5c::parse(object.att_stmt.x5c.0)?;
        x5c::validate(&chain, &self.anchors, &self.revoked, at)?;
        let environment = policy.check(&chain, &auth_data_bytes, &auth_data, key_id)?;
        Ok(AppleEvidence {
            environment,
            key_id: key_id.to_vec(),
            public_key_spki: chain.spki_der,
            public_key_point: chain.point,
            counter: auth_data.counter,
            receipt: object.att_stmt.receipt.0,
        })
    }
}

/// Verifies an assertion (the bytes `generateAssertion` returned) over
/// `client_data` (the request it vouches for, as the device hashed it) with
/// the stored key (`public_key_point`, an uncompressed P-256 point from
/// [`AppleEvidence::public_key_point`]), for `app_id`, after `last_counter`.
/// Returns the assertion's counter, to store in place of `last_counter`.
///
/// # Errors
/// [`Refusal::AssertionTooLarge`], [`Refusal::MalformedAssertion`],
/// [`Refusal::MalformedAuthenticatorData`], [`Refusal::UnsupportedKey`],
/// [`Refusal::BadAssertionSignature`], [`Refusal::AppIdMismatch`],
/// [`Refusal::AssertionReplayed`] (the same counter again),
/// [`Refusal::CounterWentBack`].
pub fn verify_assertion(
    assertion: &[u8],
    client_data: &[u8],
    public_key_point: &[u8],
    app_id: &str,
    last_counter: u32,
) -> Result<u32, Refusal> {
    let decoded = cbor::assertion(assertion)?;
    let auth_data = AuthenticatorData::assertion(&decoded.authenticator_data.0)?;
    let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(public_key_point).map_err(|_| Refusal::UnsupportedKey)?;
    let nonce =
        Sha256::new().chain_update(&decoded.authenticator_data.0).chain_update(Sha256::digest(client_data)).finalize();
    let signature =
        p256::ecdsa::Signature::from_der(&decoded.signature.0).map_err(|_| Refusal::BadAssertionSignature)?;
    key.verify_prehash(&Sha256::digest(nonce), &signature).map_err(|_| Refusal::BadAssertionSignature)?;
    policy::check_app_id(&auth_data, app_id)?;
    match auth_data.counter {
        c if c > last_counter => Ok(c),
        c if c == last_counter => Err(Refusal::AssertionReplayed { counter: c }),
        c => Err(Refusal::CounterWentBack { counter: c, last: last_counter }),
    }
}
