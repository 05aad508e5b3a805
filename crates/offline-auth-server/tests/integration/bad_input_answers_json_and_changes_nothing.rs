//! Every failure path of the server answers JSON with its documented
//! status, applies nothing and leaves the device's cursor where it was:
//! bad JSON (400), wrong Content-Type (415), oversized bodies (413), an
//! unknown device (404), a batch uploaded for another user's device (403),
//! a batch from before the device re-enrolled (422); a replayed batch is
//! 200 with nothing applied. Against the SQLite server always, and against
//! PostgreSQL when OFFLINE_AUTH_PG_URL is set (the database being down is
//! database_restart_under_load_fails_cleanly.rs).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use crate::common;

use common::{post, run_id, server_records, Device, Instance, Rng, USERS};
use serde_json::json;

enum Db {
    Sqlite(std::path::PathBuf),
    #[cfg(feature = "postgres")]
    Postgres(String),
}

impl Db {
    fn start(&self) -> Instance {
        match self {
            Db::Sqlite(path) => Instance::sqlite(path),
            #[cfg(feature = "postgres")]
            Db::Postgres(url) => Instance::postgres(url),
        }
    }

    /// The device's stored cursor seq.
    fn cursor(&self, device: &str) -> i64 {
        match self {
            Db::Sqlite(path) => rusqlite::Connection::open(path)
                .unwrap()
                .query_row("SELECT cursor_seq FROM devices WHERE device_id = ?1", [device], |r| r.get(0))
                .unwrap(),
            #[cfg(feature = "postgres")]
            Db::Postgres(url) => {
                common::pg_query(url, "SELECT cursor_seq FROM devices WHERE device_id = $1", &[&device])[0].get(0)
            }
        }
    }
}

fn every_failure_answers_json_and_changes_nothing(db: &Db) {
    let server = db.start();
    let addr = server.addr.as_str();
    let run = run_id();
    let mut rng = Rng::seeded();
    let mut device = Device::enroll(addr, &format!("bad-{run}-a"), USERS[0]);
    let other = Device::enroll(addr, &format!("bad-{run}-b"), USERS[1]);
    device.edit(5, &mut rng);
    let batch = device.queue.next_batch(100).unwrap().unwrap().bytes;
    let (sync, other_sync) = (device.sync_path(), other.sync_path());
    let credentials = json!({"user": USERS[0].0, "password": USERS[0].1, "device_id": device.id}).to_string();
    let oversized_batch = vec![0u8; offline_auth::MAX_BATCH_BYTES + 1];

    let cases: Vec<(&str, &str, &str, Vec<u8>, u16)> = vec![
        ("bad JSON", "/enroll", "application/json", b"{not json".to_vec(), 400),
        ("wrong Content-Type (enroll)", "/enroll", "text/plain", credentials.clone().into_bytes(), 415),
        ("oversized JSON", "/enroll", "application/json", vec![b' '; 64 * 1024], 413),
        ("wrong Content-Type (sync)", &sync, "application/json", batch.clone(), 415),
        ("oversized batch", &sync, "application/octet-stream", oversized_batch, 413),
        ("unknown device", "/sync?device_id=nobody", "application/octet-stream", batch.clone(), 404),
        ("another user's device", &other_sync, "application/octet-stream", batch.clone(), 403),
        ("no device id", "/sync", "application/octet-stream", batch.clone(), 400),
    ];
    for (what, path, content_type, body, status) in &cases {
        let answer = post(addr, path, content_type, body).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(answer.status, *status, "{what}: {answer:?}");
        assert!(answer.body["error"].is_string(), "{what}: not a JSON error: {answer:?}");
        assert_eq!((db.cursor(&device.id), db.cursor(&other.id)), (0, 0), "{what} moved a cursor");
        assert!(server_records(addr, USERS[0], &format!("{}/", device.id)).is_empty(), "{what} applied");
        assert!(server_records(addr, USERS[1], &format!("{}/", other.id)).is_empty(), "{what} applied");
    }

    // The real upload applies all five edits: nothing above had applied any.
    let answer = post(addr, &sync, "application/octet-stream", &batch).unwrap();
    assert_eq!((answer.status, answer.body["applied"].as_u64()), (200, Some(5)), "{answer:?}");
    device.acknowledge(&answer);
    // Replayed: 200, nothing applied, the cursor stays.
    let answer = post(addr, &sync, "application/octet-stream", &batch).unwrap();
    assert_eq!(
        (answer.status, answer.body["applied"].as_u64(), answer.body["duplicates"].as_u64()),
        (200, Some(0), Some(5))
    );
    assert_eq!(db.cursor(&device.id), 5);
    assert_eq!(server_records(addr, USERS[0], &format!("{}/", device.id)), device.records());

    // A batch for the cursor from before the device re-enrolled (new key,
    // new chain from seq 1): 422, a gap.
    device.edit(2, &mut rng);
    let stale = device.queue.next_batch(100).unwrap().unwrap().bytes;
    assert_eq!(post(addr, "/enroll", "application/json", credentials.as_bytes()).unwrap().status, 200);
    let before = server_records(addr, USERS[0], &format!("{}/", device.id));
    let answer = post(addr, &sync, "application/octet-stream", &stale).unwrap();
    assert_eq!(answer.status, 422, "{answer:?}");
    assert!(answer.body["error"].as_str().unwrap().contains("SeqGap"), "{answer:?}");
    assert_eq!(db.cursor(&device.id), 0);
    assert_eq!(server_records(addr, USERS[0], &format!("{}/", device.id)), before);
}

#[test]
fn sqlite_failures_answer_json_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    every_failure_answers_json_and_changes_nothing(&Db::Sqlite(dir.path().join("server.db")));
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_failures_answer_json_and_change_nothing() {
    let Some(url) = common::pg_url("postgres_failures_answer_json_and_change_nothing") else { return };
    every_failure_answers_json_and_changes_nothing(&Db::Postgres(url));
}
