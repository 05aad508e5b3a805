"""Binding tests of the backend's attestation verification (issue 24): a
real Android Key Attestation chain from Google's test data verifies through
the Python bindings at a time inside its own certificates' validity (never
today's date), and refusals of enrolments and uploads arrive typed. The
checks themselves are the Rust verifier's, tested there."""
import base64
import datetime
import json
import os

import pytest
from cryptography import x509

import offline_auth_backend as backend
from conftest import PY_DIR

DATA = os.path.join(os.path.dirname(os.path.dirname(PY_DIR)), "crates", "offline-auth-attestation", "tests", "data", "android")
# Pixel 9 Pro, Android 16: a StrongBox EC key, bootloader locked, boot verified.
VECTOR = "caiman_sdk36_SB_EC_RKP"


def pem_certs(text):
    """DER certificates from PEM text, in file order."""
    blocks = text.split("-----BEGIN CERTIFICATE-----")[1:]
    return [base64.b64decode("".join(b.split("-----END CERTIFICATE-----")[0].split())) for b in blocks]


def read(name):
    with open(os.path.join(DATA, name), encoding="utf-8") as f:
        return f.read()


def google_roots():
    return [der for pem in json.loads(read("roots.json")) for der in pem_certs(pem)]


def time_inside(chain):
    """One hour after the latest notBefore of the chain (as the Rust tests)."""
    def not_before(der):
        cert = x509.load_der_x509_certificate(der)
        start = getattr(cert, "not_valid_before_utc", None)
        return start if start is not None else cert.not_valid_before.replace(tzinfo=datetime.timezone.utc)
    return max(not_before(der) for der in chain) + datetime.timedelta(hours=1)


@pytest.fixture
def vector():
    chain = pem_certs(read(VECTOR + ".pem"))
    expected = json.loads(read(VECTOR + ".json"))
    challenge = base64.b64decode(expected["attestationChallenge"])
    package = expected["softwareEnforced"]["attestationApplicationId"]["packages"][0]["name"]
    return chain, challenge, package, time_inside(chain)


def test_a_real_strongbox_chain_verifies_under_the_production_policy(vector):
    chain, challenge, package, at = vector
    policy = backend.attestation_policy_production()
    policy.allowed_packages = [package]
    verifier = backend.EnrolmentVerifier(google_roots(), [], policy)
    assert verifier.policy() == policy

    summary = verifier.verify(backend.Evidence.ANDROID_KEY_ATTESTATION(chain=chain), challenge, at)
    assert summary.kind == "android_key_attestation"
    assert summary.level == backend.EvidenceLevel.STRONG_BOX
    assert summary.mode == backend.PolicyMode.PRODUCTION
    assert summary.window_secs == policy.windows.strongbox == 72 * 3600
    assert (summary.boot_state, summary.device_locked, summary.app_id) == ("verified", True, package)
    assert summary.upload_key.is_ECDSA_P256() and len(summary.upload_key.spki_der) == 91


def test_a_wrong_challenge_and_a_software_keystore_are_refused_typed(vector):
    chain, challenge, _, at = vector
    verifier = backend.EnrolmentVerifier(google_roots(), [], backend.attestation_policy_production())
    evidence = backend.Evidence.ANDROID_KEY_ATTESTATION(chain=chain)

    with pytest.raises(backend.EnrolmentRefusal.Attestation) as refused:
        verifier.verify(evidence, b"not the challenge", at)
    assert refused.value.reason == "attestation_challenge_mismatch"
    assert "challenge" in str(refused.value)

    with pytest.raises(backend.EnrolmentRefusal.LevelRefused) as refused:
        verifier.verify(backend.Evidence.NONE(), challenge, at)
    assert refused.value.level == backend.EvidenceLevel.UNATTESTED

    # The same chain, its leaf's serial revoked by the status list.
    serial = format(x509.load_der_x509_certificate(chain[0]).serial_number, "x")
    status = json.dumps({"entries": {serial: {"status": "REVOKED"}}}).encode()
    revoked = backend.EnrolmentVerifier.with_status_list(google_roots(), status, backend.attestation_policy_production())
    with pytest.raises(backend.EnrolmentRefusal.Attestation) as refused:
        revoked.verify(evidence, challenge, at)
    assert refused.value.reason == "attestation_revoked"

    with pytest.raises(backend.BackendError.InvalidInput):
        backend.EnrolmentVerifier([b"not a certificate"], [], backend.attestation_policy_production())


def test_upload_signature_refusals_are_typed(vector):
    chain, challenge, _, at = vector
    verifier = backend.EnrolmentVerifier(google_roots(), [], backend.attestation_policy_production())
    key = verifier.verify(backend.Evidence.ANDROID_KEY_ATTESTATION(chain=chain), challenge, at).upload_key

    with pytest.raises(backend.UploadRefusal.SignatureMissing):
        backend.verify_upload_signature(key, None, "device-1", 1, 1, b"batch", True)
    with pytest.raises(backend.UploadRefusal.SignatureInvalid):
        backend.verify_upload_signature(key, b"\x30\x06\x02\x01\x01\x02\x01\x01", "device-1", 1, 1, b"batch", True)
    with pytest.raises(backend.UploadRefusal.NoAttestedKey):
        backend.verify_upload_signature(None, None, "device-1", 1, 1, b"batch", True)
    assert backend.verify_upload_signature(None, None, "device-1", 1, 1, b"batch", False) is None
    assert len(backend.generate_challenge()) == 32
