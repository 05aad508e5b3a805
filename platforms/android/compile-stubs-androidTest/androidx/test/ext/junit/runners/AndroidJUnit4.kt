// COMPILE-ONLY stand-in for androidx.test.ext.junit's runner (see ../../../../../README.md).
package androidx.test.ext.junit.runners

import org.junit.runner.Runner
import org.junit.runner.Description
import org.junit.runner.notification.RunNotifier

class AndroidJUnit4(klass: Class<*>) : Runner() {
    private val description = Description.createSuiteDescription(klass)
    override fun getDescription(): Description = description
    override fun run(notifier: RunNotifier): Unit = throw UnsupportedOperationException("compile-only stand-in")
}
