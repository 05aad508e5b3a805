//! The clock-stretching sign `docs/TIME.md` promises backends can see: a
//! device restarted again and again while its entry times barely move
//! (counted in `/metrics`, shown on the operator's page).

use offline_auth_backend::SyncOperation;

/// The clock-stretching sign (docs/TIME.md): an upload whose new entries'
/// boot count rises by at least this much...
pub const STRETCH_MIN_BOOT_RISE: u32 = 3;
/// ...while their times advance by less than this many minutes per boot.
/// A restart takes a minute or two; an honest device that restarts often
/// is also in use between restarts.
pub const STRETCH_MAX_MINUTES_PER_BOOT: i64 = 10;

/// Whether the new entries of one upload show the clock-stretching sign:
/// between the first and the last entry that carry a boot count, the count
/// rose by at least [`STRETCH_MIN_BOOT_RISE`] while the entry times
/// advanced by less than [`STRETCH_MAX_MINUTES_PER_BOOT`] minutes per boot.
pub fn clock_stretch_suspected(operations: &[SyncOperation]) -> bool {
    let mut booted = operations.iter().filter_map(|op| op.boots.map(|boots| (boots, op.time)));
    let Some((first_boots, first_time)) = booted.next() else { return false };
    let Some((last_boots, last_time)) = booted.next_back() else { return false };
    let rise = last_boots.saturating_sub(first_boots);
    let advanced = last_time.saturating_sub(first_time);
    rise >= STRETCH_MIN_BOOT_RISE && advanced < i64::from(rise).saturating_mul(STRETCH_MAX_MINUTES_PER_BOOT * 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(boots: Option<u32>, time: i64) -> SyncOperation {
        SyncOperation::new(1, time, "g", "notes", "k", None, [0; 32]).with_boots(boots)
    }

    #[test]
    fn boots_climbing_while_time_stands_still_is_the_stretch_sign() {
        let t = 1_800_000_000;
        // Four restarts in five minutes.
        assert!(clock_stretch_suspected(&[op(Some(2), t), op(Some(4), t + 120), op(Some(6), t + 300)]));
        // Four restarts over a working day: honest.
        assert!(!clock_stretch_suspected(&[op(Some(2), t), op(Some(6), t + 8 * 3600)]));
        // Two restarts, however quick: under the threshold.
        assert!(!clock_stretch_suspected(&[op(Some(2), t), op(Some(4), t + 10)]));
        // No boot counts (first-release entries), or one entry: no sign.
        assert!(!clock_stretch_suspected(&[op(None, t), op(None, t + 1)]));
        assert!(!clock_stretch_suspected(&[op(Some(9), t)]));
    }
}
