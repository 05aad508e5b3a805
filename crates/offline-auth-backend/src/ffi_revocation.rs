//! Device revocation for the bindings (issue 25 §2): a JVM or Python
//! backend verifies a revoked device's upload and judges it under its
//! policy in one call, [`SyncVerifier::verify_revoked`](SyncVerifier), with
//! the same outcome as the Rust [`Revocation::judge`](crate::Revocation::judge):
//! the leading edits stamped before the revocation (when the policy admits
//! them) as a batch to apply, and the rest reported as refused.

use crate::error::{BackendError, Result};
use crate::ffi::{SyncCursor, VerifiedBatch};
use crate::revocation;
use crate::verifier::SyncVerifier;

/// A device an operator revoked: its id, why (shown to the device's app and
/// logged) and when (the backend's time, seconds since the epoch).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Revocation {
    /// The device.
    pub device_id: String,
    /// Why, as the operator said it (1 to 256 bytes, no control characters).
    pub reason: String,
    /// When, seconds since the epoch (not negative).
    pub at: i64,
}

/// The edits of a revoked device that were refused: report them to the
/// operator and in the answer; no receipt covers them, so the device keeps
/// them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct RefusedEdits {
    /// First refused seq.
    pub from_seq: i64,
    /// Last refused seq.
    pub through_seq: i64,
    /// How many.
    pub count: i64,
}

/// A revoked device's upload, judged.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RevokedUpload {
    /// The edits the policy admits, as a batch to apply like any other (its
    /// cursor and receipt cover them only); `None` if none.
    pub admitted: Option<VerifiedBatch>,
    /// The edits refused; `None` if every edit was admitted.
    pub refused: Option<RefusedEdits>,
}

fn to_i64(value: u64) -> Result<i64> {
    i64::try_from(value).map_err(|_| BackendError::invalid("a seq exceeds the bindings' 63-bit range"))
}

#[uniffi::export]
impl SyncVerifier {
    /// Verifies `batch` like `verify`, then judges it for the device that
    /// `revocation` revoked: with `apply_edits_queued_before`, the leading
    /// edits stamped before the revocation are admitted (apply them and store
    /// their cursor, then answer their receipt); the rest are refused.
    ///
    /// # Errors
    /// As `verify`; `InvalidInput` for a revocation of another device, an
    /// empty or oversized reason, or a negative time.
    pub fn verify_revoked(
        &self,
        batch: Vec<u8>,
        sync_key: Vec<u8>,
        cursor: SyncCursor,
        revocation: Revocation,
        apply_edits_queued_before: bool,
    ) -> Result<RevokedUpload> {
        let revocation = revocation::Revocation::new(revocation.device_id, revocation.reason, revocation.at)?;
        let verified = self.verify(&batch, &sync_key, &cursor.try_into()?)?.into_owned();
        if verified.device_id != revocation.device_id {
            return Err(BackendError::invalid("the revocation is for another device than the batch's"));
        }
        let policy = revocation::RevocationPolicy::default().with_edits_queued_before(apply_edits_queued_before);
        let judged = revocation.judge(verified, &sync_key, policy)?;
        let refused = match judged.refused {
            Some(edits) => Some(RefusedEdits {
                from_seq: to_i64(edits.from_seq)?,
                through_seq: to_i64(edits.through_seq)?,
                count: to_i64(edits.count)?,
            }),
            None => None,
        };
        Ok(RevokedUpload { admitted: judged.admitted.map(VerifiedBatch::try_from).transpose()?, refused })
    }
}
