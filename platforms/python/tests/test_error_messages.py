"""Every Python exception carries the Rust error's own text (its Display) as
str(e), and keeps its typed fields as attributes and in repr(e)."""

import traceback

import pytest

import offline_auth as oa
import offline_auth_backend as backend
from conftest import PIN, DictKeystore, FakeClock


def test_vault_errors_print_the_rust_message_and_keep_their_fields(vault_path, grant, config):
    clock = FakeClock()
    vault = oa.PinVault.open_with_clock(vault_path, DictKeystore(), clock, config())
    with pytest.raises(oa.VaultError.NotEnrolled) as not_enrolled:
        vault.unlock(PIN)
    assert str(not_enrolled.value) == "the vault is not enrolled"
    assert repr(not_enrolled.value) == "VaultError.NotEnrolled()"

    vault.enroll(PIN, grant(now=clock.now), backend.generate_sync_key()).lock()
    with pytest.raises(oa.VaultError.WrongPin) as wrong:
        vault.unlock("000111")
    assert wrong.value.attempts_remaining == 9
    assert str(wrong.value) == "wrong PIN; 9 attempts remaining before the vault is wiped"
    assert repr(wrong.value) == "VaultError.WrongPin(attempts_remaining=9)"
    assert "000111" not in str(wrong.value) + repr(wrong.value)

    for _ in range(3):
        with pytest.raises(oa.VaultError.WrongPin):
            vault.unlock("000111")
    with pytest.raises(oa.VaultError.LockedOut) as locked:
        vault.unlock(PIN)
    assert locked.value.retry_after_secs == 30
    assert str(locked.value) == "too many wrong PINs; try again in 30 s"


def test_a_reason_field_is_both_a_field_and_part_of_the_message(vault_path, grant, config):
    vault = oa.PinVault.open(vault_path, DictKeystore(), config())
    with pytest.raises(oa.VaultError.WeakPin) as weak:
        vault.enroll("123456", grant(), backend.generate_sync_key())
    assert weak.value.reason
    assert str(weak.value) == f"PIN rejected by policy: {weak.value.reason}"
    assert repr(weak.value) == f"VaultError.WeakPin(reason={weak.value.reason!r})"


def test_keystore_errors_print_the_rust_message():
    assert str(oa.KeystoreError.KeyNotFound()) == "no key under this alias"
    assert str(oa.KeystoreError.KeyInvalidated()) == "the key was invalidated by the platform"


def test_backend_errors_print_the_rust_message_and_keep_kind_and_reason(issuer):
    verifier = backend.SyncVerifier([issuer.issuer_key()])
    with pytest.raises(backend.BackendError.BatchRejected) as rejected:
        verifier.verify(b"junk", bytes(32), backend.SyncCursor(last_seq=0, last_mac=bytes(32)))
    e = rejected.value
    assert e.kind == backend.RejectReason.MALFORMED and e.reason
    assert str(e) == f"sync batch rejected (Malformed): {e.reason}"
    assert repr(e).startswith("BackendError.BatchRejected(kind=")


def test_an_exception_built_with_a_field_of_the_wrong_type_still_prints():
    e = oa.VaultError.WeakPin(123)
    assert str(e) == "reason=123"
    assert repr(e) == "VaultError.WeakPin(reason=123)"


def test_a_logged_traceback_carries_the_message(vault_path, config):
    vault = oa.PinVault.open(vault_path, DictKeystore(), config())
    try:
        vault.unlock(PIN)
    except oa.VaultError as e:
        logged = "".join(traceback.format_exception(type(e), e, e.__traceback__))
    assert logged.rstrip().endswith("NotEnrolled: the vault is not enrolled")


class LosingKeystore(DictKeystore):
    """A Python keystore whose device key is gone, as Android (invalidated)
    and iOS (deleted with the passcode) report it."""

    def __init__(self):
        super().__init__()
        self.device_error = None

    def unwrap(self, alias, protection, wrapped):
        if protection == oa.KeyProtection.DEVICE and self.device_error is not None:
            raise self.device_error
        return super().unwrap(alias, protection, wrapped)


@pytest.mark.parametrize("error", [oa.KeystoreError.KeyInvalidated, oa.KeystoreError.KeyNotFound])
def test_a_lost_device_key_is_device_key_lost_not_biometrics_invalidated(vault_path, grant, config, error):
    clock = FakeClock()
    keystore = LosingKeystore()
    vault = oa.PinVault.open_with_clock(vault_path, keystore, clock, config())
    session = vault.enroll(PIN, grant(now=clock.now), backend.generate_sync_key())
    session.enable_biometrics()
    session.lock()

    keystore.device_error = error()
    with pytest.raises(oa.VaultError.DeviceKeyLost) as lost:
        vault.unlock(PIN)
    with pytest.raises(oa.VaultError.DeviceKeyLost):
        vault.unlock_with_biometrics()
    assert "wipe" in str(lost.value) and "enrol again online" in str(lost.value)
    status = vault.status()
    assert status.biometrics_enabled and status.failed_attempts == 0

    keystore.device_error = None
    vault.unlock(PIN).lock()
