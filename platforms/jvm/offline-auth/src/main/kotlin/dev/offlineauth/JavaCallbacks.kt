package dev.offlineauth

// The device SDK's fallible foreign traits, as Java implements them.
//
// UniFFI generates PlatformKeystore, PlatformAttestor and Clock as Kotlin
// interfaces without @Throws, so their methods have no `throws` clause in the
// bytecode and javac refuses an implementation that throws KeystoreException,
// AttestorException or ClockException (checked exceptions in Java). A Java
// keystore could then only wrap "the user cancelled" or "the key was
// invalidated" in an unchecked exception, which UniFFI hands to Rust as an
// unexpected callback error: the vault would see a failure instead of the
// typed variant it acts on (a KeyInvalidated key means re-enrolment, a
// cancelled prompt is not an attempt).
//
// So Java implements these interfaces, whose fallible methods declare their
// exception, and OfflineAuth adapts them to the generated ones. The adapters
// are written against the generated interfaces: a change of UniFFI's shape
// for them stops this module's build, not a user's. LogSink and
// SecurityEventListener cannot fail and Java implements them as generated.

/**
 * The platform keystore implemented in Java (Android Keystore, a PKCS#11
 * token, ...): each method may throw [KeystoreException], and the vault sees
 * that variant. Pass it to [OfflineAuth.keystore] or straight to
 * [OfflineAuth.openVault].
 */
interface JavaPlatformKeystore {
    /**
     * Wraps (encrypts) [plaintext] under the hardware key [alias] with [protection], creating the key if needed.
     *
     * @throws KeystoreException the platform's failure, typed (`KeyInvalidated`, `UserCancelled`, ...).
     */
    @Throws(KeystoreException::class)
    fun wrap(alias: String, protection: KeyProtection, plaintext: ByteArray): ByteArray

    /**
     * Unwraps what [wrap] returned for the same [alias] and [protection].
     *
     * @throws KeystoreException the platform's failure, typed.
     */
    @Throws(KeystoreException::class)
    fun unwrap(alias: String, protection: KeyProtection, wrapped: ByteArray): ByteArray

    /**
     * Deletes the key [alias]; deleting a key that does not exist is not an error.
     *
     * @throws KeystoreException the platform's failure, typed.
     */
    @Throws(KeystoreException::class)
    fun deleteKey(alias: String)
}

/**
 * The platform attestor implemented in Java: each method may throw
 * [AttestorException] (`NotSupported` on a device without attestation).
 * Pass it to [OfflineAuth.attestor].
 */
interface JavaPlatformAttestor {
    /**
     * The platform's attestation of the device key, bound to [challenge].
     *
     * @throws AttestorException `NotSupported`, `KeyGone` or `Failed`.
     */
    @Throws(AttestorException::class)
    fun attest(challenge: ByteArray): AttestationEvidence

    /**
     * The device key's signature of [message].
     *
     * @throws AttestorException `KeyGone` or `Failed`.
     */
    @Throws(AttestorException::class)
    fun sign(message: ByteArray): ByteArray
}

/**
 * A clock implemented in Java: each method may throw [ClockException]
 * (`Unavailable`). Pass it to [OfflineAuth.clock] or straight to
 * [OfflineAuth.openVaultWithClock].
 */
interface JavaClock {
    /**
     * Seconds since the Unix epoch (the wall clock, which the user can move).
     *
     * @throws ClockException `Unavailable`.
     */
    @Throws(ClockException::class)
    fun nowUnixSecs(): Long

    /**
     * An identifier of the current boot, different after each restart.
     *
     * @throws ClockException `Unavailable`.
     */
    @Throws(ClockException::class)
    fun bootId(): String

    /**
     * Milliseconds since the device booted, counting deep sleep: a monotonic clock the user
     * cannot set (on Android `SystemClock.elapsedRealtime()`, not `uptimeMillis()` or
     * `System.nanoTime()`, which stop while the device sleeps and would make the wall clock look
     * ahead after every night). Never negative.
     *
     * @throws ClockException `Unavailable`.
     */
    @Throws(ClockException::class)
    fun elapsedSinceBootMillis(): Long
}

/** [keystore] as the generated [PlatformKeystore]: every call forwarded, exceptions unchanged. */
internal class JavaPlatformKeystoreAdapter(private val keystore: JavaPlatformKeystore) : PlatformKeystore {
    override fun wrap(alias: String, protection: KeyProtection, plaintext: ByteArray): ByteArray =
        keystore.wrap(alias, protection, plaintext)

    override fun unwrap(alias: String, protection: KeyProtection, wrapped: ByteArray): ByteArray =
        keystore.unwrap(alias, protection, wrapped)

    override fun deleteKey(alias: String) = keystore.deleteKey(alias)

    override fun toString(): String = "JavaPlatformKeystore(${keystore.javaClass.name})"
}

/** [attestor] as the generated [PlatformAttestor]. */
internal class JavaPlatformAttestorAdapter(private val attestor: JavaPlatformAttestor) : PlatformAttestor {
    override fun attest(challenge: ByteArray): AttestationEvidence = attestor.attest(challenge)

    override fun sign(message: ByteArray): ByteArray = attestor.sign(message)

    override fun toString(): String = "JavaPlatformAttestor(${attestor.javaClass.name})"
}

/**
 * [clock] as the generated [Clock]. A negative boot time from Java (a `long`
 * where Rust has a `u64`) is refused as `Unavailable`, never wrapped into a
 * huge unsigned value that would read as time running far ahead.
 */
internal class JavaClockAdapter(private val clock: JavaClock) : Clock {
    override fun nowUnixSecs(): Long = clock.nowUnixSecs()

    override fun bootId(): String = clock.bootId()

    override fun elapsedSinceBootMillis(): ULong {
        val millis = clock.elapsedSinceBootMillis()
        if (millis < 0) throw ClockException.Unavailable("the Java clock returned a negative time since boot ($millis ms)")
        return millis.toULong()
    }

    override fun toString(): String = "JavaClock(${clock.javaClass.name})"
}
