package dev.offlineauth.javaconsumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.offlineauth.backend.BackendException;
import dev.offlineauth.backend.Ed25519Signer;
import dev.offlineauth.backend.GrantInfo;
import dev.offlineauth.backend.GrantIssuer;
import dev.offlineauth.backend.GrantPolicy;
import dev.offlineauth.backend.IssuerKey;
import dev.offlineauth.backend.IssuerOptions;
import dev.offlineauth.backend.JavaServerClock;
import dev.offlineauth.backend.OfflineAuthBackend;
import dev.offlineauth.backend.RejectReason;
import dev.offlineauth.backend.SyncCursor;
import dev.offlineauth.backend.SyncVerifier;
import dev.offlineauth.backend.VerifiedBatch;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The Java forms of the backend API: static factories with their overloads,
 * and CompletableFuture forms of the suspend calls, used as Java writes them
 * (no Companion, no Offline_auth_backendKt, no Continuation).
 */
class JavaFormsTest {
    private static final long NOW = 1_800_000_000L;
    private static final JavaServerClock CLOCK = () -> NOW;

    @Test
    void issue_future_completes_with_a_grant_that_verifies() throws Exception {
        try (GrantIssuer issuer = OfflineAuthBackend.generateIssuer("kid-1")) {
            CompletableFuture<String> pending =
                    OfflineAuthBackend.issueFuture(issuer, "amira", "tablet-42", List.of("inspections"), NOW, NOW + 600);
            GrantInfo info = pending.thenApply(grant -> {
                try {
                    return OfflineAuthBackend.verifyGrant(grant, List.of(issuer.issuerKey()));
                } catch (BackendException e) {
                    throw new CompletionException(e);
                }
            }).get(60, TimeUnit.SECONDS);
            assertEquals("tablet-42", info.getDeviceId());
        }
    }

    @Test
    void verify_future_fails_with_the_typed_rejection() throws Exception {
        try (GrantIssuer issuer = OfflineAuthBackend.generateIssuer("kid-1");
                SyncVerifier verifier = OfflineAuthBackend.syncVerifier(List.of(issuer.issuerKey()), CLOCK)) {
            CompletableFuture<VerifiedBatch> pending = OfflineAuthBackend.verifyFuture(
                    verifier, "junk".getBytes(), OfflineAuthBackend.generateSyncKey(), OfflineAuthBackend.initialSyncCursor());
            CompletionException e = assertThrows(CompletionException.class, pending::join);
            BackendException.BatchRejected rejected = assertInstanceOf(BackendException.BatchRejected.class, e.getCause());
            assertEquals(RejectReason.MALFORMED, rejected.getKind());
        }
    }

    @Test
    void static_factories_and_their_overloads_build_working_objects() throws Exception {
        byte[] seed = new byte[32];
        seed[0] = 7;
        IssuerOptions withIssuer = new IssuerOptions();
        withIssuer.setIssuer("https://auth.example");
        try (GrantIssuer plain = OfflineAuthBackend.issuer("kid-a", seed);
                GrantIssuer named = OfflineAuthBackend.issuer("kid-b", seed, withIssuer);
                GrantIssuer external = OfflineAuthBackend.issuerWithSigner(new JavaCallbacksTest.JcaSigner(null));
                Ed25519Signer inMemory = OfflineAuthBackend.generateSigner("kid-c")) {
            // One seed, one public key, whatever the options.
            assertEquals(32, plain.issuerKey().getPublicKey().length);
            assertArrayEquals(plain.issuerKey().getPublicKey(), named.issuerKey().getPublicKey());
            assertEquals(32, inMemory.privateKey().length);
            List<IssuerKey> keys = List.of(plain.issuerKey(), named.issuerKey(), external.issuerKey());
            String jwks = OfflineAuthBackend.jwksFromIssuerKeys(keys);
            assertEquals(3, OfflineAuthBackend.issuerKeysFromJwks(jwks).size());

            GrantPolicy strict = new GrantPolicy();
            strict.setIssuer("https://auth.example");
            try (SyncVerifier onSystemClock = OfflineAuthBackend.syncVerifier(keys);
                    SyncVerifier onClock = OfflineAuthBackend.syncVerifier(keys, CLOCK);
                    SyncVerifier withPolicy = OfflineAuthBackend.syncVerifier(keys, CLOCK, strict)) {
                SyncCursor initial = OfflineAuthBackend.initialSyncCursor();
                byte[] syncKey = OfflineAuthBackend.generateSyncKey();
                for (SyncVerifier verifier : List.of(onSystemClock, onClock, withPolicy)) {
                    assertEquals(verifier.receipt("tablet-42", syncKey, initial).length,
                            onClock.receipt("tablet-42", syncKey, initial).length);
                }
            }
            String grant = external.issue("amira", "tablet-42", List.of("inspections"), NOW, NOW + 600);
            assertEquals("amira", OfflineAuthBackend.verifyGrant(grant, keys).getUserId());
        }
    }
}
