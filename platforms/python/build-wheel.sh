#!/usr/bin/env bash
# Build the two wheels of the Python bindings, offline-auth (device SDK) and
# offline-auth-backend, and smoke-test them together in a fresh venv.
#
#   platforms/python/build-wheel.sh [OUT_DIR]     (default: platforms/python/dist)
#
# First writes both package directories (generate.sh: the UniFFI-generated
# module, its __init__.py and the library, git-ignored), which builds the
# libraries with cargo (OFFLINE_AUTH_SKIP_BUILD=1 uses the built ones). Each
# wheel gets a copy of its library with the debug info stripped (the dynamic
# symbol table, all ctypes needs, stays). They are tagged
# py3-none-linux_x86_64: fine for a private index or a direct install; a
# public upload would need a manylinux build (auditwheel).
set -euo pipefail

PY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${1:-$PY_DIR/dist}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
bash "$PY_DIR/generate.sh"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
wheels=()
for project in offline-auth offline-auth-backend; do
    package="${project//-/_}"
    src="$work/src/$project"
    mkdir -p "$src/$package"
    cp "$PY_DIR/$project/pyproject.toml" "$PY_DIR/$project/setup.py" "$src/"
    cp "$PY_DIR/$project/$package"/*.py "$PY_DIR/$project/$package/lib$package.so" "$src/$package/"
    strip --strip-debug "$src/$package/lib$package.so"
    rm -f "$OUT/$package"-*.whl
    python3 -m pip wheel -q --no-deps -w "$OUT" "$src"
    wheel="$(ls "$OUT/$package"-*.whl)"
    echo "built $wheel ($(du -h "$wheel" | cut -f1))"
    wheels+=("$wheel")
done

# Smoke test: install both into an empty venv and call into both libraries
# from outside the source tree: the backend issues a key and publishes it as
# JWKS, the device reads that JWKS.
python3 -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q --no-deps "${wheels[@]}"
(cd "$work" && "$work/venv/bin/python" - <<'PY'
import offline_auth as oa
import offline_auth_backend as backend
key = backend.generate_sync_key()
assert isinstance(key, bytes) and len(key) == 32
issuer = backend.GrantIssuer.generate("smoke")
assert len(issuer.issuer_key().public_key) == 32
keys = oa.issuer_keys_from_jwks(backend.jwks_from_issuer_keys([issuer.issuer_key()]))
assert [k.kid for k in keys] == ["smoke"] and keys[0].public_key == issuer.issuer_key().public_key
try:
    backend.GrantIssuer("smoke", b"short")
except backend.BackendError.InvalidInput:
    pass
else:
    raise SystemExit("expected BackendError.InvalidInput")
try:
    oa.issuer_keys_from_jwks("not json")
except oa.VaultError.InvalidInput:
    pass
else:
    raise SystemExit("expected VaultError.InvalidInput")
print("wheel smoke test: ok (imported from", oa.__file__, "and", backend.__file__ + ")")
PY
)
