//! One refusal type for the whole verifier: each variant names one reason,
//! carries only public data (levels, serials as hex, positions in the
//! chain), never the challenge or a key, so a backend can log it, count it
//! and map it to an answer without parsing text.

use crate::levels::{SecurityLevel, VerifiedBootState};

/// Which of the two security levels of a key description a refusal is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WhichLevel {
    /// `attestationSecurityLevel`: where the attestation was made.
    Attestation,
    /// `keyMintSecurityLevel` (`keymasterSecurityLevel` before KeyMint):
    /// where the key lives.
    KeyMint,
}

/// What was wrong with a CBOR item (an App Attest attestation object or
/// assertion); the decoder stops at the first problem, before allocating
/// for anything the input does not hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CborProblem {
    /// The input ends inside an item, or an item declares more bytes than
    /// the input holds (a huge declared length ends here, unallocated).
    Truncated,
    /// Not well-formed CBOR (a reserved header, a bad break).
    Syntax,
    /// Well-formed, but not the expected shape: a missing, unknown or
    /// repeated key, a value of the wrong type, more certificates than
    /// [`crate::MAX_CHAIN_LEN`], nesting where none belongs.
    Shape,
    /// Nested deeper than [`crate::MAX_CBOR_DEPTH`].
    TooDeep,
    /// Bytes after the item.
    TrailingBytes,
}

/// Why an attestation was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    // --- parsing ---
    /// No certificate was given.
    #[error("empty certificate chain")]
    EmptyChain,
    /// More certificates than [`crate::MAX_CHAIN_LEN`].
    #[error("certificate chain of {len} exceeds the limit of {max}")]
    ChainTooLong {
        /// Certificates given.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A certificate larger than [`crate::MAX_CERTIFICATE_LEN`] (checked before decoding).
    #[error("certificate {index} is {len} bytes, over the limit of {max}")]
    CertificateTooLarge {
        /// Position in the chain (0 = leaf).
        index: usize,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A certificate is not valid DER X.509 (truncated, trailing bytes, bad lengths).
    #[error("certificate {index} is malformed")]
    MalformedCertificate {
        /// Position in the chain (0 = leaf).
        index: usize,
    },
    /// The same extension appears twice in one certificate.
    #[error("certificate {index} repeats an extension")]
    DuplicateExtension {
        /// Position in the chain (0 = leaf).
        index: usize,
    },
    /// A critical extension the verifier does not process.
    #[error("certificate {index} has an unknown critical extension")]
    UnknownCriticalExtension {
        /// Position in the chain (0 = leaf).
        index: usize,
    },
    /// The leaf has no key description extension (OID 1.3.6.1.4.1.11129.2.1.17).
    #[error("the leaf has no key description")]
    MissingKeyDescription,
    /// A certificate above the leaf carries a key description.
    #[error("certificate {index} above the leaf carries a key description")]
    KeyDescriptionNotInLeaf {
        /// Position in the chain.
        index: usize,
    },
    /// The key description does not decode (bad DER, unknown or repeated tag,
    /// out of order, trailing bytes, a value out of range).
    #[error("the key description is malformed")]
    MalformedKeyDescription,

    // --- chain ---
    /// A signature or public key algorithm the verifier does not accept
    /// (see the crate's signature algorithms; RSA below 2048 bits included).
    #[error("a certificate uses an unsupported algorithm")]
    UnsupportedAlgorithm,
    /// A signature does not verify under its issuer's key.
    #[error("a certificate has a bad signature")]
    BadSignature,
    /// A certificate is not valid at the verifier's time.
    #[error("certificate {index} is not valid at the given time")]
    NotValidAtTime {
        /// Position in the chain.
        index: usize,
    },
    /// An issuing certificate is not a CA, or the path is longer than an
    /// issuer's path length constraint allows.
    #[error("a certificate may not issue certificates")]
    NotACa,
    /// No path from the leaf through the given certificates ends at a trust
    /// anchor (another root, or names that do not chain).
    #[error("the chain does not end at a trusted root")]
    UntrustedRoot,
    /// Path validation refused the chain for another reason (its name from
    /// `rustls-webpki`, for logs: a depth or signature-count budget, a
    /// malformed extension, ...).
    #[error("path validation refused the chain: {reason}")]
    PathRefused {
        /// The path validator's reason.
        reason: String,
    },
    /// A certificate's serial number is in the revoked set.
    #[error("certificate {index} is revoked (serial {serial_hex})")]
    Revoked {
        /// Position in the chain.
        index: usize,
        /// The serial, lowercase hex without leading zeros (the status list's form).
        serial_hex: String,
    },

    // --- policy ---
    /// The attestation challenge is not the one the policy requires.
    #[error("the attestation challenge does not match")]
    ChallengeMismatch,
    /// A security level below the policy's minimum.
    #[error("{which:?} security level {found:?} is below {required:?}")]
    SecurityLevelTooLow {
        /// Which level.
        which: WhichLevel,
        /// What the device attested.
        found: SecurityLevel,
        /// The policy's minimum.
        required: SecurityLevel,
    },
    /// The key was imported or derived, not generated in the keystore.
    #[error("the key was not generated in the keystore")]
    KeyNotGenerated,
    /// Verified boot did not end in `Verified` (or no root of trust was attested).
    #[error("verified boot state is {found:?}")]
    BootNotVerified {
        /// The attested state, if any.
        found: Option<VerifiedBootState>,
    },
    /// The bootloader is unlocked.
    #[error("the bootloader is unlocked")]
    BootloaderUnlocked,
    /// No attested package name is among the allowed ones.
    #[error("no attested package is allowed")]
    PackageNotAllowed,
    /// No attested signing-certificate digest is among the allowed ones.
    #[error("no attested app signer is allowed")]
    SignerNotAllowed,
    /// The OS patch level is older than the policy's minimum (or absent).
    #[error("OS patch level {found:?} is older than {required}")]
    PatchLevelTooOld {
        /// The attested `YYYYMM`, if any.
        found: Option<u32>,
        /// The policy's minimum `YYYYMM`.
        required: u32,
    },

    // --- Apple App Attest: parsing ---
    /// An attestation object larger than [`crate::MAX_ATTESTATION_OBJECT_LEN`] (checked before decoding).
    #[error("attestation object of {len} bytes is over the limit of {max}")]
    AttestationObjectTooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The attestation object is not a CBOR map `{fmt, attStmt: {x5c, receipt}, authData}`.
    #[error("the attestation object is malformed: {problem:?}")]
    MalformedAttestationObject {
        /// What was wrong.
        problem: CborProblem,
    },
    /// `fmt` is not `apple-appattest`.
    #[error("the attestation format is not apple-appattest")]
    UnsupportedAttestationFormat,
    /// The authenticator data is shorter than its fields, lacks the attested
    /// credential data (attestation) or has bytes after it (assertion).
    #[error("the authenticator data is malformed")]
    MalformedAuthenticatorData,
    /// The App Attest leaf has no nonce extension (OID 1.2.840.113635.100.8.2).
    #[error("the leaf has no App Attest nonce")]
    MissingNonce,
    /// The nonce extension does not decode as `SEQUENCE { [1] OCTET STRING }` of 32 bytes.
    #[error("the App Attest nonce extension is malformed")]
    MalformedNonce,
    /// The attested key is not an EC P-256 key (or the stored key given to
    /// an assertion is not an uncompressed P-256 point).
    #[error("the attested key is not an EC P-256 key")]
    UnsupportedKey,

    // --- Apple App Attest: what the attestation binds ---
    /// The certificate's nonce is not SHA-256(authData ‖ clientDataHash):
    /// another challenge, or authenticator data from elsewhere.
    #[error("the App Attest nonce does not match")]
    NonceMismatch,
    /// SHA-256 of the attested public key is not the key id the device sent.
    #[error("the attested key does not match the key id")]
    KeyIdMismatch,
    /// The credential id in the authenticator data is not the key id.
    #[error("the credential id does not match the key id")]
    CredentialIdMismatch,
    /// The RP ID hash is not SHA-256 of the policy's App ID (team id . bundle id).
    #[error("the RP ID hash is not that of the App ID")]
    AppIdMismatch,
    /// An attestation's sign counter is not 0.
    #[error("the attestation counter is {counter}, not 0")]
    AttestationCounterNotZero {
        /// The counter found.
        counter: u32,
    },
    /// The AAGUID is neither App Attest's production nor its development value.
    #[error("the AAGUID is not an App Attest environment")]
    UnknownAaguid,
    /// A development (`appattestdevelop`) key under a policy that accepts production only.
    #[error("a development App Attest key under a production policy")]
    DevelopmentEnvironment,

    // --- Apple App Attest: assertions ---
    /// An assertion larger than [`crate::MAX_ASSERTION_LEN`] (checked before decoding).
    #[error("assertion of {len} bytes is over the limit of {max}")]
    AssertionTooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The assertion is not a CBOR map `{signature, authenticatorData}`.
    #[error("the assertion is malformed: {problem:?}")]
    MalformedAssertion {
        /// What was wrong.
        problem: CborProblem,
    },
    /// The assertion's signature does not verify under the stored key over
    /// SHA-256(authenticatorData ‖ SHA-256(clientData)).
    #[error("the assertion signature does not verify")]
    BadAssertionSignature,
    /// The assertion's counter equals the stored one: an assertion already
    /// accepted, sent again.
    #[error("the assertion counter {counter} was already used")]
    AssertionReplayed {
        /// The counter found (= the stored one).
        counter: u32,
    },
    /// The assertion's counter is below the stored one.
    #[error("the assertion counter {counter} is below the stored {last}")]
    CounterWentBack {
        /// The counter found.
        counter: u32,
        /// The stored counter.
        last: u32,
    },
}
