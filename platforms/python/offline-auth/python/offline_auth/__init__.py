"""offline-auth device SDK: a hardware-bound PIN vault, a server-signed
offline window and a MAC-chained sync queue (Rust, bound with UniFFI).

Everything is defined in the UniFFI module that the wheel build generates into
the `_uniffi` subpackage, beside the native library it loads with ctypes;
`route_logs_to_python_logging` routes the library's logs to `logging`.
"""
from ._uniffi.offline_auth import *  # noqa: F401,F403
from ._uniffi.offline_auth import __all__ as _generated
from ._logging import PythonLoggingSink, route_logs_to_python_logging  # noqa: F401

__all__ = [*_generated, "PythonLoggingSink", "route_logs_to_python_logging"]
