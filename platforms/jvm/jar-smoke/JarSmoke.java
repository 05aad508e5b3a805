// Smoke test of the packaged jars, run by jar-smoke.sh from outside the Maven
// build: both native libraries must load from inside their jars (JNA extracts
// linux-x86-64/liboffline_auth_backend.so and linux-x86-64/liboffline_auth.so),
// in one JVM, and plain Java can call both APIs: the backend issues a key and
// publishes it as JWKS, the device reads that JWKS.
// (The device SDK's members with unsigned Kotlin types, e.g. VaultConfig's
// UInt fields, have mangled or private JVM signatures: it is meant for Kotlin
// callers. The backend's bindings use long for seqs and counts; the whole
// backend flow from Java is java-consumer/'s test.)
import dev.offlineauth.Offline_authKt;
import dev.offlineauth.VaultException;
import dev.offlineauth.backend.BackendException;
import dev.offlineauth.backend.GrantIssuer;
import dev.offlineauth.backend.IssuerKey;
import dev.offlineauth.backend.Offline_auth_backendKt;
import java.util.List;

public final class JarSmoke {
    public static void main(String[] args) throws Exception {
        byte[] syncKey = Offline_auth_backendKt.generateSyncKey();
        check(syncKey.length == 32, "sync key length");

        try (GrantIssuer issuer = GrantIssuer.Companion.generate("smoke-kid")) {
            IssuerKey key = issuer.issuerKey();
            check(key.getPublicKey().length == 32, "public key length");
            long now = System.currentTimeMillis() / 1000;
            String grant = issuer.issue("alice", "device-1", List.of("notes"), now - 60, now + 3600);
            check(grant.split("\\.").length == 3, "grant has three parts");

            // Device side: the keys a vault trusts, read from the backend's JWKS.
            String jwks = Offline_auth_backendKt.jwksFromIssuerKeys(List.of(key));
            List<dev.offlineauth.IssuerKey> deviceKeys = Offline_authKt.issuerKeysFromJwks(jwks);
            check(deviceKeys.size() == 1, "one key in the JWKS");
            check(deviceKeys.get(0).getKid().equals("smoke-kid"), "kid survives the JWKS");
            check(java.util.Arrays.equals(deviceKeys.get(0).getPublicKey(), key.getPublicKey()), "public key survives the JWKS");
        }
        // UniFFI's Kotlin constructors carry no @Throws, so javac does not let
        // Java catch the checked exception subclasses from them directly.
        try {
            new GrantIssuer("kid", new byte[3]).close();
            throw new AssertionError("short key accepted");
        } catch (Exception e) {
            check(e instanceof BackendException.InvalidInput, "typed backend exception: " + e);
            check(!((BackendException.InvalidInput) e).getReason().isEmpty(), "reason");
        }
        try {
            Offline_authKt.issuerKeysFromJwks("not json");
            throw new AssertionError("malformed JWKS accepted");
        } catch (VaultException.InvalidInput e) {
            check(!e.getReason().isEmpty(), "reason");
        }
        System.out.println("jar smoke test: ok (both native libraries loaded from their jars)");
    }

    private static void check(boolean ok, String what) {
        if (!ok) throw new AssertionError(what);
    }
}
