#!/usr/bin/env bash
# One version for every artifact. The single source is `[workspace.package]
# version` in the root Cargo.toml; this check fails naming each place that
# says otherwise:
#   - every crate of the workspace (version.workspace = true, or the same literal)
#     and the path dependencies' `version` in [workspace.dependencies];
#   - every pom.xml under platforms/ and demos/: the project version, the parent
#     version and any dev.offlineauth dependency version;
#   - the Python packages' pyproject.toml (a literal version, or `dynamic`,
#     which maturin fills from the crate its [tool.maturin] manifest-path
#     names: that crate must inherit the workspace version);
#   - Gradle files under platforms/ declaring `version = "..."`, and a
#     VERSION file or Package.swift version constant if present;
#   - CHANGELOG.md has a `## [<version>]` section.
# Maven development builds may carry `-SNAPSHOT` after the Cargo version;
# `--release` demands the exact Cargo version everywhere (run it before tagging).
set -euo pipefail
cd "$(dirname "$0")/.."
release=0
[ "${1:-}" = "--release" ] && release=1
python3 - "$release" <<'PY'
import pathlib, re, sys, tomllib, xml.etree.ElementTree as ET
release = sys.argv[1] == "1"
root = pathlib.Path(".")
cargo = tomllib.loads((root / "Cargo.toml").read_text())
version = cargo["workspace"]["package"]["version"]
bad = []

def check(where, found, maven=False):
    ok = found == version or (maven and not release and found == version + "-SNAPSHOT")
    if not ok:
        bad.append(f"{where}: {found!r} (Cargo.toml says {version!r})")

for name, dep in cargo["workspace"].get("dependencies", {}).items():
    if isinstance(dep, dict) and "path" in dep and "version" in dep:
        check(f"Cargo.toml [workspace.dependencies] {name}", dep["version"])
for manifest in sorted(root.glob("crates/*/Cargo.toml")):
    pkg = tomllib.loads(manifest.read_text())["package"]
    v = pkg.get("version")
    if v != {"workspace": True}:
        check(str(manifest), v)

ns = {"m": "http://maven.apache.org/POM/4.0.0"}
for pom in sorted(list(root.glob("platforms/**/pom.xml")) + list(root.glob("demos/**/pom.xml"))):
    if "target" in pom.parts or "node_modules" in pom.parts:
        continue
    p = ET.parse(pom).getroot()
    own = p.find("m:version", ns)
    group = p.find("m:groupId", ns)
    parent = p.find("m:parent", ns)
    if parent is not None and parent.findtext("m:groupId", namespaces=ns) == "dev.offlineauth":
        check(f"{pom} <parent>", parent.findtext("m:version", namespaces=ns), maven=True)
    pgroup = group.text if group is not None else (parent.findtext("m:groupId", namespaces=ns) if parent is not None else "")
    if own is not None and pgroup == "dev.offlineauth":
        check(f"{pom} <version>", own.text, maven=True)
    for dep in p.iter("{http://maven.apache.org/POM/4.0.0}dependency"):
        if dep.findtext("m:groupId", namespaces=ns) == "dev.offlineauth":
            v = dep.findtext("m:version", namespaces=ns)
            if v is not None and not v.startswith("${"):
                check(f"{pom} dependency {dep.findtext('m:artifactId', namespaces=ns)}", v, maven=True)

for pyproject in sorted(root.glob("platforms/python/*/pyproject.toml")):
    proj = tomllib.loads(pyproject.read_text()).get("project", {})
    if "version" in proj:
        check(str(pyproject), proj["version"])
    elif "version" not in proj.get("dynamic", []):
        bad.append(f"{pyproject}: neither a version nor a dynamic one")
    else:
        # maturin takes a dynamic version from the crate its manifest-path names.
        manifest = tomllib.loads(pyproject.read_text()).get("tool", {}).get("maturin", {}).get("manifest-path")
        crate = (pyproject.parent / manifest).resolve() if manifest else None
        if crate is None or not crate.is_file():
            bad.append(f"{pyproject}: dynamic version, but [tool.maturin] manifest-path names no Cargo.toml")
        else:
            v = tomllib.loads(crate.read_text())["package"].get("version")
            if v != {"workspace": True}:
                check(f"{pyproject} (via {manifest})", v)

for gradle in sorted(root.glob("platforms/**/*.gradle*")):
    for m in re.finditer(r'^\s*version\s*=\s*"([^"]+)"', gradle.read_text(), re.M):
        check(str(gradle), m.group(1), maven=True)
# The Swift package's release constants (platforms/apple/release.sh writes them).
swift_manifest = (root / "Package.swift").read_text()
for name in ("releaseVersion",):
    m = re.search(rf'^let {name} = "([^"]+)"', swift_manifest, re.M)
    if m is None:
        bad.append(f"Package.swift: no `let {name}`")
    else:
        check(f"Package.swift {name}", m.group(1))
m = re.search(r'^let releaseURL = "[^"]*/download/v([^/"]+)/', swift_manifest, re.M)
if m is not None:
    check("Package.swift releaseURL", m.group(1))
for f in [root / "VERSION", root / "platforms/apple/VERSION"]:
    if f.exists():
        check(str(f), f.read_text().strip())

# The CHANGELOG has a section for this version (a release is described
# before it is tagged).
if not re.search(rf"^## \[{re.escape(version)}\]", (root / "CHANGELOG.md").read_text(), re.M):
    bad.append(f"CHANGELOG.md: no '## [{version}]' release section")

if bad:
    print("versions differ from the workspace version:")
    print("\n".join("  " + b for b in bad))
    sys.exit(1)
print(f"ok: every artifact is at {version}" + ("" if release else " (Maven may add -SNAPSHOT)"))
PY
