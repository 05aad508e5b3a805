package dev.offlineauth.android

import android.content.Context
import android.content.pm.PackageManager
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import android.security.keystore.StrongBoxUnavailableException
import dev.offlineauth.AttestationEvidence
import dev.offlineauth.AttestorException
import dev.offlineauth.PlatformAttestor
import java.security.KeyPairGenerator
import java.security.KeyStore
import java.security.PrivateKey
import java.security.Signature
import java.security.spec.ECGenParameterSpec

/**
 * [PlatformAttestor] on the Android Keystore: the device's hardware identity
 * for the backend (issue 24).
 *
 * AES keys (the vault's) cannot be attested, so the identity is a separate
 * EC P-256 signing key under [alias], generated with
 * `setAttestationChallenge(serverChallenge)` in StrongBox when [preferStrongBox]
 * is set and the device has one (the same choice as the device key: pass
 * what you passed to [AndroidKeystore.create]), else in the TEE. Its
 * certificate chain is the enrolment's evidence; the backend checks it to
 * Google's roots and the revocation list, and from then on every upload is
 * signed by this key with `SHA256withECDSA` ([sign]).
 *
 * Cost (platform documentation and published measurements; **not measured
 * here**): generating an attested EC key takes from about 100 ms in a TEE to
 * one or several seconds in StrongBox, once per enrolment; one ECDSA P-256
 * signature takes a few milliseconds in a TEE and tens to a few hundred
 * milliseconds in StrongBox, once per upload. Call both from a background
 * thread.
 *
 * @param context any context (only the application context is kept); null
 *   skips the StrongBox feature check.
 * @param preferStrongBox create the key in StrongBox when available.
 * @param alias the Keystore alias of the attested key.
 */
class AndroidAttestor @JvmOverloads constructor(
    context: Context?,
    private val preferStrongBox: Boolean,
    private val alias: String = DEFAULT_ALIAS,
) : PlatformAttestor {

    companion object {
        const val DEFAULT_ALIAS = "offline-auth.attestation"
        const val SIGNATURE_ALGORITHM = "SHA256withECDSA"
        private const val PROVIDER = "AndroidKeyStore"
    }

    private val hasStrongBox: Boolean = context?.applicationContext?.packageManager
        ?.hasSystemFeature(PackageManager.FEATURE_STRONGBOX_KEYSTORE) ?: true

    override fun attest(challenge: ByteArray): AttestationEvidence = mapped {
        val store = keyStore()
        if (store.containsAlias(alias)) store.deleteEntry(alias)
        if (preferStrongBox && hasStrongBox) {
            try {
                generate(challenge, strongBox = true)
            } catch (e: StrongBoxUnavailableException) {
                generate(challenge, strongBox = false)
            }
        } else {
            generate(challenge, strongBox = false)
        }
        val chain = store.getCertificateChain(alias) ?: throw AttestorException.Failed("the Keystore gave no certificate chain")
        AttestationEvidence.AndroidKeyAttestation(chain.map { it.encoded })
    }

    override fun sign(message: ByteArray): ByteArray = mapped {
        val key = keyStore().getKey(alias, null) as? PrivateKey ?: throw AttestorException.KeyGone()
        Signature.getInstance(SIGNATURE_ALGORITHM).run {
            initSign(key)
            update(message)
            sign()
        }
    }

    private fun keyStore(): KeyStore = KeyStore.getInstance(PROVIDER).apply { load(null) }

    private fun generate(challenge: ByteArray, strongBox: Boolean) {
        val spec = KeyGenParameterSpec.Builder(alias, KeyProperties.PURPOSE_SIGN)
            .setAlgorithmParameterSpec(ECGenParameterSpec("secp256r1"))
            .setDigests(KeyProperties.DIGEST_SHA256)
            .setAttestationChallenge(challenge)
            .setIsStrongBoxBacked(strongBox)
            .build()
        KeyPairGenerator.getInstance(KeyProperties.KEY_ALGORITHM_EC, PROVIDER).run {
            initialize(spec)
            generateKeyPair()
        }
    }

    /** Every failure leaves as an [AttestorException] (UniFFI passes those to Rust as typed errors). */
    private inline fun <T> mapped(block: () -> T): T =
        try {
            block()
        } catch (e: AttestorException) {
            throw e
        } catch (e: Exception) {
            throw AttestorException.Failed("${e.javaClass.simpleName}: ${e.message ?: "no message"}")
        }
}
