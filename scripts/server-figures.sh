#!/usr/bin/env bash
# Load figures for the reference server, written to docs/BACKEND_PERFORMANCE.md:
# uploads/s, verified entries/s and upload latency (p50, p99) for one and two
# server instances on one PostgreSQL, and for the SQLite server, all on this
# machine, loopback only. Starts a throwaway PostgreSQL (scripts/pg-cluster.sh)
# and the instances, runs the load generator (examples/load.rs) against each
# set-up with the same bounds, and stops everything it started.
#
#   bash scripts/server-figures.sh
#   UPLOADS=6000 SECS=20 DEVICES=64 BATCH=20 bash scripts/server-figures.sh
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
export CARGO_TERM_COLOR=never
UPLOADS="${UPLOADS:-20000}"
SECS="${SECS:-20}"
DEVICES="${DEVICES:-64}"
BATCH="${BATCH:-20}"
OUT="${OUT:-docs/BACKEND_PERFORMANCE.md}"

# shellcheck source=scripts/pg-cluster.sh
. scripts/pg-cluster.sh
WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  pg_cluster_stop
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== build (release) ==" >&2
cargo build --release --locked -p offline-auth-server --features postgres --bin offline-auth-server --example load >&2
TARGET_DIR="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
SERVER="$TARGET_DIR/release/offline-auth-server"
LOAD="$TARGET_DIR/release/examples/load"

pg_cluster_start

# Starts an instance with the given arguments; appends its URL to URLS.
# (Not in a command substitution: PIDS must stay in this shell.)
URLS=()
start_instance() {
  local log="$WORK/instance-$RANDOM.log"
  "$SERVER" "$@" 127.0.0.1:0 >"$log" 2>/dev/null &
  PIDS+=("$!")
  for _ in $(seq 100); do
    if grep -q '^listening on ' "$log"; then URLS+=("$(sed -n 's/^listening on //p' "$log")"); return; fi
    sleep 0.1
  done
  echo "instance did not start: $*" >&2; exit 1
}

stop_instances() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  PIDS=()
  URLS=()
}

# CPU seconds (user + system) of a process, and of all of PostgreSQL's.
cpu_secs() { awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$1/stat"; }
pg_cpu_secs() {
  local pid total=0
  for pid in $(pgrep -u "$PG_USER"); do
    total="$(echo "$total + $(cpu_secs "$pid" 2>/dev/null || echo 0)" | bc -l)"
  done
  echo "$total"
}

run_load() { # label, then addresses
  local label="$1"; shift
  local args=() line server0=0 server1=0 pg0 pid
  for addr in "$@"; do args+=(--addr "$addr"); done
  echo "== load: $label ==" >&2
  for pid in "${PIDS[@]}"; do server0="$(echo "$server0 + $(cpu_secs "$pid")" | bc -l)"; done
  pg0="$(pg_cpu_secs)"
  line="$("$LOAD" "${args[@]}" --devices "$DEVICES" --batch "$BATCH" --uploads "$UPLOADS" --secs "$SECS" --label "$label")"
  for pid in "${PIDS[@]}"; do server1="$(echo "$server1 + $(cpu_secs "$pid")" | bc -l)"; done
  line="$line server_cpu_s=$(echo "$server1 - $server0" | bc -l) pg_cpu_s=$(echo "$(pg_cpu_secs) - $pg0" | bc -l)"
  echo "$line" | tee -a "$WORK/results.txt" >&2
}

start_instance --postgres "$OFFLINE_AUTH_PG_URL"
run_load "PostgreSQL, 1 instance" "${URLS[@]}"
stop_instances
start_instance --postgres "$OFFLINE_AUTH_PG_URL"
start_instance --postgres "$OFFLINE_AUTH_PG_URL"
run_load "PostgreSQL, 2 instances" "${URLS[@]}"
stop_instances
start_instance "$WORK/server.db"
run_load "SQLite, 1 instance" "${URLS[@]}"
stop_instances

CPU_MODEL="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
CPU_FLAGS="$(sed -n 's/^flags[[:space:]]*: //p' /proc/cpuinfo | head -1)"
PG_VERSION="$("$(pg_bin_dir)/postgres" --version)"
echo "CPU: $CPU_MODEL ($(nproc) cores)" >&2
echo "flags: $CPU_FLAGS" >&2

python3 - "$WORK/results.txt" "$OUT" "$CPU_MODEL" "$(nproc)" "$CPU_FLAGS" "$PG_VERSION" \
  "$UPLOADS" "$SECS" "$DEVICES" "$BATCH" <<'PY'
import datetime, re, sys
results, out, model, cores, flags, pg, uploads, secs, devices, batch = sys.argv[1:]
rows = []
for line in open(results):
    if not line.startswith("LOAD "):
        continue
    label = re.search(r"label=(.*?) instances=", line).group(1)
    kv = dict(re.findall(r"(\w+)=([0-9.]+)", line.split(" instances=", 1)[1]))
    kv["instances"] = line.split(" instances=", 1)[1].split()[0]
    kv["label_pg"] = label.startswith("PostgreSQL")
    rows.append((label, kv))
by = {label: kv for label, kv in rows}
def f(label, key):
    return float(by[label][key])
one, two = "PostgreSQL, 1 instance", "PostgreSQL, 2 instances"
ratio = f(two, "uploads_per_s") / f(one, "uploads_per_s")
def per_core(kv, key):
    cpu = float(kv.get(key, 0))
    return f"{float(kv['uploads']) / cpu:.0f}" if cpu > 0 else "n/a"
table = "\n".join(
    f"| {label} | {kv['uploads']} | {kv['errors']} | {float(kv['uploads_per_s']):.0f} | "
    f"{float(kv['entries_per_s']):.0f} | {float(kv['p50_ms']):.1f} | {float(kv['p99_ms']):.1f} | "
    f"{per_core(kv, 'server_cpu_s')} | {per_core(kv, 'pg_cpu_s') if kv['label_pg'] else '-'} |"
    for label, kv in rows)
doc = f"""# Backend performance: the reference server under load

Generated by `bash scripts/server-figures.sh` on {datetime.date.today().isoformat()}; do not edit by
hand (rerun the script). The device-side figures are in [PERFORMANCE.md](PERFORMANCE.md).

Machine: {model}, {cores} cores, shared by everything below: PostgreSQL, the
server instances and the load generator all run on these {cores} cores, so the
ratio between rows says more than the absolute numbers. {pg}, default
settings (fsync and synchronous_commit on: every upload is durable when
answered), on 127.0.0.1.

Load: `examples/load.rs` enrols {devices} devices, prepares their batches
({batch} entries each, the device SDK's format and MAC chain) untimed, then
sends them with one upload per device in flight, round-robin over the
instances, bounded by {uploads} uploads and {secs} s. Every upload is verified
(grant signature, MAC chain, windows, scopes) and applied in one transaction
(device row locked, cursor re-checked, records written, cursor advanced,
receipt recorded). Latency is per upload, from send to answer.

| set-up | uploads | errors | uploads/s | verified entries/s | p50 ms | p99 ms | uploads per server CPU-second | uploads per PostgreSQL CPU-second |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
{table}

Two instances against one: {ratio:.2}x the uploads per second.

The last two columns divide the uploads by the CPU time the server
instances (all of them together) and PostgreSQL (all its processes) spent
during the run (from /proc): what one core of each serves when it has the
core to itself. A device that syncs once an hour with {batch} edits is one
upload an hour, so one server core at N uploads per CPU-second keeps up with
about N x 3600 such devices, before the database's share.

CPU flags: `{flags}`
"""
# Keep the "Under attack" section (scripts/attack-figures.sh writes it).
try:
    previous = open(out).read()
except FileNotFoundError:
    previous = ""
at = previous.find("\n## Under attack")
open(out, "w").write(doc + (previous[at:] if at >= 0 else ""))
print(doc)
PY
