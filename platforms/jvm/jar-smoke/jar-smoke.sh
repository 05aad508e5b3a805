#!/usr/bin/env bash
# Use the packaged jar from plain Java outside Maven, with only the jar, JNA
# and kotlin-stdlib on the classpath, from a directory where no
# liboffline_auth.so exists.
#
#   jar-smoke/jar-smoke.sh [--no-build]   (--no-build: use the jar `mvn verify` made)
set -euo pipefail
KOTLIN_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$KOTLIN_DIR"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if [[ "${1:-}" != --no-build ]]; then
    mvn -B -q -ntp package -DskipTests
fi
jar=""
for f in target/offline-auth-*.jar; do
    [[ -f "$f" && "$f" != *-sources.jar ]] && { jar="$f"; break; }
done
[[ -n "$jar" ]] || { echo "no jar in $KOTLIN_DIR/target: run mvn package (or verify) first" >&2; exit 1; }
mvn -B -q -ntp dependency:build-classpath -Dmdep.includeScope=runtime -Dmdep.outputFile="$work/cp.txt" >/dev/null
listing="$(jar tf "$jar")"
grep -qx "linux-x86-64/liboffline_auth.so" <<<"$listing" || { echo "native library missing from $jar" >&2; exit 1; }
echo "jar: $jar ($(du -h "$jar" | cut -f1))"

cp="$KOTLIN_DIR/$jar:$(cat "$work/cp.txt")"
javac -d "$work/classes" -cp "$cp" "$KOTLIN_DIR/jar-smoke/JarSmoke.java"
(cd "$work" && java -Djna.nosys=true -cp "$work/classes:$cp" JarSmoke)
