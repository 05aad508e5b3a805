//! A copy of the vault's files taken while a session is open, written back
//! after the app is killed, and a reboot: the attack that turned a 60-minute
//! grant into 383 minutes of access (docs/TIME.md, "Keystore epochs").
//!
//! The copy names the device key of the epoch it was taken in. An open
//! session moves the device key to a new alias once its epoch is
//! `DEVICE_KEY_ROTATION_SECS` old (in trusted time), so a copy is usable only
//! until then: each reboot gains at most its own duration and one rotation
//! interval, however long the session stayed open.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)] // a panic is how a test fails

use crate::common;

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use common::*;
use offline_auth::{VaultError, DEVICE_KEY_ROTATION_SECS};

const MINUTE: i64 = 60;
const ROTATION: i64 = DEVICE_KEY_ROTATION_SECS as i64;

/// The vault's files as the attacker copies them: database, WAL, shared memory.
struct FilesCopy {
    dir: tempfile::TempDir,
}

fn vault_files(db: &Path) -> Vec<PathBuf> {
    ["", "-wal", "-shm"].iter().map(|suffix| PathBuf::from(format!("{}{suffix}", db.display()))).collect()
}

impl FilesCopy {
    fn take(device: &Device) -> Self {
        let dir = tempfile::tempdir().unwrap();
        for (n, file) in vault_files(&device.path()).iter().enumerate() {
            if file.exists() {
                std::fs::copy(file, dir.path().join(n.to_string())).unwrap();
            }
        }
        Self { dir }
    }

    /// Writes the copy back over the vault's files (the app is not running).
    fn write_back(&self, device: &Device) {
        for (n, file) in vault_files(&device.path()).iter().enumerate() {
            let saved = self.dir.path().join(n.to_string());
            if saved.exists() {
                std::fs::copy(&saved, file).unwrap();
            } else if file.exists() {
                std::fs::remove_file(file).unwrap();
            }
        }
    }
}

/// What one attack run measured.
struct Outcome {
    minutes_after_exp: f64,
    reboots_before_last_access: i64,
    reboot_secs: i64,
}

impl Outcome {
    /// Per reboot: its own duration and one rotation interval.
    fn bound_minutes(&self) -> f64 {
        (self.reboots_before_last_access * (self.reboot_secs + ROTATION)) as f64 / 60.0
    }
}

/// `loops` times: unlock; copy the files; read every 30 s for `read_secs`;
/// kill the app (no `lock()`); write the copy back; reboot (60 s); set the
/// wall clock back to the copy's time.
fn write_back_and_reboot(loops: usize, read_secs: i64) -> Outcome {
    let device = Device::new();
    let vault = device.open();
    let grant = device.backend.grant_for(USER, DEVICE, T0, T0 + HOUR);
    let session = vault.enroll(PIN.into(), &grant, device.backend.sync_key.clone()).unwrap();
    session.put("visits", "v1", b"first".to_vec()).unwrap();
    session.lock();
    drop((session, vault));
    let exp = T0 + HOUR;
    let reboot_secs = 60;
    let (mut real, mut last_access, mut reboots, mut reboots_before_last_access) = (T0, None, 0i64, 0i64);
    for _ in 0..loops {
        let vault = device.open();
        let Ok(session) = vault.unlock(PIN.into()) else {
            break;
        };
        let copy = FilesCopy::take(&device);
        let copied_at = device.clock.now();
        for _ in 0..(read_secs / 30) {
            device.clock.advance(30);
            real += 30;
            if session.get("visits", "v1").is_ok() {
                last_access = Some(real);
                reboots_before_last_access = reboots;
            }
        }
        // Killed: no lock(), nothing more runs.
        drop((session, vault));
        copy.write_back(&device);
        device.clock.reboot(reboot_secs);
        real += reboot_secs;
        reboots += 1;
        device.clock.set(copied_at);
    }
    let minutes_after_exp = last_access.map_or(0.0, |at: i64| (at - exp).max(0) as f64 / 60.0);
    Outcome { minutes_after_exp, reboots_before_last_access, reboot_secs }
}

#[test]
fn a_copy_written_back_after_a_long_session_gains_at_most_one_rotation_per_reboot() {
    // The measured attack: eight loops of 55 minutes of reading.
    let outcome = write_back_and_reboot(8, 55 * MINUTE);
    println!(
        "write-back + reboot, 55 min of reading per loop: {:.1} min of access after exp ({} reboots before the \
         last access, bound {:.0} min)",
        outcome.minutes_after_exp,
        outcome.reboots_before_last_access,
        outcome.bound_minutes()
    );
    assert!(outcome.minutes_after_exp <= outcome.bound_minutes(), "{:.1} min", outcome.minutes_after_exp);
}

#[test]
fn a_copy_written_back_just_before_each_rotation_gains_at_most_one_rotation_per_reboot() {
    // The attacker's best timing: kill the app just before the session
    // would move the key, so every copy stays usable; for about two hours.
    let read_secs = ROTATION - 30;
    let outcome = write_back_and_reboot(usize::try_from(2 * HOUR / (read_secs + 60)).unwrap(), read_secs);
    println!(
        "write-back + reboot, {read_secs} s of reading per loop: {:.1} min of access after exp ({} reboots before \
         the last access, bound {:.0} min)",
        outcome.minutes_after_exp,
        outcome.reboots_before_last_access,
        outcome.bound_minutes()
    );
    assert!(outcome.minutes_after_exp <= outcome.bound_minutes(), "{:.1} min", outcome.minutes_after_exp);
}

#[test]
fn an_open_session_moves_the_device_key_once_per_rotation_interval() {
    let device = Device::new();
    let (_vault, session) = device.enrolled();
    session.put("visits", "v1", b"first".to_vec()).unwrap();
    let copy = FilesCopy::take(&device);
    let calls = || device.keystore.calls.load(Ordering::SeqCst);
    let before = calls();
    // An hour of reading, one read every 10 s.
    for _ in 0..360 {
        device.clock.advance(10);
        session.get("visits", "v1").unwrap();
    }
    let per_hour = calls() - before;
    let rotations = HOUR / ROTATION;
    println!("an hour of reading: {per_hour} keystore calls ({rotations} rotations of 3 calls)");
    assert_eq!(per_hour, u64::try_from(3 * rotations).unwrap());

    // The copy from the start of the hour names a deleted key.
    drop((session, _vault));
    copy.write_back(&device);
    device.clock.reboot(60);
    // (The vault cannot tell a key rotated away from one the platform lost.)
    assert_eq!(device.open().unlock(PIN.into()).err(), Some(VaultError::DeviceKeyLost));
}
