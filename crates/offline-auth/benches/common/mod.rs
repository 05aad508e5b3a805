//! Shared set-up for the benchmarks: an enrolled vault with an open session.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use criterion::Criterion;
use offline_auth::{OfflineSession, PinVault, PlatformKeystore, SoftwareKeystore, VaultConfig};
use offline_auth_backend::{generate_sync_key, GrantIssuer};

/// The PIN every benchmark vault is enrolled with.
pub const PIN: &str = "482915";
/// The collection every benchmark record lives in (the grant's scope).
pub const COLLECTION: &str = "inspections";

/// Short runs: the whole compare script must finish in a few minutes on a
/// shared 2-core machine. `--warm-up-time`/`--measurement-time` on the
/// command line still override these.
pub fn quick() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20)
        .configure_from_args()
}

/// A vault enrolled at the PBKDF2 floor, with everything needed to reopen it.
pub struct Fixture {
    pub issuer: Arc<GrantIssuer>,
    pub keystore: Arc<dyn PlatformKeystore>,
    pub config: VaultConfig,
    pub sync_key: Vec<u8>,
    pub vault: Arc<PinVault>,
    pub session: Arc<OfflineSession>,
}

impl Fixture {
    /// Enrols a new vault at `path`.
    pub fn enrol(path: &Path) -> Self {
        Self::enrol_with(path, false)
    }

    /// Enrols a new vault at `path` that escrows every edit to a fresh
    /// escrow key (`VaultConfig::escrow_key`).
    pub fn enrol_escrowed(path: &Path) -> Self {
        Self::enrol_with(path, true)
    }

    fn enrol_with(path: &Path, escrowed: bool) -> Self {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
        let issuer = GrantIssuer::generate("issuer-1").unwrap();
        let grant = issuer.issue("amira", "tablet-42", &[COLLECTION.to_owned()], now, now + 30 * 86_400).unwrap();
        let sync_key = generate_sync_key().unwrap();
        let mut config = VaultConfig::new("tablet-42", vec![issuer.issuer_key()]);
        if escrowed {
            let (_, public) = offline_auth_backend::generate_escrow_key("escrow-1").unwrap();
            config.escrow_key = Some(issuer.sign_escrow_key(&public, now).unwrap());
        }
        let keystore: Arc<dyn PlatformKeystore> = SoftwareKeystore::new();
        let vault = PinVault::open(path.to_string_lossy().into_owned(), keystore.clone(), config.clone()).unwrap();
        let session = vault.enroll(PIN.into(), &grant, sync_key.clone()).unwrap();
        Self { issuer, keystore, config, sync_key, vault, session }
    }
}

/// A value of `len` bytes that does not compress to nothing.
pub fn value(len: usize, seed: u64) -> Vec<u8> {
    (0..len).map(|i| (i as u64).wrapping_mul(2_654_435_761).wrapping_add(seed) as u8).collect()
}

/// A key that, with [`COLLECTION`] and a value of `value_len` bytes, makes an
/// operation of `11 + 13 + value_len` bytes.
pub fn key(i: u64) -> String {
    format!("station-{i:05}")
}

/// A directory on RAM-backed storage if there is one (to write many records
/// fast: fsync is free there), else the system temp directory.
pub fn scratch_dir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        tempfile::tempdir_in(shm).unwrap()
    } else {
        tempfile::tempdir().unwrap()
    }
}

/// A directory on the disk the crate is built on (real fsync), for figures
/// about durability.
pub fn disk_dir() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap()
}
