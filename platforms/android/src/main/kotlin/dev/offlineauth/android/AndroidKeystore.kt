package dev.offlineauth.android

import android.app.Activity
import android.content.Context
import android.os.Looper
import dev.offlineauth.KeyProtection
import dev.offlineauth.KeystoreException
import dev.offlineauth.PlatformKeystore
import javax.crypto.Cipher
import javax.crypto.spec.GCMParameterSpec

/**
 * [PlatformKeystore] on the Android Keystore: the hardware half of every
 * offline-auth key on Android.
 *
 * Each alias names one non-exportable AES-256-GCM key (see
 * [AndroidKeyStoreKeySource] for its parameters: StrongBox when available,
 * unlocked-device-required, and for [KeyProtection.BIOMETRIC] Class 3
 * biometrics for every use, invalidated by new biometric enrolment). Blobs are
 * [WrappedBlob] version 1, bound to their alias and protection as AES-GCM
 * associated data.
 *
 * Biometric keys are used only through the `Cipher` that the
 * [BiometricAuthenticator] passes to `BiometricPrompt` as a `CryptoObject`: for
 * an auth-bound symmetric key both encryption (`enableBiometrics`) and
 * decryption (`unlockWithBiometrics`) show the prompt.
 *
 * Threading: every method may be called from any thread, but **call the vault
 * from a background thread**: PBKDF2 takes a noticeable fraction of a second, and
 * a biometric operation blocks until the prompt finishes (the main thread is
 * refused with `KeystoreException.Failed`, because it would deadlock).
 *
 * Errors: see [KeystoreErrors] (`KeyPermanentlyInvalidatedException` →
 * `KeyInvalidated`, prompt dismissed → `UserCancelled`, bad blob or tag →
 * `UnwrapFailed`, missing alias → `KeyNotFound`).
 *
 * @param keys where keys live ([AndroidKeyStoreKeySource] on a device).
 * @param biometrics shows the prompt; null makes biometric operations fail.
 * @param isMainThread how to recognise the main thread (tests replace it).
 */
class AndroidKeystore @JvmOverloads constructor(
    private val keys: KeySource,
    private val biometrics: BiometricAuthenticator?,
    private val isMainThread: () -> Boolean = { Looper.getMainLooper().isCurrentThread },
) : PlatformKeystore {

    companion object {
        const val TRANSFORMATION = "AES/GCM/NoPadding"
        const val TAG_BITS = 128

        /**
         * The production keystore: `AndroidKeyStore` keys and the platform
         * `BiometricPrompt`. Only [context]'s application context is kept; the
         * prompt is shown over whatever [currentActivity] returns at that moment
         * ([ForegroundActivity] tracks it), so the keystore, and the vault that
         * holds it, may live in the Application or a ViewModel.
         *
         * @param preferStrongBox create keys in StrongBox first (off by default:
         *   a Device key is created on every PIN attempt and StrongBox key
         *   generation costs far more than the TEE's; see README).
         */
        @JvmStatic
        @JvmOverloads
        fun create(context: Context, currentActivity: () -> Activity?, preferStrongBox: Boolean = false): AndroidKeystore =
            AndroidKeystore(
                AndroidKeyStoreKeySource(context.applicationContext, preferStrongBox),
                PlatformBiometricPrompt(currentActivity),
            )
    }

    override fun wrap(alias: String, protection: KeyProtection, plaintext: ByteArray): ByteArray = mapped {
        Validation.alias(alias)
        Validation.plaintext(plaintext)
        if (protection == KeyProtection.BIOMETRIC) requireBackgroundThread()
        var created = false
        val key = synchronized(this) {
            keys.find(alias) ?: keys.create(alias, protection).also { created = true }
        }
        try {
            val cipher = Cipher.getInstance(TRANSFORMATION)
            cipher.init(Cipher.ENCRYPT_MODE, key) // the keystore chooses the IV
            val ready = authorise(cipher, protection, BiometricPurpose.ENABLE)
            ready.updateAAD(WrappedBlob.aad(alias, protection))
            WrappedBlob.encode(protection, ready.iv, ready.doFinal(plaintext))
        } catch (e: Exception) {
            // The core forgets an alias whose wrap failed: a key this call made
            // would be orphaned, so it goes (a key that existed before stays).
            if (created) {
                try {
                    keys.delete(alias)
                } catch (cleanup: Exception) {
                    e.addSuppressed(cleanup)
                }
            }
            throw e
        }
    }

    override fun unwrap(alias: String, protection: KeyProtection, wrapped: ByteArray): ByteArray = mapped {
        Validation.alias(alias)
        val parts = WrappedBlob.decode(wrapped)
        if (parts.protection != protection) throw KeystoreException.UnwrapFailed()
        if (protection == KeyProtection.BIOMETRIC) requireBackgroundThread()
        val key = keys.find(alias) ?: throw KeystoreException.KeyNotFound()
        val cipher = Cipher.getInstance(TRANSFORMATION)
        cipher.init(Cipher.DECRYPT_MODE, key, GCMParameterSpec(TAG_BITS, parts.iv))
        val ready = authorise(cipher, protection, BiometricPurpose.UNLOCK)
        ready.updateAAD(WrappedBlob.aad(alias, protection))
        ready.doFinal(parts.ciphertext)
    }

    override fun deleteKey(alias: String): Unit = mapped {
        Validation.alias(alias)
        keys.delete(alias)
    }

    private fun authorise(cipher: Cipher, protection: KeyProtection, purpose: BiometricPurpose): Cipher =
        when (protection) {
            KeyProtection.DEVICE -> cipher
            KeyProtection.BIOMETRIC -> {
                val prompt = biometrics ?: throw KeystoreException.Failed("no biometric authenticator configured")
                prompt.authenticate(cipher, purpose)
            }
        }

    private fun requireBackgroundThread() {
        if (isMainThread()) {
            throw KeystoreException.Failed("biometric keystore operation on the main thread: call the vault from a background thread")
        }
    }

    /** Every failure leaves as a [KeystoreException] (UniFFI passes those to Rust as typed errors). */
    private inline fun <T> mapped(block: () -> T): T =
        try {
            block()
        } catch (e: KeystoreException) {
            throw e
        } catch (e: Exception) {
            throw KeystoreErrors.fromThrowable(e)
        }
}
