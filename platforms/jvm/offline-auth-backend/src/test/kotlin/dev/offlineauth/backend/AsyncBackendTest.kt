package dev.offlineauth.backend

import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import kotlinx.coroutines.async
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.yield
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/** The suspend forms keep the caller's thread free while the Rust side works. */
class AsyncBackendTest {
    private val now = 1_800_000_000L

    @Test
    fun `verifyAsync leaves the coroutine's thread running while it works`() {
        // The verifier reads its clock first; this clock holds the verification
        // until the caller's (single) thread has run on. A verify on that thread
        // would never see the latch open: the wait gives up, the clock fails, and
        // the junk batch is never parsed, so no MALFORMED rejection.
        val order = java.util.Collections.synchronizedList(mutableListOf<String>())
        val gate = CountDownLatch(1)
        val clock = object : ServerClock {
            override fun nowUnixSecs(): Long {
                val opened = gate.await(120, TimeUnit.SECONDS)
                order.add(if (opened) "verifier released" else "verifier blocked the caller")
                check(opened) { "the caller's thread never ran" }
                return now
            }
        }
        GrantIssuer.generate("kid-1").use { issuer ->
            SyncVerifier.withClock(listOf(issuer.issuerKey()), clock).use { verifier ->
                runBlocking {
                    // runCatching: a failed child would otherwise cancel runBlocking itself.
                    val pending = async {
                        runCatching { verifier.verifyAsync("junk".toByteArray(), ByteArray(32), SyncCursor(0L, ByteArray(32))) }
                    }
                    yield()
                    order.add("caller ran while verify was pending")
                    gate.countDown()
                    val e = pending.await().exceptionOrNull()
                    assertTrue(e is BackendException.BatchRejected, "expected BatchRejected, got $e")
                    assertEquals(RejectReason.MALFORMED, (e as BackendException.BatchRejected).kind)
                }
            }
        }
        assertEquals(listOf("caller ran while verify was pending", "verifier released"), order.toList())
    }

    @Test
    fun `issueAsync gives a grant that verifies`() {
        GrantIssuer.generate("kid-1").use { issuer ->
            val grant = runBlocking { issuer.issueAsync("alice", "device-1", listOf("notes"), now - 60, now + 600) }
            val info = verifyGrant(grant, listOf(issuer.issuerKey()))
            assertEquals("alice", info.userId)
        }
    }
}
