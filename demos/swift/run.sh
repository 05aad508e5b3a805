#!/usr/bin/env bash
# demos/swift/run.sh: the field-worker story in Swift against the reference
# sync server, in one command. Writes the Swift bindings of platforms/apple
# first (platforms/apple/generate.sh --device-only; OFFLINE_AUTH_DEMO_SKIP_GENERATE=1
# keeps what is there). On Linux the Swift part runs in the Debian chroot of
# scripts/tooling/swift-chroot.sh (created on first use; needs root); the
# server runs on the host, and the chroot shares the host's loopback. On
# macOS set SWIFT_DEMO_NATIVE=1 to run `swift run` directly.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export REPO_ROOT
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
cd "$REPO_ROOT"

if [[ "${OFFLINE_AUTH_DEMO_SKIP_GENERATE:-0}" != 1 ]]; then
    bash platforms/apple/generate.sh --device-only
fi

# Inside the repo so the chroot sees it at /repo/demos/swift/.work (ignored by git).
work="$REPO_ROOT/demos/swift/.work"
rm -rf "$work"; mkdir -p "$work"
# shellcheck source=../../scripts/tooling/sync-server.sh
source scripts/tooling/sync-server.sh
start_sync_server "$work" "rm -rf '$work'"

if [[ -n "${SWIFT_DEMO_NATIVE:-}" ]]; then
    (cd demos/swift && swift run -c debug SwiftDemo "$SYNC_SERVER_URL" "$work/device")
else
    scripts/tooling/swift-chroot.sh run demos/swift swift run -c debug SwiftDemo "$SYNC_SERVER_URL" /repo/demos/swift/.work/device
fi
