"""The README's Python backend example, run as written against a real device:
the region between the readme markers is the README's code block
(scripts/check-readme-examples.py keeps the two identical)."""

import time

import offline_auth as device
from conftest import DictKeystore

# readme:start
import offline_auth_backend as oa

issuer = oa.GrantIssuer.generate("2026-11")                  # or oa.GrantIssuer(kid, key from your KMS)
jwks = oa.jwks_from_issuer_keys([issuer.issuer_key()])        # publish it; devices trust these keys
verifier = oa.SyncVerifier([issuer.issuer_key()])

def sign_in(user_id, device_id, now):                         # after your own online authentication
    grant = issuer.issue(user_id, device_id, ["inspections"], now, now + 3 * 86400)
    return grant, oa.generate_sync_key()                      # keep the sync key with the device's row

def upload(body, sync_key, stored_cursor):                    # raises oa.BackendError.BatchRejected
    verified = verifier.verify(body, sync_key, stored_cursor)
    return verified.operations, verified.cursor, verified.receipt  # apply + store cursor in one transaction
# readme:end


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
