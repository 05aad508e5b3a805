"""Typed view of the error types, for type checkers (mypy, pyright): UniFFI's
module declares each twice, which hides their variants.

Written by hand beside the UniFFI module; test_error_types_are_typed.py checks
that every variant and field here exists at run time and the other way round."""
from ._uniffi.offline_auth_backend import EvidenceLevel, RejectReason


class BackendError(Exception):
    """Every way a backend call can fail. No variant carries a key or a value.

    With `ffi`, the `Display` text is exported to the bindings (Kotlin
    `message`, Python `str(e)`), beside the typed fields."""
    class InvalidInput(BackendError):
        reason: str
        def __init__(self, reason: str) -> None: ...
    class GrantInvalid(BackendError):
        reason: str
        def __init__(self, reason: str) -> None: ...
    class BatchRejected(BackendError):
        kind: RejectReason
        reason: str
        def __init__(self, kind: RejectReason, reason: str) -> None: ...
    class Diverged(BackendError):
        lost_from: int
        lost_through: int
        lost_count: int
        answer: bytes
        def __init__(self, lost_from: int, lost_through: int, lost_count: int, answer: bytes) -> None: ...
    class DeviceRevoked(BackendError):
        reason: str
        revoked_at: int
        def __init__(self, reason: str, revoked_at: int) -> None: ...
    class Signer(BackendError):
        reason: str
        def __init__(self, reason: str) -> None: ...
    class Clock(BackendError):
        reason: str
        def __init__(self, reason: str) -> None: ...
    class Internal(BackendError):
        reason: str
        def __init__(self, reason: str) -> None: ...


class EnrolmentRefusal(Exception):
    """Why an enrolment was refused: one exception class per reason (Rust's
    `EnrolmentRefusal`). The challenge variants are the caller's to raise
    (it stores the challenges); the verifier raises the others."""
    class ChallengeUnknown(EnrolmentRefusal):
        def __init__(self) -> None: ...
    class ChallengeExpired(EnrolmentRefusal):
        def __init__(self) -> None: ...
    class ChallengeReused(EnrolmentRefusal):
        def __init__(self) -> None: ...
    class LevelRefused(EnrolmentRefusal):
        level: EvidenceLevel
        def __init__(self, level: EvidenceLevel) -> None: ...
    class Attestation(EnrolmentRefusal):
        reason: str
        detail: str
        def __init__(self, reason: str, detail: str) -> None: ...
    class UnsupportedEvidence(EnrolmentRefusal):
        kind: str
        def __init__(self, kind: str) -> None: ...
    class MalformedEvidence(EnrolmentRefusal):
        reason: str
        def __init__(self, reason: str) -> None: ...
    class KeyCannotSignUploads(EnrolmentRefusal):
        def __init__(self) -> None: ...


class UploadRefusal(Exception):
    """Why an upload's device signature was refused."""
    class SignatureMissing(UploadRefusal):
        def __init__(self) -> None: ...
    class NoAttestedKey(UploadRefusal):
        def __init__(self) -> None: ...
    class SignatureInvalid(UploadRefusal):
        def __init__(self) -> None: ...
    class AssertionReplayed(UploadRefusal):
        def __init__(self) -> None: ...

