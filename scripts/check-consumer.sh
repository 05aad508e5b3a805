#!/usr/bin/env bash
# The consumer check: a backend that uses offline-auth-backend together with
# sqlx (SQLite) must resolve and type-check. It fails if the backend crate
# ever pulls in rusqlite (two `links = "sqlite3"` crates cannot be resolved
# together) or UniFFI by default, or an async runtime or HTTP stack (its
# logging is the `tracing` facade only), or the device's crypto (AES-GCM and
# PBKDF2: the proto crate's `device` feature; HKDF is there as HPKE's KDF, for
# opening escrowed edits). Also prints the backend's normal
# dependency tree's size and checks it holds neither crate.
set -euo pipefail
cd "$(dirname "$0")/.."

tree="$(cargo tree -p offline-auth-backend -e normal --prefix none --locked | sort -u)"
for forbidden in rusqlite libsqlite3-sys uniffi tokio hyper axum http tracing-subscriber aes-gcm aes pbkdf2; do
  if grep -q "^$forbidden " <<<"$tree"; then
    echo "offline-auth-backend depends on $forbidden by default" >&2
    exit 1
  fi
done
echo "offline-auth-backend: $(wc -l <<<"$tree") crates in its normal dependency tree, no rusqlite, no uniffi, no tokio or HTTP, none of the device crypto (AES-GCM, PBKDF2)"

fixture=fixtures/backend-with-sqlx
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}/consumer"
cargo generate-lockfile --manifest-path "$fixture/Cargo.toml"
cargo check --manifest-path "$fixture/Cargo.toml"
echo "test result: ok. 1 passed; 0 failed (backend beside sqlx resolves and type-checks)"

# The device crate beside sqlx with SQLite (a test crate of an app's backend
# team): one libsqlite3-sys for both; it runs (the vault and sqlx open
# SQLite side by side). Then the device crate alone with the system's SQLite
# (`--no-default-features`, libsqlite3 found by pkg-config).
fixture=fixtures/device-with-sqlx
cargo generate-lockfile --manifest-path "$fixture/Cargo.toml"
cargo run --manifest-path "$fixture/Cargo.toml"
# (In the consumer checks' target directory too: scripts/test.sh runs this
# script in the background, where a build in the workspace's own directory
# would hold cargo's lock on it while the sections build there.)
cargo check -p offline-auth --lib --no-default-features --locked
echo "test result: ok. 2 passed; 0 failed (device crate beside sqlx; device crate on the system SQLite)"
