//! What the verifier logs: one `tracing` event per verification, in its
//! `verify_batch` span (which names the device and the seq range). A
//! refusal gives its reason (`RejectReason::as_str`) and detail; a
//! divergence the range the device lost. Never a key, a MAC or its input,
//! a grant token or a value: none of them is in a `BackendError`, and
//! nothing else is logged.

use crate::cursor::VerifiedBatchRef;
use crate::error::{BackendError, Result};

/// The event for a verification's result.
pub(crate) fn verified(result: &Result<VerifiedBatchRef<'_>>) {
    match result {
        Ok(verified) => {
            tracing::debug!(new_entries = verified.operations.len(), duplicates = verified.duplicates, "batch verified")
        }
        Err(BackendError::BatchRejected { kind, reason }) => {
            tracing::info!(reason = kind.as_str(), detail = %reason, "batch rejected");
        }
        Err(BackendError::Diverged { lost_from, lost_through, lost_count, .. }) => {
            tracing::warn!(lost_from, lost_through, lost_count, "the device's queue diverged from the applied chain")
        }
        Err(error) => tracing::info!(%error, "batch not verified"),
    }
}
