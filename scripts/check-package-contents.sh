#!/usr/bin/env bash
# What `cargo package` would publish for each published crate: its manifest,
# its sources, its README and UniFFI config; never tests, benches, examples,
# demos, platform folders or fixtures. Fails listing any other file.
# Also checks each published crate carries the package registry's metadata, and that
# `cargo package --workspace` (as `cargo publish` packages) succeeds.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"

published=(offline-auth-proto offline-auth offline-auth-backend offline-auth-attestation)
allowed='^(src/.*\.rs|Cargo\.toml|Cargo\.toml\.orig|Cargo\.lock|\.cargo_vcs_info\.json|README\.md|uniffi\.toml)$'
status=0
for crate in "${published[@]}"; do
  before=$status; status=0
  list=$(cargo package --list --allow-dirty --no-verify -p "$crate" 2>/dev/null)
  if [ -z "$list" ]; then echo "FAIL $crate: cargo package --list printed nothing"; status=1; continue; fi
  bad=$(grep -Ev "$allowed" <<<"$list" || true)
  if [ -n "$bad" ]; then
    echo "FAIL $crate ships files outside its sources:"; sed 's/^/  /' <<<"$bad"; status=1
  fi
  grep -qx 'src/lib.rs' <<<"$list" || { echo "FAIL $crate: src/lib.rs missing from the package"; status=1; }
  meta=$(cargo metadata --format-version 1 --no-deps | python3 -c '
import json, sys
crate = sys.argv[1]
pkg = next(p for p in json.load(sys.stdin)["packages"] if p["name"] == crate)
missing = [k for k in ("description", "license", "repository", "documentation", "homepage", "readme") if not pkg.get(k)]
missing += [k for k in ("keywords", "categories") if not pkg.get(k)]
print(" ".join(missing))' "$crate")
  if [ -n "$meta" ]; then echo "FAIL $crate lacks metadata: $meta"; status=1; fi
  [ "$status" = 0 ] && echo "ok   $crate: $(wc -l <<<"$list") files, metadata complete"
  [ "$before" = 0 ] || status=1
done
# The published crates package together as `cargo publish --workspace` would
# (each one's manifest rewritten and its dependencies resolved against the
# registry's index, the workspace's own crates from a local overlay): a
# dependency that cannot be published, declared with a version, fails here.
# Needs the index (network); no compilation (--no-verify).
if out=$(timeout 300 cargo package --workspace --locked --allow-dirty --no-verify 2>&1); then
  echo "ok   cargo package --workspace: $(grep -c '^ *Packaged ' <<<"$out") crates packaged"
else
  echo "FAIL cargo package --workspace:"; grep -v '^warning: ignoring' <<<"$out" | tail -n 8 | sed 's/^/  /'; status=1
fi
exit "$status"
