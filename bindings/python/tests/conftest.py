"""Shared fixtures for the Python binding tests.

These tests exercise the binding layer (types, errors, callbacks, threads,
object lifetimes), not the cryptography, which the Rust tests cover.
"""
import os
import sys
import threading
import time

import pytest

# The package (generated module + liboffline_auth.so staged by
# bindings/generate.sh) lives in bindings/python/offline_auth.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import offline_auth as oa  # noqa: E402

DEVICE = "device-1"
USER = "alice"
PIN = "482915"
SCOPES = ["notes", "visits"]


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


class FakeClock(oa.Clock):
    """A settable clock implemented in Python."""

    def __init__(self, now=None):
        self.now = int(time.time()) if now is None else now
        self.millis = 1_000

    def now_unix_secs(self):
        return self.now

    def monotonic_millis(self):
        self.millis += 1
        return self.millis

    def advance(self, secs):
        self.now += secs
        self.millis += secs * 1000


@pytest.fixture(scope="session")
def issuer():
    return oa.GrantIssuer.generate("test-kid-1")


@pytest.fixture
def grant(issuer):
    def make(user=USER, device=DEVICE, scopes=SCOPES, now=None, valid_for=3600):
        now = int(time.time()) if now is None else now
        return issuer.issue(user, device, scopes, now - 60, now + valid_for)

    return make


@pytest.fixture
def config(issuer):
    def make(**overrides):
        fields = dict(device_id=DEVICE, issuer_keys=[issuer.issuer_key()])
        fields.update(overrides)
        return oa.VaultConfig(**fields)

    return make


@pytest.fixture
def vault_path(tmp_path):
    return str(tmp_path / "vault.db")
