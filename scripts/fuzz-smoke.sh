#!/usr/bin/env bash
# Fuzz smoke run: every cargo-fuzz target for FUZZ_SECONDS each
# (default 20 s), stopping at the first crash. Installs cargo-fuzz if missing;
# needs a nightly toolchain (`rustup toolchain install nightly`).
#
#   bash scripts/fuzz-smoke.sh                 # ~1 min of fuzzing + the first build
#   FUZZ_SECONDS=300 bash scripts/fuzz-smoke.sh   # the long run of docs/RELIABILITY.md
#
# Crashes are written to fuzz/artifacts/<target>/; turn each into a
# regression test under tests/ before fixing it.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds="${FUZZ_SECONDS:-20}"
targets="${FUZZ_TARGETS:-grant batch open_db attestation}"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"

cargo +nightly --version >/dev/null 2>&1 || { echo "missing nightly toolchain: rustup toolchain install nightly" >&2; exit 1; }
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi

cargo +nightly fuzz build
for target in $targets; do
  mkdir -p "corpus/$target"
  echo "== fuzz $target for ${seconds}s =="
  log="$(mktemp)"
  # -rss_limit_mb: the open_db target keeps a template vault in memory.
  if ! cargo +nightly fuzz run "$target" "corpus/$target" -- \
      -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
    tail -n 60 "$log"
    echo "fuzz target $target FAILED (artifact in fuzz/artifacts/$target/)" >&2
    exit 1
  fi
  grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|Done [0-9]+ runs)" "$log" || tail -n 3 "$log"
  rm -f "$log"
done
echo "fuzz smoke: all targets ran ${seconds}s without a crash"
