package dev.offlineauth.android

import android.content.Context
import android.content.pm.PackageManager
import android.os.Build
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import android.security.keystore.StrongBoxUnavailableException
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
 * - StrongBox (a separate secure element) when the device declares
 *   `FEATURE_STRONGBOX_KEYSTORE`, falling back to the TEE when key generation
 *   throws [StrongBoxUnavailableException] (API 28+).
 * - `setUnlockedDeviceRequired(true)` (API 28+): the key decrypts nothing while
 *   the device is locked.
 * - [KeyProtection.BIOMETRIC]: `setUserAuthenticationRequired(true)` for every
 *   use (timeout 0) by a Class 3 (`BIOMETRIC_STRONG`) biometric
 *   (`setUserAuthenticationParameters(0, AUTH_BIOMETRIC_STRONG)` on API 30+,
 *   validity -1 before), `setInvalidatedByBiometricEnrollment(true)`: enrolling a
 *   new fingerprint or face destroys the key (→ `KeyPermanentlyInvalidatedException`).
 *   Such a key requires a secure lock screen and can only be used through a
 *   `BiometricPrompt.CryptoObject`.
 *
 * @param context any context (the application context is kept); null skips the
 *   StrongBox feature check and simply tries StrongBox first.
 */
class AndroidKeyStoreKeySource @JvmOverloads constructor(
    context: Context?,
    private val preferStrongBox: Boolean = true,
) : KeySource {
    private val packageManager: PackageManager? = context?.applicationContext?.packageManager
    private val keyStore: KeyStore by lazy { KeyStore.getInstance(PROVIDER).apply { load(null) } }

    override fun find(alias: String): SecretKey? = synchronized(this) {
        keyStore.getKey(alias, null) as SecretKey?
    }

    override fun create(alias: String, protection: KeyProtection): SecretKey = synchronized(this) {
        val sdk = Build.VERSION.SDK_INT
        if (strongBoxWanted(sdk)) {
            try {
                return generate(keySpec(alias, protection, strongBox = true, sdkInt = sdk))
            } catch (e: StrongBoxUnavailableException) {
                // Declared but unusable for this key: fall back to the TEE below.
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

    private fun generate(spec: KeyGenParameterSpec): SecretKey {
        val generator = KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, PROVIDER)
        generator.init(spec)
        return generator.generateKey()
    }

    companion object {
        const val PROVIDER = "AndroidKeyStore"

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
            if (sdkInt >= Build.VERSION_CODES.P) {
                builder.setUnlockedDeviceRequired(true)
                if (strongBox) builder.setIsStrongBoxBacked(true)
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
