"""Python→Rust call overhead through the UniFFI binding (platforms/python).

Times the same calls as benches/calls.rs: a trivial method
(`OfflineSession.is_unlocked`), `get` of a 256-byte record, and a 100-field
form (64-byte fields) read and written in one crossing (`get_many`/`put_many`)
and in 100 (`get`/`put`), and prints one line for compare.sh:
`ffi_python is_unlocked_ns=… get_256B_ns=… read_100_one_call_ns=… … peak_rss_kib=…`.
Exits 3 when the bindings cannot be imported (not generated yet: compare.sh
runs platforms/python/generate.sh first). The backend package issues the grant
and the sync key.
"""
import os
import resource
import sys
import tempfile
import time
import timeit

HERE = os.path.dirname(os.path.abspath(__file__))
PY_DIR = os.path.join(HERE, "..", "..", "..", "platforms", "python")
sys.path[0:0] = [os.path.join(PY_DIR, "offline-auth"), os.path.join(PY_DIR, "offline-auth-backend")]
try:
    import offline_auth as oa
    import offline_auth_backend as backend
except Exception as error:  # noqa: BLE001 - any import failure means "not ready"
    print(f"python binding not importable: {error}", file=sys.stderr)
    sys.exit(3)


class DictKeystore(oa.PlatformKeystore):
    """A Python keystore (the binding's foreign trait): opaque random handles."""

    def __init__(self):
        self._keys = {}

    def wrap(self, alias, protection, plaintext):
        handle = os.urandom(16)
        self._keys.setdefault(alias, {})[handle] = (protection, bytes(plaintext))
        return handle

    def unwrap(self, alias, protection, wrapped):
        entry = self._keys.get(alias, {}).get(bytes(wrapped))
        if entry is None or entry[0] != protection:
            raise oa.KeystoreError.UnwrapFailed()
        return entry[1]

    def delete_key(self, alias):
        self._keys.pop(alias, None)


def best_ns(fn, number):
    """Best of 5 repeats, per call, in nanoseconds."""
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e9


def main():
    now = int(time.time())
    issuer = backend.GrantIssuer.generate("issuer-1")
    grant = issuer.issue("amira", "tablet-42", ["inspections"], now, now + 86_400)
    key = issuer.issuer_key()  # the backend's IssuerKey; the device has its own type
    config = oa.VaultConfig(device_id="tablet-42", issuer_keys=[oa.IssuerKey(kid=key.kid, public_key=key.public_key)])
    with tempfile.TemporaryDirectory(dir="/dev/shm" if os.path.isdir("/dev/shm") else None) as tmp:
        vault = oa.PinVault.open(os.path.join(tmp, "vault.db"), DictKeystore(), config)
        session = vault.enroll("482915", grant, backend.generate_sync_key())
        value = bytes((i * 131 + 7) % 256 for i in range(256))
        session.put("inspections", "station-00000", value)
        assert session.get("inspections", "station-00000") == value
        trivial = best_ns(session.is_unlocked, 100_000)
        get = best_ns(lambda: session.get("inspections", "station-00000"), 20_000)
        form = [oa.KeyValue(key=f"field-{i:03}", value=bytes((i + j) % 256 for j in range(64))) for i in range(100)]
        form_keys = [kv.key for kv in form]
        session.put_many("inspections", form)
        read_one = best_ns(lambda: session.get_many("inspections", form_keys), 200)
        read_100 = best_ns(lambda: [session.get("inspections", k) for k in form_keys], 200)
        write_one = best_ns(lambda: session.put_many("inspections", form), 20)
        write_100 = best_ns(lambda: [session.put("inspections", kv.key, kv.value) for kv in form], 2)
        session.lock()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"ffi_python is_unlocked_ns={trivial:.1f} get_256B_ns={get:.1f} "
          f"read_100_one_call_ns={read_one:.1f} read_100_calls_ns={read_100:.1f} "
          f"write_100_one_call_ns={write_one:.1f} write_100_calls_ns={write_100:.1f} peak_rss_kib={peak}")


if __name__ == "__main__":
    main()
