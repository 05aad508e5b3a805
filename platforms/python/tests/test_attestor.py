"""Binding tests for the platform attestor (issue 24): an attestor written
in Python is called through UniFFI, its evidence comes back as given, its
errors are typed, and each batch is signed over the message the core
defines. The checks of the evidence itself are the backend's."""
import offline_auth as oa
import offline_auth_backend as backend
from conftest import PIN


class RecordingAttestor(oa.PlatformAttestor):
    def __init__(self, fail=None):
        self.challenges = []
        self.fail = fail

    def attest(self, challenge):
        self.challenges.append(bytes(challenge))
        return oa.AttestationEvidence.ANDROID_KEY_ATTESTATION(chain=[b"leaf", b"root"])

    def sign(self, message):
        if self.fail is not None:
            raise self.fail
        return bytes(reversed(message))


def test_a_python_attestor_gives_evidence_and_signs_each_batch(vault_path, grant, config):
    attestor = RecordingAttestor()
    evidence = oa.enrolment_evidence(attestor, b"c" * 32)
    assert evidence == oa.AttestationEvidence.ANDROID_KEY_ATTESTATION(chain=[b"leaf", b"root"])
    assert attestor.challenges == [b"c" * 32]

    vault = oa.PinVault.open(vault_path, oa.SoftwareKeystore().as_platform_keystore(), config())
    session = vault.enroll(PIN, grant(), backend.generate_sync_key())
    session.put("visits", "a", b"1")
    signed = session.sync_queue().next_signed_batch(10, attestor)
    assert signed.signature == bytes(reversed(oa.upload_message(signed.batch)))
    assert oa.upload_message(signed.batch).startswith(b"offline-auth/upload-signature/v1\x00")


def test_no_attestor_and_attestor_errors_are_typed(vault_path, grant, config):
    none = oa.NoAttestor().as_platform_attestor()
    assert oa.enrolment_evidence(none, b"c" * 32) == oa.AttestationEvidence.NONE()
    try:
        oa.enrolment_evidence(RecordingAttestor(), b"short")
        raise AssertionError("a 5-byte challenge was accepted")
    except oa.VaultError.InvalidInput:
        pass

    vault = oa.PinVault.open(vault_path, oa.SoftwareKeystore().as_platform_keystore(), config())
    session = vault.enroll(PIN, grant(), backend.generate_sync_key())
    session.put("visits", "a", b"1")
    queue = session.sync_queue()
    assert queue.next_signed_batch(10, none).signature is None
    try:
        queue.next_signed_batch(10, RecordingAttestor(fail=oa.AttestorError.KeyGone()))
        raise AssertionError("a failed signature was not reported")
    except oa.VaultError.Keystore as error:
        assert "attestor:" in str(error)
    assert queue.pending_count() == 1
