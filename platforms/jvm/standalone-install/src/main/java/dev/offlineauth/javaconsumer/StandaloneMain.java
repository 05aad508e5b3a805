package dev.offlineauth.javaconsumer;

import dev.offlineauth.backend.BackendException;
import dev.offlineauth.backend.GrantInfo;
import dev.offlineauth.backend.GrantIssuer;
import dev.offlineauth.backend.OfflineAuthBackend;
import dev.offlineauth.backend.RejectReason;

/**
 * Drives the README's Java example (Backend.java, copied beside this file by
 * check.sh) with nothing but the backend artifact on the classpath: a sign-in
 * whose grant verifies against the published JWKS, and an upload that is not
 * a batch, refused with its typed reason. Exits non-zero on any other outcome.
 */
public final class StandaloneMain {
    private static final long NOW = 1_800_000_000L;

    private StandaloneMain() {}

    public static void main(String[] args) throws Exception {
        try (GrantIssuer issuer = OfflineAuthBackend.generateIssuer("2026-11")) {
            Backend backend = new Backend(issuer);
            Backend.SignIn signIn = backend.signIn("amira", "tablet-42", NOW);
            GrantInfo info = OfflineAuthBackend.verifyGrant(signIn.grant(),
                    OfflineAuthBackend.issuerKeysFromJwks(backend.jwks));
            check("amira".equals(info.getUserId()), "the grant names its user");
            check(signIn.syncKey().length == 32, "a 32-byte sync key");
            try {
                backend.upload("junk".getBytes(), signIn.syncKey(), 0L, new byte[32]).join();
                check(false, "a junk upload is refused");
            } catch (java.util.concurrent.CompletionException e) {
                check(e.getCause() instanceof BackendException.BatchRejected rejected
                        && rejected.getKind() == RejectReason.MALFORMED, "refused as MALFORMED: " + e.getCause());
            }
        }
        System.out.println("README Java example: signed in and refused a junk upload, typed");
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError("standalone install: " + what);
        }
    }
}
