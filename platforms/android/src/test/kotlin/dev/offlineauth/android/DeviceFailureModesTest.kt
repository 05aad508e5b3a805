package dev.offlineauth.android

import android.content.Context
import android.content.ContextWrapper
import android.content.pm.PackageManager
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyPermanentlyInvalidatedException
import android.security.keystore.StrongBoxUnavailableException
import dev.offlineauth.KeyProtection
import dev.offlineauth.KeystoreException
import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import java.lang.reflect.Modifier
import java.security.ProviderException
import java.security.UnrecoverableKeyException
import java.util.IdentityHashMap
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey

/**
 * What real devices throw, and where, replayed on the JVM: StrongBox failing in
 * either of its two ways, transient keystore errors, a prompt cancelled after
 * the key was made, and an Activity context handed to `create`.
 */
class DeviceFailureModesTest {
    private val secret = ByteArray(32) { (it * 7).toByte() }

    /** A generator that records every spec and fails StrongBox as [strongBoxFailure] says. */
    private class ScriptedGenerator(val strongBoxFailure: Exception?) : (KeyGenParameterSpec) -> SecretKey {
        val specs = mutableListOf<KeyGenParameterSpec>()
        override fun invoke(spec: KeyGenParameterSpec): SecretKey {
            specs += spec
            if (spec.isStrongBoxBacked && strongBoxFailure != null) throw strongBoxFailure
            return KeyGenerator.getInstance("AES").apply { init(256) }.generateKey()
        }
    }

    @Test
    fun `a StrongBox that fails with ProviderException falls back to the TEE`() {
        // Seen on Pixel 6: not StrongBoxUnavailableException but a ProviderException.
        val generator = ScriptedGenerator(ProviderException("Keystore key generation failed"))
        val source = AndroidKeyStoreKeySource(null, preferStrongBox = true, generateKey = generator, sdkInt = { 34 })
        assertNotNull(source.create("k", KeyProtection.DEVICE))
        assertEquals(listOf(true, false), generator.specs.map { it.isStrongBoxBacked })
    }

    @Test
    fun `a StrongBox that declines falls back to the TEE`() {
        val generator = ScriptedGenerator(StrongBoxUnavailableException("no"))
        val source = AndroidKeyStoreKeySource(null, preferStrongBox = true, generateKey = generator, sdkInt = { 34 })
        assertNotNull(source.create("k", KeyProtection.BIOMETRIC))
        assertEquals(listOf(true, false), generator.specs.map { it.isStrongBoxBacked })
    }

    @Test
    fun `StrongBox is opt-in - by default every key is made in the TEE in one try`() {
        val generator = ScriptedGenerator(null)
        val source = AndroidKeyStoreKeySource(null, generateKey = generator, sdkInt = { 34 })
        source.create("d", KeyProtection.DEVICE)
        source.create("b", KeyProtection.BIOMETRIC)
        assertEquals(listOf(false, false), generator.specs.map { it.isStrongBoxBacked })
    }

    @Test
    fun `a transient UnrecoverableKeyException does not invalidate the biometric key`() {
        val keys = FlakyKeySource()
        val keystore = AndroidKeystore(keys, ScriptedPrompt()) { false }
        val blob = keystore.wrap("bio", KeyProtection.BIOMETRIC, secret)
        keys.failNextFind = UnrecoverableKeyException("keystore busy")
        assertThrows<KeystoreException.Failed> { keystore.unwrap("bio", KeyProtection.BIOMETRIC, blob) }
        // Next try works: nothing was given up.
        assertArrayEquals(secret, keystore.unwrap("bio", KeyProtection.BIOMETRIC, blob))
        keys.failNextFind = KeyPermanentlyInvalidatedException()
        assertThrows<KeystoreException.KeyInvalidated> { keystore.unwrap("bio", KeyProtection.BIOMETRIC, blob) }
    }

    @Test
    fun `a wrap that fails after making its key deletes that key`() {
        val keys = SoftwareKeySource()
        val prompt = ScriptedPrompt { throw KeystoreException.UserCancelled() }
        val keystore = AndroidKeystore(keys, prompt) { false }
        assertThrows<KeystoreException.UserCancelled> { keystore.wrap("bio", KeyProtection.BIOMETRIC, secret) }
        assertNull(keys.keys["bio"], "the cancelled enable left an orphaned key")
    }

    @Test
    fun `a wrap that fails keeps a key that was there before it`() {
        val keys = SoftwareKeySource()
        val prompt = ScriptedPrompt()
        val keystore = AndroidKeystore(keys, prompt) { false }
        val blob = keystore.wrap("bio", KeyProtection.BIOMETRIC, secret)
        prompt.answer = { throw KeystoreException.UserCancelled() }
        assertThrows<KeystoreException.UserCancelled> { keystore.wrap("bio", KeyProtection.BIOMETRIC, secret) }
        prompt.answer = { it }
        assertArrayEquals(secret, keystore.unwrap("bio", KeyProtection.BIOMETRIC, blob))
    }

    @Test
    fun `create keeps no reference to the Activity context it was given`() {
        val app = object : ContextWrapper(null) {
            override fun getApplicationContext(): Context = this
            override fun getPackageManager(): PackageManager? = null
        }
        val screen = object : ContextWrapper(app) {
            override fun getApplicationContext(): Context = app
        }
        val keystore = AndroidKeystore.create(screen)
        assertFalse(reaches(keystore, screen), "the keystore holds the screen's context: every rotation leaks it")
        assertTrue(reaches(keystore, app), "the walk must see the application context (else it proves nothing)")
    }

    /** Whether [target] is strongly reachable from [root] through object fields. */
    private fun reaches(root: Any, target: Any): Boolean {
        val seen = IdentityHashMap<Any, Unit>()
        val queue = ArrayDeque<Any>().apply { add(root) }
        while (queue.isNotEmpty()) {
            val o = queue.removeFirst()
            if (o === target) return true
            if (seen.put(o, Unit) != null || o is Class<*> || o is java.lang.ref.Reference<*>) continue
            var c: Class<*>? = o.javaClass
            if (c!!.isArray) {
                if (!c.componentType.isPrimitive) (o as Array<*>).filterNotNull().forEach(queue::add)
                continue
            }
            while (c != null) {
                for (f in c.declaredFields) {
                    if (Modifier.isStatic(f.modifiers) || f.type.isPrimitive) continue
                    val v = runCatching { f.isAccessible = true; f.get(o) }.getOrNull() ?: continue
                    queue.add(v)
                }
                c = c.superclass
            }
        }
        return false
    }
}

/** A software key source whose next `find` throws what a device's keystore threw. */
class FlakyKeySource : KeySource {
    private val inner = SoftwareKeySource()
    var failNextFind: Exception? = null

    override fun find(alias: String): SecretKey? {
        failNextFind?.let { failNextFind = null; throw it }
        return inner.find(alias)
    }

    override fun create(alias: String, protection: KeyProtection): SecretKey = inner.create(alias, protection)
    override fun delete(alias: String) = inner.delete(alias)
}
