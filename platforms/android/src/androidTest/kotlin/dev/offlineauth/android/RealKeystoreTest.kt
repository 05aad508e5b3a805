package dev.offlineauth.android

import androidx.test.ext.junit.runners.AndroidJUnit4
import androidx.test.platform.app.InstrumentationRegistry
import dev.offlineauth.KeyProtection
import dev.offlineauth.KeystoreException
import org.junit.After
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertNull
import org.junit.Assert.fail
import org.junit.Test
import org.junit.runner.RunWith

/**
 * The adapter on a real AndroidKeyStore (emulators API 28, 31, 35 in
 * .github/workflows/android.yml). Runs on the instrumentation thread, never the
 * main thread. Emulators have no StrongBox and cannot enrol a new fingerprint
 * from a test: invalidation is covered by the JVM tests' error mapping only.
 */
@RunWith(AndroidJUnit4::class)
class RealKeystoreTest {
    private val context = InstrumentationRegistry.getInstrumentation().targetContext
    private val keys = AndroidKeyStoreKeySource(context)
    private val keystore = AndroidKeystore(keys, null) { false }
    private val secret = ByteArray(32) { (it * 7).toByte() }
    private val aliases = listOf("offline-auth.test.device.1", "offline-auth.test.device.2", "offline-auth.test.bio")

    @After
    fun cleanUp() = aliases.forEach { keys.delete(it) }

    @Test
    fun deviceKeyIsCreatedInTheKeystoreAndRoundTrips() {
        val blob = keystore.wrap(aliases[0], KeyProtection.DEVICE, secret)
        assertNotNull(keys.find(aliases[0]))
        assertArrayEquals(secret, keystore.unwrap(aliases[0], KeyProtection.DEVICE, blob))
    }

    @Test
    fun perAttemptRotationLeavesOnlyTheNewKey() {
        val first = keystore.wrap(aliases[0], KeyProtection.DEVICE, secret)
        // What the core does on each PIN attempt: open under the old key, seal under a new one, delete the old.
        val opened = keystore.unwrap(aliases[0], KeyProtection.DEVICE, first)
        val second = keystore.wrap(aliases[1], KeyProtection.DEVICE, opened)
        keystore.deleteKey(aliases[0])
        assertNull(keys.find(aliases[0]))
        assertArrayEquals(secret, keystore.unwrap(aliases[1], KeyProtection.DEVICE, second))
        try {
            keystore.unwrap(aliases[0], KeyProtection.DEVICE, first)
            fail("the rotated-away key still opened its blob")
        } catch (expected: KeystoreException.KeyNotFound) {
        }
    }

    @Test
    fun deletedKeyIsGoneAndDeletingAgainSucceeds() {
        keystore.wrap(aliases[0], KeyProtection.DEVICE, secret)
        keystore.deleteKey(aliases[0])
        keystore.deleteKey(aliases[0])
        assertNull(keys.find(aliases[0]))
    }

    @Test
    fun biometricWrapWithoutAPromptFailsAndLeavesNoKey() {
        // No authenticator: creation may succeed (secure lock screen set) or fail
        // (none set); either way the failed wrap must leave no key behind.
        try {
            keystore.wrap(aliases[2], KeyProtection.BIOMETRIC, secret)
            fail("a biometric key was used without authentication")
        } catch (expected: KeystoreException.Failed) {
        }
        assertNull(keys.find(aliases[2]))
    }
}
