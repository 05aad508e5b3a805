package dev.offlineauth.android

import android.os.Build
import android.security.keystore.KeyGenParameterSpec
import dev.offlineauth.KeyProtection
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Tag
import org.junit.jupiter.api.Test

/**
 * The API 28-29 branch of the key parameters, run (surefire execution api-28)
 * against Robolectric's android-all for Android 9, so the builder calls made
 * there exist on API 28 and mean there what the code expects. Only API 28
 * methods may be used here (no getUserAuthenticationType).
 */
@Tag("api28")
class Api28KeySpecTest {
    @Test
    fun `the test classpath carries the API 28 framework`() {
        // KeyGenParameterSpec.Builder.setUserAuthenticationParameters arrived in API 30.
        assertFalse(KeyGenParameterSpec.Builder::class.java.methods.any { it.name == "setUserAuthenticationParameters" })
        assertTrue(KeyGenParameterSpec.Builder::class.java.methods.any { it.name == "setIsStrongBoxBacked" })
        assertEquals(28, Build.VERSION_CODES.P)
    }

    @Test
    fun `API 28 biometric key - auth for every use, invalidated by enrolment, no unlocked-device flag`() {
        for (sdk in listOf(28, 29)) {
            val spec = AndroidKeyStoreKeySource.keySpec("b", KeyProtection.BIOMETRIC, strongBox = true, sdkInt = sdk)
            assertTrue(spec.isUserAuthenticationRequired)
            // On API 28-29, -1 is how "every use" is stored and read back.
            assertEquals(-1, spec.userAuthenticationValidityDurationSeconds)
            assertTrue(spec.isInvalidatedByBiometricEnrollment)
            assertTrue(spec.isStrongBoxBacked)
            assertFalse(spec.isUnlockedDeviceRequired)
        }
    }

    @Test
    fun `API 28 device key - StrongBox only when asked, no user auth, no unlocked-device flag`() {
        val spec = AndroidKeyStoreKeySource.keySpec("a", KeyProtection.DEVICE, strongBox = false, sdkInt = 28)
        assertEquals(256, spec.keySize)
        assertFalse(spec.isStrongBoxBacked)
        assertFalse(spec.isUserAuthenticationRequired)
        assertFalse(spec.isUnlockedDeviceRequired)
        assertTrue(spec.isRandomizedEncryptionRequired)
    }
}
