"""offline-auth backend: issue offline grants, publish JWKS, verify device
batches and answer with receipts (Rust, bound with UniFFI).

Everything is defined in the UniFFI module that the wheel build generates into
the `_uniffi` subpackage, beside the native library it loads with ctypes.
"""
from ._uniffi.offline_auth_backend import *  # noqa: F401,F403
from ._uniffi.offline_auth_backend import __all__  # noqa: F401
