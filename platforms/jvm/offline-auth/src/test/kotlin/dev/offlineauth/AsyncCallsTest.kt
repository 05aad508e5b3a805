package dev.offlineauth

import dev.offlineauth.backend.generateSyncKey
import kotlinx.coroutines.async
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import java.nio.file.Path
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger

/**
 * The suspend forms (UniFFI async exports) run the blocking call on a thread
 * of its own: a coroutine on the caller's single thread keeps running while
 * the vault unwraps its keys.
 */
class AsyncCallsTest {
    @TempDir
    lateinit var dir: Path

    /**
     * Its unwrap (inside the PIN attempt) waits until the caller's thread has
     * ticked [ticksNeeded] times. If the call blocked the caller's thread, no
     * tick could happen: the wait gives up and the unlock fails.
     */
    class TickGatedKeystore(ticksNeeded: Int) : JcaKeystore() {
        val ticks = CountDownLatch(ticksNeeded)

        @Volatile var gated = false

        override fun unwrap(alias: String, protection: KeyProtection, wrapped: ByteArray): ByteArray {
            if (gated && !ticks.await(120, TimeUnit.SECONDS)) {
                throw KeystoreException.Failed("the caller's thread never ticked")
            }
            return super.unwrap(alias, protection, wrapped)
        }
    }

    @Test
    fun `unlockAsync leaves the caller's thread free for other coroutines`() {
        val keystore = TickGatedKeystore(ticksNeeded = 3)
        PinVault.open(vaultPath(dir), keystore, Backend.config()).use { vault ->
            vault.enroll(PIN, Backend.grant(), generateSyncKey()).close()
            keystore.gated = true
            val ticksWhilePending = AtomicInteger()
            runBlocking { // every coroutine here runs on this one thread
                val unlocking = async { vault.unlockAsync(PIN) }
                launch {
                    while (!unlocking.isCompleted) {
                        ticksWhilePending.incrementAndGet()
                        keystore.ticks.countDown()
                        delay(1)
                    }
                }
                unlocking.await().use { assertEquals(USER, it.userId()) }
            }
            assertTrue(ticksWhilePending.get() >= 3, "ticks while pending: ${ticksWhilePending.get()}")
        }
    }

    @Test
    fun `suspend forms return and throw what the blocking forms do`() = runBlocking {
        PinVault.open(vaultPath(dir), JcaKeystore(), Backend.config()).use { vault ->
            assertThrows<VaultException.NotEnrolled> { runBlocking { vault.unlockAsync(PIN) } }
            vault.enrollAsync(PIN, Backend.grant(), generateSyncKey()).use { it.enableBiometricsAsync() }
            vault.unlockWithBiometricsAsync().close()
            vault.changePinAsync(PIN, "739164")
            val wrong = assertThrows<VaultException.WrongPin> { runBlocking { vault.unlockAsync(PIN) } }
            assertEquals(9u, wrong.attemptsRemaining)
            vault.unlockAsync("739164").close()
            vault.wipeAsync()
            assertEquals(false, vault.isEnrolled())
        }
    }
}
