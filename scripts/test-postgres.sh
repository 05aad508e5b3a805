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

# The same packages and features as scripts/test.sh's rust section, so a CI
# run builds nothing here: the server's test binaries are taken from that
# build. (Its clippy section lints the postgres code.)
features="${OFFLINE_AUTH_RUST_FEATURES:-offline-auth-server/postgres,offline-auth/bench-internals,offline-auth/log,offline-auth-backend/ffi,offline-auth-backend/serde}"
echo "== build (workspace, features $features) =="
binaries="$(cargo test --workspace --all-targets --features "$features" --locked --no-run --message-format=json |
  python3 -c '
import json, sys
for line in sys.stdin:
    message = json.loads(line)
    if (message.get("reason") == "compiler-artifact" and message.get("executable")
            and message["profile"]["test"] and message["target"]["kind"] != ["bench"]
            and "/crates/offline-auth-server" in message["manifest_path"]):
        print(message["executable"])
')"
[[ -n "$binaries" ]] || { echo "no test binary of offline-auth-server was built" >&2; exit 1; }

echo "== server tests against PostgreSQL =="
export OFFLINE_AUTH_REQUIRE_PG=1
# Integration tests find the server binary and their data from here.
cd crates/offline-auth-server
status=0
while IFS= read -r binary; do
  echo "-- $(basename "$binary")"
  # --nocapture: the tests print their counts (edits applied exactly once, lost 0).
  "$binary" --test-threads=1 --nocapture || status=1
done <<<"$binaries"
exit $status
