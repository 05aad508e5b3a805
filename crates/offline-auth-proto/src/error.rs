//! The one error type of the formats and the cryptography.

/// Why a format could not be read or written, or a check failed. No variant
/// carries a key or plaintext; the strings say which rule was broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtoError {
    /// An argument was rejected (wrong key length, empty or oversized name, …).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A sealed blob or a stored entry failed authentication or was malformed.
    #[error("authentication failed")]
    Tampered,
    /// The grant is malformed, badly signed, or not for this device or user.
    #[error("grant invalid: {0}")]
    GrantInvalid(String),
    /// The grant's window has ended.
    #[error("grant expired")]
    GrantExpired,
    /// A remote directive is malformed, badly signed, mistyped, or for
    /// another device.
    #[error("directive invalid: {0}")]
    DirectiveInvalid(String),
    /// A batch broke its format or a limit.
    #[error("batch rejected: {0}")]
    BatchRejected(String),
    /// A receipt failed its MAC or its format.
    #[error("receipt invalid: {0}")]
    ReceiptInvalid(String),
    /// Serialisation failed (not expected for well-formed values).
    #[error("encoding failed")]
    Encoding,
    /// The operating system's random number generator failed.
    #[error("the operating system's random number generator failed")]
    Rng,
}

/// The formats' result alias.
pub type Result<T, E = ProtoError> = std::result::Result<T, E>;

pub(crate) use ProtoError as Error;
