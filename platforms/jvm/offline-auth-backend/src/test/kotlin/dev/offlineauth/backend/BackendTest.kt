package dev.offlineauth.backend

import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import java.security.KeyPairGenerator
import java.security.Signature
import java.util.concurrent.atomic.AtomicInteger

/**
 * Binding-layer tests of the backend artifact on its own: issuing, JWKS,
 * grant verification, a signer and a server clock written in Kotlin, typed
 * errors. Batches from a real device queue are verified in the device
 * artifact's tests (which use this one in test scope).
 */
class BackendTest {
    private val now = System.currentTimeMillis() / 1000

    private fun same(a: IssuerKey, b: IssuerKey) = a.kid == b.kid && a.publicKey.contentEquals(b.publicKey)

    @Test
    fun `issue, publish as JWKS, verify a grant`() {
        GrantIssuer.generate("kid-1").use { issuer ->
            assertEquals("kid-1", issuer.kid())
            val key = issuer.issuerKey()
            assertEquals(32, key.publicKey.size)
            // The same key again from its stored private key.
            GrantIssuer(issuer.kid(), issuer.privateKey()).use { again -> assertTrue(same(key, again.issuerKey())) }

            val jwks = jwksFromIssuerKeys(listOf(key))
            val parsed = issuerKeysFromJwks(jwks)
            assertEquals(1, parsed.size)
            assertTrue(same(key, parsed[0]))

            val grant = issuer.issue("alice", "device-1", listOf("notes"), now - 60, now + 600)
            val info = verifyGrant(grant, listOf(key))
            assertEquals(GrantInfo("kid-1", "alice", "device-1", now - 60, now + 600, listOf("notes"), info.grantId), info)
            assertTrue(info.grantId.isNotEmpty())
            GrantIssuer.generate("kid-2").use { other ->
                assertThrows<BackendException.GrantInvalid> { verifyGrant(grant, listOf(other.issuerKey())) }
            }
        }
        val a = generateSyncKey()
        assertEquals(32, a.size)
        assertFalse(a.contentEquals(generateSyncKey()))
    }

    /** A KMS stand-in: an Ed25519 key in the JCA, which never hands out its private key. */
    class JcaSigner(private val kid: String, private val fail: Boolean = false) : GrantSigner {
        private val pair = KeyPairGenerator.getInstance("Ed25519").generateKeyPair()
        val signatures = AtomicInteger()

        override fun kid(): String = kid

        // The X.509 SubjectPublicKeyInfo of an Ed25519 key ends with the raw 32 bytes.
        override fun publicKey(): ByteArray = pair.public.encoded.takeLast(32).toByteArray()

        override fun sign(message: ByteArray): ByteArray {
            if (fail) throw BackendException.Signer("the key store is offline")
            signatures.incrementAndGet()
            return Signature.getInstance("Ed25519").run {
                initSign(pair.private)
                update(message)
                sign()
            }
        }
    }

    @Test
    fun `a signer written in Kotlin signs grants, its private key is never asked for`() {
        val signer = JcaSigner("kms-1")
        GrantIssuer.withSigner(signer, IssuerOptions()).use { issuer ->
            assertEquals("kms-1", issuer.kid())
            val grant = issuer.issue("alice", "device-1", listOf("notes"), now - 60, now + 600)
            assertEquals(1, signer.signatures.get())
            assertEquals("alice", verifyGrant(grant, listOf(issuer.issuerKey())).userId)
            // An external signer's private key is not the issuer's to give.
            assertThrows<BackendException.InvalidInput> { issuer.privateKey() }
        }
        GrantIssuer.withSigner(JcaSigner("kms-2", fail = true), IssuerOptions()).use { issuer ->
            val e = assertThrows<BackendException.Signer> {
                issuer.issue("alice", "device-1", listOf("notes"), now - 60, now + 600)
            }
            assertTrue(e.reason.isNotEmpty())
        }
    }

    @Test
    fun `verifier on a server clock written in Kotlin, typed rejections`() {
        val clock = object : ServerClock {
            override fun nowUnixSecs(): Long = now
        }
        GrantIssuer.generate("kid-1").use { issuer ->
            SyncVerifier.withClock(listOf(issuer.issuerKey()), clock).use { verifier ->
                val e = assertThrows<BackendException.BatchRejected> {
                    verifier.verify("junk".toByteArray(), ByteArray(32), SyncCursor(0L, ByteArray(32)))
                }
                assertEquals(RejectReason.MALFORMED, e.kind)
                assertThrows<BackendException.InvalidInput> {
                    verifier.verify("junk".toByteArray(), ByteArray(31), SyncCursor(0L, ByteArray(32)))
                }
                // A receipt for a stored cursor is the same bytes every time.
                val key = generateSyncKey()
                val cursor = SyncCursor(3L, ByteArray(32) { it.toByte() })
                assertArrayEquals(verifier.receipt("device-1", key, cursor), verifier.receipt("device-1", key, cursor))
                assertThrows<BackendException.InvalidInput> { verifier.receipt("device-1", ByteArray(5), cursor) }
            }
        }
    }

    @Test
    fun `bad input gives typed errors`() {
        assertThrows<BackendException.InvalidInput> { GrantIssuer("kid", ByteArray(31)) }
        assertThrows<BackendException.InvalidInput> { GrantIssuer("", ByteArray(32)) }
        assertThrows<BackendException.InvalidInput> { SyncVerifier(listOf()) }
        assertThrows<BackendException.InvalidInput> { issuerKeysFromJwks("not json") }
        GrantIssuer.generate("kid-1").use { issuer ->
            assertThrows<BackendException.InvalidInput> { issuer.issue("", "device-1", listOf("notes"), now, now + 60) }
            assertThrows<BackendException.InvalidInput> { issuer.issue("alice", "device-1", listOf("notes"), now, now) }
            assertThrows<BackendException.GrantInvalid> { verifyGrant("not.a.grant", listOf(issuer.issuerKey())) }
        }
    }

    @Test
    fun `every BackendError variant is a BackendException subclass`() {
        val variants = BackendException::class.java.declaredClasses
            .filter { BackendException::class.java.isAssignableFrom(it) }
            .associateBy { it.simpleName }
        for (name in listOf("InvalidInput", "GrantInvalid", "BatchRejected", "Diverged", "Signer", "Clock", "Internal")) {
            assertNotNull(variants[name], "BackendException.$name missing")
        }
    }
}
