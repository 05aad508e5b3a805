// Issue 28: where a Kotlin `get`/`put`'s time goes once the call status is
// an address (issue 16), and what the `RustBuffer` crossings cost done
// differently, timed side by side in one JVM (interleaved rounds after a
// warm-up, medians), as JnaVariants.kt does for the status. Every variant
// makes the crossings the generated `OfflineSession.get(collection, key)`
// makes — clone the handle, allocate and fill one Rust buffer per argument
// (`ffi_…_rustbuffer_alloc`), the method, then free the result
// (`ffi_…_rustbuffer_free`) — and differs only in how a `RustBuffer` (a
// 24-byte struct passed and returned by value) crosses:
//
//   generated    session.get(...) through the bindings as built
//   struct_new   a JNA Structure per buffer, with its own native Memory
//                (JNA's memory map, its Cleaner) and fields written and read
//                by reflection: what UniFFI 0.32's Kotlin does unmodified
//   ring_reflect the same Structure class, backed by a slot of a per-thread
//                ring of native memory instead of its own Memory; fields
//                still written and read by JNA's reflection
//   ring         the ring, with autoWrite/autoRead as three direct
//                Pointer accesses instead of reflection
//                (tools/jna-rust-buffer.py's form)
//   floor        five crossings of a status-free, primitive-only function
//                (as many as a get makes): JNA direct mapping's own cost,
//                without the Rust work
//
// and the same four for `put(collection, key, 64-B value)` (three argument
// buffers, a `Long` result).
//
//   java -Djna.library.path=DIR -cp CLASSPATH JnaBuffersKt [calls-per-round] [rounds]
//   (DIR and CLASSPATH as ffi_compare.sh runs FfiBenchKt; defaults 20000, 7)
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
import java.nio.ByteOrder
import java.nio.file.Files

/** A per-thread ring of 24-byte slots (the replica of the rewrite's `UniffiRustBufferSlots`). */
class RingSlots {
    val memory = Memory(SLOTS * 24L)
    var next = 0
    companion object {
        const val SLOTS = 256
        val local: ThreadLocal<RingSlots> = ThreadLocal.withInitial { RingSlots() }
        fun take(copyFrom: Pointer?): Pointer {
            val ring = local.get()
            val slot = ring.memory.share(ring.next * 24L, 24L)
            ring.next = (ring.next + 1) % SLOTS
            if (copyFrom != null && Pointer.nativeValue(copyFrom) != 0L) { // JNA's type-info placeholder is address 0
                slot.setLong(0, copyFrom.getLong(0)); slot.setLong(8, copyFrom.getLong(8)); slot.setLong(16, copyFrom.getLong(16))
            }
            return slot
        }
        @JvmField var direct = true
    }
}

@Structure.FieldOrder("capacity", "len", "data")
open class RingRustBuffer(p: Pointer) : Structure(p) {
    @JvmField var capacity: Long = 0
    @JvmField var len: Long = 0
    @JvmField var data: Pointer? = null

    class ByValue(p: Pointer?) : RingRustBuffer(RingSlots.take(p)), Structure.ByValue {
        constructor() : this(null)
        override fun autoWrite() {
            if (!RingSlots.direct) return super.autoWrite()
            val m = pointer
            m.setLong(0, capacity); m.setLong(8, len); m.setPointer(16, data)
        }
        override fun autoRead() {
            if (!RingSlots.direct) return super.autoRead()
            val m = pointer
            capacity = m.getLong(0); len = m.getLong(8); data = m.getPointer(16)
        }
    }
}

object NewBufLib {
    init { Native.register(NewBufLib::class.java, "offline_auth") }
    external fun ffi_offline_auth_rustbuffer_alloc(size: Long, status: Long): BenchRustBuffer.ByValue
    external fun ffi_offline_auth_rustbuffer_free(buf: BenchRustBuffer.ByValue, status: Long)
    external fun uniffi_offline_auth_fn_method_offlinesession_get(handle: Long, collection: BenchRustBuffer.ByValue, key: BenchRustBuffer.ByValue, status: Long): BenchRustBuffer.ByValue
    external fun uniffi_offline_auth_fn_method_offlinesession_put(handle: Long, collection: BenchRustBuffer.ByValue, key: BenchRustBuffer.ByValue, value: BenchRustBuffer.ByValue, status: Long): Long
}

object RingBufLib {
    init { Native.register(RingBufLib::class.java, "offline_auth") }
    external fun ffi_offline_auth_rustbuffer_alloc(size: Long, status: Long): RingRustBuffer.ByValue
    external fun ffi_offline_auth_rustbuffer_free(buf: RingRustBuffer.ByValue, status: Long)
    external fun uniffi_offline_auth_fn_method_offlinesession_get(handle: Long, collection: RingRustBuffer.ByValue, key: RingRustBuffer.ByValue, status: Long): RingRustBuffer.ByValue
    external fun uniffi_offline_auth_fn_method_offlinesession_put(handle: Long, collection: RingRustBuffer.ByValue, key: RingRustBuffer.ByValue, value: RingRustBuffer.ByValue, status: Long): Long
}

fun statusAddr(): Long = Pointer.nativeValue(statusMemory.get())
fun checkStatus() { val c = statusMemory.get().getByte(0); if (c != 0.toByte()) throw IllegalStateException("call status $c") }

class BufferVariants(private val session: OfflineSession, private val base: Long, private val value: ByteArray) {
    private val collection = "inspections"
    private val key = "station-00000"
    private val putKey = "field-000"

    // --- UniFFI's own form: a Structure (with its own Memory) per buffer.
    private fun newAlloc(size: Int): BenchRustBuffer.ByValue {
        val rb = NewBufLib.ffi_offline_auth_rustbuffer_alloc(size.toLong(), statusAddr()); checkStatus(); return rb
    }
    private fun newString(s: String): BenchRustBuffer.ByValue {
        val b = s.toByteArray(Charsets.UTF_8)
        val rb = newAlloc(b.size); rb.data!!.write(0, b, 0, b.size); rb.len = b.size.toLong(); return rb
    }
    private fun newBytes(v: ByteArray): BenchRustBuffer.ByValue {
        val rb = newAlloc(4 + v.size)
        val bb = rb.data!!.getByteBuffer(0, rb.capacity).order(ByteOrder.BIG_ENDIAN)
        bb.putInt(v.size); bb.put(v); rb.len = bb.position().toLong(); return rb
    }
    private fun clone(): Long { val h = LongLib.uniffi_offline_auth_fn_clone_offlinesession(base, statusAddr()); checkStatus(); return h }

    fun generatedGet(): Int = session.get(collection, key)!!.size
    fun generatedPut(): Long = session.put(collection, putKey, value).toLong()

    fun structNewGet(): Int {
        val h = clone()
        val r = NewBufLib.uniffi_offline_auth_fn_method_offlinesession_get(h, newString(collection), newString(key), statusAddr()); checkStatus()
        try {
            val bb = r.data!!.getByteBuffer(0, r.len).order(ByteOrder.BIG_ENDIAN)
            check(bb.get().toInt() == 1)
            val out = ByteArray(bb.getInt()); bb.get(out); return out.size
        } finally {
            NewBufLib.ffi_offline_auth_rustbuffer_free(r, statusAddr()); checkStatus()
        }
    }

    fun structNewPut(): Long {
        val h = clone()
        val r = NewBufLib.uniffi_offline_auth_fn_method_offlinesession_put(h, newString(collection), newString(putKey), newBytes(value), statusAddr()); checkStatus()
        return r
    }

    // --- The ring form.
    private fun ringAlloc(size: Int): RingRustBuffer.ByValue {
        val rb = RingBufLib.ffi_offline_auth_rustbuffer_alloc(size.toLong(), statusAddr()); checkStatus(); return rb
    }
    private fun ringString(s: String): RingRustBuffer.ByValue {
        val b = s.toByteArray(Charsets.UTF_8)
        val rb = ringAlloc(b.size); rb.data!!.write(0, b, 0, b.size); rb.len = b.size.toLong(); return rb
    }
    private fun ringBytes(v: ByteArray): RingRustBuffer.ByValue {
        val rb = ringAlloc(4 + v.size)
        val bb = rb.data!!.getByteBuffer(0, rb.capacity).order(ByteOrder.BIG_ENDIAN)
        bb.putInt(v.size); bb.put(v); rb.len = bb.position().toLong(); return rb
    }

    fun ringGet(): Int {
        val h = clone()
        val r = RingBufLib.uniffi_offline_auth_fn_method_offlinesession_get(h, ringString(collection), ringString(key), statusAddr()); checkStatus()
        try {
            val bb = r.data!!.getByteBuffer(0, r.len).order(ByteOrder.BIG_ENDIAN)
            check(bb.get().toInt() == 1)
            val out = ByteArray(bb.getInt()); bb.get(out); return out.size
        } finally {
            RingBufLib.ffi_offline_auth_rustbuffer_free(r, statusAddr()); checkStatus()
        }
    }

    /** The floor: a get's five crossings, status-free and primitive-only (`ffi_…_uniffi_contract_version`). */
    fun floor(): Int = LongLib.ffi_offline_auth_uniffi_contract_version() + LongLib.ffi_offline_auth_uniffi_contract_version() +
        LongLib.ffi_offline_auth_uniffi_contract_version() + LongLib.ffi_offline_auth_uniffi_contract_version() +
        LongLib.ffi_offline_auth_uniffi_contract_version()

    fun ringPut(): Long {
        val h = clone()
        val r = RingBufLib.uniffi_offline_auth_fn_method_offlinesession_put(h, ringString(collection), ringString(putKey), ringBytes(value), statusAddr()); checkStatus()
        return r
    }
}

fun main(args: Array<String>) {
    val n = args.getOrNull(0)?.toInt() ?: 20_000
    val rounds = args.getOrNull(1)?.toInt() ?: 7
    val now = System.currentTimeMillis() / 1000
    val issuer = GrantIssuer.generate("issuer-1")
    val grant = issuer.issue("amira", "tablet-42", listOf("inspections"), now, now + 86_400)
    val key = issuer.issuerKey()
    val config = VaultConfig(deviceId = "tablet-42", issuerKeys = listOf(IssuerKey(kid = key.kid, publicKey = key.publicKey)))
    val dir = Files.createTempDirectory(java.io.File("/dev/shm").takeIf { it.isDirectory }?.toPath() ?: java.nio.file.Paths.get(System.getProperty("java.io.tmpdir")), "jna-buffers")
    try {
        PinVault.open(dir.resolve("vault.db").toString(), MapKeystore(), config).use { vault ->
            vault.enroll("482915", grant, generateSyncKey()).use { session ->
                val record = ByteArray(256) { i -> ((i * 131 + 7) % 256).toByte() }
                session.put("inspections", "station-00000", record)
                val base = session.uniffiCloneHandle() // ours: freed below
                val v = BufferVariants(session, base, ByteArray(64) { it.toByte() })
                fun reflect(f: () -> Any): () -> Any = { RingSlots.direct = false; try { f() } finally { RingSlots.direct = true } }
                val variants = linkedMapOf<String, () -> Any>(
                    "get generated" to v::generatedGet, "get struct_new" to v::structNewGet,
                    "get ring_reflect" to reflect(v::ringGet), "get ring" to v::ringGet, "get floor" to v::floor,
                    "put generated" to v::generatedPut, "put struct_new" to v::structNewPut,
                    "put ring_reflect" to reflect(v::ringPut), "put ring" to v::ringPut,
                )
                for ((name, f) in variants) if (name.startsWith("get") && name != "get floor") check(f() == 256) { "$name: wrong record" } else f()
                val only = System.getProperty("variant")
                val selected = if (only != null) variants.filterKeys { it.endsWith(" $only") } else variants
                val figures = timeInterleaved(selected, n, rounds)
                val times = figures.nanos
                val bytes = figures.heapBytes
                for (name in selected.keys) {
                    val m = median(times[name]!!)
                    val ref = times[name.substringBefore(' ') + " generated"]?.let(::median)
                    val ratio = if (ref != null) "%.2fx".format(ref / m) else "-"
                    println("%-17s median %8.0f ns/call  (rounds: %s)  generated/this %s  heap %6.0f B/call".format(
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
