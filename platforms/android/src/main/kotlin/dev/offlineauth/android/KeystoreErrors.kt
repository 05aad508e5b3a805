package dev.offlineauth.android

import android.hardware.biometrics.BiometricPrompt
import android.security.keystore.KeyPermanentlyInvalidatedException
import android.security.keystore.UserNotAuthenticatedException
import dev.offlineauth.KeystoreException
import java.security.UnrecoverableKeyException
import javax.crypto.AEADBadTagException

/**
 * How platform failures become [KeystoreException]s (the vault turns these into
 * `VaultError`s: KeyInvalidated on the biometric key → `BiometricsInvalidated`,
 * KeyInvalidated or KeyNotFound on the device key → `DeviceKeyLost`,
 * UserCancelled → `UserCancelled`). Reasons name the exception class only:
 * never key material, never plaintext.
 *
 * Only a permanent loss may be `KeyInvalidated`: on the device key it makes the
 * app wipe the vault. Anything that may pass is `Failed`.
 */
object KeystoreErrors {
    /**
     * The text of the `KeyPermanentlyInvalidatedException` that AOSP's
     * `AndroidKeyStoreProvider.loadAndroidKeyStoreKeyFromKeystore` throws for
     * `KEY_PERMANENTLY_INVALIDATED`. On API 31+ `AndroidKeyStoreSpi.engineGetKey`
     * catches it and rethrows `UnrecoverableKeyException(e.getMessage())`
     * **without a cause**, so `KeyStore.getKey` reports an invalidated key with
     * this message and nothing else; its transient failures carry the
     * keystore's `KeyStoreException` as their cause.
     */
    const val AOSP_INVALIDATED_MESSAGE = "User changed or deleted their auth credentials"

    /**
     * Whether [e] is API 31+'s `KeyStore.getKey` rethrow of an invalidation: an
     * `UnrecoverableKeyException` with no cause and AOSP's invalidation text.
     */
    fun isInvalidationFromGetKey(e: Throwable): Boolean =
        e is UnrecoverableKeyException && e.cause == null && e.message == AOSP_INVALIDATED_MESSAGE

    /** Maps any throwable from the keystore, the cipher or the prompt. */
    fun fromThrowable(error: Throwable): KeystoreException {
        // The cause chain matters: Android wraps keystore errors (e.g. a
        // KeyPermanentlyInvalidatedException inside an InvalidKeyException, or a
        // KeyStoreException inside an IllegalBlockSizeException).
        // Invalidation anywhere in the chain wins over the wrapper that carries it.
        for (e in causes(error)) {
            when (e) {
                is KeystoreException -> return e
                // Biometrics re-enrolled, or the secure lock screen removed: the only
                // error that means the key is gone for good.
                is KeyPermanentlyInvalidatedException -> return KeystoreException.KeyInvalidated()
            }
            // API 31+: the same invalidation, rethrown by KeyStore.getKey without its cause.
            if (isInvalidationFromGetKey(e)) return KeystoreException.KeyInvalidated()
        }
        for (e in causes(error)) {
            when (e) {
                // Android 12+ throws it for transient keystore errors too: a retry
                // may succeed, so it must not switch biometrics off for good.
                is UnrecoverableKeyException -> return KeystoreException.Failed("keystore could not load the key (transient): try again")
                is AEADBadTagException -> return KeystoreException.UnwrapFailed()
                is UserNotAuthenticatedException -> return KeystoreException.Failed("user not authenticated for this key")
            }
        }
        return KeystoreException.Failed("platform keystore failure: ${error.javaClass.name}")
    }

    /**
     * Maps `BiometricPrompt.AuthenticationCallback.onAuthenticationError` codes.
     * Cancellation by the user, the negative button, the system or a timeout
     * is [KeystoreException.UserCancelled]; the rest are failures with a reason.
     */
    fun fromBiometricError(code: Int): KeystoreException = when (code) {
        BiometricPrompt.BIOMETRIC_ERROR_USER_CANCELED,
        BiometricPrompt.BIOMETRIC_ERROR_CANCELED,
        BiometricPrompt.BIOMETRIC_ERROR_TIMEOUT,
        BiometricPrompt.BIOMETRIC_ERROR_NEGATIVE_BUTTON -> KeystoreException.UserCancelled()
        BiometricPrompt.BIOMETRIC_ERROR_LOCKOUT -> KeystoreException.Failed("biometrics locked out for now: too many attempts")
        BiometricPrompt.BIOMETRIC_ERROR_LOCKOUT_PERMANENT -> KeystoreException.Failed("biometrics locked out: unlock the device with its credential first")
        BiometricPrompt.BIOMETRIC_ERROR_NO_BIOMETRICS -> KeystoreException.Failed("no biometrics enrolled on this device")
        BiometricPrompt.BIOMETRIC_ERROR_HW_NOT_PRESENT,
        BiometricPrompt.BIOMETRIC_ERROR_HW_UNAVAILABLE -> KeystoreException.Failed("biometric hardware unavailable")
        else -> KeystoreException.Failed("biometric prompt error $code")
    }

    private fun causes(error: Throwable): Sequence<Throwable> = sequence {
        var e: Throwable? = error
        var depth = 0
        while (e != null && depth < 8) {
            yield(e)
            e = e.cause.takeIf { it !== e }
            depth++
        }
    }
}
