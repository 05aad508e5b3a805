#!/usr/bin/env bash
# The one test runner of offline-auth: every check and test, Rust and every
# platform. The README's command; CI runs it (.ci/run).
#
#   scripts/test.sh [--only SECTION]... [--skip SECTION]... [--list]
#
# Sections, in order (--list prints them):
#   setup            toolchain and prerequisites: rustfmt/clippy, PyJWT interop
#                    requirements, pytest, faketime, Maven + JDK (apt/pip, only what
#                    is missing), the Swift chroot (scripts/tooling/swift-chroot.sh)
#   no-generated     no file UniFFI generated is tracked by git (they are build products)
#   fmt              cargo fmt --all -- --check
#   clippy           clippy's lints, -D warnings, on every target of the workspace (with the
#                    features of the rust section: the server's postgres code is linted too),
#                    in the one build the later sections reuse: cargo test --no-run with
#                    clippy-driver as the workspace's compiler (what `cargo clippy` sets)
#   module-cycles    no import cycles between the modules of any crate
#                    (scripts/module-cycles.py)
#   rust             cargo test --workspace --all-targets --locked (with the server's
#                    postgres feature, the device crate's bench-internals and log features
#                    and the backend's serde feature)
#   rust-faketime    the same with the wall clock a year ahead (libfaketime as cargo's runner)
#   doc              cargo test --workspace --doc --locked
#   example          cargo run --locked --example field_day (the README's first command,
#                    with the features of the shared build so that it reuses it)
#   postgres         scripts/test-postgres.sh: the reference server on a real PostgreSQL
#                    (its test binaries are the rust section's build: same features)
#                    (a throwaway cluster run by an unprivileged user): several instances,
#                    kill -9, database restart, failure paths
#   operator-page    the reference server's operator page in headless Chromium (Debian's
#                    chromium and chromium-driver, installed by setup only for this section):
#                    sign-in, devices listed, a hostile device id shown escaped, a
#                    cross-site form post refused (crates/offline-auth-server/tests/browser)
#   bench-smoke      scripts/bench-smoke.sh: every benchmark once, briefly (they keep
#                    compiling and running; no figures; the dev profile, reusing that build)
#   jvm              platforms/jvm: mvn install of both modules, device SDK and backend
#                    (bindings generated, tests, jars), jar smoke test of both jars, and
#                    platforms/jvm/standalone-install/check.sh: the README's Java example
#                    builds and runs with only the backend installed (its POM has no <parent>)
#   swift            platforms/apple: bindings generated (device, and the test-only backend
#                    module), swift test (in the chroot)
#   python           platforms/python: both packages generated, pytest
#   android          platforms/android: mvn install against android-all, JVM unit tests
#   android-app      demos/android-app: compile check of the app's Kotlin sources
#   android-aar      scripts/check-aar-selftest.sh: the AAR layout and 16 KB ELF alignment
#                    check accepts good AARs and rejects bad ones
#   android-r8       scripts/check-android-r8.sh: a shrunk app keeps what JNA and the
#                    bindings need under the library's consumer rules (ProGuard)
#   jvm-demo         demos/jvm/run.sh against the reference sync server
#   swift-demo       demos/swift/run.sh against the reference sync server (in the chroot)
#   apple-target     platforms/apple: the OfflineAuthApple target builds (its pure-Swift
#                    policy; the Security code needs Apple platforms) with its privacy
#                    manifest (scripts/check-privacy-manifest.py)
#   versions         scripts/check-versions.sh: every crate, pom, pyproject and Gradle
#                    file carries the workspace version; scripts/check-release-checksum.sh:
#                    a release tag's Package.swift has a real checksum (and its self-test,
#                    both ways); the workflows pass actionlint (built by setup from its Go
#                    module) and release.yml has the jobs and gates it promises
#   package-contents scripts/check-package-contents.sh: published crates ship only sources
#   readme-examples  scripts/check-readme-examples.py: every README example is, word for
#                    word, the region of a test file that its platform's section runs,
#                    and that region is the whole file (the block compiles on its own)
#   jvm-release      platforms/jvm/build-release-jars.sh: the jars as published (release-profile,
#                    stripped natives for linux-x86-64 and linux-aarch64 from
#                    scripts/build-release-natives.sh, the one release build of every package:
#                    the manylinux wheels for both CPUs, zig, glibc 2.17; sources jars; Dokka
#                    javadoc jars, refused by platforms/jvm/check-javadoc-jar.sh if a
#                    placeholder), then the jar smoke test on them
#   aarch64          scripts/test-aarch64.sh: the aarch64 wheels and the release jars under
#                    qemu-user: pytest in an aarch64 CPython, the jar smoke test in an aarch64
#                    JVM (Debian's arm64 packages unpacked under the target dir by setup)
#   sqlite-symbols   scripts/check-sqlite-symbols.sh: the static library (the shared dev
#                    build's) with its symbols hidden links into one C program beside
#                    Debian's libsqlite3.a, both work
#   python-wheel     platforms/python/build-wheel.sh --prebuilt: this machine's manylinux
#                    wheels as scripts/build-release-natives.sh built and checked them (maturin,
#                    zig; auditwheel, glibc, py.typed), installed in a fresh venv, smoke test and
#                    pytest against them; then the sdists, and the source installs
#   fuzz-smoke       scripts/fuzz-smoke.sh with FUZZ_SECONDS=5, dev profile: every cargo-fuzz target
#                    (fuzz/fuzz_targets) built and run briefly; needs the nightly toolchain
#                    and cargo-fuzz (.ci/run installs them)
#   consumer         scripts/check-consumer.sh: the backend has neither rusqlite nor
#                    uniffi, and resolves and type-checks beside sqlx (SQLite)
#
# The builds of the last sections (both Linux CPUs' release natives, the fuzz
# targets' instrumented build, the consumer checks) run in the background, one
# after the other, from the end of setup, at the lowest CPU priority
# (SCHED_IDLE), on the core the other sections leave idle; each of those
# sections waits for what it needs and shows its log
# (target/test-logs/background-NAME.log).
#
# Every section runs even after an earlier one failed. Each section's output is
# shown and kept in $OFFLINE_AUTH_TEST_LOGS (default target/test-logs/NAME.log).
# Test counts come from each runner's closing lines (cargo, Surefire, XCTest,
# pytest); a section without a test runner counts as one check, passed or
# failed. The summary lists every section with its time; the last line is
# "N passed, N failed", and the exit status is non-zero if any section failed.
# Needs root for apt and the Swift chroot (mount, chroot), as CI has.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

SECTIONS=(setup no-generated fmt clippy module-cycles rust rust-faketime doc example postgres operator-page bench-smoke
          jvm swift python android android-app android-aar android-r8 jvm-demo swift-demo apple-target
          versions package-contents readme-examples jvm-release aarch64 sqlite-symbols python-wheel fuzz-smoke consumer)

only=()
skip=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --only) shift; only+=("${1:?--only needs a section}") ;;
        --skip) shift; skip+=("${1:?--skip needs a section}") ;;
        --list) printf '%s\n' "${SECTIONS[@]}"; exit 0 ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done
for s in "${only[@]}" "${skip[@]}"; do
    [[ " ${SECTIONS[*]} " == *" $s "* ]] || { echo "unknown section: $s (--list)" >&2; exit 2; }
done
wanted() {  # setup always runs (for what the other wanted sections need) unless skipped
    [[ " ${skip[*]} " != *" $1 "* ]] || return 1
    [[ $1 == setup || ${#only[@]} -eq 0 || " ${only[*]} " == *" $1 "* ]]
}
wanted_any() { local s; for s in "$@"; do wanted "$s" && return 0; done; return 1; }

export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# The PyJWT interop test must run, not skip, when its requirements are missing.
export OFFLINE_AUTH_REQUIRE_INTEROP=1

LOG_DIR="${OFFLINE_AUTH_TEST_LOGS:-$REPO_ROOT/target/test-logs}"
rm -rf "$LOG_DIR"
mkdir -p "$LOG_DIR"

total_passed=0
total_failed=0
failed_sections=()
timings=()

banner() {
    printf '\n==================================================================\n'
    printf '== %s\n' "$*"
    printf '==================================================================\n'
}

# section NAME COUNTER COMMAND...: runs COMMAND (if NAME is wanted) with its
# output shown and logged; COUNTER reads the log and prints "passed failed".
# Errexit does not apply inside COMMAND (it runs on the left of `||`): a
# function given here checks each of its steps itself.
section() {
    local name="$1" counter="$2"; shift 2
    wanted "$name" || return 0
    local log="$LOG_DIR/$name.log" rc=0 start secs counts passed failed cpu_start cpu
    banner "$name"
    start=$(date +%s)
    cpu_start="$(cpu_jiffies)"
    "$@" < /dev/null 2>&1 | tee "$log" || rc=${PIPESTATUS[0]}
    secs=$(( $(date +%s) - start ))
    cpu="$(cpu_use "$cpu_start" "$(cpu_jiffies)")"
    counts="$("$counter" "$log" "$rc" 2>/dev/null || true)"
    passed="${counts%% *}"; failed="${counts##* }"
    [[ "$passed" =~ ^[0-9]+$ ]] || passed=0
    [[ "$failed" =~ ^[0-9]+$ ]] || failed=0
    if [[ $rc -ne 0 && $failed -eq 0 ]]; then failed=1; fi  # e.g. a build error: no test counts
    total_passed=$(( total_passed + passed ))
    total_failed=$(( total_failed + failed ))
    timings+=("$(printf '%-14s %5d s  %5s passed, %s failed  (exit %d)  %s' "$name" "$secs" "$passed" "$failed" "$rc" "$cpu")")
    if [[ $rc -ne 0 ]]; then
        failed_sections+=("$name")
        printf '== %s: FAILED (exit %d) after %d s\n' "$name" "$rc" "$secs"
    else
        printf '== %s: OK after %d s\n' "$name" "$secs"
    fi
}

# How busy the machine's CPUs were during a section (/proc/stat): the share of
# all cores' time spent working, and the part of it at low priority (the
# background builds). What is left is what more background work could use.
cpu_jiffies() {  # "busy nice total" since boot, all CPUs
    awk '/^cpu / { busy = $2 + $3 + $4 + $7 + $8 + $9; print busy, $3, busy + $5 + $6 }' /proc/stat 2>/dev/null || echo "0 0 0"
}
cpu_use() {  # START END: "cpu 87% (background 12%)"
    local b0 n0 t0 b1 n1 t1
    read -r b0 n0 t0 <<<"$1"; read -r b1 n1 t1 <<<"$2"
    (( t1 > t0 )) || { echo "cpu ?"; return; }
    echo "cpu $(( 100 * (b1 - b0) / (t1 - t0) ))% (background $(( 100 * (n1 - n0) / (t1 - t0) ))%)"
}

# --- counters: "passed failed" from a section's log and exit status ---
count_check() {  # no test runner: the section is one check
    if [[ "$2" -eq 0 ]]; then echo "1 0"; else echo "0 1"; fi
}
count_cargo() {  # sums every "test result: ok. N passed; M failed; ..."
    awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed/) p += $(i-1); if ($i ~ /^failed/) f += $(i-1) } }
         END { print p + 0, f + 0 }' "$1"
}
count_surefire() {  # sums the "Results:" totals (one per Maven module): lines ending in "Skipped: S"
    grep -E 'Tests run: [0-9]+, Failures: [0-9]+, Errors: [0-9]+, Skipped: [0-9]+$' "$1" |
        sed -E 's/.*Tests run: ([0-9]+), Failures: ([0-9]+), Errors: ([0-9]+), Skipped: ([0-9]+).*/\1 \2 \3 \4/' |
        awk '{ p += $1 - $2 - $3 - $4; f += $2 + $3 } END { print p + 0, f + 0 }'
}
count_xctest() {  # "Executed N tests, with F failures" of the 'All tests' suite (the last one)
    grep -E 'Executed [0-9]+ tests?, with [0-9]+ failures?' "$1" | tail -n 1 |
        sed -E 's/.*Executed ([0-9]+) tests?, with ([0-9]+) failures?.*/\1 \2/' | awk '{ print $1 - $2, $2 }'
}
count_pytest() {  # sums the closing "N passed, M failed, K error(s)" lines (one per pytest run)
    grep -E '^(=+ )?[0-9]+ (passed|failed|errors?)' "$1" |
        awk '{ for (i = 2; i <= NF; i++) { w = $i; gsub(/[^a-z]/, "", w); n = $(i-1) + 0
                   if (w == "passed") p += n; else if (w == "failed" || w == "error" || w == "errors") f += n } }
             END { print p + 0, f + 0 }'
}
count_auto() {  # cargo's lines if any, else a closing "N passed, N failed" line, else one check
    if grep -q '^test result:' "$1"; then count_cargo "$1"; return; fi
    local last
    last="$(grep -E '^([A-Za-z-]+: )?[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1 || true)"
    if [[ -n "$last" ]]; then
        sed -E 's/^([A-Za-z-]+: )?([0-9]+) passed, ([0-9]+) failed.*/\2 \3/' <<<"$last"
    else
        count_check "$1" "$2"
    fi
}

# --- one build for the Rust sections ---
# clippy, rust, rust-faketime, doc, postgres and bench-smoke select the same
# packages and features, so cargo builds each dependency once for all of
# them (a different selection, such as `-p offline-auth-server --features
# postgres`, re-resolves features and rebuilds much of the graph). The
# backend's serde feature is here so that its JSON round-trip test runs in
# that build (serde itself is already compiled for it).
RUST_FEATURES="offline-auth-server/postgres,offline-auth/bench-internals,offline-auth/log,offline-auth-backend/ffi,offline-auth-backend/serde"
export OFFLINE_AUTH_RUST_FEATURES="$RUST_FEATURES"

# The platform sections (jvm, swift, python, android, the demos) need both
# UniFFI libraries and the reference server. `cargo build --workspace
# --all-targets` with the same features reuses the Rust sections' build (it
# only links the libraries' cdylibs and the binaries); a build per crate with
# its own features would resolve features anew and compile much of the
# dependency graph a second time. Each section runs in its own subshell, so
# each calls this (a no-op for cargo after the first).
platform_build() {
    cargo build --workspace --all-targets --features "$RUST_FEATURES" --locked || return 1
    export OFFLINE_AUTH_PREBUILT_LIBS=1
    export OFFLINE_AUTH_SERVER_BIN="${CARGO_TARGET_DIR:-$REPO_ROOT/target}/debug/offline-auth-server"
}

# --- prerequisites (a fresh machine installs them here) ---
ACTIONLINT_VERSION=v1.7.12   # the workflows' linter (setup builds it with go install)
apt_updated=0
apt_install() {
    export DEBIAN_FRONTEND=noninteractive
    if [[ $apt_updated -eq 0 ]]; then apt-get update -qq || return 1; apt_updated=1; fi
    apt-get install -y -qq --no-install-recommends "$@"
}
pip_install() {
    python3 -m pip install --quiet --disable-pip-version-check "$@" ||
        python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "$@"
}
setup() {
    local tool req
    for tool in cargo rustc cargo-fmt cargo-clippy; do
        if ! command -v "$tool" >/dev/null; then
            command -v rustup >/dev/null && rustup component add rustfmt clippy || true
            command -v "$tool" >/dev/null || { echo "missing $tool: install Rust with rustup (components rustfmt, clippy)" >&2; return 1; }
        fi
    done
    cargo --version || return 1
    command -v python3 >/dev/null || apt_install python3 python3-pip python3-venv || return 1
    if wanted_any rust rust-faketime; then
        # PyJWT interop (the Rust tests run it as a subprocess).
        for req in crates/*/tests/interop/requirements.txt tests/interop/requirements.txt; do
            [[ -f "$req" ]] || continue
            echo "pip install -r $req"
            pip_install -r "$req" || return 1
        done
    fi
    if wanted_any python python-wheel; then
        echo "pip install -r platforms/python/requirements-test.txt"
        pip_install -r platforms/python/requirements-test.txt || return 1
        python3 -m pytest --version || return 1
    fi
    if wanted rust-faketime; then
        command -v faketime >/dev/null || apt_install faketime || return 1
    fi
    if wanted_any jvm-release aarch64; then
        # The natives for Linux aarch64 (scripts/build-release-natives.sh); the
        # aarch64 section's CPython and JVM (Debian's arm64 packages) and qemu-user.
        if wanted aarch64; then
            bash scripts/test-aarch64.sh setup || return 1
        else
            bash scripts/test-aarch64.sh setup-toolchain || return 1
        fi
    fi
    if wanted versions; then
        # actionlint, from its Go module (pinned), into the target dir.
        local lint_dir="${CARGO_TARGET_DIR:-$REPO_ROOT/target}/workflow-lint"
        if [[ "$("$lint_dir/actionlint" -version 2>/dev/null | head -n 1)" != "$ACTIONLINT_VERSION" ]]; then
            command -v go >/dev/null || apt_install golang-go || return 1
            GOBIN="$lint_dir" timeout 600 go install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION" || return 1
        fi
        python3 -c 'import yaml' 2>/dev/null || pip_install pyyaml || return 1
    fi
    if wanted_any jvm jvm-release aarch64 android android-app jvm-demo; then
        command -v javac >/dev/null || apt_install openjdk-17-jdk-headless || return 1
        command -v mvn >/dev/null || apt_install maven || return 1
        java -version 2>&1 | head -n 1
        mvn -v 2>/dev/null | head -n 1
    fi
    command -v strip >/dev/null || apt_install binutils || return 1
    if wanted operator-page; then
        # The browser test drives Chromium through chromedriver's WebDriver API (Python's standard
        # library); a font, since apt_install leaves out what chromium only recommends.
        { command -v chromium >/dev/null && command -v chromedriver >/dev/null; } ||
            apt_install chromium chromium-driver fonts-liberation || return 1
        chromium --version || return 1
    fi
    if wanted fuzz-smoke; then
        # libFuzzer's sanitizer flags need a nightly toolchain; cargo-fuzz drives it.
        if ! cargo +nightly --version >/dev/null 2>&1; then
            command -v rustup >/dev/null || { echo "missing nightly toolchain: install rustup" >&2; return 1; }
            rustup toolchain install nightly --profile minimal || return 1
        fi
        cargo fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --locked || return 1
    fi
    if wanted consumer; then
        # The system SQLite the consumer check links with `--no-default-features`.
        pkg-config --exists sqlite3 2>/dev/null || apt_install pkg-config libsqlite3-dev || return 1
    fi
    if wanted_any swift swift-demo apple-target; then
        bash scripts/tooling/swift-chroot.sh ensure || return 1
    fi
    local scripts=(tools/generate-bindings.sh scripts/tooling/*.sh platforms/*/*.sh
                   platforms/jvm/jar-smoke/jar-smoke.sh platforms/jvm/standalone-install/check.sh demos/*/run.sh "$0")
    scripts+=(scripts/check-consumer.sh scripts/test-postgres.sh scripts/bench-smoke.sh scripts/fuzz-smoke.sh
              scripts/build-release-natives.sh scripts/test-aarch64.sh scripts/check-release-checksum.sh)
    bash -n "${scripts[@]}" || return 1
    echo "prerequisites ready"
}

module_cycles() {
    local crate ok=0
    for crate in offline-auth offline-auth-backend offline-auth-proto offline-auth-server offline-auth-cli offline-auth-attestation; do
        python3 scripts/module-cycles.py "crates/$crate/src" || ok=1
    done
    return $ok
}

# No file UniFFI generates may be tracked: they are written by every build.
# (The markers are split so that this file does not match itself.)
no_generated() {
    local marker1="autogenerated by some hot"' garbage in the `uniffi` crate'
    local marker2="UNIFFI_SHARED"'_H'
    local marker3="Generated by tools"'/generate-bindings.sh'
    local hits
    command -v git >/dev/null && git rev-parse --git-dir >/dev/null 2>&1 || { echo "not a git checkout: nothing to check"; return 0; }
    hits="$(git ls-files -z | xargs -0 grep -l -I -F -e "$marker1" -e "$marker2" -e "$marker3" -- 2>/dev/null |
            grep -v -x 'tools/generate-bindings.sh' || true)"
    if [[ -n "$hits" ]]; then
        echo "generated files tracked by git (remove them: they are build products):"
        printf '  %s\n' $hits
        return 1
    fi
    echo "no generated file is tracked ($(git ls-files | wc -l) files checked)"
}

rust_tests() {
    # RUST_FEATURES turns on the device crate's optional `log` feature, so
    # security_events_are_logged (security events on the log facade) runs here.
    cargo test --workspace --all-targets --features "$RUST_FEATURES" --locked --no-fail-fast
}

rust_faketime() {
    # No test may depend on today's date. libfaketime (Debian's faketime) moves
    # the wall clock of every test binary, and of what it spawns (the PyJWT
    # interop, the CLI), a year ahead; the boot clock is left alone.
    local host_triple runner_var
    host_triple="$(rustc -vV | sed -n 's/^host: //p')"
    runner_var="CARGO_TARGET_$(printf '%s' "$host_triple" | tr 'a-z.-' 'A-Z__')_RUNNER"
    env "$runner_var=faketime -f +365d" cargo test --workspace --all-targets --features "$RUST_FEATURES" --locked --no-fail-fast || return 1
    faketime -f +365d date -u '+(tests ran at %F on the faked clock)'
}

operator_page() {
    # The server binary of the shared build: platform_build's `cargo build
    # --all-targets` unifies features as the tests' build did, so nothing is
    # rebuilt (a plain `cargo build --bin` resolved other features and built 53
    # crates again).
    platform_build || return 1
    [[ -x "$OFFLINE_AUTH_SERVER_BIN" ]] || { echo "no offline-auth-server binary at $OFFLINE_AUTH_SERVER_BIN" >&2; return 1; }
    timeout 300 python3 crates/offline-auth-server/tests/browser/operator_page.py "$OFFLINE_AUTH_SERVER_BIN"
}

jvm() {
    # install = verify (generate-sources, compile, tests, jar) + the local
    # repository, where demos/jvm finds it as an app would.
    # The Kotlin post-processors refuse a UniFFI output they were not written for.
    python3 -m unittest discover -s tools -p 'test_*.py' || return 1
    platform_build || return 1
    (cd platforms/jvm && timeout 1200 mvn -B -ntp install) || return 1
    (cd platforms/jvm && timeout 300 jar-smoke/jar-smoke.sh --no-build) || return 1
    # One module's install is enough: the README's Java example against the
    # backend alone (no parent POM) in a local repository, offline, in seconds.
    timeout 300 bash platforms/jvm/standalone-install/check.sh
}

swift_tests() {
    platform_build || return 1
    bash platforms/apple/generate.sh || return 1
    # --manifest-cache none: Package.swift declares the test targets only once
    # the backend module is generated, a fact of the file system that SwiftPM's
    # manifest cache (keyed by the manifest's text) would not see change.
    local out rc
    out="$(mktemp)"
    timeout 1800 bash scripts/tooling/swift-chroot.sh run platforms/apple swift test --manifest-cache none --disable-swift-testing 2>&1 |
        tee "$out"
    rc=${PIPESTATUS[0]}
    # A test target SwiftPM leaves out fails nothing by itself: the SDK's own
    # suites must have run.
    if [[ $rc -eq 0 ]] && ! grep -q "Test Suite 'ReadmeExampleTests' passed" "$out"; then
        echo "the OfflineAuthTests target did not run"; rc=1
    fi
    rm -f "$out"
    return "$rc"
}

python_tests() {
    platform_build || return 1
    bash platforms/python/generate.sh || return 1
    (cd platforms/python && timeout 900 python3 -m pytest -p no:cacheprovider -q -s)
}

android_adapter() {
    platform_build || return 1
    timeout 1200 mvn -B -ntp -f platforms/android/pom.xml install
}

jvm_release() {
    platform_build || return 1
    bash platforms/jvm/check-javadoc-jar.sh --self-test || return 1
    # The natives are the background build's (release-natives, started after setup).
    await_background release-natives || return 1
    OFFLINE_AUTH_NATIVES_STAGED=1 timeout 1500 bash platforms/jvm/build-release-jars.sh &&
        bash platforms/jvm/jar-smoke/jar-smoke.sh --no-build
}
fuzz_smoke() {
    # Its build is the background's (fuzz-build, started after setup).
    await_background fuzz-build || return 1
    FUZZ_SECONDS="${FUZZ_SECONDS:-5}" FUZZ_PROFILE=dev without_clippy timeout 900 bash scripts/fuzz-smoke.sh
}
consumer_check() {
    await_background consumer-check
}
sqlite_symbols() {
    # The static library of the shared dev build (platform_build): the symbols
    # hidden, bundled SQLite's and the UniFFI ABI, do not depend on the profile,
    # and the release build of the device and backend crates made for this
    # check alone kept the background busy for nearly four minutes.
    platform_build || return 1
    OFFLINE_AUTH_SQLITE_ARCHIVE="${CARGO_TARGET_DIR:-$REPO_ROOT/target}/debug/liboffline_auth.a" \
        bash scripts/check-sqlite-symbols.sh
}
python_wheel() {
    # The wheels are the background's zig builds (release-natives); the sdist
    # installs build this machine's release libraries from the sdists.
    await_background release-natives || return 1
    CARGO_TARGET_DIR="$BACKGROUND_TARGET_DIR" without_clippy timeout 1800 bash platforms/python/build-wheel.sh \
        --prebuilt "$OFFLINE_AUTH_NATIVES_DIR/wheels" "$LOG_DIR/wheel"
}
aarch64_tests() {
    platform_build || return 1
    # The jvm-release section has just built the jars and natives; alone, this builds them.
    if wanted jvm-release; then
        OFFLINE_AUTH_RELEASE_JARS_BUILT=1 timeout 900 bash scripts/test-aarch64.sh run
    else
        timeout 2400 bash scripts/test-aarch64.sh run
    fi
}
count_aarch64() {  # pytest's counts, and the jar smoke test as one more
    local counts passed failed
    counts="$(count_pytest "$1")"; passed="${counts% *}"; failed="${counts#* }"
    if grep -q '^jar smoke test: ok' "$1"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
    echo "$passed $failed"
}
versions_checks() {
    local ok=0
    bash scripts/check-versions.sh || ok=1
    bash scripts/check-release-checksum.sh || ok=1
    bash scripts/check-release-checksum.sh --self-test || ok=1
    "${CARGO_TARGET_DIR:-$REPO_ROOT/target}/workflow-lint/actionlint" -shellcheck= -pyflakes= -verbose .github/workflows/*.yml || ok=1
    python3 scripts/check-release-workflow.py || ok=1
    python3 scripts/check-release-workflow.py --self-test || ok=1
    return $ok
}
jvm_demo() {
    platform_build || return 1
    # The jvm section has just installed the artifact; alone, the demo installs it.
    if wanted jvm; then
        OFFLINE_AUTH_DEMO_SKIP_INSTALL=1 timeout 900 bash demos/jvm/run.sh
    else
        timeout 1500 bash demos/jvm/run.sh
    fi
}

apple_target() {
    python3 scripts/check-privacy-manifest.py || return 1
    platform_build || return 1
    bash platforms/apple/generate.sh --device-only || return 1
    timeout 1200 bash scripts/tooling/swift-chroot.sh run platforms/apple swift build --manifest-cache none --target OfflineAuthApple
}

android_r8() {
    platform_build || return 1
    timeout 900 bash scripts/check-android-r8.sh
}
swift_demo() {
    platform_build || return 1
    timeout 1200 bash demos/swift/run.sh
}

# --- builds in the background ---
# The builds of the last sections (the release natives of jvm-release, aarch64
# and python-wheel, fuzz-smoke's instrumented build, the consumer checks) need
# nothing the other sections make, and none of those sections needs them. So
# they start right after setup, beside the other sections, at the lowest CPU
# priority (SCHED_IDLE): they take the core that a
# single-threaded section (a test run waiting on fsync, pytest, the JVM
# suites, PostgreSQL, Chromium) leaves idle, and yield it to everything
# else. A section that needs one waits for it (await_background) and shows
# its log; a build that failed fails that section. Their cargo runs use
# a target directory of their own (target/background; the fuzz crate has
# its own): cargo locks a whole target directory while it builds into it,
# whatever the profile, so in the sections' one a section's cargo would wait
# for an idle-priority build (it did: 127 s of a rust-faketime section). The
# natives are staged where every script looks for them (target/release-natives).
declare -A background_pid=()
BACKGROUND_TARGET_DIR="${CARGO_TARGET_DIR:-$REPO_ROOT/target}/background"
export OFFLINE_AUTH_NATIVES_DIR="${OFFLINE_AUTH_NATIVES_DIR:-${CARGO_TARGET_DIR:-$REPO_ROOT/target}/release-natives}"
# How long a section waits for one (from the start of its wait: the build then
# has the CPUs to itself; a cold natives build takes about a quarter of this).
BACKGROUND_TIMEOUT="${OFFLINE_AUTH_BACKGROUND_TIMEOUT:-2400}"
start_background() {  # NAME COMMAND...: runs COMMAND (a program) in its own process group, at idle priority,
    local name="$1"; shift  # after the background build started before it (one at a time)
    local log="$LOG_DIR/background-$name.log" status="$LOG_DIR/background-$name.status"
    rm -f "$status"
    # Its exit status goes to a file: the section that waits for it runs in a
    # subshell, which cannot `wait` for a process it did not start.
    # Its own process group (a timeout stops all of it), in this session:
    # Linux shares CPU time between sessions (autogroups) before it looks at
    # a task's priority, so a build in a session of its own (setsid) would
    # take a CPU from a section even at nice 19; in this one, SCHED_IDLE (or
    # nice 19 where chrt is refused) leaves it only what the sections leave.
    local idle=(chrt --idle 0)
    "${idle[@]}" true 2>/dev/null || idle=()
    "${idle[@]}" nice -n 19 python3 -c 'import os, sys; os.setpgid(0, 0); os.execvp(sys.argv[1], sys.argv[1:])' bash -c '
        status="$1" previous="$2"; shift 2
        while [[ -n "$previous" ]] && kill -0 "$previous" 2>/dev/null; do sleep 2; done
        "$@"; echo $? > "$status"' background "$status" "${background_last:-}" "$@" < /dev/null > "$log" 2>&1 &
    background_last=$!
    background_pid[$name]=$!
    echo "background build '$name' started (pid $!, log $log): $*"
}
await_background() {  # NAME: waits for it (at most BACKGROUND_TIMEOUT s), shows its log, returns its status
    local name="$1" pid="${background_pid[$1]:-}" rc start
    local log="$LOG_DIR/background-$name.log" status="$LOG_DIR/background-$name.status"
    [[ -n "$pid" ]] || { echo "background build '$name' was not started" >&2; return 1; }
    start=$(date +%s)
    while [[ ! -s "$status" ]] && kill -0 "$pid" 2>/dev/null && (( $(date +%s) - start < BACKGROUND_TIMEOUT )); do
        sleep 2
    done
    sleep 0.2  # (its status is written just before it exits)
    if [[ -s "$status" ]]; then
        rc="$(cat "$status")"
    elif kill -0 "$pid" 2>/dev/null; then
        echo "background build '$name' still running after a wait of ${BACKGROUND_TIMEOUT} s: stopped" >&2
        kill -TERM -- "-$pid" 2>/dev/null || true
        rc=124
    else
        rc=125  # gone without a status: killed
    fi
    echo "---- background build '$name' (waited $(( $(date +%s) - start )) s), exit $rc; its log: ----"
    cat "$log"
    echo "---- end of background build '$name' ----"
    return "$rc"
}
stop_background() {  # on exit: nothing of ours keeps running (only builds without a status: a finished one's id may be reused)
    local name
    for name in "${!background_pid[@]}"; do
        [[ -s "$LOG_DIR/background-$name.status" ]] || kill -TERM -- "-${background_pid[$name]}" 2>/dev/null || true
    done
}
trap stop_background EXIT

overall_start=$(date +%s)
section setup         count_check    setup
if wanted_any jvm-release python-wheel; then
    # Both Linux CPUs' release libraries, in the wheels and staged for the jars.
    start_background release-natives env CARGO_TARGET_DIR="$BACKGROUND_TARGET_DIR" bash scripts/build-release-natives.sh
fi
if wanted fuzz-smoke; then
    # The fuzz targets' instrumented build (nightly, its own target dir).
    start_background fuzz-build env FUZZ_PROFILE=dev bash scripts/fuzz-smoke.sh --build-only
fi
if wanted consumer; then
    # The consumer checks, whole (their own target dir, target/consumer): the
    # section shows their output.
    start_background consumer-check bash scripts/check-consumer.sh
fi

# Clippy lints the workspace's crates while they are built for the tests:
# `cargo clippy` is cargo with clippy-driver as the workspace members'
# compiler (RUSTC_WORKSPACE_WRAPPER; the arguments after `--` go in
# CLIPPY_ARGS), and the driver lints and then compiles in the same pass. So
# the clippy section is the one build of every target that the later
# sections reuse, and no check-only build of every dependency is made beside
# it. Every foreground cargo run keeps the wrapper (it is part of cargo's
# fingerprint: a run without it would build the workspace's crates again);
# the background builds started above do not inherit it, and the sections
# that build in their target dir or with the nightly toolchain drop it
# (without_clippy).
CLIPPY_DRIVER="$(rustup which clippy-driver 2>/dev/null || command -v clippy-driver || true)"
if [[ -x "$CLIPPY_DRIVER" ]]; then
    export RUSTC_WORKSPACE_WRAPPER="$CLIPPY_DRIVER"
    export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
fi
without_clippy() { env -u RUSTC_WORKSPACE_WRAPPER -u CLIPPY_ARGS "$@"; }
clippy_build() {
    [[ -n "${RUSTC_WORKSPACE_WRAPPER:-}" ]] || { echo "no clippy-driver: install Rust's clippy component" >&2; return 1; }
    cargo test --workspace --all-targets --features "$RUST_FEATURES" --locked --no-run
}

section no-generated  count_check    no_generated
section fmt           count_check    cargo fmt --all -- --check
section clippy        count_check    clippy_build
section module-cycles count_check module_cycles
section rust          count_cargo    rust_tests
section rust-faketime count_cargo    rust_faketime
section doc           count_cargo    cargo test --workspace --doc --features "$RUST_FEATURES" --locked
section example       count_check    cargo run --locked --features "$RUST_FEATURES" --example field_day
section postgres      count_cargo    bash scripts/test-postgres.sh
section operator-page count_auto     operator_page
section bench-smoke   count_auto     bash scripts/bench-smoke.sh
section jvm           count_surefire jvm
section swift         count_xctest   swift_tests
section python        count_pytest   python_tests
section android       count_surefire android_adapter
section android-app   count_check    timeout 900 mvn -B -ntp -f demos/android-app/compile-check/pom.xml compile
section android-aar   count_check    bash scripts/check-aar-selftest.sh
section android-r8    count_check    android_r8
section jvm-demo      count_check    jvm_demo
section swift-demo    count_check    swift_demo
section apple-target  count_check    apple_target
section versions      count_check    versions_checks
section package-contents count_check bash scripts/check-package-contents.sh
section readme-examples count_check python3 scripts/check-readme-examples.py
section jvm-release   count_check    jvm_release
section aarch64       count_aarch64  aarch64_tests
section sqlite-symbols count_check   sqlite_symbols
section python-wheel  count_check    python_wheel
section fuzz-smoke    count_auto     fuzz_smoke
section consumer      count_auto     consumer_check

banner "summary ($(( $(date +%s) - overall_start )) s; logs in $LOG_DIR)"
echo "$(nproc) CPUs; load average at the end: $(cut -d ' ' -f 1-3 /proc/loadavg)"
printf '%s\n' "${timings[@]}"
if [[ ${#failed_sections[@]} -gt 0 ]]; then
    echo "FAILED sections: ${failed_sections[*]}"
fi
echo "$total_passed passed, $total_failed failed"
[[ ${#failed_sections[@]} -eq 0 ]]
