// The README's Android example, compiled here against android-all by the
// `android` CI section (a compile check: it needs a device to run; the
// emulator tests of .github/workflows/android.yml run the same calls).
// scripts/check-readme-examples.py keeps the README's block identical to the
// region between the readme markers. It sits in an app's package of its own,
// so the region names every import a new file needs.
package com.example.fieldapp

// readme:start
import android.app.Application
import dev.offlineauth.PinVault
import dev.offlineauth.VaultConfig
import dev.offlineauth.android.AndroidKeystore
import dev.offlineauth.android.ForegroundActivity
import dev.offlineauth.issuerKeysFromJwks
import java.io.File

class FieldApp : Application() {
    val foreground = ForegroundActivity()   // biometric prompts go to the resumed Activity, never a leaked one
    fun openVault(jwks: String) = PinVault.open(
        File(noBackupFilesDir, "vault.db").path,    // never in a cloud or adb backup
        AndroidKeystore.create(this, foreground::current),
        VaultConfig(deviceId = "tablet-42", issuerKeys = issuerKeysFromJwks(jwks)),
    )
    override fun onCreate() { super.onCreate(); foreground.register(this) }
}

suspend fun recordInspection(vault: PinVault, pin: String) {
    val session = vault.unlockAsync(pin)    // the PIN's KDF runs off the main thread
    try { session.put("inspections", "station-4", "seal ok".toByteArray()) } finally { session.lock() }
}
// readme:end
