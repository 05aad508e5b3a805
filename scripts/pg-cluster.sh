# Sourced by scripts/test-postgres.sh and scripts/server-figures.sh: a
# throwaway PostgreSQL cluster on 127.0.0.1, run by an unprivileged user
# (PostgreSQL refuses to run as root, and CI runs as root).
#
#   pg_cluster_start    installs Debian's postgresql if missing, creates the
#                       user oa-pg, initdb's a cluster in a temporary
#                       directory, starts it on a free loopback port, and
#                       exports OFFLINE_AUTH_PG_URL, OFFLINE_AUTH_PG_STOP and
#                       OFFLINE_AUTH_PG_START (commands the restart test runs).
#   pg_cluster_stop     stops it and removes the directory (call from a trap).

PG_USER="${PG_USER:-oa-pg}"

pg_bin_dir() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1
}

pg_cluster_start() {
  if [ -z "$(pg_bin_dir)" ] || [ ! -x "$(pg_bin_dir)/initdb" ]; then
    echo "installing PostgreSQL from Debian" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends postgresql >&2
  fi
  local bin; bin="$(pg_bin_dir)"
  id -u "$PG_USER" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$PG_USER"
  PG_DIR="$(mktemp -d /tmp/oa-pg.XXXXXX)"
  chown "$PG_USER" "$PG_DIR"
  chmod 700 "$PG_DIR"
  PG_PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  runuser -u "$PG_USER" -- "$bin/initdb" -D "$PG_DIR/data" -U oa -A trust -E UTF8 --locale=C --no-instructions >/dev/null
  local opts="-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=200"
  PG_START_CMD="runuser -u $PG_USER -- $bin/pg_ctl -D $PG_DIR/data -l $PG_DIR/log -o '$opts' -w -t 30 start"
  PG_STOP_CMD="runuser -u $PG_USER -- $bin/pg_ctl -D $PG_DIR/data -m fast -w -t 30 stop"
  sh -c "$PG_START_CMD" >/dev/null
  runuser -u "$PG_USER" -- "$bin/createdb" -h 127.0.0.1 -p "$PG_PORT" -U oa offline_auth
  export OFFLINE_AUTH_PG_URL="postgres://oa@127.0.0.1:$PG_PORT/offline_auth"
  export OFFLINE_AUTH_PG_STOP="$PG_STOP_CMD >/dev/null"
  export OFFLINE_AUTH_PG_START="$PG_START_CMD >/dev/null"
  echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT (data in $PG_DIR, run by $PG_USER)" >&2
}

pg_cluster_stop() {
  if [ -n "${PG_DIR:-}" ] && [ -d "$PG_DIR" ]; then
    runuser -u "$PG_USER" -- "$(pg_bin_dir)/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
  fi
}
