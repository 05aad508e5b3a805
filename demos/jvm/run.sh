#!/usr/bin/env bash
# demos/jvm/run.sh: the field-worker story on the JVM, against the reference
# sync server, in one command.
#
# 1. installs the JVM artifact dev.offlineauth:offline-auth into the local
#    Maven repository (mvn install of platforms/jvm, which generates its
#    bindings and builds the library); OFFLINE_AUTH_DEMO_SKIP_INSTALL=1 uses
#    the installed one as is (scripts/test.sh: its jvm section just installed it);
# 2. builds and starts the reference sync server on a free loopback port (fresh
#    database in a temp dir; stopped when this script exits, whatever happens);
# 3. compiles demos/jvm, a Maven project depending on that artifact as an app
#    would, and runs the story (exit status 0 = every check held).
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export REPO_ROOT
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
cd "$REPO_ROOT"

log() { printf '[jvm-demo] %s\n' "$*" >&2; }

if [[ "${OFFLINE_AUTH_DEMO_SKIP_INSTALL:-0}" != 1 ]]; then
    log "installing the JVM artifact (mvn -f platforms/jvm/pom.xml -DskipTests install)"
    mvn -B -ntp -q -f platforms/jvm/pom.xml -DskipTests install
fi

log "compiling demos/jvm"
mvn -B -ntp -q -f demos/jvm/pom.xml compile dependency:build-classpath \
    -Dmdep.outputFile=target/classpath.txt -Dmdep.includeScope=runtime

work="$(mktemp -d)"
# shellcheck source=../../scripts/tooling/sync-server.sh
source scripts/tooling/sync-server.sh
start_sync_server "$work" "rm -rf '$work'"

java -cp "demos/jvm/target/classes:$(cat demos/jvm/target/classpath.txt)" \
    dev.offlineauth.demo.MainKt "$SYNC_SERVER_URL" "$work/device"
