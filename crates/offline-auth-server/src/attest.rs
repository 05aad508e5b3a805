//! Attested enrolment in the reference server: the challenge endpoint, the
//! evidence an enrolment carries, and the device signature on each upload.
//! The backend crate (`attestation` feature) verifies and decides; this
//! module only moves bytes between HTTP, the store and it.
//!
//! - `POST /challenge` `{user, password, device_id}` → `{challenge,
//!   expires_at}`: 32 random bytes (base64url), stored bound to the device
//!   id, usable once within [`CHALLENGE_TTL_SECS`].
//! - `POST /enroll` then also carries `challenge` (base64url, as given) and
//!   `evidence`: `{"kind": "android_key_attestation", "chain": [base64 DER,
//!   leaf first]}`, `{"kind": "apple_app_attest", "key_id": …,
//!   "attestation_object": base64}` or `{"kind": "none"}` (the default).
//!   The challenge is taken (once, on every instance) before the evidence is
//!   verified, so a refused attempt spends it too.
//! - `POST /sync` carries the device signature in the
//!   [`UPLOAD_SIGNATURE_HEADER`] header (base64 DER ECDSA; for an App Attest
//!   device, base64 of the CBOR assertion over the same message). An
//!   assertion's counter is raised in the store by compare-and-set before
//!   the upload is applied: a replayed one is refused (`assertion_replayed`)
//!   on every instance.
//!
//! Every refusal is a JSON error whose `reason` is the refusal's `as_str`;
//! upload refusals are counted on `/metrics` under that name.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, UNIX_EPOCH};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use offline_auth_backend::attestation::{
    generate_challenge, verify_upload_signature, AttestationPolicy, EnrolmentRefusal, EnrolmentSummary,
    EnrolmentVerifier, Evidence, RevokedSerials, TrustAnchors, UploadKey, UploadRefusal, CHALLENGE_LEN,
    CHALLENGE_TTL_SECS,
};
use offline_auth_backend::ServerClock;
use offline_auth_proto::upload_signature::UPLOAD_SIGNATURE_HEADER;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::store::{ChallengeTaken, DeviceEvidence};
use crate::{bad_request, ApiError, AppState};

/// Google's hardware attestation roots (RSA-4096 and ECDSA P-384), copied
/// from Google's `android/keyattestation` repository's `roots.json` (a JSON
/// array of PEM strings): the default trust anchors.
pub const GOOGLE_ROOTS_JSON: &str = include_str!("../data/google-attestation-roots.json");

/// Apple's App Attestation Root CA (ECDSA P-384, valid 2020-03-18 to
/// 2045-03-15, from Apple's PKI page), the same form: the default App
/// Attest trust anchor.
pub const APPLE_APP_ATTEST_ROOTS_JSON: &str = include_str!("../data/apple-app-attest-roots.json");

/// Longest challenge looked up (ours are `CHALLENGE_LEN` bytes).
const MAX_CHALLENGE_LEN: usize = 4 * CHALLENGE_LEN;

/// Certificates in one evidence chain (the attestation crate's own limit
/// is checked again there).
const MAX_EVIDENCE_CERTS: usize = 10;

/// The server's attestation: the verifier (replaced when the roots or the
/// revocation list are reloaded) and the clock it verifies at.
pub struct Attestation {
    verifier: RwLock<Arc<EnrolmentVerifier>>,
    clock: Arc<dyn ServerClock>,
}

impl Attestation {
    /// Verifies with `verifier` at `clock`'s time (the system clock in the
    /// binary; a fixed time in tests).
    pub fn new(verifier: EnrolmentVerifier, clock: Arc<dyn ServerClock>) -> Self {
        Self { verifier: RwLock::new(Arc::new(verifier)), clock }
    }

    /// Replaces the verifier (new roots, a refreshed revocation list) for
    /// the enrolments that start after this call.
    pub fn replace_verifier(&self, verifier: EnrolmentVerifier) {
        *self.verifier.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(verifier);
    }

    fn verifier(&self) -> Arc<EnrolmentVerifier> {
        self.verifier.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The policy in force.
    pub fn policy(&self) -> AttestationPolicy {
        self.verifier().policy().clone()
    }

    fn now(&self) -> Result<i64, ApiError> {
        self.clock.now_unix_secs().map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "clock"))
    }
}

/// Trust anchors from a JSON array of PEM certificates (the form of
/// Google's `roots.json`).
///
/// # Errors
/// A message naming what is wrong (not JSON, not PEM, not a certificate).
pub fn anchors_from_roots_json(json: &[u8]) -> Result<TrustAnchors, String> {
    let pems: Vec<String> = serde_json::from_slice(json).map_err(|_| "roots: expected a JSON array of PEM strings")?;
    let mut ders = Vec::new();
    for pem in &pems {
        let mut body = None::<String>;
        for line in pem.lines().map(str::trim) {
            match (line, body.as_mut()) {
                ("-----BEGIN CERTIFICATE-----", _) => body = Some(String::new()),
                ("-----END CERTIFICATE-----", Some(b)) => {
                    ders.push(STANDARD.decode(b.as_bytes()).map_err(|_| "roots: a PEM body is not base64")?);
                    body = None;
                }
                (line, Some(b)) => b.push_str(line),
                _ => {}
            }
        }
    }
    if ders.is_empty() {
        return Err("roots: no certificate".into());
    }
    TrustAnchors::from_der_certificates(ders.iter().map(Vec::as_slice)).map_err(|e| format!("roots: {e}"))
}

/// Revoked serials from a status-list JSON file's bytes.
///
/// # Errors
/// A message if the list is malformed or too large.
pub fn revoked_from_status_list(json: &[u8]) -> Result<RevokedSerials, String> {
    RevokedSerials::from_status_list_json(json).map_err(|e| format!("revocation list: {e}"))
}

/// The named preset: `production` or `development`.
pub fn policy_named(name: &str) -> Option<AttestationPolicy> {
    match name {
        "production" => Some(AttestationPolicy::production()),
        "development" => Some(AttestationPolicy::development()),
        _ => None,
    }
}

fn attestation(state: &AppState) -> Result<&Attestation, ApiError> {
    state.attestation.as_deref().ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "attestation is not configured"))
}

/// `POST /challenge`: a fresh single-use challenge for the device.
pub(crate) async fn challenge(state: &AppState, device_id: &str) -> Result<Value, ApiError> {
    let attestation = attestation(state)?;
    let now = attestation.now()?;
    let challenge = generate_challenge()?;
    let expires_at = now.saturating_add(CHALLENGE_TTL_SECS);
    state.store.put_challenge(device_id, &challenge, expires_at, now).await?;
    Ok(json!({"challenge": URL_SAFE_NO_PAD.encode(&challenge), "expires_at": expires_at}))
}

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum EvidenceJson {
    AndroidKeyAttestation { chain: Vec<String> },
    AppleAppAttest { key_id: String, attestation_object: String },
    None,
}

#[derive(Deserialize)]
struct EnrolmentJson {
    challenge: Option<String>,
    evidence: Option<EvidenceJson>,
}

fn decode_evidence(json: Option<EvidenceJson>) -> Result<Evidence, ApiError> {
    let bad = |_| bad_request("evidence: expected base64");
    Ok(match json {
        None | Some(EvidenceJson::None) => Evidence::None,
        Some(EvidenceJson::AndroidKeyAttestation { chain }) => {
            if chain.len() > MAX_EVIDENCE_CERTS {
                return Err(bad_request("evidence: too many certificates"));
            }
            let chain = chain.iter().map(|c| STANDARD.decode(c)).collect::<Result<_, _>>().map_err(bad)?;
            Evidence::AndroidKeyAttestation { chain }
        }
        Some(EvidenceJson::AppleAppAttest { key_id, attestation_object }) => {
            Evidence::AppleAppAttest { key_id, attestation_object: STANDARD.decode(attestation_object).map_err(bad)? }
        }
    })
}

/// A refused enrolment: 403, `{"error": reason}`, the reason logged and counted.
fn refused(state: &AppState, device_id: &str, refusal: &EnrolmentRefusal) -> ApiError {
    state.metrics.enrolment_refused(refusal.as_str());
    tracing::warn!(device_id, reason = refusal.as_str(), detail = %refusal, "enrolment refused");
    ApiError::new(StatusCode::FORBIDDEN, refusal.as_str())
}

/// The enrolment's evidence checked under the policy: `None` when
/// attestation is off; otherwise the summary to store (with the window the
/// grant gets) or the refusal.
pub(crate) async fn enrolment(
    state: &AppState,
    device_id: &str,
    body: &Bytes,
) -> Result<Option<DeviceEvidence>, ApiError> {
    let Some(attestation) = state.attestation.as_deref() else { return Ok(None) };
    let request: EnrolmentJson =
        serde_json::from_slice(body).map_err(|_| bad_request("expected JSON {challenge, evidence}"))?;
    let evidence = decode_evidence(request.evidence)?;
    let challenge = request
        .challenge
        .and_then(|c| URL_SAFE_NO_PAD.decode(c).ok())
        // Ours are CHALLENGE_LEN bytes; any stored one is taken, the bound
        // only keeps a stranger's long string out of the query.
        .filter(|c| (1..=MAX_CHALLENGE_LEN).contains(&c.len()))
        .ok_or_else(|| refused(state, device_id, &EnrolmentRefusal::ChallengeUnknown))?;
    let now = attestation.now()?;
    let taken = match state.store.take_challenge(device_id, &challenge, now).await? {
        ChallengeTaken::Fresh => None,
        ChallengeTaken::Expired => Some(EnrolmentRefusal::ChallengeExpired),
        ChallengeTaken::Used => Some(EnrolmentRefusal::ChallengeReused),
        ChallengeTaken::Unknown => Some(EnrolmentRefusal::ChallengeUnknown),
    };
    if let Some(refusal) = taken {
        return Err(refused(state, device_id, &refusal));
    }
    let verifier = attestation.verifier();
    let at = UNIX_EPOCH + Duration::from_secs(u64::try_from(now).unwrap_or(0));
    // Chain validation is CPU work: off the async workers.
    let verified = tokio::task::spawn_blocking(move || verifier.verify(&evidence, &challenge, at))
        .await
        .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "verification failed"))?;
    let summary = verified.map_err(|refusal| refused(state, device_id, &refusal))?;
    tracing::info!(device_id, level = summary.level.as_str(), window_secs = summary.window_secs, "enrolment attested");
    Ok(Some(stored(&summary)))
}

fn stored(summary: &EnrolmentSummary) -> DeviceEvidence {
    DeviceEvidence {
        kind: summary.kind.to_owned(),
        level: summary.level.as_str().to_owned(),
        policy: summary.mode.as_str().to_owned(),
        window_secs: summary.window_secs,
        os_patch_level: summary.os_patch_level.and_then(|p| i64::try_from(p).ok()),
        boot_state: summary.boot_state.map(str::to_owned),
        device_locked: summary.device_locked,
        app_id: summary.app_id.clone(),
        upload_key: summary.upload_key.as_ref().map(|k| (k.kind().to_owned(), k.key_bytes().to_vec())),
        app_attest_counter: match &summary.upload_key {
            Some(UploadKey::AppleAppAttest { counter, .. }) => Some(i64::from(*counter)),
            _ => None,
        },
    }
}

/// The offline window a device's grants get: its stored evidence's, or
/// `default` when attestation is off. A device enrolled before attestation
/// was turned on has no evidence: it gets what the policy gives an
/// unattested device, and is refused (`level_refused`) where that is nothing
/// (production), so it must enrol again with evidence.
pub(crate) async fn window_for(state: &AppState, device_id: &str, default: i64) -> Result<i64, ApiError> {
    let Some(attestation) = state.attestation.as_deref() else { return Ok(default) };
    if let Some(evidence) = state.store.device_evidence(device_id).await? {
        return Ok(evidence.window_secs);
    }
    let level = offline_auth_backend::attestation::EvidenceLevel::Unattested;
    attestation
        .policy()
        .window_secs(level)
        .ok_or_else(|| refused(state, device_id, &EnrolmentRefusal::LevelRefused { level }))
}

/// Checks an upload's device signature under the policy (nothing when
/// attestation is off). `span` is the batch's first seq and entry count.
pub(crate) async fn check_upload(
    state: &AppState,
    device_id: &str,
    headers: &HeaderMap,
    span: (u64, usize),
    body: &Bytes,
) -> Result<(), ApiError> {
    let Some(attestation) = state.attestation.as_deref() else { return Ok(()) };
    let required = attestation.policy().require_signed_uploads;
    let signature = match headers.get(UPLOAD_SIGNATURE_HEADER) {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(|v| STANDARD.decode(v.trim()).ok())
                .ok_or_else(|| upload_refused(device_id, UploadRefusal::SignatureInvalid))?,
        ),
    };
    if signature.is_none() && !required {
        return Ok(());
    }
    let key = state.store.device_evidence(device_id).await?.and_then(stored_key);
    let (first_seq, entries) = span;
    let last_seq = first_seq.saturating_add(entries as u64).saturating_sub(1);
    let counter =
        verify_upload_signature(key.as_ref(), signature.as_deref(), device_id, first_seq, last_seq, body, required)
            .map_err(|refusal| upload_refused(device_id, refusal))?;
    // An App Attest assertion counts once: the one request that raises the
    // stored counter goes on, on whichever instance.
    if let Some(counter) = counter {
        if !state.store.advance_app_attest_counter(device_id, i64::from(counter)).await? {
            return Err(upload_refused(device_id, UploadRefusal::AssertionReplayed));
        }
    }
    Ok(())
}

/// The upload key stored with `evidence`, if it has one the backend reads.
fn stored_key(evidence: DeviceEvidence) -> Option<UploadKey> {
    let (kind, key) = evidence.upload_key?;
    if kind == "apple_app_attest" {
        let counter = u32::try_from(evidence.app_attest_counter?).ok()?;
        return UploadKey::from_stored_app_attest(&key, evidence.app_id.as_deref()?, counter);
    }
    UploadKey::from_stored(&kind, &key)
}

fn upload_refused(device_id: &str, refusal: UploadRefusal) -> ApiError {
    tracing::warn!(device_id, reason = refusal.as_str(), "sync rejected");
    ApiError::refused(StatusCode::FORBIDDEN, refusal.as_str(), refusal.as_str())
}

/// Apple App Attest in the server's configuration: the App ID (team id, a
/// dot, bundle id) and the roots file (`None`: Apple's, built in).
#[derive(Clone, Debug)]
pub struct AppleAttestConfig {
    /// `TEAMID.bundle.id`.
    pub app_id: String,
    /// A JSON array of PEM certificates.
    pub roots: Option<std::path::PathBuf>,
}

/// A verifier under `policy` trusting the roots in `roots` (a JSON array of
/// PEM certificates; `None`: Google's, built in) and refusing the serials of
/// the status list in `revoked` (`None`: none); with `apple`, App Attest
/// evidence for its App ID is verified too (refused otherwise).
///
/// # Errors
/// A message naming the file and what is wrong with it, or the App ID.
pub fn load_verifier(
    policy: AttestationPolicy,
    roots: Option<&std::path::Path>,
    revoked: Option<&std::path::Path>,
    apple: Option<&AppleAttestConfig>,
) -> Result<EnrolmentVerifier, String> {
    let read = |path: &std::path::Path| std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()));
    let anchors = match roots {
        Some(path) => anchors_from_roots_json(&read(path)?)?,
        None => anchors_from_roots_json(GOOGLE_ROOTS_JSON.as_bytes())?,
    };
    let revoked = match revoked {
        Some(path) => revoked_from_status_list(&read(path)?)?,
        None => RevokedSerials::none(),
    };
    let verifier = EnrolmentVerifier::new(anchors, revoked, policy);
    let Some(apple) = apple else { return Ok(verifier) };
    match apple.app_id.split_once('.') {
        Some((team, bundle)) if !team.is_empty() && !bundle.is_empty() => {}
        _ => return Err("apple app id: expected TEAMID.bundle.id".into()),
    }
    let anchors = match &apple.roots {
        Some(path) => anchors_from_roots_json(&read(path)?)?,
        None => anchors_from_roots_json(APPLE_APP_ATTEST_ROOTS_JSON.as_bytes())?,
    };
    Ok(verifier.with_apple_app_attest(anchors, apple.app_id.clone()))
}
