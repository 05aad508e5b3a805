package dev.offlineauth.android

import android.content.Context
import android.os.SystemClock
import android.provider.Settings
import dev.offlineauth.Clock
import dev.offlineauth.ClockException

/**
 * Where [AndroidClock] reads the device's clocks. Production uses
 * [AndroidSystemClockSource]; the JVM unit tests plug in a scripted source.
 */
interface AndroidClockSource {
    /** `Settings.Global.BOOT_COUNT`, or null when this device does not keep it. */
    fun bootCount(): Int?

    /** `SystemClock.elapsedRealtime()`: ms since boot, counting deep sleep. */
    fun elapsedRealtimeMillis(): Long

    /** `System.currentTimeMillis()`: the wall clock, which the user may set. */
    fun currentTimeMillis(): Long
}

/**
 * The platform's clocks. Holds the **application** context only (taken from
 * whatever context is passed), never an Activity, so a vault that outlives
 * an Activity leaks nothing.
 */
class AndroidSystemClockSource(context: Context) : AndroidClockSource {
    /** The application context this source reads settings through. */
    val applicationContext: Context = requireNotNull(context.applicationContext) {
        "no application context: pass a context of a running app"
    }

    override fun bootCount(): Int? =
        try {
            Settings.Global.getInt(applicationContext.contentResolver, Settings.Global.BOOT_COUNT)
        } catch (e: Exception) {
            // SettingNotFoundException (a device that does not keep it), and any
            // other refusal (a SecurityException from a restricted profile or an
            // OEM's settings provider): the boot time fallback below, never an
            // unopenable vault.
            null
        }

    override fun elapsedRealtimeMillis(): Long = SystemClock.elapsedRealtime()

    override fun currentTimeMillis(): Long = System.currentTimeMillis()
}

/**
 * [Clock] on Android's own clocks: pass it to `PinVault.openWithClock`.
 *
 * - **Boot id**: `Settings.Global.BOOT_COUNT` (`"android-boot-count:<n>"`), kept
 *   by the system and the same for every process until the device restarts.
 *   Only if it cannot be read (the setting is missing, or reading it throws,
 *   e.g. a `SecurityException`) does the boot id fall back to the boot time derived from the clocks,
 *   `System.currentTimeMillis() - SystemClock.elapsedRealtime()` rounded to
 *   10 s (`"android-boot-time:<secs>"`). That fallback is **weaker**: setting
 *   the wall clock (the user, or a network time update) moves it, and two
 *   processes may round differently, so a later process of the same boot can
 *   look like a new boot. The vault then treats it as a restart of the device:
 *   trusted time resumes from what it last stored, so the time the app was not
 *   running is not counted against a wall clock set back meanwhile, and
 *   `SyncOperation.boots` counts one more boot. The boot id is read once per
 *   [AndroidClock] (a process never outlives its boot), so a wall-clock change
 *   never changes it within a process.
 * - **Elapsed since boot**: `SystemClock.elapsedRealtime()`, which counts deep
 *   sleep and which no user setting moves.
 * - **Wall clock**: `System.currentTimeMillis()` in whole seconds.
 *
 * Failures are `ClockException.Unavailable` naming the exception class only
 * (the vault reports `VaultError.ClockUnavailable`). Cheap and thread-safe:
 * the vault reads it at every call.
 *
 * The Rust library's default clock (`SystemClock`) reads the kernel's boot id
 * and `CLOCK_BOOTTIME` on Android; this class gives the same guarantees from
 * the framework's documented APIs, without depending on `/proc`.
 */
class AndroidClock(private val source: AndroidClockSource) : Clock {

    companion object {
        /** Rounding of the fallback boot time (jitter between the two clock reads). */
        const val BOOT_TIME_ROUNDING_MS = 10_000L

        /** The production clock; keeps [context]'s application context only. */
        @JvmStatic
        fun create(context: Context): AndroidClock = AndroidClock(AndroidSystemClockSource(context))

        /** The boot id of boot number [count]. */
        @JvmStatic
        fun bootIdFromCount(count: Int): String = "android-boot-count:$count"

        /** The fallback boot id: the boot time, [BOOT_TIME_ROUNDING_MS]-rounded. */
        @JvmStatic
        fun bootIdFromBootTime(wallMillis: Long, elapsedRealtimeMillis: Long): String {
            val bootMillis = wallMillis - elapsedRealtimeMillis
            val rounded = Math.floorDiv(bootMillis + BOOT_TIME_ROUNDING_MS / 2, BOOT_TIME_ROUNDING_MS) * BOOT_TIME_ROUNDING_MS
            return "android-boot-time:${rounded / 1000}"
        }
    }

    @Volatile
    private var cachedBootId: String? = null

    override fun nowUnixSecs(): Long = read { Math.floorDiv(source.currentTimeMillis(), 1000L) }

    override fun bootId(): String {
        cachedBootId?.let { return it }
        return synchronized(this) {
            cachedBootId ?: read {
                // Any failure to read BOOT_COUNT falls back (see AndroidSystemClockSource.bootCount).
                val count = try {
                    source.bootCount()
                } catch (e: Exception) {
                    null
                }
                if (count != null) {
                    bootIdFromCount(count)
                } else {
                    bootIdFromBootTime(source.currentTimeMillis(), source.elapsedRealtimeMillis())
                }
            }.also { cachedBootId = it }
        }
    }

    override fun elapsedSinceBootMillis(): ULong = read {
        val elapsed = source.elapsedRealtimeMillis()
        if (elapsed < 0) throw ClockException.Unavailable("elapsedRealtime is negative")
        elapsed.toULong()
    }

    /** Every failure leaves as a [ClockException] naming the exception class only. */
    private inline fun <T> read(block: () -> T): T =
        try {
            block()
        } catch (e: ClockException) {
            throw e
        } catch (e: Exception) {
            throw ClockException.Unavailable("platform clock failure: ${e.javaClass.name}")
        }
}
