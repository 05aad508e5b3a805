# Test plumbing, sourced by demos/jvm/run.sh and demos/swift/run.sh: builds the
# reference sync server (crate offline-auth-server; or takes the binary named by
# OFFLINE_AUTH_SERVER_BIN), starts it on a free
# loopback port with a fresh database, and stops it when the calling script
# exits.
#
#   source scripts/tooling/sync-server.sh
#   start_sync_server "$workdir"      # sets SYNC_SERVER_URL and SYNC_SERVER_PID
#
# The caller's EXIT trap must call stop_sync_server (start_sync_server installs
# one that does, chained after any cleanup the caller passes as $2).

: "${REPO_ROOT:?REPO_ROOT must be set}"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"

SYNC_SERVER_PID=""
SYNC_SERVER_URL=""

stop_sync_server() {
    if [[ -n "$SYNC_SERVER_PID" ]] && kill -0 "$SYNC_SERVER_PID" 2>/dev/null; then
        kill "$SYNC_SERVER_PID" 2>/dev/null || true
        wait "$SYNC_SERVER_PID" 2>/dev/null || true
    fi
    SYNC_SERVER_PID=""
}

# start_sync_server WORKDIR [EXTRA_CLEANUP_COMMAND]
start_sync_server() {
    local work="$1" extra="${2:-}"
    local target="${CARGO_TARGET_DIR:-$REPO_ROOT/target}"
    # OFFLINE_AUTH_SERVER_BIN: a server binary the caller has built (scripts/test.sh
    # passes the one of its shared workspace build); otherwise build it here.
    local bin="${OFFLINE_AUTH_SERVER_BIN:-}"
    if [[ -z "$bin" ]]; then
        (cd "$REPO_ROOT" && cargo build --quiet --locked -p offline-auth-server --bin offline-auth-server)
        bin="$target/debug/offline-auth-server"
    fi
    # Port 0: the kernel picks a free port; the server prints the one it bound.
    "$bin" "$work/sync-server.db" 127.0.0.1:0 >"$work/sync-server.log" 2>&1 &
    SYNC_SERVER_PID=$!
    # shellcheck disable=SC2064  # expand now: the trap must name this cleanup
    trap "stop_sync_server; $extra" EXIT
    local i
    for i in $(seq 1 100); do
        SYNC_SERVER_URL="$(sed -n 's/^listening on \(http:\/\/127\.0\.0\.1:[0-9]*\).*/\1/p' "$work/sync-server.log" | head -n1)"
        [[ -n "$SYNC_SERVER_URL" ]] && break
        kill -0 "$SYNC_SERVER_PID" 2>/dev/null || { cat "$work/sync-server.log" >&2; echo "sync server exited" >&2; return 1; }
        sleep 0.1
    done
    [[ -n "$SYNC_SERVER_URL" ]] || { echo "sync server did not report its address" >&2; return 1; }
    echo "[sync-server] $SYNC_SERVER_URL (pid $SYNC_SERVER_PID, log $work/sync-server.log)"
}
