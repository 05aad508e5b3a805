# The README's Python backend example. scripts/check-readme-examples.py keeps
# the README's block identical to the region below, which is this whole file:
# it runs as a module of its own (test_readme_example.py imports it).
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
