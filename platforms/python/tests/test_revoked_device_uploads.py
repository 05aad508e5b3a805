"""A Python backend judges a revoked device's upload (issue 25 §2): under a
policy that admits what came before the revocation, those edits are applied
and acknowledged while the later ones are refused and stay on the device; by
default every edit is refused; a revocation of another device is refused."""

import pytest

import offline_auth as oa
import offline_auth_backend as backend
from conftest import DEVICE, FIXED_NOW, PIN, SCOPES, USER, DictKeystore, FakeClock

DAY = 86_400


def revoked_between_two_edits(vault_path, issuer, config):
    """A device with one edit before its revocation and one after; returns
    its queue, the batch, its sync key and the revocation."""
    clock = FakeClock(FIXED_NOW)
    vault = oa.PinVault.open_with_clock(vault_path, DictKeystore(), clock, config())
    sync_key = backend.generate_sync_key()
    session = vault.enroll(PIN, issuer.issue(USER, DEVICE, SCOPES, FIXED_NOW, FIXED_NOW + 7 * DAY), sync_key)
    session.put("visits", "before", b"a")
    clock.advance(60)
    revocation = backend.Revocation(device_id=DEVICE, reason="reported lost", at=clock.now)
    clock.advance(60)
    session.put("visits", "after", b"b")
    queue = session.sync_queue()
    return queue, queue.next_batch(10).bytes, sync_key, revocation


START = backend.SyncCursor(last_seq=0, last_mac=bytes(32))


def test_edits_before_the_revocation_are_admitted_and_the_rest_refused(vault_path, issuer, config):
    queue, body, sync_key, revocation = revoked_between_two_edits(vault_path, issuer, config)
    verifier = backend.SyncVerifier([issuer.issuer_key()])

    judged = verifier.verify_revoked(body, sync_key, START, revocation, True)

    assert [op.key for op in judged.admitted.operations] == ["before"]
    assert judged.admitted.cursor.last_seq == 1
    assert (judged.refused.from_seq, judged.refused.through_seq, judged.refused.count) == (2, 2, 1)
    queue.acknowledge(judged.admitted.receipt)
    assert queue.pending_count() == 1  # the refused edit stays on the device, reported


def test_by_default_every_edit_of_a_revoked_device_is_refused(vault_path, issuer, config):
    queue, body, sync_key, revocation = revoked_between_two_edits(vault_path, issuer, config)
    verifier = backend.SyncVerifier([issuer.issuer_key()])

    judged = verifier.verify_revoked(body, sync_key, START, revocation, False)

    assert judged.admitted is None
    assert (judged.refused.from_seq, judged.refused.through_seq, judged.refused.count) == (1, 2, 2)
    assert queue.pending_count() == 2


def test_a_revocation_of_another_device_or_without_a_reason_is_invalid_input(vault_path, issuer, config):
    _, body, sync_key, revocation = revoked_between_two_edits(vault_path, issuer, config)
    verifier = backend.SyncVerifier([issuer.issuer_key()])
    other = backend.Revocation(device_id="another-tablet", reason="reported lost", at=revocation.at)
    with pytest.raises(backend.BackendError.InvalidInput):
        verifier.verify_revoked(body, sync_key, START, other, True)
    silent = backend.Revocation(device_id=DEVICE, reason="", at=revocation.at)
    with pytest.raises(backend.BackendError.InvalidInput):
        verifier.verify_revoked(body, sync_key, START, silent, True)
