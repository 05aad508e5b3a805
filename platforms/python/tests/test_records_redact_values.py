"""A record that carries a value prints its key and the value's length,
never the value: repr() and str() are the Rust Debug and Display, which
redact (the binding's own would print every field)."""

import offline_auth as oa
import offline_auth_backend as backend
from conftest import PIN, DictKeystore

SECRET = b"patient 7734: HIV positive"


def test_key_value_records_never_print_their_value(vault_path, grant, config):
    vault = oa.PinVault.open(vault_path, DictKeystore(), config())
    session = vault.enroll(PIN, grant(), backend.generate_sync_key())
    session.put_many("notes", [oa.KeyValue(key="visit-1", value=SECRET)])

    [record] = session.entries("notes")

    assert record.value == SECRET  # the field itself is the value
    for shown in (repr(record), str(record), f"{record}", str([record])):
        assert "visit-1" in shown
        assert "patient" not in shown and "HIV" not in shown
        assert str(len(SECRET)) in shown
    assert repr(record) == f'KeyValue {{ key: "visit-1", value_len: {len(SECRET)} }}'
    session.lock()


def test_verified_operations_never_print_their_key_or_value(vault_path, grant, config, issuer):
    vault = oa.PinVault.open(vault_path, DictKeystore(), config())
    sync_key = backend.generate_sync_key()
    session = vault.enroll(PIN, grant(), sync_key)
    session.put("notes", "visit-1", SECRET)
    body = session.sync_queue().next_batch(10).bytes
    verifier = backend.SyncVerifier([issuer.issuer_key()])

    [op] = verifier.verify(body, sync_key, backend.SyncCursor(last_seq=0, last_mac=bytes(32))).operations

    assert op.value == SECRET and op.key == "visit-1"  # the fields themselves
    for shown in (repr(op), str(op), str([op])):
        assert "notes" in shown
        assert "visit-1" not in shown and "patient" not in shown and "HIV" not in shown
    session.lock()
