#!/usr/bin/env bash
# Writes both Python packages (git-ignored; scripts/test.sh and build-wheel.sh
# run this): the UniFFI-generated module, its __init__.py and the native
# library, for the device SDK and for the backend.
#
#   platforms/python/generate.sh
#
#   offline-auth/offline_auth/                  crate offline-auth
#   offline-auth-backend/offline_auth_backend/  crate offline-auth-backend (--features ffi)
set -euo pipefail
PY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
GEN="$PY_DIR/../../tools/generate-bindings.sh"
bash "$GEN" python "$PY_DIR/offline-auth/offline_auth" --crate offline-auth
bash "$GEN" python "$PY_DIR/offline-auth-backend/offline_auth_backend" --crate offline-auth-backend --features ffi
# The device package's hand-written module (python/offline_auth/ in the wheel,
# beside _uniffi/) joins the generated package here too, so the tests see the
# package's whole API: route_logs_to_python_logging.
cp "$PY_DIR/offline-auth/python/offline_auth/_logging.py" "$PY_DIR/offline-auth/offline_auth/_logging.py"
cat >> "$PY_DIR/offline-auth/offline_auth/__init__.py" <<'PY'
from ._logging import PythonLoggingSink, route_logs_to_python_logging  # noqa: F401,E402

__all__ = [*__all__, "PythonLoggingSink", "route_logs_to_python_logging"]
PY
