//! Private issuer key files: a private JWK (`OKP`/`Ed25519` with `d`),
//! created with mode 0600 and never overwritten, and refused when read if
//! group or others can access it.

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use offline_auth_backend::GrantIssuer;
use zeroize::Zeroizing;

use crate::input::Input;
use crate::{Failure, IO};

/// Writes `issuer`'s private key to a new file readable by its owner only.
pub(crate) fn write_new(path: &Path, issuer: &GrantIssuer) -> Result<(), Failure> {
    let failure = |e: std::io::Error| Failure::io(format!("{}: {e}", path.display()));
    let private = Zeroizing::new(issuer.private_key().map_err(Failure::io)?);
    let jwk = Zeroizing::new(
        serde_json::json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "alg": "EdDSA",
            "use": "sig",
            "kid": issuer.kid(),
            "x": URL_SAFE_NO_PAD.encode(issuer.issuer_key().public_key),
            "d": URL_SAFE_NO_PAD.encode(private.as_slice()),
        })
        .to_string(),
    );
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(failure)?;
    file.write_all(jwk.as_bytes()).map_err(failure)?;
    file.sync_all().map_err(failure)
}

/// The fields of a private key file that `read` needs.
#[derive(serde::Deserialize)]
struct PrivateJwk {
    kty: String,
    crv: String,
    kid: String,
    d: Zeroizing<String>,
    x: Option<String>,
}

/// Most bytes of a private key file (one written by `keygen` is ~250).
const KEY_FILE_LIMIT: usize = 8 * 1024;

/// Reads a private key file written by [`write_new`] (or `-`, stdin). On
/// Unix the file must be accessible by its owner only.
pub(crate) fn read(path: &Path) -> Result<Arc<GrantIssuer>, Failure> {
    let input = Input { path, what: "private key file", limit: KEY_FILE_LIMIT, oversize_code: IO, private: true };
    let name = input.name();
    let bad = |what: &str| Failure::io(format!("{name}: {what}"));
    let bytes = input.read()?;
    let jwk: PrivateJwk =
        serde_json::from_slice(&bytes).map_err(|_| bad("not a private key file (kty, crv, kid, d)"))?;
    if jwk.kty != "OKP" || jwk.crv != "Ed25519" {
        return Err(bad("not an Ed25519 key (kty OKP, crv Ed25519)"));
    }
    let seed = Zeroizing::new(URL_SAFE_NO_PAD.decode(jwk.d.as_bytes()).map_err(|_| bad("d is not base64url"))?);
    let issuer = GrantIssuer::new(&jwk.kid, seed.to_vec()).map_err(|e| bad(&e.to_string()))?;
    if let Some(x) = jwk.x {
        if URL_SAFE_NO_PAD.decode(x.as_bytes()).ok() != Some(issuer.issuer_key().public_key) {
            return Err(bad("x does not match the private key"));
        }
    }
    Ok(issuer)
}
