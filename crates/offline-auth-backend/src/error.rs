//! The backend's errors: typed, with a reason enum for rejected batches so a
//! server can answer, count and alert on each kind without parsing text.

use offline_auth_proto::ProtoError;

/// Why a batch was rejected. Every kind means the whole batch was refused
/// and nothing in it may be applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "ffi", derive(uniffi::Enum))]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum RejectReason {
    /// Larger than `MAX_BATCH_BYTES`; refused before it was read.
    TooLarge,
    /// Not a batch of a known version, truncated, trailing bytes, counts over
    /// their limits, or no entries.
    Malformed,
    /// A grant failed its signature, type or issuer/audience policy, is for
    /// another device or user, appears twice, is missing, or is unused.
    GrantRejected,
    /// The seq run does not continue from the cursor (a gap, seq 0, or
    /// entries out of order).
    SeqGap,
    /// The MAC chain does not verify: an entry was altered, dropped,
    /// reordered, or differs from the one already applied.
    ChainBroken,
    /// An entry's time is outside its grant's window.
    OutsideGrantWindow,
    /// An entry is stamped after the server's own time (plus the skew).
    FromTheFuture,
    /// An entry writes a collection its grant does not allow.
    OutOfScope,
    /// An entry's names or value exceed the size limits.
    OverLimit,
}

impl RejectReason {
    /// Every reason, in declaration order (for dashboards and tests).
    pub const ALL: [Self; 9] = [
        Self::TooLarge,
        Self::Malformed,
        Self::GrantRejected,
        Self::SeqGap,
        Self::ChainBroken,
        Self::OutsideGrantWindow,
        Self::FromTheFuture,
        Self::OutOfScope,
        Self::OverLimit,
    ];

    /// A stable snake_case name, for metric labels and log fields: it does
    /// not change when the variant's Rust name or documentation does.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::TooLarge => "too_large",
            Self::Malformed => "malformed",
            Self::GrantRejected => "grant_rejected",
            Self::SeqGap => "seq_gap",
            Self::ChainBroken => "chain_broken",
            Self::OutsideGrantWindow => "outside_grant_window",
            Self::FromTheFuture => "from_the_future",
            Self::OutOfScope => "out_of_scope",
            Self::OverLimit => "over_limit",
        }
    }
}

impl std::fmt::Display for RejectReason {
    /// The same name as [`RejectReason::as_str`].
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every way a backend call can fail. No variant carries a key or a value.
///
/// With `ffi`, the `Display` text is exported to the bindings (Kotlin
/// `message`, Python `str(e)`), beside the typed fields.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "ffi", derive(uniffi::Error))]
#[cfg_attr(feature = "ffi", uniffi::export(Display))]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum BackendError {
    /// An argument was rejected (wrong key length, empty or oversized id, …).
    #[error("invalid input: {reason}")]
    InvalidInput {
        /// Which argument and why.
        reason: String,
    },
    /// A grant is malformed, badly signed, or signed by an unknown key.
    #[error("grant invalid: {reason}")]
    GrantInvalid {
        /// Why the grant was rejected.
        reason: String,
    },
    /// The device's batch was refused as a whole.
    #[error("sync batch rejected ({kind:?}): {reason}")]
    BatchRejected {
        /// The kind of failure, for answers, metrics and alerts.
        kind: RejectReason,
        /// The detail, fit for logs (never a value or key).
        reason: String,
    },
    /// The device's queue parted from the chain already applied: its entry
    /// `lost_from` differs from the one applied at that seq (its files were
    /// written back with an older copy). Nothing was applied and the cursor
    /// stays. The entries `lost_from..=lost_through` the backend applied
    /// are gone from the device (it cannot send them again; the backend
    /// keeps them): report them to the operator. Send `answer` to the
    /// device as its receipt: `SyncQueue::acknowledge` re-bases its pending
    /// edits after the backend's head, each to be applied once.
    #[error("the device's queue diverged: it lost the {lost_count} applied entries {lost_from}..={lost_through}")]
    Diverged {
        /// First seq the device's queue no longer agrees on.
        lost_from: u64,
        /// The backend's cursor: the last seq applied.
        lost_through: u64,
        /// `lost_through - lost_from + 1`.
        lost_count: u64,
        /// The chain position to answer with, MACed with the sync key.
        answer: Vec<u8>,
    },
    /// The device was revoked by an operator (`Revocation`): no grant is
    /// issued for it, and its uploads after `revoked_at` are refused.
    #[error("the device was revoked at {revoked_at}: {reason}")]
    DeviceRevoked {
        /// The operator's reason, as given.
        reason: String,
        /// When it was revoked, seconds since the epoch (backend time).
        revoked_at: i64,
    },
    /// The grant signer (a KMS, an HSM, or the in-memory key) failed or
    /// returned a signature that does not verify.
    #[error("grant signer failed: {reason}")]
    Signer {
        /// The signer's own description.
        reason: String,
    },
    /// The server clock callback failed.
    #[error("server clock unavailable: {reason}")]
    Clock {
        /// The clock's own description.
        reason: String,
    },
    /// Serialisation or the operating system's RNG failed.
    #[error("internal error: {reason}")]
    Internal {
        /// What failed.
        reason: String,
    },
}

impl BackendError {
    pub(crate) fn rejected(kind: RejectReason, reason: impl Into<String>) -> Self {
        Self::BatchRejected { kind, reason: reason.into() }
    }

    pub(crate) fn invalid(reason: impl Into<String>) -> Self {
        Self::InvalidInput { reason: reason.into() }
    }
}

impl From<ProtoError> for BackendError {
    fn from(error: ProtoError) -> Self {
        match error {
            ProtoError::InvalidInput(reason) => Self::InvalidInput { reason },
            ProtoError::GrantInvalid(reason) => Self::GrantInvalid { reason },
            ProtoError::DirectiveInvalid(reason) => Self::GrantInvalid { reason: format!("directive: {reason}") },
            ProtoError::GrantExpired => Self::GrantInvalid { reason: "grant expired".into() },
            ProtoError::BatchRejected(reason) => Self::rejected(RejectReason::Malformed, reason),
            // Tampered, ReceiptInvalid, Encoding, Rng, and any failure added
            // later (`ProtoError` is non-exhaustive).
            e => Self::Internal { reason: e.to_string() },
        }
    }
}

#[cfg(feature = "ffi")]
impl From<uniffi::UnexpectedUniFFICallbackError> for BackendError {
    fn from(error: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Internal { reason: format!("callback failed: {}", error.reason) }
    }
}

/// The backend's result alias.
pub type Result<T, E = BackendError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reject_reasons_have_stable_distinct_snake_case_names() {
        let names: Vec<&str> = RejectReason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(
            names,
            [
                "too_large",
                "malformed",
                "grant_rejected",
                "seq_gap",
                "chain_broken",
                "outside_grant_window",
                "from_the_future",
                "out_of_scope",
                "over_limit"
            ]
        );
        for reason in RejectReason::ALL {
            assert_eq!(reason.to_string(), reason.as_str());
        }
    }
}
