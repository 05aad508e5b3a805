#!/usr/bin/env bash
# Runs every check and test of offline-auth: the one command the README
# gives and CI runs (.ci/run calls it). Installs nothing it cannot get from
# the package registries; stops at the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

section() { printf '\n== %s ==\n' "$1"; }

section "toolchain"
for tool in cargo rustc cargo-fmt cargo-clippy; do
  command -v "$tool" >/dev/null || { echo "missing $tool: install Rust with rustup (components rustfmt, clippy)" >&2; exit 1; }
done
cargo --version

section "Python test dependencies (PyJWT interop)"
python3 -m pip install --quiet --disable-pip-version-check -r crates/offline-auth/tests/interop/requirements.txt
export OFFLINE_AUTH_REQUIRE_INTEROP=1

section "format"
cargo fmt --all -- --check

section "clippy (-D warnings)"
cargo clippy --workspace --all-targets --locked -- -D warnings

section "Rust tests"
cargo test --workspace --all-targets --locked

section "date independence: the Rust tests again, with the clock a year ahead"
# No test may depend on today's date. libfaketime (Debian's faketime) moves
# the wall clock of every test binary, and of what it spawns (the PyJWT
# interop, the CLI), a year ahead; the boot clock is left alone.
if ! command -v faketime >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends faketime
fi
host_triple="$(rustc -vV | sed -n 's/^host: //p')"
runner_var="CARGO_TARGET_$(printf '%s' "$host_triple" | tr 'a-z.-' 'A-Z__')_RUNNER"
env "$runner_var=faketime -f +365d" cargo test --workspace --all-targets --locked
faketime -f +365d date -u '+(tests ran at %F on the faked clock)'

section "doc tests"
cargo test --workspace --doc --locked

section "example: field_day"
cargo run --locked --example field_day >/dev/null

section "bindings: generated code current; Kotlin, Swift, Python tests"
bash bindings/test-all.sh

if [ -f platform/test-all.sh ]; then
  section "platform adapters and demos"
  bash platform/test-all.sh
fi

section "result"
echo "all checks passed"
