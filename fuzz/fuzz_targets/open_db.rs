//! Fuzzes opening a database file whose bytes are fuzzed, and using it.
//!
//! A template vault is made once: enrolled, biometrics on, records written,
//! a batch acknowledged and more edits queued. Each input either replaces the
//! file (first byte 0) or patches the template: XOR bytes at fuzzed offsets,
//! optionally truncating. The target then opens it with `PinVault::open`,
//! reads `status`, and unlocks through biometrics (no PBKDF2 per input) to
//! list, read and batch. Nothing may panic, and any value read must be one
//! the template holds for that key: corruption may cost data, never change it.
#![no_main]

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use offline_auth::{KeyProtection, KeystoreError, PinVault, PlatformKeystore, SoftwareKeystore, VaultConfig};
use offline_auth_backend::{GrantIssuer};

/// The template's keystore, which never forgets a key (a fuzzed file must
/// not be able to delete the keys the next input needs).
struct KeepingKeystore(Arc<SoftwareKeystore>);

impl PlatformKeystore for KeepingKeystore {
    fn wrap(&self, alias: String, protection: KeyProtection, plaintext: Vec<u8>) -> Result<Vec<u8>, KeystoreError> {
        self.0.wrap(alias, protection, plaintext)
    }
    fn unwrap(&self, alias: String, protection: KeyProtection, wrapped: Vec<u8>) -> Result<Vec<u8>, KeystoreError> {
        self.0.unwrap(alias, protection, wrapped)
    }
    fn delete_key(&self, _alias: String) -> Result<(), KeystoreError> {
        Ok(())
    }
}

struct World {
    dir: tempfile::TempDir,
    keystore: Arc<KeepingKeystore>,
    config: VaultConfig,
    template: Vec<u8>,
    values: BTreeMap<String, Vec<u8>>,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let issuer = GrantIssuer::new("k1", vec![7; 32]).unwrap();
        let config = VaultConfig::new("device-1", vec![issuer.issuer_key()]);
        let keystore = Arc::new(KeepingKeystore(SoftwareKeystore::new()));
        let path = dir.path().join("template.db").to_string_lossy().into_owned();
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
        let grant = issuer.issue("worker-7", "device-1", &["visits".to_owned()], now, now + 30 * 86_400);
        let mut values = BTreeMap::new();
        {
            let vault = PinVault::open(path.clone(), keystore.clone(), config.clone()).unwrap();
            let session = vault.enroll("482915".into(), &grant.unwrap(), vec![0x5a; 32]).unwrap();
            session.enable_biometrics().unwrap();
            for i in 0..6u8 {
                let (key, value) = (format!("station-{i}"), vec![i; 40 + usize::from(i)]);
                session.put("visits", &key, value.clone()).unwrap();
                values.insert(key, value);
            }
            let queue = session.clone().sync_queue();
            let batch = queue.next_batch(3).unwrap().unwrap();
            let verifier = offline_auth_backend::SyncVerifier::new(vec![issuer.issuer_key()]).unwrap();
            let verified = verifier.verify(&batch.bytes, &[0x5a; 32], &offline_auth_backend::SyncCursor::initial()).unwrap();
            queue.acknowledge(verified.receipt).unwrap();
            session.delete("visits", "station-5").unwrap();
            values.remove("station-5");
            session.lock();
        }
        // The last connection closed: the WAL is checkpointed into the file.
        let template = std::fs::read(&path).unwrap();
        World { dir, keystore, config, template, values }
    })
}

fuzz_target!(|data: &[u8]| {
    let world = world();
    let Some((&mode, rest)) = data.split_first() else { return };
    let bytes = if mode == 0 {
        rest.to_vec()
    } else {
        let mut bytes = world.template.clone();
        for patch in rest.chunks_exact(4) {
            let offset = u32::from_be_bytes([0, patch[0], patch[1], patch[2]]) as usize % bytes.len();
            bytes[offset] ^= patch[3];
        }
        if mode & 0x80 != 0 {
            let keep = bytes.len() * usize::from(mode & 0x7f) / 128;
            bytes.truncate(keep);
        }
        bytes
    };
    let path = world.dir.path().join("fuzzed.db");
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    std::fs::write(&path, &bytes).unwrap();
    let Ok(vault) = PinVault::open(path.to_string_lossy().into_owned(), world.keystore.clone(), world.config.clone())
    else {
        return;
    };
    let _ = vault.is_enrolled();
    let _ = vault.status();
    let Ok(session) = vault.unlock_with_biometrics() else { return };
    if let Ok(keys) = session.keys("visits") {
        for key in keys {
            if let Ok(Some(value)) = session.get("visits", &key) {
                assert_eq!(world.values.get(&key), Some(&value), "{key} read back altered");
            }
        }
    }
    for key in world.values.keys() {
        if let Ok(Some(value)) = session.get("visits", key) {
            assert_eq!(world.values.get(key), Some(&value), "{key} read back altered");
        }
    }
    let queue = session.clone().sync_queue();
    let _ = queue.pending_count();
    let _ = queue.next_batch(100);
    session.lock();
});
