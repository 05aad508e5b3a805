"""Shared fixtures for the Python binding tests.

These tests exercise the binding layer (types, errors, callbacks, threads,
object lifetimes), not the cryptography, which the Rust tests cover.
"""
import os
import sys
import threading
import time

import pytest

# The two packages (generated module + library each, written by
# platforms/python/generate.sh, which scripts/test.sh runs first): the device
# SDK in offline-auth/offline_auth, the backend (grants, batch verification)
# in offline-auth-backend/offline_auth_backend. With
# OFFLINE_AUTH_TEST_INSTALLED=1 (build-wheel.sh, in the venv it installed the
# wheels into) the tests use the installed packages instead.
PY_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INSTALLED = os.environ.get("OFFLINE_AUTH_TEST_INSTALLED") == "1"
if not INSTALLED:
    sys.path[0:0] = [os.path.join(PY_DIR, "offline-auth"), os.path.join(PY_DIR, "offline-auth-backend")]

import offline_auth as oa  # noqa: E402
import offline_auth_backend as backend  # noqa: E402

if INSTALLED:
    for _package in (oa, backend):
        assert not os.path.abspath(_package.__file__).startswith(PY_DIR + os.sep), _package.__file__

DEVICE = "device-1"
USER = "alice"
PIN = "482915"
SCOPES = ["notes", "visits"]
# A fixed wall-clock time (2025-06-15) for tests that must not depend on today's date.
FIXED_NOW = 1_750_000_000


class DictKeystore(oa.PlatformKeystore):
    """A keystore in Python: a dictionary of opaque handles per alias.

    `wrapped` is a random handle; the plaintext never leaves this object.
    Counts calls so that tests can check the callbacks were really used.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._keys = {}  # alias -> {handle: (protection, plaintext)}
        self.calls = {"wrap": 0, "unwrap": 0, "delete_key": 0}

    def wrap(self, alias, protection, plaintext):
        with self._lock:
            self.calls["wrap"] += 1
            handle = os.urandom(16)
            self._keys.setdefault(alias, {})[handle] = (protection, bytes(plaintext))
            return handle

    def unwrap(self, alias, protection, wrapped):
        with self._lock:
            self.calls["unwrap"] += 1
            entries = self._keys.get(alias)
            if entries is None:
                raise oa.KeystoreError.KeyNotFound()
            entry = entries.get(bytes(wrapped))
            if entry is None or entry[0] != protection:
                raise oa.KeystoreError.UnwrapFailed()
            return entry[1]

    def delete_key(self, alias):
        with self._lock:
            self.calls["delete_key"] += 1
            self._keys.pop(alias, None)

    def aliases(self):
        with self._lock:
            return set(self._keys)


def to_device(key):
    """The backend's IssuerKey as the device's: the two libraries each generate
    their own type, so a key crosses field by field (a real app reads JWKS)."""
    return oa.IssuerKey(kid=key.kid, public_key=key.public_key)


class FakeClock(oa.Clock, backend.ServerClock):
    """A settable clock implemented in Python, with the three readings of `Clock`;
    also the backend verifier's `ServerClock` (its wall clock only), so that
    vault and verifier can run on one fake time.

    `now` is the wall clock (the user may set it: assign it or call
    `set_wall`); `boot_id()` names the current boot; `elapsed_ms` is the time
    elapsed since that boot. `advance` moves real time (wall and elapsed
    together); `reboot` starts a new boot (new id, elapsed restarting near 0).
    Elapsed time never moves on its own.
    """

    def __init__(self, now=None):
        self._lock = threading.Lock()
        self.now = int(time.time()) if now is None else now
        self.boot_number = 0
        self.elapsed_ms = 60_000

    def now_unix_secs(self):
        return self.now

    def boot_id(self):
        return f"fake-boot-{self.boot_number}"

    def elapsed_since_boot_millis(self):
        return self.elapsed_ms

    def advance(self, secs):
        """Real time passes: the wall clock and the elapsed time move together."""
        with self._lock:
            self.now += secs
            self.elapsed_ms += secs * 1000

    def set_wall(self, secs):
        """The user sets the wall clock (nothing else moves)."""
        self.now = secs

    def reboot(self, down_secs=30):
        """The device restarts: a new boot id, elapsed restarts near 0; the wall clock keeps going."""
        with self._lock:
            self.boot_number += 1
            self.elapsed_ms = 5_000
            self.now += down_secs


@pytest.fixture(scope="session")
def issuer():
    return backend.GrantIssuer.generate("test-kid-1")


@pytest.fixture
def grant(issuer):
    def make(user=USER, device=DEVICE, scopes=SCOPES, now=None, valid_for=3600):
        now = int(time.time()) if now is None else now
        return issuer.issue(user, device, scopes, now - 60, now + valid_for)

    return make


@pytest.fixture
def config(issuer):
    def make(**overrides):
        fields = dict(device_id=DEVICE, issuer_keys=[to_device(issuer.issuer_key())])
        fields.update(overrides)
        return oa.VaultConfig(**fields)

    return make


@pytest.fixture
def vault_path(tmp_path):
    return str(tmp_path / "vault.db")
