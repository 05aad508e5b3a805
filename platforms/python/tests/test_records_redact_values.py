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
