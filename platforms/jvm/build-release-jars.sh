#!/usr/bin/env bash
# The jars to publish: each carries its release-profile native library,
# stripped, at linux-x86-64/ (JNA's resource prefix), beside a sources jar and
# a javadoc jar (Dokka, check-javadoc-jar.sh). Checks the layout of what it built.
#
#   platforms/jvm/build-release-jars.sh     (installs both artifacts into ~/.m2)
#
# Only linux-x86-64 is built here; other JNA prefixes (linux-aarch64,
# darwin-aarch64, ...) are added by building on those hosts into the same
# resource path.
set -euo pipefail
JVM_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$JVM_DIR/../.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"

(cd "$ROOT" && cargo build --release --locked -p offline-auth-backend --features ffi && cargo build --release --locked -p offline-auth)
stage="$TARGET_DIR/jvm-release-natives"
rm -rf "$stage"
for module in offline-auth offline-auth-backend; do
    lib="lib${module//-/_}.so"
    mkdir -p "$stage/$module"
    cp "$TARGET_DIR/release/$lib" "$stage/$module/$lib"
    strip --strip-debug "$stage/$module/$lib"
done

cd "$JVM_DIR"
version=$(python3 -c 'import xml.etree.ElementTree as E; print(E.parse("pom.xml").getroot().findtext("{http://maven.apache.org/POM/4.0.0}version"))')
# One module at a time, each with its own native directory (the device module
# needs the backend jar in test scope, so the backend goes first).
mvn -B -ntp -N install -DskipTests
for module in offline-auth-backend offline-auth; do
    mvn -B -ntp -pl "$module" -Doffline-auth.native.dir="$stage/$module" -Doffline-auth.javadoc.phase=package -DskipTests install
done

status=0
for module in offline-auth offline-auth-backend; do
    lib="lib${module//-/_}.so"
    jar="$module/target/$module-$version.jar"
    for f in "$jar" "${jar%.jar}-sources.jar" "${jar%.jar}-javadoc.jar"; do
        [[ -f "$f" ]] || { echo "FAIL missing $f"; status=1; }
    done
    [[ -f "$jar" ]] || continue
    unzip -p "$jar" "linux-x86-64/$lib" > "$stage/$module.check.so"
    if ! cmp -s "$stage/$module.check.so" "$stage/$module/$lib"; then
        echo "FAIL $jar: linux-x86-64/$lib is not the release-profile build"; status=1
    elif readelf -S "$stage/$module.check.so" | grep -q '\.debug_info'; then
        echo "FAIL $jar: $lib still has debug info"; status=1
    else
        echo "ok   $jar: release $lib ($(du -h "$stage/$module/$lib" | cut -f1)), sources and javadoc jars"
    fi
    # The listing is read whole (grep -q would stop early and, under pipefail,
    # fail the pipeline through unzip's SIGPIPE on a long listing).
    listing="$(unzip -l "${jar%.jar}-sources.jar" 2>/dev/null || true)"
    grep -q '\.kt$' <<<"$listing" || { echo "FAIL ${jar%.jar}-sources.jar has no Kotlin sources"; status=1; }
    # Dokka's Javadoc pages, not a placeholder.
    package_path=dev/offlineauth; [[ $module == offline-auth-backend ]] && package_path=dev/offlineauth/backend
    bash "$JVM_DIR/check-javadoc-jar.sh" "${jar%.jar}-javadoc.jar" "$package_path" || status=1
done
exit "$status"
