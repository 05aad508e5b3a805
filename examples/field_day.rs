//! A field worker's day, end to end: enrol online, go offline, mistype the
//! PIN, work, try to cheat the clock, come back online and sync.
//!
//! Run it with `cargo run --example field_day`. Everything runs in this
//! process: the "backend" is a `GrantIssuer` and a `SyncVerifier`, and the
//! device keystore is the in-memory `SoftwareKeystore` (not hardware-backed;
//! on a phone the Android or Apple adapter takes its place).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use offline_auth::{
    generate_sync_key, Clock, ClockError, GrantIssuer, PinVault, SoftwareKeystore, SyncCursor, SyncVerifier,
    SystemClock, VaultConfig, VaultError,
};

/// The phone's clock: the system clock, plus whatever the user sets it to.
struct PhoneClock {
    system: Arc<SystemClock>,
    user_offset_secs: AtomicI64,
}

impl Clock for PhoneClock {
    fn now_unix_secs(&self) -> Result<i64, ClockError> {
        Ok(self.system.now_unix_secs()? + self.user_offset_secs.load(Ordering::SeqCst))
    }
    fn monotonic_millis(&self) -> Result<u64, ClockError> {
        self.system.monotonic_millis()
    }
}

const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // ── The backend, once ────────────────────────────────────────────────
    let issuer = GrantIssuer::generate("issuer-2026-11".into())?;
    let verifier = SyncVerifier::new(vec![issuer.issuer_key()])?;
    let mut server_cursor = SyncCursor::initial();

    // ── Morning, at the depot, online ────────────────────────────────────
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("vault.db").to_string_lossy().into_owned();
    let keystore = SoftwareKeystore::new();
    let clock = Arc::new(PhoneClock { system: SystemClock::new(), user_offset_secs: AtomicI64::new(0) });
    let config = VaultConfig::new("tablet-0042", vec![issuer.issuer_key()]);
    let vault = PinVault::open_with_clock(path, keystore.clone(), clock.clone(), config)?;

    println!("1. Amira signs in online at the depot.");
    let now = clock.now_unix_secs()?;
    let scopes = vec!["inspections".to_string(), "notes".to_string()];
    let grant = issuer.issue("amira".into(), "tablet-0042".into(), scopes.clone(), now, now + 3 * DAY)?;
    let sync_key = generate_sync_key()?;
    match vault.enroll("1234".into(), grant.clone(), sync_key.clone()) {
        Err(VaultError::WeakPin { reason }) => println!("   PIN 1234 refused: {reason}."),
        other => return Err(format!("expected a weak-PIN refusal, got {other:?}").into()),
    }
    let session = vault.enroll("482915".into(), grant, sync_key.clone())?;
    println!(
        "   Enrolled with a 6-digit PIN; offline access until {} (3 days), on {:?}.",
        session.expires_at()?,
        session.scopes()?
    );
    session.lock();

    // ── Out in the field, no network ─────────────────────────────────────
    println!("2. Offline at pumping station 4. The PIN is mistyped twice:");
    for pin in ["482951", "428915"] {
        match vault.unlock(pin.into()) {
            Err(VaultError::WrongPin { attempts_remaining }) => {
                println!("   wrong PIN, {attempts_remaining} attempts left before the vault wipes itself")
            }
            other => return Err(format!("expected WrongPin, got {other:?}").into()),
        }
    }
    let session = vault.unlock("482915".into())?;
    println!("   Third try is right: unlocked (failed attempts reset to {}).", vault.status()?.failed_attempts);

    println!("3. Inspections are recorded, each one durable and queued for sync:");
    for (key, value) in [("station-4", "pressure 6.1 bar, seal ok"), ("station-5", "valve 2 leaking")] {
        let seq = session.put("inspections".into(), key.into(), value.as_bytes().to_vec())?;
        println!("   put inspections/{key} → queue seq {seq}");
    }
    let seq = session.put("notes".into(), "todo".into(), b"order valve kit".to_vec())?;
    println!("   put notes/todo → queue seq {seq}");
    let seq = session.delete("notes".into(), "todo".into())?;
    println!("   delete notes/todo (kit found in the van) → queue seq {seq}");
    match session.put("payroll".into(), "amira".into(), b"+overtime".to_vec()) {
        Err(VaultError::InvalidInput { reason }) => println!("   payroll edit refused: {reason}"),
        other => return Err(format!("expected a scope refusal, got {other:?}").into()),
    }

    println!("4. Someone sets the tablet clock back two days to stretch the offline window.");
    clock.user_offset_secs.store(-2 * DAY, Ordering::SeqCst);
    match session.get("inspections".into(), "station-4".into()) {
        Err(VaultError::ClockRollback) => println!("   Caught: ClockRollback. Offline access is locked until renewal."),
        other => return Err(format!("expected ClockRollback, got {other:?}").into()),
    }
    session.lock();
    match vault.unlock("482915".into()) {
        Err(VaultError::ClockRollback) => println!("   A fresh unlock is refused too: the lock is stored."),
        other => return Err(format!("expected ClockRollback, got {other:?}").into()),
    }
    clock.user_offset_secs.store(0, Ordering::SeqCst);

    // ── Back at the depot, online ────────────────────────────────────────
    println!("5. Back online: the backend renews the grant and the device syncs.");
    let now = clock.now_unix_secs()?;
    let renewal = issuer.issue("amira".into(), "tablet-0042".into(), scopes, now, now + 3 * DAY)?;
    let session = vault.unlock_with_grant("482915".into(), renewal)?;
    let queue = session.clone().sync_queue();
    println!("   {} edits waiting.", queue.pending_count()?);
    while let Some(batch) = queue.next_batch(100)? {
        let verified = verifier.verify(batch.bytes.clone(), sync_key.clone(), server_cursor.clone())?;
        println!(
            "   SyncVerifier accepted seq {}..={} from {} on {}:",
            batch.first_seq, batch.last_seq, verified.user_id, verified.device_id
        );
        for op in &verified.operations {
            let what = match &op.value {
                Some(value) => format!("put {:?}", String::from_utf8_lossy(value)),
                None => "delete".into(),
            };
            println!("     #{} {}/{}: {what}", op.seq, op.collection, op.key);
        }
        server_cursor = verified.cursor;
        queue.acknowledge(batch.last_seq)?;
    }
    println!("   Acknowledged; {} edits waiting.", queue.pending_count()?);

    let replay = queue.next_batch(100)?;
    println!("6. Nothing left to send ({replay:?}); the server cursor is at seq {}.", server_cursor.last_seq);
    session.lock();
    println!("   Session locked: the vault key is gone from memory until the next unlock.");
    Ok(())
}
