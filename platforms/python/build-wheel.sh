#!/usr/bin/env bash
# Build a wheel of the Python binding and smoke-test it in a fresh venv.
#
#   platforms/python/build-wheel.sh [OUT_DIR]     (default: platforms/python/dist)
#
# First writes the package directory offline_auth/ (the UniFFI-generated
# module, its __init__.py and liboffline_auth.so; git-ignored) with
# tools/generate-bindings.sh, which builds the library with cargo
# (OFFLINE_AUTH_SKIP_BUILD=1 uses the built one). The wheel gets a copy of
# the library with its debug info stripped (the dynamic symbol table, all
# ctypes needs, stays). It is tagged py3-none-linux_x86_64: fine for a private
# index or a direct install; a public upload would need a manylinux build
# (auditwheel).
set -euo pipefail

PY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${1:-$PY_DIR/dist}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
bash "$PY_DIR/../../tools/generate-bindings.sh" python "$PY_DIR/offline_auth" --crate offline-auth

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src/offline_auth"
cp "$PY_DIR/pyproject.toml" "$PY_DIR/setup.py" "$work/src/"
cp "$PY_DIR"/offline_auth/*.py "$PY_DIR/offline_auth/liboffline_auth.so" "$work/src/offline_auth/"
strip --strip-debug "$work/src/offline_auth/liboffline_auth.so"

rm -f "$OUT"/offline_auth-*.whl
python3 -m pip wheel -q --no-deps -w "$OUT" "$work/src"
wheel="$(ls "$OUT"/offline_auth-*.whl)"
echo "built $wheel ($(du -h "$wheel" | cut -f1))"

# Smoke test: install into an empty venv and call into the library from
# outside the source tree.
python3 -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q --no-deps "$wheel"
(cd "$work" && "$work/venv/bin/python" - <<'PY'
import offline_auth as oa
key = oa.generate_sync_key()
assert isinstance(key, bytes) and len(key) == 32
issuer = oa.GrantIssuer.generate("smoke")
assert len(issuer.issuer_key().public_key) == 32
try:
    oa.GrantIssuer("smoke", b"short")
except oa.VaultError.InvalidInput:
    pass
else:
    raise SystemExit("expected VaultError.InvalidInput")
print("wheel smoke test: ok (imported from", oa.__file__ + ")")
PY
)
