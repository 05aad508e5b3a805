#!/usr/bin/env bash
# Build the two wheels of the Python bindings, offline-auth (device SDK) and
# offline-auth-backend, check them, and smoke-test them together in a fresh venv.
#
#   platforms/python/build-wheel.sh [--target TRIPLE]... [--no-test] [OUT_DIR]
#                                         (default: platforms/python/dist)
#
# --target: the Rust targets to build for (default: this machine's,
# x86_64-unknown-linux-gnu or aarch64-unknown-linux-gnu); each wheel is
# tagged with its target's CPU. --no-test: build and check only (the smoke
# test and the tests run against the wheels of this machine's CPU; the
# aarch64 ones run under qemu-user in scripts/test-aarch64.sh).
# scripts/build-release-natives.sh calls this for both Linux targets: the
# libraries in these wheels are the release natives of every package.
#
# Each wheel is built by maturin (`bindings = "uniffi"`, see the pyproject.toml
# files) with `--release --zig --target TRIPLE`: cargo builds the crate's cdylib in the
# release profile, linked by zig against glibc 2.17, and maturin packs it
# with the module uniffi-bindgen generates from it; the script then strips the
# library's debug info. The wheels are tagged py3-none-manylinux_2_17_<cpu>
# (the `compatibility` of the pyprojects; x86_64 or aarch64).
#
# The tools come from platforms/python/requirements-wheel.txt (exact pins),
# installed into a venv of their own under the cargo target dir, reused while
# that file is unchanged. maturin has no uniffi-bindgen of its own: it runs the
# one on the PATH, here tools/uniffi-bindgen (built first), which pins the
# exact UniFFI version of the library (a mismatch would fail the smoke test:
# the generated module checks the library's contract version and checksums
# when it is imported).
#
# Checked for each wheel, failing the script otherwise: `auditwheel show`
# finds it consistent with exactly the manylinux tag of its pyproject; the
# library needs no GLIBC_ symbol version above what that tag allows (objdump
# -T); the version is the workspace's; py.typed (PEP 561) is in the package.
# Then both are installed into an empty venv and used from outside the source
# tree: the smoke test below, then the binding tests (tests/) against them.
#
# Environment: CARGO_TARGET_DIR (default <repo>/target), CARGO_BUILD_JOBS.
set -euo pipefail

PY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$PY_DIR/../.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO_ROOT/target}"
mkdir -p "$TARGET_DIR"
TARGET_DIR="$(cd "$TARGET_DIR" && pwd)"
export CARGO_TARGET_DIR="$TARGET_DIR"
host_target="$(uname -m)-unknown-linux-gnu"
targets=()
run_tests=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        --target) targets+=("${2:?--target needs a Rust target}"); shift ;;
        --no-test) run_tests=0 ;;
        -*) echo "unknown option: $1" >&2; exit 2 ;;
        *) break ;;
    esac
    shift
done
[[ ${#targets[@]} -gt 0 ]] || targets=("$host_target")
OUT="${1:-$PY_DIR/dist}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"

log() { printf '[build-wheel] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# --- tools: maturin, ziglang, auditwheel, wheel (pinned), in their own venv ---
REQS="$PY_DIR/requirements-wheel.txt"
TOOLS="$TARGET_DIR/python-wheel-tools"
if ! cmp -s "$REQS" "$TOOLS/requirements-wheel.txt"; then
    log "installing $(basename "$REQS") into $TOOLS"
    rm -rf "$TOOLS"
    python3 -m venv "$TOOLS"
    "$TOOLS/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQS"
    cp "$REQS" "$TOOLS/requirements-wheel.txt"
fi

# --- uniffi-bindgen of this repository, the only one on maturin's PATH ---
log "cargo build (tools/uniffi-bindgen)"
cargo build --locked --manifest-path "$REPO_ROOT/tools/uniffi-bindgen/Cargo.toml"
# A wrapper, so that the Python maturin packs is what tools/generate-bindings.sh
# writes: the pinned CLI, then tools/error-messages.py on the module (every
# exception's str() is the Rust message).
mkdir -p "$work/bin"
cat > "$work/bin/uniffi-bindgen" <<EOF
#!/usr/bin/env bash
set -euo pipefail
"$TARGET_DIR/debug/uniffi-bindgen" "\$@"
out="" lang=""
while [[ \$# -gt 0 ]]; do
    case "\$1" in
        --out-dir|-o) out="\$2"; shift ;;
        --out-dir=*) out="\${1#--out-dir=}" ;;
        --language|-l) lang="\$2"; shift ;;
        --language=*) lang="\${1#--language=}" ;;
    esac
    shift
done
if [[ "\$lang" == python && -z "\$out" ]]; then
    echo "uniffi-bindgen wrapper: no --out-dir in the call; maturin's invocation changed" >&2; exit 1
fi
if [[ "\$lang" == python ]]; then
    for f in "\$out"/*.py; do
        [[ "\$(basename "\$f")" == __init__.py ]] || python3 "$REPO_ROOT/tools/error-messages.py" python "\$f"
    done
fi
EOF
chmod +x "$work/bin/uniffi-bindgen"
# The tools venv's python3 comes before the system's: cargo-zigbuild (inside
# maturin) finds zig as `python3 -m ziglang`.
export PATH="$work/bin:$TOOLS/bin:$PATH"

version="$(python3 -c 'import tomllib, sys; print(tomllib.load(open(sys.argv[1], "rb"))["workspace"]["package"]["version"])' "$REPO_ROOT/Cargo.toml")"

wheels=()       # this machine's, for the tests below
for target in "${targets[@]}"; do
for project in offline-auth offline-auth-backend; do
    package="${project//-/_}"
    # The tag maturin is told to build for, e.g. manylinux_2_17 -> glibc 2.17 at most.
    compat="$(python3 -c 'import tomllib, sys; print(tomllib.load(open(sys.argv[1], "rb"))["tool"]["maturin"]["compatibility"])' "$PY_DIR/$project/pyproject.toml")"
    [[ "$compat" =~ ^manylinux_([0-9]+)_([0-9]+)$ ]] || die "$project: compatibility $compat is not manylinux_X_Y"
    max_glibc="${BASH_REMATCH[1]}.${BASH_REMATCH[2]}"
    tag="${compat}_${target%%-*}"

    rm -f "$OUT/$package"-*"$tag"*.whl
    log "maturin build --release --zig --target $target ($project, $tag)"
    # strip = none: rustc's release default (strip = "debuginfo") reaches zig
    # as --strip-debug, which zig takes as a full strip, and uniffi-bindgen
    # reads the UniFFI metadata from the symbol table (.symtab). The debug info
    # that std brings along is stripped below instead.
    rm -rf "$work/maturin" "$work/unpacked"
    (cd "$PY_DIR/$project" &&
        CARGO_PROFILE_RELEASE_STRIP=none maturin build --release --locked --zig --target "$target" --out "$work/maturin")
    # Repack with the library's debug info stripped (the symbol tables stay;
    # ctypes needs only the dynamic one): 15 MB of library down to 4.
    wheel unpack --dest "$work/unpacked" "$work/maturin/$package"-*.whl
    lib="$(find "$work/unpacked" -name "lib$package.so")"
    [[ -n "$lib" ]] || die "no lib$package.so in the wheel"
    # The host's strip reads only its own CPU's ELF (Debian's binutils-<cpu>-linux-gnu: the others).
    strip_tool=strip
    [[ "$target" == "$host_target" ]] || strip_tool="${target%%-*}-linux-gnu-strip"
    "$strip_tool" --strip-debug "$lib"
    wheel pack --dest-dir "$OUT" "$work/unpacked/$package-$version"
    wheel="$(ls "$OUT/$package"-*"$tag"*.whl)"
    [[ "$(basename "$wheel")" == "$package-$version-py3-none-"*"$tag"*.whl ]] ||
        die "$(basename "$wheel"): expected version $version and tag $tag"

    # auditwheel: the wheel is consistent with exactly this tag (not only a later one).
    # (Its report is wrapped over lines: compare it with the whitespace joined.)
    auditwheel show "$wheel" | tee "$work/auditwheel.txt"
    tr -s ' \n' '  ' < "$work/auditwheel.txt" | grep -q "consistent with the following platform tag: \"$tag\"" ||
        die "$(basename "$wheel"): auditwheel does not report $tag"

    # The packed wheel's files: py.typed in the package, and its library's glibc needs.
    rm -rf "$work/unpacked"
    python3 -m zipfile -e "$wheel" "$work/unpacked"
    [[ -f "$work/unpacked/$package/py.typed" ]] || die "$(basename "$wheel"): no $package/py.typed"
    lib="$(find "$work/unpacked" -name "lib$package.so")"
    [[ -n "$lib" ]] || die "$(basename "$wheel"): no lib$package.so"
    newest="$(objdump -T "$lib" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/^GLIBC_//' | sort -u -V | tail -n 1)"
    [[ "$(printf '%s\n%s\n' "$newest" "$max_glibc" | sort -V | tail -n 1)" == "$max_glibc" ]] ||
        die "lib$package.so needs GLIBC_$newest, more than $tag allows ($max_glibc)"
    # Package metadata a registry page shows: the README, the project's links, a licence.
    metadata="$(find "$work/unpacked" -path '*.dist-info/METADATA')"
    for field in 'Description-Content-Type: text/markdown' 'Project-URL: Source, ' 'License: MPL-2.0' 'Author: '; do
        grep -q "^$field" "$metadata" || die "$(basename "$wheel"): METADATA has no '$field'"
    done
    log "$(basename "$wheel"): $tag, py.typed, metadata, newest GLIBC symbol version $newest ($(du -h "$wheel" | cut -f1))"
    [[ "$target" != "$host_target" ]] || wheels+=("$wheel")
done
done
if [[ $run_tests == 0 || ${#wheels[@]} -eq 0 ]]; then
    log "built and checked; not tested here (--no-test, or no wheel for this machine's CPU)"
    exit 0
fi

# Smoke test: install both into an empty venv and call into both libraries
# from outside the source tree: the backend issues a key and publishes it as
# JWKS, the device reads that JWKS.
python3 -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps "${wheels[@]}"
(cd "$work" && "$work/venv/bin/python" - <<'PY'
import os
import offline_auth as oa
import offline_auth_backend as backend
for package in (oa, backend):
    assert os.path.isfile(os.path.join(os.path.dirname(package.__file__), "py.typed")), package
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

# The binding tests against the installed wheels (release libraries), not the
# generated packages of the source tree (conftest.py: OFFLINE_AUTH_TEST_INSTALLED).
"$work/venv/bin/python" -m pip install -q --disable-pip-version-check -r "$PY_DIR/requirements-test.txt"
(cd "$work" && OFFLINE_AUTH_TEST_INSTALLED=1 timeout 600 "$work/venv/bin/python" -m pytest \
    -p no:cacheprovider -q -c "$PY_DIR/pytest.ini" --rootdir "$PY_DIR" "$PY_DIR/tests")
