// Issue 16: where a trivial Kotlin→Rust call's time goes, and what JNA
// alternatives cost, timed side by side in one JVM (interleaved rounds,
// medians). Every variant makes the same two crossings the generated
// `OfflineSession.isUnlocked()` makes — clone the handle, then the method
// (which consumes the clone) — and differs only in how the
// `RustCallStatus*` out-parameter is passed:
//
//   generated     session.isUnlocked() through the bindings as built (since
//                 issue 16, rewritten by tools/jna-call-status.py: the
//                 status is a per-thread buffer passed by address)
//   struct_new    a JNA Structure allocated per crossing: what UniFFI 0.32's
//                 Kotlin does unmodified
//   struct_reuse  one Structure per thread, reused (still auto write/read)
//   pointer       one native status buffer per thread, passed as a Pointer
//   long          the same buffer's address passed as a Long (primitive-only
//                 signature: JNA's fastest direct-mapping path)
//   floor         two crossings of a status-free, primitive-only function:
//                 JNA direct mapping's own cost
//
//   java -Djna.library.path=DIR -cp CLASSPATH JnaVariantsKt [calls-per-round] [rounds]
//   (DIR and CLASSPATH as ffi_compare.sh runs FfiBenchKt; defaults 100000, 7)
//
// Prints one line per variant: median ns per call, ratio to `generated`,
// bytes allocated on the Java heap per call. Nothing here asserts on a time.
// `-Dvariant=NAME` times one variant alone (for a profiler: JFR).
import com.sun.jna.Memory
import com.sun.jna.Native
import com.sun.jna.Pointer
import com.sun.jna.Structure
import dev.offlineauth.IssuerKey
import dev.offlineauth.OfflineSession
import dev.offlineauth.PinVault
import dev.offlineauth.VaultConfig
import dev.offlineauth.backend.GrantIssuer
import dev.offlineauth.backend.generateSyncKey
import java.nio.file.Files

@Structure.FieldOrder("capacity", "len", "data")
open class BenchRustBuffer : Structure() {
    @JvmField var capacity: Long = 0
    @JvmField var len: Long = 0
    @JvmField var data: Pointer? = null

    class ByValue : BenchRustBuffer(), Structure.ByValue
}

@Structure.FieldOrder("code", "error_buf")
open class BenchCallStatus : Structure() {
    @JvmField var code: Byte = 0
    @JvmField var error_buf: BenchRustBuffer.ByValue = BenchRustBuffer.ByValue()
}

/** The exported C symbols, direct-mapped with the status as a JNA Structure (as UniFFI declares them). */
object StructLib {
    init { Native.register(StructLib::class.java, "offline_auth") }
    external fun uniffi_offline_auth_fn_clone_offlinesession(handle: Long, status: BenchCallStatus): Long
    external fun uniffi_offline_auth_fn_method_offlinesession_is_unlocked(handle: Long, status: BenchCallStatus): Byte
    external fun uniffi_offline_auth_fn_free_offlinesession(handle: Long, status: BenchCallStatus)
}

/** The same symbols with the status as a Pointer. */
object PointerLib {
    init { Native.register(PointerLib::class.java, "offline_auth") }
    external fun uniffi_offline_auth_fn_clone_offlinesession(handle: Long, status: Pointer): Long
    external fun uniffi_offline_auth_fn_method_offlinesession_is_unlocked(handle: Long, status: Pointer): Byte
}

/** The same symbols with the status as its address (a Long). */
object LongLib {
    init { Native.register(LongLib::class.java, "offline_auth") }
    external fun uniffi_offline_auth_fn_clone_offlinesession(handle: Long, status: Long): Long
    external fun uniffi_offline_auth_fn_method_offlinesession_is_unlocked(handle: Long, status: Long): Byte
    external fun ffi_offline_auth_uniffi_contract_version(): Int
}

// RustCallStatus is { i8 code; RustBuffer { u64 capacity; u64 len; u8* data } }: 32 bytes.
const val STATUS_SIZE = 32L
val statusMemory: ThreadLocal<Memory> = ThreadLocal.withInitial { Memory(STATUS_SIZE).also { it.clear() } }
val statusStruct: ThreadLocal<BenchCallStatus> = ThreadLocal.withInitial { BenchCallStatus() }

fun check(code: Byte) { if (code != 0.toByte()) throw IllegalStateException("call status $code") }

class Variants(private val session: OfflineSession, private val base: Long) {
    fun generated(): Boolean = session.isUnlocked()

    fun structNew(): Boolean {
        val s1 = BenchCallStatus()
        val h = StructLib.uniffi_offline_auth_fn_clone_offlinesession(base, s1); check(s1.code)
        val s2 = BenchCallStatus()
        val r = StructLib.uniffi_offline_auth_fn_method_offlinesession_is_unlocked(h, s2); check(s2.code)
        return r != 0.toByte()
    }

    fun structReuse(): Boolean {
        val s = statusStruct.get()
        s.code = 0
        val h = StructLib.uniffi_offline_auth_fn_clone_offlinesession(base, s); check(s.code)
        s.code = 0
        val r = StructLib.uniffi_offline_auth_fn_method_offlinesession_is_unlocked(h, s); check(s.code)
        return r != 0.toByte()
    }

    fun pointer(): Boolean {
        val m = statusMemory.get()
        m.setByte(0, 0)
        val h = PointerLib.uniffi_offline_auth_fn_clone_offlinesession(base, m); check(m.getByte(0))
        val r = PointerLib.uniffi_offline_auth_fn_method_offlinesession_is_unlocked(h, m); check(m.getByte(0))
        return r != 0.toByte()
    }

    fun long(): Boolean {
        val m = statusMemory.get()
        val p = Pointer.nativeValue(m)
        m.setByte(0, 0)
        val h = LongLib.uniffi_offline_auth_fn_clone_offlinesession(base, p); check(m.getByte(0))
        val r = LongLib.uniffi_offline_auth_fn_method_offlinesession_is_unlocked(h, p); check(m.getByte(0))
        return r != 0.toByte()
    }

    /** The floor: two crossings of a status-free, primitive-only function (`ffi_…_uniffi_contract_version`). */
    fun floor(): Boolean = LongLib.ffi_offline_auth_uniffi_contract_version() + LongLib.ffi_offline_auth_uniffi_contract_version() != 0
}

fun main(args: Array<String>) {
    val n = args.getOrNull(0)?.toInt() ?: 100_000
    val rounds = args.getOrNull(1)?.toInt() ?: 7
    val now = System.currentTimeMillis() / 1000
    val issuer = GrantIssuer.generate("issuer-1")
    val grant = issuer.issue("amira", "tablet-42", listOf("inspections"), now, now + 86_400)
    val key = issuer.issuerKey()
    val config = VaultConfig(deviceId = "tablet-42", issuerKeys = listOf(IssuerKey(kid = key.kid, publicKey = key.publicKey)))
    val dir = Files.createTempDirectory(java.io.File("/dev/shm").takeIf { it.isDirectory }?.toPath() ?: java.nio.file.Paths.get(System.getProperty("java.io.tmpdir")), "jna-variants")
    try {
        PinVault.open(dir.resolve("vault.db").toString(), MapKeystore(), config).use { vault ->
            vault.enroll("482915", grant, generateSyncKey()).use { session ->
                val base = session.uniffiCloneHandle() // ours: freed below
                val v = Variants(session, base)
                val variants = linkedMapOf<String, () -> Boolean>(
                    "generated" to v::generated, "struct_new" to v::structNew, "struct_reuse" to v::structReuse,
                    "pointer" to v::pointer, "long" to v::long, "floor" to v::floor,
                )
                for ((name, f) in variants) check(f()) { "$name: session not unlocked" }
                val only = System.getProperty("variant")
                val selected = if (only != null) variants.filterKeys { it == only } else variants
                val figures = timeInterleaved(selected, n, rounds)
                val times = figures.nanos
                val bytes = figures.heapBytes
                val ref = times["generated"]?.let(::median)
                for (name in selected.keys) {
                    val m = median(times[name]!!)
                    val ratio = if (ref != null) "%.2fx".format(ref / m) else "-"
                    println("%-13s median %8.0f ns/call  (rounds: %s)  generated/this %s  heap %5.0f B/call".format(
                        name, m, times[name]!!.joinToString(",") { "%.0f".format(it) }, ratio, median(bytes[name]!!)))
                }
                val s = BenchCallStatus()
                StructLib.uniffi_offline_auth_fn_free_offlinesession(base, s); check(s.code)
                session.lock()
            }
        }
    } finally {
        dir.toFile().deleteRecursively()
    }
    issuer.close()
}
