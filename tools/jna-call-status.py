#!/usr/bin/env python3
"""Pass the Rust call status to JNA as an address, not as a `Structure`.

    tools/jna-call-status.py FILE      (a UniFFI 0.32 Kotlin file)

UniFFI's Kotlin allocates a `UniffiRustCallStatus` (a JNA `Structure`, with
its native memory and a nested `RustBuffer` structure) for every crossing
and passes it to a direct-mapped `external fun`, so JNA writes it before
and reads it back after every call by reflection. On a trivial method (two
crossings: clone the handle, then the method) that is most of the cost
(issue 16, benches/notes.md). This rewrite, run by tools/generate-bindings.sh
after error-messages.py:

  - declares the status parameter of every `external fun` as `Long` (the
    status's native address: JNA's primitive-only direct-mapping path);
  - makes `uniffiRustCallWithError` take a status kept per thread and call
    depth (a call made while another is under way on the thread -- the
    `RustBuffer.alloc` that lowers an argument, a call from a callback --
    takes the next one; issue 28: one fresh status per nested alloc was most
    of a `get`'s remaining Kotlin cost), pass its address, and read the
    `Structure` back only when the code byte is not success: Rust leaves the
    status untouched on success, and the error path (read, lift, throw) is
    UniFFI's own `uniffiCheckCallStatus`;
  - types the async `completeFunc` accordingly.

Callbacks from Rust (callback interfaces, futures) keep their `Structure`
status. Every edit is checked: if UniFFI's output changes shape, this fails
(and the bindings do not compile half-adapted), instead of guessing.
"""
import re
import sys

MARK = "// Rewritten by tools/jna-call-status.py"

OLD_CALL = """private inline fun <U, E: kotlin.Exception> uniffiRustCallWithError(errorHandler: UniffiRustCallStatusErrorHandler<E>, callback: (UniffiRustCallStatus) -> U): U {
    var status = UniffiRustCallStatus()
    val return_value = callback(status)
    uniffiCheckCallStatus(errorHandler, status)
    return return_value
}
"""

NEW_CALL = MARK + """: the status is a native buffer per
// thread and call depth, passed by address; its Structure is read only when a
// call failed.
private class UniffiCallStatusSlot {
    @JvmField var statuses = arrayOfNulls<UniffiRustCallStatus>(4)
    @JvmField var depth = 0
}

private val uniffiCallStatusSlot = object : ThreadLocal<UniffiCallStatusSlot>() {
    override fun initialValue() = UniffiCallStatusSlot()
}

private inline fun <U, E: kotlin.Exception> uniffiRustCallWithError(errorHandler: UniffiRustCallStatusErrorHandler<E>, callback: (Long) -> U): U {
    val slot = uniffiCallStatusSlot.get()
    // One status per depth: a call made while this one is under way on this
    // thread (an argument's RustBuffer.alloc, a call from a callback, the
    // error path's RustBuffer.free) takes the next one. Each one's code byte
    // is success (0) whenever it is not in use. Nothing suspends in between
    // (uniffiRustCallAsync suspends outside this call).
    val depth = slot.depth
    if (depth == slot.statuses.size) slot.statuses = slot.statuses.copyOf(depth * 2)
    val status = slot.statuses[depth] ?: UniffiRustCallStatus().also { it.write(); slot.statuses[depth] = it }
    slot.depth = depth + 1
    try {
        val return_value = callback(Pointer.nativeValue(status.pointer))
        if (status.pointer.getByte(0) != UNIFFI_CALL_SUCCESS) {
            status.read()
            status.pointer.setByte(0, UNIFFI_CALL_SUCCESS)
            uniffiCheckCallStatus(errorHandler, status)
        }
        return return_value
    } finally {
        slot.depth = depth
    }
}
"""

EDITS = [
    # (old, new, required)
    ("private inline fun <U> uniffiRustCall(callback: (UniffiRustCallStatus) -> U): U {",
     "private inline fun <U> uniffiRustCall(callback: (Long) -> U): U {", True),
    ("    completeFunc: (Long, UniffiRustCallStatus) -> F,",
     "    completeFunc: (Long, Long) -> F,", False),
]


def fail(message):
    sys.exit(f"jna-call-status.py: {message}")


def rewrite(text):
    if MARK in text:
        return text, 0
    if text.count(OLD_CALL) != 1:
        fail("uniffiRustCallWithError is not the UniFFI 0.32 one (update this script)")
    text = text.replace(OLD_CALL, NEW_CALL)
    for old, new, required in EDITS:
        n = text.count(old)
        if n > 1 or (required and n == 0):
            fail(f"expected {'one' if required else 'at most one'} `{old.strip()}`, found {n}")
        text = text.replace(old, new)
    if "uniffiRustCallAsync(" in text and "completeFunc: (Long, Long) -> F," not in text:
        fail("async helper found but its completeFunc was not retyped")
    # The status parameter of every direct-mapped declaration.
    param = "uniffi_out_err: UniffiRustCallStatus"
    total = text.count(param)
    text, n = re.subn(r"(\bexternal fun \w+\([^()]*?)\buniffi_out_err: UniffiRustCallStatus\b", r"\1uniffi_out_err: Long", text)
    if n == 0 or n != total:
        fail(f"{total} status parameters, {n} of them in `external fun` declarations")
    if not re.search(r"^import com\.sun\.jna\.Pointer$", text, re.M):
        fail("com.sun.jna.Pointer is not imported")
    return text, n


def main():
    if len(sys.argv) != 2:
        fail("usage: jna-call-status.py FILE")
    path = sys.argv[1]
    with open(path, encoding="utf-8") as f:
        text = f.read()
    text, n = rewrite(text)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"jna-call-status.py: {n} FFI declaration(s) take the call status by address in {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
