//! Shared fixtures for the integration tests: a settable clock, a keystore
//! that can be told to fail, and a backend (issuer + sync key) that enrols.
#![allow(dead_code, clippy::unwrap_used)] // fixtures: a panic is how a test fails

pub mod wire;

use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use offline_auth::{
    Clock, ClockError, KeyProtection, KeystoreError, OfflineSession, PinVault, PlatformKeystore, SoftwareKeystore,
    VaultConfig, VaultError,
};
use offline_auth_backend::{FixedServerClock, GrantIssuer, SyncVerifier};

pub const PIN: &str = "482915";
pub const DEVICE: &str = "device-1";
pub const USER: &str = "worker-7";
/// 2026-11-23T00:00:00Z
pub const T0: i64 = 1_795_392_000;
pub const HOUR: i64 = 3600;
pub const DAY: i64 = 24 * HOUR;

/// A device's clocks, moved by hand: the wall clock (which the user sets),
/// and the boot clock (boot number, milliseconds since that boot).
#[derive(Debug)]
pub struct TestClock {
    pub wall: AtomicI64,
    pub boot: AtomicU64,
    pub elapsed_ms: AtomicU64,
}

impl TestClock {
    pub fn new(wall: i64) -> Arc<Self> {
        Arc::new(Self { wall: AtomicI64::new(wall), boot: AtomicU64::new(1), elapsed_ms: AtomicU64::new(60_000) })
    }
    /// Sets the wall clock only (what a user can do).
    pub fn set(&self, wall: i64) {
        self.wall.store(wall, Ordering::SeqCst);
    }
    /// Real time passes: both clocks move forward.
    pub fn advance(&self, secs: i64) {
        self.wall.fetch_add(secs, Ordering::SeqCst);
        self.elapsed_ms.fetch_add(u64::try_from(secs).unwrap() * 1000, Ordering::SeqCst);
    }
    /// The device restarts, taking `secs` of real time: a new boot id and
    /// elapsed time starting again near zero.
    pub fn reboot(&self, secs: i64) {
        self.wall.fetch_add(secs, Ordering::SeqCst);
        self.boot.fetch_add(1, Ordering::SeqCst);
        self.elapsed_ms.store(5_000, Ordering::SeqCst);
    }
    pub fn now(&self) -> i64 {
        self.wall.load(Ordering::SeqCst)
    }
}

impl Clock for TestClock {
    fn now_unix_secs(&self) -> Result<i64, ClockError> {
        Ok(self.wall.load(Ordering::SeqCst))
    }
    fn boot_id(&self) -> Result<String, ClockError> {
        Ok(format!("boot-{}", self.boot.load(Ordering::SeqCst)))
    }
    fn elapsed_since_boot_millis(&self) -> Result<u64, ClockError> {
        Ok(self.elapsed_ms.load(Ordering::SeqCst))
    }
}

/// A software keystore that can be told to misbehave like a platform one.
#[derive(Default)]
pub struct TestKeystore {
    pub inner: Arc<SoftwareKeystore>,
    pub fail_delete: AtomicBool,
    /// Deletions succeed but keep the key: a keystore that an attacker
    /// could roll back together with the files (no real one can).
    pub keep_deleted_keys: AtomicBool,
    /// Each wrap takes up to this long (a hardware keystore creating a key).
    pub max_wrap_delay_ms: AtomicU64,
    pub fail_all: AtomicBool,
    pub bio_invalidated: AtomicBool,
    pub bio_cancel: AtomicBool,
    /// The biometric key is gone (lock screen or passcode removed).
    pub bio_lost: AtomicBool,
    /// Runs inside every biometric wrap, where a platform shows its prompt.
    pub bio_prompt: Mutex<Option<Arc<dyn Fn() + Send + Sync>>>,
    pub calls: AtomicU64,
    /// Called (outside the keystore's own state) on every callback.
    pub on_call: Mutex<Option<Box<dyn Fn() + Send + Sync>>>,
}

impl TestKeystore {
    pub fn new() -> Arc<Self> {
        Arc::new(Self { inner: SoftwareKeystore::new(), ..Default::default() })
    }
    fn before(&self) -> Result<(), KeystoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if let Some(callback) = self.on_call.lock().unwrap().as_ref() {
            callback();
        }
        if self.fail_all.load(Ordering::SeqCst) {
            return Err(KeystoreError::Failed { reason: "hardware unavailable".into() });
        }
        Ok(())
    }
}

impl PlatformKeystore for TestKeystore {
    fn wrap(&self, alias: String, protection: KeyProtection, plaintext: Vec<u8>) -> Result<Vec<u8>, KeystoreError> {
        self.before()?;
        if protection == KeyProtection::Biometric {
            let prompt = self.bio_prompt.lock().unwrap().clone();
            if let Some(prompt) = prompt {
                prompt();
            }
        }
        let wrapped = self.inner.wrap(alias, protection, plaintext);
        // The key exists now; the caller has not stored its alias yet.
        let max_delay = self.max_wrap_delay_ms.load(Ordering::SeqCst);
        if max_delay > 0 {
            let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
            std::thread::sleep(std::time::Duration::from_millis(u64::from(nanos) % (max_delay + 1)));
        }
        wrapped
    }
    fn unwrap(&self, alias: String, protection: KeyProtection, wrapped: Vec<u8>) -> Result<Vec<u8>, KeystoreError> {
        self.before()?;
        if protection == KeyProtection::Biometric {
            if self.bio_invalidated.load(Ordering::SeqCst) {
                return Err(KeystoreError::KeyInvalidated);
            }
            if self.bio_cancel.load(Ordering::SeqCst) {
                return Err(KeystoreError::UserCancelled);
            }
            if self.bio_lost.load(Ordering::SeqCst) {
                return Err(KeystoreError::KeyNotFound);
            }
        }
        self.inner.unwrap(alias, protection, wrapped)
    }
    fn delete_key(&self, alias: String) -> Result<(), KeystoreError> {
        self.before()?;
        if self.fail_delete.load(Ordering::SeqCst) {
            return Err(KeystoreError::Failed { reason: "delete refused".into() });
        }
        if self.keep_deleted_keys.load(Ordering::SeqCst) {
            return Ok(());
        }
        self.inner.delete_key(alias)
    }
}

/// The backend of the tests: an issuer and the device's sync key.
pub struct Backend {
    pub issuer: Arc<GrantIssuer>,
    pub sync_key: Vec<u8>,
}

impl Backend {
    pub fn new() -> Self {
        Self { issuer: GrantIssuer::generate("k1").unwrap(), sync_key: vec![0x5a; 32] }
    }
    /// The same backend in every process (a fixed issuer key).
    pub fn fixed() -> Self {
        Self { issuer: GrantIssuer::new("k1", vec![0x17; 32]).unwrap(), sync_key: vec![0x5a; 32] }
    }
    /// A grant for DEVICE/USER on "visits" and "notes", valid `days` from `iat`.
    pub fn grant(&self, iat: i64, days: i64) -> String {
        self.grant_for(USER, DEVICE, iat, iat + days * DAY)
    }
    pub fn grant_for(&self, user: &str, device: &str, iat: i64, exp: i64) -> String {
        self.issuer.issue(user, device, &["visits".to_owned(), "notes".to_owned()], iat, exp).unwrap()
    }
    pub fn config(&self) -> VaultConfig {
        VaultConfig::new(DEVICE, vec![self.issuer.issuer_key()])
    }
    /// The backend's verifier, on a server clock a year after `T0` (later
    /// than every edit a test makes, whatever today's date is).
    pub fn verifier(&self) -> Arc<SyncVerifier> {
        SyncVerifier::with_clock(vec![self.issuer.issuer_key()], Arc::new(FixedServerClock(T0 + 365 * DAY))).unwrap()
    }
}

/// One device: a database file, its keystore and clock. The keystore is
/// [`TestKeystore`] unless a test brings its own ([`Device::with_keystore`]).
pub struct Device<K = TestKeystore> {
    pub dir: tempfile::TempDir,
    pub keystore: Arc<K>,
    pub clock: Arc<TestClock>,
    pub backend: Backend,
}

impl Device {
    pub fn new() -> Self {
        Self::with_keystore(TestKeystore::new())
    }
}

impl<K: PlatformKeystore + 'static> Device<K> {
    /// A device whose platform keystore is `keystore`.
    pub fn with_keystore(keystore: Arc<K>) -> Self {
        Self { dir: tempfile::tempdir().unwrap(), keystore, clock: TestClock::new(T0), backend: Backend::new() }
    }
    pub fn path(&self) -> PathBuf {
        self.dir.path().join("vault.db")
    }
    pub fn path_str(&self) -> String {
        self.path().to_string_lossy().into_owned()
    }
    pub fn open(&self) -> Arc<PinVault> {
        self.try_open().unwrap()
    }
    pub fn try_open(&self) -> Result<Arc<PinVault>, VaultError> {
        self.open_with(self.backend.config())
    }
    pub fn open_with(&self, config: VaultConfig) -> Result<Arc<PinVault>, VaultError> {
        PinVault::open_with_clock(self.path_str(), self.keystore.clone(), self.clock.clone(), config)
    }
    /// Opens and enrols with PIN, a 7-day grant issued now, and the sync key.
    pub fn enrolled(&self) -> (Arc<PinVault>, Arc<OfflineSession>) {
        let vault = self.open();
        let session =
            vault.enroll(PIN.into(), &self.backend.grant(self.clock.now(), 7), self.backend.sync_key.clone()).unwrap();
        (vault, session)
    }
}

/// Every row of every table of the vault file at `path`, read through a
/// plain connection of our own, tables by name and rows by their first column.
pub fn all_rows(path: &std::path::Path) -> Vec<(String, Vec<Vec<rusqlite::types::Value>>)> {
    let db = rusqlite::Connection::open(path).unwrap();
    let mut names = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").unwrap();
    let names: Vec<String> = names.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
    names
        .into_iter()
        .map(|table| {
            let mut stmt = db.prepare(&format!("SELECT * FROM {table} ORDER BY 1")).unwrap();
            let width = stmt.column_count();
            let rows = stmt
                .query_map([], |row| (0..width).map(|i| row.get(i)).collect::<Result<Vec<_>, _>>())
                .unwrap()
                .map(Result::unwrap)
                .collect();
            (table, rows)
        })
        .collect()
}

/// Wakes the thread that waits for a future.
struct Unpark(std::thread::Thread);
impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs `future` to its end on this thread (the `_async` calls need no runtime).
pub fn block_on<F: Future>(future: F) -> F::Output {
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::park();
    }
}
