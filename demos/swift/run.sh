#!/usr/bin/env bash
# swift-demo/run.sh: the field-worker story in Swift against the reference sync
# server, in one command. On Linux the Swift part runs in the Debian chroot of
# bindings/swift-chroot.sh (created on first use; needs root); the server runs
# on the host, and the chroot shares the host's loopback. On macOS set
# SWIFT_DEMO_NATIVE=1 to run `swift run` directly.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export REPO_ROOT
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
cd "$REPO_ROOT"

if [[ ! -f bindings/.native/liboffline_auth.so && -z "${SWIFT_DEMO_NATIVE:-}" ]]; then
    echo "[swift-demo] no staged native library: running bindings/generate.sh" >&2
    bash bindings/generate.sh
fi

# Inside the repo so the chroot sees it at /repo/swift-demo/.work (ignored by git).
work="$REPO_ROOT/swift-demo/.work"
rm -rf "$work"; mkdir -p "$work"
# shellcheck source=../platform/sync-server.sh
source platform/sync-server.sh
start_sync_server "$work" "rm -rf '$work'"

if [[ -n "${SWIFT_DEMO_NATIVE:-}" ]]; then
    (cd swift-demo && swift run -c debug SwiftDemo "$SYNC_SERVER_URL" "$work/device")
else
    bindings/swift-chroot.sh run swift-demo swift run -c debug SwiftDemo "$SYNC_SERVER_URL" /repo/swift-demo/.work/device
fi
