#!/usr/bin/env bash
# The jars to publish: each carries its release-profile native library,
# stripped, for every platform staged by scripts/build-release-natives.sh
# (linux-x86-64/ and linux-aarch64/ here, plus darwin-aarch64/, darwin-x86-64/
# and win32-x86-64/ in the hosted release workflow: JNA's resource prefixes),
# beside a sources jar and a javadoc jar (Dokka, check-javadoc-jar.sh). Checks
# the layout of what it built.
#
#   platforms/jvm/build-release-jars.sh [--from DIR]...   (installs both artifacts into ~/.m2)
#
# The natives are the ones in the release wheels (one release build for every
# package); --from DIR is passed on to build-release-natives.sh (the hosted
# runners' natives). With OFFLINE_AUTH_NATIVES_STAGED=1 the natives already
# staged in $OFFLINE_AUTH_NATIVES_DIR are used as they are.
set -euo pipefail
JVM_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$JVM_DIR/../.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"

NATIVES="${OFFLINE_AUTH_NATIVES_DIR:-$TARGET_DIR/release-natives}"
export OFFLINE_AUTH_NATIVES_DIR="$NATIVES"
if [[ "${OFFLINE_AUTH_NATIVES_STAGED:-0}" != 1 ]]; then
    bash "$ROOT/scripts/build-release-natives.sh" "$@"
fi
stage="$NATIVES/jna"
platforms=()
for dir in "$stage/offline-auth"/*/; do platforms+=("$(basename "$dir")"); done
[[ " ${platforms[*]} " == *" linux-x86-64 "* ]] || { echo "FAIL no linux-x86-64 natives staged in $stage" >&2; exit 1; }

cd "$JVM_DIR"
version=$(python3 -c 'import xml.etree.ElementTree as E; print(E.parse("pom.xml").getroot().findtext("{http://maven.apache.org/POM/4.0.0}version"))')
# One module at a time, each with its own native directory (the backend goes
# first). The tests are neither compiled nor run here (maven.test.skip): the
# release artifacts carry no test classes, and the test command's jvm section
# has run the same suites on the same sources.
mvn -B -ntp -N install -DskipTests
for module in offline-auth-backend offline-auth; do
    rm -rf "$module"/target/classes/{linux,darwin,win32}-*   # no other build's natives in the jar
    mvn -B -ntp -pl "$module" -Doffline-auth.native.dir="$stage/$module" -Doffline-auth.native.platform=. \
        -Doffline-auth.javadoc.phase=package -Dmaven.test.skip=true install
done

status=0
for module in offline-auth offline-auth-backend; do
    package="${module//-/_}"
    jar="$module/target/$module-$version.jar"
    for f in "$jar" "${jar%.jar}-sources.jar" "${jar%.jar}-javadoc.jar"; do
        [[ -f "$f" ]] || { echo "FAIL missing $f"; status=1; }
    done
    [[ -f "$jar" ]] || continue
    # Every staged platform's library, byte for byte, and no other native file.
    expected=()
    for platform in "${platforms[@]}"; do
        case "$platform" in
            win32-*) lib="$package.dll" ;;
            darwin-*) lib="lib$package.dylib" ;;
            *) lib="lib$package.so" ;;
        esac
        expected+=("$platform/$lib")
        if ! unzip -p "$jar" "$platform/$lib" > "$NATIVES/$module.check" 2>/dev/null ||
            ! cmp -s "$NATIVES/$module.check" "$stage/$module/$platform/$lib"; then
            echo "FAIL $jar: $platform/$lib is not the staged release-profile build"; status=1
        elif [[ $platform == linux-* ]] && grep -q '\.debug_info' <<<"$(readelf -S "$NATIVES/$module.check")"; then
            echo "FAIL $jar: $platform/$lib still has debug info"; status=1
        else
            echo "ok   $jar: $platform/$lib, release ($(du -h "$stage/$module/$platform/$lib" | cut -f1))"
        fi
    done
    natives_in_jar="$(unzip -Z1 "$jar" | grep -E '\.(so|dylib|dll)$' | sort)"
    if [[ "$natives_in_jar" != "$(printf '%s\n' "${expected[@]}" | sort)" ]]; then
        echo "FAIL $jar: its native files are not exactly the staged ones:"; echo "$natives_in_jar"; status=1
    fi
    # The listing is read whole (grep -q would stop early and, under pipefail,
    # fail the pipeline through unzip's SIGPIPE on a long listing).
    listing="$(unzip -l "${jar%.jar}-sources.jar" 2>/dev/null || true)"
    grep -q '\.kt$' <<<"$listing" || { echo "FAIL ${jar%.jar}-sources.jar has no Kotlin sources"; status=1; }
    # Dokka's Javadoc pages, not a placeholder.
    package_path=dev/offlineauth; [[ $module == offline-auth-backend ]] && package_path=dev/offlineauth/backend
    bash "$JVM_DIR/check-javadoc-jar.sh" "${jar%.jar}-javadoc.jar" "$package_path" || status=1
    [[ $status -ne 0 ]] || echo "ok   $jar: ${#platforms[@]} platforms (${platforms[*]}), sources and javadoc jars"
done
# Nor these natives in a later development build of the same tree (which packs
# target/classes whole): the jars are made.
for module in offline-auth offline-auth-backend; do rm -rf "$module"/target/classes/{linux,darwin,win32}-*; done
exit "$status"
