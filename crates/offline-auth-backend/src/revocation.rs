//! Revocation: an operator's word that a device must stop, with a reason
//! and a time.
//!
//! Store-agnostic: the backend keeps [`Revocation`]s wherever it keeps its
//! devices, and this module says what follows from one.
//!
//! 1. No grant is issued for a revoked device, neither a renewal nor an
//!    enrolment ([`Revocation::refusal`], `BackendError::DeviceRevoked`):
//!    its offline window runs out at the `exp` of the grant it holds.
//! 2. Its uploads are still verified (so what it sent is known and
//!    authentic), then judged ([`Revocation::judge`]): the edits stamped
//!    before the revocation are applied if the [`RevocationPolicy`] says so,
//!    every other edit is refused and reported ([`RefusedEdits`]), never
//!    dropped in silence. The device gets a receipt for what was applied
//!    only, so it keeps the rest.
//!
//! An entry's time is the device's trusted time, which the verifier keeps
//! within its grant's window: a thief who holds the PIN can stamp edits as
//! early as the `iat` of the last grant the device got. For a device
//! reported stolen, revoke with `apply_edits_queued_before = false`.

use offline_auth_proto::crypto::MacKey;
use offline_auth_proto::grant::MAX_CLAIM_LEN;
use offline_auth_proto::receipt::Receipt;

use crate::cursor::{SyncCursor, VerifiedBatch};
use crate::error::{BackendError, Result};

/// Longest reason an operator may give.
pub const MAX_REVOCATION_REASON_LEN: usize = 256;

/// A device revoked by an operator.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Revocation {
    /// The device.
    pub device_id: String,
    /// Why, as the operator said it (shown to the device's app, logged).
    pub reason: String,
    /// When, seconds since the epoch (the backend's time).
    pub at: i64,
}

/// What a backend does with a revoked device's edits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RevocationPolicy {
    /// Apply the edits stamped before the revocation (work done before the
    /// device was reported lost); `false` refuses every edit uploaded
    /// after the revocation.
    pub apply_edits_queued_before: bool,
}

/// Edits of a revoked device that were refused: reported to the operator
/// and in the answer, and kept on the device (no receipt covers them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RefusedEdits {
    /// First refused seq.
    pub from_seq: u64,
    /// Last refused seq.
    pub through_seq: u64,
    /// How many.
    pub count: u64,
}

/// A revoked device's upload, judged: what to apply, what was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RevokedUpload {
    /// The leading edits the policy admits, as a batch to apply like any
    /// other (its cursor and receipt cover them only); `None` if none.
    pub admitted: Option<VerifiedBatch>,
    /// The edits refused; `None` if every edit was admitted.
    pub refused: Option<RefusedEdits>,
}

impl RevocationPolicy {
    /// Whether to apply the edits stamped before the revocation (the
    /// default refuses them).
    #[must_use]
    pub const fn with_edits_queued_before(mut self, apply: bool) -> Self {
        self.apply_edits_queued_before = apply;
        self
    }
}

impl Revocation {
    /// A revocation of `device_id` at `at`, for `reason`.
    ///
    /// # Errors
    /// `InvalidInput` for an empty or oversized device id or reason, a
    /// reason with control characters, or a negative time.
    pub fn new(device_id: impl Into<String>, reason: impl Into<String>, at: i64) -> Result<Self> {
        let (device_id, reason) = (device_id.into(), reason.into());
        if device_id.is_empty() || device_id.len() > MAX_CLAIM_LEN {
            return Err(BackendError::invalid(format!("device_id must be 1 to {MAX_CLAIM_LEN} bytes")));
        }
        if reason.is_empty() || reason.len() > MAX_REVOCATION_REASON_LEN || reason.chars().any(char::is_control) {
            return Err(BackendError::invalid(format!(
                "the reason must be 1 to {MAX_REVOCATION_REASON_LEN} bytes without control characters"
            )));
        }
        if at < 0 {
            return Err(BackendError::invalid("the revocation time must not be negative"));
        }
        Ok(Self { device_id, reason, at })
    }

    /// The refusal of a grant (renewal or enrolment) for the device.
    pub fn refusal(&self) -> BackendError {
        BackendError::DeviceRevoked { reason: self.reason.clone(), revoked_at: self.at }
    }

    /// Judges a verified upload of the revoked device: with the policy's
    /// consent, the leading edits stamped before the revocation are
    /// admitted (their receipt is MACed with `sync_key`); the rest are
    /// refused. Edits keep their order: after the first refused one nothing
    /// is admitted, so the device's chain stays whole.
    ///
    /// # Errors
    /// `InvalidInput` for a sync key of the wrong length; `Internal` if the
    /// receipt cannot be encoded.
    pub fn judge(&self, batch: VerifiedBatch, sync_key: &[u8], policy: RevocationPolicy) -> Result<RevokedUpload> {
        let admitted_count = if policy.apply_edits_queued_before {
            batch.operations.iter().take_while(|op| op.time < self.at).count()
        } else {
            0
        };
        let refused = match (batch.operations.get(admitted_count), batch.operations.last()) {
            (Some(first), Some(last)) => Some(RefusedEdits {
                from_seq: first.seq,
                through_seq: last.seq,
                count: (batch.operations.len() - admitted_count) as u64,
            }),
            _ => None,
        };
        if refused.is_none() {
            return Ok(RevokedUpload { admitted: Some(batch), refused });
        }
        let mut batch = batch;
        batch.operations.truncate(admitted_count);
        let admitted = match batch.operations.last() {
            Some(last) => {
                let key = offline_auth_proto::crypto::SecretKey::from_slice(sync_key)
                    .map_err(|_| BackendError::invalid("the sync key must be 32 bytes"))?;
                let cursor = SyncCursor { last_seq: last.seq, last_mac: last.mac.to_vec() };
                let receipt = Receipt { device_id: batch.device_id.clone(), through_seq: last.seq, head_mac: last.mac }
                    .to_bytes(&MacKey::new(&key))?;
                Some(VerifiedBatch { cursor, receipt, ..batch })
            }
            None => None,
        };
        Ok(RevokedUpload { admitted, refused })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cursor::SyncOperation;
    use offline_auth_proto::receipt::Answer;

    fn op(seq: u64, time: i64) -> SyncOperation {
        SyncOperation {
            seq,
            time,
            grant_id: "g".into(),
            boots: Some(0),
            collection: "c".into(),
            key: format!("k{seq}"),
            value: Some(vec![1]),
            mac: [u8::try_from(seq).unwrap(); 32],
        }
    }

    fn batch(times: &[i64]) -> VerifiedBatch {
        let operations: Vec<_> = times.iter().enumerate().map(|(i, t)| op(i as u64 + 1, *t)).collect();
        VerifiedBatch {
            device_id: "d".into(),
            user_id: "u".into(),
            cursor: SyncCursor { last_seq: times.len() as u64, last_mac: vec![times.len() as u8; 32] },
            operations,
            duplicates: 0,
            receipt: vec![],
        }
    }

    #[test]
    fn edits_before_the_revocation_are_applied_only_if_the_policy_says_so_and_the_rest_is_reported() {
        let revoked = Revocation::new("d", "reported stolen", 1_000).unwrap();
        let key = [7u8; 32];
        let apply = RevocationPolicy { apply_edits_queued_before: true };
        let judged = revoked.judge(batch(&[900, 950, 1_000, 990]), &key, apply).unwrap();
        let admitted = judged.admitted.unwrap();
        assert_eq!(admitted.operations.len(), 2);
        assert_eq!(admitted.cursor.last_seq, 2);
        let sk = MacKey::new(&offline_auth_proto::crypto::SecretKey::from_slice(&key).unwrap());
        match Answer::verify(&admitted.receipt, &sk).unwrap() {
            Answer::Applied(receipt) => assert_eq!((receipt.through_seq, receipt.head_mac), (2, [2; 32])),
            other => panic!("{other:?}"),
        }
        assert_eq!(judged.refused, Some(RefusedEdits { from_seq: 3, through_seq: 4, count: 2 }));

        let refuse = RevocationPolicy { apply_edits_queued_before: false };
        let judged = revoked.judge(batch(&[900, 950]), &key, refuse).unwrap();
        assert_eq!(judged.admitted, None);
        assert_eq!(judged.refused, Some(RefusedEdits { from_seq: 1, through_seq: 2, count: 2 }));

        let all_before = revoked.judge(batch(&[900]), &key, apply).unwrap();
        assert_eq!((all_before.admitted.map(|b| b.operations.len()), all_before.refused), (Some(1), None));
    }

    #[test]
    fn a_revocation_needs_a_device_a_printable_reason_and_a_time() {
        assert!(Revocation::new("", "r", 1).is_err());
        assert!(Revocation::new("d", "", 1).is_err());
        assert!(Revocation::new("d", "a\nb", 1).is_err());
        assert!(Revocation::new("d", "r".repeat(257), 1).is_err());
        assert!(Revocation::new("d", "r", -1).is_err());
        assert!(matches!(
            Revocation::new("d", "lost", 5).unwrap().refusal(),
            BackendError::DeviceRevoked { revoked_at: 5, .. }
        ));
    }
}
