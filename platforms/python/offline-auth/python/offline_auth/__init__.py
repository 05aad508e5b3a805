"""offline-auth device SDK: a hardware-bound PIN vault, a server-signed
offline window and a MAC-chained sync queue (Rust, bound with UniFFI).

Everything is defined in the UniFFI module that the wheel build generates into
the `_uniffi` subpackage, beside the native library it loads with ctypes.
"""
from ._uniffi.offline_auth import *  # noqa: F401,F403
from ._uniffi.offline_auth import __all__  # noqa: F401
