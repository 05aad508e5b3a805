# What an app or a service writes around the error types, checked by mypy in
# test_error_types_are_typed.py: each variant and its fields are known to a
# type checker (UniFFI declares each error class twice, which hid them).
import offline_auth as device
import offline_auth_backend as backend


def upload(verifier: backend.SyncVerifier, body: bytes, key: bytes, cursor: backend.SyncCursor) -> str:
    try:
        verifier.verify(body, key, cursor)
    except backend.BackendError.BatchRejected as rejected:
        return f"{rejected.kind}: {rejected.reason.upper()}"
    except backend.BackendError.Diverged as diverged:
        return f"lost {diverged.lost_count} from {diverged.lost_from + 0}"
    except backend.BackendError as other:
        return str(other)
    return "ok"


def unlock(vault: device.PinVault, pin: str) -> int:
    try:
        vault.unlock(pin)
    except device.VaultError.WrongPin as wrong:
        return wrong.attempts_remaining
    except device.VaultError.LockedOut as locked:
        return -locked.retry_after_secs
    return 0


def refuse_a_key() -> None:
    raise device.KeystoreError.KeyInvalidated()
