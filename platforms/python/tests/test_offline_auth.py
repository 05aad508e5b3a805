"""Python binding tests for offline-auth (binding layer only).

The device SDK (`offline_auth`) is under test; the backend package
(`offline_auth_backend`) issues the grants and sync keys and verifies the
batches, as a real backend would.
"""
import gc
import os
import threading
import time

import pytest

import offline_auth as oa
import offline_auth_backend as backend
from conftest import DEVICE, FIXED_NOW, PIN, USER, DictKeystore, FakeClock, to_device


def rss_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


# --- 1. A keystore implemented in Python drives the full cycle -------------


def test_full_cycle_with_python_keystore(vault_path, grant, config, issuer):
    ks = DictKeystore()
    vault = oa.PinVault.open(vault_path, ks, config())
    assert vault.is_enrolled() is False

    sync_key = backend.generate_sync_key()
    assert isinstance(sync_key, bytes) and len(sync_key) == 32
    session = vault.enroll(PIN, grant(), sync_key)
    assert vault.is_enrolled() is True
    assert session.user_id() == USER
    assert session.scopes() == ["notes", "visits"]
    assert session.expires_at() > int(time.time())

    seq1 = session.put("notes", "n1", b"first note")
    seq2 = session.put("visits", "v1", b"\x00\x01\x02")
    seq3 = session.delete("notes", "gone")
    assert (seq1, seq2, seq3) == (1, 2, 3)
    assert session.get("notes", "n1") == b"first note"
    assert session.get("notes", "missing") is None
    assert session.keys("notes") == ["n1"]
    session.lock()
    assert session.is_unlocked() is False

    session = vault.unlock(PIN)
    assert session.get("visits", "v1") == b"\x00\x01\x02"

    queue = session.sync_queue()
    assert queue.pending_count() == 3
    batch = queue.next_batch(100)
    assert isinstance(batch, oa.SyncBatch)
    assert (batch.first_seq, batch.last_seq, batch.entry_count) == (1, 3, 3)

    verifier = backend.SyncVerifier([issuer.issuer_key()])
    verified = verifier.verify(batch.bytes, sync_key, backend.SyncCursor(last_seq=0, last_mac=bytes(32)))
    assert verified.device_id == DEVICE and verified.user_id == USER
    assert [(op.collection, op.key, op.value) for op in verified.operations] == [
        ("notes", "n1", b"first note"),
        ("visits", "v1", b"\x00\x01\x02"),
        ("notes", "gone", None),
    ]
    assert [op.boots for op in verified.operations] == [0, 0, 0]
    assert verified.cursor.last_seq == 3
    assert isinstance(verified.receipt, bytes) and verified.receipt

    # The backend answers with the receipt; only that deletes entries.
    queue.acknowledge(verified.receipt)
    assert queue.pending_count() == 0
    assert queue.next_batch(100) is None

    status = vault.status()
    assert isinstance(status, oa.VaultStatus)
    assert status.enrolled and not status.wiped and status.pending_entries == 0
    assert ks.calls["wrap"] >= 1 and ks.calls["unwrap"] >= 1

    vault.wipe()
    assert vault.status().wiped
    with pytest.raises((oa.VaultError.SessionLocked, oa.VaultError.Wiped)):
        session.get("notes", "n1")


def test_software_keystore_biometrics_and_change_pin(vault_path, grant, config):
    sks = oa.SoftwareKeystore()
    vault = oa.PinVault.open(vault_path, sks.as_platform_keystore(), config())
    session = vault.enroll(PIN, grant(), backend.generate_sync_key())
    assert sks.key_count() >= 1
    session.enable_biometrics()
    assert vault.status().biometrics_enabled
    bio = vault.unlock_with_biometrics()
    assert bio.user_id() == USER
    bio.disable_biometrics()
    with pytest.raises(oa.VaultError.BiometricsUnavailable):
        vault.unlock_with_biometrics()

    vault.change_pin(PIN, "730514")
    with pytest.raises(oa.VaultError.WrongPin):
        vault.unlock(PIN)
    assert vault.unlock("730514").user_id() == USER
    vault.wipe()
    assert sks.key_count() == 0


def test_open_with_system_clock_object(vault_path, grant, config):
    clock = oa.SystemClock()
    vault = oa.PinVault.open_with_clock(vault_path, oa.SoftwareKeystore().as_platform_keystore(), clock.as_clock(), config())
    vault.enroll(PIN, grant(), backend.generate_sync_key()).lock()
    assert vault.unlock(PIN).user_id() == USER


# --- 2. Errors arrive as typed Python exceptions with their fields ----------


def test_wrong_pin_and_lockout_are_typed(vault_path, grant, config):
    clock = FakeClock()
    vault = oa.PinVault.open_with_clock(vault_path, DictKeystore(), clock, config())
    vault.enroll(PIN, grant(now=clock.now), backend.generate_sync_key()).lock()

    remaining = []
    for _ in range(4):
        with pytest.raises(oa.VaultError.WrongPin) as exc:
            vault.unlock("000111")
        assert isinstance(exc.value, oa.VaultError)
        remaining.append(exc.value.attempts_remaining)
    assert remaining == [9, 8, 7, 6]

    with pytest.raises(oa.VaultError.LockedOut) as exc:
        vault.unlock(PIN)
    assert exc.value.retry_after_secs == 30
    status = vault.status()
    assert (status.failed_attempts, status.attempts_remaining, status.retry_after_secs) == (4, 6, 30)

    clock.advance(31)
    assert vault.unlock(PIN).user_id() == USER
    assert vault.status().failed_attempts == 0


def test_attempt_limit_wipes(vault_path, grant, config):
    vault = oa.PinVault.open_with_clock(vault_path, DictKeystore(), FakeClock(), config(max_failed_attempts=2))
    vault.enroll(PIN, grant(), backend.generate_sync_key()).lock()
    with pytest.raises(oa.VaultError.WrongPin) as exc:
        vault.unlock("000111")
    assert exc.value.attempts_remaining == 1
    with pytest.raises(oa.VaultError.Wiped):
        vault.unlock("000111")
    with pytest.raises(oa.VaultError.Wiped):
        vault.unlock(PIN)


def test_other_variants_are_typed(vault_path, grant, config, issuer):
    vault = oa.PinVault.open(vault_path, DictKeystore(), config())
    with pytest.raises(oa.VaultError.NotEnrolled):
        vault.unlock(PIN)
    with pytest.raises(oa.VaultError.WeakPin) as exc:
        vault.enroll("123456", grant(), backend.generate_sync_key())
    assert exc.value.reason
    with pytest.raises(oa.VaultError.GrantInvalid) as exc:
        vault.enroll(PIN, "not.a.grant", backend.generate_sync_key())
    assert exc.value.reason
    with pytest.raises(oa.VaultError.GrantInvalid):
        vault.enroll(PIN, grant(device="another-device"), backend.generate_sync_key())
    now = int(time.time())
    expired = issuer.issue(USER, DEVICE, ["notes"], now - 7200, now - 3600)
    with pytest.raises(oa.VaultError.GrantExpired):
        vault.enroll(PIN, expired, backend.generate_sync_key())

    session = vault.enroll(PIN, grant(), backend.generate_sync_key())
    with pytest.raises(oa.VaultError.AlreadyEnrolled):
        vault.enroll(PIN, grant(), backend.generate_sync_key())
    with pytest.raises(oa.VaultError.InvalidInput) as exc:
        session.put("not-in-scope", "k", b"v")
    assert exc.value.reason
    session.lock()
    with pytest.raises(oa.VaultError.SessionLocked):
        session.put("notes", "k", b"v")

    # Every variant is a subclass of VaultError and of Exception.
    for name in ["NotEnrolled", "WrongPin", "LockedOut", "Keystore", "InvalidInput", "Storage", "ReceiptInvalid"]:
        variant = getattr(oa.VaultError, name)
        assert issubclass(variant, oa.VaultError) and issubclass(variant, Exception)


def test_storage_error_for_unusable_path(tmp_path, config):
    with pytest.raises(oa.VaultError.Storage) as exc:
        oa.PinVault.open(str(tmp_path), DictKeystore(), config())  # a directory
    assert exc.value.reason


def test_every_contract_variant_is_a_vault_error_subclass():
    # ARCHITECTURE.md section 6 lists these "at least"; more may exist.
    contract = [
        "NotEnrolled", "AlreadyEnrolled", "WeakPin", "WrongPin", "LockedOut", "Wiped", "GrantInvalid",
        "GrantExpired", "ClockRollback", "Tampered", "BiometricsUnavailable", "BiometricsInvalidated",
        "Keystore", "SessionLocked", "Storage", "InvalidInput",
    ]
    # ... and the ones added since, up to ReceiptInvalid (acknowledge), MalformedPin, DeviceKeyLost,
    # ClockAhead (the backend's time is behind the pending edits) and the remote directives' refusals.
    every = contract + ["UserCancelled", "ClockUnavailable", "ReceiptInvalid", "MalformedPin", "DeviceKeyLost",
                        "ClockAhead", "DirectiveInvalid", "DirectiveForAnotherDevice", "DirectiveReplayed",
                        "DirectiveOutdated", "LockedUntilRenewal"]
    for name in every:
        variant = getattr(oa.VaultError, name)
        assert issubclass(variant, oa.VaultError) and issubclass(variant, Exception), name
    # A variant added to the Rust enum shows up here: list it above and test it.
    declared = {
        name for name, value in vars(oa.VaultError).items()
        if isinstance(value, type) and issubclass(value, oa.VaultError) and value is not oa.VaultError
    }
    assert declared == set(every)
    e = oa.VaultError.WrongPin(3)
    assert e.attempts_remaining == 3 and "3" in str(e)
    assert oa.VaultError.ReceiptInvalid("r").reason == "r"


# --- 3. A callback that raises becomes VaultError.Keystore ------------------


class RaisingKeystore(DictKeystore):
    def __init__(self, exc):
        super().__init__()
        self.exc = exc

    def wrap(self, alias, protection, plaintext):
        raise self.exc


def test_keystore_raising_runtime_error_becomes_keystore_error(vault_path, grant, config):
    vault = oa.PinVault.open(vault_path, RaisingKeystore(RuntimeError("secure hardware on fire")), config())
    with pytest.raises(oa.VaultError.Keystore) as exc:
        vault.enroll(PIN, grant(), backend.generate_sync_key())
    assert exc.value.reason
    assert vault.is_enrolled() is False


def test_keystore_raising_typed_error_becomes_keystore_error(vault_path, grant, config):
    vault = oa.PinVault.open(vault_path, RaisingKeystore(oa.KeystoreError.Failed("tpm busy")), config())
    with pytest.raises(oa.VaultError.Keystore) as exc:
        vault.enroll(PIN, grant(), backend.generate_sync_key())
    assert "tpm busy" in exc.value.reason


def test_keystore_key_lost_after_enrolment(vault_path, grant, config):
    ks = DictKeystore()
    vault = oa.PinVault.open(vault_path, ks, config())
    vault.enroll(PIN, grant(), backend.generate_sync_key()).lock()
    for alias in ks.aliases():
        ks.delete_key(alias)
    # The device key is gone: its own error, never a biometric one or a bare keystore failure.
    with pytest.raises(oa.VaultError.DeviceKeyLost):
        vault.unlock(PIN)


class FailingClock(FakeClock):
    fail = False

    def now_unix_secs(self):
        if self.fail:
            raise RuntimeError("no time today")
        return super().now_unix_secs()


def test_clock_raising_is_typed(vault_path, grant, config):
    clock = FailingClock()
    vault = oa.PinVault.open_with_clock(vault_path, DictKeystore(), clock, config())
    vault.enroll(PIN, grant(now=clock.now), backend.generate_sync_key()).lock()
    clock.fail = True
    with pytest.raises(oa.VaultError.ClockUnavailable) as exc:
        vault.unlock(PIN)
    assert exc.value.reason
    clock.fail = False
    assert vault.unlock(PIN).user_id() == USER


class BadReadingsClock(FakeClock):
    boot_id_override = None
    elapsed_back_ms = 0

    def boot_id(self):
        return super().boot_id() if self.boot_id_override is None else self.boot_id_override

    def elapsed_since_boot_millis(self):
        return super().elapsed_since_boot_millis() - self.elapsed_back_ms


def test_bad_clock_readings_are_unavailable_and_elapsed_going_back_is_rollback(vault_path, grant, config):
    clock = BadReadingsClock()
    vault = oa.PinVault.open_with_clock(vault_path, DictKeystore(), clock, config())
    vault.enroll(PIN, grant(now=clock.now), backend.generate_sync_key()).lock()
    for bad in ("", "b" * 257):
        clock.boot_id_override = bad
        with pytest.raises(oa.VaultError.ClockUnavailable):
            vault.unlock(PIN)
    clock.boot_id_override = None
    wall = clock.now
    clock.set_wall(-1)
    with pytest.raises(oa.VaultError.ClockUnavailable):
        vault.unlock(PIN)
    clock.set_wall(wall)
    vault.unlock(PIN).lock()
    # Elapsed time that goes back within one boot: the clock was tampered with.
    clock.elapsed_back_ms = 10_000
    with pytest.raises(oa.VaultError.ClockRollback):
        vault.unlock(PIN)


def test_wall_clock_held_still_while_time_passes_is_a_rollback(vault_path, grant, config):
    # Every 240 s of real time (elapsed since boot) the wall clock is set back
    # 240 s: never more than the 300 s tolerance in one step, but trusted time
    # keeps pace with elapsed time, so it is caught.
    clock = FakeClock()
    wall = real = clock.now
    vault = oa.PinVault.open_with_clock(vault_path, DictKeystore(), clock, config())
    session = vault.enroll(PIN, grant(now=wall), backend.generate_sync_key())
    session.put("notes", "n1", b"kept")
    caught_at = None
    for step in range(1, 4):
        clock.advance(240)
        real += 240
        clock.set_wall(clock.now - 240)
        assert clock.now == wall
        try:
            assert session.get("notes", "n1") == b"kept"
        except oa.VaultError.ClockRollback:
            caught_at = step
            break
    assert caught_at is not None, "a wall clock 720 s behind real time was accepted"
    with pytest.raises(oa.VaultError.ClockRollback):
        session.get("notes", "n1")
    session.lock()
    # The lock is stored: a new unlock is refused too, until the clock is
    # right and a newer grant comes (online).
    with pytest.raises(oa.VaultError.ClockRollback):
        vault.unlock(PIN)
    clock.set_wall(real)
    with pytest.raises(oa.VaultError.ClockRollback):
        vault.unlock(PIN)
    renewed = vault.unlock_with_grant(PIN, grant(now=real + 1))
    assert renewed.get("notes", "n1") == b"kept"


def test_reboot_locks_the_session_and_later_edits_carry_the_boot_count(vault_path, grant, config, issuer):
    clock = FakeClock()
    sync_key = backend.generate_sync_key()
    vault = oa.PinVault.open_with_clock(vault_path, DictKeystore(), clock, config())
    before = vault.enroll(PIN, grant(now=clock.now), sync_key)
    before.put("notes", "before", b"\x01")
    clock.reboot()
    with pytest.raises(oa.VaultError.SessionLocked):
        before.get("notes", "before")

    session = vault.unlock(PIN)
    session.put("notes", "after", b"\x02")
    batch = session.sync_queue().next_batch(100)
    verified = backend.SyncVerifier([issuer.issuer_key()]).verify(
        batch.bytes, sync_key, backend.SyncCursor(last_seq=0, last_mac=bytes(32))
    )
    assert [(op.key, op.boots) for op in verified.operations] == [("before", 0), ("after", 1)]


# --- Receipts: only the backend's genuine receipt deletes queued edits ------


def test_forged_receipt_is_invalid_and_deletes_nothing_then_the_genuine_one_deletes(
    vault_path, grant, config, issuer
):
    # A fixed date on one fake clock for the vault and the verifier: no step
    # depends on today's date, and the verifier's "now" is at or after the
    # entries' time.
    clock = FakeClock(now=FIXED_NOW)
    sync_key = backend.generate_sync_key()
    vault = oa.PinVault.open_with_clock(vault_path, DictKeystore(), clock, config())
    session = vault.enroll(PIN, grant(now=clock.now), sync_key)
    session.put("notes", "n1", b"one")
    session.put("visits", "v1", b"two")
    queue = session.sync_queue()
    batch = queue.next_batch(100)
    clock.advance(30)  # the upload reaches the server a little later
    initial = backend.SyncCursor(last_seq=0, last_mac=bytes(32))

    # A server whose clock is an hour behind the entries refuses them.
    behind = backend.SyncVerifier.with_clock([issuer.issuer_key()], FakeClock(now=FIXED_NOW - 3600))
    with pytest.raises(backend.BackendError.BatchRejected):
        behind.verify(batch.bytes, sync_key, initial)

    verifier = backend.SyncVerifier.with_clock([issuer.issuer_key()], clock)
    verified = verifier.verify(batch.bytes, sync_key, initial)
    assert len(verified.operations) == 2
    receipt = verified.receipt
    # The receipt re-issued for the stored cursor is the same bytes.
    assert verifier.receipt(DEVICE, sync_key, verified.cursor) == receipt

    forged = bytearray(receipt)
    forged[len(forged) // 2] ^= 1
    with pytest.raises(oa.VaultError.ReceiptInvalid) as exc:
        queue.acknowledge(bytes(forged))
    assert exc.value.reason
    assert queue.pending_count() == 2, "a forged receipt deleted entries"
    # Genuine receipts that are not this queue's: another sync key (another
    # enrolment), another device, a seq never sent; and no receipt at all.
    refused = [
        verifier.receipt(DEVICE, backend.generate_sync_key(), verified.cursor),
        verifier.receipt("another-device", sync_key, verified.cursor),
        verifier.receipt(DEVICE, sync_key, backend.SyncCursor(last_seq=3, last_mac=verified.cursor.last_mac)),
        b"",
    ]
    for bad in refused:
        with pytest.raises(oa.VaultError.ReceiptInvalid):
            queue.acknowledge(bad)
    assert queue.pending_count() == 2
    assert vault.status().pending_entries == 2

    queue.acknowledge(receipt)
    assert queue.pending_count() == 0
    assert queue.next_batch(100) is None
    queue.acknowledge(receipt)  # again: harmless
    assert queue.pending_count() == 0


# --- 4. Objects used from several threads at once --------------------------


def test_session_and_vault_from_many_threads(vault_path, grant, config):
    ks = DictKeystore()
    vault = oa.PinVault.open(vault_path, ks, config())
    session = vault.enroll(PIN, grant(), backend.generate_sync_key())
    errors = []

    def worker(n):
        try:
            for i in range(50):
                key = f"t{n}-{i}"
                session.put("notes", key, key.encode())
                assert session.get("notes", key) == key.encode()
                vault.status()
        except Exception as e:  # noqa: BLE001 - collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    assert errors == []
    assert len(session.keys("notes")) == 8 * 50
    assert session.sync_queue().pending_count() == 8 * 50


# --- 5. 100 000 calls do not grow memory without bound ----------------------


def test_100k_calls_do_not_leak(vault_path, grant, config):
    vault = oa.PinVault.open(vault_path, oa.SoftwareKeystore().as_platform_keystore(), config())
    session = vault.enroll(PIN, grant(), backend.generate_sync_key())
    session.put("notes", "k", b"v" * 256)

    # One iteration = 4 FFI calls: constructor, key_count, get, free (on del).
    def churn(n):
        for _ in range(n):
            ks = oa.SoftwareKeystore()  # object created and freed each time
            ks.key_count()
            session.get("notes", "k")   # bytes returned across the FFI
            issuer_key = oa.IssuerKey(kid="k", public_key=bytes(32))  # record, no FFI
            del ks, issuer_key

    churn(10_000)  # warm-up: allocator pools, caches
    gc.collect()
    before = rss_bytes()
    start = time.perf_counter()
    churn(100_000)
    elapsed = time.perf_counter() - start
    gc.collect()
    after = rss_bytes()
    growth = after - before
    print(f"\n[memory] python: 400000 FFI calls (100000 objects created and freed) in {elapsed:.2f} s "
          f"({elapsed * 1e6 / 400_000:.1f} us/call); "
          f"RSS {before / 2**20:.1f} MiB -> {after / 2**20:.1f} MiB (growth {growth / 2**20:.2f} MiB)")
    assert growth < 16 * 2**20


def test_dropped_objects_are_freed(vault_path, config):
    def open_fds():
        return len(os.listdir("/proc/self/fd"))

    sks = oa.SoftwareKeystore()
    oa.PinVault.open(vault_path, sks.as_platform_keystore(), config())  # create the file
    gc.collect()
    baseline = open_fds()
    held = [oa.PinVault.open(vault_path, sks.as_platform_keystore(), config()) for _ in range(300)]
    peak = open_fds()
    del held  # refcount to zero: __del__ frees each Rust object, which closes its database
    gc.collect()
    after = open_fds()
    print(f"\n[free] python: 300 vaults: open fds {baseline} -> {peak} -> {after} after del")
    assert peak > baseline + 100
    assert after <= baseline + 10


# --- Bad input: typed errors, never a crash --------------------------------


def test_bad_input_gives_typed_errors(vault_path, grant, config, issuer):
    with pytest.raises(backend.BackendError.InvalidInput):
        backend.GrantIssuer("kid", b"\x01" * 31)  # wrong-length key
    with pytest.raises(backend.BackendError.InvalidInput):
        backend.GrantIssuer("", b"\x01" * 32)  # empty kid
    with pytest.raises(oa.VaultError.InvalidInput):
        oa.PinVault.open(vault_path, DictKeystore(), config(device_id=""))
    with pytest.raises(oa.VaultError.InvalidInput):
        oa.PinVault.open(vault_path, DictKeystore(), config(issuer_keys=[oa.IssuerKey(kid="k", public_key=b"short")]))
    with pytest.raises(oa.VaultError):
        oa.PinVault.open("", DictKeystore(), config())

    vault = oa.PinVault.open(vault_path, DictKeystore(), config())
    with pytest.raises(oa.VaultError.InvalidInput):
        vault.enroll(PIN, grant(), b"\x00" * 31)  # sync key must be 32 bytes
    with pytest.raises(oa.VaultError.WeakPin):
        vault.enroll("", grant(), backend.generate_sync_key())
    with pytest.raises(oa.VaultError.GrantInvalid):
        vault.enroll(PIN, "", backend.generate_sync_key())
    with pytest.raises(oa.VaultError.GrantInvalid):
        vault.enroll(PIN, "x" * 1_000_000, backend.generate_sync_key())  # huge grant

    session = vault.enroll(PIN, grant(), backend.generate_sync_key())
    with pytest.raises(oa.VaultError.InvalidInput):
        session.put("", "k", b"v")
    with pytest.raises(oa.VaultError.InvalidInput):
        session.put("notes", "", b"v")
    with pytest.raises(oa.VaultError.InvalidInput):
        session.put("notes", "k", b"\x00" * (4 * 1024 * 1024))  # huge value
    with pytest.raises(oa.VaultError.InvalidInput):
        session.put("notes", "k" * 100_000, b"v")
    with pytest.raises(backend.BackendError.BatchRejected):
        backend.SyncVerifier([issuer.issuer_key()]).verify(b"junk", bytes(32), backend.SyncCursor(last_seq=0, last_mac=bytes(32)))

    # None where Python allows any object: rejected by the binding before the FFI call.
    with pytest.raises(TypeError):
        session.put("notes", None, b"v")
    with pytest.raises(TypeError):
        session.put("notes", "k", None)
    with pytest.raises(TypeError):
        oa.PinVault.open(vault_path, None, config())
    # ... and the session still works.
    session.put("notes", "k", b"v")
    assert session.get("notes", "k") == b"v"


# --- Backend helpers and grant renewal across the boundary -----------------


def test_backend_helpers_and_grant_renewal(vault_path, config, issuer):
    # An issuer rebuilt from its exported private key signs the same way.
    again = backend.GrantIssuer(issuer.kid(), issuer.private_key())
    assert again.issuer_key() == issuer.issuer_key()

    jwks = backend.jwks_from_issuer_keys([issuer.issuer_key()])
    assert isinstance(jwks, str) and issuer.kid() in jwks
    # The device reads the JWKS the backend publishes (its own IssuerKey type).
    assert oa.issuer_keys_from_jwks(jwks) == [to_device(issuer.issuer_key())]

    now = int(time.time())
    grant = again.issue(USER, DEVICE, ["notes"], now - 60, now + 600)
    info = backend.verify_grant(grant, [issuer.issuer_key()])
    assert isinstance(info, backend.GrantInfo)
    assert (info.kid, info.user_id, info.device_id, info.scopes) == (issuer.kid(), USER, DEVICE, ["notes"])
    assert (info.issued_at, info.expires_at) == (now - 60, now + 600) and info.grant_id
    with pytest.raises(backend.BackendError.GrantInvalid):
        backend.verify_grant(grant, [backend.GrantIssuer.generate("other").issuer_key()])

    vault = oa.PinVault.open(vault_path, DictKeystore(), config())
    session = vault.enroll(PIN, grant, backend.generate_sync_key())
    assert session.expires_at() == now + 600
    session.renew_grant(issuer.issue(USER, DEVICE, ["notes"], now, now + 7200))
    assert session.expires_at() == now + 7200
    session.lock()
    fresh = issuer.issue(USER, DEVICE, ["notes", "visits"], now + 1, now + 9000)
    session = vault.unlock_with_grant(PIN, fresh)
    assert session.expires_at() == now + 9000
    assert session.scopes() == ["notes", "visits"]
