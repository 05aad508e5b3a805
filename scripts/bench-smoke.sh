#!/usr/bin/env bash
# Smoke run of every benchmark (CI): each bench binary runs once with
# minimal criterion times, so the benches keep compiling and running.
# No figure from this run means anything; docs/PERFORMANCE.md comes from
# crates/offline-auth/benches/compare.sh.
#
#   bash scripts/bench-smoke.sh
#
# Prints a cargo-style "test result: ok. N passed; M failed" line and exits
# non-zero if any bench failed.
set -uo pipefail
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
export CARGO_TERM_COLOR=never

# The dev profile (optimised dependencies) and the workspace selection of
# scripts/test.sh's rust section: the smoke run reuses that build instead of
# compiling everything again for the bench profile. Figures come from
# benches/compare.sh, which uses the bench profile.
features="${OFFLINE_AUTH_RUST_FEATURES:-offline-auth-server/postgres,offline-auth/bench-internals,offline-auth/log,offline-auth-backend/ffi,offline-auth-backend/serde}"
BENCH=(cargo bench --locked --workspace --profile dev --features "$features")
CRIT=(-- --warm-up-time 0.05 --measurement-time 0.1 --noplot)
CRITERION_BENCHES=(kdf aead durable verify unlock calls)

if ! "${BENCH[@]}" --benches --no-run; then
  echo "test result: FAILED. 0 passed; 1 failed (the benches do not build)"
  exit 1
fi

passed=0
failed=0
run() {
  local name="$1"
  shift
  if "$@" >/tmp/bench-smoke-"$name".log 2>&1; then
    echo "bench $name ... ok"
    passed=$((passed + 1))
  else
    echo "bench $name ... FAILED (log: /tmp/bench-smoke-$name.log)"
    tail -20 /tmp/bench-smoke-"$name".log
    failed=$((failed + 1))
  fi
}

for bench in "${CRITERION_BENCHES[@]}"; do
  run "$bench" "${BENCH[@]}" --bench "$bench" "${CRIT[@]}"
done
# The RSS bench is not criterion: a small N keeps it short.
run rss env RSS_RECORDS=500 "${BENCH[@]}" --bench rss -- --bench
run server_load "${BENCH[@]}" --bench server_load -- --bench
# The attestation verifier's bench (its own crate).
run attestation "${BENCH[@]}" --bench attestation "${CRIT[@]}"

if [ "$failed" -eq 0 ]; then
  echo "test result: ok. $passed passed; 0 failed"
else
  echo "test result: FAILED. $passed passed; $failed failed"
  exit 1
fi
