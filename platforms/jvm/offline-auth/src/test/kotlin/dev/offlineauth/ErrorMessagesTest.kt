package dev.offlineauth

import dev.offlineauth.backend.BackendException
import dev.offlineauth.backend.RejectReason
import dev.offlineauth.backend.SyncCursor
import dev.offlineauth.backend.SyncVerifier
import dev.offlineauth.backend.generateSyncKey
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import java.nio.file.Path

/**
 * Every foreign exception carries the Rust error's own text (its `Display`)
 * as both `message` and `toString()`, and keeps its typed fields.
 */
class ErrorMessagesTest {
    @TempDir
    lateinit var dir: Path

    @Test
    fun `vault exceptions print the Rust message and keep their fields`() {
        val clock = FakeClock()
        PinVault.openWithClock(vaultPath(dir), JcaKeystore(), clock, Backend.config()).use { vault ->
            val notEnrolled = assertThrows<VaultException.NotEnrolled> { vault.unlock(PIN) }
            assertEquals("the vault is not enrolled", notEnrolled.toString())
            assertEquals("the vault is not enrolled", notEnrolled.message)

            vault.enroll(PIN, Backend.grant(now = clock.now), generateSyncKey()).close()
            val wrong = assertThrows<VaultException.WrongPin> { vault.unlock("000111") }
            assertEquals(9u, wrong.attemptsRemaining)
            assertEquals("wrong PIN; 9 attempts remaining before the vault is wiped", wrong.toString())
            assertEquals(wrong.toString(), wrong.message)
            assertEquals(wrong.toString(), wrong.localizedMessage)
            assertTrue(!wrong.toString().contains("000111"), "the PIN must not appear in the message")

            repeat(3) { assertThrows<VaultException.WrongPin> { vault.unlock("000111") } }
            val locked = assertThrows<VaultException.LockedOut> { vault.unlock(PIN) }
            assertEquals(30uL, locked.retryAfterSecs)
            assertEquals("too many wrong PINs; try again in 30 s", locked.toString())
        }
    }

    @Test
    fun `a reason field is both a field and part of the message`() {
        PinVault.open(vaultPath(dir), JcaKeystore(), Backend.config()).use { vault ->
            val weak = assertThrows<VaultException.WeakPin> { vault.enroll("123456", Backend.grant(), generateSyncKey()) }
            assertTrue(weak.reason.isNotEmpty())
            assertEquals("PIN rejected by policy: ${weak.reason}", weak.toString())
            assertEquals("PIN rejected by policy: ${weak.reason}", weak.message)
        }
    }

    @Test
    fun `keystore exceptions print the Rust message`() {
        assertEquals("no key under this alias", KeystoreException.KeyNotFound().toString())
        assertEquals("the key was invalidated by the platform", KeystoreException.KeyInvalidated().toString())
        assertEquals("no key under this alias", KeystoreException.KeyNotFound().message)
    }

    @Test
    fun `backend exceptions print the Rust message and keep kind and reason`() {
        SyncVerifier(listOf(Backend.issuer.issuerKey())).use { verifier ->
            val e = assertThrows<BackendException.BatchRejected> {
                verifier.verify("junk".toByteArray(), ByteArray(32), SyncCursor(0L, ByteArray(32)))
            }
            assertEquals(RejectReason.MALFORMED, e.kind)
            assertTrue(e.reason.isNotEmpty())
            assertEquals("sync batch rejected (Malformed): ${e.reason}", e.toString())
            assertEquals("sync batch rejected (Malformed): ${e.reason}", e.message)
        }
    }

}
