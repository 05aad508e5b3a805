// The README's Java backend example (scripts/check-readme-examples.py keeps the
// README's block identical to the region below, which is this whole file but
// its package line: it compiles as a file of its own in any package).
package dev.offlineauth.javaconsumer;

// readme:start
import static dev.offlineauth.backend.Offline_auth_backendKt.generateSyncKey;
import static dev.offlineauth.backend.Offline_auth_backendKt.jwksFromIssuerKeys;

import dev.offlineauth.backend.GrantIssuer;
import dev.offlineauth.backend.SyncCursor;
import dev.offlineauth.backend.SyncVerifier;
import dev.offlineauth.backend.VerifiedBatch;
import java.util.List;

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
