// COMPILE-ONLY stand-in for androidx.test's InstrumentationRegistry (see ../../../../README.md).
package androidx.test.platform.app

import android.app.Instrumentation
import android.os.Bundle

object InstrumentationRegistry {
    @JvmStatic
    fun getInstrumentation(): Instrumentation = throw UnsupportedOperationException("compile-only stand-in")

    @JvmStatic
    fun getArguments(): Bundle = throw UnsupportedOperationException("compile-only stand-in")
}
