package dev.offlineauth.javaconsumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.offlineauth.IssuerKey;
import dev.offlineauth.JavaClock;
import dev.offlineauth.JavaPlatformKeystore;
import dev.offlineauth.KeyProtection;
import dev.offlineauth.KeyValue;
import dev.offlineauth.KeystoreException;
import dev.offlineauth.OfflineAuth;
import dev.offlineauth.OfflineSession;
import dev.offlineauth.PinVault;
import dev.offlineauth.SyncBatch;
import dev.offlineauth.SyncQueue;
import dev.offlineauth.VaultConfig;
import dev.offlineauth.VaultException;
import dev.offlineauth.VaultStatus;
import dev.offlineauth.backend.GrantIssuer;
import dev.offlineauth.backend.OfflineAuthBackend;
import dev.offlineauth.backend.SyncCursor;
import dev.offlineauth.backend.SyncVerifier;
import dev.offlineauth.backend.VerifiedBatch;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import javax.crypto.Cipher;
import javax.crypto.KeyGenerator;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Java app on the device SDK, compiled by javac: its keystore and clock are
 * Java classes (JavaPlatformKeystore, JavaClock) that throw the SDK's typed
 * exceptions; the config comes from the builder (Java cannot call
 * VaultConfig's constructor); edits, batches and counts go through
 * OfflineAuth's static forms (Java cannot call the Kotlin names mangled for
 * unsigned types); the backend verifies what the device sends.
 */
class DeviceFromJavaTest {
    private static final long NOW = 1_800_000_000L;
    private static final String PIN = "482916";

    /** AES-GCM keys held by a JCA provider, as an app's keystore would; can fail on demand. */
    static final class JcaKeystore implements JavaPlatformKeystore {
        private final Map<String, SecretKey> keys = new HashMap<>();
        private final SecureRandom random = new SecureRandom();
        volatile boolean cancelNext;

        @Override
        public synchronized byte[] wrap(String alias, KeyProtection protection, byte[] plaintext) throws KeystoreException {
            cancelIfAsked();
            try {
                SecretKey key = keys.get(alias + "/" + protection);
                if (key == null) {
                    KeyGenerator generator = KeyGenerator.getInstance("AES");
                    generator.init(256);
                    key = generator.generateKey();
                    keys.put(alias + "/" + protection, key);
                }
                byte[] iv = new byte[12];
                random.nextBytes(iv);
                Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
                cipher.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(128, iv));
                byte[] sealed = cipher.doFinal(plaintext);
                byte[] out = Arrays.copyOf(iv, 12 + sealed.length);
                System.arraycopy(sealed, 0, out, 12, sealed.length);
                return out;
            } catch (GeneralSecurityException e) {
                throw new KeystoreException.KeyInvalidated();
            }
        }

        @Override
        public synchronized byte[] unwrap(String alias, KeyProtection protection, byte[] wrapped) throws KeystoreException {
            cancelIfAsked();
            SecretKey key = keys.get(alias + "/" + protection);
            if (key == null) {
                throw new KeystoreException.KeyNotFound();
            }
            try {
                Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
                cipher.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(128, wrapped, 0, 12));
                return cipher.doFinal(wrapped, 12, wrapped.length - 12);
            } catch (GeneralSecurityException e) {
                throw new KeystoreException.UnwrapFailed();
            }
        }

        @Override
        public synchronized void deleteKey(String alias) {
            keys.keySet().removeIf(name -> name.startsWith(alias + "/"));
        }

        private void cancelIfAsked() throws KeystoreException {
            if (cancelNext) {
                cancelNext = false;
                throw new KeystoreException.UserCancelled();
            }
        }
    }

    /** The device's clock: a fixed wall time that moves with the monotonic one; can be made to fail. */
    static final class FixedClock implements JavaClock {
        private final long start = System.nanoTime();
        volatile Long elapsedOverride;  // null: the real time since the test started, plus a minute

        @Override
        public long nowUnixSecs() {
            return NOW + (System.nanoTime() - start) / 1_000_000_000L;
        }

        @Override
        public String bootId() {
            return "boot-1";
        }

        @Override
        public long elapsedSinceBootMillis() {
            Long override = elapsedOverride;
            return override != null ? override : 60_000 + (System.nanoTime() - start) / 1_000_000L;
        }
    }

    /** The backend side: an issuer, its JWKS, a grant and sync key for one device, and a verifier. */
    static final class Server implements AutoCloseable {
        final GrantIssuer issuer = OfflineAuthBackend.generateIssuer("kid-2026");
        final String jwks = OfflineAuthBackend.jwksFromIssuerKeys(List.of(issuer.issuerKey()));
        final String grant = issuer.issue("amira", "tablet-42", List.of("inspections"), NOW - 60, NOW + 3 * 86_400);
        final byte[] syncKey = OfflineAuthBackend.generateSyncKey();
        final SyncVerifier verifier = OfflineAuthBackend.syncVerifier(List.of(issuer.issuerKey()), () -> NOW);

        Server() throws Exception {}

        @Override
        public void close() {
            verifier.close();
            issuer.close();
        }
    }

    /** Every vault here runs on a FixedClock: the grant's times are fixed, so no outcome depends on today's date. */
    private static PinVault open(Path dir, JavaPlatformKeystore keystore, JavaClock clock, Server server) throws VaultException {
        return OfflineAuth.openVaultWithClock(dir.resolve("vault.db").toString(), keystore, clock, config(server));
    }

    private static VaultConfig config(Server server) throws VaultException {
        return OfflineAuth.vaultConfig("tablet-42", OfflineAuth.issuerKeysFromJwks(server.jwks))
                .maxFailedAttempts(5)
                .minPinLength(6)
                .build();
    }

    @Test
    void aJavaAppEnrolsStoresQueuesAndHasItsBatchVerifiedAndAcknowledged(@TempDir Path dir) throws Exception {
        try (Server server = new Server();
                PinVault vault = open(dir, new JcaKeystore(), new FixedClock(), server);
                OfflineSession session = vault.enroll(PIN, server.grant, server.syncKey)) {
            byte[] form = "{\"site\":\"north\"}".getBytes(StandardCharsets.UTF_8);
            long first = OfflineAuth.put(session, "inspections", "form-1", form);
            long last = OfflineAuth.putMany(session, "inspections",
                    List.of(new KeyValue("form-2", form), new KeyValue("form-3", form)));
            long deleted = OfflineAuth.delete(session, "inspections", "form-3");
            assertEquals(List.of(first + 1, first + 2, first + 3), List.of(last - 1, last, deleted));
            assertArrayEquals(form, session.get("inspections", "form-1"));
            assertNull(session.get("inspections", "form-3"));

            SyncQueue queue = session.syncQueue();
            assertEquals(4, OfflineAuth.pendingCount(queue));
            SyncBatch batch = OfflineAuth.nextBatch(queue, 100);
            assertNotNull(batch);
            assertEquals(4, OfflineAuth.entryCount(batch));
            assertEquals(first, OfflineAuth.firstSeq(batch));
            assertEquals(deleted, OfflineAuth.lastSeq(batch));

            VerifiedBatch verified = server.verifier.verify(batch.getBytes(), server.syncKey,
                    OfflineAuthBackend.initialSyncCursor());
            assertEquals(4, verified.getOperations().size());
            SyncCursor cursor = verified.getCursor();
            assertEquals(deleted, cursor.getLastSeq());
            queue.acknowledge(server.verifier.receipt("tablet-42", server.syncKey, cursor));
            assertEquals(0, OfflineAuth.pendingCount(queue));
            assertNull(OfflineAuth.nextBatch(queue, 100));

            VaultStatus status = vault.status();
            assertEquals(0, OfflineAuth.failedAttempts(status));
            assertEquals(5, OfflineAuth.attemptsRemaining(status));
        }
    }

    @Test
    void aWrongPinFromJavaShowsTheAttemptsLeftAndAFutureCarriesTheTypedError(@TempDir Path dir) throws Exception {
        try (Server server = new Server();
                PinVault vault = open(dir, new JcaKeystore(), new FixedClock(), server)) {
            vault.enroll(PIN, server.grant, server.syncKey).lock();
            VaultException.WrongPin wrong = assertThrows(VaultException.WrongPin.class, () -> vault.unlock("000000"));
            assertEquals(4, OfflineAuth.attemptsRemaining(wrong));

            ExecutionException failed = assertThrows(ExecutionException.class,
                    () -> OfflineAuth.unlockFuture(vault, "111111").get());
            assertEquals(3, OfflineAuth.attemptsRemaining(assertInstanceOf(VaultException.WrongPin.class, failed.getCause())));

            try (OfflineSession session = OfflineAuth.unlockFuture(vault, PIN).get()) {
                assertEquals("amira", session.userId());
            }
            assertEquals(0, OfflineAuth.failedAttempts(vault.status()));
        }
    }

    @Test
    void aKeystoreCancellationThrownInJavaReachesTheCallerAsUserCancelled(@TempDir Path dir) throws Exception {
        JcaKeystore keystore = new JcaKeystore();
        try (Server server = new Server();
                PinVault vault = open(dir, keystore, new FixedClock(), server)) {
            vault.enroll(PIN, server.grant, server.syncKey).lock();
            keystore.cancelNext = true;
            assertThrows(VaultException.UserCancelled.class, () -> vault.unlock(PIN));
            try (OfflineSession session = vault.unlock(PIN)) {
                assertEquals("amira", session.userId());
            }
        }
    }

    @Test
    void negativeNumbersFromJavaAreRefusedBeforeTheLibrarySeesThem(@TempDir Path dir) throws Exception {
        try (Server server = new Server()) {
            assertThrows(IllegalArgumentException.class,
                    () -> OfflineAuth.vaultConfig("tablet-42", List.of()).maxFailedAttempts(-1));
            assertThrows(IllegalArgumentException.class,
                    () -> OfflineAuth.vaultConfig("tablet-42", List.of()).idleTimeoutSecs(-5));
            try (PinVault vault = open(dir, new JcaKeystore(), new FixedClock(), server);
                    OfflineSession session = vault.enroll(PIN, server.grant, server.syncKey)) {
                assertThrows(IllegalArgumentException.class, () -> OfflineAuth.nextBatch(session.syncQueue(), -1));
                assertThrows(IllegalArgumentException.class, () -> OfflineAuth.salvage(vault, Integer.MIN_VALUE));
                assertThrows(IllegalArgumentException.class,
                        () -> OfflineAuth.forgetSalvaged(vault, new byte[16], -1L));
            }
        }
    }

    @Test
    void aNegativeBootTimeFromAJavaClockIsRefusedAsUnavailable(@TempDir Path dir) throws Exception {
        FixedClock clock = new FixedClock();
        try (Server server = new Server();
                PinVault vault = open(dir, new JcaKeystore(), clock, server);
                OfflineSession session = vault.enroll(PIN, server.grant, server.syncKey)) {
            clock.elapsedOverride = Long.MIN_VALUE + 1;  // -2^63 + 1: as unsigned, time far ahead
            assertThrows(VaultException.ClockUnavailable.class,
                    () -> OfflineAuth.put(session, "inspections", "form-1", new byte[] {1}));
            clock.elapsedOverride = null;
            OfflineAuth.put(session, "inspections", "form-1", new byte[] {1});
        }
    }

    @Test
    void theBuilderKeepsTheDefaultsItWasNotGivenAndBuildsACopy() throws Exception {
        var builder = OfflineAuth.vaultConfig("tablet-42", List.of()).pbkdf2Iterations(700_000);
        VaultConfig first = builder.build();
        VaultConfig second = builder.minPinLength(8).grantAudience("field-app").build();
        assertEquals(700_000, OfflineAuth.pbkdf2Iterations(first));
        assertEquals(6, OfflineAuth.minPinLength(first));
        assertEquals(8, OfflineAuth.minPinLength(second));
        assertNull(first.getGrantAudience());
        assertEquals("field-app", second.getGrantAudience());
        assertEquals(10, OfflineAuth.maxFailedAttempts(first));
        assertEquals(300, OfflineAuth.idleTimeoutSecs(first));
        assertEquals(60, OfflineAuth.grantClockSkewSecs(first));
    }

    @Test
    void aBuiltConfigIsNotChangedThroughTheKeyListItWasGiven() throws Exception {
        try (Server server = new Server()) {
            List<IssuerKey> keys = new ArrayList<>(OfflineAuth.issuerKeysFromJwks(server.jwks));
            byte[] original = keys.get(0).getPublicKey().clone();
            // The calibrated count goes straight into the builder (an int both ways).
            VaultConfig built = OfflineAuth.vaultConfig("tablet-42", keys)
                    .pbkdf2Iterations(OfflineAuth.calibratePbkdf2Iterations(0))
                    .build();
            keys.get(0).getPublicKey()[0] ^= 1;
            keys.clear();
            assertEquals(1, built.getIssuerKeys().size());
            assertArrayEquals(original, built.getIssuerKeys().get(0).getPublicKey());
        }
    }
}
