//! Remote directives (issue 25, section 3), the format only: a compact JWS
//! signed with an issuer key, typed `offline-directive+jwt` so that no grant
//! (`offline-grant+jwt`) passes for a directive nor a directive for a grant,
//! naming the device as its audience (`aud`), with its own id (`jti`), the
//! backend's time (`iat`) and one action (`act`): `wipe` (after what is
//! pending has been uploaded), `lock_until_renewal`, `biometrics_off`.
//!
//! Parse, then check: [`verify_directive`] checks the shape, the signature
//! (EdDSA only, the key chosen by `kid` among the trusted issuers, no
//! `crit`), the type and the audience; [`verify_directive_signature`] all
//! but the audience, for a device that reports "for another device" as its
//! own refusal. Deciding whether a directive is new (its `jti` not applied,
//! its `iat` not older than the last applied) and applying it durably is
//! the device's (`offline-auth`, `vault/directive.rs`; see
//! docs/decisions/0015-remote-directives.md).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::Signature;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::grant::{TrustedIssuers, ALG, ALG_ED25519, MAX_CLAIM_LEN};

/// The JWS `typ` of a remote directive.
pub const DIRECTIVE_TYP: &str = "offline-directive+jwt";
/// Longest directive parsed (real ones are about 300 bytes).
pub const MAX_DIRECTIVE_LEN: usize = 4 * 1024;

/// What a directive tells the device to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DirectiveAction {
    /// Wipe the vault, once what is pending has been uploaded (or salvaged).
    Wipe,
    /// Refuse offline access until an online renewal.
    LockUntilRenewal,
    /// Turn biometric unlock off (delete its key).
    BiometricsOff,
}

/// A verified directive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// The device it is for (`aud`).
    pub device_id: String,
    /// Its id (`jti`): applied once.
    pub jti: String,
    /// When the backend issued it (`iat`, its time).
    pub iat: i64,
    /// The action (`act`).
    pub action: DirectiveAction,
    /// The issuer key that signed it (`kid`).
    pub kid: String,
}

#[derive(Serialize, Deserialize)]
struct Header<'a> {
    alg: &'a str,
    typ: &'a str,
    kid: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    crit: Option<serde_json::Value>,
}

#[derive(Serialize, Deserialize)]
struct Claims<'a> {
    aud: &'a str,
    jti: &'a str,
    iat: i64,
    act: DirectiveAction,
}

fn invalid(reason: &str) -> Error {
    Error::DirectiveInvalid(reason.to_owned())
}

fn decode(part: &str, what: &str) -> Result<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(part).map_err(|_| Error::DirectiveInvalid(format!("{what} is not base64url")))
}

/// The signing input of `directive` under `kid` with algorithm `alg`
/// ([`ALG`] or [`ALG_ED25519`]): what the issuer key signs.
///
/// # Errors
/// `InvalidInput` for an empty or oversized device id, `jti` or `kid`, or
/// another algorithm; `Encoding` if serialising fails.
pub fn directive_signing_input(alg: &str, directive: &Directive) -> Result<String> {
    if alg != ALG && alg != ALG_ED25519 {
        return Err(Error::InvalidInput("the algorithm must be EdDSA or Ed25519".into()));
    }
    for (name, value) in [("device_id", &directive.device_id), ("jti", &directive.jti), ("kid", &directive.kid)] {
        if value.is_empty() || value.len() > MAX_CLAIM_LEN {
            return Err(Error::InvalidInput(format!("{name} must be 1 to {MAX_CLAIM_LEN} bytes")));
        }
    }
    let header = serde_json::to_vec(&Header { alg, typ: DIRECTIVE_TYP, kid: &directive.kid, crit: None })
        .map_err(|_| Error::Encoding)?;
    let claims = serde_json::to_vec(&Claims {
        aud: &directive.device_id,
        jti: &directive.jti,
        iat: directive.iat,
        act: directive.action,
    })
    .map_err(|_| Error::Encoding)?;
    Ok(format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(claims)))
}

/// Checks `token`'s shape, signature, type and audience: a directive for
/// `device_id` signed by one of `issuers`.
///
/// # Errors
/// `DirectiveInvalid` naming the rule broken (never echoing more than a
/// few characters of the token).
pub fn verify_directive(token: &str, issuers: &TrustedIssuers, device_id: &str) -> Result<Directive> {
    let directive = verify_directive_signature(token, issuers)?;
    if directive.device_id != device_id {
        return Err(invalid("the directive is for another device"));
    }
    Ok(directive)
}

/// Checks `token`'s shape, signature and type, not its audience: the
/// caller compares [`Directive::device_id`] with its own.
///
/// # Errors
/// `DirectiveInvalid` naming the rule broken.
pub fn verify_directive_signature(token: &str, issuers: &TrustedIssuers) -> Result<Directive> {
    if token.len() > MAX_DIRECTIVE_LEN {
        return Err(invalid("directive is too long"));
    }
    let mut parts = token.split('.');
    let (Some(header_b64), Some(claims_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid("not a compact JWS"));
    };
    let header_bytes = decode(header_b64, "header")?;
    let header: Header<'_> = serde_json::from_slice(&header_bytes).map_err(|_| invalid("header is not valid JSON"))?;
    if header.alg != ALG && header.alg != ALG_ED25519 {
        return Err(invalid("algorithm is not accepted"));
    }
    if header.typ != DIRECTIVE_TYP {
        return Err(invalid("the token is not typed as a directive"));
    }
    if header.crit.is_some() {
        return Err(invalid("critical header parameters are not supported"));
    }
    let key = issuers.key(header.kid).ok_or_else(|| invalid("unknown kid"))?;
    let signature = Signature::from_slice(&decode(signature_b64, "signature")?)
        .map_err(|_| invalid("signature has the wrong length"))?;
    let signing_input =
        token.get(..header_b64.len() + 1 + claims_b64.len()).ok_or_else(|| invalid("not a compact JWS"))?;
    key.verify_strict(signing_input.as_bytes(), &signature).map_err(|_| invalid("signature does not verify"))?;
    let claims_bytes = decode(claims_b64, "claims")?;
    let claims: Claims<'_> = serde_json::from_slice(&claims_bytes)
        .map_err(|_| invalid("claims are missing or mistyped (aud, jti, iat, act)"))?;
    if claims.jti.is_empty() || claims.jti.len() > MAX_CLAIM_LEN {
        return Err(invalid("jti is empty or too long"));
    }
    if claims.aud.is_empty() || claims.aud.len() > MAX_CLAIM_LEN {
        return Err(invalid("aud is empty or too long"));
    }
    Ok(Directive {
        device_id: claims.aud.to_owned(),
        jti: claims.jti.to_owned(),
        iat: claims.iat,
        action: claims.act,
        kid: header.kid.to_owned(),
    })
}

/// The compact JWS: signing input and its 64-byte signature.
pub fn assemble_directive(signing_input: &str, signature: &[u8; 64]) -> String {
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}
