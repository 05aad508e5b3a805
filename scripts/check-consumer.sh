#!/usr/bin/env bash
# The consumer check: a backend that uses offline-auth-backend together with
# sqlx (SQLite) must resolve and type-check. It fails if the backend crate
# ever pulls in rusqlite (two `links = "sqlite3"` crates cannot be resolved
# together) or UniFFI by default, or an async runtime or HTTP stack (its
# logging is the `tracing` facade only). Also prints the backend's normal
# dependency tree's size and checks it holds neither crate.
set -euo pipefail
cd "$(dirname "$0")/.."

tree="$(cargo tree -p offline-auth-backend -e normal --prefix none --locked | sort -u)"
for forbidden in rusqlite libsqlite3-sys uniffi tokio hyper axum http tracing-subscriber; do
  if grep -q "^$forbidden " <<<"$tree"; then
    echo "offline-auth-backend depends on $forbidden by default" >&2
    exit 1
  fi
done
echo "offline-auth-backend: $(wc -l <<<"$tree") crates in its normal dependency tree, no rusqlite, no uniffi, no tokio or HTTP"

fixture=fixtures/backend-with-sqlx
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}/consumer"
cargo generate-lockfile --manifest-path "$fixture/Cargo.toml"
cargo check --manifest-path "$fixture/Cargo.toml"
echo "test result: ok. 1 passed; 0 failed (backend beside sqlx resolves and type-checks)"
