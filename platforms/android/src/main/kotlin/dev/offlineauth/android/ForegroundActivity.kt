package dev.offlineauth.android

import android.app.Activity
import android.app.Application
import android.os.Bundle
import java.lang.ref.WeakReference

/**
 * The resumed Activity, for [PlatformBiometricPrompt]: register it once in
 * `Application.onCreate` and pass `foreground::current` to
 * [AndroidKeystore.create]. It holds the Activity weakly and forgets it when it
 * pauses, so a long-lived vault never keeps a destroyed screen alive.
 */
class ForegroundActivity : Application.ActivityLifecycleCallbacks {
    @Volatile
    private var resumed: WeakReference<Activity>? = null

    /** The Activity in the foreground now, or null between screens. */
    fun current(): Activity? = resumed?.get()

    /** Starts tracking: call once from `Application.onCreate`. */
    fun register(application: Application): ForegroundActivity = apply {
        application.registerActivityLifecycleCallbacks(this)
    }

    override fun onActivityResumed(activity: Activity) {
        resumed = WeakReference(activity)
    }

    override fun onActivityPaused(activity: Activity) {
        if (resumed?.get() === activity) resumed = null
    }

    override fun onActivityDestroyed(activity: Activity) {
        if (resumed?.get() === activity) resumed = null
    }

    override fun onActivityCreated(activity: Activity, savedInstanceState: Bundle?) = Unit
    override fun onActivityStarted(activity: Activity) = Unit
    override fun onActivityStopped(activity: Activity) = Unit
    override fun onActivitySaveInstanceState(activity: Activity, outState: Bundle) = Unit
}
