//! Load-independent figures for the device's storage paths (issue 28):
//! instruction counts per record under callgrind, and WAL frames per durable
//! commit, each beside its bare baseline measured the same way.
//!
//! Instructions: every mode runs its set-up (enrolment and all) outside the
//! function `measured`, which callgrind alone counts:
//!
//! ```text
//! cargo bench -p offline-auth --features bench-internals --bench storage_counts --no-run
//! valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*measured*' \
//!     --callgrind-out-file=/dev/null target/release/deps/storage_counts-* get 2000
//! ```
//!
//! and the instructions per record are the total over `2000` (or over
//! `2000 × 100` for the `get_many` modes). Modes: `get` (`OfflineSession::get`
//! of a 256-B record among 100), `bare_get` (a prepared `SELECT` of the same
//! sealed body by its 32-byte row key from a bare rusqlite connection, then
//! the session's AES-256-GCM open of it), `get_many` (`get_many` of the 100)
//! and `bare_get_many` (the same 100 SELECTs + opens in one read transaction).
//!
//! Native (`cpu N`): thread CPU time per record of `get` and `get_many`
//! beside their bare baselines, in N interleaved rounds (medians), for the
//! SHA-NI this CPU has and valgrind's does not; noisy, unlike the counts.
//!
//! WAL (`wal`, run natively): frames and bytes the log grows by per durable
//! `put` of a 256-B value, and per durable commit of one 256-B row in a bare
//! WAL, `synchronous=FULL` table; both deterministic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic, missing_docs)]

mod common;

use std::hint::black_box;
use std::path::Path;

use offline_auth::bench_internals::RecordSealer;

/// Records in the collection the reads pick from.
const RECORDS: u64 = 100;

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with("--"));
    let mode = args.next().unwrap_or_else(|| "wal".into());
    let n: u64 = args.next().map_or(200, |n| n.parse().expect("a count"));
    let dir = common::scratch_dir();
    match mode.as_str() {
        "get" | "get_many" => {
            let fixture = enrol(&dir.path().join("vault.db"));
            let keys: Vec<String> = (0..RECORDS).map(common::key).collect();
            for (i, key) in keys.iter().enumerate() {
                fixture.session.put(common::COLLECTION, key.as_str(), common::value(256, i as u64)).unwrap();
            }
            // The first read builds the record index (once per process).
            fixture.session.get(common::COLLECTION, keys[0].as_str()).unwrap();
            measured(&mode, n, &|| {
                if mode == "get" {
                    black_box(fixture.session.get(common::COLLECTION, keys[7].as_str()).unwrap());
                } else {
                    black_box(fixture.session.get_many(common::COLLECTION, &keys).unwrap());
                }
            });
        }
        "bare_get" | "bare_get_many" => {
            let (conn, sealer, locations) = bare_records(&dir.path().join("bare.db"));
            measured(&mode, n, &|| {
                let mut select = conn.prepare_cached("SELECT body FROM records WHERE location = ?1").unwrap();
                let mut read = |location: &[u8; 32]| {
                    let body: Vec<u8> = select.query_row([location], |r| r.get(0)).unwrap();
                    black_box(sealer.open(&body).unwrap());
                };
                if mode == "bare_get" {
                    read(&locations[7]);
                } else {
                    conn.execute_batch("BEGIN").unwrap();
                    locations.iter().for_each(&mut read);
                    conn.execute_batch("COMMIT").unwrap();
                }
            });
        }
        "open_16k" | "open_16k_copied" => {
            // Record open through the bench wrapper, and as the wrapper did
            // before issue 28 (a second copy, then the plaintext wiped).
            let sealer = RecordSealer::new().unwrap();
            let sealed = sealer.seal(&common::value(16 * 1024, 1)).unwrap();
            measured(&mode, n, &|| {
                let plaintext = sealer.open(black_box(&sealed)).unwrap();
                if mode == "open_16k_copied" {
                    black_box(zeroize::Zeroizing::new(plaintext).to_vec());
                } else {
                    black_box(plaintext);
                }
            });
        }
        "cpu" => cpu(dir.path(), n),
        "wal" => wal(dir.path(), n),
        "wal_pages" => wal_pages(dir.path(), Path::new(&args.next().expect("a directory to copy the files to"))),
        other => panic!("unknown mode {other}"),
    }
}

/// A vault enrolled as `common::Fixture` does, on a clock of the standard
/// library's (rustix's auxiliary-vector reader, behind `SystemClock`, does
/// not run under valgrind).
fn enrol(path: &Path) -> common::Fixture {
    use offline_auth::{Clock, ClockError, PinVault, PlatformKeystore, SoftwareKeystore, VaultConfig};
    use std::sync::Arc;
    use std::time::{Instant, SystemTime, UNIX_EPOCH};
    struct StdClock(Instant);
    impl Clock for StdClock {
        fn now_unix_secs(&self) -> Result<i64, ClockError> {
            Ok(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64)
        }
        fn boot_id(&self) -> Result<String, ClockError> {
            Ok("storage-counts".into())
        }
        fn elapsed_since_boot_millis(&self) -> Result<u64, ClockError> {
            Ok(self.0.elapsed().as_millis() as u64)
        }
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    let issuer = offline_auth_backend::GrantIssuer::generate("issuer-1").unwrap();
    let grant = issuer.issue("amira", "tablet-42", &[common::COLLECTION.to_owned()], now, now + 86_400).unwrap();
    let sync_key = offline_auth_backend::generate_sync_key().unwrap();
    let config = VaultConfig::new("tablet-42", vec![issuer.issuer_key()]);
    let keystore: Arc<dyn PlatformKeystore> = SoftwareKeystore::new();
    let clock: Arc<dyn Clock> = Arc::new(StdClock(Instant::now()));
    let vault = PinVault::open_with_clock(path.to_string_lossy().into_owned(), keystore.clone(), clock, config.clone())
        .unwrap();
    let session = vault.enroll(common::PIN.into(), &grant, sync_key.clone()).unwrap();
    common::Fixture { issuer, keystore, config, sync_key, vault, session }
}

/// Runs `once` `n` times: the only code callgrind counts (`--toggle-collect`).
#[inline(never)]
fn measured(mode: &str, n: u64, once: &dyn Fn()) {
    for _ in 0..n {
        once();
    }
    eprintln!("{mode}: {n} calls");
}

/// A bare table of `RECORDS` sealed 256-B bodies keyed by 32-byte row keys,
/// as the vault's `records` table stores them.
fn bare_records(path: &Path) -> (rusqlite::Connection, RecordSealer, Vec<[u8; 32]>) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "synchronous", "FULL").unwrap();
    conn.execute_batch(
        "CREATE TABLE records (location BLOB PRIMARY KEY NOT NULL, collection BLOB NOT NULL, body BLOB NOT NULL)
             STRICT, WITHOUT ROWID;
         CREATE INDEX records_by_collection ON records (collection);",
    )
    .unwrap();
    let sealer = RecordSealer::new().unwrap();
    let locations: Vec<[u8; 32]> = (0..RECORDS).map(sha2_like).collect();
    for (i, location) in locations.iter().enumerate() {
        conn.execute(
            "INSERT INTO records (location, collection, body) VALUES (?1, ?2, ?3)",
            rusqlite::params![location, [9u8; 32], sealer.seal(&common::value(286, i as u64)).unwrap()],
        )
        .unwrap();
    }
    (conn, sealer, locations)
}

/// 32 well-spread bytes from `i` (row keys are HMAC outputs).
fn sha2_like(i: u64) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    for chunk in out.chunks_mut(8) {
        x ^= x >> 29;
        x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        chunk.copy_from_slice(&x.to_le_bytes());
    }
    out
}

/// Frames and bytes the WAL grows by per durable commit: `n` `put`s of a
/// 256-B value (to keys already stored, as an edit does, and to new keys),
/// and `n` one-row commits in a bare table, after a truncating checkpoint.
fn wal(dir: &Path, n: u64) {
    let path = dir.join("vault.db");
    let fixture = common::Fixture::enrol(&path);
    let value = common::value(256, 3);
    for i in 0..RECORDS {
        fixture.session.put(common::COLLECTION, common::key(i).as_str(), value.clone()).unwrap();
    }
    let per_commit = |label: &str, db: &Path, commit: &mut dyn FnMut(u64)| {
        let side = rusqlite::Connection::open(db).unwrap();
        let page = side.pragma_query_value(None, "page_size", |r| r.get::<_, i64>(0)).unwrap() as u64;
        side.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).unwrap();
        let wal = db.with_extension("db-wal");
        let before = std::fs::metadata(&wal).map_or(0, |m| m.len());
        for i in 0..n {
            commit(i);
        }
        // The log's 32-byte header, then frames of a 24-byte header and a page.
        let grown = std::fs::metadata(&wal).unwrap().len() - before.max(32);
        let frames = grown / (page + 24);
        println!(
            "{label}: {:.2} WAL frames, {:.0} bytes per commit ({n} commits, page {page} B)",
            frames as f64 / n as f64,
            grown as f64 / n as f64
        );
    };
    per_commit("put, existing key", &path, &mut |i| {
        fixture.session.put(common::COLLECTION, common::key(i % RECORDS).as_str(), value.clone()).unwrap();
    });
    per_commit("put, new key", &path, &mut |i| {
        fixture.session.put(common::COLLECTION, common::key(RECORDS + i).as_str(), value.clone()).unwrap();
    });
    let bare = dir.join("bare.db");
    let conn = rusqlite::Connection::open(&bare).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "synchronous", "FULL").unwrap();
    conn.execute_batch("CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB NOT NULL)").unwrap();
    per_commit("bare one-row commit, a row replaced", &bare, &mut |i| {
        conn.execute("INSERT OR REPLACE INTO t (k, v) VALUES (?1, ?2)", rusqlite::params![i as i64 % 10, value])
            .unwrap();
    });
    // As durable.rs's `rusqlite_wal_full` does: new rows at increasing keys.
    per_commit("bare one-row commit, a row appended", &bare, &mut |i| {
        conn.execute("INSERT OR REPLACE INTO t (k, v) VALUES (?1, ?2)", rusqlite::params![100 + i as i64, value])
            .unwrap();
    });
}

/// Copies the vault file and its WAL after one `put` that follows a
/// truncating checkpoint (`n` puts before it) into `out`, to list the pages
/// the put wrote (`dbstat` maps page numbers to tables and indexes).
fn wal_pages(dir: &Path, out: &Path) {
    let path = dir.join("vault.db");
    let fixture = common::Fixture::enrol(&path);
    let value = common::value(256, 3);
    for i in 0..RECORDS {
        fixture.session.put(common::COLLECTION, common::key(i).as_str(), value.clone()).unwrap();
    }
    for (label, key) in [("existing", common::key(7)), ("new", common::key(RECORDS + 1))] {
        let side = rusqlite::Connection::open(&path).unwrap();
        side.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).unwrap();
        drop(side);
        std::fs::copy(&path, out.join(format!("{label}.db"))).unwrap();
        fixture.session.put(common::COLLECTION, key.as_str(), value.clone()).unwrap();
        std::fs::copy(path.with_extension("db-wal"), out.join(format!("{label}.db-wal-copy"))).unwrap();
    }
}

/// Thread CPU time of `f`, in nanoseconds.
fn cpu_ns(f: &mut dyn FnMut()) -> u64 {
    use rustix::time::{clock_gettime, ClockId};
    let start = clock_gettime(ClockId::ThreadCPUTime);
    f();
    let end = clock_gettime(ClockId::ThreadCPUTime);
    ((end.tv_sec - start.tv_sec) * 1_000_000_000 + (end.tv_nsec - start.tv_nsec)) as u64
}

/// `rounds` interleaved rounds of: 100 `get`s, 100 bare reads, one
/// `get_many` of 100, the bare 100 in one transaction; medians per record.
fn cpu(dir: &Path, rounds: u64) {
    let fixture = enrol(&dir.join("vault.db"));
    let keys: Vec<String> = (0..RECORDS).map(common::key).collect();
    for (i, key) in keys.iter().enumerate() {
        fixture.session.put(common::COLLECTION, key.as_str(), common::value(256, i as u64)).unwrap();
    }
    let (conn, sealer, locations) = bare_records(&dir.join("bare.db"));
    let mut samples = [vec![], vec![], vec![], vec![]];
    for _ in 0..rounds {
        samples[0].push(cpu_ns(&mut || {
            for key in &keys {
                black_box(fixture.session.get(common::COLLECTION, key.as_str()).unwrap());
            }
        }));
        samples[1].push(cpu_ns(&mut || {
            for location in &locations {
                let mut select = conn.prepare_cached("SELECT body FROM records WHERE location = ?1").unwrap();
                let body: Vec<u8> = select.query_row([location], |r| r.get(0)).unwrap();
                black_box(sealer.open(&body).unwrap());
            }
        }));
        samples[2].push(cpu_ns(&mut || {
            black_box(fixture.session.get_many(common::COLLECTION, &keys).unwrap());
        }));
        samples[3].push(cpu_ns(&mut || {
            let mut select = conn.prepare_cached("SELECT body FROM records WHERE location = ?1").unwrap();
            conn.execute_batch("BEGIN").unwrap();
            for location in &locations {
                let body: Vec<u8> = select.query_row([location], |r| r.get(0)).unwrap();
                black_box(sealer.open(&body).unwrap());
            }
            conn.execute_batch("COMMIT").unwrap();
        }));
    }
    let median = |v: &mut Vec<u64>| {
        v.sort_unstable();
        v[v.len() / 2] as f64 / RECORDS as f64
    };
    let [get, bare_get, many, bare_many] = samples.each_mut().map(median);
    println!("get: {get:.0} ns CPU per record, bare SELECT + open {bare_get:.0} ns: {:.2}x", get / bare_get);
    println!(
        "get_many(100): {many:.0} ns CPU per record, bare (one transaction) {bare_many:.0} ns: {:.2}x",
        many / bare_many
    );
}
