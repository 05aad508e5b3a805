package dev.offlineauth.backend

import java.util.concurrent.CompletableFuture
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.future.future

/**
 * The backend API in the forms Java expects: static factories, overloads for
 * the optional arguments, and [CompletableFuture] forms of the `suspend`
 * calls (a Kotlin `suspend` function takes a `Continuation`, which Java cannot
 * supply).
 *
 * Everything here forwards to the generated bindings; nothing is added.
 * Kotlin callers keep using those directly (`GrantIssuer.generate(kid)`,
 * `verifier.verifyAsync(...)`). From Java:
 *
 * ```java
 * GrantIssuer issuer = OfflineAuthBackend.generateIssuer("2026-11");
 * String jwks = OfflineAuthBackend.jwksFromIssuerKeys(List.of(issuer.issuerKey()));
 * CompletableFuture<VerifiedBatch> verified = OfflineAuthBackend.verifyFuture(verifier, body, syncKey, cursor);
 * ```
 *
 * A future that fails completes exceptionally with the typed
 * [BackendException] (`join()` wraps it in a `CompletionException`, `get()` in
 * an `ExecutionException`). Cancelling the future abandons the result; the
 * calls have no side effect to undo.
 */
object OfflineAuthBackend {
    // Completions run on Kotlin's default pool, not on the Rust thread that
    // finished the work; one failed call does not cancel the others.
    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)

    // --- factories (the generated `Companion` constructors) ---

    /** A [GrantIssuer] with a fresh random key, named [kid]. */
    @JvmStatic
    @Throws(BackendException::class)
    fun generateIssuer(kid: String): GrantIssuer = GrantIssuer.generate(kid)

    /** A [GrantIssuer] from a 32-byte Ed25519 private key (seed), with [options] (default: `EdDSA`, no `iss`, no `aud`). */
    @JvmStatic
    @JvmOverloads
    @Throws(BackendException::class)
    fun issuer(kid: String, privateKey: ByteArray, options: IssuerOptions = IssuerOptions()): GrantIssuer =
        GrantIssuer.withOptions(kid, privateKey, options)

    /**
     * A [GrantIssuer] whose key stays in a KMS or HSM behind [signer]: a
     * `BackendException` its `sign` throws reaches the caller of `issue`
     * as that variant.
     */
    @JvmStatic
    @JvmOverloads
    @Throws(BackendException::class)
    fun issuerWithSigner(signer: JavaGrantSigner, options: IssuerOptions = IssuerOptions()): GrantIssuer =
        GrantIssuer.withSigner(grantSigner(signer), options)

    /** A [GrantIssuer] over a [GrantSigner] written in Kotlin. */
    @JvmStatic
    @JvmOverloads
    @Throws(BackendException::class)
    fun issuerWithSigner(signer: GrantSigner, options: IssuerOptions = IssuerOptions()): GrantIssuer =
        GrantIssuer.withSigner(signer, options)

    /** [signer] as the generated [GrantSigner] interface, for the calls that take one. */
    @JvmStatic
    fun grantSigner(signer: JavaGrantSigner): GrantSigner = JavaGrantSignerAdapter(signer)

    /** [clock] as the generated [ServerClock] interface, for the calls that take one. */
    @JvmStatic
    fun serverClock(clock: JavaServerClock): ServerClock = JavaServerClockAdapter(clock)

    /** An in-memory [Ed25519Signer] with a fresh random key. */
    @JvmStatic
    @Throws(BackendException::class)
    fun generateSigner(kid: String): Ed25519Signer = Ed25519Signer.generate(kid)

    /** A [SyncVerifier] trusting [issuerKeys], on the system clock. */
    @JvmStatic
    @Throws(BackendException::class)
    fun syncVerifier(issuerKeys: List<IssuerKey>): SyncVerifier = SyncVerifier(issuerKeys)

    /** A [SyncVerifier] on [clock] (a Java lambda will do): a `BackendException` it throws reaches the caller. */
    @JvmStatic
    @Throws(BackendException::class)
    fun syncVerifier(issuerKeys: List<IssuerKey>, clock: JavaServerClock): SyncVerifier =
        SyncVerifier.withClock(issuerKeys, serverClock(clock))

    /** A [SyncVerifier] on [clock] that checks grants under [policy]. */
    @JvmStatic
    @Throws(BackendException::class)
    fun syncVerifier(issuerKeys: List<IssuerKey>, clock: JavaServerClock, policy: GrantPolicy): SyncVerifier =
        SyncVerifier.withPolicy(issuerKeys, serverClock(clock), policy)

    // The generated ServerClock is a one-method interface too: were these
    // overloads also named syncVerifier, javac would find a Java lambda
    // ambiguous between the two clocks and refuse `syncVerifier(keys, () -> now)`.

    /** A [SyncVerifier] on a generated [ServerClock] (one written in Kotlin, or the library's). */
    @JvmStatic
    @Throws(BackendException::class)
    fun syncVerifierOnServerClock(issuerKeys: List<IssuerKey>, clock: ServerClock): SyncVerifier =
        SyncVerifier.withClock(issuerKeys, clock)

    /** A [SyncVerifier] on a generated [ServerClock], checking grants under [policy]. */
    @JvmStatic
    @Throws(BackendException::class)
    fun syncVerifierOnServerClock(issuerKeys: List<IssuerKey>, clock: ServerClock, policy: GrantPolicy): SyncVerifier =
        SyncVerifier.withPolicy(issuerKeys, clock, policy)

    /** An [EnrolmentVerifier] whose revoked serials come from a status list (JSON). */
    @JvmStatic
    @Throws(BackendException::class)
    fun enrolmentVerifierWithStatusList(
        roots: List<ByteArray>,
        statusListJson: ByteArray,
        policy: AttestationPolicy,
    ): EnrolmentVerifier = EnrolmentVerifier.withStatusList(roots, statusListJson, policy)

    /** A [SalvageOpener] over [verifier] with the escrow private keys in [keys]. */
    @JvmStatic
    @Throws(BackendException::class)
    fun salvageOpenerFromKeyText(verifier: SyncVerifier, keys: String): SalvageOpener =
        SalvageOpener.fromKeyText(verifier, keys)

    /** The cursor of a device that never synced: seq 0 and 32 zero bytes. */
    @JvmStatic
    fun initialSyncCursor(): SyncCursor = dev.offlineauth.backend.initialSyncCursor()

    // --- the generated top-level functions (Java: `Offline_auth_backendKt`) ---

    /** A fresh 32-byte sync key for one device. */
    @JvmStatic
    @Throws(BackendException::class)
    fun generateSyncKey(): ByteArray = dev.offlineauth.backend.generateSyncKey()

    /** A fresh enrolment challenge. */
    @JvmStatic
    @Throws(BackendException::class)
    fun generateChallenge(): ByteArray = dev.offlineauth.backend.generateChallenge()

    /** The JWKS document (JSON) that publishes [keys]. */
    @JvmStatic
    @Throws(BackendException::class)
    fun jwksFromIssuerKeys(keys: List<IssuerKey>): String = dev.offlineauth.backend.jwksFromIssuerKeys(keys)

    /** The issuer keys a JWKS document publishes. */
    @JvmStatic
    @Throws(BackendException::class)
    fun issuerKeysFromJwks(jwks: String): List<IssuerKey> = dev.offlineauth.backend.issuerKeysFromJwks(jwks)

    /** The claims of [grant] once its signature verifies with one of [issuerKeys]. */
    @JvmStatic
    @Throws(BackendException::class)
    fun verifyGrant(grant: String, issuerKeys: List<IssuerKey>): GrantInfo =
        dev.offlineauth.backend.verifyGrant(grant, issuerKeys)

    /** A fresh escrow key pair named [kid]. */
    @JvmStatic
    @Throws(BackendException::class)
    fun generateEscrowKeyPair(kid: String): EscrowKeyPair = dev.offlineauth.backend.generateEscrowKeyPair(kid)

    /** The production attestation preset (`attestationPolicyProduction` of the bindings). */
    @JvmStatic
    fun attestationPolicyProduction(): AttestationPolicy = dev.offlineauth.backend.attestationPolicyProduction()

    /** The development preset: every level and unsigned uploads accepted; never in production. */
    @JvmStatic
    fun attestationPolicyDevelopment(): AttestationPolicy = dev.offlineauth.backend.attestationPolicyDevelopment()

    /** Checks an upload's signature with the device's attested key (see the generated function's KDoc). */
    @JvmStatic
    @Throws(UploadRefusal::class)
    fun verifyUploadSignature(
        key: UploadKey?,
        signature: ByteArray?,
        deviceId: String,
        firstSeq: Long,
        lastSeq: Long,
        batch: ByteArray,
        required: Boolean,
    ): Long? = dev.offlineauth.backend.verifyUploadSignature(key, signature, deviceId, firstSeq, lastSeq, batch, required)

    // --- CompletableFuture forms of the suspend calls ---

    /** [GrantIssuer.issueAsync] as a future: the signer runs off the caller's thread. */
    @JvmStatic
    fun issueFuture(
        issuer: GrantIssuer,
        userId: String,
        deviceId: String,
        scopes: List<String>,
        issuedAt: Long,
        expiresAt: Long,
    ): CompletableFuture<String> = scope.future { issuer.issueAsync(userId, deviceId, scopes, issuedAt, expiresAt) }

    /** [SyncVerifier.verifyAsync] as a future: the batch is checked off the caller's thread. */
    @JvmStatic
    fun verifyFuture(
        verifier: SyncVerifier,
        batch: ByteArray,
        syncKey: ByteArray,
        cursor: SyncCursor,
    ): CompletableFuture<VerifiedBatch> = scope.future { verifier.verifyAsync(batch, syncKey, cursor) }
}
