package dev.offlineauth

import dev.offlineauth.backend.generateSyncKey
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import java.nio.file.Path
import java.util.Collections

/**
 * The library's logs reach a sink written in Kotlin (as the Android package's
 * LogcatSink is on a phone), at the level the app sets, with no secret; a sink
 * that throws fails no call.
 */
class LogSinkTest {
    @TempDir
    lateinit var dir: Path

    private class Collect : LogSink {
        val records: MutableList<Triple<LogLevel, String, String>> = Collections.synchronizedList(mutableListOf())

        override fun log(level: LogLevel, target: String, message: String) {
            records.add(Triple(level, target, message))
        }
    }

    private class Throwing : LogSink {
        @Volatile var calls = 0

        override fun log(level: LogLevel, target: String, message: String) {
            calls += 1
            throw IllegalStateException("the app's log sink failed")
        }
    }

    private fun enrolled(): PinVault {
        val clock = FakeClock()
        val vault = PinVault.openWithClock(vaultPath(dir), JcaKeystore(), clock, Backend.config())
        vault.enroll(PIN, Backend.grant(now = clock.now), generateSyncKey()).close()
        return vault
    }

    @Test
    fun `security events reach a Kotlin sink at its level without the PIN`() {
        val sink = Collect()
        setLogSink(sink, LogLevel.INFO)
        try {
            enrolled().use { vault ->
                assertThrows<VaultException.WrongPin> { vault.unlock("000111") }
                vault.wipe()
            }
            assertEquals(listOf(LogLevel.INFO, LogLevel.WARN), sink.records.map { it.first })
            assertEquals(listOf("offline_auth::security", "offline_auth::security"), sink.records.map { it.second })
            assertEquals("wrong PIN; 9 attempts remaining", sink.records.first().third)
            sink.records.forEach { assertFalse(it.third.contains(PIN) || it.third.contains("000111"), it.third) }
        } finally {
            clearLogSink()
        }
    }

    @Test
    fun `the level filters, clearing stops, and a throwing sink fails nothing`() {
        val sink = Collect()
        setLogSink(sink, LogLevel.WARN)
        try {
            enrolled().use { vault ->
                assertThrows<VaultException.WrongPin> { vault.unlock("000111") }
                assertTrue(sink.records.isEmpty(), "a wrong PIN is INFO: below the sink's level")

                val throwing = Throwing()
                setLogSink(throwing, LogLevel.TRACE)
                assertThrows<VaultException.WrongPin> { vault.unlock("000222") }
                assertEquals(1, throwing.calls)
                vault.unlock(PIN).close()

                clearLogSink()
                vault.wipe()
                assertTrue(sink.records.isEmpty())
            }
        } finally {
            clearLogSink()
        }
    }
}
