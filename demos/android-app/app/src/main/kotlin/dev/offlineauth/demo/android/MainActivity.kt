package dev.offlineauth.demo.android

import android.app.Activity
import android.graphics.Color
import android.net.ConnectivityManager
import android.net.Network
import android.net.NetworkCapabilities
import android.os.Bundle
import android.text.InputType
import android.view.Gravity
import android.view.View
import android.view.WindowManager
import android.widget.Button
import android.widget.EditText
import android.widget.GridLayout
import android.widget.LinearLayout
import android.widget.ScrollView
import android.widget.TextView
import dev.offlineauth.OfflineSession
import dev.offlineauth.PinVault
import dev.offlineauth.VaultConfig
import dev.offlineauth.VaultException
import dev.offlineauth.android.AndroidKeystore
import dev.offlineauth.issuerKeysFromJwks
import org.json.JSONObject
import java.io.File
import java.net.HttpURLConnection
import java.net.URL
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors

/**
 * The offline-auth demo app: one activity, UI built in code (no XML layouts,
 * no R class), so CI compile-checks it against android-all without the Android
 * Gradle plugin.
 *
 * Every vault call runs on [worker], a background thread: PBKDF2 is slow, and
 * AndroidKeystore blocks its calling thread while the BiometricPrompt is shown
 * (on the main thread it would refuse, to avoid a deadlock).
 */
class MainActivity : Activity() {
    private val worker: ExecutorService = Executors.newSingleThreadExecutor()
    private val app get() = application as DemoApplication

    /** The vault lives in [DemoApplication]: a rotation or a new Activity reuses it. */
    private var vault: PinVault
        get() = app.vault ?: throw IllegalStateException("no vault before the first sign-in")
        set(value) {
            app.vault = value
        }
    private var session: OfflineSession? = null
    private val pin = StringBuilder()

    private lateinit var networkLabel: TextView
    private lateinit var statusLabel: TextView
    private lateinit var pinLabel: TextView
    private lateinit var stationField: EditText
    private lateinit var noteField: EditText
    private lateinit var formPanel: LinearLayout
    private lateinit var pinPanel: LinearLayout
    private lateinit var biometricButton: Button
    private var online = false

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        // No screenshots or recents thumbnails of records and PIN entry.
        window.setFlags(WindowManager.LayoutParams.FLAG_SECURE, WindowManager.LayoutParams.FLAG_SECURE)
        setContentView(buildUi())
        watchNetwork()
        worker.execute {
            // The issuer keys come with the first online sign-in; before it there is no vault to open.
            val issuerKeys = storedIssuerKeys()
            if (issuerKeys.isNotEmpty() && app.vault == null) openVault(issuerKeys)
            refresh()
        }
    }

    override fun onStop() {
        super.onStop()
        // Leaving the app locks the vault: keys are zeroized.
        worker.execute { session?.lock(); session = null; refresh() }
    }

    override fun onDestroy() {
        worker.shutdown()
        super.onDestroy()
    }

    // --- UI -----------------------------------------------------------------

    private fun buildUi(): View {
        val root = LinearLayout(this).apply { orientation = LinearLayout.VERTICAL; setPadding(32, 32, 32, 32) }
        networkLabel = TextView(this).apply { textSize = 14f }
        statusLabel = TextView(this).apply { textSize = 16f; setPadding(0, 16, 0, 16) }
        pinLabel = TextView(this).apply { textSize = 32f; gravity = Gravity.CENTER; letterSpacing = 0.3f }
        root.addView(networkLabel)
        root.addView(statusLabel)

        pinPanel = LinearLayout(this).apply { orientation = LinearLayout.VERTICAL }
        pinPanel.addView(pinLabel)
        val pad = GridLayout(this).apply { columnCount = 3 }
        for (label in listOf("1", "2", "3", "4", "5", "6", "7", "8", "9", "⌫", "0", "OK")) {
            pad.addView(Button(this).apply {
                text = label
                setOnClickListener { onPinKey(label) }
            })
        }
        pinPanel.addView(pad)
        biometricButton = Button(this).apply {
            text = "Unlock with biometrics"
            setOnClickListener { worker.execute { unlockWithBiometrics() } }
        }
        pinPanel.addView(biometricButton)
        root.addView(pinPanel)

        formPanel = LinearLayout(this).apply { orientation = LinearLayout.VERTICAL; visibility = View.GONE }
        stationField = EditText(this).apply { hint = "Station (e.g. station-4)"; inputType = InputType.TYPE_CLASS_TEXT }
        noteField = EditText(this).apply { hint = "Inspection result"; inputType = InputType.TYPE_CLASS_TEXT }
        formPanel.addView(stationField)
        formPanel.addView(noteField)
        formPanel.addView(Button(this).apply { text = "Save inspection"; setOnClickListener { save() } })
        formPanel.addView(Button(this).apply { text = "Sync now"; setOnClickListener { worker.execute { sync() } } })
        formPanel.addView(Button(this).apply {
            text = "Turn on biometric unlock"
            setOnClickListener { worker.execute { enableBiometrics() } }
        })
        formPanel.addView(Button(this).apply { text = "Lock"; setOnClickListener { worker.execute { session?.lock(); session = null; refresh() } } })
        root.addView(formPanel)
        return ScrollView(this).apply { addView(root) }
    }

    private fun onPinKey(label: String) {
        when (label) {
            "⌫" -> if (pin.isNotEmpty()) pin.setLength(pin.length - 1)
            "OK" -> {
                val typed = pin.toString()
                pin.setLength(0)
                worker.execute { submitPin(typed) }
            }
            else -> if (pin.length < 12) pin.append(label)
        }
        pinLabel.text = "•".repeat(pin.length)
    }

    private fun show(message: String) = runOnUiThread { statusLabel.text = message }

    private fun refresh() {
        val status = if (app.vault != null) vault.status() else null
        val unlocked = session?.isUnlocked() == true && app.vault != null
        val pending = if (unlocked) session!!.syncQueue().pendingCount() else status?.pendingEntries ?: 0uL
        runOnUiThread {
            pinPanel.visibility = if (unlocked) View.GONE else View.VISIBLE
            formPanel.visibility = if (unlocked) View.VISIBLE else View.GONE
            biometricButton.isEnabled = status?.biometricsEnabled == true
            statusLabel.text = when {
                status == null -> "Not enrolled: connect, then type a new 6-digit PIN and OK to sign in online."
                status.wiped || !status.enrolled -> "Not enrolled: connect, then type a new 6-digit PIN and OK to sign in online."
                unlocked -> "Signed in as ${session!!.userId()}. $pending edit(s) waiting for sync."
                else -> "Locked. Type your PIN. ${status.attemptsRemaining} attempts before wipe; $pending edit(s) not yet synced."
            }
        }
    }

    private fun watchNetwork() {
        val connectivity = getSystemService(ConnectivityManager::class.java)
        fun update(isOnline: Boolean) {
            online = isOnline
            runOnUiThread {
                networkLabel.text = if (isOnline) "● Online" else "○ Offline: working from the vault"
                networkLabel.setTextColor(if (isOnline) Color.rgb(0, 128, 0) else Color.rgb(192, 96, 0))
            }
        }
        update(connectivity.getNetworkCapabilities(connectivity.activeNetwork)
            ?.hasCapability(NetworkCapabilities.NET_CAPABILITY_INTERNET) == true)
        connectivity.registerDefaultNetworkCallback(object : ConnectivityManager.NetworkCallback() {
            override fun onAvailable(network: Network) = update(true)
            override fun onLost(network: Network) = update(false)
        })
    }

    // --- Vault calls (worker thread only) ------------------------------------

    private fun submitPin(typed: String) {
        try {
            session = if (app.vault != null && vault.isEnrolled()) vault.unlock(typed) else enrollOnline(typed)
        } catch (e: VaultException.WrongPin) {
            show("Wrong PIN: ${e.attemptsRemaining} attempts left before this device forgets your data.")
            return
        } catch (e: VaultException.LockedOut) {
            show("Too many wrong PINs: try again in ${e.retryAfterSecs} s.")
            return
        } catch (e: VaultException.WeakPin) {
            show("Choose another PIN: ${e.reason}.")
            return
        } catch (e: VaultException.MalformedPin) {
            show("That cannot be your PIN (${e.reason}); no attempt was counted.")
            return
        } catch (e: VaultException.DeviceKeyLost) {
            deviceKeyLost()
            return
        } catch (e: VaultException) {
            show("Cannot unlock: ${e.javaClass.simpleName}. ${e.message}")
            return
        }
        refresh()
    }

    private fun unlockWithBiometrics() {
        try {
            session = vault.unlockWithBiometrics() // shows the BiometricPrompt, blocks this worker thread
            refresh()
        } catch (e: VaultException.DeviceKeyLost) {
            deviceKeyLost()
        } catch (e: VaultException.BiometricsInvalidated) {
            show("Biometrics changed on this device: unlock with your PIN and turn biometric unlock on again.")
        } catch (e: VaultException.UserCancelled) {
            show("Cancelled. Use your PIN.")
        } catch (e: VaultException) {
            show("Biometric unlock unavailable: ${e.javaClass.simpleName}")
        }
    }

    private fun enableBiometrics() {
        try {
            session?.enableBiometrics() // shows the prompt once: the key is auth-bound for every use
            show("Biometric unlock is on.")
        } catch (e: VaultException) {
            show("Could not turn on biometric unlock: ${e.javaClass.simpleName}")
        }
    }

    private fun save() {
        val station = stationField.text.toString().trim()
        val note = noteField.text.toString()
        if (station.isEmpty()) return show("Enter a station.")
        worker.execute {
            try {
                val seq = session?.put("inspections", station, note.toByteArray()) ?: return@execute refresh()
                show("Saved $station (queued as edit #$seq).")
                runOnUiThread { noteField.text.clear() }
            } catch (e: VaultException) {
                show("Not saved: ${e.javaClass.simpleName}")
                refresh()
            }
        }
    }

    private fun sync() {
        val current = session ?: return refresh()
        if (!online) return show("Offline: edits stay queued, encrypted, until the next sync.")
        try {
            val queue = current.syncQueue()
            val batch = queue.nextBatch(100u) ?: return show("Nothing to sync.")
            val answer = http("POST", "/sync?device_id=${deviceId()}", batch.bytes, "application/octet-stream")
            // Only the server's receipt (base64url, no padding; MACed with the
            // sync key) deletes queued edits: a forged one is ReceiptInvalid.
            queue.acknowledge(java.util.Base64.getUrlDecoder().decode(answer.getString("receipt")))
            show("Synced: ${answer.getInt("applied")} edit(s) accepted by the server.")
        } catch (e: Exception) {
            show("Sync failed (${e.javaClass.simpleName}); edits stay queued.")
        }
        refresh()
    }

    /**
     * The device key is gone (the screen lock was removed, or the keystore
     * cleared): neither PIN nor biometrics can open this vault again. Sync
     * what an open session still holds, then wipe and ask for a new online
     * sign-in. Edits that no session can reach any more are lost; say how many.
     */
    private fun deviceKeyLost() {
        session?.let { if (online) sync() }
        val lost = session?.syncQueue()?.pendingCount() ?: vault.status().pendingEntries
        session?.lock()
        session = null
        vault.wipe()
        refresh()
        show(
            "This device's screen lock was removed or its keystore was reset, so the vault can no longer be opened. " +
                "It was wiped ($lost unsynced edit(s) lost). Turn the screen lock on, connect, then type a new PIN to sign in online.",
        )
    }

    private fun enrollOnline(newPin: String): OfflineSession {
        // Demo credentials of the reference server; a real app runs its own sign-in here.
        val body = JSONObject().put("user", "amira").put("password", "correct horse battery").put("device_id", deviceId())
        val answer = http("POST", "/enroll", body.toString().toByteArray(), "application/json")
        val jwks = answer.getJSONObject("jwks").toString()
        getSharedPreferences("offline-auth", MODE_PRIVATE).edit().putString("jwks", jwks).apply()
        // openVault replaces the vault in DemoApplication, which closes the old one.
        openVault(issuerKeysFromJwks(jwks))
        val syncKey = answer.getString("sync_key").chunked(2).map { it.toInt(16).toByte() }.toByteArray()
        return vault.enroll(newPin, answer.getString("grant"), syncKey).also { syncKey.fill(0) }
    }

    private fun openVault(issuerKeys: List<dev.offlineauth.IssuerKey>) {
        vault = PinVault.open(
            File(noBackupFilesDir, "vault.db").path, // noBackupFilesDir: never in a cloud or adb backup
            // Application context only; the prompt is shown over the resumed Activity.
            AndroidKeystore.create(applicationContext, app.foreground::current),
            VaultConfig(deviceId = deviceId(), issuerKeys = issuerKeys),
        )
    }

    private fun storedIssuerKeys() =
        getSharedPreferences("offline-auth", MODE_PRIVATE).getString("jwks", null)?.let(::issuerKeysFromJwks) ?: emptyList()

    private fun deviceId(): String {
        val prefs = getSharedPreferences("offline-auth", MODE_PRIVATE)
        return prefs.getString("device_id", null)
            ?: java.util.UUID.randomUUID().toString().also { prefs.edit().putString("device_id", it).apply() }
    }

    private fun http(method: String, path: String, body: ByteArray, contentType: String): JSONObject {
        val connection = URL(SERVER_URL + path).openConnection() as HttpURLConnection
        try {
            connection.requestMethod = method
            connection.connectTimeout = 10_000
            connection.readTimeout = 30_000
            connection.doOutput = true
            connection.setRequestProperty("content-type", contentType)
            connection.outputStream.use { it.write(body) }
            val ok = connection.responseCode in 200..299
            val text = (if (ok) connection.inputStream else connection.errorStream).bufferedReader().use { it.readText() }
            if (!ok) throw IllegalStateException("HTTP ${connection.responseCode}: ${JSONObject(text).optString("error")}")
            return JSONObject(text)
        } finally {
            connection.disconnect()
        }
    }

    companion object {
        /** The reference sync server on the development machine, as the emulator sees it. */
        const val SERVER_URL = "http://10.0.2.2:8787"

    }
}
