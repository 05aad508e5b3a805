#!/usr/bin/env bash
# A tagged release must resolve through SwiftPM: when HEAD carries a release
# tag (v<version>), the root Package.swift must carry that version, a release
# URL for it and the real SHA-256 of the XCFramework zip, never the
# all-zero placeholder that branches carry. On any other commit it only
# checks that the three constants are there (the release workflow's
# platforms/apple/release.sh rewrites them).
#
#   scripts/check-release-checksum.sh [--repo DIR]    check DIR (default: this repository)
#   scripts/check-release-checksum.sh --self-test     the check, both ways, on throwaway repositories
set -euo pipefail

SCRIPT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

check() {
    local manifest="$repo/Package.swift" name tags tag version url checksum
    [[ -f "$manifest" ]] || { echo "FAIL no Package.swift in $repo"; return 1; }
    for name in releaseVersion releaseURL releaseChecksum; do
        [[ "$(grep -c "^let $name = \"[^\"]*\"$" "$manifest")" == 1 ]] ||
            { echo "FAIL Package.swift must define $name once, as a string literal"; return 1; }
    done
    version="$(sed -n 's/^let releaseVersion = "\(.*\)"$/\1/p' "$manifest")"
    url="$(sed -n 's/^let releaseURL = "\(.*\)"$/\1/p' "$manifest")"
    checksum="$(sed -n 's/^let releaseChecksum = "\(.*\)"$/\1/p' "$manifest")"
    tags="$(git -C "$repo" tag --points-at HEAD 2>/dev/null | grep -E '^v[0-9]+\.[0-9]+\.[0-9]+' || true)"
    if [[ -z "$tags" ]]; then
        echo "ok   HEAD is not a release tag: Package.swift's release constants are placeholders until one (checksum ${checksum:0:8}...)"
        return 0
    fi
    tag="$(head -n 1 <<<"$tags")"
    local status=0
    [[ "$checksum" =~ ^[0-9a-f]{64}$ ]] || { echo "FAIL $tag: releaseChecksum is not a SHA-256: '$checksum'"; status=1; }
    [[ "$checksum" =~ ^0+$ ]] && { echo "FAIL $tag: releaseChecksum is the all-zero placeholder (run platforms/apple/release.sh)"; status=1; }
    [[ "v$version" == "$tag" ]] || { echo "FAIL $tag: releaseVersion is '$version'"; status=1; }
    [[ "$url" == */releases/download/"$tag"/OfflineAuthFFI.xcframework.zip ]] ||
        { echo "FAIL $tag: releaseURL '$url' is not the zip of $tag's release"; status=1; }
    [[ $status -ne 0 ]] || echo "ok   $tag: Package.swift carries version $version, its release URL and checksum ${checksum:0:12}..."
    return "$status"
}

# Throwaway repositories with a Package.swift, tagged or not; the check must
# pass or fail as each case says.
self_test() {
    local work failures=0
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' RETURN
    zero="$(printf '0%.0s' {1..64})"
    real="$(printf 'offline-auth' | sha256sum | cut -d' ' -f1)"
    # case NAME EXPECT(pass|fail) TAG(or -) VERSION CHECKSUM
    case_() {
        local name="$1" expect="$2" tag="$3" version="$4" checksum="$5" dir="$work/$1" out rc=0
        mkdir -p "$dir"
        git -C "$dir" init -q
        printf 'let releaseVersion = "%s"\nlet releaseURL = "https://example.invalid/releases/download/v%s/OfflineAuthFFI.xcframework.zip"\nlet releaseChecksum = "%s"\n' \
            "$version" "$version" "$checksum" > "$dir/Package.swift"
        git -C "$dir" add Package.swift
        git -C "$dir" -c user.name=t -c user.email=t@t commit -q -m release
        [[ "$tag" == - ]] || git -C "$dir" tag "$tag"
        out="$(bash "$SCRIPT" --repo "$dir" 2>&1)" || rc=$?
        if [[ ( $expect == pass && $rc -eq 0 ) || ( $expect == fail && $rc -ne 0 ) ]]; then
            echo "ok   $name: $( [[ $expect == pass ]] && echo passes || echo fails ) ($out)"
        else
            echo "FAIL $name: expected to $expect, exit $rc: $out"; failures=$((failures + 1))
        fi
    }
    case_ untagged-placeholder pass - 0.2.0 "$zero"
    case_ tagged-placeholder fail v0.2.0 0.2.0 "$zero"
    case_ tagged-checksum pass v0.2.0 0.2.0 "$real"
    case_ tagged-other-version fail v0.3.0 0.2.0 "$real"
    case_ tagged-not-a-sha256 fail v0.2.0 0.2.0 "1234"
    [[ $failures -eq 0 ]] || return 1
    echo "self-test: the check passes and fails as it should (5 cases)"
}

case "${1:-}" in
    --self-test) self_test ;;
    --repo) repo="$(cd "${2:?--repo needs a directory}" && pwd)"; check ;;
    "") check ;;
    *) echo "usage: $0 [--repo DIR] | --self-test" >&2; exit 2 ;;
esac
