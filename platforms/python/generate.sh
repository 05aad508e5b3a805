#!/usr/bin/env bash
# Writes both Python packages for the tests (git-ignored; scripts/test.sh
# runs this), laid out as in the wheel: the package's own Python source
# (python/<package>/: __init__.py, the error-message and logging modules, the
# typing stubs, py.typed) with the UniFFI-generated module and the native
# library in its _uniffi/ subpackage.
#
#   platforms/python/generate.sh
#
#   offline-auth/offline_auth/                  crate offline-auth
#   offline-auth-backend/offline_auth_backend/  crate offline-auth-backend (--features ffi)
set -euo pipefail
PY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
GEN="$PY_DIR/../../tools/generate-bindings.sh"

write_package() {
    local project="$1" package="$2"; shift 2
    local out="$PY_DIR/$project/$package"
    # A tree written before the _uniffi/ layout had the module at the top.
    rm -f "$out/$package.py" "$out"/lib*.so
    bash "$GEN" python "$out/_uniffi" "$@"
    cp -p "$PY_DIR/$project/python/$package"/* "$out/"
}
write_package offline-auth offline_auth --crate offline-auth
write_package offline-auth-backend offline_auth_backend --crate offline-auth-backend --features ffi
