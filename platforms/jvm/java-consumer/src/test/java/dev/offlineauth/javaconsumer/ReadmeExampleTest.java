package dev.offlineauth.javaconsumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.offlineauth.DeviceForJavaTests;
import dev.offlineauth.backend.OfflineAuthBackend;
import dev.offlineauth.backend.SyncOperation;
import dev.offlineauth.backend.VerifiedBatch;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The README's Java backend example, as written, against a real device. */
class ReadmeExampleTest {
    @Test
    void theReadmeBackendExampleVerifiesARealDeviceBatchAndItsReceiptEmptiesTheQueue() throws Exception {
        Backend backend = new Backend(OfflineAuthBackend.generateIssuer("2026-11"));
        Backend.SignIn signIn = backend.signIn("amira", "tablet-42", System.currentTimeMillis() / 1000);
        byte[] syncKey = signIn.syncKey();
        try (DeviceForJavaTests device = new DeviceForJavaTests("tablet-42", backend.jwks, signIn.grant(), syncKey)) {
            byte[] body = device.uploadOneEdit("inspections", "station-4", "seal ok".getBytes());

            VerifiedBatch verified = backend.upload(body, syncKey, 0L, new byte[32]).get();

            SyncOperation op = verified.getOperations().get(0);
            assertEquals(List.of("inspections/station-4"), List.of(op.getCollection() + "/" + op.getKey()));
            assertArrayEquals("seal ok".getBytes(), op.getValue());
            assertEquals(1L, verified.getCursor().getLastSeq());
            device.acknowledge(verified.getReceipt());
            assertEquals(0L, device.pendingCount());
        }
    }
}
