//! Keys at rest (SQLite): with a KEK configured, the database file holds
//! no sync key and no issuer private key; a blob moved to another row does
//! not open (a typed error, the row untouched); plain keys from an earlier
//! release are rewrapped on first read or by `--rewrap-keys`; a KEK
//! rotation keeps every device's key readable, then the old KEK can go.
//! The store-level tests drive `SealedStore` over `SqliteStore`; the last
//! test drives the binary (enrol, upload, rotate, upload).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use crate::common;

use std::path::Path;
use std::sync::Arc;

use offline_auth_server::kek::{blob_kek_id, KekError, KekProvider, StaticKeks};
use offline_auth_server::store::sealed::SealedStore;
use offline_auth_server::store::sqlite::SqliteStore;
use offline_auth_server::store::{Enrolled, Store, StoreError};

const OLD: &str = "kek-2025:1111111111111111111111111111111111111111111111111111111111111111";
const NEW: &str = "kek-2026:2222222222222222222222222222222222222222222222222222222222222222";
const ISSUER_KEY: [u8; 32] = [0x5a; 32];

fn keks(text: &str) -> Option<Arc<dyn KekProvider>> {
    Some(Arc::new(StaticKeks::from_text(text).unwrap()))
}

fn open(db: &Path, kek: Option<Arc<dyn KekProvider>>) -> SealedStore {
    SealedStore::new(Arc::new(SqliteStore::open(db).unwrap()), kek)
}

fn block<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(future)
}

/// A distinct, recognisable 32-byte key per device.
fn key_of(n: u8) -> Vec<u8> {
    (0..32u8).map(|i| i.wrapping_mul(31).wrapping_add(n).wrapping_mul(7) ^ 0xc3).collect()
}

fn enroll(store: &SealedStore, device: &str, key: &[u8]) {
    let issue = |_last: i64| Ok(("grant".to_owned(), 1));
    assert!(matches!(block(store.enroll(device, "alice", key, None, &issue)).unwrap(), Enrolled::Issued(_)));
}

/// Every file SQLite keeps for `db` (the database, its WAL), concatenated.
fn raw_bytes(db: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for suffix in ["", "-wal", "-shm", "-journal"] {
        if let Ok(bytes) = std::fs::read(format!("{}{suffix}", db.display())) {
            all.extend(bytes);
        }
    }
    all
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn stored_sync_key(db: &Path, device: &str) -> Vec<u8> {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("SELECT sync_key FROM devices WHERE device_id = ?1", [device], |r| r.get(0)).unwrap()
}

#[test]
fn the_database_file_holds_no_sync_key_or_issuer_key_bytes_under_a_kek() {
    let dir = tempfile::tempdir().unwrap();
    let (sealed_db, plain_db) = (dir.path().join("sealed.db"), dir.path().join("plain.db"));
    for (db, kek) in [(&sealed_db, keks(OLD)), (&plain_db, None)] {
        let store = open(db, kek);
        let (_, issuer) = block(store.issuer_key(("issuer-1".into(), ISSUER_KEY.to_vec()))).unwrap();
        assert_eq!(issuer, ISSUER_KEY, "the issuer key reads back");
        for n in 0..5 {
            enroll(&store, &format!("dev-{n}"), &key_of(n));
            let state = block(store.device(&format!("dev-{n}"))).unwrap().unwrap();
            assert_eq!(state.sync_key, key_of(n), "the sync key reads back");
        }
    }
    let (sealed, plain) = (raw_bytes(&sealed_db), raw_bytes(&plain_db));
    // The control: without a KEK (as before), the keys are in the file.
    assert!(contains(&plain, &ISSUER_KEY) && (0..5).all(|n| contains(&plain, &key_of(n))));
    assert!(!contains(&sealed, &ISSUER_KEY), "issuer private key bytes in the file");
    for n in 0..5 {
        assert!(!contains(&sealed, &key_of(n)), "dev-{n}'s sync key bytes in the file");
        assert!(!contains(&sealed, &key_of(n)[..16]), "half of dev-{n}'s sync key in the file");
    }
}

#[test]
fn a_sync_key_blob_moved_to_another_device_does_not_open() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let store = open(&db, keks(OLD));
    enroll(&store, "dev-a", &key_of(1));
    enroll(&store, "dev-b", &key_of(2));
    let moved = stored_sync_key(&db, "dev-a");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute("UPDATE devices SET sync_key = ?1 WHERE device_id = 'dev-b'", [&moved]).unwrap();
    match block(store.device("dev-b")) {
        Err(StoreError::Key(KekError::DoesNotOpen)) => {}
        other => panic!("expected DoesNotOpen, got {other:?}"),
    }
    assert_eq!(stored_sync_key(&db, "dev-b"), moved, "the row is left as it was");
    assert_eq!(block(store.device("dev-a")).unwrap().unwrap().sync_key, key_of(1), "dev-a still opens");
    // A wrapped key read without any KEK is refused, not taken for a key.
    let without = open(&db, None);
    assert!(matches!(block(without.device("dev-a")), Err(StoreError::Key(KekError::NoKek))));
}

#[test]
fn plain_keys_from_an_earlier_release_are_rewrapped_on_first_read() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let before = open(&db, None);
    block(before.issuer_key(("issuer-1".into(), ISSUER_KEY.to_vec()))).unwrap();
    enroll(&before, "dev-old", &key_of(3));
    drop(before);
    assert_eq!(stored_sync_key(&db, "dev-old"), key_of(3), "as earlier releases stored it");

    let store = open(&db, keks(OLD));
    assert_eq!(block(store.device("dev-old")).unwrap().unwrap().sync_key, key_of(3));
    assert_eq!(
        block(store.issuer_key(("other".into(), vec![1; 32]))).unwrap(),
        ("issuer-1".into(), ISSUER_KEY.to_vec())
    );
    assert_eq!(blob_kek_id(&stored_sync_key(&db, "dev-old")), Some("kek-2025"), "rewrapped on first read");
    drop(store);
    assert!(!contains(&raw_bytes(&db), &ISSUER_KEY), "the old plain bytes are overwritten (secure_delete)");
    assert!(!contains(&stored_issuer_key(&db), &ISSUER_KEY), "the issuer key is rewrapped on first read");
}

fn stored_issuer_key(db: &Path) -> Vec<u8> {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("SELECT private_key FROM issuer WHERE id = 1", [], |r| r.get(0)).unwrap()
}

#[test]
fn a_kek_rotation_keeps_every_device_working_then_the_old_kek_can_go() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let plain = open(&db, None);
    enroll(&plain, "dev-plain", &key_of(9));
    drop(plain);
    let old = open(&db, keks(OLD));
    block(old.issuer_key(("issuer-1".into(), ISSUER_KEY.to_vec()))).unwrap();
    for n in 0..3 {
        enroll(&old, &format!("dev-{n}"), &key_of(n));
    }
    drop(old);

    // Step 1: both KEKs, the new one last; `--rewrap-keys` rewraps every row.
    let rotating = open(&db, keks(&format!("{OLD}\n{NEW}")));
    assert_eq!(block(rotating.rewrap_all()).unwrap(), 4, "three under the old KEK, one plain");
    assert_eq!(block(rotating.rewrap_all()).unwrap(), 0, "a second run finds nothing to do");
    block(rotating.issuer_key(("other".into(), vec![1; 32]))).unwrap();
    drop(rotating);
    for device in ["dev-0", "dev-1", "dev-2", "dev-plain"] {
        assert_eq!(blob_kek_id(&stored_sync_key(&db, device)), Some("kek-2026"), "{device}");
    }
    assert_eq!(blob_kek_id(&stored_issuer_key(&db)), Some("kek-2026"));

    // Step 2: the old KEK removed; every key still opens.
    let new = open(&db, keks(NEW));
    for n in 0..3 {
        assert_eq!(block(new.device(&format!("dev-{n}"))).unwrap().unwrap().sync_key, key_of(n));
    }
    assert_eq!(block(new.device("dev-plain")).unwrap().unwrap().sync_key, key_of(9));
    assert_eq!(block(new.issuer_key(("x".into(), vec![1; 32]))).unwrap().1, ISSUER_KEY.to_vec());
}

#[test]
fn a_device_keeps_uploading_across_a_kek_rotation_through_the_binary() {
    use common::{post, Device, Instance, Rng, USERS};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let args = [db.to_str().unwrap(), "127.0.0.1:0"];
    let mut rng = Rng::seeded();
    let upload = |addr: &str, device: &mut Device, rng: &mut Rng| {
        device.edit(5, rng);
        let batch = device.queue.next_batch(100).unwrap().unwrap();
        let answer = post(addr, &device.sync_path(), "application/octet-stream", &batch.bytes).unwrap();
        assert_eq!(answer.status, 200, "{answer:?}");
        device.acknowledge(&answer);
    };

    let server = Instance::spawn_with(&args, &[("OFFLINE_AUTH_KEK", OLD)]);
    let mut device = Device::enroll(&server.addr, "dev-rotated", USERS[0]);
    upload(&server.addr, &mut device, &mut rng);
    let credentials = serde_json::json!({"user": USERS[1].0, "password": USERS[1].1, "device_id": "dev-other"});
    let answer = post(&server.addr, "/enroll", "application/json", credentials.to_string().as_bytes()).unwrap();
    let other_key = hex::decode(answer.body["sync_key"].as_str().unwrap()).unwrap();
    drop(server);
    assert!(!contains(&raw_bytes(&db), &other_key), "a sync key the server handed out is in the file");

    let both = format!("{OLD},{NEW}");
    let server = Instance::spawn_with(&["--rewrap-keys", args[0], args[1]], &[("OFFLINE_AUTH_KEK", &both)]);
    upload(&server.addr, &mut device, &mut rng);
    drop(server);
    let server = Instance::spawn_with(&args, &[("OFFLINE_AUTH_KEK", NEW)]);
    upload(&server.addr, &mut device, &mut rng);
}

/// Runs `sql` (no parameters, no transaction) against `url`.
#[cfg(feature = "postgres")]
fn pg_execute(url: &str, sql: &str) {
    block(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        client.batch_execute(sql).await.unwrap();
    });
}

/// PostgreSQL (OFFLINE_AUTH_PG_URL): the same raw check on the tables'
/// contents through SQL, and a moved blob, in a database of its own (the
/// other tests share one whose issuer key they expect in plain bytes).
#[cfg(feature = "postgres")]
#[test]
fn postgres_tables_hold_no_sync_key_or_issuer_key_bytes_under_a_kek() {
    use offline_auth_server::store::postgres::PgStore;
    let Some(url) = common::pg_url("postgres_tables_hold_no_sync_key_or_issuer_key_bytes_under_a_kek") else {
        return;
    };
    let name = format!("kek_{}", common::run_id().replace('-', "_"));
    pg_execute(&url, &format!("CREATE DATABASE {name}"));
    let own = format!("{}/{name}", url.rsplit_once('/').unwrap().0);
    let run = || {
        // One runtime for the pool's connections and every call.
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let pg: Arc<PgStore> = Arc::new(runtime.block_on(PgStore::connect(&own)).unwrap());
        let store = SealedStore::new(pg, keks(OLD));
        let issue = |_last: i64| Ok(("grant".to_owned(), 1));
        runtime.block_on(async {
            let (_, issuer) = store.issuer_key(("issuer-1".into(), ISSUER_KEY.to_vec())).await.unwrap();
            assert_eq!(issuer, ISSUER_KEY);
            for n in 0..5 {
                let device = format!("dev-{n}");
                store.enroll(&device, "alice", &key_of(n), None, &issue).await.unwrap();
                assert_eq!(store.device(&device).await.unwrap().unwrap().sync_key, key_of(n));
            }
        });
        let rows = common::pg_query(&own, "SELECT sync_key FROM devices UNION ALL SELECT private_key FROM issuer", &[]);
        let raw: Vec<u8> = rows.iter().flat_map(|row| row.get::<_, Vec<u8>>(0)).collect();
        assert_eq!(rows.len(), 6);
        assert!(!contains(&raw, &ISSUER_KEY), "issuer private key bytes in the issuer table");
        for n in 0..5 {
            assert!(!contains(&raw, &key_of(n)), "dev-{n}'s sync key bytes in the devices table");
        }
        pg_execute(&own, "UPDATE devices SET sync_key = (SELECT sync_key FROM devices WHERE device_id = 'dev-0') WHERE device_id = 'dev-1'");
        let moved = runtime.block_on(store.device("dev-1"));
        assert!(matches!(moved, Err(StoreError::Key(KekError::DoesNotOpen))), "{moved:?}");
    };
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(run));
    pg_execute(&url, &format!("DROP DATABASE {name} WITH (FORCE)"));
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// The binary with no `OFFLINE_AUTH_*` variable inherited from the test's environment.
fn server_command() -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_offline-auth-server"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("OFFLINE_AUTH_") {
            command.env_remove(name);
        }
    }
    command
}

#[test]
fn a_server_without_a_kek_warns_at_start_and_a_bad_kek_is_refused_before_any_file_is_made() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let mut child = server_command()
        .args([db.to_str().unwrap(), "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert!(line.starts_with("listening on "), "{line:?}");
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no KEK configured"), "{stderr}");

    let other = dir.path().join("refused.db");
    let secret = "kek-1:00112233445566778899aabbccddeeff0011223344556677";
    let refused = server_command()
        .args([other.to_str().unwrap(), "127.0.0.1:0"])
        .env("OFFLINE_AUTH_KEK", secret)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("32 bytes") && !stderr.contains("00112233"), "{stderr}");
    assert!(!other.exists(), "nothing is created for a refused KEK");

    let help = server_command().arg("--help").env("OFFLINE_AUTH_KEK", NEW).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("OFFLINE_AUTH_KEK") && !help.contains("2222222222"), "{help}");
}
