package dev.offlineauth

import java.util.concurrent.CompletableFuture
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.future.future

/**
 * The device SDK in the forms Java can call: static factories, `int`/`long`
 * where the generated Kotlin has unsigned types, [CompletableFuture] forms of
 * the `suspend` calls, and the Java callback interfaces ([JavaPlatformKeystore],
 * [JavaPlatformAttestor], [JavaClock]).
 *
 * Kotlin's unsigned types (`UInt`, `ULong`) make the compiler rename every
 * function that takes or returns one (`put-qJGtvoU` in the bytecode), which
 * Java cannot call, and hide the constructor of a record with such a field
 * ([VaultConfig]). So from Java, `session.put(...)` and `queue.nextBatch(...)`
 * do not exist; `OfflineAuth.put(session, ...)` and
 * `OfflineAuth.nextBatch(queue, ...)` do. Everything else Java calls on the
 * generated classes directly (`vault.unlock(pin)`, `session.get(...)`).
 *
 * Everything here forwards to the generated bindings; nothing is added.
 * Kotlin callers keep using those directly. From Java:
 *
 * ```java
 * VaultConfig config = OfflineAuth.vaultConfig("device-7", OfflineAuth.issuerKeysFromJwks(jwks))
 *         .maxFailedAttempts(5)
 *         .build();
 * try (PinVault vault = OfflineAuth.openVault(path, new MyKeystore(), config);
 *      OfflineSession session = vault.enroll(pin, grant, syncKey)) {
 *     long seq = OfflineAuth.put(session, "forms", "f-1", bytes);
 *     SyncBatch batch = OfflineAuth.nextBatch(session.syncQueue(), 100);
 * }
 * ```
 *
 * Numbers: an `int` or `long` argument where Rust takes an unsigned number
 * must not be negative ([IllegalArgumentException] otherwise, before any call
 * into the library). A count or sequence number comes back as a `long`
 * (exact: `UInt` always fits, and a `ULong` that would not fit throws
 * [ArithmeticException] rather than turn negative).
 *
 * A future that fails completes exceptionally with the typed
 * [VaultException] (`join()` wraps it in a `CompletionException`, `get()` in
 * an `ExecutionException`). Cancelling a future abandons its result, not the
 * work: an unlock that was started still counts as an attempt.
 */
object OfflineAuth {
    // Completions run on Kotlin's default pool, not on the Rust thread that
    // finished the work; one failed call does not cancel the others.
    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)

    // --- factories and top-level functions ---

    /** [PinVault.open]: the vault at [path], its secrets under [keystore]'s hardware key. */
    @JvmStatic
    @Throws(VaultException::class)
    fun openVault(path: String, keystore: PlatformKeystore, config: VaultConfig): PinVault = PinVault.open(path, keystore, config)

    /** [PinVault.open] with a keystore written in Java. */
    @JvmStatic
    @Throws(VaultException::class)
    fun openVault(path: String, keystore: JavaPlatformKeystore, config: VaultConfig): PinVault =
        PinVault.open(path, keystore(keystore), config)

    /** [PinVault.openWithClock]: as [openVault], with [clock] as the source of time. */
    @JvmStatic
    @Throws(VaultException::class)
    fun openVaultWithClock(path: String, keystore: PlatformKeystore, clock: Clock, config: VaultConfig): PinVault =
        PinVault.openWithClock(path, keystore, clock, config)

    /** [PinVault.openWithClock] with a keystore and a clock written in Java. */
    @JvmStatic
    @Throws(VaultException::class)
    fun openVaultWithClock(path: String, keystore: JavaPlatformKeystore, clock: JavaClock, config: VaultConfig): PinVault =
        PinVault.openWithClock(path, keystore(keystore), clock(clock), config)

    /** [keystore] as the generated [PlatformKeystore]: the [KeystoreException] it throws reaches the vault as that variant. */
    @JvmStatic
    fun keystore(keystore: JavaPlatformKeystore): PlatformKeystore = JavaPlatformKeystoreAdapter(keystore)

    /** [attestor] as the generated [PlatformAttestor]: the [AttestorException] it throws arrives typed. */
    @JvmStatic
    fun attestor(attestor: JavaPlatformAttestor): PlatformAttestor = JavaPlatformAttestorAdapter(attestor)

    /** [clock] as the generated [Clock]: the [ClockException] it throws arrives typed; a negative boot time is `Unavailable`. */
    @JvmStatic
    fun clock(clock: JavaClock): Clock = JavaClockAdapter(clock)

    /** A [VaultConfig] for [deviceId] trusting [issuerKeys], every other setting at its default until set on the builder. */
    @JvmStatic
    fun vaultConfig(deviceId: String, issuerKeys: List<IssuerKey>): VaultConfigBuilder = VaultConfigBuilder(deviceId, issuerKeys)

    /** [dev.offlineauth.issuerKeysFromJwks]: the issuer keys of a JWKS document. */
    @JvmStatic
    @Throws(VaultException::class)
    fun issuerKeysFromJwks(jwks: String): List<IssuerKey> = dev.offlineauth.issuerKeysFromJwks(jwks)

    /** [dev.offlineauth.calibratePbkdf2Iterations]: the iteration count that takes about [targetMillis] here. */
    @JvmStatic
    @Throws(VaultException::class)
    fun calibratePbkdf2Iterations(targetMillis: Int): Int =
        exactInt(dev.offlineauth.calibratePbkdf2Iterations(unsigned(targetMillis, "targetMillis")), "iterations")

    /** [dev.offlineauth.enrolmentEvidence]: [attestor]'s evidence for an enrolment bound to [challenge]. */
    @JvmStatic
    @Throws(VaultException::class)
    fun enrolmentEvidence(attestor: PlatformAttestor, challenge: ByteArray): AttestationEvidence =
        dev.offlineauth.enrolmentEvidence(attestor, challenge)

    /** [dev.offlineauth.uploadMessage]: the bytes to send for [batch]. */
    @JvmStatic
    @Throws(VaultException::class)
    fun uploadMessage(batch: SyncBatch): ByteArray = dev.offlineauth.uploadMessage(batch)

    /** [dev.offlineauth.setLogSink]: the library's logs go to [sink], from [level] up. */
    @JvmStatic
    @Throws(LogSinkException::class)
    fun setLogSink(sink: LogSink, level: LogLevel) = dev.offlineauth.setLogSink(sink, level)

    /** [dev.offlineauth.clearLogSink]: the library logs nowhere again. */
    @JvmStatic
    fun clearLogSink() = dev.offlineauth.clearLogSink()

    // --- calls the generated API declares with unsigned types ---

    /** [OfflineSession.put]: stores [value] under [key]; returns the sequence number of the queued edit. */
    @JvmStatic
    @Throws(VaultException::class)
    fun put(session: OfflineSession, collection: String, key: String, value: ByteArray): Long =
        exact(session.put(collection, key, value), "sequence number")

    /** [OfflineSession.putMany]: stores every record in one durable transaction; returns the last edit's sequence number (consecutive, in the order given). */
    @JvmStatic
    @Throws(VaultException::class)
    fun putMany(session: OfflineSession, collection: String, records: List<KeyValue>): Long =
        exact(session.putMany(collection, records), "sequence number")

    /** [OfflineSession.delete]: removes [key]; returns the sequence number of the queued edit. */
    @JvmStatic
    @Throws(VaultException::class)
    fun delete(session: OfflineSession, collection: String, key: String): Long =
        exact(session.delete(collection, key), "sequence number")

    /** [SyncQueue.nextBatch]: the next batch of at most [maxEntries] edits, or `null` when nothing is pending. */
    @JvmStatic
    @Throws(VaultException::class)
    fun nextBatch(queue: SyncQueue, maxEntries: Int): SyncBatch? = queue.nextBatch(unsigned(maxEntries, "maxEntries"))

    /** [SyncQueue.nextSignedBatch]: as [nextBatch], signed by [attestor]'s device key. */
    @JvmStatic
    @Throws(VaultException::class)
    fun nextSignedBatch(queue: SyncQueue, maxEntries: Int, attestor: PlatformAttestor): SignedBatch? =
        queue.nextSignedBatch(unsigned(maxEntries, "maxEntries"), attestor)

    /** [SyncQueue.pendingCount]: edits not yet acknowledged by a receipt. */
    @JvmStatic
    @Throws(VaultException::class)
    fun pendingCount(queue: SyncQueue): Long = exact(queue.pendingCount(), "pending count")

    /** [PinVault.salvage]: at most [maxEntries] escrowed edits for upload, or `null` when none is left. */
    @JvmStatic
    @Throws(VaultException::class)
    fun salvage(vault: PinVault, maxEntries: Int): SalvageUpload? = vault.salvage(unsigned(maxEntries, "maxEntries"))

    /** [PinVault.forgetSalvaged]: drops the escrowed edits of [enrolment] through [throughSeq]; returns how many. */
    @JvmStatic
    @Throws(VaultException::class)
    fun forgetSalvaged(vault: PinVault, enrolment: ByteArray, throughSeq: Long): Long =
        exact(vault.forgetSalvaged(enrolment, unsigned(throughSeq, "throughSeq")), "count")

    /** [PinVault.escrowedCount]: escrowed edits waiting for salvage. */
    @JvmStatic
    @Throws(VaultException::class)
    fun escrowedCount(vault: PinVault): Long = exact(vault.escrowedCount(), "count")

    // --- the unsigned fields of the generated records ---

    /** [VaultStatus.failedAttempts]. */
    @JvmStatic
    fun failedAttempts(status: VaultStatus): Long = status.failedAttempts.toLong()

    /** [VaultStatus.attemptsRemaining]. */
    @JvmStatic
    fun attemptsRemaining(status: VaultStatus): Long = status.attemptsRemaining.toLong()

    /** [VaultStatus.retryAfterSecs]. */
    @JvmStatic
    fun retryAfterSecs(status: VaultStatus): Long = exact(status.retryAfterSecs, "retryAfterSecs")

    /** [VaultStatus.pendingEntries]. */
    @JvmStatic
    fun pendingEntries(status: VaultStatus): Long = exact(status.pendingEntries, "pendingEntries")

    /** [VaultException.WrongPin.attemptsRemaining]: wrong PINs left before the vault wipes itself. */
    @JvmStatic
    fun attemptsRemaining(error: VaultException.WrongPin): Long = error.attemptsRemaining.toLong()

    /** [SecurityEvent.WrongPin.attemptsRemaining]. */
    @JvmStatic
    fun attemptsRemaining(event: SecurityEvent.WrongPin): Long = event.attemptsRemaining.toLong()

    /** [SecurityEvent.LockedOut.failedAttempts]. */
    @JvmStatic
    fun failedAttempts(event: SecurityEvent.LockedOut): Long = event.failedAttempts.toLong()

    /** [VaultException.LockedOut.retryAfterSecs]: seconds before the next PIN attempt is allowed. */
    @JvmStatic
    fun retryAfterSecs(error: VaultException.LockedOut): Long = exact(error.retryAfterSecs, "retryAfterSecs")

    /** [SecurityEvent.LockedOut.retryAfterSecs]. */
    @JvmStatic
    fun retryAfterSecs(event: SecurityEvent.LockedOut): Long = exact(event.retryAfterSecs, "retryAfterSecs")

    /** [VaultException.ClockAhead.aheadSecs]: how far the wall clock is ahead of the trusted time. */
    @JvmStatic
    fun aheadSecs(error: VaultException.ClockAhead): Long = exact(error.aheadSecs, "aheadSecs")

    /** [VaultException.ClockAhead.retryAfterSecs]. */
    @JvmStatic
    fun retryAfterSecs(error: VaultException.ClockAhead): Long = exact(error.retryAfterSecs, "retryAfterSecs")

    /** [Clock.elapsedSinceBootMillis] of a clock the library provides (`SystemClock().asClock()`). */
    @JvmStatic
    @Throws(ClockException::class)
    fun elapsedSinceBootMillis(clock: Clock): Long = exact(clock.elapsedSinceBootMillis(), "elapsedSinceBootMillis")

    /** [SoftwareKeystore.keyCount]. */
    @JvmStatic
    fun keyCount(keystore: SoftwareKeystore): Long = exact(keystore.keyCount(), "keyCount")

    /** [SyncBatch.firstSeq]. */
    @JvmStatic
    fun firstSeq(batch: SyncBatch): Long = exact(batch.firstSeq, "firstSeq")

    /** [SyncBatch.lastSeq]. */
    @JvmStatic
    fun lastSeq(batch: SyncBatch): Long = exact(batch.lastSeq, "lastSeq")

    /** [SyncBatch.entryCount]. */
    @JvmStatic
    fun entryCount(batch: SyncBatch): Long = batch.entryCount.toLong()

    /** [SalvageUpload.firstSeq]. */
    @JvmStatic
    fun firstSeq(upload: SalvageUpload): Long = exact(upload.firstSeq, "firstSeq")

    /** [SalvageUpload.lastSeq]. */
    @JvmStatic
    fun lastSeq(upload: SalvageUpload): Long = exact(upload.lastSeq, "lastSeq")

    /** [SalvageUpload.entryCount]. */
    @JvmStatic
    fun entryCount(upload: SalvageUpload): Long = upload.entryCount.toLong()

    /** [VaultConfig.maxFailedAttempts]. */
    @JvmStatic
    fun maxFailedAttempts(config: VaultConfig): Long = config.maxFailedAttempts.toLong()

    /** [VaultConfig.pbkdf2Iterations]. */
    @JvmStatic
    fun pbkdf2Iterations(config: VaultConfig): Long = config.pbkdf2Iterations.toLong()

    /** [VaultConfig.minPinLength]. */
    @JvmStatic
    fun minPinLength(config: VaultConfig): Long = config.minPinLength.toLong()

    /** [VaultConfig.idleTimeoutSecs]. */
    @JvmStatic
    fun idleTimeoutSecs(config: VaultConfig): Long = exact(config.idleTimeoutSecs, "idleTimeoutSecs")

    /** [VaultConfig.clockRollbackToleranceSecs]. */
    @JvmStatic
    fun clockRollbackToleranceSecs(config: VaultConfig): Long = exact(config.clockRollbackToleranceSecs, "clockRollbackToleranceSecs")

    /** [VaultConfig.grantClockSkewSecs]. */
    @JvmStatic
    fun grantClockSkewSecs(config: VaultConfig): Long = exact(config.grantClockSkewSecs, "grantClockSkewSecs")

    // --- CompletableFuture forms of the suspend calls ---

    /** [PinVault.enrollAsync] as a future. */
    @JvmStatic
    fun enrollFuture(vault: PinVault, pin: String, grant: String, syncKey: ByteArray): CompletableFuture<OfflineSession> =
        scope.future { vault.enrollAsync(pin, grant, syncKey) }

    /** [PinVault.unlockAsync] as a future: the PIN derivation runs off the caller's thread. */
    @JvmStatic
    fun unlockFuture(vault: PinVault, pin: String): CompletableFuture<OfflineSession> = scope.future { vault.unlockAsync(pin) }

    /** [PinVault.unlockWithGrantAsync] as a future. */
    @JvmStatic
    fun unlockWithGrantFuture(vault: PinVault, pin: String, grant: String): CompletableFuture<OfflineSession> =
        scope.future { vault.unlockWithGrantAsync(pin, grant) }

    /** [PinVault.unlockWithBiometricsAsync] as a future. */
    @JvmStatic
    fun unlockWithBiometricsFuture(vault: PinVault): CompletableFuture<OfflineSession> =
        scope.future { vault.unlockWithBiometricsAsync() }

    /** [PinVault.changePinAsync] as a future. */
    @JvmStatic
    fun changePinFuture(vault: PinVault, oldPin: String, newPin: String): CompletableFuture<Void?> =
        scope.future { vault.changePinAsync(oldPin, newPin); null }

    /** [PinVault.renewalNonceAsync] as a future. */
    @JvmStatic
    fun renewalNonceFuture(vault: PinVault): CompletableFuture<String> = scope.future { vault.renewalNonceAsync() }

    /** [PinVault.wipeAsync] as a future. */
    @JvmStatic
    fun wipeFuture(vault: PinVault): CompletableFuture<Void?> = scope.future { vault.wipeAsync(); null }

    /** [OfflineSession.enableBiometricsAsync] as a future. */
    @JvmStatic
    fun enableBiometricsFuture(session: OfflineSession): CompletableFuture<Void?> =
        scope.future { session.enableBiometricsAsync(); null }

    // --- conversions ---

    internal fun unsigned(value: Int, name: String): UInt {
        require(value >= 0) { "$name must not be negative (it was $value)" }
        return value.toUInt()
    }

    internal fun unsigned(value: Long, name: String): ULong {
        require(value >= 0) { "$name must not be negative (it was $value)" }
        return value.toULong()
    }

    internal fun exactInt(value: UInt, name: String): Int {
        if (value > Int.MAX_VALUE.toUInt()) throw ArithmeticException("$name $value does not fit a Java int")
        return value.toInt()
    }

    internal fun exact(value: ULong, name: String): Long {
        if (value > Long.MAX_VALUE.toULong()) throw ArithmeticException("$name $value does not fit a Java long")
        return value.toLong()
    }
}

/**
 * Builds a [VaultConfig] from Java, whose constructor Java cannot call (its
 * unsigned fields). Start with [OfflineAuth.vaultConfig]; every setting not
 * set keeps the default the Kotlin constructor has. Negative numbers are
 * refused with [IllegalArgumentException] when set; the vault checks the
 * ranges it requires when it is opened (`VaultException.InvalidInput`).
 */
class VaultConfigBuilder internal constructor(deviceId: String, issuerKeys: List<IssuerKey>) {
    private val config = VaultConfig(deviceId = deviceId, issuerKeys = copyOf(issuerKeys))

    /** Wrong PINs in a row before the vault wipes itself (1 to 100). */
    fun maxFailedAttempts(value: Int) = apply { config.maxFailedAttempts = OfflineAuth.unsigned(value, "maxFailedAttempts") }

    /** PBKDF2 iterations for a new PIN (see [OfflineAuth.calibratePbkdf2Iterations]). */
    fun pbkdf2Iterations(value: Int) = apply { config.pbkdf2Iterations = OfflineAuth.unsigned(value, "pbkdf2Iterations") }

    /** The shortest PIN accepted (at least 4). */
    fun minPinLength(value: Int) = apply { config.minPinLength = OfflineAuth.unsigned(value, "minPinLength") }

    /** Seconds without use before an open session locks itself. */
    fun idleTimeoutSecs(value: Long) = apply { config.idleTimeoutSecs = OfflineAuth.unsigned(value, "idleTimeoutSecs") }

    /** How far the wall clock may fall behind the trusted time. */
    fun clockRollbackToleranceSecs(value: Long) =
        apply { config.clockRollbackToleranceSecs = OfflineAuth.unsigned(value, "clockRollbackToleranceSecs") }

    /** How far in the future a grant's `iat` (or `nbf`) may be. */
    fun grantClockSkewSecs(value: Long) = apply { config.grantClockSkewSecs = OfflineAuth.unsigned(value, "grantClockSkewSecs") }

    /** The `iss` every grant must carry (`null`: not checked). */
    fun grantIssuer(value: String?) = apply { config.grantIssuer = value }

    /** The `aud` every grant must carry (`null`: not checked). */
    fun grantAudience(value: String?) = apply { config.grantAudience = value }

    /**
     * The backend's escrow key as the issuer signs it (a compact JWS typed `escrow-key+jwt`): every
     * queued edit is also sealed to it, so that a wipe keeps the user's edits recoverable
     * ([OfflineAuth.salvage]). `null`: no escrow, and a wipe loses unsynced edits.
     */
    fun escrowKey(value: String?) = apply { config.escrowKey = value }

    /**
     * The config, a deep copy: building again after more changes, or changing the issuer-key
     * list (or a key) given to [OfflineAuth.vaultConfig], does not alter it.
     */
    fun build(): VaultConfig = config.copy(issuerKeys = copyOf(config.issuerKeys))

    private companion object {
        // IssuerKey is a record with mutable fields and a byte array: copied whole.
        fun copyOf(keys: List<IssuerKey>): List<IssuerKey> = keys.map { it.copy(publicKey = it.publicKey.copyOf()) }
    }
}
