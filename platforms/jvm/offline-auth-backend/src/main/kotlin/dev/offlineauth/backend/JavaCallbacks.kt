package dev.offlineauth.backend

// The backend's foreign traits, as Java implements them.
//
// UniFFI generates GrantSigner and ServerClock as Kotlin interfaces without
// @Throws, so their methods have no `throws` clause in the bytecode, and javac
// refuses an implementation that throws BackendException (a checked exception
// in Java) — also through an abstract class that redeclares the method with a
// `throws` clause, since Java never lets an override widen what it throws. A
// Java signer could only wrap a KMS failure in an unchecked exception, which
// UniFFI hands to Rust as an unexpected callback error: the caller saw
// `Internal` with the Java stack trace as its reason.
//
// So Java implements these two interfaces of ours, whose fallible method is
// declared with @Throws, and OfflineAuthBackend adapts them to the generated
// ones (a Kotlin call has no checked exceptions): the typed variant a Java
// signer throws (`new BackendException.Signer("...")`) reaches Rust as that
// variant, and the caller sees it with its message. The adapters are hand
// written against the generated interfaces: a change of UniFFI's shape for
// these methods stops this module's build, not a user's.

/**
 * A grant signer implemented in Java, over a KMS or HSM: [sign] may throw
 * [BackendException], typically `BackendException.Signer` when the key store
 * fails; the issuer hands that exception to its caller unchanged. Pass it to
 * [OfflineAuthBackend.issuerWithSigner].
 */
interface JavaGrantSigner {
    /** The key id, put in each grant's header and in the JWKS. */
    fun kid(): String

    /** The raw 32-byte Ed25519 public key. */
    fun publicKey(): ByteArray

    /**
     * The 64-byte Ed25519 signature of `message` (the JWS signing input).
     *
     * @throws BackendException `Signer` when the key store fails.
     */
    @Throws(BackendException::class)
    fun sign(message: ByteArray): ByteArray
}

/**
 * The server's clock implemented in Java (a lambda will do): [nowUnixSecs]
 * may throw [BackendException], typically `BackendException.Clock`, which the
 * verifier hands to its caller unchanged. Pass it to
 * [OfflineAuthBackend.syncVerifier].
 */
fun interface JavaServerClock {
    /**
     * Seconds since the Unix epoch.
     *
     * @throws BackendException `Clock` if the time cannot be read.
     */
    @Throws(BackendException::class)
    fun nowUnixSecs(): Long
}

/** [signer] as the generated [GrantSigner]: every call forwarded, exceptions unchanged. */
internal class JavaGrantSignerAdapter(private val signer: JavaGrantSigner) : GrantSigner {
    override fun kid(): String = signer.kid()

    override fun publicKey(): ByteArray = signer.publicKey()

    override fun sign(message: ByteArray): ByteArray = signer.sign(message)

    override fun toString(): String = "JavaGrantSigner(kid=${signer.kid()})"
}

/** [clock] as the generated [ServerClock]. */
internal class JavaServerClockAdapter(private val clock: JavaServerClock) : ServerClock {
    override fun nowUnixSecs(): Long = clock.nowUnixSecs()
}
