"""The README's Python backend example, run as written against a real device:
readme_backend.py is the README's code block, word for word
(scripts/check-readme-examples.py keeps the two identical)."""

import time

import offline_auth as device
import offline_auth_backend as oa
from conftest import DictKeystore
from readme_backend import jwks, sign_in, upload


def test_the_readme_backend_example_verifies_a_real_device_batch(vault_path):
    grant, sync_key = sign_in("amira", "tablet-42", int(time.time()))
    config = device.VaultConfig(device_id="tablet-42", issuer_keys=device.issuer_keys_from_jwks(jwks))
    vault = device.PinVault.open(vault_path, DictKeystore(), config)
    session = vault.enroll("482915", grant, sync_key)
    session.put("inspections", "station-4", b"seal ok")
    queue = session.sync_queue()

    operations, cursor, receipt = upload(queue.next_batch(100).bytes, sync_key,
                                         oa.SyncCursor(last_seq=0, last_mac=bytes(32)))

    assert [(op.collection, op.key, op.value) for op in operations] == [("inspections", "station-4", b"seal ok")]
    assert cursor.last_seq == 1
    queue.acknowledge(receipt)
    assert queue.pending_count() == 0


def test_the_device_readme_example_enrols_stores_and_refuses_a_wrong_pin(tmp_path, monkeypatch, capsys):
    from readme_device import first_shift

    issuer = oa.GrantIssuer.generate("readme-device")
    grant = issuer.issue("amira", "tablet-42", ["inspections"], int(time.time()), int(time.time()) + 3600)
    monkeypatch.chdir(tmp_path)

    first_shift(oa.jwks_from_issuer_keys([issuer.issuer_key()]), DictKeystore(), grant, oa.generate_sync_key(), "482915")

    assert (tmp_path / "vault.db").exists()
    assert capsys.readouterr().out == ""  # the right PIN: no refusal printed
