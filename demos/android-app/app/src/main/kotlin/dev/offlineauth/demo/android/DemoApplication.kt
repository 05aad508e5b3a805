package dev.offlineauth.demo.android

import android.app.Application
import dev.offlineauth.IssuerKey
import dev.offlineauth.OfflineSession
import dev.offlineauth.PinVault
import dev.offlineauth.VaultConfig
import dev.offlineauth.android.AndroidKeystore
import java.io.File
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors

/**
 * Holds what must outlive a screen: one vault per process, its open session
 * and the worker thread every vault call runs on. The keystore keeps only this
 * Application (never an Activity), so rotations leak nothing.
 */
class DemoApplication : Application() {
    /** The vault calls' thread: PBKDF2 and the biometric prompt block it. */
    val worker: ExecutorService = Executors.newSingleThreadExecutor()

    @Volatile
    var vault: PinVault? = null
        private set

    @Volatile
    var session: OfflineSession? = null

    /** Opens the vault once per sign-in, closing the one it replaces. */
    fun openVault(deviceId: String, issuerKeys: List<IssuerKey>): PinVault = synchronized(this) {
        session?.lock()
        session = null
        vault?.close()
        PinVault.open(
            File(noBackupFilesDir, "vault.db").path, // noBackupFilesDir: never in a cloud or adb backup
            AndroidKeystore.create(this),
            VaultConfig(deviceId = deviceId, issuerKeys = issuerKeys),
        ).also { vault = it }
    }
}
