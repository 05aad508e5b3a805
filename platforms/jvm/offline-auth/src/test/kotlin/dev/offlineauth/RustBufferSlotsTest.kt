package dev.offlineauth

import dev.offlineauth.backend.generateSyncKey
import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import java.nio.file.Path
import java.util.concurrent.Callable
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit

/**
 * tools/jna-rust-buffer.py keeps every `RustBuffer.ByValue` in a slot of a
 * per-thread ring (256 slots) instead of a JNA `Memory` of its own. These
 * check what that per-thread state must not break: calls from several
 * threads at once, calls made from inside a callback while the outer call
 * is in flight (enough of them to go round the ring), the error path, and
 * that a struct used where its slot may hold another's bytes fails loudly.
 */
class RustBufferSlotsTest {
    @TempDir
    lateinit var dir: Path

    private fun value(thread: Int, i: Int, size: Int = 64) = ByteArray(size) { j -> (thread * 31 + i * 7 + j).toByte() }

    @Test
    fun `records written and read from several threads at once come back intact`() {
        PinVault.open(vaultPath(dir), JcaKeystore(), Backend.config()).use { vault ->
            vault.enroll(PIN, Backend.grant(), generateSyncKey()).use { session ->
                val pool = Executors.newFixedThreadPool(4)
                try {
                    val results = (0 until 4).map { t ->
                        pool.submit(Callable {
                            for (i in 0 until 150) {
                                val key = "t$t-k$i"
                                session.put("notes", key, value(t, i, 1 + (i * 13) % 300))
                                assertArrayEquals(value(t, i, 1 + (i * 13) % 300), session.get("notes", key), key)
                                assertNull(session.get("notes", "$key-missing"))
                            }
                            val keys = (0 until 150).map { "t$t-k$it" }
                            session.getMany("notes", keys).forEachIndexed { i, v -> assertArrayEquals(value(t, i, 1 + (i * 13) % 300), v) }
                        })
                    }
                    results.forEach { it.get(300, TimeUnit.SECONDS) }
                } finally {
                    pool.shutdownNow()
                }
                assertEquals(600, session.keys("notes").size)
            }
        }
    }

    /** Its unwrap (called by Rust inside `unlock`) makes 300 calls with RustBuffers on the same thread first. */
    class BusyKeystore(private val other: OfflineSession) : JcaKeystore() {
        @Volatile var busy = false
        var innerCalls = 0

        override fun unwrap(alias: String, protection: KeyProtection, wrapped: ByteArray): ByteArray {
            if (busy) {
                for (i in 0 until 300) {
                    assertArrayEquals(byteArrayOf(1, 2, 3), other.get("notes", "inner"))
                    innerCalls++
                }
            }
            return super.unwrap(alias, protection, wrapped)
        }
    }

    @Test
    fun `calls made from inside a callback, round the ring, leave the outer call intact`() {
        val otherDir = dir.resolve("other").also { it.toFile().mkdirs() }
        PinVault.open(vaultPath(otherDir), JcaKeystore(), Backend.config()).use { otherVault ->
            otherVault.enroll(PIN, Backend.grant(), generateSyncKey()).use { other ->
                other.put("notes", "inner", byteArrayOf(1, 2, 3))
                val keystore = BusyKeystore(other)
                PinVault.open(vaultPath(dir), keystore, Backend.config()).use { vault ->
                    vault.enroll(PIN, Backend.grant(), generateSyncKey()).use { it.put("notes", "outer", value(9, 9, 256)) }
                    keystore.busy = true
                    // unlock(pin): its argument is in a slot while Rust calls unwrap.
                    vault.unlock(PIN).use { session ->
                        keystore.busy = false
                        assertEquals(true, keystore.innerCalls >= 300)
                        assertArrayEquals(value(9, 9, 256), session.get("notes", "outer"))
                    }
                }
            }
        }
    }

    @Test
    fun `the error path lifts and frees the error buffer, many times over`() {
        PinVault.open(vaultPath(dir), JcaKeystore(), Backend.config()).use { vault ->
            vault.enroll(PIN, Backend.grant(), generateSyncKey()).use { session ->
                session.put("notes", "k", byteArrayOf(7))
                session.lock()
                repeat(1000) {
                    assertThrows<VaultException.SessionLocked> { session.get("notes", "k") }
                }
            }
            vault.unlock(PIN).use { assertArrayEquals(byteArrayOf(7), it.get("notes", "k")) }
        }
    }

    @Test
    fun `a struct used on another thread or after its slot was reused fails instead of passing other bytes`() {
        val stale = RustBuffer.ByValue()
        repeat(256) { RustBuffer.ByValue() }
        assertThrows<IllegalStateException> { stale.autoWrite() }

        val fresh = RustBuffer.ByValue()
        fresh.autoWrite() // its own thread, its own slot
        val pool = Executors.newSingleThreadExecutor()
        try {
            val failure = pool.submit(Callable { runCatching { fresh.autoWrite() }.exceptionOrNull() }).get(60, TimeUnit.SECONDS)
            assertEquals(IllegalStateException::class.java, failure?.javaClass)
        } finally {
            pool.shutdownNow()
        }
    }
}
