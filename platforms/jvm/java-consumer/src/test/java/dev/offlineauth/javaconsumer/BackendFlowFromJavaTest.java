package dev.offlineauth.javaconsumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offlineauth.backend.BackendException;
import dev.offlineauth.backend.GrantInfo;
import dev.offlineauth.backend.GrantIssuer;
import dev.offlineauth.backend.IssuerKey;
import dev.offlineauth.backend.Offline_auth_backendKt;
import dev.offlineauth.backend.RejectReason;
import dev.offlineauth.backend.ServerClock;
import dev.offlineauth.backend.SyncCursor;
import dev.offlineauth.backend.SyncVerifier;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The backend flow as a Java service writes it: issue a grant, publish and
 * read the JWKS, verify the grant, keep a cursor per device, verify uploads
 * from that cursor and answer with receipts. Compiled by javac: every call
 * below is to a public, unmangled name.
 */
class BackendFlowFromJavaTest {
    private static final long NOW = 1_800_000_000L;

    /** The server's clock, implemented in Java (a UniFFI foreign trait). */
    private static final class Clock implements ServerClock {
        @Override
        public long nowUnixSecs() {
            return NOW;
        }
    }

    @Test
    void issueGrantPublishJwksAndVerifyTheGrant() throws Exception {
        try (GrantIssuer issuer = GrantIssuer.Companion.generate("kid-2026")) {
            String grant = issuer.issue("amira", "tablet-42", List.of("inspections"), NOW, NOW + 259_200);
            String jwks = Offline_auth_backendKt.jwksFromIssuerKeys(List.of(issuer.issuerKey()));
            List<IssuerKey> trusted = Offline_auth_backendKt.issuerKeysFromJwks(jwks);
            GrantInfo info = Offline_auth_backendKt.verifyGrant(grant, trusted);
            assertEquals("amira", info.getUserId());
            assertEquals("tablet-42", info.getDeviceId());
            assertEquals(NOW + 259_200, info.getExpiresAt());
            assertEquals(List.of("inspections"), info.getScopes());
        }
    }

    @Test
    void storedCursorRoundTripsAndAnswersWithTheSameReceipt() throws Exception {
        byte[] syncKey = Offline_auth_backendKt.generateSyncKey();
        try (GrantIssuer issuer = GrantIssuer.Companion.generate("kid-2026");
                SyncVerifier verifier = SyncVerifier.Companion.withClock(List.of(issuer.issuerKey()), new Clock())) {
            // A device that never synced: seq 0, 32 zero bytes. Stored as a long and bytes.
            SyncCursor initial = new SyncCursor(0L, new byte[32]);
            long storedSeq = initial.getLastSeq();
            byte[] storedMac = initial.getLastMac();
            SyncCursor loaded = new SyncCursor(storedSeq, storedMac);
            assertEquals(initial, loaded);

            byte[] receipt = verifier.receipt("tablet-42", syncKey, loaded);
            assertArrayEquals(receipt, verifier.receipt("tablet-42", syncKey, new SyncCursor(0L, new byte[32])));
            assertTrue(receipt.length > 0);

            // An upload that is not a batch is rejected, typed, with its reason.
            BackendException.BatchRejected rejected = assertThrows(BackendException.BatchRejected.class,
                    () -> verifier.verify("junk".getBytes(), syncKey, loaded));
            assertEquals(RejectReason.MALFORMED, rejected.getKind());
        }
    }

    @Test
    void negativeCursorSeqFromJavaIsTypedInvalidInput() throws Exception {
        try (GrantIssuer issuer = GrantIssuer.Companion.generate("kid-2026");
                SyncVerifier verifier = SyncVerifier.Companion.withClock(List.of(issuer.issuerKey()), new Clock())) {
            byte[] syncKey = Offline_auth_backendKt.generateSyncKey();
            assertThrows(BackendException.InvalidInput.class,
                    () -> verifier.receipt("tablet-42", syncKey, new SyncCursor(-1L, new byte[32])));
        }
    }

    @Test
    void publicBackendClassesHaveNoMangledMethodNames() throws Exception {
        List<String> mangled = new ArrayList<>();
        for (Class<?> type : List.of(SyncCursor.class, SyncVerifier.class, GrantIssuer.class, GrantInfo.class,
                IssuerKey.class, Offline_auth_backendKt.class,
                Class.forName("dev.offlineauth.backend.SyncOperation"),
                Class.forName("dev.offlineauth.backend.VerifiedBatch"))) {
            for (Method m : type.getDeclaredMethods()) {
                if (Modifier.isPublic(m.getModifiers()) && m.getName().contains("-")) {
                    mangled.add(type.getSimpleName() + "." + m.getName());
                }
            }
        }
        assertEquals(List.of(), mangled);
    }
}
