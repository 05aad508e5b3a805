//! Issuer keys as a JWKS document (RFC 7517, `OKP`/`Ed25519` per RFC 8037).
//!
//! Backends publish their grant-signing keys the way their JOSE stack
//! already does; devices and verifiers can be configured from the same
//! document. Only Ed25519 signing keys are read; any other key in a JWKS
//! (RSA, EC, encryption keys) is skipped, and a JWKS without a usable key is
//! an error rather than an empty configuration.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::grant::{self, IssuerKey, TrustedIssuers};

/// Longest JWKS document accepted.
const MAX_JWKS_LEN: usize = 256 * 1024;

#[derive(Serialize, Deserialize)]
struct Jwks {
    keys: Vec<Jwk>,
}

#[derive(Serialize, Deserialize)]
struct Jwk {
    kty: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    crv: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    x: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kid: Option<String>,
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    key_use: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    alg: Option<String>,
    /// A private key component: never accepted in a public key set.
    #[serde(default, skip_serializing)]
    d: Option<serde_json::Value>,
}

/// The issuer keys as a JWKS JSON document (`kty` `OKP`, `crv` `Ed25519`,
/// `alg` `EdDSA`, `use` `sig`).
///
/// # Errors
/// `InvalidInput` if a key is malformed or a `kid` repeats.
pub fn to_jwks(keys: &[IssuerKey]) -> Result<String> {
    TrustedIssuers::new(keys)?;
    let jwks = Jwks {
        keys: keys
            .iter()
            .map(|key| Jwk {
                kty: "OKP".into(),
                crv: Some("Ed25519".into()),
                x: Some(URL_SAFE_NO_PAD.encode(&key.public_key)),
                kid: Some(key.kid.clone()),
                key_use: Some("sig".into()),
                alg: Some(grant::ALG.into()),
                d: None,
            })
            .collect(),
    };
    serde_json::to_string_pretty(&jwks).map_err(|_| Error::Encoding)
}

/// The Ed25519 signing keys of a JWKS document.
///
/// # Errors
/// `InvalidInput` for malformed JSON, a usable-looking key without `kid` or
/// with a bad `x`, a private key (`d`) in the set, or no Ed25519 key at all.
pub fn parse_jwks(text: &str) -> Result<Vec<IssuerKey>> {
    let invalid = |reason: &str| Error::InvalidInput(format!("JWKS: {reason}"));
    if text.len() > MAX_JWKS_LEN {
        return Err(invalid("document too large"));
    }
    let jwks: Jwks = serde_json::from_str(text).map_err(|_| invalid("not a JSON key set"))?;
    let mut keys = Vec::new();
    for jwk in jwks.keys {
        if jwk.d.is_some() {
            return Err(invalid("a private key is in the set; publish public keys only"));
        }
        let is_ed25519 = jwk.kty == "OKP" && jwk.crv.as_deref() == Some("Ed25519");
        let for_signing = jwk.key_use.as_deref().is_none_or(|u| u == "sig")
            && jwk.alg.as_deref().is_none_or(|a| a == grant::ALG || a == "Ed25519");
        if !is_ed25519 || !for_signing {
            continue;
        }
        let kid = jwk.kid.ok_or_else(|| invalid("an Ed25519 key has no kid"))?;
        let x = jwk.x.ok_or_else(|| invalid("an Ed25519 key has no x"))?;
        let public_key = URL_SAFE_NO_PAD.decode(x.as_bytes()).map_err(|_| invalid("x is not base64url"))?;
        keys.push(IssuerKey { kid, public_key });
    }
    if keys.is_empty() {
        return Err(invalid("no Ed25519 signing key"));
    }
    TrustedIssuers::new(&keys)?;
    Ok(keys)
}
