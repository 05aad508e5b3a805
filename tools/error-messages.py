#!/usr/bin/env python3
"""Make every foreign exception carry the Rust error's message.

    tools/error-messages.py LANG FILE      (LANG: kotlin | swift)

Our error enums export their Rust `Display` through UniFFI
(`#[uniffi::export(Display)]`), but UniFFI 0.32 wires it into only part of
each language's error API: Kotlin gets `toString()` while `message` stays a
`field=value` list (or empty), Swift gets a `description` property without
declaring `CustomStringConvertible` (so `localizedDescription` and
`"\\(error)"` print the case name). tools/generate-bindings.sh runs this on
each generated Kotlin and Swift file, in place, for the error types that
export `Display` (and only those):

  kotlin  each variant's `message` returns the Rust message (`toString()`);
  swift   the error enum declares `CustomStringConvertible`, so `description`,
          `localizedDescription` and string interpolation carry the message.

Python ignores it too (`str(e)` is empty or `reason='...'`); the Python
packages fix that when they are imported, in their own source
(platforms/python/*/python/*/_error_messages.py), because maturin writes
their module from a source install without running this script.

The typed fields stay as UniFFI made them. Every edit is checked: if UniFFI's
output changes shape, this fails instead of producing half-adapted bindings.
"""
import re
import sys


def fail(message):
    sys.exit(f"error-messages.py: {message}")


def display_types(text, lang):
    """Names of the error types whose generated code calls a Display export."""
    names = set(m.group(1) for m in re.finditer(r"fn_method_(\w+?)_uniffi_trait_display", text))
    if lang == "kotlin":
        classes = re.findall(r"^(?:public )?sealed class (\w+)\s*:\s*kotlin\.Exception\(\)", text, re.M)
    else:
        classes = re.findall(r"^(?:public )?enum (\w+): Swift\.Error\b", text, re.M)
    # Kotlin renames FooError to FooException; the FFI symbol keeps "fooerror".
    def ffi_name(c):
        return c[: -len("Exception")].lower() + "error" if lang == "kotlin" and c.endswith("Exception") else c.lower()
    return [c for c in classes if ffi_name(c) in names]


def kotlin(text):
    changed = 0
    for name in display_types(text, "kotlin"):
        start = re.search(rf"^(?:public )?sealed class {name}\b", text, re.M).start()
        end = text.find("\n}\n", start)
        body = text[start:end]
        if "override fun toString(): String" not in body:
            fail(f"{name} exports Display but has no toString() override")
        new_body, n = re.subn(r"override val message\n(\s*)get\(\) = \"[^\n]*\"\n",
                              r"override val message: String\n\1get() = toString()\n", body)
        if n == 0 and "get() = toString()" not in body:
            fail(f"{name}: no variant `message` getter found")
        text = text[:start] + new_body + text[end:]
        changed += 1
    return text, changed


def swift(text):
    names = display_types(text, "swift")
    for name in names:
        if not re.search(rf"^extension {name}: CustomStringConvertible", text, re.M):
            text += f"\n// Added by tools/error-messages.py: `description` is the Rust message.\n" \
                    f"extension {name}: CustomStringConvertible {{}}\n"
    return text, len(names)


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("kotlin", "swift"):
        fail("usage: error-messages.py kotlin|swift FILE")
    lang, path = sys.argv[1], sys.argv[2]
    with open(path, encoding="utf-8") as f:
        text = f.read()
    text, count = {"kotlin": kotlin, "swift": swift}[lang](text)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"error-messages.py: {count} error type(s) carry the Rust message in {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
