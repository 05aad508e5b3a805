#!/usr/bin/env bash
# Writes this package's generated sources (git-ignored; scripts/test.sh and the
# Swift demo run this; build-xcframework.sh generates the device module itself):
#
#   Sources/OfflineAuth/, Sources/OfflineAuthFFI/          crate offline-auth (the product)
#   Tests/Backend/Sources/OfflineAuthBackend/,
#   Tests/Backend/Sources/OfflineAuthBackendFFI/           crate offline-auth-backend --features ffi,
#                                                          test-only (not a product: apps cannot import it)
#   .native/liboffline_auth.so, .native/liboffline_auth_backend.so
#                                                          the libraries both were generated from
#
#   platforms/apple/generate.sh [--device-only]
set -euo pipefail
APPLE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
GEN="$APPLE_DIR/../../tools/generate-bindings.sh"
bash "$GEN" swift "$APPLE_DIR" --crate offline-auth
if [[ "${1:-}" != --device-only ]]; then
    bash "$GEN" swift "$APPLE_DIR/Tests/Backend" --crate offline-auth-backend --features ffi \
        --config "$APPLE_DIR/uniffi-backend-tests.toml" --lib-dir "$APPLE_DIR/.native"
fi
