import java.lang.management.ManagementFactory

/** Per-call figures of each variant, one entry per round. */
class RoundFigures(val nanos: Map<String, List<Double>>, val heapBytes: Map<String, List<Double>>)

/**
 * Times every variant [n] calls at a time, in [rounds] rounds whose order
 * alternates (so a drift in load or JIT state hits all alike), after a
 * warm-up of 2×[n] calls each (C2 compiles each loop): wall nanoseconds and
 * heap bytes allocated on this thread, per call. JnaVariants and JnaBuffers
 * both time their variants this way.
 */
fun timeInterleaved(variants: Map<String, () -> Any>, n: Int, rounds: Int): RoundFigures {
    val threads = ManagementFactory.getThreadMXBean() as com.sun.management.ThreadMXBean
    val tid = Thread.currentThread().id
    val times = variants.keys.associateWith { ArrayList<Double>() }
    val bytes = variants.keys.associateWith { ArrayList<Double>() }
    repeat(2) { for (f in variants.values) repeat(n) { f() } }
    repeat(rounds) { round ->
        val order = variants.entries.toList().let { if (round % 2 == 0) it else it.reversed() }
        for ((name, f) in order) {
            val b0 = threads.getThreadAllocatedBytes(tid)
            val t0 = System.nanoTime()
            repeat(n) { f() }
            val dt = System.nanoTime() - t0
            bytes.getValue(name).add((threads.getThreadAllocatedBytes(tid) - b0).toDouble() / n)
            times.getValue(name).add(dt.toDouble() / n)
        }
    }
    return RoundFigures(times, bytes)
}

fun median(xs: List<Double>): Double =
    xs.sorted().let { if (it.size % 2 == 1) it[it.size / 2] else (it[it.size / 2 - 1] + it[it.size / 2]) / 2 }
