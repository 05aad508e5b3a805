#!/usr/bin/env bash
# Prepares a Swift package release from the one version in Cargo.toml
# ([workspace.package] version) and the repository URL (`repository`):
#
#   platforms/apple/release.sh [--dynamic] [--skip-build]
#
# 1. builds the XCFramework and its zip (build-xcframework.sh --zip, static
#    libraries by default, --dynamic for frameworks);
# 2. computes the zip's SwiftPM checksum (the SHA-256 of the zip, which is
#    what `swift package compute-checksum` prints);
# 3. rewrites releaseVersion, releaseURL and releaseChecksum in the root
#    Package.swift; the URL is <repository>/releases/download/v<version>/OfflineAuthFFI.xcframework.zip.
#
# Then, on a release commit (not on a branch that others build from), commit
# Package.swift together with the generated platforms/apple/Sources/OfflineAuth
# (git add -f: it is ignored elsewhere), tag it v<version>, and attach the zip
# to the release of that tag. Apps add the package by the repository URL and
# that version.
#
# Steps 1-2 need macOS with Xcode (build-xcframework.sh); --skip-build reuses
# platforms/apple/OfflineAuthFFI.xcframework.zip. Step 3 runs anywhere.
set -euo pipefail

APPLE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$APPLE_DIR/../.." && pwd)"
ZIP="$APPLE_DIR/OfflineAuthFFI.xcframework.zip"
MANIFEST="$REPO_ROOT/Package.swift"

log() { printf '[release] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

build=1
build_args=(--zip)
while [[ $# -gt 0 ]]; do
    case "$1" in
        --dynamic) build_args+=(--dynamic) ;;
        --skip-build) build=0 ;;
        *) die "unknown argument: $1 (use [--dynamic] [--skip-build])" ;;
    esac
    shift
done

# The workspace's version and repository, from the [workspace.package] table.
workspace_field() {
    awk -v key="$1" '
        /^\[/ { in_table = ($0 == "[workspace.package]") ; next }
        in_table && $1 == key { sub(/^[^=]*=[[:space:]]*"/, ""); sub(/".*$/, ""); print; exit }
    ' "$REPO_ROOT/Cargo.toml"
}
version="$(workspace_field version)"
repository="$(workspace_field repository)"
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$ ]] || die "no usable version in Cargo.toml: '$version'"
[[ "$repository" == https://* ]] || die "no https repository in Cargo.toml: '$repository'"
url="${repository%/}/releases/download/v$version/OfflineAuthFFI.xcframework.zip"

if [[ $build == 1 ]]; then
    bash "$APPLE_DIR/build-xcframework.sh" "${build_args[@]}" --url "$url"
fi
[[ -f "$ZIP" ]] || die "$ZIP missing (run without --skip-build on a Mac)"

if command -v sha256sum >/dev/null; then
    checksum="$(sha256sum "$ZIP" | awk '{ print $1 }')"
else
    checksum="$(shasum -a 256 "$ZIP" | awk '{ print $1 }')"
fi
[[ "$checksum" =~ ^[0-9a-f]{64}$ ]] || die "could not compute the checksum"

# Rewrite the three constants, and check that each was there exactly once.
for name in releaseVersion releaseURL releaseChecksum; do
    [[ "$(grep -c "^let $name = \"" "$MANIFEST")" == 1 ]] || die "Package.swift must define $name once"
done
tmp="$(mktemp)"
sed -e "s|^let releaseVersion = \".*\"|let releaseVersion = \"$version\"|" \
    -e "s|^let releaseURL = \".*\"|let releaseURL = \"$url\"|" \
    -e "s|^let releaseChecksum = \".*\"|let releaseChecksum = \"$checksum\"|" \
    -e "s|\(\.package(url: \"[^\"]*\", exact: \"\)[^\"]*\"|\1$version\"|" \
    "$MANIFEST" > "$tmp"
mv "$tmp" "$MANIFEST"
log "Package.swift: version $version, $url, checksum $checksum"
echo "$checksum"
