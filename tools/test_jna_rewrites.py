#!/usr/bin/env python3
"""Unit tests of the Kotlin post-processors' refusals (scripts/test.sh, section jvm).

    python3 -m unittest discover -s tools -p 'test_*.py'

The JVM and Android suites run the rewritten bindings; these check what
they cannot: that a rewrite refuses, loudly, a UniFFI output whose shape it
was not written for, and that running it twice changes nothing.
"""
import importlib.util
import os
import sys
import unittest

# Loading the scripts as modules must leave no __pycache__ in the tree.
sys.dont_write_bytecode = True

HERE = os.path.dirname(os.path.abspath(__file__))


def load(name):
    spec = importlib.util.spec_from_file_location(name.replace("-", "_"), os.path.join(HERE, name))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


rust_buffer = load("jna-rust-buffer.py")
call_status = load("jna-call-status.py")

HEADER = "import com.sun.jna.Pointer\nimport com.sun.jna.Structure\n\n"
LOWER = """    fun lowerIntoRustBuffer(value: KotlinType): RustBuffer.ByValue {
            rbuf.writeField("len", bbuf.position().toLong())
    }
"""


class RustBufferRewrite(unittest.TestCase):
    def sample(self):
        return HEADER + rust_buffer.OLD_CLASS + "}\n" + LOWER

    def test_rewrites_the_class_and_the_len_write(self):
        out = rust_buffer.rewrite(self.sample())
        self.assertIn(rust_buffer.MARK, out)
        self.assertIn("class UniffiRustBufferSlots", out)
        self.assertIn("rbuf.len = bbuf.position().toLong()", out)
        self.assertNotIn("writeField(", out)

    def test_twice_is_once(self):
        once = rust_buffer.rewrite(self.sample())
        self.assertEqual(once, rust_buffer.rewrite(once))

    def test_refuses_another_rustbuffer_class(self):
        changed = self.sample().replace("@JvmField var len: Long = 0", "@JvmField var len: Long = 0L")
        with self.assertRaises(SystemExit):
            rust_buffer.rewrite(changed)

    def test_refuses_when_the_len_write_moved(self):
        with self.assertRaises(SystemExit):
            rust_buffer.rewrite(HEADER + rust_buffer.OLD_CLASS + "}\n")

    def test_refuses_other_code_touching_struct_memory(self):
        for call in ("writeField(", "readField(", "useMemory("):
            with self.subTest(call=call), self.assertRaises(SystemExit):
                rust_buffer.rewrite(self.sample() + f"    other.{call}\"x\")\n")


class CallStatusRewrite(unittest.TestCase):
    def sample(self):
        return (HEADER + call_status.OLD_CALL
                + "private inline fun <U> uniffiRustCall(callback: (UniffiRustCallStatus) -> U): U {\n}\n"
                + "    external fun f(`ptr`: Long,uniffi_out_err: UniffiRustCallStatus, \n    ): Long\n")

    def test_rewrites_and_twice_is_once(self):
        out, n = call_status.rewrite(self.sample())
        self.assertEqual(n, 1)
        self.assertIn("uniffi_out_err: Long", out)
        self.assertEqual(call_status.rewrite(out), (out, 0))

    def test_refuses_another_call_helper(self):
        with self.assertRaises(SystemExit):
            call_status.rewrite(self.sample().replace("var status = UniffiRustCallStatus()", "val status = UniffiRustCallStatus()"))


if __name__ == "__main__":
    unittest.main()
