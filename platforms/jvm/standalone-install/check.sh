#!/usr/bin/env bash
# One module's install is enough: a Maven project that depends on
# dev.offlineauth:offline-auth-backend alone builds and runs the README's Java
# example (java-consumer's Backend.java, as a file of its own) against a local
# repository that holds that one artifact of ours and nothing else: no parent
# POM, no device SDK.
#
#   platforms/jvm/standalone-install/check.sh     (after `mvn install` of platforms/jvm)
#
# The repository: the module's directory as `mvn install` wrote it into the
# local repository, beside links to every third-party directory there (the
# plugins and libraries the jvm build has just resolved), so the consumer
# builds offline (-o) in seconds. Fails if the installed POM names a <parent>.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
JVM_DIR="$(cd "$HERE/.." && pwd)"
LOCAL_REPO="${OFFLINE_AUTH_M2_REPO:-$HOME/.m2/repository}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

version=$(python3 -c 'import sys, xml.etree.ElementTree as E; print(E.parse(sys.argv[1]).getroot().findtext("{http://maven.apache.org/POM/4.0.0}version"))' "$JVM_DIR/pom.xml")
installed="$LOCAL_REPO/dev/offlineauth/offline-auth-backend/$version"
pom="$installed/offline-auth-backend-$version.pom"
[[ -f "$pom" ]] || { echo "FAIL no $pom: run mvn install in $JVM_DIR first" >&2; exit 1; }
if grep -q '<parent>' "$pom"; then
    echo "FAIL the installed $pom names a <parent>: a project depending on it needs the parent POM too" >&2
    exit 1
fi

# The repository: third-party directories linked, ours (dev/offlineauth) left out but the backend.
repo="$work/repo"
mkdir -p "$repo/dev/offlineauth"
for entry in "$LOCAL_REPO"/*; do
    [[ "$(basename "$entry")" == dev ]] || ln -s "$entry" "$repo/"
done
for entry in "$LOCAL_REPO"/dev/*; do
    [[ "$(basename "$entry")" == offlineauth ]] || ln -s "$entry" "$repo/dev/"
done
mkdir -p "$repo/dev/offlineauth/offline-auth-backend"
cp -R "$installed" "$repo/dev/offlineauth/offline-auth-backend/"
ls "$repo/dev/offlineauth"   # offline-auth-backend only

# The project: this directory's pom and main class, and the README's example as a file of its own.
project="$work/project"
mkdir -p "$project"
cp -R "$HERE/pom.xml" "$HERE/src" "$project/"
cp "$JVM_DIR/java-consumer/src/test/java/dev/offlineauth/javaconsumer/Backend.java" \
    "$project/src/main/java/dev/offlineauth/javaconsumer/"
mvn -B -ntp -q -o -Dmaven.repo.local="$repo" -f "$project/pom.xml" \
    compile dependency:build-classpath -Dmdep.outputFile="$work/cp.txt" -Dmdep.includeScope=runtime
(cd "$work" && java -cp "$project/target/classes:$(cat "$work/cp.txt")" dev.offlineauth.javaconsumer.StandaloneMain)
echo "standalone install: ok (offline-auth-backend $version alone; its POM has no <parent>)"
