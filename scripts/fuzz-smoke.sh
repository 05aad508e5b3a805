#!/usr/bin/env bash
# Fuzz smoke run: every cargo-fuzz target for FUZZ_SECONDS each
# (default 20 s), stopping at the first crash. Installs cargo-fuzz if missing;
# needs a nightly toolchain (`rustup toolchain install nightly`; .ci/run
# installs both). CI's `fuzz-smoke` section runs it with FUZZ_SECONDS=5.
#
#   bash scripts/fuzz-smoke.sh --build-only    # the instrumented build alone (scripts/test.sh
#                                              # runs it in the background, then the section)
#   bash scripts/fuzz-smoke.sh                 # ~2.5 min of fuzzing + the first build
#   FUZZ_SECONDS=300 bash scripts/fuzz-smoke.sh   # the long run of docs/RELIABILITY.md
#   FUZZ_TARGETS="app_attest assertion" bash scripts/fuzz-smoke.sh
#
# Crashes are written to fuzz/artifacts/<target>/; turn each into a
# regression test under tests/ before fixing it.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
build_only=0
case "${1:-}" in
  --build-only) build_only=1 ;;
  "") ;;
  *) echo "unknown argument: $1 (use --build-only)" >&2; exit 2 ;;
esac

seconds="${FUZZ_SECONDS:-20}"
targets="${FUZZ_TARGETS:-grant batch open_db attestation app_attest assertion receipt}"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
# The fuzz crate's instrumented build is cold for minutes (every dependency,
# SQLite included, with sanitizer flags): it is kept outside the clone so
# CI's fresh clone on the same machine reuses it (FUZZ_TARGET_DIR to move it).
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$HOME/.cache/offline-auth/fuzz-target}"

cargo +nightly --version >/dev/null 2>&1 || { echo "missing nightly toolchain: rustup toolchain install nightly" >&2; exit 1; }
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi

# FUZZ_PROFILE=dev (CI's smoke run): unoptimised, a third of the release
# build's CPU time (2 min against 6 min cold here); fewer runs per second,
# the same checks (sanitizer, debug assertions). The long run keeps release.
profile_flags=()
[[ "${FUZZ_PROFILE:-release}" == dev ]] && profile_flags=(--dev)
cargo +nightly fuzz build "${profile_flags[@]}"
if [[ $build_only == 1 ]]; then echo "fuzz targets built"; exit 0; fi
# The App Attest targets start from the real vectors (decoded from the
# test data, never committed: fuzz/corpus is ignored by git).
seed() {  # seed TARGET JSON-PATH...: writes each base64 value of the vector file as a corpus file
  local target="$1"; shift
  mkdir -p "corpus/$target"
  python3 - "$target" "$@" <<'PY' || echo "(no seed for $1: python3 missing or the vector moved)"
import base64, json, sys
target, paths = sys.argv[1], sys.argv[2:]
data = json.load(open("../crates/offline-auth-attestation/tests/data/apple/ios-14.4.json"))
for path in paths:
    value = data
    for key in path.split("."):
        value = value[key]
    with open(f"corpus/{target}/seed-{path}", "wb") as f:
        f.write(base64.b64decode(value))
PY
}
seed app_attest attestation.attestationBase64
seed assertion assertion.assertionBase64
for target in $targets; do
  mkdir -p "corpus/$target"
  echo "== fuzz $target for ${seconds}s =="
  log="$(mktemp)"
  # -rss_limit_mb: the open_db target keeps a template vault in memory.
  if ! cargo +nightly fuzz run "${profile_flags[@]}" "$target" "corpus/$target" -- \
      -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
    tail -n 60 "$log"
    echo "fuzz target $target FAILED (artifact in fuzz/artifacts/$target/)" >&2
    exit 1
  fi
  grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|Done [0-9]+ runs)" "$log" || tail -n 3 "$log"
  rm -f "$log"
done
count=$(wc -w <<<"$targets")
echo "fuzz smoke: all targets ran ${seconds}s without a crash"
echo "fuzz-smoke: $count passed, 0 failed"
