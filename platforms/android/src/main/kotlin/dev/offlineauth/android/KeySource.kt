package dev.offlineauth.android

import android.content.Context
import android.content.pm.PackageManager
import android.os.Build
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import dev.offlineauth.KeyProtection
import java.security.KeyStore
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey

/**
 * Where [AndroidKeystore] finds and creates its keys. Production uses
 * [AndroidKeyStoreKeySource]; the JVM unit tests plug in a software source so
 * that the wrap/unwrap logic runs without a device.
 */
interface KeySource {
    /** The key under [alias], or null if none exists. */
    fun find(alias: String): SecretKey?

    /** Creates a new AES-256 key under [alias] with [protection]. */
    fun create(alias: String, protection: KeyProtection): SecretKey

    /** Deletes the key under [alias]; a missing key is not an error. */
    fun delete(alias: String)
}

/**
 * Non-exportable AES-256-GCM keys in the `AndroidKeyStore` provider.
 *
 * - StrongBox (a separate secure element) only when asked ([preferStrongBox],
 *   off by default: the core creates a Device key at enrolment and on every PIN
 *   attempt, and StrongBox key generation is slow, see README) and the device
 *   declares `FEATURE_STRONGBOX_KEYSTORE`. Any StrongBox failure
 *   (`StrongBoxUnavailableException`, or the `ProviderException("Keystore key
 *   generation failed")` some devices throw instead) retries in the TEE.
 * - `setUnlockedDeviceRequired(true)` on Device keys from API 35 only: on API
 *   28-34 the platform documents bugs with such keys (not creatable without a
 *   secure lock screen, unusable after a weak or trust-agent unlock). Never on
 *   the biometric key, where it adds nothing and causes
 *   `UserNotAuthenticatedException`.
 * - [KeyProtection.BIOMETRIC]: `setUserAuthenticationRequired(true)` for every
 *   use (timeout 0) by a Class 3 (`BIOMETRIC_STRONG`) biometric
 *   (`setUserAuthenticationParameters(0, AUTH_BIOMETRIC_STRONG)` on API 30+,
 *   validity -1 before), `setInvalidatedByBiometricEnrollment(true)`: enrolling a
 *   new fingerprint or face destroys the key (→ `KeyPermanentlyInvalidatedException`).
 *   Such a key requires a secure lock screen and can only be used through a
 *   `BiometricPrompt.CryptoObject`.
 *
 * @param context any context (only the application context is kept); null skips
 *   the StrongBox feature check and simply tries StrongBox first when asked.
 * @param preferStrongBox try StrongBox before the TEE (off by default).
 * @param sdkInt the API level (tests replace it).
 * @param generate makes the key from its spec (tests replace it to throw what
 *   devices throw).
 */
class AndroidKeyStoreKeySource internal constructor(
    context: Context?,
    private val preferStrongBox: Boolean,
    private val sdkInt: () -> Int,
    private val generate: (KeyGenParameterSpec) -> SecretKey,
) : KeySource {
    @JvmOverloads constructor(context: Context?, preferStrongBox: Boolean = false) :
        this(context, preferStrongBox, { Build.VERSION.SDK_INT }, ::generateInAndroidKeyStore)

    private val packageManager: PackageManager? = context?.applicationContext?.packageManager

    /** Whether StrongBox is tried first (false unless the app asked for it). */
    val strongBoxPreferred: Boolean get() = preferStrongBox
    private val keyStore: KeyStore by lazy { KeyStore.getInstance(PROVIDER).apply { load(null) } }

    override fun find(alias: String): SecretKey? = synchronized(this) {
        keyStore.getKey(alias, null) as SecretKey?
    }

    override fun create(alias: String, protection: KeyProtection): SecretKey = synchronized(this) {
        val sdk = sdkInt()
        if (strongBoxWanted(sdk)) {
            try {
                return generate(keySpec(alias, protection, strongBox = true, sdkInt = sdk))
            } catch (e: Exception) {
                // StrongBoxUnavailableException, or ProviderException("Keystore key
                // generation failed") on some devices: whatever StrongBox refused, a
                // half-made entry is removed and the TEE gets the key instead.
                try {
                    if (keyStore.containsAlias(alias)) keyStore.deleteEntry(alias)
                } catch (ignored: Exception) {
                    // Nothing was stored: the TEE attempt below overwrites the alias anyway.
                }
            }
        }
        generate(keySpec(alias, protection, strongBox = false, sdkInt = sdk))
    }

    override fun delete(alias: String): Unit = synchronized(this) {
        if (keyStore.containsAlias(alias)) keyStore.deleteEntry(alias)
    }

    private fun strongBoxWanted(sdk: Int): Boolean =
        preferStrongBox && sdk >= Build.VERSION_CODES.P &&
            (packageManager?.hasSystemFeature(PackageManager.FEATURE_STRONGBOX_KEYSTORE) ?: true)

    companion object {
        const val PROVIDER = "AndroidKeyStore"

        private fun generateInAndroidKeyStore(spec: KeyGenParameterSpec): SecretKey {
            val generator = KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, PROVIDER)
            generator.init(spec)
            return generator.generateKey()
        }

        /**
         * The key's parameters for [protection] on API level [sdkInt] (a parameter
         * so the JVM tests can check them for several levels).
         */
        @JvmStatic
        fun keySpec(alias: String, protection: KeyProtection, strongBox: Boolean, sdkInt: Int): KeyGenParameterSpec {
            val builder = KeyGenParameterSpec.Builder(alias, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT)
                .setKeySize(256)
                .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
                .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
                // The keystore picks every IV: no IV reuse by construction.
                .setRandomizedEncryptionRequired(true)
            if (sdkInt >= Build.VERSION_CODES.P && strongBox) builder.setIsStrongBoxBacked(true)
            // API 35 (VANILLA_ICE_CREAM); the literal keeps API 34 compile SDKs working.
            if (sdkInt >= 35 && protection == KeyProtection.DEVICE) builder.setUnlockedDeviceRequired(true)
            if (protection == KeyProtection.BIOMETRIC) {
                builder.setUserAuthenticationRequired(true)
                builder.setInvalidatedByBiometricEnrollment(true)
                if (sdkInt >= Build.VERSION_CODES.R) {
                    builder.setUserAuthenticationParameters(0, KeyProperties.AUTH_BIOMETRIC_STRONG)
                } else {
                    // API 28-29: -1 = authentication for every use of the key.
                    @Suppress("DEPRECATION")
                    builder.setUserAuthenticationValidityDurationSeconds(-1)
                }
            }
            return builder.build()
        }
    }
}
