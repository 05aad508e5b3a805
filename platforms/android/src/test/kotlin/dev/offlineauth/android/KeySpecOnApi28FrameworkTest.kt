package dev.offlineauth.android

import android.security.keystore.KeyProperties
import dev.offlineauth.KeyProtection
import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/**
 * The key parameters on API 28-29, as the framework of that level stores them.
 *
 * Surefire runs this class twice: with the rest of the suite against the API 34
 * framework, and in the execution `framework-api28` against Android 9's own
 * framework classes (system property `offlineauth.framework.api` = 28), where
 * `KeyGenParameterSpec.Builder` is the API 28 implementation. Only methods that
 * exist on API 28 are called here.
 */
class KeySpecOnApi28FrameworkTest {
    private val framework = System.getProperty("offlineauth.framework.api")?.toInt() ?: 34

    @Test
    fun `the framework under test is the one this run asked for`() {
        // API 30 added KeyGenParameterSpec.getUserAuthenticationType.
        val hasAuthType = runCatching {
            android.security.keystore.KeyGenParameterSpec::class.java.getMethod("getUserAuthenticationType")
        }.isSuccess
        assertEquals(framework >= 30, hasAuthType, "framework API $framework")
    }

    @Test
    fun `API 28 device key - AES-256-GCM in the TEE, no unlocked-device flag`() {
        val spec = AndroidKeyStoreKeySource.keySpec("a", KeyProtection.DEVICE, strongBox = false, sdkInt = 28)
        assertEquals(256, spec.keySize)
        assertArrayEquals(arrayOf(KeyProperties.BLOCK_MODE_GCM), spec.blockModes)
        assertTrue(spec.isRandomizedEncryptionRequired)
        assertFalse(spec.isUnlockedDeviceRequired)
        assertFalse(spec.isStrongBoxBacked)
        assertFalse(spec.isUserAuthenticationRequired)
        assertTrue(AndroidKeyStoreKeySource.keySpec("a", KeyProtection.DEVICE, strongBox = true, sdkInt = 28).isStrongBoxBacked)
    }

    @Test
    fun `API 28-29 biometric key - auth for every use, invalidated by enrolment`() {
        for (sdk in listOf(28, 29)) {
            val spec = AndroidKeyStoreKeySource.keySpec("b", KeyProtection.BIOMETRIC, strongBox = false, sdkInt = sdk)
            assertTrue(spec.isUserAuthenticationRequired)
            assertTrue(spec.isInvalidatedByBiometricEnrollment)
            assertFalse(spec.isUnlockedDeviceRequired)
            // API 28-29 store "every use" as -1; the API 30+ framework stores the
            // same request as 0 seconds with AUTH_BIOMETRIC_STRONG.
            val expected = if (framework >= 30) 0 else -1
            assertEquals(expected, spec.userAuthenticationValidityDurationSeconds, "API $sdk on framework $framework")
        }
    }
}
