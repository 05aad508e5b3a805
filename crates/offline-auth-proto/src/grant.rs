//! The offline grant: a compact JWS (RFC 7515) signed by the backend with
//! Ed25519 (`alg: EdDSA`, RFC 8037), saying who may work offline on which
//! device, until when, and on which collections.
//!
//! Verification is deliberately narrow. The algorithm is pinned to EdDSA, so
//! `none`, `HS256` keyed with a public key, or any algorithm named by the
//! token itself can never choose how it is checked; the key is chosen only by
//! `kid` among the issuer keys the app configured; `crit` headers are refused
//! (RFC 7515 §4.1.11). Signatures are checked with `verify_strict`, which also
//! rejects small-order keys and non-canonical encodings.
//!
//! Grants are explicitly typed (`typ: offline-grant+jwt`, RFC 8725 §3.11), so
//! no other JWT the backend signs with the same key can pass for one. The
//! algorithm may be named `EdDSA` (RFC 8037) or `Ed25519` (RFC 9864). `nbf`
//! is honoured when present, and a [`GrantPolicy`] can pin `iss` and `aud`.

use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::{Signature, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Longest grant we parse; real ones are a few hundred bytes.
pub const MAX_GRANT_LEN: usize = 16 * 1024;
/// Longest `sub`, `dev`, `jti`, `kid` or scope entry.
pub const MAX_CLAIM_LEN: usize = 256;
/// Most scope entries in one grant.
pub const MAX_SCOPES: usize = 256;
/// The signature algorithm, under its two registered names (RFC 8037, RFC 9864).
pub const ALG: &str = "EdDSA";
/// The signature algorithm under its RFC 9864 name (accepted like [`ALG`]).
pub const ALG_ED25519: &str = "Ed25519";
/// The JWS `typ` of an offline grant.
pub const GRANT_TYP: &str = "offline-grant+jwt";

/// What a verifier demands of a grant beyond its signature.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GrantPolicy {
    /// When set, the grant's `iss` must be exactly this.
    pub issuer: Option<String>,
    /// When set, the grant's `aud` (a string or a list) must contain this.
    pub audience: Option<String>,
    /// Also accept grants typed `JWT` or untyped, as the first release
    /// issued them: for a backend's migration window only (devices never do).
    pub accept_untyped: bool,
}

/// A public key the device (or the sync verifier) trusts to sign grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerKey {
    /// Key id, matched against the JWS `kid` header.
    pub kid: String,
    /// The raw 32-byte Ed25519 public key.
    pub public_key: Vec<u8>,
}

/// The set of issuer keys in force, by `kid`. Several may be trusted at once
/// so the backend can rotate keys.
#[derive(Clone)]
pub struct TrustedIssuers(HashMap<String, VerifyingKey>);

impl std::fmt::Debug for TrustedIssuers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

impl TrustedIssuers {
    /// The trusted key named `kid`, if any (for the other JWS the issuer
    /// keys sign: directives).
    pub(crate) fn key(&self, kid: &str) -> Option<&VerifyingKey> {
        self.0.get(kid)
    }

    /// Validates and indexes the configured keys.
    pub fn new(keys: &[IssuerKey]) -> Result<Self> {
        if keys.is_empty() {
            return Err(Error::InvalidInput("at least one issuer key is required".into()));
        }
        let mut map = HashMap::with_capacity(keys.len());
        for key in keys {
            check_claim_text("kid", &key.kid)?;
            let bytes: &[u8; 32] = key
                .public_key
                .as_slice()
                .try_into()
                .map_err(|_| Error::InvalidInput(format!("issuer key {:?} must be 32 bytes", key.kid)))?;
            let verifying = VerifyingKey::from_bytes(bytes)
                .map_err(|_| Error::InvalidInput(format!("issuer key {:?} is not an Ed25519 point", key.kid)))?;
            if verifying.is_weak() {
                return Err(Error::InvalidInput(format!("issuer key {:?} is a weak key", key.kid)));
            }
            if map.insert(key.kid.clone(), verifying).is_some() {
                return Err(Error::InvalidInput(format!("issuer key id {:?} appears twice", key.kid)));
            }
        }
        Ok(Self(map))
    }

    /// The key trusted under `kid`, for the other documents the issuer
    /// signs (the escrow key, `crate::escrow_key`).
    pub fn verifying_key(&self, kid: &str) -> Option<&VerifyingKey> {
        self.0.get(kid)
    }
}

/// The verified content of a grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantClaims {
    /// User id (`sub`).
    pub sub: String,
    /// Device id (`dev`).
    pub dev: String,
    /// Issued at, seconds since the epoch (server time).
    pub iat: i64,
    /// End of the offline window, seconds since the epoch.
    pub exp: i64,
    /// Collections the holder may write.
    pub scope: Vec<String>,
    /// Grant id.
    pub jti: String,
    /// Id of the issuer key that signed it (from the header).
    pub kid: String,
    /// Not before (`nbf`), if the grant has one. Checked when a grant is
    /// installed or verified; not kept in the sealed state.
    #[serde(skip)]
    pub nbf: Option<i64>,
    /// The renewal nonce the device sent with its request (`nonce`), if the
    /// issuer signed one in: the device's proof that `iat` is fresh
    /// (docs/TIME.md, "Fresh renewals"). Checked when a grant is installed;
    /// not kept in the sealed state.
    #[serde(skip)]
    pub nonce: Option<String>,
}

impl GrantClaims {
    /// Whether `collection` is covered by the grant's scope.
    pub fn allows(&self, collection: &str) -> bool {
        self.scope.iter().any(|s| s == collection)
    }
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
    typ: Option<String>,
    crit: Option<serde_json::Value>,
}

/// `aud` as one string or a list (RFC 7519 §4.1.3).
#[derive(Deserialize)]
#[serde(untagged)]
enum AudienceClaim {
    One(String),
    Many(Vec<String>),
}

/// `scope` as a JSON list, or as an RFC 8693 space-separated string.
#[derive(Deserialize)]
#[serde(untagged)]
enum ScopeClaim {
    List(Vec<String>),
    Text(String),
}

#[derive(Deserialize)]
struct RawClaims {
    sub: String,
    dev: String,
    iat: i64,
    exp: i64,
    scope: ScopeClaim,
    jti: String,
    nbf: Option<i64>,
    iss: Option<String>,
    aud: Option<AudienceClaim>,
    nonce: Option<String>,
}

#[derive(Serialize)]
struct IssuedHeader<'a> {
    alg: &'a str,
    typ: &'a str,
    kid: &'a str,
}

#[derive(Serialize)]
struct IssuedClaims<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<&'a str>,
    sub: &'a str,
    dev: &'a str,
    iat: i64,
    exp: i64,
    scope: &'a [String],
    jti: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
}

/// How a grant is signed (`GrantIssuer`'s options).
pub struct Issuing<'a> {
    /// The header's `alg`: [`ALG`] or [`ALG_ED25519`].
    pub alg: &'a str,
    /// The `iss` claim to write, if any (omitted when `None`).
    pub iss: Option<&'a str>,
    /// The `aud` claim to write, if any (omitted when `None`).
    pub aud: Option<&'a str>,
}

/// Whether a header `typ` names an offline grant (RFC 7515 §4.1.9: compared
/// without case, `application/` may be left out).
fn is_grant_typ(typ: &str) -> bool {
    let bare = match typ.get(..12) {
        Some(prefix) if prefix.eq_ignore_ascii_case("application/") => typ.get(12..).unwrap_or_default(),
        _ => typ,
    };
    bare.eq_ignore_ascii_case(GRANT_TYP)
}

fn invalid(reason: &str) -> Error {
    Error::GrantInvalid(reason.to_owned())
}

fn check_claim_text(name: &str, value: &str) -> Result<()> {
    if value.is_empty() || value.len() > MAX_CLAIM_LEN {
        return Err(Error::InvalidInput(format!("{name} must be 1 to {MAX_CLAIM_LEN} bytes")));
    }
    Ok(())
}

fn decode_part(part: &str, what: &str) -> Result<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(part).map_err(|_| Error::GrantInvalid(format!("{what} is not base64url")))
}

/// Checks the signature and shape of `token` and returns its claims. Time and
/// device checks are the caller's ([`check_for_device`]), because the device
/// and the sync verifier judge time differently.
pub fn verify_signature(token: &str, issuers: &TrustedIssuers, policy: &GrantPolicy) -> Result<GrantClaims> {
    if token.len() > MAX_GRANT_LEN {
        return Err(invalid("grant is too long"));
    }
    let mut parts = token.split('.');
    let (Some(header_b64), Some(claims_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid("not a compact JWS"));
    };
    let header: Header =
        serde_json::from_slice(&decode_part(header_b64, "header")?).map_err(|_| invalid("header is not valid JSON"))?;
    if header.alg != ALG && header.alg != ALG_ED25519 {
        return Err(Error::GrantInvalid(format!("algorithm {:?} is not accepted", truncate(&header.alg))));
    }
    match header.typ.as_deref() {
        Some(typ) if is_grant_typ(typ) => {}
        None => {
            if !policy.accept_untyped {
                return Err(invalid("the token is not typed as an offline grant"));
            }
        }
        Some(typ) => {
            if !(policy.accept_untyped && typ.eq_ignore_ascii_case("JWT")) {
                return Err(Error::GrantInvalid(format!("token type {:?} is not an offline grant", truncate(typ))));
            }
        }
    }
    if header.crit.is_some() {
        return Err(invalid("critical header parameters are not supported"));
    }
    let kid = header.kid.ok_or_else(|| invalid("header has no kid"))?;
    let key = issuers.0.get(&kid).ok_or_else(|| Error::GrantInvalid(format!("unknown kid {:?}", truncate(&kid))))?;
    let signature_bytes = decode_part(signature_b64, "signature")?;
    let signature = Signature::from_slice(&signature_bytes).map_err(|_| invalid("signature has the wrong length"))?;
    let signing_input_len = header_b64.len() + 1 + claims_b64.len();
    let signing_input = token.get(..signing_input_len).ok_or_else(|| invalid("not a compact JWS"))?;
    key.verify_strict(signing_input.as_bytes(), &signature).map_err(|_| invalid("signature does not verify"))?;

    let raw: RawClaims = serde_json::from_slice(&decode_part(claims_b64, "claims")?)
        .map_err(|_| invalid("claims are missing or mistyped (sub, dev, iat, exp, scope, jti)"))?;
    let scope = match raw.scope {
        ScopeClaim::List(list) => list,
        ScopeClaim::Text(text) => text.split_whitespace().map(str::to_owned).collect(),
    };
    if let Some(expected) = &policy.issuer {
        if raw.iss.as_deref() != Some(expected.as_str()) {
            return Err(invalid("the grant is from another issuer (iss)"));
        }
    }
    if let Some(expected) = &policy.audience {
        let contains = match &raw.aud {
            Some(AudienceClaim::One(aud)) => aud == expected,
            Some(AudienceClaim::Many(auds)) => auds.iter().any(|aud| aud == expected),
            None => false,
        };
        if !contains {
            return Err(invalid("the grant is for another audience (aud)"));
        }
    }
    let nonce = nonce_claim(raw.nonce)?;
    let claims = GrantClaims {
        sub: raw.sub,
        dev: raw.dev,
        iat: raw.iat,
        exp: raw.exp,
        scope,
        jti: raw.jti,
        kid,
        nbf: raw.nbf,
        nonce,
    };
    for (name, value) in [("sub", &claims.sub), ("dev", &claims.dev), ("jti", &claims.jti)] {
        check_claim_text(name, value).map_err(|_| Error::GrantInvalid(format!("{name} is empty or too long")))?;
    }
    if claims.scope.len() > MAX_SCOPES || claims.scope.iter().any(|s| s.is_empty() || s.len() > MAX_CLAIM_LEN) {
        return Err(invalid("scope is too large or has an empty entry"));
    }
    if claims.exp <= claims.iat {
        return Err(invalid("exp is not after iat"));
    }
    Ok(claims)
}

/// The optional `nonce` claim (a renewal nonce the device made, signed in
/// by the issuer): absent in grants issued without one, which still verify;
/// when present, 1 to [`MAX_CLAIM_LEN`] bytes. What it proves is the
/// device's to decide (`offline-auth`'s `fresh` module).
pub fn nonce_claim(nonce: Option<String>) -> Result<Option<String>> {
    match nonce {
        Some(nonce) if nonce.is_empty() || nonce.len() > MAX_CLAIM_LEN => Err(invalid("nonce is empty or too long")),
        other => Ok(other),
    }
}

/// Device-side checks: bound to this device, issued in the past, not expired.
pub fn check_for_device(claims: &GrantClaims, device_id: &str, now: i64, skew_secs: u64) -> Result<()> {
    if claims.dev != device_id {
        return Err(invalid("grant is for another device"));
    }
    let skew = i64::try_from(skew_secs).unwrap_or(i64::MAX);
    if claims.iat > now.saturating_add(skew) {
        return Err(invalid("grant is issued in the future"));
    }
    if claims.nbf.is_some_and(|nbf| nbf > now.saturating_add(skew)) {
        return Err(invalid("grant is not valid yet (nbf)"));
    }
    if now >= claims.exp {
        return Err(Error::GrantExpired);
    }
    Ok(())
}

/// The JWS signing input (`base64url(header).base64url(claims)`) of a
/// grant: what the issuer's key signs.
///
/// # Errors
/// `Encoding` if the claims cannot be serialised.
pub fn signing_input(kid: &str, claims: &GrantClaims, issuing: &Issuing<'_>) -> Result<String> {
    let header =
        serde_json::to_vec(&IssuedHeader { alg: issuing.alg, typ: GRANT_TYP, kid }).map_err(|_| Error::Encoding)?;
    let body = serde_json::to_vec(&IssuedClaims {
        iss: issuing.iss,
        aud: issuing.aud,
        sub: &claims.sub,
        dev: &claims.dev,
        iat: claims.iat,
        exp: claims.exp,
        scope: &claims.scope,
        jti: &claims.jti,
        nonce: claims.nonce.as_deref(),
    })
    .map_err(|_| Error::Encoding)?;
    Ok(format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(body)))
}

/// The compact JWS: the signing input and its 64-byte Ed25519 signature.
pub fn assemble(signing_input: &str, signature: &[u8; 64]) -> String {
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// At most 32 characters of attacker-supplied text for an error message.
fn truncate(text: &str) -> String {
    text.chars().take(32).collect()
}

/// Declares [`IssuerKey`] and [`GrantPolicy`] to UniFFI as remote records in
/// the crate that invokes it (the device SDK, and the backend with its `ffi`
/// feature), so that both bindings describe them identically while this
/// crate stays free of FFI. The invoking crate must depend on `uniffi`.
#[macro_export]
macro_rules! uniffi_remote_grant_types {
    () => {
        /// A public key trusted to sign grants.
        #[uniffi::remote(Record)]
        pub struct IssuerKey {
            /// Key id, matched against the JWS `kid` header.
            pub kid: String,
            /// The raw 32-byte Ed25519 public key.
            pub public_key: Vec<u8>,
        }

        /// What a verifier demands of a grant beyond its signature.
        #[uniffi::remote(Record)]
        pub struct GrantPolicy {
            /// When set, the grant's `iss` must be exactly this.
            #[uniffi(default = None)]
            pub issuer: Option<String>,
            /// When set, the grant's `aud` (a string or a list) must contain this.
            #[uniffi(default = None)]
            pub audience: Option<String>,
            /// Also accept grants typed `JWT` or untyped, as the first release
            /// issued them: for a backend's migration window only.
            #[uniffi(default = false)]
            pub accept_untyped: bool,
        }
    };
}
