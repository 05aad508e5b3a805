package dev.offlineauth.demo

import dev.offlineauth.KeyProtection
import dev.offlineauth.KeystoreException
import dev.offlineauth.PlatformKeystore
import java.io.File
import java.nio.file.Files
import java.nio.file.StandardCopyOption
import java.security.KeyStore
import java.security.SecureRandom
import javax.crypto.AEADBadTagException
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

/**
 * A [PlatformKeystore] for the JVM demo: AES-256 keys in a PKCS12 file.
 *
 * **NOT HARDWARE-BACKED.** The keys are ordinary bytes in a file protected by a
 * password that sits next to it; anyone who copies both has every key, which
 * defeats the point of the design (threat T1). It exists only so the demo can
 * survive a restart on a desktop JVM. On a phone use `AndroidKeystore`
 * (platforms/android) or `AppleKeystore` (platforms/apple, OfflineAuthApple).
 *
 * Blob: the same layout as AndroidKeystore's (version 0x01, protection byte,
 * 12-byte IV, ciphertext‖tag; alias and protection bound as AAD).
 * `KeyProtection.BIOMETRIC` is accepted but no prompt is shown (the JVM has none).
 */
class Pkcs12Keystore(private val file: File, private val password: CharArray) : PlatformKeystore {
    private val store: KeyStore = KeyStore.getInstance("PKCS12").apply {
        if (file.exists()) file.inputStream().use { load(it, password) } else load(null, null)
    }
    private val entryPassword = KeyStore.PasswordProtection(password)
    private val random = SecureRandom()

    private fun entryName(alias: String, protection: KeyProtection) = "${protection.name.lowercase()}/$alias"

    private fun aad(alias: String, protection: KeyProtection) =
        "offline-auth/pkcs12-demo\u0000".toByteArray() + byteArrayOf(1, protectionByte(protection)) + alias.toByteArray()

    private fun protectionByte(p: KeyProtection): Byte = if (p == KeyProtection.DEVICE) 1 else 2

    /** Writes the whole store to a temp file and renames it over the old one. */
    private fun save() {
        val tmp = File(file.parentFile, file.name + ".tmp")
        tmp.outputStream().use { out ->
            store.store(out, password)
            out.fd.sync()
        }
        Files.move(tmp.toPath(), file.toPath(), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING)
    }

    override fun wrap(alias: String, protection: KeyProtection, plaintext: ByteArray): ByteArray = synchronized(this) {
        val name = entryName(alias, protection)
        val key = (store.getEntry(name, entryPassword) as? KeyStore.SecretKeyEntry)?.secretKey
            ?: KeyGenerator.getInstance("AES").apply { init(256) }.generateKey().also {
                store.setEntry(name, KeyStore.SecretKeyEntry(it), entryPassword)
                save()
            }
        val iv = ByteArray(12).also(random::nextBytes)
        val cipher = Cipher.getInstance("AES/GCM/NoPadding")
        cipher.init(Cipher.ENCRYPT_MODE, key, GCMParameterSpec(128, iv))
        cipher.updateAAD(aad(alias, protection))
        byteArrayOf(1, protectionByte(protection)) + iv + cipher.doFinal(plaintext)
    }

    override fun unwrap(alias: String, protection: KeyProtection, wrapped: ByteArray): ByteArray = synchronized(this) {
        val key: SecretKey = (store.getEntry(entryName(alias, protection), entryPassword) as? KeyStore.SecretKeyEntry)?.secretKey
            ?: throw KeystoreException.KeyNotFound()
        if (wrapped.size < 2 + 12 + 16 || wrapped[0] != 1.toByte() || wrapped[1] != protectionByte(protection)) {
            throw KeystoreException.UnwrapFailed()
        }
        val cipher = Cipher.getInstance("AES/GCM/NoPadding")
        cipher.init(Cipher.DECRYPT_MODE, key, GCMParameterSpec(128, wrapped, 2, 12))
        cipher.updateAAD(aad(alias, protection))
        try {
            cipher.doFinal(wrapped, 14, wrapped.size - 14)
        } catch (e: AEADBadTagException) {
            throw KeystoreException.UnwrapFailed()
        }
    }

    override fun deleteKey(alias: String): Unit = synchronized(this) {
        var changed = false
        for (p in KeyProtection.entries) {
            val name = entryName(alias, p)
            if (store.containsAlias(name)) {
                store.deleteEntry(name)
                changed = true
            }
        }
        if (changed) save()
    }

    fun size(): Int = synchronized(this) { store.size() }
}
