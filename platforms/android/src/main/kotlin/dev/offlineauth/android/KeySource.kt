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
 * - In the TEE by default. StrongBox (a separate secure element) only when
 *   [preferStrongBox] is set and the device declares
 *   `FEATURE_STRONGBOX_KEYSTORE`. The core creates a fresh Device key at
 *   enrolment and on every PIN attempt, and StrongBox key generation costs
 *   hundreds of milliseconds to seconds on the devices that have it, so it is
 *   opt-in. Any failure of StrongBox generation (`StrongBoxUnavailableException`,
 *   or the `ProviderException("Keystore key generation failed")` some devices
 *   throw instead) falls back to the TEE.
 * - `setUnlockedDeviceRequired(true)` only on API 35 and later, and only on
 *   Device keys: on API 31–34 the platform documents defects with such keys
 *   (they cannot be made without a secure lock screen, are deleted when it is
 *   removed, and stay unusable after a weak-biometric or trust-agent unlock);
 *   on the biometric key it adds nothing, since every use needs a Class 3
 *   biometric anyway.
 * - [KeyProtection.BIOMETRIC]: `setUserAuthenticationRequired(true)` for every
 *   use (timeout 0) by a Class 3 (`BIOMETRIC_STRONG`) biometric
 *   (`setUserAuthenticationParameters(0, AUTH_BIOMETRIC_STRONG)` on API 30+,
 *   validity -1 before), `setInvalidatedByBiometricEnrollment(true)`: enrolling a
 *   new fingerprint or face destroys the key (→ `KeyPermanentlyInvalidatedException`).
 *   Such a key requires a secure lock screen and can only be used through a
 *   `BiometricPrompt.CryptoObject`.
 *
 * @param context any context (only the application context's package manager
 *   is kept); null skips the StrongBox feature check.
 * @param preferStrongBox try StrongBox first (see above for the cost).
 * @param generateKey makes a key from its parameters; the default uses the
 *   `AndroidKeyStore` provider (the JVM tests replace it to script failures).
 * @param sdkInt reads the device's API level when a key is made (the JVM tests set it).
 */
class AndroidKeyStoreKeySource @JvmOverloads constructor(
    context: Context?,
    private val preferStrongBox: Boolean = false,
    private val generateKey: (KeyGenParameterSpec) -> SecretKey = ::generateInAndroidKeyStore,
    private val sdkInt: () -> Int = { Build.VERSION.SDK_INT },
) : KeySource {
    private val packageManager: PackageManager? = context?.applicationContext?.packageManager
    private val keyStore: KeyStore by lazy { KeyStore.getInstance(PROVIDER).apply { load(null) } }

    override fun find(alias: String): SecretKey? = synchronized(this) {
        keyStore.getKey(alias, null) as SecretKey?
    }

    override fun create(alias: String, protection: KeyProtection): SecretKey = synchronized(this) {
        val sdk = sdkInt()
        if (strongBoxWanted(sdk)) {
            try {
                return generateKey(keySpec(alias, protection, strongBox = true, sdkInt = sdk))
            } catch (e: Exception) {
                // StrongBoxUnavailableException, or a ProviderException on devices
                // whose StrongBox fails instead of declining: the TEE below. A key
                // half-made in StrongBox must not linger under the alias.
                runCatching { delete(alias) }
            }
        }
        generateKey(keySpec(alias, protection, strongBox = false, sdkInt = sdk))
    }

    override fun delete(alias: String): Unit = synchronized(this) {
        if (keyStore.containsAlias(alias)) keyStore.deleteEntry(alias)
    }

    private fun strongBoxWanted(sdk: Int): Boolean =
        preferStrongBox && sdk >= Build.VERSION_CODES.P &&
            (packageManager?.hasSystemFeature(PackageManager.FEATURE_STRONGBOX_KEYSTORE) ?: true)

    companion object {
        const val PROVIDER = "AndroidKeyStore"

        /** Android 15: the first release whose unlocked-device-required keys behave as documented. */
        const val UNLOCKED_DEVICE_REQUIRED_MIN_SDK = 35

        /** Generates [spec]'s key in the `AndroidKeyStore` provider. */
        @JvmStatic
        fun generateInAndroidKeyStore(spec: KeyGenParameterSpec): SecretKey {
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
            if (strongBox && sdkInt >= Build.VERSION_CODES.P) builder.setIsStrongBoxBacked(true)
            if (protection == KeyProtection.DEVICE && sdkInt >= UNLOCKED_DEVICE_REQUIRED_MIN_SDK) {
                builder.setUnlockedDeviceRequired(true)
            }
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
