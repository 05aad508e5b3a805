// Kotlin→Rust call overhead through the UniFFI Kotlin bindings (JNA): the
// same calls as benches/calls.rs and benches/ffi_python.py. Prints one line
// for compare.sh: `ffi_jvm is_unlocked_ns=… get_256B_ns=… … native_lib=…`.
// A warm-up loop runs each call before it is timed (JIT); each figure is the
// best of 5 timed repeats, per call. Nothing here asserts on a time.
import dev.offlineauth.IssuerKey
import dev.offlineauth.KeyProtection
import dev.offlineauth.KeyValue
import dev.offlineauth.KeystoreException
import dev.offlineauth.PinVault
import dev.offlineauth.PlatformKeystore
import dev.offlineauth.VaultConfig
import dev.offlineauth.backend.GrantIssuer
import dev.offlineauth.backend.generateSyncKey
import java.io.File
import java.nio.file.Files
import java.security.SecureRandom

/** An in-memory keystore (opaque random handles), as in ffi_python.py: the figures are the vault's, not a KeyStore's. */
class MapKeystore : PlatformKeystore {
    private val keys = HashMap<String, Pair<KeyProtection, ByteArray>>()
    private val random = SecureRandom()

    @Synchronized
    override fun wrap(alias: String, protection: KeyProtection, plaintext: ByteArray): ByteArray {
        val handle = ByteArray(16).also(random::nextBytes)
        keys[alias + "/" + handle.joinToString("") { "%02x".format(it) }] = protection to plaintext.copyOf()
        return handle
    }

    @Synchronized
    override fun unwrap(alias: String, protection: KeyProtection, wrapped: ByteArray): ByteArray {
        val entry = keys[alias + "/" + wrapped.joinToString("") { "%02x".format(it) }] ?: throw KeystoreException.UnwrapFailed()
        if (entry.first != protection) throw KeystoreException.UnwrapFailed()
        return entry.second.copyOf()
    }

    @Synchronized
    override fun deleteKey(alias: String) {
        keys.keys.removeIf { it.startsWith("$alias/") }
    }
}

/** Warm-up, then the best of 5 repeats of `number` calls, per call, in nanoseconds. */
fun bestNs(number: Int, call: () -> Any?): Double {
    repeat(number) { call() }
    var best = Double.MAX_VALUE
    repeat(5) {
        val start = System.nanoTime()
        repeat(number) { call() }
        best = minOf(best, (System.nanoTime() - start).toDouble() / number)
    }
    return best
}

fun main() {
    val now = System.currentTimeMillis() / 1000
    val issuer = GrantIssuer.generate("issuer-1")
    val grant = issuer.issue("amira", "tablet-42", listOf("inspections"), now, now + 86_400)
    val key = issuer.issuerKey()
    val config = VaultConfig(deviceId = "tablet-42", issuerKeys = listOf(IssuerKey(kid = key.kid, publicKey = key.publicKey)))
    val shm = File("/dev/shm")
    val dir = if (shm.isDirectory) Files.createTempDirectory(shm.toPath(), "ffi-jvm") else Files.createTempDirectory("ffi-jvm")
    val figures = LinkedHashMap<String, Double>()
    try {
        PinVault.open(dir.resolve("vault.db").toString(), MapKeystore(), config).use { vault ->
            vault.enroll("482915", grant, generateSyncKey()).use { session ->
                val value = ByteArray(256) { i -> ((i * 131 + 7) % 256).toByte() }
                session.put("inspections", "station-00000", value)
                check(session.get("inspections", "station-00000")!!.contentEquals(value))
                figures["is_unlocked"] = bestNs(100_000) { session.isUnlocked() }
                figures["get_256B"] = bestNs(20_000) { session.get("inspections", "station-00000") }
                val form = (0 until 100).map { i -> KeyValue(key = "field-%03d".format(i), value = ByteArray(64) { j -> ((i + j) % 256).toByte() }) }
                val formKeys = form.map { it.key }
                session.putMany("inspections", form)
                figures["read_100_one_call"] = bestNs(200) { session.getMany("inspections", formKeys) }
                figures["read_100_calls"] = bestNs(200) { formKeys.map { session.get("inspections", it) } }
                figures["write_100_one_call"] = bestNs(20) { session.putMany("inspections", form) }
                figures["write_100_calls"] = bestNs(2) { form.forEach { session.put("inspections", it.key, it.value) } }
                session.lock()
            }
        }
    } finally {
        dir.toFile().deleteRecursively()
    }
    issuer.close()
    // Which liboffline_auth.so this process mapped: the release build when
    // jna.library.path points at it, else the jar's copy.
    val lib = File("/proc/self/maps").readLines().map { it.substringAfterLast(' ') }.firstOrNull { it.endsWith("liboffline_auth.so") } ?: "?"
    println("ffi_jvm " + figures.entries.joinToString(" ") { "${it.key}_ns=%.1f".format(it.value) } + " native_lib=$lib")
}
