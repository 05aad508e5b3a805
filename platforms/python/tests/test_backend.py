"""Python binding tests of the backend package on its own (binding layer only):
issuing, JWKS, grant verification, a signer and a server clock written in
Python, typed errors. Batches from a real device queue are verified in
test_offline_auth.py."""
import asyncio
import threading
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

import offline_auth_backend as backend

NOW = int(time.time())


def test_issue_publish_verify():
    issuer = backend.GrantIssuer.generate("kid-1")
    key = issuer.issuer_key()
    assert issuer.kid() == "kid-1" and len(key.public_key) == 32
    assert backend.GrantIssuer(issuer.kid(), issuer.private_key()).issuer_key() == key
    assert backend.issuer_keys_from_jwks(backend.jwks_from_issuer_keys([key])) == [key]
    grant = issuer.issue("alice", "device-1", ["notes"], NOW - 60, NOW + 600)
    info = backend.verify_grant(grant, [key])
    assert (info.kid, info.user_id, info.device_id, info.scopes) == ("kid-1", "alice", "device-1", ["notes"])
    with pytest.raises(backend.BackendError.GrantInvalid):
        backend.verify_grant(grant, [backend.GrantIssuer.generate("kid-2").issuer_key()])
    a = backend.generate_sync_key()
    assert len(a) == 32 and a != backend.generate_sync_key()


class PySigner(backend.GrantSigner):
    """A KMS stand-in: an Ed25519 key in `cryptography` that never hands out its private key."""

    def __init__(self, kid, fail=False):
        self._kid = kid
        self._key = Ed25519PrivateKey.generate()
        self._fail = fail
        self.signatures = 0

    def kid(self):
        return self._kid

    def public_key(self):
        return self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    def sign(self, message):
        if self._fail:
            raise backend.BackendError.Signer("the key store is offline")
        self.signatures += 1
        return self._key.sign(bytes(message))


def test_signer_written_in_python():
    signer = PySigner("kms-1")
    issuer = backend.GrantIssuer.with_signer(signer, backend.IssuerOptions())
    grant = issuer.issue("alice", "device-1", ["notes"], NOW - 60, NOW + 600)
    assert signer.signatures == 1
    assert backend.verify_grant(grant, [issuer.issuer_key()]).user_id == "alice"
    with pytest.raises(backend.BackendError.InvalidInput):
        issuer.private_key()  # an external signer's key is not the issuer's to give
    failing = backend.GrantIssuer.with_signer(PySigner("kms-2", fail=True), backend.IssuerOptions())
    with pytest.raises(backend.BackendError.Signer):
        failing.issue("alice", "device-1", ["notes"], NOW - 60, NOW + 600)


class FixedClock(backend.ServerClock):
    def __init__(self, now):
        self.now = now

    def now_unix_secs(self):
        return self.now


def test_the_initial_cursor_is_where_every_chain_starts():
    assert backend.initial_sync_cursor() == backend.SyncCursor(last_seq=0, last_mac=bytes(32))


def test_verifier_on_a_python_clock_and_typed_rejections():
    issuer = backend.GrantIssuer.generate("kid-1")
    verifier = backend.SyncVerifier.with_clock([issuer.issuer_key()], FixedClock(NOW))
    cursor = backend.initial_sync_cursor()
    with pytest.raises(backend.BackendError.BatchRejected) as rejected:
        verifier.verify(b"junk", bytes(32), cursor)
    assert rejected.value.kind == backend.RejectReason.MALFORMED
    with pytest.raises(backend.BackendError.InvalidInput):
        verifier.verify(b"junk", bytes(31), cursor)
    # verify_with_chain: the applied entries cross the binding as int seqs, range-checked.
    with pytest.raises(backend.BackendError.BatchRejected):
        verifier.verify_with_chain(b"junk", bytes(32), cursor, [])
    with pytest.raises(backend.BackendError.InvalidInput):
        verifier.verify_with_chain(b"junk", bytes(32), cursor, [backend.AppliedEntry(seq=-1, mac=bytes(32))])
    key = backend.generate_sync_key()
    stored = backend.SyncCursor(last_seq=3, last_mac=bytes(range(32)))
    assert verifier.receipt("device-1", key, stored) == verifier.receipt("device-1", key, stored)
    with pytest.raises(backend.BackendError.InvalidInput):
        verifier.receipt("device-1", bytes(5), stored)


def test_bad_input_gives_typed_errors():
    with pytest.raises(backend.BackendError.InvalidInput):
        backend.GrantIssuer("kid", b"\x01" * 31)
    with pytest.raises(backend.BackendError.InvalidInput):
        backend.SyncVerifier([])
    with pytest.raises(backend.BackendError.InvalidInput):
        backend.issuer_keys_from_jwks("not json")
    issuer = backend.GrantIssuer.generate("kid-1")
    with pytest.raises(backend.BackendError.InvalidInput):
        issuer.issue("alice", "device-1", ["notes"], NOW, NOW)
    with pytest.raises(backend.BackendError.GrantInvalid):
        backend.verify_grant("not.a.grant", [issuer.issuer_key()])
    for name in ["InvalidInput", "GrantInvalid", "BatchRejected", "Diverged", "Signer", "Clock", "Internal"]:
        assert issubclass(getattr(backend.BackendError, name), backend.BackendError)


def test_verify_async_leaves_the_event_loop_running_while_it_works():
    # The verifier reads its clock first; this clock holds the verification
    # until the event loop has run on. A verify that ran on the loop's own
    # thread would never see the gate open (the wait gives up, the clock
    # fails and the batch is not even parsed): only an off-thread verify ends
    # with the MALFORMED rejection of the junk batch.
    order = []
    gate = threading.Event()

    class GatedClock(backend.ServerClock):
        def now_unix_secs(self):
            opened = gate.wait(120)
            order.append("verifier released" if opened else "verifier blocked the loop")
            if not opened:
                raise RuntimeError("the event loop never ran")
            return NOW

    issuer = backend.GrantIssuer.generate("kid-1")
    verifier = backend.SyncVerifier.with_clock([issuer.issuer_key()], GatedClock())
    cursor = backend.SyncCursor(last_seq=0, last_mac=bytes(32))

    async def scenario():
        pending = asyncio.ensure_future(verifier.verify_async(b"junk", bytes(32), cursor))
        await asyncio.sleep(0)
        order.append("event loop ran while verify was pending")
        gate.set()
        with pytest.raises(backend.BackendError.BatchRejected) as rejected:
            await pending
        assert rejected.value.kind == backend.RejectReason.MALFORMED

    asyncio.run(scenario())
    assert order == ["event loop ran while verify was pending", "verifier released"]


def test_issue_async_gives_a_grant_that_verifies():
    issuer = backend.GrantIssuer.generate("kid-1")
    grant = asyncio.run(issuer.issue_async("alice", "device-1", ["notes"], NOW - 60, NOW + 600))
    info = backend.verify_grant(grant, [issuer.issuer_key()])
    assert (info.user_id, info.device_id) == ("alice", "device-1")
