package dev.offlineauth.android

import android.util.Base64
import androidx.test.ext.junit.runners.AndroidJUnit4
import androidx.test.platform.app.InstrumentationRegistry
import dev.offlineauth.AttestationEvidence
import org.json.JSONArray
import org.json.JSONObject
import org.junit.Assert.assertEquals
import org.junit.Assume.assumeTrue
import org.junit.Test
import org.junit.runner.RunWith
import java.net.HttpURLConnection
import java.net.URL

/**
 * Enrols this device's attested key against two reference servers on the CI
 * host (issue 24): one under the development policy, which accepts the
 * emulator's software-level attestation (with a short window), and one under
 * the production policy, which refuses it. The workflow starts both servers,
 * maps their ports into the emulator with `adb reverse` and passes their
 * addresses as the instrumentation arguments `attestationDevelopment` and
 * `attestationProduction`; without them (a plain `connectedAndroidTest`)
 * the test is skipped.
 *
 * What it proves: the Android adapter's evidence ([AndroidAttestor]) is what
 * the backend's verifier reads, end to end over HTTP. What it cannot prove
 * here: hardware. An emulator's chain ends at Google's software attestation
 * root; only a real device's ends at the hardware roots.
 */
@RunWith(AndroidJUnit4::class)
class AttestedEnrolmentOnEmulatorTest {
    private val arguments = InstrumentationRegistry.getArguments()
    private val context = InstrumentationRegistry.getInstrumentation().targetContext

    @Test
    fun emulatorEnrolsUnderTheDevelopmentPolicyAndIsRefusedUnderProduction() {
        val development = arguments.getString("attestationDevelopment")
        val production = arguments.getString("attestationProduction")
        assumeTrue("no servers given (the attestation workflow step passes them)", development != null && production != null)

        val accepted = enrol(development!!, "emulator-development")
        assertEquals("development: ${accepted.second}", 200, accepted.first)
        val attestation = JSONObject(accepted.second).getJSONObject("attestation")
        assertEquals("software", attestation.getString("level"))
        println("offline-auth attested enrolment (development): $attestation")

        val refused = enrol(production!!, "emulator-production")
        assertEquals("production: ${refused.second}", 403, refused.first)
        println("offline-auth attested enrolment (production): refused ${refused.second}")
    }

    /** `/challenge`, the Keystore attestation over it, `/enroll`: the status and body of the last. */
    private fun enrol(server: String, deviceId: String): Pair<Int, String> {
        val credentials = JSONObject()
            .put("user", "amira")
            .put("password", "correct horse battery")
            .put("device_id", deviceId)
        val (status, body) = post("$server/challenge", credentials)
        assertEquals("challenge: $body", 200, status)
        val challenge = JSONObject(body).getString("challenge")
        val raw = Base64.decode(challenge, Base64.URL_SAFE or Base64.NO_PADDING or Base64.NO_WRAP)
        val evidence = AndroidAttestor(context, preferStrongBox = true, alias = "offline-auth.emulator.$deviceId")
            .attest(raw) as AttestationEvidence.AndroidKeyAttestation
        val chain = JSONArray(evidence.chain.map { Base64.encodeToString(it, Base64.NO_WRAP) })
        val request = JSONObject(credentials.toString())
            .put("challenge", challenge)
            .put("evidence", JSONObject().put("kind", "android_key_attestation").put("chain", chain))
        return post("$server/enroll", request)
    }

    private fun post(url: String, json: JSONObject): Pair<Int, String> {
        val connection = URL(url).openConnection() as HttpURLConnection
        try {
            connection.requestMethod = "POST"
            connection.connectTimeout = 10_000
            connection.readTimeout = 30_000
            connection.doOutput = true
            connection.setRequestProperty("Content-Type", "application/json")
            connection.outputStream.use { it.write(json.toString().toByteArray()) }
            val status = connection.responseCode
            val stream = if (status < 400) connection.inputStream else connection.errorStream
            return status to (stream?.bufferedReader()?.use { it.readText() } ?: "")
        } finally {
            connection.disconnect()
        }
    }
}
