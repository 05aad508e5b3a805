package dev.offlineauth.javaconsumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.offlineauth.DeviceForJavaTests;
import dev.offlineauth.backend.GrantIssuer;
import dev.offlineauth.backend.SyncCursor;
import dev.offlineauth.backend.SyncOperation;
import dev.offlineauth.backend.SyncVerifier;
import dev.offlineauth.backend.VerifiedBatch;
import java.util.List;
import org.junit.jupiter.api.Test;
// readme:start
import static dev.offlineauth.backend.Offline_auth_backendKt.generateSyncKey;
import static dev.offlineauth.backend.Offline_auth_backendKt.jwksFromIssuerKeys;

class Backend {
    final GrantIssuer issuer;
    final String jwks;
    final SyncVerifier verifier;

    Backend(GrantIssuer issuer) throws Exception {  // new GrantIssuer(kid, keyFromYourKms)
        this.issuer = issuer;
        this.jwks = jwksFromIssuerKeys(List.of(issuer.issuerKey()));      // publish it; devices trust these keys
        this.verifier = new SyncVerifier(List.of(issuer.issuerKey()));
    }

    record SignIn(String grant, byte[] syncKey) {}                           // both go to the device

    SignIn signIn(String userId, String deviceId, long now) throws Exception {  // after your own authentication
        String grant = issuer.issue(userId, deviceId, List.of("inspections"), now, now + 3 * 86_400);
        return new SignIn(grant, generateSyncKey());                           // keep the sync key with the device's row
    }

    VerifiedBatch upload(byte[] body, byte[] syncKey, long storedSeq, byte[] storedMac) throws Exception {
        return verifier.verify(body, syncKey, new SyncCursor(storedSeq, storedMac));  // BatchRejected if not genuine
    }   // apply getOperations() and store getCursor() in one transaction; answer getReceipt()
}
// readme:end

/** The README's Java backend example, as written, against a real device. */
class ReadmeExampleTest {
    @Test
    void theReadmeBackendExampleVerifiesARealDeviceBatchAndItsReceiptEmptiesTheQueue() throws Exception {
        Backend backend = new Backend(GrantIssuer.Companion.generate("2026-11"));
        Backend.SignIn signIn = backend.signIn("amira", "tablet-42", System.currentTimeMillis() / 1000);
        byte[] syncKey = signIn.syncKey();
        try (DeviceForJavaTests device = new DeviceForJavaTests("tablet-42", backend.jwks, signIn.grant(), syncKey)) {
            byte[] body = device.uploadOneEdit("inspections", "station-4", "seal ok".getBytes());

            VerifiedBatch verified = backend.upload(body, syncKey, 0L, new byte[32]);

            SyncOperation op = verified.getOperations().get(0);
            assertEquals(List.of("inspections/station-4"), List.of(op.getCollection() + "/" + op.getKey()));
            assertArrayEquals("seal ok".getBytes(), op.getValue());
            assertEquals(1L, verified.getCursor().getLastSeq());
            device.acknowledge(verified.getReceipt());
            assertEquals(0L, device.pendingCount());
        }
    }
}
