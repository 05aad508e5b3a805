package dev.offlineauth.android

import android.util.Log
import dev.offlineauth.LogLevel
import dev.offlineauth.LogSink
import dev.offlineauth.setLogSink

/**
 * The library's log records in Logcat, under the tag [TAG]: security events
 * at INFO (a wrong PIN) and WARN (a lockout, a wipe, a clock rollback,
 * tampering), as their text, which names no PIN, key, grant or record value.
 * Install it with [routeLogsToLogcat].
 */
class LogcatSink : LogSink {
    override fun log(level: LogLevel, target: String, message: String) {
        val text = "$target: $message"
        when (level) {
            LogLevel.ERROR -> Log.e(TAG, text)
            LogLevel.WARN -> Log.w(TAG, text)
            LogLevel.INFO -> Log.i(TAG, text)
            LogLevel.DEBUG -> Log.d(TAG, text)
            LogLevel.TRACE -> Log.v(TAG, text)
        }
    }

    companion object {
        /** The Logcat tag of every record (`adb logcat -s offline-auth`). */
        const val TAG = "offline-auth"
    }
}

/**
 * Routes the library's log records at [level] and above to Logcat (tag
 * `offline-auth`). Call it once, in `Application.onCreate`; `clearLogSink()`
 * stops it. Release builds usually pass [LogLevel.WARN].
 *
 * @throws dev.offlineauth.LogSinkException.AnotherLoggerInstalled if a Rust
 *   logger of the process already takes the records.
 */
@JvmOverloads
fun routeLogsToLogcat(level: LogLevel = LogLevel.INFO) = setLogSink(LogcatSink(), level)
