"""offline-auth backend: issue offline grants, publish JWKS, verify device
batches and answer with receipts (Rust, bound with UniFFI).

Everything is defined in the UniFFI module that the wheel build generates into
the `_uniffi` subpackage, beside the native library it loads with ctypes. Type
checkers read the error types from `_errors.pyi` (UniFFI declares each error
class twice, which hides its variants from them).
"""
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._errors import BackendError as BackendError
    from ._errors import EnrolmentRefusal as EnrolmentRefusal
    from ._errors import UploadRefusal as UploadRefusal
from ._uniffi.offline_auth_backend import *  # type: ignore[assignment]  # noqa: F401,F403
from ._uniffi.offline_auth_backend import __all__ as _generated
from ._uniffi import offline_auth_backend as _module
from ._error_messages import install_error_messages

install_error_messages(_module)

__all__ = list(_generated)
