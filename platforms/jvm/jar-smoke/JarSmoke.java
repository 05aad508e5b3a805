// Smoke test of the packaged jar, run by jar-smoke.sh from outside the Maven
// build: the native library must load from inside the jar (JNA extracts
// linux-x86-64/liboffline_auth.so), and plain Java can call the API.
// (Members with unsigned Kotlin types, e.g. VaultConfig's UInt fields or
// SyncCursor's ULong, have mangled or private JVM signatures: the API is
// meant for Kotlin callers; Java sees a usable subset, exercised here.)
import dev.offlineauth.GrantIssuer;
import dev.offlineauth.IssuerKey;
import dev.offlineauth.Offline_authKt;
import dev.offlineauth.SyncVerifier;
import dev.offlineauth.VaultException;
import java.util.List;

public final class JarSmoke {
    public static void main(String[] args) throws Exception {
        byte[] syncKey = Offline_authKt.generateSyncKey();
        check(syncKey.length == 32, "sync key length");

        try (GrantIssuer issuer = GrantIssuer.Companion.generate("smoke-kid")) {
            IssuerKey key = issuer.issuerKey();
            check(key.getPublicKey().length == 32, "public key length");
            long now = System.currentTimeMillis() / 1000;
            String grant = issuer.issue("alice", "device-1", List.of("notes"), now - 60, now + 3600);
            check(grant.split("\\.").length == 3, "grant has three parts");
        }
        // UniFFI's Kotlin constructors carry no @Throws, so javac does not let
        // Java catch the checked VaultException subclasses from them directly.
        try {
            new SyncVerifier(List.of()).close();
            throw new AssertionError("verifier without keys accepted");
        } catch (Exception e) {
            check(e instanceof VaultException.InvalidInput, "typed exception: " + e);
            check(!((VaultException.InvalidInput) e).getReason().isEmpty(), "reason");
        }
        try {
            new GrantIssuer("kid", new byte[3]).close();
            throw new AssertionError("short key accepted");
        } catch (Exception e) {
            check(e instanceof VaultException.InvalidInput, "typed exception: " + e);
        }
        System.out.println("jar smoke test: ok (native library loaded from the jar)");
    }

    private static void check(boolean ok, String what) {
        if (!ok) throw new AssertionError(what);
    }
}
