package dev.offlineauth.android

import android.content.Context
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyPermanentlyInvalidatedException
import android.security.keystore.StrongBoxUnavailableException
import dev.offlineauth.KeyProtection
import dev.offlineauth.KeystoreException
import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import java.lang.ref.WeakReference
import java.security.InvalidKeyException
import java.security.ProviderException
import java.security.UnrecoverableKeyException
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey

/**
 * One test per device defect of the Android adapter, each over fakes that throw
 * what devices throw, where they throw it (see SoftwareKeySource).
 */
class DeviceDefectsTest {
    private val alias = "offline-auth.0123abcd.device.9f8e7d6c"
    private val secret = ByteArray(32) { it.toByte() }
    private val keys = SoftwareKeySource()
    private val prompt = ScriptedPrompt()
    private val keystore = AndroidKeystore(keys, prompt) { false }

    /** A key generator that fails StrongBox specs with [strongBoxError] and records every spec. */
    private class Generator(private val strongBoxError: Exception?) : (KeyGenParameterSpec) -> SecretKey {
        val specs = mutableListOf<KeyGenParameterSpec>()
        override fun invoke(spec: KeyGenParameterSpec): SecretKey {
            specs += spec
            if (spec.isStrongBoxBacked && strongBoxError != null) throw strongBoxError
            return KeyGenerator.getInstance("AES").apply { init(256) }.generateKey()
        }
    }

    @Test
    fun `unlocked-device-required is set only on API 35+ device keys and never on the biometric key`() {
        for (sdk in listOf(28, 29, 31, 34)) {
            for (p in KeyProtection.entries) {
                val spec = AndroidKeyStoreKeySource.keySpec("a", p, strongBox = false, sdkInt = sdk)
                assertFalse(spec.isUnlockedDeviceRequired, "API $sdk $p")
            }
        }
        assertTrue(AndroidKeyStoreKeySource.keySpec("a", KeyProtection.DEVICE, strongBox = false, sdkInt = 35).isUnlockedDeviceRequired)
        assertFalse(AndroidKeyStoreKeySource.keySpec("a", KeyProtection.BIOMETRIC, strongBox = false, sdkInt = 35).isUnlockedDeviceRequired)
    }

    @Test
    fun `a ProviderException from StrongBox generation retries in the TEE`() {
        val generator = Generator(ProviderException("Keystore key generation failed"))
        val source = AndroidKeyStoreKeySource(null, true, { 34 }, generator)
        source.create(alias, KeyProtection.DEVICE)
        assertEquals(listOf(true, false), generator.specs.map { it.isStrongBoxBacked })
    }

    @Test
    fun `a StrongBoxUnavailableException still retries in the TEE`() {
        val generator = Generator(StrongBoxUnavailableException())
        AndroidKeyStoreKeySource(null, true, { 34 }, generator).create(alias, KeyProtection.BIOMETRIC)
        assertEquals(listOf(true, false), generator.specs.map { it.isStrongBoxBacked })
    }

    @Test
    fun `StrongBox is opt-in - the default key source and create() never try it`() {
        assertFalse(AndroidKeyStoreKeySource(null).strongBoxPreferred)
        val generator = Generator(null)
        AndroidKeyStoreKeySource(null, false, { 34 }, generator).create(alias, KeyProtection.DEVICE)
        assertEquals(listOf(false), generator.specs.map { it.isStrongBoxBacked })
    }

    @Test
    fun `a transient UnrecoverableKeyException is Failed, keeps biometrics, and the retry succeeds`() {
        val blob = keystore.wrap(alias, KeyProtection.BIOMETRIC, secret)
        keys.transientFailures = 1
        assertThrows<KeystoreException.Failed> { keystore.unwrap(alias, KeyProtection.BIOMETRIC, blob) }
        assertArrayEquals(secret, keystore.unwrap(alias, KeyProtection.BIOMETRIC, blob))
    }

    @Test
    fun `only KeyPermanentlyInvalidatedException, also deep in a cause chain, is KeyInvalidated`() {
        assertTrue(KeystoreErrors.fromThrowable(UnrecoverableKeyException("busy")) is KeystoreException.Failed)
        val wrapped = InvalidKeyException("init", UnrecoverableKeyException("x").apply { initCause(KeyPermanentlyInvalidatedException()) })
        assertTrue(KeystoreErrors.fromThrowable(wrapped) is KeystoreException.KeyInvalidated)
        val blob = keystore.wrap(alias, KeyProtection.BIOMETRIC, secret)
        keys.invalidated = true
        assertThrows<KeystoreException.KeyInvalidated> { keystore.unwrap(alias, KeyProtection.BIOMETRIC, blob) }
    }

    /**
     * API 31+ `AndroidKeyStoreSpi.engineGetKey`: `catch (KeyPermanentlyInvalidatedException e)
     * { throw new UnrecoverableKeyException(e.getMessage()); }` - AOSP's invalidation text
     * and no cause. A changed fingerprint set must read as KeyInvalidated (the core then
     * turns biometrics off), and a lost device key too (the core says DeviceKeyLost).
     */
    @Test
    fun `an API 31+ getKey invalidation without a cause is KeyInvalidated, not a transient failure`() {
        val fromGetKey = UnrecoverableKeyException("User changed or deleted their auth credentials")
        assertEquals(null, fromGetKey.cause)
        for (protection in KeyProtection.entries) {
            val blob = keystore.wrap(alias, protection, secret)
            keys.lookupFailure = fromGetKey
            assertThrows<KeystoreException.KeyInvalidated>("$protection") { keystore.unwrap(alias, protection, blob) }
            keys.lookupFailure = null
        }
    }

    /**
     * Issue 23 item 6: a device key lost with the lock screen reaches the core as
     * KeyInvalidated (permanently invalidated) or KeyNotFound (deleted), the two
     * errors the core reports as DeviceKeyLost for a Device key; a locked
     * screen (API 35 unlocked-device keys) stays Failed, which the core never wipes on.
     */
    @Test
    fun `a lost device key is KeyInvalidated or KeyNotFound and a locked screen is Failed`() {
        val blob = keystore.wrap(alias, KeyProtection.DEVICE, secret)
        keys.invalidated = true
        assertThrows<KeystoreException.KeyInvalidated> { keystore.unwrap(alias, KeyProtection.DEVICE, blob) }
        keys.invalidated = false
        keys.cipherInitFailure = android.security.keystore.UserNotAuthenticatedException()
        assertThrows<KeystoreException.Failed> { keystore.unwrap(alias, KeyProtection.DEVICE, blob) }
        keys.cipherInitFailure = null
        keys.delete(alias)
        assertThrows<KeystoreException.KeyNotFound> { keystore.unwrap(alias, KeyProtection.DEVICE, blob) }
    }

    @Test
    fun `an API 31+ getKey failure with the keystore's cause, or another text, stays Failed`() {
        val blob = keystore.wrap(alias, KeyProtection.DEVICE, secret)
        // AOSP's transient shape: its own text, the keystore's exception as the cause.
        keys.lookupFailure = UnrecoverableKeyException("Failed to obtain information about key")
            .apply { initCause(java.security.KeyStoreException("system error")) }
        assertThrows<KeystoreException.Failed> { keystore.unwrap(alias, KeyProtection.DEVICE, blob) }
        // The invalidation text with a cause is not the API 31+ rethrow either.
        keys.lookupFailure = UnrecoverableKeyException("User changed or deleted their auth credentials")
            .apply { initCause(java.security.KeyStoreException("system error")) }
        assertThrows<KeystoreException.Failed> { keystore.unwrap(alias, KeyProtection.DEVICE, blob) }
        keys.lookupFailure = UnrecoverableKeyException("Key algorithm unknown")
        assertThrows<KeystoreException.Failed> { keystore.unwrap(alias, KeyProtection.DEVICE, blob) }
        keys.lookupFailure = null
        assertArrayEquals(secret, keystore.unwrap(alias, KeyProtection.DEVICE, blob))
    }

    @Test
    fun `a key this wrap created is deleted when the enable prompt is cancelled`() {
        prompt.answer = { throw KeystoreException.UserCancelled() }
        assertThrows<KeystoreException.UserCancelled> { keystore.wrap(alias, KeyProtection.BIOMETRIC, secret) }
        assertTrue(keys.keys.isEmpty(), "orphaned key left behind")
    }

    @Test
    fun `a key that existed before a failed wrap survives it`() {
        val blob = keystore.wrap(alias, KeyProtection.BIOMETRIC, secret)
        prompt.answer = { throw KeystoreException.UserCancelled() }
        assertThrows<KeystoreException.UserCancelled> { keystore.wrap(alias, KeyProtection.BIOMETRIC, secret) }
        prompt.answer = { it }
        assertArrayEquals(secret, keystore.unwrap(alias, KeyProtection.BIOMETRIC, blob))
    }

    @Test
    fun `the production keystore's parts hold no Activity or Context, and the tracker holds it weakly`() {
        for (type in listOf(PlatformBiometricPrompt::class.java, AndroidKeyStoreKeySource::class.java, AndroidKeystore::class.java)) {
            for (field in type.declaredFields) {
                assertFalse(Context::class.java.isAssignableFrom(field.type), "${type.simpleName}.${field.name} keeps a ${field.type.name}")
            }
        }
        val fields = ForegroundActivity::class.java.declaredFields.filter { !java.lang.reflect.Modifier.isStatic(it.modifiers) }
        assertEquals(listOf(WeakReference::class.java), fields.map { it.type })
    }

    @Test
    fun `an invalidation thrown by Cipher init is KeyInvalidated and a keystore hiccup there is Failed`() {
        val blob = keystore.wrap(alias, KeyProtection.BIOMETRIC, secret)
        keys.cipherInitFailure = KeyPermanentlyInvalidatedException()
        assertThrows<KeystoreException.KeyInvalidated> { keystore.unwrap(alias, KeyProtection.BIOMETRIC, blob) }
        keys.cipherInitFailure = ProviderException("Keystore operation failed")
        assertThrows<KeystoreException.Failed> { keystore.unwrap(alias, KeyProtection.BIOMETRIC, blob) }
        keys.cipherInitFailure = null
        assertArrayEquals(secret, keystore.unwrap(alias, KeyProtection.BIOMETRIC, blob))
    }
}
