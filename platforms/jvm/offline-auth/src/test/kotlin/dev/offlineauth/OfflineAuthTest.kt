package dev.offlineauth

import dev.offlineauth.backend.BackendException
import dev.offlineauth.backend.GrantInfo
import dev.offlineauth.backend.GrantIssuer
import dev.offlineauth.backend.SyncCursor
import dev.offlineauth.backend.SyncVerifier
import dev.offlineauth.backend.generateSyncKey
import dev.offlineauth.backend.jwksFromIssuerKeys
import dev.offlineauth.backend.verifyGrant
import dev.offlineauth.backend.IssuerKey as BackendIssuerKey
import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.Timeout
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import java.nio.file.Path
import java.util.concurrent.Callable
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit

/**
 * Binding-layer tests for the Kotlin/JVM device artifact (the crypto is tested
 * in Rust). The backend artifact (dev.offlineauth.backend, test scope) issues
 * the grants and sync keys and verifies the batches, as a real backend would.
 */
class OfflineAuthTest {
    @TempDir
    lateinit var dir: Path

    // --- 1. A keystore written in Kotlin (JCA) drives the full cycle ---------

    @Test
    fun `JCA keystore drives enrol, unlock, put-get, sync batch and acknowledge`() {
        val ks = JcaKeystore()
        PinVault.open(vaultPath(dir), ks, Backend.config()).use { vault ->
            assertFalse(vault.isEnrolled())
            val syncKey = generateSyncKey()
            assertEquals(32, syncKey.size)

            vault.enroll(PIN, Backend.grant(), syncKey).use { session ->
                assertTrue(vault.isEnrolled())
                assertEquals(USER, session.userId())
                assertEquals(SCOPES, session.scopes())
                assertTrue(session.expiresAt() > System.currentTimeMillis() / 1000)
                assertEquals(1uL, session.put("notes", "n1", "first note".toByteArray()))
                assertEquals(2uL, session.put("visits", "v1", byteArrayOf(0, 1, 2)))
                assertEquals(3uL, session.delete("notes", "gone"))
                session.lock()
                assertFalse(session.isUnlocked())
            }

            vault.unlock(PIN).use { session ->
                assertArrayEquals("first note".toByteArray(), session.get("notes", "n1"))
                assertNull(session.get("notes", "missing"))
                assertEquals(listOf("n1"), session.keys("notes"))

                session.syncQueue().use { queue ->
                    assertEquals(3uL, queue.pendingCount())
                    val batch = checkNotNull(queue.nextBatch(100u)) { "expected a batch" }
                    assertEquals(1uL, batch.firstSeq)
                    assertEquals(3uL, batch.lastSeq)
                    assertEquals(3u, batch.entryCount)

                    val receipt = SyncVerifier(listOf(Backend.issuer.issuerKey())).use { verifier ->
                        val verified = verifier.verify(batch.bytes, syncKey, SyncCursor(0L, ByteArray(32)))
                        assertEquals(DEVICE, verified.deviceId)
                        assertEquals(USER, verified.userId)
                        assertEquals(listOf("n1", "v1", "gone"), verified.operations.map { it.key })
                        assertNull(verified.operations[2].value)
                        assertEquals(listOf<Long?>(0L, 0L, 0L), verified.operations.map { it.boots })
                        assertEquals(3L, verified.cursor.lastSeq)
                        assertTrue(verified.receipt.isNotEmpty())
                        verified.receipt
                    }

                    // The backend answers with the receipt; only that deletes entries.
                    queue.acknowledge(receipt)
                    assertEquals(0uL, queue.pendingCount())
                    assertNull(queue.nextBatch(100u))
                }
            }

            val status = vault.status()
            assertTrue(status.enrolled)
            assertEquals(0uL, status.pendingEntries)
            assertTrue(ks.wraps.get() >= 1 && ks.unwraps.get() >= 1, "the Kotlin keystore was called")
        }
    }

    @Test
    fun `exported SoftwareKeystore, biometrics, PIN change and wipe`() {
        SoftwareKeystore().use { sks ->
            PinVault.open(vaultPath(dir), sks.asPlatformKeystore(), Backend.config()).use { vault ->
                vault.enroll(PIN, Backend.grant(), generateSyncKey()).use { it.enableBiometrics() }
                assertTrue(vault.status().biometricsEnabled)
                vault.unlockWithBiometrics().use { session ->
                    assertEquals(USER, session.userId())
                    session.disableBiometrics()
                }
                assertThrows<VaultException.BiometricsUnavailable> { vault.unlockWithBiometrics() }

                vault.changePin(PIN, "730514")
                assertThrows<VaultException.WrongPin> { vault.unlock(PIN) }
                vault.unlock("730514").use { assertEquals(USER, it.userId()) }
                assertTrue(sks.keyCount() > 0uL)
                vault.wipe()
                assertTrue(vault.status().wiped)
                assertEquals(0uL, sks.keyCount())
            }
        }
    }

    @Test
    fun `JCA keystore serves biometric unlock`() {
        val ks = JcaKeystore()
        PinVault.open(vaultPath(dir), ks, Backend.config()).use { vault ->
            vault.enroll(PIN, Backend.grant(), generateSyncKey()).use { it.enableBiometrics() }
            vault.unlockWithBiometrics().use { assertEquals(USER, it.userId()) }
        }
    }

    @Test
    fun `SystemClock object can be passed where a Clock is expected`() {
        SystemClock().use { clock ->
            SoftwareKeystore().use { sks ->
                PinVault.openWithClock(vaultPath(dir), sks.asPlatformKeystore(), clock.asClock(), Backend.config()).use { vault ->
                    vault.enroll(PIN, Backend.grant(), generateSyncKey()).close()
                    vault.unlock(PIN).use { assertEquals(USER, it.userId()) }
                }
            }
        }
    }

    @Test
    fun `backend helpers, JWKS round trip and grant renewal`() {
        val issuer = Backend.issuer
        // Records holding bytes are Kotlin data classes with a ByteArray field:
        // their equals() compares the array by reference, so compare contents.
        // The backend's and the device's IssuerKey are separate generated types.
        fun same(a: BackendIssuerKey, b: BackendIssuerKey) = a.kid == b.kid && a.publicKey.contentEquals(b.publicKey)
        fun same(a: BackendIssuerKey, b: IssuerKey) = a.kid == b.kid && a.publicKey.contentEquals(b.publicKey)
        GrantIssuer(issuer.kid(), issuer.privateKey()).use { again ->
            assertTrue(same(issuer.issuerKey(), again.issuerKey()))
            val jwks = jwksFromIssuerKeys(listOf(issuer.issuerKey()))
            assertTrue(jwks.contains(issuer.kid()))
            // The device reads the JWKS the backend publishes.
            val parsed = issuerKeysFromJwks(jwks)
            assertEquals(1, parsed.size)
            assertTrue(same(issuer.issuerKey(), parsed[0]))

            val now = System.currentTimeMillis() / 1000
            val grant = again.issue(USER, DEVICE, listOf("notes"), now - 60, now + 600)
            val info = verifyGrant(grant, listOf(issuer.issuerKey()))
            assertEquals(GrantInfo(issuer.kid(), USER, DEVICE, now - 60, now + 600, listOf("notes"), info.grantId), info)
            assertTrue(info.grantId.isNotEmpty())
            GrantIssuer.generate("other").use { other ->
                assertThrows<BackendException.GrantInvalid> { verifyGrant(grant, listOf(other.issuerKey())) }
            }

            PinVault.open(vaultPath(dir), JcaKeystore(), Backend.config()).use { vault ->
                vault.enroll(PIN, grant, generateSyncKey()).use { session ->
                    assertEquals(now + 600, session.expiresAt())
                    session.renewGrant(issuer.issue(USER, DEVICE, listOf("notes"), now, now + 7200))
                    assertEquals(now + 7200, session.expiresAt())
                }
                val fresh = issuer.issue(USER, DEVICE, SCOPES, now + 1, now + 9000)
                vault.unlockWithGrant(PIN, fresh).use { session ->
                    assertEquals(now + 9000, session.expiresAt())
                    assertEquals(SCOPES, session.scopes())
                }
            }
        }
    }

    // --- 2. Typed exceptions with their fields --------------------------------

    @Test
    fun `wrong PIN and lockout are typed exceptions with their fields`() {
        val clock = FakeClock()
        PinVault.openWithClock(vaultPath(dir), JcaKeystore(), clock, Backend.config()).use { vault ->
            vault.enroll(PIN, Backend.grant(now = clock.now), generateSyncKey()).close()
            val remaining = (1..4).map {
                val e = assertThrows<VaultException.WrongPin> { vault.unlock("000111") }
                assertTrue(e is VaultException)
                e.attemptsRemaining
            }
            assertEquals(listOf(9u, 8u, 7u, 6u), remaining)

            val locked = assertThrows<VaultException.LockedOut> { vault.unlock(PIN) }
            assertEquals(30uL, locked.retryAfterSecs)
            val status = vault.status()
            assertEquals(4u, status.failedAttempts)
            assertEquals(6u, status.attemptsRemaining)
            assertEquals(30uL, status.retryAfterSecs)

            clock.advance(31)
            vault.unlock(PIN).use { assertEquals(USER, it.userId()) }
            assertEquals(0u, vault.status().failedAttempts)
        }
    }

    @Test
    fun `reaching the attempt limit wipes`() {
        PinVault.openWithClock(vaultPath(dir), JcaKeystore(), FakeClock(), Backend.config(maxFailedAttempts = 2u)).use { vault ->
            vault.enroll(PIN, Backend.grant(), generateSyncKey()).close()
            assertEquals(1u, assertThrows<VaultException.WrongPin> { vault.unlock("000111") }.attemptsRemaining)
            assertThrows<VaultException.Wiped> { vault.unlock("000111") }
            assertThrows<VaultException.Wiped> { vault.unlock(PIN) }
        }
    }

    @Test
    fun `other VaultError variants are typed subclasses`() {
        PinVault.open(vaultPath(dir), JcaKeystore(), Backend.config()).use { vault ->
            assertThrows<VaultException.NotEnrolled> { vault.unlock(PIN) }
            val weak = assertThrows<VaultException.WeakPin> { vault.enroll("123456", Backend.grant(), generateSyncKey()) }
            assertTrue(weak.reason.isNotEmpty())
            val invalid = assertThrows<VaultException.GrantInvalid> { vault.enroll(PIN, "not.a.grant", generateSyncKey()) }
            assertTrue(invalid.reason.isNotEmpty())
            assertThrows<VaultException.GrantInvalid> {
                vault.enroll(PIN, Backend.grant(device = "another-device"), generateSyncKey())
            }
            val now = System.currentTimeMillis() / 1000
            val expired = Backend.issuer.issue(USER, DEVICE, listOf("notes"), now - 7200, now - 3600)
            assertThrows<VaultException.GrantExpired> { vault.enroll(PIN, expired, generateSyncKey()) }

            vault.enroll(PIN, Backend.grant(), generateSyncKey()).use { session ->
                assertThrows<VaultException.AlreadyEnrolled> { vault.enroll(PIN, Backend.grant(), generateSyncKey()) }
                val scope = assertThrows<VaultException.InvalidInput> { session.put("not-in-scope", "k", byteArrayOf(1)) }
                assertTrue(scope.reason.isNotEmpty())
                session.lock()
                assertThrows<VaultException.SessionLocked> { session.put("notes", "k", byteArrayOf(1)) }
            }
        }
        // A directory is not a database.
        val storage = assertThrows<VaultException.Storage> { PinVault.open(dir.toString(), JcaKeystore(), Backend.config()) }
        assertTrue(storage.reason.isNotEmpty())
        // The sealed hierarchy: every variant is a VaultException, which is a kotlin.Exception.
        val e: Exception = VaultException.WrongPin(3u)
        assertTrue(e is VaultException)
    }

    @Test
    fun `every VaultError variant of the public contract is a VaultException subclass`() {
        // ARCHITECTURE.md section 6 lists these "at least"; more may exist.
        val contract = listOf(
            "NotEnrolled", "AlreadyEnrolled", "WeakPin", "WrongPin", "LockedOut", "Wiped", "GrantInvalid",
            "GrantExpired", "ClockRollback", "Tampered", "BiometricsUnavailable", "BiometricsInvalidated",
            "Keystore", "SessionLocked", "Storage", "InvalidInput",
        )
        // ... and the ones added since, up to ReceiptInvalid (acknowledge), MalformedPin
        // (input no PIN can match, nothing counted), DeviceKeyLost, ClockAhead (the
        // backend's time is behind the edits) and the remote directives' refusals and
        // lock. BatchRejected left with the verifier for the backend
        // (BackendException.BatchRejected).
        val all = contract + listOf(
            "UserCancelled", "ClockUnavailable", "ReceiptInvalid", "MalformedPin", "DeviceKeyLost", "ClockAhead",
            "DirectiveInvalid", "DirectiveForAnotherDevice", "DirectiveReplayed", "DirectiveOutdated",
            "LockedUntilRenewal",
        )
        val variants = VaultException::class.java.declaredClasses
            .filter { VaultException::class.java.isAssignableFrom(it) }
            .associateBy { it.simpleName }
        for (name in all) {
            val cls = variants[name]
            assertNotNull(cls, "VaultException.$name missing")
            assertTrue(Exception::class.java.isAssignableFrom(cls!!), name)
        }
        // A variant added to the Rust enum shows up here: list it above and test it.
        assertEquals(all.toSortedSet(), variants.keys.toSortedSet())
        assertEquals("r", VaultException.ReceiptInvalid("r").reason)
        assertEquals("r", VaultException.MalformedPin("r").reason)
        assertTrue(java.lang.reflect.Modifier.isAbstract(VaultException::class.java.modifiers), "sealed base")
    }

    // --- 3. A callback that throws becomes VaultException.Keystore -----------

    @Test
    fun `keystore callback throwing RuntimeException becomes VaultException Keystore`() {
        val failing = object : JcaKeystore() {
            override fun wrap(alias: String, protection: KeyProtection, plaintext: ByteArray): ByteArray =
                throw RuntimeException("secure hardware on fire")
        }
        PinVault.open(vaultPath(dir), failing, Backend.config()).use { vault ->
            val e = assertThrows<VaultException.Keystore> { vault.enroll(PIN, Backend.grant(), generateSyncKey()) }
            assertTrue(e.reason.isNotEmpty())
            assertFalse(vault.isEnrolled())
        }
    }

    @Test
    fun `keystore callback throwing KeystoreException keeps its reason`() {
        val failing = object : JcaKeystore() {
            override fun wrap(alias: String, protection: KeyProtection, plaintext: ByteArray): ByteArray =
                throw KeystoreException.Failed("tpm busy")
        }
        PinVault.open(vaultPath(dir), failing, Backend.config()).use { vault ->
            val e = assertThrows<VaultException.Keystore> { vault.enroll(PIN, Backend.grant(), generateSyncKey()) }
            assertTrue(e.reason.contains("tpm busy"), e.reason)
        }
    }

    @Test
    fun `clock callback throwing becomes VaultException ClockUnavailable`() {
        val clock = FakeClock()
        PinVault.openWithClock(vaultPath(dir), JcaKeystore(), clock, Backend.config()).use { vault ->
            vault.enroll(PIN, Backend.grant(now = clock.now), generateSyncKey()).close()
            clock.fail = true
            val e = assertThrows<VaultException.ClockUnavailable> { vault.unlock(PIN) }
            assertTrue(e.reason.isNotEmpty())
            clock.fail = false
            vault.unlock(PIN).close()
        }
    }

    @Test
    fun `clock readings out of range are ClockUnavailable and elapsed time going back is ClockRollback`() {
        var bootIdOverride: String? = null
        var elapsedBackMillis = 0L
        val clock = object : FakeClock() {
            override fun bootId(): String = bootIdOverride ?: super.bootId()
            override fun elapsedSinceBootMillis(): ULong = (elapsedMillis - elapsedBackMillis).toULong()
        }
        PinVault.openWithClock(vaultPath(dir), JcaKeystore(), clock, Backend.config()).use { vault ->
            vault.enroll(PIN, Backend.grant(now = clock.now), generateSyncKey()).close()
            for (bad in listOf("", "b".repeat(257))) {
                bootIdOverride = bad
                assertThrows<VaultException.ClockUnavailable> { vault.unlock(PIN) }
            }
            bootIdOverride = null
            val wall = clock.now
            clock.setWall(-1)
            assertThrows<VaultException.ClockUnavailable> { vault.unlock(PIN) }
            clock.setWall(wall)
            vault.unlock(PIN).close()
            // Elapsed time that goes back within one boot: the clock was tampered with.
            elapsedBackMillis = 10_000
            assertThrows<VaultException.ClockRollback> { vault.unlock(PIN) }
        }
    }

    @Test
    fun `a wall clock held still while time passes is caught as a rollback`() {
        // Every 240 s of real time (elapsed since boot) the wall clock is set
        // back 240 s: never more than the 300 s tolerance in one step, but
        // trusted time keeps pace with elapsed time, so it is caught.
        val clock = FakeClock()
        var real = clock.now
        PinVault.openWithClock(vaultPath(dir), JcaKeystore(), clock, Backend.config()).use { vault ->
            vault.enroll(PIN, Backend.grant(now = clock.now), generateSyncKey()).use { session ->
                session.put("notes", "n1", "kept".toByteArray())
                val wall = clock.now
                var caughtAt: Int? = null
                for (step in 1..3) {
                    clock.advance(240)
                    real += 240
                    clock.setWall(clock.now - 240)
                    assertEquals(wall, clock.now)
                    try {
                        assertArrayEquals("kept".toByteArray(), session.get("notes", "n1"))
                    } catch (e: VaultException.ClockRollback) {
                        caughtAt = step
                        break
                    }
                }
                assertNotNull(caughtAt, "a wall clock 720 s behind real time was accepted")
                assertThrows<VaultException.ClockRollback> { session.get("notes", "n1") }
            }
            // The lock is stored: a new unlock is refused too, until the
            // clock is right and a newer grant comes (online).
            assertThrows<VaultException.ClockRollback> { vault.unlock(PIN) }
            clock.setWall(real)
            assertThrows<VaultException.ClockRollback> { vault.unlock(PIN) }
            vault.unlockWithGrant(PIN, Backend.grant(now = real + 1)).use { session ->
                assertArrayEquals("kept".toByteArray(), session.get("notes", "n1"))
            }
        }
    }

    @Test
    fun `a reboot locks the session and later edits carry the boot count`() {
        val clock = FakeClock()
        val syncKey = generateSyncKey()
        PinVault.openWithClock(vaultPath(dir), JcaKeystore(), clock, Backend.config()).use { vault ->
            vault.enroll(PIN, Backend.grant(now = clock.now), syncKey).use { session ->
                session.put("notes", "before", byteArrayOf(1))
                clock.reboot()
                assertThrows<VaultException.SessionLocked> { session.get("notes", "before") }
            }
            vault.unlock(PIN).use { session ->
                session.put("notes", "after", byteArrayOf(2))
                session.syncQueue().use { queue ->
                    val batch = checkNotNull(queue.nextBatch(100u))
                    SyncVerifier(listOf(Backend.issuer.issuerKey())).use { verifier ->
                        val verified = verifier.verify(batch.bytes, syncKey, SyncCursor(0L, ByteArray(32)))
                        assertEquals(
                            listOf("before" to 0L, "after" to 1L),
                            verified.operations.map { it.key to it.boots },
                        )
                    }
                }
            }
        }
    }

    // --- Receipts: only the backend's genuine receipt deletes queued edits ----

    @Test
    fun `a forged receipt is ReceiptInvalid and deletes nothing, the genuine one deletes the entries`() {
        // A fixed date on one fake clock for the vault and the verifier: no
        // step depends on today's date, and the verifier's "now" is at or
        // after the entries' time.
        val clock = FakeClock(now = FIXED_NOW)
        val syncKey = generateSyncKey()
        PinVault.openWithClock(vaultPath(dir), JcaKeystore(), clock, Backend.config()).use { vault ->
            vault.enroll(PIN, Backend.grant(now = clock.now), syncKey).use { session ->
                session.put("notes", "n1", "one".toByteArray())
                session.put("visits", "v1", "two".toByteArray())
                session.syncQueue().use { queue ->
                    val batch = checkNotNull(queue.nextBatch(100u))
                    clock.advance(30) // the upload reaches the server a little later
                    val keys = listOf(Backend.issuer.issuerKey())

                    // A server whose clock is an hour behind the entries refuses them.
                    SyncVerifier.withClock(keys, FakeClock(now = FIXED_NOW - 3600)).use { behind ->
                        assertThrows<BackendException.BatchRejected> {
                            behind.verify(batch.bytes, syncKey, SyncCursor(0L, ByteArray(32)))
                        }
                    }

                    SyncVerifier.withClock(keys, clock).use { verifier ->
                        val verified = verifier.verify(batch.bytes, syncKey, SyncCursor(0L, ByteArray(32)))
                        assertEquals(2, verified.operations.size)
                        val receipt = verified.receipt
                        // The receipt re-issued for the stored cursor is the same bytes.
                        assertArrayEquals(receipt, verifier.receipt(DEVICE, syncKey, verified.cursor))

                        val forged = receipt.copyOf()
                        forged[forged.size / 2] = (forged[forged.size / 2].toInt() xor 1).toByte()
                        val e = assertThrows<VaultException.ReceiptInvalid> { queue.acknowledge(forged) }
                        assertTrue(e.reason.isNotEmpty())
                        assertEquals(2uL, queue.pendingCount(), "a forged receipt deleted entries")
                        // Genuine receipts that are not this queue's: another sync key
                        // (another enrolment), another device, a seq never sent.
                        val refused = listOf(
                            verifier.receipt(DEVICE, generateSyncKey(), verified.cursor),
                            verifier.receipt("another-device", syncKey, verified.cursor),
                            verifier.receipt(DEVICE, syncKey, SyncCursor(3L, verified.cursor.lastMac)),
                            ByteArray(0),
                        )
                        for (bad in refused) assertThrows<VaultException.ReceiptInvalid> { queue.acknowledge(bad) }
                        assertEquals(2uL, queue.pendingCount())
                        assertEquals(2uL, vault.status().pendingEntries)

                        queue.acknowledge(receipt)
                        assertEquals(0uL, queue.pendingCount())
                        assertNull(queue.nextBatch(100u))
                        queue.acknowledge(receipt) // again: harmless
                        assertEquals(0uL, queue.pendingCount())
                    }
                }
            }
        }
    }

    // --- AutoCloseable ------------------------------------------------------

    @Test
    fun `objects are AutoCloseable and unusable after close`() {
        val sks = SoftwareKeystore()
        assertTrue(sks is AutoCloseable)
        sks.close()
        sks.close() // idempotent
        assertThrows<IllegalStateException> { sks.keyCount() }

        val vault = PinVault.open(vaultPath(dir), JcaKeystore(), Backend.config())
        val session = vault.enroll(PIN, Backend.grant(), generateSyncKey())
        val queue = session.syncQueue()
        // The queue keeps its own reference to the session: closing the
        // session handle does not invalidate the queue.
        session.close()
        assertEquals(0uL, queue.pendingCount())
        queue.close()
        vault.close()
        assertThrows<IllegalStateException> { vault.status() }
    }

    // --- 4. Several threads at once -------------------------------------------

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    fun `vault, session and Kotlin keystore used from many threads`() {
        val ks = JcaKeystore()
        PinVault.open(vaultPath(dir), ks, Backend.config()).use { vault ->
            vault.enroll(PIN, Backend.grant(), generateSyncKey()).use { session ->
                val pool = Executors.newFixedThreadPool(8)
                try {
                    val writers = (0 until 8).map { n ->
                        pool.submit(Callable {
                            repeat(50) { i ->
                                val key = "t$n-$i"
                                session.put("notes", key, key.toByteArray())
                                assertArrayEquals(key.toByteArray(), session.get("notes", key))
                                vault.status()
                            }
                        })
                    }
                    // Concurrent PIN unlocks call the Kotlin keystore from Rust on pool threads.
                    val unlockers = (0 until 4).map {
                        pool.submit(Callable { vault.unlock(PIN).use { it.userId() } })
                    }
                    writers.forEach { it.get(120, TimeUnit.SECONDS) }
                    unlockers.forEach { assertEquals(USER, it.get(120, TimeUnit.SECONDS)) }
                } finally {
                    pool.shutdownNow()
                }
                assertEquals(400, session.keys("notes").size)
                session.syncQueue().use { assertEquals(400uL, it.pendingCount()) }
            }
        }
    }

    // --- 5. 100 000 calls do not grow memory without bound --------------------

    @Test
    fun `100k calls do not leak`() {
        SoftwareKeystore().use { sks ->
            PinVault.open(vaultPath(dir), sks.asPlatformKeystore(), Backend.config()).use { vault ->
                vault.enroll(PIN, Backend.grant(), generateSyncKey()).use { session ->
                    session.put("notes", "k", ByteArray(256) { 7 })
                    // One iteration = 4 FFI calls: constructor, keyCount, free, get.
                    fun churn(iterations: Int) {
                        repeat(iterations) {
                            SoftwareKeystore().use { it.keyCount() } // object created, used, freed
                            session.get("notes", "k")                // bytes across the FFI
                        }
                    }
                    fun settle() {
                        repeat(3) { System.gc(); Thread.sleep(50) }
                    }
                    // Warm-up with the same load: JIT, JNA's caches, the JVM heap
                    // growing to its working size (RSS includes the committed heap).
                    churn(25_000)
                    settle()
                    val before = rssBytes()
                    val start = System.nanoTime()
                    churn(25_000)  // 100 000 calls
                    val secs = (System.nanoTime() - start) / 1e9
                    settle()
                    val after = rssBytes()
                    val growth = after - before
                    val rt = Runtime.getRuntime()
                    println(
                        ("[memory] kotlin: 100000 FFI calls (25000 objects created and closed) in %.2f s (%.1f us/call); " +
                            "RSS %.1f MiB -> %.1f MiB (growth %.2f MiB); JVM heap used %.1f MiB of %.1f MiB committed")
                            .format(
                                secs, secs * 1e6 / 100_000, before / 1048576.0, after / 1048576.0, growth / 1048576.0,
                                (rt.totalMemory() - rt.freeMemory()) / 1048576.0, rt.totalMemory() / 1048576.0,
                            )
                    )
                    assertTrue(growth < 32L * 1024 * 1024, "RSS grew by $growth bytes")
                }
            }
        }
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    fun `objects never closed are freed by the Cleaner (their SQLite files get closed)`() {
        fun openFds() = java.io.File("/proc/self/fd").list()!!.size
        SoftwareKeystore().use { sks ->
            PinVault.open(vaultPath(dir), sks.asPlatformKeystore(), Backend.config()).close() // create the file
            System.gc(); Thread.sleep(100)
            val baseline = openFds()
            repeat(300) {
                // Deliberately not closed: only the JVM Cleaner can free these.
                PinVault.open(vaultPath(dir), sks.asPlatformKeystore(), Backend.config()).isEnrolled()
            }
            val peak = openFds()
            var now = peak
            val deadline = System.nanoTime() + 60_000_000_000L
            while (now > baseline + 10 && System.nanoTime() < deadline) {
                System.gc()
                Thread.sleep(100)
                now = openFds()
            }
            println("[cleaner] kotlin: 300 unclosed vaults: open fds $baseline -> $peak -> $now after GC")
            assertTrue(peak > baseline + 100, "each open vault holds its database open ($baseline -> $peak)")
            assertTrue(now <= baseline + 10, "unclosed vaults were not freed: $baseline -> $now fds")
        }
    }

    // --- Bad input: typed errors, never a crash -------------------------------

    @Test
    fun `bad input gives typed errors`() {
        assertThrows<BackendException.InvalidInput> { GrantIssuer("kid", ByteArray(31)) }
        assertThrows<BackendException.InvalidInput> { GrantIssuer("", ByteArray(32)) }
        assertThrows<VaultException.InvalidInput> { PinVault.open(vaultPath(dir), JcaKeystore(), Backend.config(deviceId = "")) }
        assertThrows<VaultException.InvalidInput> {
            PinVault.open(vaultPath(dir), JcaKeystore(), Backend.config(issuerKeys = listOf(IssuerKey("k", ByteArray(5)))))
        }
        assertThrows<VaultException> { PinVault.open("", JcaKeystore(), Backend.config()) }

        PinVault.open(vaultPath(dir), JcaKeystore(), Backend.config()).use { vault ->
            assertThrows<VaultException.InvalidInput> { vault.enroll(PIN, Backend.grant(), ByteArray(31)) }
            assertThrows<VaultException.WeakPin> { vault.enroll("", Backend.grant(), generateSyncKey()) }
            assertThrows<VaultException.GrantInvalid> { vault.enroll(PIN, "", generateSyncKey()) }
            assertThrows<VaultException.GrantInvalid> { vault.enroll(PIN, "x".repeat(1_000_000), generateSyncKey()) }

            vault.enroll(PIN, Backend.grant(), generateSyncKey()).use { session ->
                assertThrows<VaultException.InvalidInput> { session.put("", "k", byteArrayOf(1)) }
                assertThrows<VaultException.InvalidInput> { session.put("notes", "", byteArrayOf(1)) }
                assertThrows<VaultException.InvalidInput> { session.put("notes", "k", ByteArray(4 * 1024 * 1024)) }
                assertThrows<VaultException.InvalidInput> { session.put("notes", "k".repeat(100_000), byteArrayOf(1)) }
                SyncVerifier(listOf(Backend.issuer.issuerKey())).use { verifier ->
                    assertThrows<BackendException.BatchRejected> {
                        verifier.verify("junk".toByteArray(), ByteArray(32), SyncCursor(0L, ByteArray(32)))
                    }
                }
                // Kotlin's types rule out null at compile time; a Java caller can
                // still pass one: the generated code's parameter check throws
                // NullPointerException before anything reaches the FFI.
                val get = OfflineSession::class.java.getMethod("get", String::class.java, String::class.java)
                val thrown = assertThrows<java.lang.reflect.InvocationTargetException> {
                    get.invoke(session, "notes", null)
                }
                assertTrue(thrown.targetException is NullPointerException, thrown.targetException.toString())
                // ... and the session still works.
                session.put("notes", "k", byteArrayOf(1))
                assertArrayEquals(byteArrayOf(1), session.get("notes", "k"))
            }
        }
    }
}
