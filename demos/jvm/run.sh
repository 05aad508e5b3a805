#!/usr/bin/env bash
# kotlin-demo/run.sh: the field-worker story on the JVM, against the reference
# sync server, in one command.
#
# 1. stages the native library if missing (bindings/generate.sh) and installs
#    the JVM bindings jar into the local Maven repository when it is stale;
# 2. builds and starts the reference sync server on a free loopback port (fresh
#    database in a temp dir; stopped when this script exits, whatever happens);
# 3. compiles kotlin-demo/jvm and runs the story (exit status 0 = every check held).
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export REPO_ROOT
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
cd "$REPO_ROOT"

log() { printf '[kotlin-demo] %s\n' "$*" >&2; }

if [[ ! -f bindings/.native/stripped/liboffline_auth.so ]]; then
    log "no staged native library: running bindings/generate.sh"
    bash bindings/generate.sh
fi

M2="${MAVEN_LOCAL_REPO:-$HOME/.m2/repository}"
jar="$M2/dev/offlineauth/offline-auth/0.1.0-SNAPSHOT/offline-auth-0.1.0-SNAPSHOT.jar"
if [[ ! -f "$jar" || bindings/kotlin/src/main/kotlin/dev/offlineauth/offline_auth.kt -nt "$jar" \
      || bindings/.native/stripped/liboffline_auth.so -nt "$jar" || bindings/kotlin/pom.xml -nt "$jar" ]]; then
    log "installing the JVM bindings jar (mvn -f bindings/kotlin/pom.xml -DskipTests install)"
    mvn -B -ntp -q -f bindings/kotlin/pom.xml -DskipTests install
fi

log "compiling kotlin-demo/jvm"
mvn -B -ntp -q -f kotlin-demo/jvm/pom.xml compile dependency:build-classpath \
    -Dmdep.outputFile=target/classpath.txt -Dmdep.includeScope=runtime

work="$(mktemp -d)"
# shellcheck source=../platform/sync-server.sh
source platform/sync-server.sh
start_sync_server "$work" "rm -rf '$work'"

java -cp "kotlin-demo/jvm/target/classes:$(cat kotlin-demo/jvm/target/classpath.txt)" \
    dev.offlineauth.demo.MainKt "$SYNC_SERVER_URL" "$work/device"
