#!/usr/bin/env bash
# Test plumbing, not product: a Debian trixie chroot with Swift (Debian's
# `swiftlang`, Swift 6.0.x) for running the Swift package's tests and demo on
# this Debian 12 (bookworm) machine, which has no Swift toolchain of its own.
#
# Usage:
#   scripts/tooling/swift-chroot.sh ensure              create the chroot, or reuse it if `swift --version` works
#   scripts/tooling/swift-chroot.sh run <dir> <cmd...>  run <cmd> inside the chroot, cwd = /repo/<dir>
#                                                       (<dir> is relative to the repo root); ensures first
#   scripts/tooling/swift-chroot.sh mirror              print the Debian mirror read from the host's apt sources
#   scripts/tooling/swift-chroot.sh path                print the chroot directory
#
# Environment:
#   OFFLINE_AUTH_SWIFT_CHROOT  chroot directory (default /var/cache/offline-auth/trixie; outside the repo
#                              because it is ~3 GiB)
#   OFFLINE_AUTH_DEBIAN_MIRROR override the mirror (default: the first Debian archive URI in
#                              /etc/apt/sources.list{,.d/*})
#
# The repo is bind-mounted at /repo and proc is mounted at /proc for the duration
# of `run`; both are unmounted on exit (trap), whether the command succeeds or not.
# Must run as root (debootstrap, chroot, mount).
set -euo pipefail

CHROOT_DIR="${OFFLINE_AUTH_SWIFT_CHROOT:-/var/cache/offline-auth/trixie}"
SUITE=trixie
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DONE_MARKER="$CHROOT_DIR/.offline-auth-swift-ready"

log() { printf '[swift-chroot] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Print the Debian archive mirror configured on this host. Handles both the
# one-line format (sources.list) and deb822 (*.sources). Skips security and
# non-Debian repositories, commented lines and disabled files.
read_mirror() {
    if [[ -n "${OFFLINE_AUTH_DEBIAN_MIRROR:-}" ]]; then
        printf '%s\n' "$OFFLINE_AUTH_DEBIAN_MIRROR"; return 0
    fi
    local f uri
    local files=()
    [[ -f /etc/apt/sources.list ]] && files+=(/etc/apt/sources.list)
    for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [[ -f "$f" ]] && files+=("$f")
    done
    for f in "${files[@]}"; do
        case "$f" in
        *.sources)
            # deb822: one stanza per paragraph; take URIs of stanzas whose Types has `deb`
            # and whose Suites are not *-security.
            uri="$(awk '
                function flush() {
                    if (types ~ /(^| )deb( |$)/ && suites !~ /-security/ && uris != "" && enabled != "no") print uris
                    types = ""; suites = ""; uris = ""; enabled = ""
                }
                /^[[:space:]]*#/ { next }
                /^[[:space:]]*$/ { flush(); next }
                /^Types:/   { sub(/^Types:[[:space:]]*/, "");   types = $0 }
                /^Suites:/  { sub(/^Suites:[[:space:]]*/, "");  suites = $0 }
                /^URIs:/    { sub(/^URIs:[[:space:]]*/, "");    uris = $1 }
                /^Enabled:/ { sub(/^Enabled:[[:space:]]*/, ""); enabled = tolower($0) }
                END { flush() }' "$f" | grep -E '/debian/?$' | head -n1 || true)"
            ;;
        *)
            uri="$(awk '$1 == "deb" {
                        i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
                        if ($(i+1) !~ /-security/) print $i
                    }' "$f" | grep -E '/debian/?$' | head -n1 || true)"
            ;;
        esac
        if [[ -n "$uri" ]]; then printf '%s\n' "${uri%/}"; return 0; fi
    done
    die "no Debian archive mirror found in /etc/apt/sources.list or /etc/apt/sources.list.d/ (set OFFLINE_AUTH_DEBIAN_MIRROR)"
}

# Unmount everything we may have mounted below the chroot (deepest first).
unmount_all() {
    local m
    for m in "$CHROOT_DIR/repo" "$CHROOT_DIR/proc" "$CHROOT_DIR/dev/pts" "$CHROOT_DIR/dev"; do
        if mountpoint -q "$m" 2>/dev/null; then
            umount "$m" 2>/dev/null || umount -l "$m" || log "warning: could not unmount $m"
        fi
    done
}

# Run a command in the chroot with proc mounted (no repo bind mount).
chroot_exec() {
    mount_basic
    env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
        LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive TERM="${TERM:-dumb}" \
        chroot "$CHROOT_DIR" "$@"
}

mount_basic() {
    mountpoint -q "$CHROOT_DIR/proc" || mount -t proc proc "$CHROOT_DIR/proc"
    # Host DNS for apt-get inside the chroot.
    if [[ -f /etc/resolv.conf ]]; then cp -L /etc/resolv.conf "$CHROOT_DIR/etc/resolv.conf" 2>/dev/null || true; fi
}

swift_works() {
    # (usr/bin/swift is an absolute symlink: only meaningful inside the chroot)
    [[ -f "$DONE_MARKER" ]] || return 1
    (trap unmount_all EXIT; chroot_exec swift --version >/dev/null 2>&1)
}

ensure() {
    [[ $EUID -eq 0 ]] || die "must run as root (debootstrap/chroot/mount)"
    if swift_works; then
        log "reusing $CHROOT_DIR ($(trap unmount_all EXIT; chroot_exec swift --version 2>&1 | head -n1))"
        return 0
    fi
    local mirror start
    start=$(date +%s)
    mirror="$(read_mirror)"
    log "building Debian $SUITE chroot in $CHROOT_DIR (mirror from host apt sources)"
    export DEBIAN_FRONTEND=noninteractive
    if ! command -v debootstrap >/dev/null 2>&1; then
        apt-get update
        apt-get install -y debootstrap
    fi
    trap unmount_all EXIT
    unmount_all
    if [[ ! -x "$CHROOT_DIR/usr/bin/apt-get" || ! -f "$CHROOT_DIR/.offline-auth-debootstrap-done" ]]; then
        # A half-finished debootstrap cannot be resumed reliably: start over.
        if [[ -e "$CHROOT_DIR" ]]; then
            log "removing incomplete chroot $CHROOT_DIR"
            rm -rf --one-file-system "$CHROOT_DIR"
        fi
        mkdir -p "$CHROOT_DIR"
        debootstrap --variant=minbase "$SUITE" "$CHROOT_DIR" "$mirror"
        touch "$CHROOT_DIR/.offline-auth-debootstrap-done"
    fi
    chroot_exec apt-get update
    chroot_exec apt-get install -y swiftlang
    chroot_exec apt-get clean
    mkdir -p "$CHROOT_DIR/repo"
    chroot_exec swift --version
    touch "$DONE_MARKER"
    unmount_all
    trap - EXIT
    log "chroot ready in $(( $(date +%s) - start )) s"
}

# run <dir-in-repo> <command...>
# The command runs as a child in its own process group that this script waits
# for, so that INT/TERM reach the trap at once: the group is stopped, then
# everything unmounted.
# (Its stdin is /dev/null: the tests need none.)
run() {
    [[ $# -ge 2 ]] || die "usage: $0 run <dir-in-repo> <command...>"
    local dir="$1"; shift
    [[ -d "$REPO_ROOT/$dir" ]] || die "no such directory in repo: $dir"
    ensure
    child=""
    trap unmount_all EXIT
    trap 'on_signal 130' INT
    trap 'on_signal 143' TERM
    mkdir -p "$CHROOT_DIR/repo"
    mountpoint -q "$CHROOT_DIR/repo" || mount --bind "$REPO_ROOT" "$CHROOT_DIR/repo"
    mount_basic
    local rc=0
    env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
        LANG=C.UTF-8 TERM="${TERM:-dumb}" \
        setsid chroot "$CHROOT_DIR" /bin/sh -c 'cd "/repo/$1" && shift && exec "$@"' sh "$dir" "$@" </dev/null 9>&- &
    child=$!
    wait "$child" || rc=$?
    child=""
    unmount_all
    trap - EXIT INT TERM
    return "$rc"
}

on_signal() {
    if [[ -n "${child:-}" ]]; then
        log "signal: stopping the command in the chroot"
        # setsid made $child the leader of its own process group (setsid,
        # chroot and sh exec in turn): signal the group, i.e. the command and
        # everything it started (swift-build, the test runner, ...).
        kill -TERM -- "-$child" 2>/dev/null || true
        # Up to 5 s for the command to exit (a zombie counts as exited).
        local _state
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            _state="$(sed -E 's/^.*\) ([A-Za-z]).*$/\1/' "/proc/$child/stat" 2>/dev/null || echo Z)"
            [[ "$_state" == Z ]] && break
            sleep 0.5
        done
        kill -KILL -- "-$child" 2>/dev/null || true
        wait "$child" 2>/dev/null || true
    fi
    exit "$1"
}

# One user of the chroot at a time: concurrent runs would unmount each
# other's /repo and /proc, and two builds would clobber each other.
take_lock() {
    mkdir -p "$(dirname "$CHROOT_DIR")"
    exec 9>"$CHROOT_DIR.lock"
    if ! flock -n 9; then
        log "waiting for another user of $CHROOT_DIR to finish"
        flock 9
    fi
}

cmd="${1:-ensure}"
[[ $# -gt 0 ]] && shift
case "$cmd" in
    ensure) take_lock; ensure ;;
    run) take_lock; run "$@" ;;
    mirror) read_mirror ;;
    path) printf '%s\n' "$CHROOT_DIR" ;;
    *) die "unknown subcommand: $cmd (ensure|run|mirror|path)" ;;
esac
