"""The other side of tests/jose_interop.rs: a stock JOSE library (PyJWT).

Reads one JSON request on stdin:
  {"private_key_hex", "kid", "claims", "other_device", "jwks", "rust_token"}
and writes one JSON answer on stdout:
  - "eddsa": a grant PyJWT signs with the issuer's Ed25519 key (EdDSA, kid);
  - "none", "hs256_public_key", "unknown_kid", "other_device": the classic attacks;
  - "rust_claims": the claims of the grant offline-auth's GrantIssuer signed,
    as PyJWT verifies them with the published JWKS.
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
    answer["rust_claims"] = jwt.decode(
        token, signing_key, algorithms=["EdDSA"], options={"require": ["exp", "iat", "sub"]}
    )
    json.dump(answer, sys.stdout)


if __name__ == "__main__":
    main()
