//! Trusted time: what the vault makes of the platform's clocks ([`crate::clock`]).
//!
//! The offline window is only as good as the clock that measures it, and the
//! user can set the wall clock. So each reading ([`Reading`]) carries three
//! things: the wall clock, an identity of the current boot, and the time
//! elapsed since that boot (counting deep sleep), which no user setting
//! moves. The vault keeps a [`TimeState`] sealed with its data:
//!
//! - a *floor*: a lower bound on real time that never comes from the wall
//!   clock. It starts at the server-signed `iat` of the grant and advances
//!   with elapsed time, from an anchor `(boot, elapsed, floor)`. Within one
//!   boot the floor keeps pace with real time whatever the wall clock says;
//!   after a reboot it restarts from the last stored anchor.
//! - the *trusted time*: `max(floor, every wall reading accepted)`. Grants
//!   expire against it. It only ever moves forward, renewals included.
//! - a wall clock behind the trusted time by more than the tolerance is a
//!   rollback: offline access stays locked until a strictly newer grant.
//!
//! `docs/TIME.md` states the model and its bounds.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clock::{Clock, ClockError};
use crate::error::{Error, Result};

/// Longest boot identity a clock may report.
pub(crate) const MAX_BOOT_ID_LEN: usize = 256;
/// Wall-clock readings outside 1970..=9999 are garbage.
const MAX_WALL_SECS: i64 = 253_402_300_799;
/// Elapsed time beyond 100 years since boot is garbage.
const MAX_ELAPSED_MS: u64 = 100 * 366 * 24 * 3600 * 1000;
/// The anchor is stored again once the floor has moved this far (and on
/// every boot change and rollback), so a reboot loses at most this much.
pub(crate) const ANCHOR_REFRESH_SECS: i64 = 60;

/// How far a reading may trail one already seen in the same boot and still
/// count as that moment: threads read the clock before they take a lock, so
/// an earlier reading can arrive after a later one. Further back is a rollback.
pub(crate) const REORDER_SLACK_MS: u64 = 2_000;

/// Whether `elapsed_ms` trails `seen_ms` by more than reordering explains.
pub(crate) fn went_back(elapsed_ms: u64, seen_ms: u64) -> bool {
    elapsed_ms.saturating_add(REORDER_SLACK_MS) < seen_ms
}

/// A boot, identified by the SHA-256 of the platform's boot identity.
pub(crate) type BootId = [u8; 32];

/// One consistent look at the platform's clocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Reading {
    /// Wall-clock seconds since the Unix epoch (user-settable).
    pub(crate) wall: i64,
    /// The current boot.
    pub(crate) boot: BootId,
    /// Milliseconds since that boot, counting deep sleep.
    pub(crate) elapsed_ms: u64,
}

impl Reading {
    /// Reads all three clocks; garbage is `ClockUnavailable`.
    pub(crate) fn take(clock: &dyn Clock) -> Result<Self> {
        let unavailable = |reason: &str| Error::Clock(ClockError::Unavailable { reason: reason.into() });
        let boot_id = clock.boot_id()?;
        if boot_id.is_empty() || boot_id.len() > MAX_BOOT_ID_LEN {
            return Err(unavailable("the boot id must be 1 to 256 bytes"));
        }
        let elapsed_ms = clock.elapsed_since_boot_millis()?;
        if elapsed_ms > MAX_ELAPSED_MS {
            return Err(unavailable("elapsed time since boot out of range"));
        }
        let wall = clock.now_unix_secs()?;
        if !(0..=MAX_WALL_SECS).contains(&wall) {
            return Err(unavailable("wall-clock time out of range"));
        }
        Ok(Self { wall, boot: boot_digest(&boot_id), elapsed_ms })
    }
}

/// SHA-256 of a boot id, remembered per thread for the last id seen: every
/// call reads the clock, and the id changes only with a reboot (or with
/// another clock), so the hash is computed about once per thread.
fn boot_digest(boot_id: &str) -> BootId {
    thread_local! {
        static LAST: std::cell::RefCell<Option<(String, BootId)>> = const { std::cell::RefCell::new(None) };
    }
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        match last.as_ref() {
            Some((id, digest)) if id == boot_id => *digest,
            _ => {
                let digest: BootId = Sha256::digest(boot_id.as_bytes()).into();
                *last = Some((boot_id.to_owned(), digest));
                digest
            }
        }
    })
}

/// A point of one boot at which the floor was known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Anchor {
    boot: BootId,
    elapsed_ms: u64,
    floor: i64,
}

/// The vault's time, sealed with its state (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TimeState {
    /// Latest trusted time (seconds since the epoch).
    trusted: i64,
    /// Where the floor was last known.
    anchor: Anchor,
    /// Boots seen since enrolment (0 = still the enrolment's boot).
    boots: u32,
    /// The clock was caught going back: offline access stays locked until a
    /// strictly newer grant.
    rollback_locked: bool,
    /// Fresh renewals that repaired the time (`fresh.rs`): a copy with
    /// fewer predates the last repair, and its trusted time is not merged.
    repairs: u32,
    /// Where the nonce of the last repair was made: only a later one repairs.
    fresh: Option<FreshMark>,
}

/// Where, on the boot clock, the nonce of the last fresh renewal was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FreshMark {
    /// The boot it was made in.
    pub(crate) boot: BootId,
    /// Elapsed time since that boot when it was made.
    pub(crate) elapsed_ms: u64,
}

/// [`TimeState`] as stored before fresh renewals (state version 2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TimeStateV2 {
    trusted: i64,
    anchor: Anchor,
    boots: u32,
    rollback_locked: bool,
}

impl From<TimeStateV2> for TimeState {
    fn from(old: TimeStateV2) -> Self {
        let TimeStateV2 { trusted, anchor, boots, rollback_locked } = old;
        Self { trusted, anchor, boots, rollback_locked, repairs: 0, fresh: None }
    }
}

/// Seconds between two elapsed readings of one boot.
fn secs_between(from_ms: u64, to_ms: u64) -> i64 {
    i64::try_from(to_ms.saturating_sub(from_ms) / 1000).unwrap_or(i64::MAX)
}

impl TimeState {
    /// The time of a fresh enrolment: the floor starts at the grant's `iat`
    /// (the server's word), the trusted time at `max(iat, wall)`.
    pub(crate) fn enrolled(reading: &Reading, iat: i64) -> Self {
        Self {
            trusted: reading.wall.max(iat),
            anchor: Anchor { boot: reading.boot, elapsed_ms: reading.elapsed_ms, floor: iat },
            boots: 0,
            rollback_locked: false,
            repairs: 0,
            fresh: None,
        }
    }

    /// The time a first-release state stored (a trusted time without an
    /// anchor on the boot clock): the trusted time becomes the floor,
    /// anchored to no boot, so the next reading counts as a new boot and
    /// starts from it.
    pub(crate) fn first_release(trusted: i64, rollback_locked: bool) -> Self {
        let anchor = Anchor { boot: [0; 32], elapsed_ms: 0, floor: trusted };
        Self { trusted, anchor, boots: 0, rollback_locked, repairs: 0, fresh: None }
    }

    /// The trusted time (seconds since the epoch): grants expire against it.
    pub(crate) fn trusted(&self) -> i64 {
        self.trusted
    }

    /// Boots seen since enrolment (0 = still the enrolment's boot).
    pub(crate) fn boots(&self) -> u32 {
        self.boots
    }

    /// Where the nonce of the last fresh renewal was made, if any.
    pub(crate) fn last_fresh(&self) -> Option<&FreshMark> {
        self.fresh.as_ref()
    }

    /// Whether offline access is locked by a clock rollback.
    pub(crate) fn rollback_locked(&self) -> bool {
        self.rollback_locked
    }

    /// Sets the rollback lock (the clock was caught lying outside
    /// [`TimeState::observe`]); only a renewal lifts it.
    pub(crate) fn lock_rollback(&mut self) {
        self.rollback_locked = true;
    }

    /// The floor at `reading`, and whether the reading is from a new boot.
    /// Elapsed time that went backwards within one boot is a rollback.
    fn floor_at(&self, reading: &Reading) -> Result<(i64, bool)> {
        if reading.boot != self.anchor.boot {
            return Ok((self.anchor.floor, true));
        }
        if went_back(reading.elapsed_ms, self.anchor.elapsed_ms) {
            return Err(Error::ClockRollback);
        }
        // (A reading within the reordering slack behind the anchor adds nothing.)
        Ok((self.anchor.floor.saturating_add(secs_between(self.anchor.elapsed_ms, reading.elapsed_ms)), false))
    }

    /// Takes in a reading. On a rollback (wall clock too far behind, or
    /// elapsed time going backwards) the lock is set and `ClockRollback`
    /// returned; the caller stores the state either way.
    pub(crate) fn observe(&mut self, reading: &Reading, tolerance_secs: u64) -> Result<()> {
        let floor = match self.floor_at(reading) {
            Ok((floor, new_boot)) => {
                if new_boot {
                    self.boots = self.boots.saturating_add(1);
                }
                floor
            }
            Err(error) => {
                self.rollback_locked = true;
                return Err(error);
            }
        };
        let anchor_moves = reading.elapsed_ms >= self.anchor.elapsed_ms;
        if (anchor_moves && floor.saturating_sub(self.anchor.floor) >= ANCHOR_REFRESH_SECS)
            || reading.boot != self.anchor.boot
        {
            self.anchor = Anchor { boot: reading.boot, elapsed_ms: reading.elapsed_ms, floor };
        }
        let trusted = self.trusted.max(floor);
        let tolerance = i64::try_from(tolerance_secs).unwrap_or(i64::MAX);
        if reading.wall.saturating_add(tolerance) < trusted {
            self.trusted = trusted;
            self.rollback_locked = true;
            return Err(Error::ClockRollback);
        }
        self.trusted = trusted.max(reading.wall);
        if self.rollback_locked {
            return Err(Error::ClockRollback);
        }
        Ok(())
    }

    /// Installs a strictly newer grant's time: lifts the rollback lock and
    /// raises the floor to its `iat`. The trusted time never goes down: the
    /// floor lags real time by every reboot since it was anchored, so a
    /// grant withheld and presented late could otherwise wind time back by
    /// as long as the device was off (found in review). A clock once set far
    /// ahead therefore shortens offline windows until real time catches up.
    pub(crate) fn renew(&mut self, reading: &Reading, iat: i64) -> Result<()> {
        let (floor, new_boot) = self.floor_at(reading)?;
        if new_boot {
            self.boots = self.boots.saturating_add(1);
        }
        let floor = floor.max(iat);
        let elapsed_ms = if new_boot { reading.elapsed_ms } else { reading.elapsed_ms.max(self.anchor.elapsed_ms) };
        self.anchor = Anchor { boot: reading.boot, elapsed_ms, floor };
        self.trusted = self.trusted.max(floor).max(reading.wall);
        self.rollback_locked = false;
        Ok(())
    }

    /// Installs a fresh grant's time (`fresh.rs`): real time now lies in
    /// `[iat, iat + since_secs]`, so the floor is anchored here at `iat`
    /// and the trusted time becomes `max(iat + since_secs, wall)` — lower
    /// than before if the clock was once set ahead, never behind real time.
    /// Lifts the rollback lock.
    /// `made` is where the grant's nonce was made: the next repair needs a
    /// later one.
    pub(crate) fn repair(&mut self, reading: &Reading, iat: i64, since_secs: i64, made: FreshMark) {
        if reading.boot != self.anchor.boot {
            self.boots = self.boots.saturating_add(1);
        }
        self.repairs = self.repairs.saturating_add(1);
        self.fresh = Some(made);
        self.anchor = Anchor { boot: reading.boot, elapsed_ms: reading.elapsed_ms, floor: iat };
        self.trusted = iat.saturating_add(since_secs).max(reading.wall);
        self.rollback_locked = false;
    }

    /// Whether `self` has moved far enough from `stored` that it must be
    /// stored (a reboot, a rollback, or a minute of floor or trusted time).
    pub(crate) fn due_for_storage(&self, stored: &TimeState) -> bool {
        self.anchor.boot != stored.anchor.boot
            || self.rollback_locked != stored.rollback_locked
            || self.boots != stored.boots
            || self.anchor.floor.saturating_sub(stored.anchor.floor) >= ANCHOR_REFRESH_SECS
            || self.trusted.saturating_sub(stored.trusted) >= ANCHOR_REFRESH_SECS
    }

    /// Folds in what another copy learnt (another handle or process): the
    /// later trusted time and anchor, the larger boot count, any rollback lock.
    /// A copy from before the last fresh renewal adds only its boot count;
    /// a copy from after it replaces this one.
    pub(crate) fn merge(&mut self, other: &TimeState) {
        if other.repairs != self.repairs {
            let boots = self.boots.max(other.boots);
            if other.repairs > self.repairs {
                *self = other.clone();
            }
            self.boots = boots;
            return;
        }
        self.trusted = self.trusted.max(other.trusted);
        if other.anchor.boot == self.anchor.boot {
            // The anchor whose floor is further ahead of its boot's start;
            // between two that agree, the later one.
            let lead = |a: &Anchor| (a.floor.saturating_sub(secs_between(0, a.elapsed_ms)), a.elapsed_ms);
            if lead(&other.anchor) > lead(&self.anchor) {
                self.anchor = other.anchor;
            }
        } else if other.boots > self.boots {
            self.anchor = other.anchor;
        }
        self.boots = self.boots.max(other.boots);
        self.rollback_locked |= other.rollback_locked;
    }
}

/// The backoff clock: where, on the monotonic clock, the last failure was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FailureMark {
    /// The boot the failure happened in.
    pub(crate) boot: BootId,
    /// Elapsed time since that boot at the failure.
    pub(crate) elapsed_ms: u64,
}

impl FailureMark {
    /// The mark of a failure at `reading`.
    pub(crate) fn at(reading: &Reading) -> Self {
        Self { boot: reading.boot, elapsed_ms: reading.elapsed_ms }
    }

    /// Seconds of a `wait` left at `reading`: counted on the boot's elapsed
    /// time only, so the wall clock cannot shorten it; `None` after a
    /// reboot (the wait restarts in full from a new mark).
    pub(crate) fn remaining(&self, wait_secs: u64, reading: &Reading) -> Result<Option<u64>> {
        if reading.boot != self.boot {
            return Ok(None);
        }
        if went_back(reading.elapsed_ms, self.elapsed_ms) {
            return Err(Error::ClockRollback);
        }
        let waited = u64::try_from(secs_between(self.elapsed_ms, reading.elapsed_ms)).unwrap_or(u64::MAX);
        Ok(Some(wait_secs.saturating_sub(waited)))
    }
}

#[cfg(test)]
#[path = "time_tests.rs"]
mod tests;
