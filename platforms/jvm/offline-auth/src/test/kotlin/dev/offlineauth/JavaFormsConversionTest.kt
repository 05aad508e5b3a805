package dev.offlineauth

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

/** The conversions OfflineAuth makes between Java's signed numbers and the generated unsigned ones. */
class JavaFormsConversionTest {
    private class BrokenClock(private val elapsed: Long) : JavaClock {
        override fun nowUnixSecs(): Long = 1_800_000_000L
        override fun bootId(): String = "boot-1"
        override fun elapsedSinceBootMillis(): Long = elapsed
    }

    @Test
    fun `a negative time since boot from a Java clock is Unavailable, never a huge unsigned value`() {
        val error = assertThrows<ClockException.Unavailable> { OfflineAuth.clock(BrokenClock(-1)).elapsedSinceBootMillis() }
        assertEquals(true, error.reason.contains("negative"), error.reason)
        assertEquals(42uL, OfflineAuth.clock(BrokenClock(42)).elapsedSinceBootMillis())
    }

    @Test
    fun `an unsigned count that does not fit a Java long throws instead of turning negative`() {
        assertEquals(Long.MAX_VALUE, OfflineAuth.exact(Long.MAX_VALUE.toULong(), "n"))
        assertThrows<ArithmeticException> { OfflineAuth.exact(Long.MAX_VALUE.toULong() + 1uL, "n") }
        assertThrows<ArithmeticException> { OfflineAuth.exact(ULong.MAX_VALUE, "n") }
    }

    @Test
    fun `negative Java numbers are refused where Rust takes unsigned ones, zero and the maximum are not`() {
        assertThrows<IllegalArgumentException> { OfflineAuth.unsigned(-1, "maxEntries") }
        assertThrows<IllegalArgumentException> { OfflineAuth.unsigned(Long.MIN_VALUE, "throughSeq") }
        assertEquals(0u, OfflineAuth.unsigned(0, "maxEntries"))
        assertEquals(Int.MAX_VALUE.toUInt(), OfflineAuth.unsigned(Int.MAX_VALUE, "maxEntries"))
        assertEquals(Long.MAX_VALUE.toULong(), OfflineAuth.unsigned(Long.MAX_VALUE, "throughSeq"))
    }
}
