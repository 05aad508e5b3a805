//! Fuzzes the grant parser and verifier through the public API:
//! `PinVault::enroll` with a fuzzed grant on a vault that is not enrolled.
//! The grant is checked before any PIN work, so a rejected grant costs no
//! PBKDF2. Half the inputs are raw tokens; the other half are three fuzzed
//! parts (split at 0xFF) base64url-encoded into `header.payload.signature`,
//! which gets past the base64 layer into the JSON and claim checks.
#![no_main]

use std::sync::{Arc, OnceLock};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use libfuzzer_sys::fuzz_target;
use offline_auth::{PinVault, SoftwareKeystore, VaultConfig, VaultError};
use offline_auth_backend::{GrantIssuer};

struct World {
    _dir: tempfile::TempDir,
    vault: Arc<PinVault>,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let issuer = GrantIssuer::new("k1", vec![7; 32]).unwrap();
        let config = VaultConfig::new("device-1", vec![issuer.issuer_key()]);
        let path = dir.path().join("v.db").to_string_lossy().into_owned();
        let vault = PinVault::open(path, SoftwareKeystore::new(), config).unwrap();
        World { _dir: dir, vault }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let token = if mode % 2 == 0 {
        String::from_utf8_lossy(rest).into_owned()
    } else {
        let mut parts = rest.splitn(3, |b| *b == 0xFF);
        let mut next = || URL_SAFE_NO_PAD.encode(parts.next().unwrap_or_default());
        format!("{}.{}.{}", next(), next(), next())
    };
    match world().vault.enroll("482915".into(), &token, vec![0x5a; 32]) {
        // A fuzzer cannot forge an Ed25519 signature by the configured key.
        Ok(_) => panic!("a fuzzed grant was accepted"),
        Err(VaultError::GrantInvalid { .. } | VaultError::GrantExpired | VaultError::InvalidInput { .. }) => {}
        Err(other) => panic!("unexpected error for a bad grant: {other:?}"),
    }
});
