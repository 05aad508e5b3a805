#!/usr/bin/env bash
# A javadoc jar is documentation, not a placeholder: it has an index.html and
# a page per class of the module's package (Dokka's Javadoc format writes
# PACKAGE/ClassName.html), at least MIN_CLASS_PAGES of them.
#
#   check-javadoc-jar.sh JAR PACKAGE_PATH    e.g. ...-javadoc.jar dev/offlineauth/backend
#   check-javadoc-jar.sh --self-test         rejects a placeholder jar, accepts a documented one
#
# build-release-jars.sh runs it on each module's javadoc jar; the jvm-release
# section runs the self-test first.
set -euo pipefail
MIN_CLASS_PAGES=10

check() {
    local jar="$1" pkg="$2" listing pages
    [[ -f "$jar" ]] || { echo "FAIL $jar: missing"; return 1; }
    listing="$(python3 -c 'import sys, zipfile; print("\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))' "$jar")" ||
        { echo "FAIL $jar: not a jar"; return 1; }
    grep -qx 'index.html' <<<"$listing" || { echo "FAIL $jar: no index.html"; return 1; }
    pages="$(grep -cE "^${pkg}/[A-Z][^/]*\.html$" <<<"$listing" || true)"
    if (( pages < MIN_CLASS_PAGES )); then
        echo "FAIL $jar: $pages class pages under $pkg/ (a placeholder? at least $MIN_CLASS_PAGES expected)"
        return 1
    fi
    echo "ok   $jar: index.html and $pages class pages under $pkg/"
}

self_test() {
    local work status=0
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' RETURN
    mkdir -p "$work/placeholder" "$work/real/dev/offlineauth/backend"
    echo '<html><body>See the sources jar.</body></html>' > "$work/placeholder/index.html"
    cp "$work/placeholder/index.html" "$work/real/index.html"
    for c in GrantIssuer SyncVerifier SyncCursor IssuerKey GrantInfo VerifiedBatch BackendException \
             OfflineAuthBackend JavaGrantSigner JavaServerClock; do
        echo "<html><body>$c</body></html>" > "$work/real/dev/offlineauth/backend/$c.html"
    done
    for kind in placeholder real; do
        (cd "$work/$kind" && python3 -m zipfile -c "$work/$kind-javadoc.jar" .)
    done
    if check "$work/placeholder-javadoc.jar" dev/offlineauth/backend >/dev/null; then
        echo "FAIL self-test: a placeholder javadoc jar was accepted"; status=1
    fi
    check "$work/real-javadoc.jar" dev/offlineauth/backend >/dev/null ||
        { echo "FAIL self-test: a documented javadoc jar was refused"; status=1; }
    [[ $status -eq 0 ]] && echo "javadoc jar check: rejects a placeholder, accepts class pages"
    return "$status"
}

if [[ "${1:-}" == --self-test ]]; then
    self_test
else
    check "${1:?usage: check-javadoc-jar.sh JAR PACKAGE_PATH | --self-test}" "${2:?package path, e.g. dev/offlineauth/backend}"
fi
