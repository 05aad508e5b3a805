package dev.offlineauth.demo

import dev.offlineauth.KeyProtection
import dev.offlineauth.PinVault
import dev.offlineauth.VaultConfig
import dev.offlineauth.VaultException
import dev.offlineauth.issuerKeysFromJwks
import org.json.JSONArray
import org.json.JSONObject
import java.io.File
import java.net.URI
import java.net.URLEncoder
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.time.Duration
import kotlin.system.exitProcess

/** A tiny client for the reference sync server (crate offline-auth-server). */
class Server(private val base: String) {
    private val http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build()

    private fun send(request: HttpRequest.Builder): Pair<Int, String> {
        val response = http.send(request.timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString())
        return response.statusCode() to response.body()
    }

    fun postJson(path: String, body: JSONObject): Pair<Int, JSONObject> {
        val (status, text) = send(
            HttpRequest.newBuilder(URI.create(base + path)).header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body.toString())),
        )
        return status to JSONObject(text)
    }

    fun postBytes(path: String, bytes: ByteArray): Pair<Int, JSONObject> {
        val (status, text) = send(
            HttpRequest.newBuilder(URI.create(base + path)).header("content-type", "application/octet-stream")
                .POST(HttpRequest.BodyPublishers.ofByteArray(bytes)),
        )
        return status to JSONObject(text)
    }

    /** GET [path], signed in as [user] with HTTP Basic credentials when given. */
    fun get(path: String, user: String? = null, password: String? = null): Any {
        val request = HttpRequest.newBuilder(URI.create(base + path)).GET()
        if (user != null && password != null) {
            val token = java.util.Base64.getEncoder().encodeToString("$user:$password".toByteArray())
            request.header("authorization", "Basic $token")
        }
        return send(request).second.let { if (it.trimStart().startsWith("[")) JSONArray(it) else JSONObject(it) }
    }
}

private fun check(condition: Boolean, what: String) {
    if (!condition) {
        System.err.println("DEMO FAILED: $what")
        exitProcess(1)
    }
}

private fun hex(s: String): ByteArray = ByteArray(s.length / 2) { s.substring(2 * it, 2 * it + 2).toInt(16).toByte() }

/** base64url without padding, as the server sends the receipt (the URL decoder accepts it unpadded). */
private fun base64Url(s: String): ByteArray = java.util.Base64.getUrlDecoder().decode(s)

/**
 * The field-worker story: demos/jvm/run.sh starts the reference server and
 * passes its URL and a scratch directory.
 */
fun main(args: Array<String>) {
    check(args.size == 2, "usage: Main SERVER_URL WORK_DIR")
    val server = Server(args[0].trimEnd('/'))
    val dir = File(args[1]).apply { mkdirs() }
    val deviceId = "jvm-demo-" + java.util.UUID.randomUUID().toString().take(8)
    val vaultPath = File(dir, "vault.db").path
    val keystoreFile = File(dir, "keystore.p12")
    val keystorePassword = "demo-only-not-a-secret".toCharArray()
    val pin = "482915"

    println("Keystore: PKCS12 file ${keystoreFile.name} -- SOFTWARE, NOT HARDWARE-BACKED (demo only).")
    println("1. Amira signs in online at the depot (${args[0]}), device $deviceId.")
    val (status, enrolment) = server.postJson(
        "/enroll",
        JSONObject().put("user", "amira").put("password", "correct horse battery").put("device_id", deviceId),
    )
    check(status == 200, "enrol: HTTP $status $enrolment")
    val issuerKeys = issuerKeysFromJwks(enrolment.getJSONObject("jwks").toString())
    val config = VaultConfig(deviceId = deviceId, issuerKeys = issuerKeys)
    var keystore = Pkcs12Keystore(keystoreFile, keystorePassword)
    PinVault.open(vaultPath, keystore, config).use { vault ->
        try {
            vault.enroll("123456", enrolment.getString("grant"), hex(enrolment.getString("sync_key"))).close()
            check(false, "a trivial PIN was accepted")
        } catch (e: VaultException.WeakPin) {
            println("   PIN 123456 refused: ${e.reason}")
        }
        vault.enroll(pin, enrolment.getString("grant"), hex(enrolment.getString("sync_key"))).use { session ->
            println("   Enrolled; offline access until ${java.time.Instant.ofEpochSecond(session.expiresAt())} for ${session.scopes()}.")
        }
        println("   The keystore file now holds ${keystore.size()} key(s).")
    }

    println("2. Offline at pumping station 4 (no network calls from here to step 5). The app restarts.")
    keystore = Pkcs12Keystore(keystoreFile, keystorePassword) // reloaded from the file, as after a restart
    PinVault.open(vaultPath, keystore, config).use { vault ->
        try {
            vault.unlock("111111").close()
            check(false, "a wrong PIN unlocked the vault")
        } catch (e: VaultException.WrongPin) {
            println("   Wrong PIN: ${e.attemptsRemaining} attempts left before the vault wipes itself.")
            check(e.attemptsRemaining == 9u, "attempts remaining after one failure")
        }
        vault.unlock(pin).use { session ->
            println("   Right PIN: unlocked as ${session.userId()}; failed attempts back to ${vault.status().failedAttempts}.")
            check(vault.status().failedAttempts == 0u, "the counter resets after a good PIN")

            println("3. Edits, each durable and queued for sync:")
            for ((key, value) in listOf("station-4" to "seal ok, pressure 4.1 bar", "station-5" to "valve replaced")) {
                println("   put inspections/$key -> seq ${session.put("inspections", key, value.toByteArray())}")
            }
            println("   put notes/todo -> seq ${session.put("notes", "todo", "order gasket".toByteArray())}")
            println("   delete notes/todo -> seq ${session.delete("notes", "todo")}")
            try {
                session.put("payroll", "amira", "+1000".toByteArray())
                check(false, "an edit outside the grant's scope was accepted")
            } catch (e: VaultException.InvalidInput) {
                println("   payroll edit refused: ${e.reason}")
            }

            println("4. Back online: sync.")
            val queue = session.syncQueue()
            println("   ${queue.pendingCount()} edits waiting.")
            val batch = queue.nextBatch(100u)!!
            val device = URLEncoder.encode(deviceId, Charsets.UTF_8)
            val tampered = batch.bytes.copyOf().also { it[it.size / 2] = (it[it.size / 2].toInt() xor 1).toByte() }
            val (tamperStatus, tamperAnswer) = server.postBytes("/sync?device_id=$device", tampered)
            println("   First, a copy with one flipped byte: HTTP $tamperStatus (${tamperAnswer.optString("error")}).")
            check(tamperStatus in 400..499, "a tampered batch is refused")
            val (syncStatus, answer) = server.postBytes("/sync?device_id=$device", batch.bytes)
            check(syncStatus == 200, "sync: HTTP $syncStatus $answer")
            println("   Server verified the MAC chain: applied ${answer.getInt("applied")}, acknowledged seq ${answer.getLong("acknowledged_seq")}.")
            check(answer.getLong("acknowledged_seq").toULong() == batch.lastSeq, "acknowledged seq")
            // The server's receipt (base64url, no padding), MACed with the sync
            // key: the only thing that lets the device delete what it sent.
            val receipt = base64Url(answer.getString("receipt"))
            val forged = receipt.copyOf().also { it[it.size / 2] = (it[it.size / 2].toInt() xor 1).toByte() }
            try {
                queue.acknowledge(forged)
                check(false, "a forged receipt was accepted")
            } catch (e: VaultException.ReceiptInvalid) {
                println("   A receipt with one flipped byte: refused (${e.reason}); still ${queue.pendingCount()} edits queued.")
                check(queue.pendingCount() == batch.entryCount.toULong(), "a forged receipt deleted nothing")
            }
            queue.acknowledge(receipt)
            println("   The server's receipt (${receipt.size} bytes) verified: the queue is empty.")
            check(queue.pendingCount() == 0uL, "queue empty after acknowledge")

            val (replayStatus, replay) = server.postBytes("/sync?device_id=$device", batch.bytes)
            println("   The same batch replayed: HTTP $replayStatus, applied ${replay.optInt("applied")}, duplicates ${replay.optInt("duplicates")}.")
            check(replayStatus == 200 && replay.optInt("applied") == 0, "a replay is not applied again")
            queue.acknowledge(base64Url(replay.getString("receipt"))) // an old receipt again: harmless
            check(queue.pendingCount() == 0uL, "queue still empty")


            println("5. The server now holds:")
            val records = server.get("/records?user=amira", "amira", "correct horse battery")
            val list = (records as? JSONArray) ?: (records as JSONObject).getJSONArray("records")
            val mine = (0 until list.length()).map { list.getJSONObject(it) }
            for (r in mine) println("     ${r.get("collection")}/${r.get("key")} = ${r.get("value")}")
            val keys = mine.map { "${it.get("collection")}/${it.get("key")}" }.toSet()
            check("inspections/station-4" in keys && "inspections/station-5" in keys, "both inspections reached the server")
            check("notes/todo" !in keys, "the deleted note is gone on the server")
            session.lock()
            println("   Session locked: keys zeroized until the next unlock.")
        }
    }
    println("jvm-demo: story complete.")
}
