#!/usr/bin/env python3
"""The README's examples are tested code, word for word.

    python3 scripts/check-readme-examples.py [README ...]   (default: the project's and each Python package's)

A fenced block right after a line `<!-- example: PATH -->` must equal the
lines between the `readme:start` and `readme:end` marker comments of PATH (a
test file that CI compiles or runs in its own section), and every file that
carries those markers must be shown by the README. The region must be the
whole file but a header of comments, blank lines and a package line: so the
file that CI compiles is the README's block as a file of its own, and the
block names every import it needs. Exits non-zero, naming the first
differing line, otherwise.
"""
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
MARKER = re.compile(r"^<!-- example: (\S+) -->$")
# What may stand outside a region: comments, blank lines, a package line.
HEADER = re.compile(r"^\s*($|//|#|/\*|\*|package\s)")


def region(path):
    lines = (ROOT / path).read_text(encoding="utf-8").splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip().endswith("readme:start")]
    ends = [i for i, line in enumerate(lines) if line.strip().endswith("readme:end")]
    if len(starts) != 1 or len(ends) != 1 or ends[0] <= starts[0]:
        sys.exit(f"{path}: needs exactly one readme:start ... readme:end region")
    outside = [(i, line) for i, line in enumerate(lines) if not starts[0] <= i <= ends[0]]
    code = [(i, line) for i, line in outside if not HEADER.match(line)]
    if code:
        i, line = code[0]
        sys.exit(f"{path}:{i + 1}: code outside the readme region ({line.strip()!r}): the region must be "
                 "the whole file, so that the README's block compiles as a file of its own")
    return lines[starts[0] + 1:ends[0]]


def readme_examples(readme):
    lines = readme.read_text(encoding="utf-8").splitlines()
    examples = {}
    for i, line in enumerate(lines):
        match = MARKER.match(line.strip())
        if not match:
            continue
        if i + 1 >= len(lines) or not lines[i + 1].startswith("```"):
            sys.exit(f"{readme.name}:{i + 1}: the example marker must be followed by a fenced block")
        end = next((j for j in range(i + 2, len(lines)) if lines[j].startswith("```")), None)
        if end is None:
            sys.exit(f"{readme.name}:{i + 2}: unterminated code block")
        examples[match.group(1)] = (i + 3, lines[i + 2:end])
    return examples


# The READMEs whose examples are tested: the project's and each Python
# package's (the long description a package index shows).
READMES = ["README.md", "platforms/python/offline-auth/README.md", "platforms/python/offline-auth-backend/README.md"]


def main():
    readmes = [pathlib.Path(a) for a in sys.argv[1:]] or [ROOT / r for r in READMES]
    failures = 0
    shown_anywhere = set()
    for readme in readmes:
        examples = readme_examples(readme)
        if not examples:
            sys.exit(f"{readme}: no <!-- example: PATH --> blocks")
        for path, (first_line, shown) in examples.items():
            shown_anywhere.add(path)
            tested = region(path)
            if shown != tested:
                failures += 1
                at = next((k for k, (a, b) in enumerate(zip(shown, tested)) if a != b), min(len(shown), len(tested)))
                print(f"{readme}:{first_line + at}: differs from {path}:\n"
                      f"  README: {shown[at] if at < len(shown) else '<end>'}\n"
                      f"  tested: {tested[at] if at < len(tested) else '<end>'}")
            else:
                print(f"ok: {readme.name if readme.parent == ROOT else readme.relative_to(ROOT)}: {path} ({len(shown)} lines)")
    tracked = subprocess.run(["git", "grep", "-l", "readme:start", "--", ":!scripts/check-readme-examples.py"],
                             cwd=ROOT, capture_output=True, text=True).stdout.split()
    for path in sorted(set(tracked) - shown_anywhere):
        failures += 1
        print(f"{path}: has a readme region that no README shows")
    if failures:
        sys.exit(f"{failures} README example(s) out of step with their tests")


if __name__ == "__main__":
    main()
