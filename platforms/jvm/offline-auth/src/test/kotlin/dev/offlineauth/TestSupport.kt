package dev.offlineauth

import dev.offlineauth.backend.GrantIssuer
import dev.offlineauth.backend.ServerClock
import dev.offlineauth.backend.IssuerKey as BackendIssuerKey
import java.nio.file.Path
import java.security.KeyStore
import java.security.SecureRandom
import java.util.concurrent.atomic.AtomicInteger
import javax.crypto.AEADBadTagException
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

const val DEVICE = "device-1"
const val USER = "alice"
const val PIN = "482915"
val SCOPES = listOf("notes", "visits")

/** A fixed wall-clock time (2025-06-15) for tests that must not depend on today's date. */
const val FIXED_NOW = 1_750_000_000L

/**
 * The backend's IssuerKey as the device's: the two libraries each generate
 * their own type, so a key crosses from one to the other field by field (a
 * real app gets the keys as JWKS, see `issuerKeysFromJwks`).
 */
fun BackendIssuerKey.toDevice(): IssuerKey = IssuerKey(kid = kid, publicKey = publicKey)

/** One issuer for the whole test run (the backend's signing key, from the backend artifact). */
object Backend {
    val issuer: GrantIssuer = GrantIssuer.generate("test-kid-1")

    fun grant(
        user: String = USER,
        device: String = DEVICE,
        scopes: List<String> = SCOPES,
        now: Long = System.currentTimeMillis() / 1000,
        validFor: Long = 3600,
    ): String = issuer.issue(user, device, scopes, now - 60, now + validFor)

    fun config(
        deviceId: String = DEVICE,
        issuerKeys: List<IssuerKey> = listOf(issuer.issuerKey().toDevice()),
        maxFailedAttempts: UInt = 10u,
    ) = VaultConfig(deviceId = deviceId, issuerKeys = issuerKeys, maxFailedAttempts = maxFailedAttempts)
}

fun vaultPath(dir: Path): String = dir.resolve("vault.db").toString()

/**
 * A PlatformKeystore written in Kotlin on the JCA: AES-256 keys held in a
 * (software, in-memory) java.security.KeyStore, AES/GCM/NoPadding with a
 * random 96-bit IV; the wrapped blob is IV || ciphertext+tag, and the alias
 * is bound as associated data. On Android the same shape runs on
 * AndroidKeyStore with non-exportable keys.
 */
open class JcaKeystore : PlatformKeystore {
    private val keyStore: KeyStore = KeyStore.getInstance("PKCS12").apply { load(null, null) }
    private val entryPassword = KeyStore.PasswordProtection(CharArray(0))
    private val random = SecureRandom()
    private val lock = Any()
    val wraps = AtomicInteger()
    val unwraps = AtomicInteger()
    val deletes = AtomicInteger()

    private fun keyFor(alias: String, create: Boolean): SecretKey? = synchronized(lock) {
        (keyStore.getEntry(alias, entryPassword) as? KeyStore.SecretKeyEntry)?.secretKey
            ?: if (!create) null else {
                val key = KeyGenerator.getInstance("AES").apply { init(256) }.generateKey()
                keyStore.setEntry(alias, KeyStore.SecretKeyEntry(key), entryPassword)
                key
            }
    }

    override fun wrap(alias: String, protection: KeyProtection, plaintext: ByteArray): ByteArray {
        wraps.incrementAndGet()
        val key = keyFor("$protection/$alias", create = true)!!
        val iv = ByteArray(12).also(random::nextBytes)
        val cipher = Cipher.getInstance("AES/GCM/NoPadding")
        cipher.init(Cipher.ENCRYPT_MODE, key, GCMParameterSpec(128, iv))
        cipher.updateAAD(alias.toByteArray())
        return iv + cipher.doFinal(plaintext)
    }

    override fun unwrap(alias: String, protection: KeyProtection, wrapped: ByteArray): ByteArray {
        unwraps.incrementAndGet()
        val key = keyFor("$protection/$alias", create = false) ?: throw KeystoreException.KeyNotFound()
        if (wrapped.size < 12 + 16) throw KeystoreException.UnwrapFailed()
        val cipher = Cipher.getInstance("AES/GCM/NoPadding")
        cipher.init(Cipher.DECRYPT_MODE, key, GCMParameterSpec(128, wrapped, 0, 12))
        cipher.updateAAD(alias.toByteArray())
        return try {
            cipher.doFinal(wrapped, 12, wrapped.size - 12)
        } catch (e: AEADBadTagException) {
            throw KeystoreException.UnwrapFailed()
        }
    }

    override fun deleteKey(alias: String) {
        deletes.incrementAndGet()
        synchronized(lock) {
            for (p in KeyProtection.entries) {
                if (keyStore.containsAlias("$p/$alias")) keyStore.deleteEntry("$p/$alias")
            }
        }
    }

    fun size(): Int = synchronized(lock) { keyStore.size() }
}

/**
 * A settable clock written in Kotlin, for the vault ([Clock]) and for the
 * backend's verifier ([ServerClock], its wall clock only), so that both can
 * run on one fake time. It has the three readings of [Clock]: the
 * wall clock ([now], which the user may set), the boot id and the time elapsed
 * since that boot. [advance] moves real time (wall and elapsed together);
 * setting [now] (or [setWall]) moves the wall clock alone; [reboot] starts a
 * new boot (new id, elapsed restarting near 0). Elapsed time never moves on
 * its own, so no number of calls ever looks like time passing.
 */
open class FakeClock(now: Long = System.currentTimeMillis() / 1000) : Clock, ServerClock {
    private val lock = Any()
    private var wallSecs = now
    private var bootNumber = 0
    private var elapsed = 60_000L
    @Volatile var fail = false

    /** The wall clock, in seconds since the epoch; setting it moves nothing else. */
    var now: Long
        get() = synchronized(lock) { wallSecs }
        set(value) = synchronized(lock) { wallSecs = value }

    /** The current boot's id. */
    val currentBootId: String get() = synchronized(lock) { "fake-boot-$bootNumber" }

    /** Milliseconds elapsed since the current boot. */
    val elapsedMillis: Long get() = synchronized(lock) { elapsed }

    override fun nowUnixSecs(): Long {
        if (fail) throw IllegalStateException("no time today")
        return now
    }

    override fun bootId(): String {
        if (fail) throw IllegalStateException("no boot today")
        return currentBootId
    }

    override fun elapsedSinceBootMillis(): ULong {
        if (fail) throw IllegalStateException("no time today")
        return elapsedMillis.toULong()
    }

    /** Real time passes: the wall clock and the elapsed time move together. */
    fun advance(secs: Long) = synchronized(lock) {
        wallSecs += secs
        elapsed += secs * 1000
    }

    /** The user sets the wall clock (nothing else moves). */
    fun setWall(secs: Long) {
        now = secs
    }

    /** The device restarts: a new boot id, elapsed time restarts near 0; the wall clock keeps going. */
    fun reboot(downSecs: Long = 30) = synchronized(lock) {
        bootNumber += 1
        elapsed = 5_000
        wallSecs += downSecs
    }
}

/** Resident set size of this process, from /proc (Linux). */
fun rssBytes(): Long =
    java.io.File("/proc/self/status").readLines()
        .first { it.startsWith("VmRSS:") }
        .split(Regex("\\s+"))[1].toLong() * 1024
