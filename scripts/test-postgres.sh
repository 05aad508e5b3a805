#!/usr/bin/env bash
# The reference server against a real PostgreSQL: several server processes
# on one database, 50 devices with duplicated, overlapping and replayed
# batches, kill -9 of an instance mid-upload, a database restart under
# load, and every failure path. Installs PostgreSQL from Debian if missing,
# runs a throwaway cluster as the unprivileged user oa-pg (created if
# missing) on a free loopback port, and always stops and removes it.
#
#   bash scripts/test-postgres.sh
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

# shellcheck source=scripts/pg-cluster.sh
. scripts/pg-cluster.sh
trap pg_cluster_stop EXIT
pg_cluster_start

echo "== clippy (server with the postgres feature, -D warnings) =="
cargo clippy -p offline-auth-server --all-targets --features postgres --locked -- -D warnings

echo "== server tests against PostgreSQL =="
export OFFLINE_AUTH_REQUIRE_PG=1
# --nocapture: the tests print their counts (edits applied exactly once, lost 0).
cargo test -p offline-auth-server --features postgres --locked -- --test-threads=1 --nocapture
