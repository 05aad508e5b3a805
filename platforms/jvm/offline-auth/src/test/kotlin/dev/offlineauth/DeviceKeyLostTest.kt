package dev.offlineauth

import dev.offlineauth.backend.generateSyncKey
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import java.nio.file.Path

/**
 * A device key the platform reports lost reaches Kotlin as
 * [VaultException.DeviceKeyLost] (never `BiometricsInvalidated`), whichever
 * of the two exceptions the keystore throws, and changes nothing.
 */
class DeviceKeyLostTest {
    @TempDir
    lateinit var dir: Path

    /** A Kotlin keystore whose device key is gone, as Android and iOS report it. */
    private class LosingKeystore : JcaKeystore() {
        @Volatile var deviceError: KeystoreException? = null

        override fun unwrap(alias: String, protection: KeyProtection, wrapped: ByteArray): ByteArray {
            if (protection == KeyProtection.DEVICE) deviceError?.let { throw it }
            return super.unwrap(alias, protection, wrapped)
        }
    }

    private fun lostDeviceKeyIsDeviceKeyLost(error: KeystoreException) {
        val keystore = LosingKeystore()
        val clock = FakeClock(FIXED_NOW)
        PinVault.openWithClock(vaultPath(dir), keystore, clock, Backend.config()).use { vault ->
            vault.enroll(PIN, Backend.grant(now = clock.now), generateSyncKey()).use { session ->
                session.enableBiometrics()
                session.lock()
            }
            keystore.deviceError = error
            val byPin = assertThrows<VaultException.DeviceKeyLost> { vault.unlock(PIN) }
            assertThrows<VaultException.DeviceKeyLost> { vault.unlockWithBiometrics() }
            assertTrue(byPin.message!!.contains("wipe"), byPin.message)
            assertTrue(byPin.message!!.contains("enrol again online"), byPin.message)
            val status = vault.status()
            assertTrue(status.biometricsEnabled, "biometrics stay on: the device key is what was lost")
            assertEquals(0u, status.failedAttempts)

            keystore.deviceError = null
            vault.unlock(PIN).close()
        }
    }

    @Test
    fun `an invalidated device key is DeviceKeyLost, not BiometricsInvalidated`() =
        lostDeviceKeyIsDeviceKeyLost(KeystoreException.KeyInvalidated())

    @Test
    fun `a missing device key is DeviceKeyLost`() = lostDeviceKeyIsDeviceKeyLost(KeystoreException.KeyNotFound())
}
