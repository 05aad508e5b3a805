//! Unit tests of `time.rs`: the floor, the rollback rule, renewals and repairs,
//! merging copies, backoff.

use super::*;

const A: BootId = [1; 32];
const B: BootId = [2; 32];

fn at(wall: i64, boot: BootId, elapsed_s: u64) -> Reading {
    Reading { wall, boot, elapsed_ms: elapsed_s * 1000 }
}

#[test]
fn the_floor_keeps_pace_with_elapsed_time_whatever_the_wall_says() {
    let mut t = TimeState::enrolled(&at(1_000, A, 10), 1_000);
    // The wall clock creeps back 240 s every 240 s of real time.
    let mut result = Ok(());
    for step in 1..=3u64 {
        result = t.observe(&at(1_000, A, 10 + 240 * step), 300);
    }
    assert!(matches!(result, Err(Error::ClockRollback)));
    assert!(t.rollback_locked);
    assert!(t.trusted >= 1_000 + 720);
}

#[test]
fn forward_is_fine_and_small_drift_is_tolerated() {
    let mut t = TimeState::enrolled(&at(1_000, A, 0), 1_000);
    t.observe(&at(5_000, A, 10), 300).unwrap();
    assert_eq!(t.trusted, 5_000);
    t.observe(&at(4_800, A, 20), 300).unwrap();
    assert_eq!(t.trusted, 5_000);
}

#[test]
fn elapsed_time_going_back_within_a_boot_is_a_rollback() {
    let mut t = TimeState::enrolled(&at(1_000, A, 100), 1_000);
    assert!(matches!(t.observe(&at(1_000, A, 97), 300), Err(Error::ClockRollback)));
    assert!(t.rollback_locked);
}

#[test]
fn a_reading_taken_a_moment_before_another_threads_is_not_a_rollback() {
    let mut t = TimeState::enrolled(&at(1_000, A, 100), 1_000);
    t.observe(&at(1_000, A, 160), 300).unwrap();
    let anchor = t.anchor;
    let late = Reading { wall: 1_000, boot: A, elapsed_ms: 160_000 - 1_500 };
    t.observe(&late, 300).unwrap();
    assert_eq!(t.anchor, anchor, "a trailing reading moves nothing");
    let mark = FailureMark::at(&at(1_000, A, 160));
    assert_eq!(mark.remaining(30, &late).unwrap(), Some(30));
}

#[test]
fn a_new_boot_is_counted_and_restarts_from_the_stored_floor() {
    let mut t = TimeState::enrolled(&at(1_000, A, 100), 1_000);
    t.observe(&at(1_000, A, 401), 300).unwrap_err();
    let mut t = TimeState::enrolled(&at(1_000, A, 100), 1_000);
    t.observe(&at(1_300, A, 400), 300).unwrap();
    t.observe(&at(1_200, B, 5), 300).unwrap();
    assert_eq!((t.boots, t.anchor.boot, t.anchor.floor), (1, B, 1_300));
    assert!(matches!(t.observe(&at(900, B, 6), 300), Err(Error::ClockRollback)));
}

#[test]
fn a_renewal_lifts_the_lock_but_never_goes_below_the_floor() {
    let mut t = TimeState::enrolled(&at(1_000, A, 0), 1_000);
    t.observe(&at(500, A, 3_600), 300).unwrap_err();
    // A grant issued long ago, presented with the wall clock at its iat.
    t.renew(&at(1_100, A, 3_600), 1_100).unwrap();
    assert!(!t.rollback_locked);
    assert_eq!(t.trusted, 4_600, "the floor, not the old iat");
}

#[test]
fn a_renewal_after_reboots_never_lowers_the_trusted_time() {
    // Honest wall readings carried the trusted time past two nights off;
    // the floor restarted from its anchor after each reboot and lags.
    let mut t = TimeState::enrolled(&at(1_000, A, 0), 1_000);
    t.observe(&at(10_000, A, 9_000), 300).unwrap();
    t.observe(&at(40_000, B, 10), 300).unwrap();
    t.observe(&at(70_000, [3; 32], 10), 300).unwrap();
    assert!(t.anchor.floor < 20_000 && t.trusted == 70_000);
    // A grant issued at 1 100 and withheld, presented with the clock set back.
    t.renew(&at(1_100, [3; 32], 20), 1_100).unwrap();
    assert_eq!(t.trusted, 70_000);
}

#[test]
fn a_repair_lowers_the_time_and_an_older_copy_cannot_raise_it_again() {
    let mut t = TimeState::enrolled(&at(1_000, A, 0), 1_000);
    t.observe(&at(1_000 + 30 * 86_400, A, 10), 300).unwrap();
    let before = t.clone();
    t.observe(&at(1_020, A, 20), 300).unwrap_err();
    let made = FreshMark { boot: A, elapsed_ms: 20_000 };
    t.repair(&at(1_022, A, 22), 1_021, 2, made);
    assert_eq!((t.trusted, t.rollback_locked, t.last_fresh()), (1_023, false, Some(&made)));
    // A session or handle that read the time before the repair stores it.
    t.merge(&before);
    assert_eq!(t.trusted, 1_023, "a copy from before the repair adds nothing");
    let mut stale = before;
    stale.merge(&t);
    assert_eq!(stale, t, "a copy from after the repair replaces an older one");
}

#[test]
fn storage_is_due_after_a_minute_of_floor_or_a_boot_change() {
    let stored = TimeState::enrolled(&at(1_000, A, 0), 1_000);
    let mut t = stored.clone();
    t.observe(&at(1_000, A, 59), 300).unwrap();
    assert!(!t.due_for_storage(&stored));
    t.observe(&at(1_000, A, 60), 300).unwrap();
    assert!(t.due_for_storage(&stored));
    let mut t = stored.clone();
    t.observe(&at(1_000, B, 1), 300).unwrap();
    assert!(t.due_for_storage(&stored));
}

#[test]
fn merging_keeps_the_later_anchor_and_every_lock() {
    let stored = TimeState::enrolled(&at(1_000, A, 0), 1_000);
    let mut live = stored.clone();
    live.observe(&at(1_000, A, 60), 300).unwrap();
    let mut merged = stored.clone();
    merged.merge(&live);
    assert_eq!(merged.anchor, live.anchor);
    assert!(!merged.due_for_storage(&merged.clone()));
    let mut old = merged.clone();
    old.merge(&stored);
    assert_eq!(old.anchor, live.anchor, "an older anchor never wins");
    let mut locked = stored.clone();
    locked.rollback_locked = true;
    merged.merge(&locked);
    assert!(merged.rollback_locked);
}

#[test]
fn backoff_counts_elapsed_time_only_and_restarts_after_a_reboot() {
    let mark = FailureMark::at(&at(1_000, A, 100));
    assert_eq!(mark.remaining(30, &at(999_999, A, 110)).unwrap(), Some(20), "wall jump ignored");
    assert_eq!(mark.remaining(30, &at(0, A, 200)).unwrap(), Some(0));
    assert_eq!(mark.remaining(30, &at(1_000, B, 1)).unwrap(), None);
    assert!(mark.remaining(30, &at(1_000, A, 97)).is_err());
}

#[test]
fn system_clock_is_sane() {
    let clock = crate::clock::SystemClock::new();
    let a = Reading::take(clock.as_ref()).unwrap();
    let b = Reading::take(clock.as_ref()).unwrap();
    assert!(a.wall > 1_600_000_000);
    assert_eq!(a.boot, b.boot);
    assert!(b.elapsed_ms >= a.elapsed_ms);
}

#[test]
fn the_remembered_boot_digest_follows_the_boot_id() {
    // The per-thread cache must never hand one boot's digest to another id.
    let first = boot_digest("boot-one");
    let second = boot_digest("boot-two");
    assert_ne!(first, second);
    assert_eq!(boot_digest("boot-one"), first);
    assert_eq!(first, <[u8; 32]>::from(Sha256::digest(b"boot-one")));
}
