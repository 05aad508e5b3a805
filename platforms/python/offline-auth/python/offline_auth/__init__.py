"""offline-auth device SDK: a hardware-bound PIN vault, a server-signed
offline window and a MAC-chained sync queue (Rust, bound with UniFFI).

Everything is defined in the UniFFI module that the wheel build generates into
the `_uniffi` subpackage, beside the native library it loads with ctypes;
`route_logs_to_python_logging` routes the library's logs to `logging`. Type
checkers read the error types from `_errors.pyi` (UniFFI declares each error
class twice, which hides its variants from them).
"""
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._errors import AttestorError as AttestorError
    from ._errors import ClockError as ClockError
    from ._errors import KeystoreError as KeystoreError
    from ._errors import LogSinkError as LogSinkError
    from ._errors import VaultError as VaultError
from ._uniffi.offline_auth import *  # type: ignore[assignment]  # noqa: F401,F403
from ._uniffi.offline_auth import __all__ as _generated
from ._uniffi import offline_auth as _module
from ._error_messages import install_error_messages
from ._logging import PythonLoggingSink, route_logs_to_python_logging  # noqa: F401

install_error_messages(_module)

__all__ = [*_generated, "PythonLoggingSink", "route_logs_to_python_logging"]
