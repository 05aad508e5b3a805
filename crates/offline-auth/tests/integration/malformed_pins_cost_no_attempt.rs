//! Input that no PIN can match costs no attempt (issue 23, item 3).
//!
//! Every PIN was set under the policy's shape (length, allowed characters,
//! no control characters), stored with the enrolment and every PIN change.
//! `unlock`, `unlock_with_grant` and `change_pin`'s old PIN refuse input
//! outside the stored shape with `MalformedPin` before the attempt gate is
//! taken: nothing counted, no keystore call, not one byte of the file
//! changed. Before, each such input was a wrong attempt (ten empty
//! submissions wiped the vault) and the right PIN followed by a NUL byte
//! unlocked (HMAC pads a short key with zeros).
#![allow(clippy::unwrap_used, clippy::panic)] // a panic is how a test fails

use crate::common;

use std::sync::atomic::Ordering;

use common::{all_rows, Device, PIN};
use offline_auth::{PinVault, VaultError};

/// Every shape of input the attack suite submitted, with what it is.
fn malformed() -> Vec<(&'static str, String)> {
    vec![
        ("empty", String::new()),
        ("1 digit", "4".into()),
        ("5 digits", "48291".into()),
        ("65 digits", "7".repeat(65)),
        ("1000 digits", "7".repeat(1000)),
        ("10 MB", "7".repeat(10 * 1024 * 1024)),
        ("emoji", "\u{1F512}\u{1F511}\u{1F510}\u{1F513}\u{1F50F}\u{1F512}".into()),
        ("digits and an emoji", "4829\u{1F512}15".into()),
        ("a zero-width joiner", "482\u{200D}915".into()),
        ("a newline", "482\n915".into()),
        ("a leading bell", "\u{7}482915".into()),
        ("a DEL", "482915\u{7F}".into()),
        ("the PIN and a NUL", format!("{PIN}\0")),
        ("the PIN and two NULs", format!("{PIN}\0\0")),
    ]
}

fn is_malformed<T>(result: Result<T, VaultError>, what: &str) {
    match result {
        Err(VaultError::MalformedPin { reason }) => assert!(!reason.is_empty(), "{what}"),
        Err(other) => panic!("{what}: {other:?}, not MalformedPin"),
        Ok(_) => panic!("{what}: accepted"),
    }
}

/// Submits `pin` to the three calls that take one and checks each refused
/// it with nothing counted, no keystore call and the file unchanged.
fn refused_untouched(device: &Device, vault: &PinVault, what: &str, pin: &str) {
    let rows = all_rows(&device.path());
    let calls = device.keystore.calls.load(Ordering::SeqCst);
    is_malformed(vault.unlock(pin.into()), &format!("unlock with {what}"));
    let grant = device.backend.grant(device.clock.now(), 7);
    is_malformed(vault.unlock_with_grant(pin.into(), &grant), &format!("unlock_with_grant with {what}"));
    is_malformed(vault.change_pin(pin.into(), "730264".into()), &format!("change_pin from {what}"));
    assert_eq!(device.keystore.calls.load(Ordering::SeqCst), calls, "{what}: a keystore call was made");
    assert_eq!(vault.status().unwrap().failed_attempts, 0, "{what}: an attempt was counted");
    assert!(all_rows(&device.path()) == rows, "{what}: the file changed");
}

#[test]
fn input_no_pin_can_match_costs_no_attempt_and_touches_no_key() {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    session.lock();
    // Fourteen shapes, three calls each: far past the ten attempts that wipe.
    for (what, pin) in malformed() {
        refused_untouched(&device, &vault, what, &pin);
    }
    assert!(vault.is_enrolled().unwrap());
    vault.unlock(PIN.into()).unwrap().lock();
}

#[test]
fn the_right_pin_followed_by_a_nul_never_unlocks() {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    session.lock();
    for pin in [format!("{PIN}\0"), format!("{PIN}\0\0\0"), format!("\0{PIN}")] {
        is_malformed(vault.unlock(pin.clone()), "unlock");
        is_malformed(vault.change_pin(pin, "730264".into()), "change_pin");
    }
    // Nor can one be enrolled or set: NUL is a control character.
    assert!(matches!(vault.change_pin(PIN.into(), "730264\0".into()), Err(VaultError::WeakPin { .. })));
    vault.unlock(PIN.into()).unwrap().lock();
}

#[test]
fn a_wrong_pin_of_the_right_shape_still_counts() {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    session.lock();
    let calls = device.keystore.calls.load(Ordering::SeqCst);
    assert!(matches!(vault.unlock("730264".into()), Err(VaultError::WrongPin { attempts_remaining: 9 })));
    assert!(device.keystore.calls.load(Ordering::SeqCst) > calls);
    assert_eq!(vault.status().unwrap().failed_attempts, 1);
}

#[test]
fn the_shape_stored_at_enrolment_decides_not_todays_configuration() {
    let device = Device::new();
    // Enrolled while the app allowed 4-character PINs.
    let mut short = device.backend.config();
    short.min_pin_length = 4;
    let vault = device.open_with(short).unwrap();
    vault.enroll("4829".into(), &device.backend.grant(device.clock.now(), 7), device.backend.sync_key.clone()).unwrap();
    drop(vault);
    // The app now asks for 8: the enrolled PIN still unlocks, a 3-digit input is refused.
    let mut long = device.backend.config();
    long.min_pin_length = 8;
    let vault = device.open_with(long.clone()).unwrap();
    vault.unlock("4829".into()).unwrap().lock();
    is_malformed(vault.unlock("482".into()), "3 digits");
    // A PIN change stores the new PIN's shape: 8 characters from now on.
    vault.change_pin("4829".into(), "48291573".into()).unwrap();
    refused_untouched(&device, &vault, "the old 4-digit PIN", "4829");
    vault.unlock("48291573".into()).unwrap().lock();
    drop(vault);
    // Back to 4: the stored shape still says 8.
    let mut short = device.backend.config();
    short.min_pin_length = 4;
    let vault = device.open_with(short).unwrap();
    is_malformed(vault.unlock("4829".into()), "4 digits under a stored minimum of 8");
}

#[test]
fn a_vault_enrolled_before_shapes_were_stored_gets_the_widest_shape_any_release_enrolled() {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    session.lock();
    // What a 0.2.0 vault looks like: no stored shape.
    let conn = rusqlite::Connection::open(device.path()).unwrap();
    conn.execute("DELETE FROM meta WHERE key IN ('pin_min_chars', 'pin_charset')", []).unwrap();
    // Shorter than any configuration ever allowed, or a control character: refused.
    refused_untouched(&device, &vault, "3 digits", "482");
    refused_untouched(&device, &vault, "the PIN and a NUL", &format!("{PIN}\0"));
    // Four characters, emoji: some release could have enrolled them, so they count.
    assert!(matches!(vault.unlock("4829".into()), Err(VaultError::WrongPin { .. })));
    assert!(matches!(vault.unlock("\u{1F512}\u{1F511}\u{1F510}\u{1F513}".into()), Err(VaultError::WrongPin { .. })));
    vault.unlock(PIN.into()).unwrap().lock();
    // An edited shape (a charset no build writes) is Tampered, and counts nothing.
    conn.execute("INSERT INTO meta (key, value) VALUES ('pin_min_chars', 6), ('pin_charset', 9)", []).unwrap();
    assert!(matches!(vault.unlock(PIN.into()), Err(VaultError::Tampered)));
    assert_eq!(vault.status().unwrap().failed_attempts, 0);
}

#[test]
fn a_wipe_forgets_the_shape_and_malformed_input_then_says_wiped() {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    session.lock();
    vault.wipe().unwrap();
    assert!(matches!(vault.unlock(String::new()), Err(VaultError::Wiped)));
    let conn = rusqlite::Connection::open(device.path()).unwrap();
    let left: i64 = conn.query_row("SELECT count(*) FROM meta WHERE key LIKE 'pin_%'", [], |r| r.get(0)).unwrap();
    assert_eq!(left, 0);
}
