//! A field worker's day, end to end: enrol online, go offline, mistype the
//! PIN, work, try to cheat the clock, come back online and sync; then a
//! forgotten PIN the next morning, and the unsynced edits salvaged anyway;
//! weeks later, a tablet left on a bus is revoked and wiped at its next
//! contact with the server.
//!
//! Run it with `cargo run --example field_day` from the repository root
//! (package `offline-auth-examples`). "Online" means talking HTTP
//! to the reference sync server (`crates/offline-auth-server`), started here on a
//! loopback port and stopped while the worker is offline. The device
//! keystore is the in-memory `SoftwareKeystore` (not hardware-backed; on a
//! phone the Android or Apple adapter takes its place).

// Indexing a serde_json `Value` by name yields `Null` when absent: it cannot panic.
#![allow(clippy::indexing_slicing)]

use offline_auth_server as server;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use offline_auth::{
    issuer_keys_from_jwks, Clock, ClockError, PinVault, SoftwareKeystore, SystemClock, VaultConfig, VaultError,
};
use serde_json::{json, Value};
use server::{Admin, AppState, Limits, LocalServer, RevocationPolicy};

/// The phone's clock: the system clock, plus whatever the user sets it to.
struct PhoneClock {
    system: Arc<SystemClock>,
    user_offset_secs: AtomicI64,
}

impl Clock for PhoneClock {
    fn now_unix_secs(&self) -> Result<i64, ClockError> {
        Ok(self.system.now_unix_secs()? + self.user_offset_secs.load(Ordering::SeqCst))
    }
    fn boot_id(&self) -> Result<String, ClockError> {
        self.system.boot_id()
    }
    fn elapsed_since_boot_millis(&self) -> Result<u64, ClockError> {
        self.system.elapsed_since_boot_millis()
    }
}

const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;

const DEVICE: &str = "tablet-0042";

/// The operator's admin token (in the server's secret store in production).
const ADMIN_TOKEN: &str = "depot-admin-token-0123456789";

fn credentials() -> Vec<u8> {
    credentials_acknowledging(&[])
}

/// The credentials of a renewal, with the remote directives the device applied.
fn credentials_acknowledging(applied: &[String]) -> Vec<u8> {
    json!({"user": "amira", "password": "correct horse battery", "device_id": DEVICE, "applied_directives": applied})
        .to_string()
        .into_bytes()
}

/// The reference server on a loopback port: escrow keys and the admin endpoint on.
fn start(db: &std::path::Path, escrow_line: &str) -> Result<LocalServer, Box<dyn std::error::Error>> {
    let admin = Admin::new(Some(ADMIN_TOKEN.into()), RevocationPolicy::default())?;
    let state = AppState::open(db)?.with_admin(admin);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
    state.set_escrow_keys(offline_auth_backend::StaticEscrowKeys::from_text(escrow_line)?, i64::try_from(now)?)?;
    LocalServer::start_state(state, Limits::default())
}

/// The operator's call `POST /admin/devices/{DEVICE}/{endpoint}`.
fn admin(server: &LocalServer, endpoint: &str, body: &Value) -> Result<Value, Box<dyn std::error::Error>> {
    let url = server.url(&format!("/admin/devices/{DEVICE}/{endpoint}"));
    let mut response = ureq::post(&url)
        .header("Content-Type", "application/json")
        .header("Authorization", format!("Bearer {ADMIN_TOKEN}"))
        .send(body.to_string().as_bytes())?;
    Ok(serde_json::from_str(&response.body_mut().read_to_string()?)?)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let server_db = dir.path().join("server.db");
    // The server's escrow key (kept in its secret store in production).
    let (escrow_line, _) = offline_auth_backend::generate_escrow_key("escrow-1")?;

    // ── Morning, at the depot, online ────────────────────────────────────
    let server = start(&server_db, &escrow_line)?;
    println!("1. Amira signs in online at the depot ({}).", server.url(""));
    let (status, enrolment) = server.post_json("/enroll", &credentials())?;
    if status != 200 {
        return Err(format!("enrolment refused: {enrolment}").into());
    }
    let grant = enrolment["grant"].as_str().ok_or("no grant")?.to_owned();
    let sync_key = hex::decode(enrolment["sync_key"].as_str().ok_or("no sync key")?)?;
    let issuer_keys = issuer_keys_from_jwks(&enrolment["jwks"].to_string())?;
    // The server's escrow key, signed by its issuer: every edit is also
    // sealed to it, so a wipe cannot lose what is not synced yet.
    let (_, escrow) = server.get("/escrow-key")?;
    let escrow_key = escrow["escrow_key"].as_str().ok_or("no escrow key")?.to_owned();
    let config = VaultConfig::new(DEVICE, issuer_keys).with_escrow_key(escrow_key);

    let path = dir.path().join("vault.db").to_string_lossy().into_owned();
    let clock = Arc::new(PhoneClock { system: SystemClock::new(), user_offset_secs: AtomicI64::new(0) });
    let vault = PinVault::open_with_clock(path, SoftwareKeystore::new(), clock.clone(), config)?;
    match vault.enroll("1234".into(), &grant, sync_key.clone()) {
        Err(VaultError::WeakPin { reason }) => println!("   PIN 1234 refused: {reason}."),
        other => return Err(format!("expected a weak-PIN refusal, got {other:?}").into()),
    }
    let session = vault.enroll("482915".into(), &grant, sync_key)?;
    let window_hours = (session.expires_at()? - clock.now_unix_secs()?) / HOUR;
    println!("   Enrolled with a 6-digit PIN; offline access for {window_hours} h on {:?}.", session.scopes()?);
    session.lock();
    server.stop()?;

    // ── Out in the field, no network ─────────────────────────────────────
    println!("2. Offline at pumping station 4 (the server is unreachable). The PIN is mistyped twice:");
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
        let seq = session.put("inspections", key, value.as_bytes().to_vec())?;
        println!("   put inspections/{key} → queue seq {seq}");
    }
    let seq = session.put("notes", "todo", b"order valve kit".to_vec())?;
    println!("   put notes/todo → queue seq {seq}");
    let seq = session.delete("notes", "todo")?;
    println!("   delete notes/todo (kit found in the van) → queue seq {seq}");
    match session.put("payroll", "amira", b"+overtime".to_vec()) {
        Err(VaultError::InvalidInput { reason }) => println!("   payroll edit refused: {reason}"),
        other => return Err(format!("expected a scope refusal, got {other:?}").into()),
    }

    println!("4. Someone sets the tablet clock back two days to stretch the offline window.");
    clock.user_offset_secs.store(-2 * DAY, Ordering::SeqCst);
    match session.get("inspections", "station-4") {
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
    let server = start(&server_db, &escrow_line)?;
    println!("5. Back online: the server renews the grant and the device syncs.");
    let (status, renewal) = server.post_json("/renew", &credentials())?;
    if status != 200 {
        return Err(format!("renewal refused: {renewal}").into());
    }
    let session = vault.unlock_with_grant("482915".into(), renewal["grant"].as_str().ok_or("no grant")?)?;
    let queue = session.clone().sync_queue();
    println!("   {} edits waiting.", queue.pending_count()?);
    let sync_path = format!("/sync?device_id={DEVICE}");
    let mut first_batch = None;
    while let Some(batch) = queue.next_batch(3)? {
        let (status, answer) = server.post_batch(&sync_path, &batch.bytes)?;
        if status != 200 {
            return Err(format!("sync refused: {answer}").into());
        }
        println!(
            "   POST /sync seq {}..={}: the server verified and applied {}, receipt through {}",
            batch.first_seq, batch.last_seq, answer["applied"], answer["acknowledged_seq"]
        );
        // Only the server's receipt deletes entries: a batch cut short on the
        // way is acknowledged only as far as the server applied it.
        let receipt = URL_SAFE_NO_PAD.decode(answer["receipt"].as_str().ok_or("no receipt")?)?;
        queue.acknowledge(receipt)?;
        first_batch.get_or_insert(batch.bytes);
    }
    println!("   Acknowledged; {} edits waiting. The server now holds:", queue.pending_count()?);
    let (_, records) = server.get_as("/records", "amira", "correct horse battery")?;
    for record in records.as_array().into_iter().flatten() {
        println!("     {}/{} = {}", record["collection"], record["key"], record["value"]);
    }
    if let Some(bytes) = first_batch {
        let (_, answer) = server.post_batch(&sync_path, &bytes)?;
        println!(
            "6. A replay of the first batch: applied {}, recognised as duplicates {}.",
            answer["applied"], answer["duplicates"]
        );
    }
    println!("7. Two more inspections before the shift ends, not synced yet; the tablet is locked.");
    for (key, value) in [("station-6", "meter replaced"), ("station-7", "fence repaired")] {
        session.put("inspections", key, value.as_bytes().to_vec())?;
    }
    session.lock();
    println!("   Session locked: the vault key is gone from memory until the next unlock.");

    // ── Next morning: the PIN is forgotten ───────────────────────────────
    let pending = vault.status()?.pending_entries;
    vault.wipe()?;
    println!(
        "8. Next morning Amira has forgotten her PIN; the app resets the vault ({pending} edits unsynced). \
         {} escrowed copies survive the wipe, readable only by the server:",
        vault.escrowed_count()?
    );
    while let Some(upload) = vault.salvage(100)? {
        let (status, answer) = server.post_batch(&format!("/salvage?device_id={DEVICE}"), &upload.bytes)?;
        if status != 200 {
            return Err(format!("salvage refused: {answer}").into());
        }
        println!(
            "   POST /salvage seq {}..={}: applied {}, already applied {}",
            upload.first_seq, upload.last_seq, answer["applied"], answer["duplicates"]
        );
        vault.forget_salvaged(upload.enrolment, answer["acknowledged_seq"].as_u64().ok_or("no seq")?)?;
    }
    let (_, records) = server.get_as("/records", "amira", "correct horse battery")?;
    let salvaged =
        records.as_array().into_iter().flatten().filter(|r| r["key"] == "station-6" || r["key"] == "station-7");
    for record in salvaged {
        println!("     {}/{} = {} (nothing lost)", record["collection"], record["key"], record["value"]);
    }

    // ── Weeks later: the tablet is lost ──────────────────────────────────
    let (status, enrolment) = server.post_json("/enroll", &credentials())?;
    if status != 200 {
        return Err(format!("enrolment refused: {enrolment}").into());
    }
    let sync_key = hex::decode(enrolment["sync_key"].as_str().ok_or("no sync key")?)?;
    let grant = enrolment["grant"].as_str().ok_or("no grant")?.to_owned();
    vault.enroll("739164".into(), &grant, sync_key)?.lock();
    println!("9. She enrols again online with a new PIN. Weeks later the tablet is left on a bus;");
    admin(&server, "revoke", &json!({"reason": "left on a bus"}))?;
    let queued = admin(&server, "directives", &json!({"action": "wipe"}))?;
    println!("   the operator revokes it and queues a signed wipe (jti {}).", queued["jti"]);
    // The app renews in the background whenever the network is in reach.
    let (status, answer) = server.post_json("/renew", &credentials())?;
    let directives: Vec<String> =
        answer["directives"].as_array().into_iter().flatten().filter_map(|d| d.as_str().map(str::to_owned)).collect();
    println!(
        "   At its next contact the renewal is refused ({status}: {}), with {} directive:",
        answer["error"],
        directives.len()
    );
    for directive in directives {
        let outcome = vault.apply_directive(&directive)?;
        println!(
            "   applied {:?} (finished: {}): nothing was pending, so nothing is lost.",
            outcome.action, outcome.finished
        );
    }
    match vault.unlock("739164".into()) {
        Err(VaultError::Wiped) => println!("   Whoever finds it gets Wiped: no keys, no records, no queue."),
        other => return Err(format!("expected Wiped, got {other:?}").into()),
    }
    let (_, answer) = server.post_json("/renew", &credentials_acknowledging(&vault.applied_directives()?))?;
    let still = answer["directives"].as_array().map_or(0, Vec::len);
    println!("   The tablet acknowledges the wipe; the server delivers {still} directives to it now.");
    server.stop()?;
    Ok(())
}
