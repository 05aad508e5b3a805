package dev.offlineauth.javaconsumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.offlineauth.backend.BackendException;
import dev.offlineauth.backend.GrantInfo;
import dev.offlineauth.backend.GrantIssuer;
import dev.offlineauth.backend.JavaGrantSigner;
import dev.offlineauth.backend.JavaServerClock;
import dev.offlineauth.backend.OfflineAuthBackend;
import dev.offlineauth.backend.SyncVerifier;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * A Java service's KMS signer and clock: each implements the Java interface
 * of its UniFFI trait (JavaGrantSigner, JavaServerClock), throws the backend's
 * typed exception, and the caller sees that variant with its message (not
 * Internal), with nothing on stderr.
 */
class JavaCallbacksTest {
    private static final long NOW = 1_800_000_000L;

    /** A signer over a JCA Ed25519 key, as a KMS client would be; fails on demand. */
    static final class JcaSigner implements JavaGrantSigner {
        private final KeyPair pair;
        private final String failure;

        JcaSigner(String failure) throws GeneralSecurityException {
            this.pair = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
            this.failure = failure;
        }

        @Override
        public String kid() {
            return "kms-1";
        }

        @Override
        public byte[] publicKey() {
            byte[] spki = pair.getPublic().getEncoded();  // X.509 SubjectPublicKeyInfo: the raw key is its last 32 bytes
            return Arrays.copyOfRange(spki, spki.length - 32, spki.length);
        }

        @Override
        public byte[] sign(byte[] message) throws BackendException {
            if (failure != null) {
                throw new BackendException.Signer(failure);
            }
            try {
                Signature signature = Signature.getInstance("Ed25519");
                signature.initSign(pair.getPrivate());
                signature.update(message);
                return signature.sign();
            } catch (GeneralSecurityException e) {
                throw new BackendException.Signer(e.getClass().getSimpleName());
            }
        }
    }

    /** Runs [call] with System.err captured; returns what was printed. */
    private static String stderrDuring(Executable call) throws Throwable {
        PrintStream saved = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            call.execute();
        } finally {
            System.setErr(saved);
        }
        return captured.toString(StandardCharsets.UTF_8);
    }

    @Test
    void a_java_signer_failure_arrives_as_signer() throws Throwable {
        try (GrantIssuer issuer = OfflineAuthBackend.issuerWithSigner(new JcaSigner("kms unreachable: key kms-1 disabled"))) {
            String printed = stderrDuring(() -> {
                BackendException.Signer e = assertThrows(BackendException.Signer.class,
                        () -> issuer.issue("amira", "tablet-42", List.of("inspections"), NOW, NOW + 600));
                assertEquals("kms unreachable: key kms-1 disabled", e.getReason());
                assertEquals("grant signer failed: kms unreachable: key kms-1 disabled", e.getMessage());
            });
            assertEquals("", printed);
        }
    }

    @Test
    void a_java_signer_failure_arrives_as_signer_through_the_future_form() throws Exception {
        try (GrantIssuer issuer = OfflineAuthBackend.issuerWithSigner(new JcaSigner("hsm busy"))) {
            ExecutionException e = assertThrows(ExecutionException.class,
                    () -> OfflineAuthBackend.issueFuture(issuer, "amira", "tablet-42", List.of("inspections"), NOW, NOW + 600).get());
            BackendException.Signer signer = assertInstanceOf(BackendException.Signer.class, e.getCause());
            assertEquals("hsm busy", signer.getReason());
        }
    }

    @Test
    void a_java_signer_over_jca_signs_grants_that_verify() throws Exception {
        try (GrantIssuer issuer = OfflineAuthBackend.issuerWithSigner(new JcaSigner(null))) {
            String grant = issuer.issue("amira", "tablet-42", List.of("inspections"), NOW, NOW + 600);
            GrantInfo info = OfflineAuthBackend.verifyGrant(grant, List.of(issuer.issuerKey()));
            assertEquals("amira", info.getUserId());
            assertEquals("kms-1", issuer.kid());
        }
    }

    @Test
    void a_java_clock_failure_arrives_as_clock() throws Throwable {
        JavaServerClock broken = () -> {
            throw new BackendException.Clock("ntp source lost");
        };
        try (GrantIssuer issuer = OfflineAuthBackend.generateIssuer("kid-1");
                SyncVerifier verifier = OfflineAuthBackend.syncVerifier(List.of(issuer.issuerKey()), broken)) {
            String printed = stderrDuring(() -> {
                BackendException.Clock e = assertThrows(BackendException.Clock.class,
                        () -> verifier.verify("junk".getBytes(), new byte[32], OfflineAuthBackend.initialSyncCursor()));
                assertEquals("ntp source lost", e.getReason());
            });
            assertEquals("", printed);
            assertArrayEquals(new byte[32], OfflineAuthBackend.initialSyncCursor().getLastMac());
        }
    }
}
