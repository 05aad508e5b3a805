//! Attested enrolment and device-signed uploads (the `attestation` feature).
//!
//! What a verifier-only backend needs to see the hardware behind a device,
//! without a database, an HTTP stack or a clock of its own:
//!
//! - [`AttestationPolicy`]: plain data a backend builds from its
//!   configuration and logs — the weakest [`EvidenceLevel`] accepted, the
//!   longest offline window per level, boot state, app identity, patch level,
//!   and whether uploads must be signed. [`AttestationPolicy::production`]
//!   and [`AttestationPolicy::development`] are the two starting points.
//! - [`EnrolmentVerifier`]: trust anchors and revoked serials (given by the
//!   caller, as `offline-auth-attestation` wants), then per enrolment the
//!   evidence, the challenge the caller issued and the time, giving an
//!   [`EnrolmentSummary`] to store per device (level, patch level, boot
//!   state, app id, the key that signs uploads, the window to grant) or the
//!   [`EnrolmentRefusal`] naming why.
//! - [`verify_upload_signature`]: an upload's signature checked against the
//!   key stored at enrolment, over
//!   [`offline_auth_proto::upload_signature::upload_signature_message`].
//!
//! Challenges are the caller's: it makes them with [`generate_challenge`],
//! stores them where every instance sees them, takes each once and refuses
//! it after [`CHALLENGE_TTL_SECS`] (the reference server's store does this).
//!
//! # Apple App Attest
//! [`Evidence::AppleAppAttest`] is verified when the verifier was given
//! Apple's root and the App ID ([`EnrolmentVerifier::with_apple_app_attest`];
//! refused with [`EnrolmentRefusal::UnsupportedEvidence`] otherwise), in the
//! one `match` of [`EnrolmentVerifier::verify`] (in `enrolment.rs`): client
//! data hash SHA-256 of the challenge, level [`APP_ATTEST_LEVEL`]. The
//! summary's [`UploadKey::AppleAppAttest`] checks the assertions uploads
//! carry, and [`verify_upload_signature`] returns each one's counter for the
//! caller to store (compare-and-set) before it acts on the upload.

mod enrolment;
mod policy;
mod refusal;
mod upload;

pub use enrolment::{
    generate_challenge, EnrolmentSummary, EnrolmentVerifier, Evidence, APP_ATTEST_LEVEL, CHALLENGE_LEN,
    CHALLENGE_TTL_SECS,
};
pub use offline_auth_attestation::{RevokedSerials, TrustAnchors};
pub use policy::{AttestationPolicy, EvidenceLevel, LevelWindows, PolicyMode};
pub use refusal::{EnrolmentRefusal, UploadRefusal};
pub use upload::{verify_upload_signature, UploadKey};
