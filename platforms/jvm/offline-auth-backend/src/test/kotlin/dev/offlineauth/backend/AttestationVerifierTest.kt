package dev.offlineauth.backend

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import java.io.File
import java.security.cert.CertificateFactory
import java.security.cert.X509Certificate
import java.time.Duration
import java.time.Instant
import java.util.Base64

/**
 * Binding-layer tests of the attestation verification (issue 24): a real
 * Android Key Attestation chain from Google's test data verifies from
 * Kotlin at a time inside its own certificates' validity (never today's
 * date), and refusals of enrolments and uploads arrive typed. The checks
 * themselves are the Rust verifier's, tested there.
 */
class AttestationVerifierTest {
    /** Pixel 9 Pro, Android 16: a StrongBox EC key, bootloader locked, boot verified. */
    private val vector = "caiman_sdk36_SB_EC_RKP"

    private val data: File = generateSequence(File(System.getProperty("user.dir")).absoluteFile) { it.parentFile }
        .map { File(it, "crates/offline-auth-attestation/tests/data/android") }
        .first { it.isDirectory }

    private fun pemCerts(text: String): List<ByteArray> =
        text.split("-----BEGIN CERTIFICATE-----").drop(1).map { block ->
            Base64.getMimeDecoder().decode(block.substringBefore("-----END CERTIFICATE-----").trim())
        }

    private fun googleRoots(): List<ByteArray> =
        Regex("\"(-----BEGIN CERTIFICATE-----[^\"]*)\"").findAll(File(data, "roots.json").readText())
            .flatMap { pemCerts(it.groupValues[1].replace("\\n", "\n")) }.toList()

    private fun x509(der: ByteArray) =
        CertificateFactory.getInstance("X.509").generateCertificate(der.inputStream()) as X509Certificate

    private val chain = pemCerts(File(data, "$vector.pem").readText())

    /** One hour after the latest notBefore of the chain (as the Rust tests). */
    private val at: Instant = chain.maxOf { x509(it).notBefore.toInstant() } + Duration.ofHours(1)

    private val expected = File(data, "$vector.json").readText()
    private val challenge = Base64.getDecoder().decode(Regex("\"attestationChallenge\": \"([^\"]+)\"").find(expected)!!.groupValues[1])
    private val pkg = Regex("\"name\": \"([^\"]+)\"").find(expected)!!.groupValues[1]

    @Test
    fun `a real StrongBox chain verifies under the production policy`() {
        val policy = attestationPolicyProduction().copy(allowedPackages = listOf(pkg))
        EnrolmentVerifier(googleRoots(), emptyList(), policy).use { verifier ->
            assertEquals(policy, verifier.policy())
            val summary = verifier.verify(Evidence.AndroidKeyAttestation(chain), challenge, at)
            assertEquals("android_key_attestation", summary.kind)
            assertEquals(EvidenceLevel.STRONG_BOX, summary.level)
            assertEquals(PolicyMode.PRODUCTION, summary.mode)
            assertEquals(72L * 3600, summary.windowSecs)
            assertEquals("verified", summary.bootState)
            assertEquals(true, summary.deviceLocked)
            assertEquals(pkg, summary.appId)
            val key = summary.uploadKey as UploadKey.EcdsaP256
            assertEquals(91, key.spkiDer.size)
        }
    }

    @Test
    fun `a wrong challenge, a software keystore and a revoked serial are refused typed`() {
        EnrolmentVerifier(googleRoots(), emptyList(), attestationPolicyProduction()).use { verifier ->
            val wrong = assertThrows<EnrolmentRefusal.Attestation> {
                verifier.verify(Evidence.AndroidKeyAttestation(chain), "not the challenge".toByteArray(), at)
            }
            assertEquals("attestation_challenge_mismatch", wrong.reason)
            assertTrue(wrong.message.contains("challenge"), wrong.message)

            val software = assertThrows<EnrolmentRefusal.LevelRefused> { verifier.verify(Evidence.None, challenge, at) }
            assertEquals(EvidenceLevel.UNATTESTED, software.level)
        }
        val serial = x509(chain[0]).serialNumber.toString(16)
        EnrolmentVerifier(googleRoots(), listOf(serial), attestationPolicyProduction()).use { verifier ->
            val revoked = assertThrows<EnrolmentRefusal.Attestation> {
                verifier.verify(Evidence.AndroidKeyAttestation(chain), challenge, at)
            }
            assertEquals("attestation_revoked", revoked.reason)
        }
        assertThrows<BackendException.InvalidInput> {
            EnrolmentVerifier(listOf("not a certificate".toByteArray()), emptyList(), attestationPolicyProduction())
        }
    }

    @Test
    fun `upload signature refusals are typed`() {
        val key = EnrolmentVerifier(googleRoots(), emptyList(), attestationPolicyProduction()).use {
            it.verify(Evidence.AndroidKeyAttestation(chain), challenge, at).uploadKey
        }
        val batch = "batch".toByteArray()
        assertThrows<UploadRefusal.SignatureMissing> { verifyUploadSignature(key, null, "device-1", 1, 1, batch, true) }
        val junk = byteArrayOf(0x30, 6, 2, 1, 1, 2, 1, 1)
        assertThrows<UploadRefusal.SignatureInvalid> { verifyUploadSignature(key, junk, "device-1", 1, 1, batch, true) }
        assertThrows<UploadRefusal.NoAttestedKey> { verifyUploadSignature(null, null, "device-1", 1, 1, batch, true) }
        assertNull(verifyUploadSignature(null, null, "device-1", 1, 1, batch, false))
        assertEquals(32, generateChallenge().size)
    }
}
