#!/usr/bin/env python3
"""Back UniFFI's `RustBuffer.ByValue` with per-thread native slots, not a JNA `Memory` each.

    tools/jna-rust-buffer.py FILE      (a UniFFI 0.32 Kotlin file)

A `RustBuffer` (capacity, len, data: 24 bytes) crosses the FFI by value, so
the generated declarations must keep `RustBuffer.ByValue` (JNA's libffi
then follows each ABI's rules for a 24-byte struct, which differ: on the
stack on x86-64, by a pointer to a copy on arm64, ...). What costs is
around it: UniFFI 0.32's Kotlin gets one such `Structure` per argument
(from `ffi_*_rustbuffer_alloc`) and per result, and JNA builds each with its
own native `Memory` (malloc, JNA's global memory map, its Cleaner thread)
and writes and reads the three fields by reflection: ~70% of a 256-B `get`
from Kotlin (issue 28, benches/ffi_jvm JnaBuffers.kt). This rewrite, run
by tools/generate-bindings.sh after jna-call-status.py:

  - makes `RustBuffer.ByValue` take its native memory from a ring of
    24-byte slots kept per thread (`UniffiRustBufferSlots`, 256 slots): no
    allocation, nothing for a Cleaner. JNA builds a returned struct through
    the public `(Pointer)` constructor, which copies the 24 bytes it got into
    a fresh slot (a callback's argument JNA builds with the no-argument
    constructor, copies into the struct's memory, here a slot, and reads);
  - writes and reads the three fields with three direct Pointer accesses
    (`autoWrite`, which JNA calls just before passing the struct, and
    `autoRead`, just after building it) instead of reflection;
  - checks, in both, that the slot is still the struct's: used on another
    thread, or after 256 newer ones on its thread (the generated code uses
    each struct right after making it), it throws instead of passing another
    struct's bytes. A struct nested in another (a call status's error_buf) is
    written and read by its parent, as before;
  - sets `len` as a field where the generated code wrote it with
    `writeField` (the slot is written when the struct is passed).

Which buffers are allocated and freed, and by whom, is unchanged: Rust
allocates every `RustBuffer` and frees it once, as the generated code says.
Every edit is checked: if UniFFI's output changes shape, this fails (and the
bindings do not compile half-adapted), instead of guessing.
"""
import sys

MARK = "// Rewritten by tools/jna-rust-buffer.py"

OLD_CLASS = """@Structure.FieldOrder("capacity", "len", "data")
open class RustBuffer : Structure() {
    // Note: `capacity` and `len` are actually `ULong` values, but JVM only supports signed values.
    // When dealing with these fields, make sure to call `toULong()`.
    @JvmField var capacity: Long = 0
    @JvmField var len: Long = 0
    @JvmField var data: Pointer? = null

    class ByValue: RustBuffer(), Structure.ByValue
    class ByReference: RustBuffer(), Structure.ByReference
"""

NEW_CLASS = MARK + """: a RustBuffer.ByValue lives in a slot of a
// per-thread ring of native memory (no Memory, no Cleaner per struct) and
// JNA writes and reads its fields directly, not by reflection.
internal class UniffiRustBufferSlots private constructor() {
    private val memory = com.sun.jna.Memory(SLOTS * SLOT_SIZE)
    private val base = Pointer.nativeValue(memory)
    private val owner = Thread.currentThread()
    // Slots handed out on this thread so far; slot (n % SLOTS) is the n-th's.
    @JvmField var taken = 0L

    fun take(copyFrom: Pointer?): Pointer {
        val slot = memory.share((taken % SLOTS) * SLOT_SIZE, SLOT_SIZE)
        taken += 1
        // JNA passes address 0 when it builds a struct only for its layout.
        if (copyFrom != null && Pointer.nativeValue(copyFrom) != 0L) {
            slot.setLong(0, copyFrom.getLong(0))
            slot.setLong(8, copyFrom.getLong(8))
            slot.setPointer(16, copyFrom.getPointer(16))
        }
        return slot
    }

    // Fails where the slot may hold another struct's bytes: used on another
    // thread, or after SLOTS newer structs on this one.
    fun check(ticket: Long, address: Long) {
        if (Thread.currentThread() !== owner || taken - ticket > SLOTS || address != base + (ticket % SLOTS) * SLOT_SIZE) {
            throw IllegalStateException("RustBuffer used on another thread or after its slot was reused (tools/jna-rust-buffer.py)")
        }
    }

    companion object {
        const val SLOTS = 256L
        // capacity: u64 at 0, len: u64 at 8, data: a pointer at 16 (20 or 24 bytes).
        const val SLOT_SIZE = 24L
        private val local = object : ThreadLocal<UniffiRustBufferSlots>() {
            override fun initialValue() = UniffiRustBufferSlots()
        }
        fun get(): UniffiRustBufferSlots = local.get()
    }
}

@Structure.FieldOrder("capacity", "len", "data")
open class RustBuffer : Structure {
    constructor() : super()
    protected constructor(memory: Pointer) : super(memory)

    // Note: `capacity` and `len` are actually `ULong` values, but JVM only supports signed values.
    // When dealing with these fields, make sure to call `toULong()`.
    @JvmField var capacity: Long = 0
    @JvmField var len: Long = 0
    @JvmField var data: Pointer? = null

    class ByValue private constructor(private val slots: UniffiRustBufferSlots, copyFrom: Pointer?) : RustBuffer(slots.take(copyFrom)), Structure.ByValue {
        private val ticket = slots.taken - 1
        private val slotAddress = Pointer.nativeValue(pointer)

        constructor() : this(UniffiRustBufferSlots.get(), null)
        // JNA builds a returned struct through this one (by reflection: the
        // library's consumer rules keep it), with the memory the native code
        // left it in; a callback's argument through the one above.
        constructor(memory: Pointer) : this(UniffiRustBufferSlots.get(), memory)

        override fun autoWrite() {
            val m = pointer
            if (Pointer.nativeValue(m) == slotAddress) slots.check(ticket, slotAddress)
            m.setLong(0, capacity)
            m.setLong(8, len)
            m.setPointer(16, data)
        }

        override fun autoRead() {
            val m = pointer
            if (Pointer.nativeValue(m) == slotAddress) slots.check(ticket, slotAddress)
            capacity = m.getLong(0)
            len = m.getLong(8)
            data = m.getPointer(16)
        }
    }
    class ByReference: RustBuffer(), Structure.ByReference
"""

EDITS = [
    # (old, new): each must occur exactly once.
    ('            rbuf.writeField("len", bbuf.position().toLong())\n',
     '            rbuf.len = bbuf.position().toLong()\n'),
]


def fail(message):
    sys.exit(f"jna-rust-buffer.py: {message}")


def rewrite(text):
    if MARK in text:
        return text
    if text.count(OLD_CLASS) != 1:
        fail("RustBuffer is not the UniFFI 0.32 class (update this script)")
    text = text.replace(OLD_CLASS, NEW_CLASS)
    for old, new in EDITS:
        n = text.count(old)
        if n != 1:
            fail(f"expected one `{old.strip()}`, found {n}")
        text = text.replace(old, new)
    # Anything else that would read or write a struct's memory by name, or
    # move it, is new generated code this script has not been checked against.
    for call in ("writeField(", "readField(", "useMemory("):
        if call in text:
            fail(f"generated code calls {call}...) (check it against the slot rules of this script)")
    if "import com.sun.jna.Pointer\n" not in text or "import com.sun.jna.Structure\n" not in text:
        fail("com.sun.jna.Pointer or com.sun.jna.Structure is not imported")
    return text


def main():
    if len(sys.argv) != 2:
        fail("usage: jna-rust-buffer.py FILE")
    path = sys.argv[1]
    with open(path, encoding="utf-8") as f:
        text = f.read()
    text = rewrite(text)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"jna-rust-buffer.py: RustBuffer.ByValue uses per-thread slots in {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
