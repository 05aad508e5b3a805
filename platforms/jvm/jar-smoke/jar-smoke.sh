#!/usr/bin/env bash
# Use the packaged jars from plain Java outside Maven, with only the two jars,
# JNA and kotlin-stdlib on the classpath, from a directory where no native
# library exists.
#
#   jar-smoke/jar-smoke.sh [--no-build]   (--no-build: use the jars `mvn verify` made)
set -euo pipefail
JVM_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$JVM_DIR"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if [[ "${1:-}" != --no-build ]]; then
    mvn -B -q -ntp package -DskipTests
fi
cp=""
for module in offline-auth offline-auth-backend; do
    jar=""
    for f in "$module/target/$module"-[0-9]*.jar; do [[ -f "$f" ]] && jar="$f"; done
    [[ -n "$jar" ]] || { echo "no $jar: run mvn package (or verify) in $JVM_DIR first" >&2; exit 1; }
    lib="lib${module//-/_}.so"
    jar tf "$jar" | grep -qx "linux-x86-64/$lib" || { echo "$lib missing from $jar" >&2; exit 1; }
    echo "jar: $jar ($(du -h "$jar" | cut -f1))"
    cp="$cp$JVM_DIR/$jar:"
done
# JNA and kotlin-stdlib, as Maven resolves them (the backend module's runtime
# dependencies are the same as the device's, and it has no test dependency on
# another module).
mvn -B -q -ntp -f offline-auth-backend/pom.xml dependency:build-classpath -Dmdep.includeScope=runtime \
    -Dmdep.outputFile="$work/cp.txt" >/dev/null
cp="$cp$(cat "$work/cp.txt")"
javac -d "$work/classes" -cp "$cp" "$JVM_DIR/jar-smoke/JarSmoke.java"
(cd "$work" && java -Djna.nosys=true -cp "$work/classes:$cp" JarSmoke)
