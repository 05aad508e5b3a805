#!/usr/bin/env bash
# Build the two wheels of the Python bindings, offline-auth (device SDK) and
# offline-auth-backend, check them, and smoke-test them together in a fresh venv.
#
#   platforms/python/build-wheel.sh [--target TRIPLE]... [--no-test] [--prebuilt DIR] [OUT_DIR]
#                                         (default: platforms/python/dist)
#
# --target: the Rust targets to build the wheels for (default: this machine's,
# x86_64-unknown-linux-gnu or aarch64-unknown-linux-gnu); each wheel is
# tagged with its target's CPU. --no-test: build and check the wheels only
# (the smoke test, the tests and the source installs run for this machine's
# CPU; the aarch64 wheels' tests run under qemu-user in
# scripts/test-aarch64.sh). scripts/build-release-natives.sh calls this for
# both Linux targets: the libraries in these wheels are the release natives of
# every package. --prebuilt DIR: this machine's wheels are not built again but
# taken from DIR, where an earlier run of this script built and checked them
# (the test command passes scripts/build-release-natives.sh's wheels); the
# smoke test, the tests and the source installs then run against them.
#
# Each wheel is built by `pip wheel` of the package directory, the PEP 517
# path a user's `pip install` takes: maturin (`bindings = "uniffi"`, see the
# pyproject.toml files) builds the crate's cdylib in the release profile,
# runs the workspace's `uniffi-bindgen` binary (offline-auth-proto, feature
# `uniffi-cli`: the
# library's exact UniFFI version; a mismatch would fail the smoke test, as the
# generated module checks the library's contract version and checksums when
# it is imported) and packs the module with the library. Here it links with
# zig against glibc 2.17 (MATURIN_PEP517_ARGS); the script then strips the
# library's debug info. The wheels are tagged py3-none-manylinux_2_17_<cpu>
# (x86_64 or aarch64).
#
# The tools come from platforms/python/requirements-wheel.txt (exact pins),
# installed into a venv of their own under the cargo target dir, reused while
# that file is unchanged; it is also the build environment of the wheels.
#
# Checked for each wheel, failing the script otherwise: `auditwheel show`
# finds it consistent with exactly the published manylinux tag; the
# library needs no GLIBC_ symbol version above what that tag allows (objdump
# -T); the version is the workspace's; py.typed (PEP 561) and the typed
# error view (_errors.pyi) are in the package.
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
prebuilt=
while [[ $# -gt 0 ]]; do
    case "$1" in
        --target) targets+=("${2:?--target needs a Rust target}"); shift ;;
        --no-test) run_tests=0 ;;
        --prebuilt) prebuilt="${2:?--prebuilt needs a directory}"; shift ;;
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

# The tools venv's python3 comes before the system's: cargo-zigbuild (inside
# maturin) finds zig as `python3 -m ziglang`.
export PATH="$TOOLS/bin:$PATH"

# The published tag: glibc 2.17 at most (zig links against that version).
COMPAT=manylinux_2_17
[[ "$COMPAT" =~ ^manylinux_([0-9]+)_([0-9]+)$ ]] || die "$COMPAT is not manylinux_X_Y"
max_glibc="${BASH_REMATCH[1]}.${BASH_REMATCH[2]}"

version="$(python3 -c 'import tomllib, sys; print(tomllib.load(open(sys.argv[1], "rb"))["workspace"]["package"]["version"])' "$REPO_ROOT/Cargo.toml")"

wheels=()       # this machine's, for the tests below
for target in "${targets[@]}"; do
tag="${COMPAT}_${target%%-*}"
for project in offline-auth offline-auth-backend; do
    package="${project//-/_}"
    if [[ -n "$prebuilt" && "$target" == "$host_target" ]]; then
        wheel="$(ls "$prebuilt/$package-$version-py3-none-"*"$tag"*.whl 2>/dev/null | head -n 1)"
        [[ -f "$wheel" ]] || die "--prebuilt: no $package $version wheel for $tag in $prebuilt"
        log "$(basename "$wheel"): built and checked by an earlier run (--prebuilt $prebuilt)"
        wheels+=("$wheel")
        continue
    fi

    rm -f "$OUT/$package"-*"$tag"*.whl
    # `pip wheel` of the package directory: the PEP 517 path a user's `pip
    # install` takes (maturin finds the workspace's uniffi-bindgen; no script
    # of ours runs inside it), told through MATURIN_PEP517_ARGS to link with
    # zig for the published tag. The tools venv is the build environment
    # (--no-build-isolation), where maturin and zig are pinned.
    # strip = none: rustc's release default (strip = "debuginfo") reaches zig
    # as --strip-debug, which zig takes as a full strip, and uniffi-bindgen
    # reads the UniFFI metadata from the symbol table (.symtab). The debug info
    # that std brings along is stripped below instead.
    log "pip wheel $project (maturin --release --zig --target $target, $tag)"
    rm -rf "$work/maturin" "$work/unpacked"
    CARGO_PROFILE_RELEASE_STRIP=none MATURIN_PEP517_ARGS="--locked --zig --target $target --compatibility $COMPAT" \
        python3 -m pip wheel --quiet --disable-pip-version-check --no-build-isolation --no-deps \
        --wheel-dir "$work/maturin" "$PY_DIR/$project"
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
    for f in py.typed _errors.pyi _error_messages.py; do
        [[ -f "$work/unpacked/$package/$f" ]] || die "$(basename "$wheel"): no $package/$f"
    done
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

# --- source installs, as a user without this repository's scripts runs them ---
# `pip install` of each package's sdist (made by `maturin sdist`) into an
# empty venv, with pip's build isolation (maturin from the package index, as
# the pyproject asks), no zig and no MATURIN_PEP517_ARGS: maturin must find
# the workspace's uniffi-bindgen, and the wheel is tagged for this machine's
# glibc. The sdist must carry what its build needs (the lock file, the
# bindgen's source, the typed error view), and every test runs against it.
# `pip install <package directory>` is `pip wheel <package directory>` (the
# wheels above, tested above) installed; what it adds, build isolation, is
# what the sdist install takes too, so it is not built a third time here.
sdists="$work/sdist"
for project in offline-auth offline-auth-backend; do
    package="${project//-/_}"
    # (maturin first asks cargo for a Cargo.toml in the working directory and
    # prints cargo's "does not exist" before reading the pyproject's
    # manifest-path: that line alone is dropped.)
    (cd "$PY_DIR/$project" && maturin sdist --out "$sdists" 2>&1 | { grep -v '^error: manifest path `Cargo.toml` does not exist$' || true; })
    sdist="$(ls "$sdists/$package"-*.tar.gz)"
    listing="$(tar tzf "$sdist")"
    for f in Cargo.lock pyproject.toml "crates/offline-auth-proto/src/bin/uniffi-bindgen.rs" "python/$package/_errors.pyi" "python/$package/py.typed"; do
        grep -qx "$package-$version/$f" <<<"$listing" || die "$(basename "$sdist") has no $f"
    done
    log "$(basename "$sdist"): $(wc -l <<<"$listing") files"
done
venv="$work/venv-sdist"
python3 -m venv "$venv"
log "pip install (sdist): $(cd "$sdists" && echo *.tar.gz)"
(cd "$work" && timeout 1200 "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-cache-dir "$sdists"/*.tar.gz)
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$PY_DIR/requirements-test.txt"
(cd "$work" && OFFLINE_AUTH_TEST_INSTALLED=1 timeout 600 "$venv/bin/python" -m pytest \
    -p no:cacheprovider -q -c "$PY_DIR/pytest.ini" --rootdir "$PY_DIR" "$PY_DIR/tests")
