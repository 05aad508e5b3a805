package dev.offlineauth.android

import android.hardware.biometrics.BiometricPrompt
import android.security.keystore.KeyPermanentlyInvalidatedException
import android.security.keystore.KeyProperties
import dev.offlineauth.KeyProtection
import dev.offlineauth.KeystoreException
import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertSame
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import java.security.InvalidKeyException
import java.security.ProviderException
import java.security.UnrecoverableKeyException
import javax.crypto.AEADBadTagException
import javax.crypto.Cipher
import javax.crypto.IllegalBlockSizeException
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey

/**
 * What runs on a plain JVM: the blob format, argument checks, error mapping,
 * the key parameters, and AndroidKeystore's wrap/unwrap logic over a software
 * [KeySource] with a scripted [BiometricAuthenticator]. The AndroidKeyStore
 * provider and the real prompt need a device (see platforms/android/README.md).
 */
class SoftwareKeySource : KeySource {
    val keys = HashMap<String, Pair<KeyProtection, SecretKey>>()
    var invalidated = false

    /** How many coming lookups fail as Android 12+ keystores do on a hiccup. */
    var transientFailures = 0

    /** Thrown by the key when `Cipher.init` uses it, as device keystores throw there. */
    var cipherInitFailure: Exception? = null

    /** Thrown by every coming lookup (`KeyStore.getKey`), exactly as a device throws it. */
    var lookupFailure: Exception? = null

    override fun find(alias: String): SecretKey? {
        lookupFailure?.let { throw it }
        // Devices wrap invalidation in the exception a keystore lookup throws.
        if (invalidated) throw UnrecoverableKeyException("key gone").apply { initCause(KeyPermanentlyInvalidatedException()) }
        if (transientFailures > 0) {
            transientFailures--
            throw UnrecoverableKeyException("Failed to obtain information about key")
        }
        val key = keys[alias]?.second ?: return null
        return cipherInitFailure?.let { FailsInCipherInit(key, it) } ?: key
    }

    override fun create(alias: String, protection: KeyProtection): SecretKey =
        KeyGenerator.getInstance("AES").apply { init(256) }.generateKey().also { keys[alias] = protection to it }

    override fun delete(alias: String) {
        keys.remove(alias)
    }
}

/** A key whose use by `Cipher.init` throws [error]. */
class FailsInCipherInit(private val inner: SecretKey, private val error: Exception) : SecretKey {
    override fun getAlgorithm(): String = inner.algorithm
    override fun getFormat(): String = inner.format
    override fun getEncoded(): ByteArray = throw error
}

class ScriptedPrompt(var answer: (Cipher) -> Cipher = { it }) : BiometricAuthenticator {
    val purposes = mutableListOf<BiometricPurpose>()
    override fun authenticate(cipher: Cipher, purpose: BiometricPurpose): Cipher {
        purposes += purpose
        return answer(cipher)
    }
}

class AndroidKeystoreTest {
    private val alias = "offline-auth.0123abcd.device.9f8e7d6c"
    private val secret = ByteArray(32) { it.toByte() }
    private val keys = SoftwareKeySource()
    private val prompt = ScriptedPrompt()
    private var onMain = false
    private val keystore = AndroidKeystore(keys, prompt) { onMain }

    @Test
    fun `device wrap and unwrap round trip without a prompt`() {
        val blob = keystore.wrap(alias, KeyProtection.DEVICE, secret)
        assertEquals(WrappedBlob.HEADER_BYTES + 32 + WrappedBlob.TAG_BYTES, blob.size)
        assertEquals(WrappedBlob.VERSION, blob[0])
        assertEquals(0x01.toByte(), blob[1])
        assertArrayEquals(secret, keystore.unwrap(alias, KeyProtection.DEVICE, blob))
        assertTrue(prompt.purposes.isEmpty())
        // A fresh IV per wrap.
        assertFalse(blob.contentEquals(keystore.wrap(alias, KeyProtection.DEVICE, secret)))
    }

    @Test
    fun `biometric wrap and unwrap go through the prompt's cipher`() {
        val blob = keystore.wrap(alias, KeyProtection.BIOMETRIC, secret)
        assertEquals(0x02.toByte(), blob[1])
        assertArrayEquals(secret, keystore.unwrap(alias, KeyProtection.BIOMETRIC, blob))
        assertEquals(listOf(BiometricPurpose.ENABLE, BiometricPurpose.UNLOCK), prompt.purposes)
    }

    @Test
    fun `a cancelled prompt is UserCancelled`() {
        val blob = keystore.wrap(alias, KeyProtection.BIOMETRIC, secret)
        prompt.answer = { throw KeystoreException.UserCancelled() }
        assertThrows<KeystoreException.UserCancelled> { keystore.unwrap(alias, KeyProtection.BIOMETRIC, blob) }
    }

    @Test
    fun `biometric operations on the main thread are refused, not deadlocked`() {
        val blob = keystore.wrap(alias, KeyProtection.BIOMETRIC, secret)
        onMain = true
        val e = assertThrows<KeystoreException.Failed> { keystore.unwrap(alias, KeyProtection.BIOMETRIC, blob) }
        assertTrue(e.reason.contains("main thread"))
        assertEquals(1, prompt.purposes.size)
        // Device keys need no prompt and still work (the vault should be off the main thread anyway).
        val device = keystore.wrap("d", KeyProtection.DEVICE, secret)
        assertArrayEquals(secret, keystore.unwrap("d", KeyProtection.DEVICE, device))
    }

    @Test
    fun `an invalidated key is KeyInvalidated`() {
        val blob = keystore.wrap(alias, KeyProtection.BIOMETRIC, secret)
        keys.invalidated = true
        assertThrows<KeystoreException.KeyInvalidated> { keystore.unwrap(alias, KeyProtection.BIOMETRIC, blob) }
    }

    @Test
    fun `missing, deleted and foreign keys`() {
        val blob = keystore.wrap(alias, KeyProtection.DEVICE, secret)
        assertThrows<KeystoreException.KeyNotFound> { keystore.unwrap("other", KeyProtection.DEVICE, blob) }
        keystore.deleteKey(alias)
        keystore.deleteKey(alias) // deleting a missing key succeeds
        assertThrows<KeystoreException.KeyNotFound> { keystore.unwrap(alias, KeyProtection.DEVICE, blob) }
        // Another keystore's key under the same alias: the tag does not verify.
        val other = AndroidKeystore(SoftwareKeySource(), prompt) { false }
        other.wrap(alias, KeyProtection.DEVICE, secret)
        val mine = keystore.wrap(alias, KeyProtection.DEVICE, secret)
        assertThrows<KeystoreException.UnwrapFailed> { other.unwrap(alias, KeyProtection.DEVICE, mine) }
    }

    @Test
    fun `blobs are bound to alias and protection, and every flipped byte is caught`() {
        val blob = keystore.wrap(alias, KeyProtection.DEVICE, secret)
        // Same key under a second alias (as a mix-up would look): AAD differs.
        keys.keys["twin"] = keys.keys.getValue(alias)
        assertThrows<KeystoreException.UnwrapFailed> { keystore.unwrap("twin", KeyProtection.DEVICE, blob) }
        assertThrows<KeystoreException.UnwrapFailed> { keystore.unwrap(alias, KeyProtection.BIOMETRIC, blob) }
        for (i in blob.indices) {
            val bad = blob.copyOf().also { it[i] = (it[i].toInt() xor 0x01).toByte() }
            assertThrows<KeystoreException.UnwrapFailed>("byte $i") { keystore.unwrap(alias, KeyProtection.DEVICE, bad) }
        }
        assertThrows<KeystoreException.UnwrapFailed> { keystore.unwrap(alias, KeyProtection.DEVICE, blob.copyOf(blob.size - 1)) }
        assertThrows<KeystoreException.UnwrapFailed> { keystore.unwrap(alias, KeyProtection.DEVICE, ByteArray(0)) }
    }

    @Test
    fun `arguments are validated before the keystore is touched`() {
        for (badAlias in listOf("", "a b", "a\u0000b", "x".repeat(Validation.MAX_ALIAS_CHARS + 1))) {
            assertThrows<KeystoreException.Failed> { keystore.wrap(badAlias, KeyProtection.DEVICE, secret) }
            assertThrows<KeystoreException.Failed> { keystore.deleteKey(badAlias) }
        }
        assertThrows<KeystoreException.Failed> { keystore.wrap(alias, KeyProtection.DEVICE, ByteArray(0)) }
        assertThrows<KeystoreException.Failed> {
            keystore.wrap(alias, KeyProtection.DEVICE, ByteArray(WrappedBlob.MAX_PLAINTEXT_BYTES + 1))
        }
        assertTrue(keys.keys.isEmpty())
        keystore.wrap("x".repeat(Validation.MAX_ALIAS_CHARS), KeyProtection.DEVICE, ByteArray(WrappedBlob.MAX_PLAINTEXT_BYTES))
    }
}

class WrappedBlobTest {
    @Test
    fun `encode and decode`() {
        val iv = ByteArray(12) { 7 }
        val ct = ByteArray(48) { 9 }
        val blob = WrappedBlob.encode(KeyProtection.BIOMETRIC, iv, ct)
        assertEquals(2 + 12 + 48, blob.size)
        val parts = WrappedBlob.decode(blob)
        assertEquals(KeyProtection.BIOMETRIC, parts.protection)
        assertArrayEquals(iv, parts.iv)
        assertArrayEquals(ct, parts.ciphertext)
    }

    @Test
    fun `unknown versions, protections and lengths are UnwrapFailed`() {
        val blob = WrappedBlob.encode(KeyProtection.DEVICE, ByteArray(12), ByteArray(48))
        assertThrows<KeystoreException.UnwrapFailed> { WrappedBlob.decode(blob.copyOf().also { it[0] = 2 }) }
        assertThrows<KeystoreException.UnwrapFailed> { WrappedBlob.decode(blob.copyOf().also { it[1] = 3 }) }
        assertThrows<KeystoreException.UnwrapFailed> { WrappedBlob.decode(ByteArray(WrappedBlob.MIN_BLOB_BYTES - 1) { 1 }) }
        assertThrows<KeystoreException.UnwrapFailed> { WrappedBlob.decode(ByteArray(WrappedBlob.MAX_BLOB_BYTES + 1) { 1 }) }
    }

    @Test
    fun `a wrong-length IV from the keystore is refused`() {
        assertThrows<IllegalArgumentException> { WrappedBlob.encode(KeyProtection.DEVICE, ByteArray(16), ByteArray(48)) }
    }

    @Test
    fun `associated data differs by alias and protection`() {
        val a = WrappedBlob.aad("a", KeyProtection.DEVICE)
        assertFalse(a.contentEquals(WrappedBlob.aad("b", KeyProtection.DEVICE)))
        assertFalse(a.contentEquals(WrappedBlob.aad("a", KeyProtection.BIOMETRIC)))
        assertTrue(String(a, Charsets.ISO_8859_1).startsWith("offline-auth/android-keystore\u0000\u0001\u0001"))
    }
}

class KeystoreErrorsTest {
    @Test
    fun `platform exceptions map to the trait's errors`() {
        assertTrue(KeystoreErrors.fromThrowable(KeyPermanentlyInvalidatedException()) is KeystoreException.KeyInvalidated)
        // Wrapped, as Android sometimes reports it.
        assertTrue(KeystoreErrors.fromThrowable(InvalidKeyException("init", KeyPermanentlyInvalidatedException())) is KeystoreException.KeyInvalidated)
        assertTrue(KeystoreErrors.fromThrowable(AEADBadTagException()) is KeystoreException.UnwrapFailed)
        val cancelled = KeystoreException.UserCancelled()
        // (A message of its own: the cause-only constructor would print the cause, a Rust call.)
        assertSame(cancelled, KeystoreErrors.fromThrowable(ProviderException("wrapped", cancelled)))
        val other = KeystoreErrors.fromThrowable(IllegalBlockSizeException("secret detail 0xDEADBEEF"))
        assertTrue(other is KeystoreException.Failed)
        // The reason names the class, never the platform's message.
        assertEquals("platform keystore failure: javax.crypto.IllegalBlockSizeException", (other as KeystoreException.Failed).reason)
    }

    @Test
    fun `biometric prompt errors`() {
        for (code in listOf(
            BiometricPrompt.BIOMETRIC_ERROR_USER_CANCELED,
            BiometricPrompt.BIOMETRIC_ERROR_CANCELED,
            BiometricPrompt.BIOMETRIC_ERROR_TIMEOUT,
            BiometricPrompt.BIOMETRIC_ERROR_NEGATIVE_BUTTON,
        )) {
            assertTrue(KeystoreErrors.fromBiometricError(code) is KeystoreException.UserCancelled, "code $code")
        }
        for (code in listOf(
            BiometricPrompt.BIOMETRIC_ERROR_LOCKOUT,
            BiometricPrompt.BIOMETRIC_ERROR_LOCKOUT_PERMANENT,
            BiometricPrompt.BIOMETRIC_ERROR_NO_BIOMETRICS,
            BiometricPrompt.BIOMETRIC_ERROR_HW_UNAVAILABLE,
            BiometricPrompt.BIOMETRIC_ERROR_HW_NOT_PRESENT,
            999,
        )) {
            assertTrue(KeystoreErrors.fromBiometricError(code) is KeystoreException.Failed, "code $code")
        }
    }
}

class KeySpecTest {
    @Test
    fun `device keys - AES-256-GCM, unlocked device on API 35, StrongBox when asked, no user auth`() {
        val spec = AndroidKeyStoreKeySource.keySpec("a", KeyProtection.DEVICE, strongBox = true, sdkInt = 35)
        assertEquals(256, spec.keySize)
        assertArrayEquals(arrayOf(KeyProperties.BLOCK_MODE_GCM), spec.blockModes)
        assertArrayEquals(arrayOf(KeyProperties.ENCRYPTION_PADDING_NONE), spec.encryptionPaddings)
        assertTrue(spec.isRandomizedEncryptionRequired)
        assertTrue(spec.isUnlockedDeviceRequired)
        assertTrue(spec.isStrongBoxBacked)
        assertFalse(spec.isUserAuthenticationRequired)
        assertFalse(AndroidKeyStoreKeySource.keySpec("a", KeyProtection.DEVICE, strongBox = false, sdkInt = 35).isStrongBoxBacked)
    }

    @Test
    fun `biometric keys - every use, strong biometrics, invalidated by enrolment`() {
        val spec = AndroidKeyStoreKeySource.keySpec("b", KeyProtection.BIOMETRIC, strongBox = false, sdkInt = 34)
        assertTrue(spec.isUserAuthenticationRequired)
        assertEquals(0, spec.userAuthenticationValidityDurationSeconds)
        assertEquals(KeyProperties.AUTH_BIOMETRIC_STRONG, spec.userAuthenticationType)
        assertTrue(spec.isInvalidatedByBiometricEnrollment)
        val old = AndroidKeyStoreKeySource.keySpec("b", KeyProtection.BIOMETRIC, strongBox = false, sdkInt = 29)
        assertTrue(old.isUserAuthenticationRequired)
        // The API 28-29 path (validity -1) means the same: the API 34 framework in
        // android-all stores it as (0, AUTH_BIOMETRIC_STRONG).
        assertEquals(0, old.userAuthenticationValidityDurationSeconds)
        assertEquals(KeyProperties.AUTH_BIOMETRIC_STRONG, old.userAuthenticationType)
        assertTrue(old.isInvalidatedByBiometricEnrollment)
    }
}
