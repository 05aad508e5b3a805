package dev.offlineauth.android

import android.util.Log
import androidx.test.ext.junit.runners.AndroidJUnit4
import androidx.test.platform.app.InstrumentationRegistry
import dev.offlineauth.KeyProtection
import org.junit.Assert.assertNotNull
import org.junit.Test
import org.junit.runner.RunWith

/**
 * Prints what one per-attempt Device key costs to generate on this device,
 * TEE and (when asked for) StrongBox, for the README's StrongBox note. It only
 * reports: no timing is asserted. Emulators have no StrongBox, so there both
 * lines measure the TEE (software KeyMint).
 */
@RunWith(AndroidJUnit4::class)
class KeyGenerationCostTest {
    private val context = InstrumentationRegistry.getInstrumentation().targetContext

    @Test
    fun reportsKeyGenerationTimeForTeeAndStrongBox() {
        for (strongBox in listOf(false, true)) {
            val keys = AndroidKeyStoreKeySource(context, preferStrongBox = strongBox)
            val nanos = LongArray(5) { i ->
                val alias = "offline-auth.cost.$strongBox.$i"
                val start = System.nanoTime()
                assertNotNull(keys.create(alias, KeyProtection.DEVICE))
                (System.nanoTime() - start).also { keys.delete(alias) }
            }
            val line = "offline-auth key generation (preferStrongBox=$strongBox): " +
                nanos.joinToString { "${it / 1_000_000} ms" }
            Log.i("offline-auth", line)
            println(line)
        }
    }
}
