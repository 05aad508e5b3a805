package dev.offlineauth.android

import android.content.Context
import android.content.ContextWrapper
import dev.offlineauth.ClockException
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNotEquals
import org.junit.jupiter.api.Assertions.assertSame
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

/** A scripted [AndroidClockSource]: what the framework would answer. */
class ScriptedClockSource(
    var bootCount: Int? = 7,
    var elapsedMillis: Long = 3_600_000,
    var wallMillis: Long = 1_800_000_000_000,
) : AndroidClockSource {
    var bootCountReads = 0
    var failWith: Exception? = null

    /** Thrown by BOOT_COUNT reads alone (the other clocks keep working). */
    var bootCountFailure: Exception? = null

    override fun bootCount(): Int? {
        failWith?.let { throw it }
        bootCountFailure?.let { throw it }
        bootCountReads++
        return bootCount
    }

    override fun elapsedRealtimeMillis(): Long {
        failWith?.let { throw it }
        return elapsedMillis
    }

    override fun currentTimeMillis(): Long {
        failWith?.let { throw it }
        return wallMillis
    }
}

/**
 * AndroidClock's logic on a plain JVM (`Settings.Global` and `SystemClock` need
 * a device: their values come from a scripted source here).
 */
class AndroidClockTest {
    private val source = ScriptedClockSource()
    private val clock = AndroidClock(source)

    @Test
    fun `the three readings come from BOOT_COUNT, elapsedRealtime and currentTimeMillis`() {
        assertEquals("android-boot-count:7", clock.bootId())
        assertEquals(3_600_000uL, clock.elapsedSinceBootMillis())
        assertEquals(1_800_000_000L, clock.nowUnixSecs())
        source.wallMillis = 1_800_000_000_999
        assertEquals(1_800_000_000L, clock.nowUnixSecs(), "whole seconds, rounded down")
        source.wallMillis = -1
        assertEquals(-1L, clock.nowUnixSecs(), "before 1970 stays negative (the vault refuses it)")
    }

    @Test
    fun `the boot id is read once and kept for the process`() {
        clock.bootId()
        source.bootCount = 8
        assertEquals("android-boot-count:7", clock.bootId())
        assertEquals(1, source.bootCountReads)
        assertEquals("android-boot-count:8", AndroidClock(source).bootId(), "a new process of the next boot")
    }

    @Test
    fun `without BOOT_COUNT the boot id is the boot time rounded to 10 s`() {
        source.bootCount = null
        // Booted at 1 799 996 400 s; each process reads the two clocks a few ms apart.
        val a = AndroidClock(ScriptedClockSource(null, 3_600_000, 1_800_000_000_000)).bootId()
        val b = AndroidClock(ScriptedClockSource(null, 7_200_004, 1_800_003_600_001)).bootId()
        assertEquals("android-boot-time:1799996400", a)
        assertEquals(a, b, "the same boot in two processes")
        // Within one clock the id never moves, even when the wall clock is set.
        val id = clock.bootId()
        source.wallMillis -= 3_600_000
        assertEquals(id, clock.bootId())
        // ... but a later process sees the wall-clock change as another boot (the documented weakness).
        assertNotEquals(id, AndroidClock(source).bootId())
        assertEquals(AndroidClock.bootIdFromBootTime(14_999, 0), "android-boot-time:10")
        assertEquals(AndroidClock.bootIdFromBootTime(15_000, 0), "android-boot-time:20")
        assertEquals(AndroidClock.bootIdFromBootTime(-4_000, 0), "android-boot-time:0")
    }

    @Test
    fun `any failure to read BOOT_COUNT falls back to the boot time, not only SettingNotFoundException`() {
        for (failure in listOf(SecurityException("restricted profile"), IllegalArgumentException("no such setting"), RuntimeException())) {
            val failing = ScriptedClockSource(7, 3_600_000, 1_800_000_000_000).apply { bootCountFailure = failure }
            assertEquals("android-boot-time:1799996400", AndroidClock(failing).bootId(), failure.javaClass.name)
        }
    }

    @Test
    fun `platform failures are ClockException Unavailable naming the class only`() {
        source.failWith = SecurityException("secret detail")
        for (read in listOf({ clock.bootId() }, { clock.elapsedSinceBootMillis() }, { clock.nowUnixSecs() })) {
            val e = assertThrows<ClockException.Unavailable> { read() }
            assertTrue(e.reason.contains("java.lang.SecurityException"), e.reason)
            assertTrue(!e.reason.contains("secret detail"), e.reason)
        }
        // A failed read is retried, not cached.
        source.failWith = null
        assertEquals("android-boot-count:7", clock.bootId())
        source.elapsedMillis = -5
        assertThrows<ClockException.Unavailable> { clock.elapsedSinceBootMillis() }
    }

    @Test
    fun `the system source keeps the application context, never the activity`() {
        val app = object : ContextWrapper(null) {}
        val activity = object : ContextWrapper(null) {
            override fun getApplicationContext(): Context = app
        }
        assertSame(app, AndroidSystemClockSource(activity).applicationContext)
        val orphan = object : ContextWrapper(null) {
            override fun getApplicationContext(): Context? = null
        }
        assertThrows<IllegalArgumentException> { AndroidSystemClockSource(orphan) }
    }
}
