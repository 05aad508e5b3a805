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
