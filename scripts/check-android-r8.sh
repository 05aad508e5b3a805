#!/usr/bin/env bash
# Shrinks a tiny app (one entry point) together with the Android library's
# classes (adapter + generated bindings) and JNA, the way an app's release build
# does, applying ONLY platforms/android/consumer-rules.pro; then checks that
# every class and member of JNA and of the bindings/adapter (dev.offlineauth.*),
# which JNA and JNI reach by reflection and by name, survived unchanged.
# The shrinker is ProGuard (com.guardsquare:proguard-base, the central Maven
# repository; R8 itself is published only in Google's repository). R8 reads
# the same rule syntax; this checks the rules, not R8's own optimisations.
# Usage: scripts/check-android-r8.sh [rules-file]   (default: consumer-rules.pro)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rules=${1:-$root/platforms/android/consumer-rules.pro}
android=$root/platforms/android
proguard_version=7.7.0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mvn_q() { mvn -B -ntp -q "$@"; }

# The library's classes (bindings generated at build time) and its classpath.
(cd "$android" && mvn_q -DskipTests package)
lib_jar=$(ls "$android"/target/offline-auth-android-*.jar | grep -v sources | head -1)
(cd "$android" && mvn_q dependency:build-classpath -Dmdep.outputFile="$work/lib.cp" -Dmdep.includeScope=test)
jna_jar=$(tr ':' '\n' < "$work/lib.cp" | grep '/jna-[0-9.]*\.jar$' | head -1)
android_jar=$(tr ':' '\n' < "$work/lib.cp" | grep '/android-all-14' | head -1)
others=$(tr ':' '\n' < "$work/lib.cp" | grep -E 'kotlin-stdlib|kotlinx-coroutines|annotations' | paste -sd: -)

# JNA's desktop code paths (AWT) resolve against the JDK's java.desktop module.
jmods=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")/jmods

# ProGuard and its dependencies, resolved by Maven.
mkdir -p "$work/pg"
cat > "$work/pg/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
<groupId>local</groupId><artifactId>pg</artifactId><version>1</version>
<dependencies><dependency><groupId>com.guardsquare</groupId><artifactId>proguard-base</artifactId><version>$proguard_version</version></dependency></dependencies></project>
POM
(cd "$work/pg" && mvn_q dependency:build-classpath -Dmdep.outputFile="$work/pg.cp")

# A tiny app: it touches only the keystore entry point; everything else is the rules' job.
mkdir -p "$work/app/src" "$work/app/classes"
cat > "$work/app/src/App.java" <<'JAVA'
public class App {
    public static void main(String[] args) {
        System.out.println(dev.offlineauth.android.AndroidKeystore.TRANSFORMATION);
    }
}
JAVA
javac -d "$work/app/classes" -cp "$lib_jar" "$work/app/src/App.java"
(cd "$work/app/classes" && jar cf "$work/app.jar" .)

cat > "$work/app.pro" <<PRO
-injars $work/app.jar
-injars $lib_jar(!META-INF/**)
-injars $jna_jar(!META-INF/**,!**.so,!**.dll,!**.jnilib,!**.a)
-outjars $work/out.jar
-libraryjars ${android_jar:?android-all not on the classpath}
-libraryjars $jmods/java.base.jmod(!**.jar;!module-info.class)
-libraryjars $jmods/java.desktop.jmod(!**.jar;!module-info.class)
-libraryjars $others
-keep class App { public static void main(java.lang.String[]); }
-dontobfuscate
-dontnote
# JNA also carries desktop-JVM code paths (AWT, JDK-only methods) that android-all lacks.
-ignorewarnings
-dontwarn kotlin.**
-dontwarn kotlinx.**
-dontwarn org.jetbrains.**
-dontwarn androidx.**
-dontwarn java.lang.invoke.**
-include $rules
PRO
java -cp "$(cat "$work/pg.cp"):$HOME/.m2/repository/com/guardsquare/proguard-base/$proguard_version/proguard-base-$proguard_version.jar" \
    proguard.ProGuard @"$work/app.pro" > "$work/proguard.log" 2>&1 || { grep -i "superclass\|can't find" "$work/proguard.log" | head -10; tail -30 "$work/proguard.log"; exit 1; }

# Every class of JNA and of dev.offlineauth.* must keep its name and members.
classes_in() { unzip -Z1 "$1" | grep -E '^(com/sun/jna|dev/offlineauth|uniffi)/.*\.class$' | grep -v '^com/sun/jna/platform/' | sed 's/\.class$//' | sort; }
classes_in "$lib_jar" > "$work/in.txt"
classes_in "$jna_jar" >> "$work/in.txt"
sort -o "$work/in.txt" "$work/in.txt"
classes_in "$work/out.jar" > "$work/out.txt"
missing=$(comm -23 "$work/in.txt" "$work/out.txt" | wc -l)
if [ "$missing" -ne 0 ]; then
    echo "check-android-r8: $missing classes removed by shrinking, e.g.:" >&2
    comm -23 "$work/in.txt" "$work/out.txt" | head -10 >&2
    exit 1
fi
members() { # <jar> : every declared member name of the classes in in.txt
    tr '/' '.' < "$work/in.txt" | xargs -n 200 javap -p -cp "$1" 2>/dev/null \
        | grep -E '^\s' | sed -E 's/^\s+//; s/ throws .*//' | grep -oE '[A-Za-z0-9_$<>]+(\(|;)' | sort | uniq -c
}
members "$lib_jar:$jna_jar" > "$work/members-in.txt"
members "$work/out.jar" > "$work/members-out.txt"
if ! diff -q "$work/members-in.txt" "$work/members-out.txt" >/dev/null; then
    echo "check-android-r8: members removed or renamed by shrinking:" >&2
    diff "$work/members-in.txt" "$work/members-out.txt" | head -20 >&2
    exit 1
fi
echo "check-android-r8: $(wc -l < "$work/in.txt") classes of JNA and the bindings survive shrinking with all members ($(basename "$rules"))"
