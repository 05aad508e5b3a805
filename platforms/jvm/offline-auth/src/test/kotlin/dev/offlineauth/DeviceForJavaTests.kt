package dev.offlineauth

import java.nio.file.Files

/**
 * A real device for the plain-Java backend tests (platforms/jvm/java-consumer,
 * through this module's test-jar): enrols with a grant and sync key from the
 * backend, queues one edit, hands over the batch bytes, and takes the
 * backend's receipt. The backend calls under test are Java; a device driven
 * from Java itself (through OfflineAuth) is DeviceFromJavaTest's.
 */
class DeviceForJavaTests(deviceId: String, jwks: String, grant: String, syncKey: ByteArray) : AutoCloseable {
    private val dir = Files.createTempDirectory("offline-auth-java-device")
    private val vault = PinVault.open(
        dir.resolve("vault.db").toString(),
        JcaKeystore(),
        VaultConfig(deviceId = deviceId, issuerKeys = issuerKeysFromJwks(jwks)),
    )
    private val session = vault.enroll(PIN, grant, syncKey)
    private val queue = session.syncQueue()

    /** Queues one edit and returns the batch the device would upload. */
    fun uploadOneEdit(collection: String, key: String, value: ByteArray): ByteArray {
        session.put(collection, key, value)
        return queue.nextBatch(100u)!!.bytes
    }

    fun acknowledge(receipt: ByteArray) = queue.acknowledge(receipt)

    fun pendingCount(): Long = queue.pendingCount().toLong()

    override fun close() {
        session.lock()
        vault.close()
        dir.toFile().deleteRecursively()
    }
}
