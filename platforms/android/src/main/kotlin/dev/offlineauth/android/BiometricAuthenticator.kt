package dev.offlineauth.android

import android.app.Activity
import android.hardware.biometrics.BiometricManager
import android.hardware.biometrics.BiometricPrompt
import android.os.Build
import android.os.CancellationSignal
import android.os.Looper
import dev.offlineauth.KeystoreException
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicReference
import javax.crypto.Cipher

/** Why the prompt is shown: lets the app word it. */
enum class BiometricPurpose {
    /** `wrap`: the user turns biometric unlock on (the key must be used once to wrap). */
    ENABLE,
    /** `unwrap`: the user unlocks the vault with biometrics. */
    UNLOCK,
}

/**
 * Shows the biometric prompt for a `Cipher` that is bound to an auth-required
 * key, and returns that cipher once the user authenticated.
 *
 * [PlatformKeystore][dev.offlineauth.PlatformKeystore] is synchronous, so
 * [authenticate] **blocks its calling thread** until the prompt finishes. It is
 * called from `PinVault.unlockWithBiometrics()` / `OfflineSession.enableBiometrics()`,
 * which therefore must run on a background thread (a coroutine on
 * `Dispatchers.IO`, an executor, …): called on the main thread it would wait for
 * a prompt that the blocked main thread can never show. [AndroidKeystore]
 * refuses that case with `KeystoreException.Failed` instead of deadlocking.
 */
fun interface BiometricAuthenticator {
    /**
     * @return the same [cipher], now authorised for one operation.
     * @throws KeystoreException.UserCancelled if the user dismissed the prompt,
     *   or another [KeystoreException].
     */
    fun authenticate(cipher: Cipher, purpose: BiometricPurpose): Cipher
}

/**
 * [BiometricAuthenticator] on the platform `android.hardware.biometrics.BiometricPrompt`
 * (API 28+), Class 3 biometrics only (`BIOMETRIC_STRONG` on API 30+), with the
 * cipher passed as a `BiometricPrompt.CryptoObject`: the keystore releases the
 * key for this one operation only after the biometric hardware says so.
 *
 * @param currentActivity the Activity to show the prompt over, asked afresh
 *   for every prompt (e.g. [ForegroundActivity]); nothing keeps an Activity
 *   between prompts, so a vault that outlives its screens leaks none.
 * @param timeoutMillis how long the calling thread waits before cancelling the
 *   prompt and reporting `UserCancelled`.
 */
class PlatformBiometricPrompt @JvmOverloads constructor(
    private val currentActivity: () -> Activity?,
    private val title: (BiometricPurpose) -> CharSequence = { if (it == BiometricPurpose.ENABLE) "Turn on biometric unlock" else "Unlock" },
    private val negativeButtonText: CharSequence = "Use PIN",
    private val timeoutMillis: Long = 120_000,
) : BiometricAuthenticator {

    override fun authenticate(cipher: Cipher, purpose: BiometricPurpose): Cipher {
        if (Looper.getMainLooper().isCurrentThread) {
            throw KeystoreException.Failed("biometric unlock called on the main thread: call the vault from a background thread")
        }
        val activity = currentActivity()
            ?: throw KeystoreException.Failed("no Activity in the foreground to show the biometric prompt over")
        val executor = activity.mainExecutor
        val done = CountDownLatch(1)
        val outcome = AtomicReference<Result<Cipher>?>(null)
        fun finish(result: Result<Cipher>) {
            if (outcome.compareAndSet(null, result)) done.countDown()
        }
        val cancel = CancellationSignal()
        val callback = object : BiometricPrompt.AuthenticationCallback() {
            override fun onAuthenticationSucceeded(result: BiometricPrompt.AuthenticationResult) {
                val authorised = result.cryptoObject?.cipher
                finish(
                    if (authorised != null) Result.success(authorised)
                    else Result.failure(KeystoreException.Failed("the prompt returned no cipher")),
                )
            }

            override fun onAuthenticationError(errorCode: Int, errString: CharSequence?) {
                finish(Result.failure(KeystoreErrors.fromBiometricError(errorCode)))
            }
            // onAuthenticationFailed (a finger that did not match): the prompt stays up.
        }
        executor.execute {
            try {
                val builder = BiometricPrompt.Builder(activity)
                    .setTitle(title(purpose))
                    .setNegativeButton(negativeButtonText, executor) { _, _ ->
                        finish(Result.failure(KeystoreException.UserCancelled()))
                    }
                if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.R) {
                    builder.setAllowedAuthenticators(BiometricManager.Authenticators.BIOMETRIC_STRONG)
                }
                builder.build().authenticate(BiometricPrompt.CryptoObject(cipher), cancel, executor, callback)
            } catch (e: Exception) {
                finish(Result.failure(KeystoreErrors.fromThrowable(e)))
            }
        }
        try {
            if (!done.await(timeoutMillis, TimeUnit.MILLISECONDS)) {
                executor.execute { cancel.cancel() }
                finish(Result.failure(KeystoreException.UserCancelled()))
            }
        } catch (e: InterruptedException) {
            executor.execute { cancel.cancel() }
            Thread.currentThread().interrupt()
            finish(Result.failure(KeystoreException.UserCancelled()))
        }
        return outcome.get()!!.getOrThrow()
    }
}
