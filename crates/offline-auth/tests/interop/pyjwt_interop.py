"""The other side of tests/integration/grants_interoperate_with_jose_libraries.rs: two stock JOSE libraries, PyJWT
and joserfc.

Reads one JSON request on stdin:
  {"private_key_hex", "kid", "claims", "other_device", "jwks",
   "rust_tokens": {name: token}, "now"}
and writes one JSON answer on stdout:
  - "eddsa", "ed25519": grants PyJWT signs with the issuer's Ed25519 key,
    typed offline-grant+jwt, under both algorithm names (RFC 8037, RFC 9864);
  - "joserfc_eddsa", "joserfc_ed25519": the same made by joserfc;
  - "none", "hs256_public_key", "unknown_kid", "other_device", "untyped":
    the classic attacks, and a JWT the backend might sign for another purpose;
  - "read": for each token offline-auth's GrantIssuer signed, its header and
    claims as PyJWT and as joserfc verify them with the published JWKS, and
    whether its time window holds at the request's "now" and at its own exp.

Time comes from the request, never from this machine's clock: PyJWT's own
exp/iat checks read the real clock, so they are turned off and the same
checks are made against "now" instead (a test must not depend on the date).
"""

import json
import sys
import warnings

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from joserfc import jwk as rfc_jwk
from joserfc import jwt as rfc_jwt
from jwt.algorithms import OKPAlgorithm

TYP = "offline-grant+jwt"

# joserfc warns that RFC 9864 deprecates the name EdDSA; both names are tested on purpose.
warnings.simplefilter("ignore")

# PyJWT knows Ed25519 signatures as "EdDSA"; RFC 9864's name is registered here.
PYJWS = jwt.PyJWS()
PYJWS.register_algorithm("Ed25519", OKPAlgorithm())


def pyjwt_sign(claims, key, alg, kid):
    payload = json.dumps(claims, separators=(",", ":")).encode()
    return PYJWS.encode(payload, key, algorithm=alg, headers={"kid": kid, "typ": TYP})


def in_window(claims: dict, now: int) -> bool:
    """PyJWT's exp and iat rules (no leeway), at the given time."""
    return claims["iat"] <= now < claims["exp"]


def main() -> None:
    request = json.load(sys.stdin)
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(request["private_key_hex"]))
    claims = request["claims"]
    kid = request["kid"]
    public_raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    rfc_key = rfc_jwk.OKPKey.import_key(key)
    both = ["EdDSA", "Ed25519"]

    answer = {
        "eddsa": pyjwt_sign(claims, key, "EdDSA", kid),
        "ed25519": pyjwt_sign(claims, key, "Ed25519", kid),
        "joserfc_eddsa": rfc_jwt.encode({"alg": "EdDSA", "typ": TYP, "kid": kid}, claims, rfc_key, algorithms=both),
        "joserfc_ed25519": rfc_jwt.encode({"alg": "Ed25519", "typ": TYP, "kid": kid}, claims, rfc_key, algorithms=both),
        "none": jwt.encode(claims, None, algorithm="none", headers={"kid": kid, "typ": TYP}),
        # HS256 keyed with the public key: PyJWT itself refuses PEM keys as
        # HMAC secrets, but raw bytes are what an attacker would use.
        "hs256_public_key": jwt.encode(claims, public_raw, algorithm="HS256", headers={"kid": kid, "typ": TYP}),
        "unknown_kid": pyjwt_sign(claims, key, "EdDSA", kid + "-retired"),
        "other_device": pyjwt_sign({**claims, "dev": request["other_device"]}, key, "EdDSA", kid),
        # A token the backend might sign for another purpose (typ JWT).
        "untyped": jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid}),
    }

    keys = jwt.PyJWKSet.from_dict(request["jwks"])
    rfc_keys = rfc_jwk.KeySet.import_key_set(request["jwks"])
    # A JWK whose "alg" is EdDSA verifies only tokens named EdDSA in joserfc;
    # a backend issuing Ed25519-named grants publishes its keys without "alg"
    # (or with "Ed25519"), which this key set models.
    any_name = {"keys": [{k: v for k, v in key.items() if k != "alg"} for key in request["jwks"]["keys"]]}
    rfc_keys_any_name = rfc_jwk.KeySet.import_key_set(any_name)
    read = {}
    for name, token in request["rust_tokens"].items():
        header = jwt.get_unverified_header(token)
        signing_key = next(k for k in keys.keys if k.key_id == header["kid"])
        # The JWKS entry says alg EdDSA; PyJWT then refuses the RFC 9864 name
        # for that key object, so it verifies with the key material itself.
        verified = PYJWS.decode_complete(token, signing_key.key, algorithms=both)
        by_pyjwt = json.loads(verified["payload"])
        by_joserfc = rfc_jwt.decode(token, rfc_keys if header["alg"] == "EdDSA" else rfc_keys_any_name, algorithms=both)
        read[name] = {
            "header": header,
            "pyjwt_claims": by_pyjwt,
            "joserfc_claims": by_joserfc.claims,
            "joserfc_header": by_joserfc.header,
            "valid_at_now": in_window(by_pyjwt, request["now"]),
            "valid_at_exp": in_window(by_pyjwt, by_pyjwt["exp"]),
        }
    answer["read"] = read
    json.dump(answer, sys.stdout)


if __name__ == "__main__":
    main()
