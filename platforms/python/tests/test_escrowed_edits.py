"""Escrowed edits through the bindings (binding layer only; the properties
are proven by the Rust tests): the escrow key configured from Python, a
wipe, `PinVault.salvage`, and the backend package's `SalvageOpener`
delivering every edit made before, once."""
import pytest

import offline_auth as oa
import offline_auth_backend as backend

from conftest import DEVICE, FIXED_NOW, PIN, FakeClock, DictKeystore


def test_a_salvage_after_a_wipe_delivers_the_edits(vault_path, grant, config, issuer):
    escrow = backend.generate_escrow_key_pair("escrow-1")
    assert len(escrow.public_key) == 32 and escrow.secret_line.startswith("escrow-1:")
    signed = issuer.sign_escrow_key(escrow.kid, escrow.public_key, FIXED_NOW)
    clock = FakeClock(now=FIXED_NOW)
    vault = oa.PinVault.open_with_clock(vault_path, DictKeystore(), clock, config(escrow_key=signed))
    sync_key = backend.generate_sync_key()
    session = vault.enroll(PIN, grant(now=FIXED_NOW), sync_key)
    session.put("notes", "n1", b"first")
    session.put("visits", "v1", b"second")
    session.delete("notes", "n1")
    assert vault.escrowed_count() == 3

    vault.wipe()
    assert not vault.is_enrolled()
    upload = vault.salvage(max_entries=100)
    assert (upload.first_seq, upload.last_seq, upload.entry_count) == (1, 3, 3)

    verifier = backend.SyncVerifier.with_clock([issuer.issuer_key()], clock)
    opener = backend.SalvageOpener.from_key_text(verifier, escrow.secret_line)
    initial = backend.SyncCursor(last_seq=0, last_mac=bytes(32))
    verified = opener.verify(upload.bytes, sync_key, initial, [])
    assert verified.device_id == DEVICE
    assert [(op.collection, op.key, op.value) for op in verified.operations] == [
        ("notes", "n1", b"first"),
        ("visits", "v1", b"second"),
        ("notes", "n1", None),
    ]
    replay = opener.verify(upload.bytes, sync_key, verified.cursor, [])
    assert replay.operations == [] and replay.duplicates == 3

    assert vault.forget_salvaged(upload.enrolment, verified.cursor.last_seq) == 3
    assert vault.escrowed_count() == 0
    assert vault.salvage(max_entries=100) is None

    altered = bytearray(upload.bytes)
    altered[-1] ^= 1
    with pytest.raises(backend.BackendError.BatchRejected):
        opener.verify(bytes(altered), sync_key, initial, [])


def test_an_escrow_key_from_an_untrusted_issuer_is_invalid_input(vault_path, config):
    stranger = backend.GrantIssuer.generate("stranger")
    escrow = backend.generate_escrow_key_pair("escrow-1")
    forged = stranger.sign_escrow_key(escrow.kid, escrow.public_key, FIXED_NOW)
    with pytest.raises(oa.VaultError.InvalidInput):
        oa.PinVault.open(vault_path, DictKeystore(), config(escrow_key=forged))
