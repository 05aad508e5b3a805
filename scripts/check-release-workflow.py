#!/usr/bin/env python3
"""The hosted release workflow has the shape docs/RELEASING.md promises.

It cannot run here (no hosted runners), so this reads it: every workflow file
parses as YAML; .github/workflows/release.yml is started by hand with a
version (and `publish`, false by default); it builds the macOS and Windows
natives on their hosts, the packages, the AAR and the XCFramework (android.yml
and apple.yml, which must be callable), all gated on the checks; the SwiftPM
job writes the checksum, checks it and tags; only the publish job, behind
`publish` and the `release` environment, may write to the repository; every
script a step runs exists.

    scripts/check-release-workflow.py              check the repository's workflows
    scripts/check-release-workflow.py --self-test  the check fails on broken copies

(actionlint, run beside it in the versions section, checks the syntax and the
expressions; this checks what the release needs.)
"""
import copy
import pathlib
import re
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"


def triggers(workflow):
    # YAML 1.1 reads the key `on` as the boolean true.
    return workflow.get("on", workflow.get(True)) or {}


def needs(job):
    n = job.get("needs", [])
    return [n] if isinstance(n, str) else list(n)


def closure(jobs, name):
    seen, todo = set(), [name]
    while todo:
        for dep in needs(jobs.get(todo.pop(), {})):
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return seen


def runs(job):
    return "\n".join(step.get("run", "") for step in job.get("steps", []))


def check(release, callable_workflows):
    bad = []
    on = triggers(release)
    inputs = (on.get("workflow_dispatch") or {}).get("inputs", {})
    if set(on) != {"workflow_dispatch"}:
        bad.append(f"release.yml must start by hand only (workflow_dispatch), not on {sorted(map(str, on))}")
    if not inputs.get("version", {}).get("required"):
        bad.append("release.yml: input `version` must be required")
    publish_input = inputs.get("publish", {})
    if publish_input.get("type") != "boolean" or publish_input.get("default") is not False:
        bad.append("release.yml: input `publish` must be a boolean, false by default")
    if (release.get("permissions") or {}).get("contents") != "read":
        bad.append("release.yml: the workflow's token must be read-only (permissions: contents: read)")

    jobs = release.get("jobs", {})
    want = ["checks", "android", "apple", "natives-macos", "natives-windows", "packages", "swiftpm", "publish"]
    for name in want:
        if name not in jobs:
            bad.append(f"release.yml: no job `{name}`")
    if bad:
        return bad
    for name, workflow in (("android", "android.yml"), ("apple", "apple.yml")):
        if jobs[name].get("uses") != f"./.github/workflows/{workflow}":
            bad.append(f"release.yml: job {name} must call ./.github/workflows/{workflow}")
        if "workflow_call" not in triggers(callable_workflows[workflow]):
            bad.append(f"{workflow} has no workflow_call trigger: release.yml cannot call it")
    if not str(jobs["natives-macos"].get("runs-on", "")).startswith("macos"):
        bad.append("release.yml: natives-macos must run on a macOS runner")
    if not str(jobs["natives-windows"].get("runs-on", "")).startswith("windows"):
        bad.append("release.yml: natives-windows must run on a Windows runner")
    for name in ("packages", "swiftpm", "publish"):
        if "checks" not in closure(jobs, name):
            bad.append(f"release.yml: job {name} is not gated on `checks`")
    for dep in ("natives-macos", "natives-windows"):
        if dep not in closure(jobs, "packages"):
            bad.append(f"release.yml: packages does not wait for {dep}")
    for dep in ("android", "apple", "packages", "swiftpm"):
        if dep not in closure(jobs, "publish"):
            bad.append(f"release.yml: publish does not wait for {dep}")
    publish = jobs["publish"]
    if "inputs.publish" not in str(publish.get("if", "")):
        bad.append("release.yml: the publish job must run only when `publish` is asked for")
    if publish.get("environment") != "release":
        bad.append("release.yml: the publish job must run in the `release` environment")
    for name, job in jobs.items():
        if name != "publish" and (job.get("permissions") or {}).get("contents") == "write":
            bad.append(f"release.yml: only the publish job may write to the repository, not {name}")
        if "uses" not in job and "timeout-minutes" not in job:
            bad.append(f"release.yml: job {name} has no timeout-minutes")

    expected_steps = {
        "checks": [r"bash \.ci/run"],
        "natives-macos": [r"aarch64-apple-darwin", r"x86_64-apple-darwin", r"darwin-aarch64", r"darwin-x86-64"],
        "natives-windows": [r"x86_64-pc-windows-msvc", r"win32-x86-64"],
        "packages": [r"scripts/build-release-natives\.sh --from", r"platforms/jvm/build-release-jars\.sh",
                     r"maturin sdist", r"cargo publish --workspace --dry-run"],
        "swiftpm": [r"platforms/apple/release\.sh --skip-build", r"scripts/check-release-checksum\.sh",
                    r"git tag -a \"v\$VERSION\""],
        "publish": [r"git push origin \"v\$VERSION\"", r"cargo publish --workspace --locked"],
    }
    for name, patterns in expected_steps.items():
        text = runs(jobs[name])
        for pattern in patterns:
            if not re.search(pattern, text):
                bad.append(f"release.yml: job {name} has no step matching {pattern!r}")
    # Every script a step runs is in the repository.
    for name, job in jobs.items():
        for path in re.findall(r"\bbash ((?:\.ci|scripts|platforms|tools|\.github)/[\w./-]+)", runs(job)):
            if not (ROOT / path).is_file():
                bad.append(f"release.yml: job {name} runs {path}, which does not exist")
    return bad


def load():
    workflows = {}
    for path in sorted(WORKFLOWS.glob("*.yml")):
        with open(path) as f:
            workflows[path.name] = yaml.safe_load(f)
    return workflows


def self_test(workflows):
    breakages = {
        "packages not gated on checks": lambda r, w: r["jobs"]["packages"].update(needs=["natives-macos", "natives-windows"]),
        "publish without its condition": lambda r, w: r["jobs"]["publish"].pop("if"),
        "a job that writes besides publish": lambda r, w: r["jobs"]["swiftpm"].update(permissions={"contents": "write"}),
        "apple.yml not callable": lambda r, w: triggers(w["apple.yml"]).pop("workflow_call"),
        "no checksum check in swiftpm": lambda r, w: r["jobs"]["swiftpm"].update(steps=[]),
        "a missing script": lambda r, w: r["jobs"]["checks"]["steps"].append({"run": "bash scripts/no-such-script.sh"}),
        "released on every push": lambda r, w: triggers(r).update(push={}),
    }
    failures = 0
    if check(workflows["release.yml"], workflows):
        print("FAIL self-test: the repository's release.yml itself does not pass")
        return 1
    for what, breakage in breakages.items():
        broken = copy.deepcopy(workflows)
        breakage(broken["release.yml"], broken)
        problems = check(broken["release.yml"], broken)
        if problems:
            print(f"ok   {what}: refused ({problems[0]})")
        else:
            print(f"FAIL {what}: the check passed a broken workflow")
            failures += 1
    if failures == 0:
        print(f"self-test: every one of {len(breakages)} broken copies refused")
    return 1 if failures else 0


def main():
    workflows = load()
    if "release.yml" not in workflows:
        print("FAIL no .github/workflows/release.yml")
        return 1
    if sys.argv[1:] == ["--self-test"]:
        return self_test(workflows)
    problems = check(workflows["release.yml"], workflows)
    for p in problems:
        print("FAIL " + p)
    if not problems:
        print(f"ok   {len(workflows)} workflows parse; release.yml: {len(workflows['release.yml']['jobs'])} jobs, "
              "gated on the checks, publishing only when asked")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
