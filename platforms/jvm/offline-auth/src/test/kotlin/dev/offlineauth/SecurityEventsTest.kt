package dev.offlineauth

import dev.offlineauth.backend.generateSyncKey
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import java.nio.file.Path
import java.util.Collections

/**
 * Security events reach a listener written in Kotlin, with their fields and
 * no secret, on the thread that made the call; a listener that throws changes
 * nothing about the call that reported to it.
 */
class SecurityEventsTest {
    @TempDir
    lateinit var dir: Path

    private class Recorder : SecurityEventListener {
        val events: MutableList<SecurityEvent> = Collections.synchronizedList(mutableListOf())
        val threads: MutableSet<Thread> = Collections.synchronizedSet(mutableSetOf())

        override fun onEvent(event: SecurityEvent) {
            events.add(event)
            threads.add(Thread.currentThread())
        }
    }

    private class Throwing : SecurityEventListener {
        @Volatile var calls = 0

        override fun onEvent(event: SecurityEvent) {
            calls += 1
            throw IllegalStateException("the app's listener failed")
        }
    }

    private fun enrolled(maxFailedAttempts: UInt = 10u): PinVault {
        val clock = FakeClock()
        val vault = PinVault.openWithClock(vaultPath(dir), JcaKeystore(), clock, Backend.config(maxFailedAttempts = maxFailedAttempts))
        vault.enroll(PIN, Backend.grant(now = clock.now), generateSyncKey()).close()
        return vault
    }

    @Test
    fun `wrong PINs, a lockout and a wipe reach a Kotlin listener with their fields`() {
        enrolled().use { vault ->
            val recorder = Recorder()
            vault.setSecurityEventListener(recorder)
            repeat(4) { assertThrows<VaultException.WrongPin> { vault.unlock("000111") } }
            vault.wipe()

            assertEquals(
                listOf(
                    SecurityEvent.WrongPin(9u),
                    SecurityEvent.WrongPin(8u),
                    SecurityEvent.WrongPin(7u),
                    SecurityEvent.WrongPin(6u),
                    SecurityEvent.LockedOut(failedAttempts = 4u, retryAfterSecs = 30uL),
                    SecurityEvent.Wiped(WipeReason.REQUESTED),
                ),
                recorder.events.toList(),
            )
            assertEquals(30uL, (recorder.events[4] as SecurityEvent.LockedOut).retryAfterSecs)
            assertEquals(setOf(Thread.currentThread()), recorder.threads.toSet())
            for (event in recorder.events) {
                assertFalse(event.toString().contains(PIN) || event.toString().contains("000111"), "$event")
            }
        }
    }

    @Test
    fun `the attempt limit reports an automatic wipe`() {
        enrolled(maxFailedAttempts = 2u).use { vault ->
            val recorder = Recorder()
            vault.setSecurityEventListener(recorder)
            assertThrows<VaultException.WrongPin> { vault.unlock("000111") }
            assertThrows<VaultException.Wiped> { vault.unlock("000111") }
            assertEquals(
                listOf(SecurityEvent.WrongPin(1u), SecurityEvent.Wiped(WipeReason.ATTEMPT_LIMIT)),
                recorder.events.toList(),
            )
        }
    }

    @Test
    fun `a throwing Kotlin listener changes no result`() {
        enrolled().use { vault ->
            val throwing = Throwing()
            vault.setSecurityEventListener(throwing)
            assertEquals(9u, assertThrows<VaultException.WrongPin> { vault.unlock("000111") }.attemptsRemaining)
            vault.unlock(PIN).close()
            vault.wipe()
            assertEquals(2, throwing.calls)
            assertTrue(vault.status().wiped)

            vault.clearSecurityEventListener()
            vault.wipe()
            assertEquals(2, throwing.calls)
        }
    }
}
