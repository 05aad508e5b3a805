//! The escrow key as the issuer publishes it: a compact JWS (EdDSA) typed
//! `escrow-key+jwt`, signed by an issuer key the device already trusts for
//! grants, whose claims name the escrow key id (`ekid`), the X25519 public
//! key (`x25519`, base64url) and when it was signed (`iat`).
//!
//! Devices take the escrow key only in this form (`VaultConfig::escrow_key`),
//! so whoever can change the app's configuration in transit cannot make a
//! device escrow its edits to a key of their own. The `typ` keeps it apart
//! from a grant signed by the same key (RFC 8725 §3.11). Rotation: the
//! backend signs a document for the new key, devices seal new entries to it,
//! and the backend keeps the old private key until what was sealed to it is
//! salvaged or acknowledged (`docs/DEPLOYMENT.md`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::Signature;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::escrow::EscrowPublicKey;
use crate::grant::{TrustedIssuers, ALG, ALG_ED25519};

/// The JWS `typ` of a signed escrow key.
pub const ESCROW_KEY_TYP: &str = "escrow-key+jwt";
/// Longest signed escrow key document parsed.
pub const MAX_ESCROW_KEY_DOC_LEN: usize = 4096;

#[derive(Serialize, Deserialize)]
struct Header {
    alg: String,
    typ: String,
    kid: String,
}

#[derive(Serialize, Deserialize)]
struct Claims {
    ekid: String,
    x25519: String,
    iat: i64,
}

fn invalid(reason: &str) -> Error {
    Error::InvalidInput(format!("escrow key: {reason}"))
}

/// What the issuer's key signs for `key`: `base64url(header).base64url(claims)`.
///
/// # Errors
/// `Encoding` if serialisation fails.
pub fn escrow_key_signing_input(issuer_kid: &str, key: &EscrowPublicKey, iat: i64) -> Result<String> {
    let header = Header { alg: ALG.into(), typ: ESCROW_KEY_TYP.into(), kid: issuer_kid.into() };
    let claims = Claims { ekid: key.kid.clone(), x25519: URL_SAFE_NO_PAD.encode(key.public_key), iat };
    let header = serde_json::to_vec(&header).map_err(|_| Error::Encoding)?;
    let claims = serde_json::to_vec(&claims).map_err(|_| Error::Encoding)?;
    Ok(format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(claims)))
}

/// Checks the signature of a signed escrow key against `issuers` and returns the key.
///
/// # Errors
/// `InvalidInput` naming what is wrong (format, type, algorithm, unknown
/// issuer key, signature, key bytes).
pub fn verify_escrow_key(token: &str, issuers: &TrustedIssuers) -> Result<EscrowPublicKey> {
    if token.len() > MAX_ESCROW_KEY_DOC_LEN {
        return Err(invalid("the document is too long"));
    }
    let mut parts = token.split('.');
    let (Some(header_b64), Some(claims_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid("not a compact JWS"));
    };
    let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).map_err(|_| invalid("not base64url"));
    let header: Header = serde_json::from_slice(&decode(header_b64)?).map_err(|_| invalid("header is not valid"))?;
    if header.alg != ALG && header.alg != ALG_ED25519 {
        return Err(invalid("the algorithm is not EdDSA"));
    }
    if !header.typ.eq_ignore_ascii_case(ESCROW_KEY_TYP) {
        return Err(invalid("the document is not typed as an escrow key"));
    }
    let issuer = issuers.verifying_key(&header.kid).ok_or_else(|| invalid("signed by an issuer key not trusted"))?;
    let signature = Signature::from_slice(&decode(signature_b64)?).map_err(|_| invalid("bad signature length"))?;
    let signed = token.get(..header_b64.len() + 1 + claims_b64.len()).ok_or_else(|| invalid("not a compact JWS"))?;
    issuer.verify_strict(signed.as_bytes(), &signature).map_err(|_| invalid("the signature does not verify"))?;
    let claims: Claims = serde_json::from_slice(&decode(claims_b64)?).map_err(|_| invalid("claims are not valid"))?;
    EscrowPublicKey::new(&claims.ekid, &decode(&claims.x25519)?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::grant::{assemble, IssuerKey};
    use ed25519_dalek::{Signer as _, SigningKey};

    #[test]
    fn a_signed_escrow_key_verifies_and_an_altered_one_does_not() {
        let signer = SigningKey::from_bytes(&[9; 32]);
        let issuers = TrustedIssuers::new(&[IssuerKey {
            kid: "k1".into(),
            public_key: signer.verifying_key().to_bytes().to_vec(),
        }])
        .unwrap();
        let key = EscrowPublicKey::new("e1", &[4; 32]).unwrap();
        let input = escrow_key_signing_input("k1", &key, 10).unwrap();
        let token = assemble(&input, &signer.sign(input.as_bytes()).to_bytes());
        assert_eq!(verify_escrow_key(&token, &issuers).unwrap(), key);
        let other = EscrowPublicKey::new("e1", &[5; 32]).unwrap();
        let forged_input = escrow_key_signing_input("k1", &other, 10).unwrap();
        let signature = token.rsplit('.').next().unwrap();
        assert!(verify_escrow_key(&format!("{forged_input}.{signature}"), &issuers).is_err());
        let unknown = escrow_key_signing_input("k2", &key, 10).unwrap();
        let token = assemble(&unknown, &signer.sign(unknown.as_bytes()).to_bytes());
        assert!(verify_escrow_key(&token, &issuers).is_err());
    }
}
