#!/usr/bin/env bash
# The static library must not clash with another SQLite in the same app.
#
# liboffline_auth.a bundles SQLite (rusqlite `bundled`), 284 global sqlite3_*
# functions. An iOS app that also links SQLCipher, GRDB's SQLite or another
# Rust SDK would fail to link with duplicate symbols, or silently run one
# library on the other's SQLite. platforms/apple/hide-symbols.sh localizes
# everything but the UniFFI ABI; build-xcframework.sh applies it to every
# slice. This script proves it on Linux, the same way an app links:
#
#   1. builds liboffline_auth.a (release) and the C header of its UniFFI ABI;
#   2. hides its symbols with platforms/apple/hide-symbols.sh;
#   3. links scripts/sqlite-symbols/two_sqlites.c with Debian's libsqlite3.a
#      and the processed library, both whole (as Xcode's -all_load / -ObjC, or
#      SQLite compiled into the app, would), and runs it: it uses Debian's
#      SQLite directly and offline-auth's bundled one by opening a vault
#      through the C ABI; both must work;
#   4. control: the same link with the unprocessed library must fail with
#      duplicate sqlite3_* definitions (otherwise step 3 proves nothing).
#
# Installs libsqlite3-dev (apt) when Debian's static SQLite is missing.
# Environment: CARGO_BUILD_JOBS (1 on a shared machine), CARGO_TARGET_DIR;
# OFFLINE_AUTH_RELEASE_TARGET_DIR: where the release build of the static
# library goes (default: the target dir). OFFLINE_AUTH_SQLITE_ARCHIVE: a
# liboffline_auth.a already built, checked instead of building the release
# one (scripts/test.sh passes its dev build's: the symbols to hide, bundled
# SQLite's and the UniFFI ABI, are the same in every profile).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO_ROOT/target}"

log() { printf '[check-sqlite-symbols] %s\n' "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

sqlite_a="$(find /usr/lib -name libsqlite3.a 2>/dev/null | head -1)"
if [[ -z "$sqlite_a" || ! -f /usr/include/sqlite3.h ]]; then
    log "installing libsqlite3-dev"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null && apt-get install -y -qq libsqlite3-dev >/dev/null
    sqlite_a="$(find /usr/lib -name libsqlite3.a 2>/dev/null | head -1)"
fi
[[ -f "$sqlite_a" ]] || die "Debian's libsqlite3.a not found"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

log "generating the C header of the UniFFI ABI"
bash "$REPO_ROOT/tools/generate-bindings.sh" swift "$work/gen" --crate offline-auth --no-lib >/dev/null
header_dir="$work/gen/Sources/OfflineAuthFFI"
[[ -f "$header_dir/OfflineAuthFFI.h" ]] || die "no generated header"

if [[ -n "${OFFLINE_AUTH_SQLITE_ARCHIVE:-}" ]]; then
    lib="$OFFLINE_AUTH_SQLITE_ARCHIVE"
    log "checking $lib (built by the caller)"
else
    log "building liboffline_auth.a (release)"
    RELEASE_TARGET_DIR="${OFFLINE_AUTH_RELEASE_TARGET_DIR:-$TARGET_DIR}"
    (cd "$REPO_ROOT" && CARGO_TARGET_DIR="$RELEASE_TARGET_DIR" cargo build --locked --release --lib -p offline-auth --quiet)
    lib="$RELEASE_TARGET_DIR/release/liboffline_auth.a"
fi
[[ -f "$lib" ]] || die "$lib missing"
exported="$(nm -g --defined-only --target="$(ld --print-output-format)" "$lib" 2>/dev/null | grep -c ' T sqlite3_' || true)"
log "unprocessed library exports $exported sqlite3_* functions"

bash "$REPO_ROOT/platforms/apple/hide-symbols.sh" "$lib" "$work/liboffline_auth_hidden.a"

cc -c -O1 -Wall -Werror -I "$header_dir" "$REPO_ROOT/scripts/sqlite-symbols/two_sqlites.c" -o "$work/two_sqlites.o"

link() { # OUT OFFLINE_AUTH_ARCHIVE
    cc -o "$1" "$work/two_sqlites.o" \
        -Wl,--whole-archive "$sqlite_a" "$2" -Wl,--no-whole-archive \
        -lm -ldl -lpthread
}

log "linking with Debian's SQLite and the processed library"
link "$work/two_sqlites" "$work/liboffline_auth_hidden.a" 2> "$work/link.log" \
    || { cat "$work/link.log" >&2; die "link with the processed library failed"; }
"$work/two_sqlites" "$work/vault.db" || die "the program failed: one of the SQLites does not work"

log "control: the unprocessed library must clash"
if link "$work/two_sqlites_raw" "$lib" 2> "$work/raw.log"; then
    die "the unprocessed library linked too: the check cannot tell hidden from exported symbols"
fi
grep -q 'multiple definition of `sqlite3_' "$work/raw.log" \
    || { head -5 "$work/raw.log" >&2; die "the control failed for another reason than duplicate sqlite3_* symbols"; }
log "control failed as expected: $(grep -c 'multiple definition of `sqlite3_' "$work/raw.log") duplicate sqlite3_* definitions"
log "OK: both SQLites link and work together"
