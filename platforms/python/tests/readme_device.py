# The Python device package's README example (platforms/python/offline-auth/
# README.md). scripts/check-readme-examples.py keeps the README's block
# identical to the region below, which is this whole file: it runs as a module
# of its own (test_readme_example.py imports it), and mypy checks it.
# readme:start
import offline_auth as oa


def first_shift(jwks: str, keystore: oa.PlatformKeystore, grant: str, sync_key: bytes, pin: str) -> None:
    config = oa.VaultConfig(device_id="tablet-42", issuer_keys=oa.issuer_keys_from_jwks(jwks))
    vault = oa.PinVault.open("vault.db", keystore, config)
    session = vault.enroll(pin, grant, sync_key)          # first sign-in: grant + sync key from your server
    session.put("inspections", "station-4", b"seal ok")
    session.lock()
    try:
        session = vault.unlock(pin)                       # later, offline
    except oa.VaultError.WrongPin as wrong:
        print(f"wrong PIN, {wrong.attempts_remaining} attempts left")
    except oa.VaultError.LockedOut as locked:
        print(f"locked for {locked.retry_after_secs} s")
# readme:end
