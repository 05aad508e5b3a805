"""The other side of tests/jose_interop.rs: a stock JOSE library (PyJWT).

Reads one JSON request on stdin:
  {"private_key_hex", "kid", "claims", "other_device", "jwks", "rust_token", "now"}
and writes one JSON answer on stdout:
  - "eddsa": a grant PyJWT signs with the issuer's Ed25519 key (EdDSA, kid);
  - "none", "hs256_public_key", "unknown_kid", "other_device": the classic attacks;
  - "rust_claims": the claims of the grant offline-auth's GrantIssuer signed,
    as PyJWT verifies them with the published JWKS;
  - "rust_valid_at_now", "rust_valid_at_exp": whether that grant's time
    window holds at the request's "now" and at its own "exp".

Time comes from the request, never from this machine's clock: PyJWT's own
exp/iat checks read the real clock, so they are turned off and the same
checks are made against "now" instead (a test must not depend on the date).
"""

import json
import sys

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def main() -> None:
    request = json.load(sys.stdin)
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(request["private_key_hex"]))
    claims = request["claims"]
    kid = request["kid"]
    public_raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    answer = {
        "eddsa": jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid}),
        "none": jwt.encode(claims, None, algorithm="none", headers={"kid": kid}),
        # HS256 keyed with the public key: PyJWT itself refuses PEM keys as
        # HMAC secrets, but raw bytes are what an attacker would use.
        "hs256_public_key": jwt.encode(claims, public_raw, algorithm="HS256", headers={"kid": kid}),
        "unknown_kid": jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid + "-retired"}),
        "other_device": jwt.encode(
            {**claims, "dev": request["other_device"]}, key, algorithm="EdDSA", headers={"kid": kid}
        ),
    }

    token = request["rust_token"]
    header = jwt.get_unverified_header(token)
    keys = jwt.PyJWKSet.from_dict(request["jwks"])
    signing_key = next(k for k in keys.keys if k.key_id == header["kid"])
    answer["rust_header"] = header
    claims = jwt.decode(
        token,
        signing_key,
        algorithms=["EdDSA"],
        options={"require": ["exp", "iat", "sub"], "verify_exp": False, "verify_iat": False, "verify_nbf": False},
    )
    answer["rust_claims"] = claims
    answer["rust_valid_at_now"] = in_window(claims, request["now"])
    answer["rust_valid_at_exp"] = in_window(claims, claims["exp"])
    json.dump(answer, sys.stdout)


def in_window(claims: dict, now: int) -> bool:
    """PyJWT's exp and iat rules (no leeway), at the given time."""
    return claims["iat"] <= now < claims["exp"]


if __name__ == "__main__":
    main()
