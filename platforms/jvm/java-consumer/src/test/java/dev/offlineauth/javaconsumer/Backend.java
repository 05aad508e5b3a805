// The README's Java backend example (scripts/check-readme-examples.py keeps the
// README's block identical to the region below, which is this whole file but
// its package line: it compiles as a file of its own in any package).
package dev.offlineauth.javaconsumer;

// readme:start
import dev.offlineauth.backend.BackendException;
import dev.offlineauth.backend.GrantIssuer;
import dev.offlineauth.backend.OfflineAuthBackend;
import dev.offlineauth.backend.SyncCursor;
import dev.offlineauth.backend.SyncVerifier;
import dev.offlineauth.backend.VerifiedBatch;
import java.util.List;
import java.util.concurrent.CompletableFuture;

class Backend {
    final GrantIssuer issuer;
    final String jwks;
    final SyncVerifier verifier;

    Backend(GrantIssuer issuer) throws BackendException {  // OfflineAuthBackend.issuerWithSigner(yourKmsSigner)
        this.issuer = issuer;
        this.jwks = OfflineAuthBackend.jwksFromIssuerKeys(List.of(issuer.issuerKey()));  // publish it; devices trust these keys
        this.verifier = OfflineAuthBackend.syncVerifier(List.of(issuer.issuerKey()));
    }

    record SignIn(String grant, byte[] syncKey) {}                              // both go to the device

    SignIn signIn(String userId, String deviceId, long now) throws BackendException {  // after your own authentication
        String grant = issuer.issue(userId, deviceId, List.of("inspections"), now, now + 3 * 86_400);
        return new SignIn(grant, OfflineAuthBackend.generateSyncKey());           // keep the sync key with the device's row
    }

    CompletableFuture<VerifiedBatch> upload(byte[] body, byte[] syncKey, long storedSeq, byte[] storedMac) {
        return OfflineAuthBackend.verifyFuture(verifier, body, syncKey, new SyncCursor(storedSeq, storedMac));
    }   // fails with BackendException.BatchRejected if not genuine; else apply getOperations()
}       // and store getCursor() in one transaction, then answer getReceipt()
// readme:end
