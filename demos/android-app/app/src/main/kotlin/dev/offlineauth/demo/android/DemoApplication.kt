package dev.offlineauth.demo.android

import android.app.Application
import dev.offlineauth.PinVault
import dev.offlineauth.android.ForegroundActivity

/**
 * Holds the one vault of the demo for the process's life, so a screen rotation
 * or a new MainActivity neither reopens it nor leaks the old Activity: the
 * keystore inside keeps only the application context and asks [foreground] for
 * the Activity at each biometric prompt.
 */
class DemoApplication : Application() {
    lateinit var foreground: ForegroundActivity
        private set

    /** Opened by MainActivity after the first sign-in; replaced (old one closed) on re-enrolment. */
    @Volatile
    var vault: PinVault? = null
        set(value) {
            val old = field
            field = value
            if (old !== value) old?.close()
        }

    override fun onCreate() {
        super.onCreate()
        foreground = ForegroundActivity().register(this)
    }

    override fun onTerminate() {
        // Emulator-only callback; on a device the process just ends.
        vault = null
        super.onTerminate()
    }
}
