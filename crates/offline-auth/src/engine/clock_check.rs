//! The clock check: the one place a reading of the clocks becomes a
//! decision. Sessions (every call, and when they lock), unlocks and the
//! writes and renewals that store time all go through it.
//!
//! 1. A session call more than the idle timeout after the last one, or in
//!    another boot, is refused (`SessionLocked`) and changes nothing.
//! 2. Elapsed time since boot that went backwards between two calls of a
//!    session (by more than threads racing to a lock explain) is a rollback.
//! 3. Otherwise the reading is taken into the trusted time
//!    ([`TimeState::observe`]), which applies the rollback rule.
//!
//! [`offline_window`] then decides whether data may be read or written: not
//! under a rollback lock, and not at or after the grant's `exp` in trusted
//! time.

use super::shared::VaultShared;
use super::state::VaultState;
use crate::error::{Error, Result};
use crate::events::SecurityEvent;
use crate::time::{went_back, BootId, Reading, TimeState};

/// Where on the boot clock a session's last call was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LastUse {
    boot: BootId,
    elapsed_ms: u64,
}

impl LastUse {
    /// A call at `reading`.
    pub(crate) fn at(reading: &Reading) -> Self {
        Self { boot: reading.boot, elapsed_ms: reading.elapsed_ms }
    }
}

impl VaultShared {
    /// The clock check (see the module docs). `last_use` is the session's
    /// last call, or `None` for a check against stored time alone (an
    /// unlock, a session locking).
    ///
    /// `Err(SessionLocked)`: idle too long or rebooted; nothing changed.
    /// `Err(ClockRollback)`: `time` now carries the rollback lock and must be
    /// stored like any other change. `Ok`: `time` took the reading in.
    pub(crate) fn check_clock(
        &self,
        time: &mut TimeState,
        reading: &Reading,
        last_use: Option<&mut LastUse>,
    ) -> Result<()> {
        let tolerance = self.config.clock_rollback_tolerance_secs;
        let Some(last) = last_use else {
            return time.observe(reading, tolerance);
        };
        let idle_ms = self.config.idle_timeout_secs.saturating_mul(1000);
        if last.boot != reading.boot || reading.elapsed_ms.saturating_sub(last.elapsed_ms) > idle_ms {
            return Err(Error::SessionLocked);
        }
        let observed = if went_back(reading.elapsed_ms, last.elapsed_ms) {
            // The clock is lying, which is a rollback (and stored as one).
            time.lock_rollback();
            Err(Error::ClockRollback)
        } else {
            time.observe(reading, tolerance)
        };
        last.elapsed_ms = last.elapsed_ms.max(reading.elapsed_ms);
        observed
    }
}

impl VaultShared {
    /// Records a `ClockRollback` event if a committed write set the rollback
    /// lock: `was_locked` is the stored state's before the write, `stored`
    /// the state it wrote. Once per rollback, whichever session, handle or
    /// process stores it first.
    pub(crate) fn report_rollback(&self, was_locked: bool, stored: &VaultState) {
        if !was_locked && stored.time().rollback_locked() {
            self.events.emit(SecurityEvent::ClockRollback);
        }
    }
}

impl VaultState {
    /// The clock check of an unlock, against the stored trusted time.
    pub(crate) fn check_clock(&mut self, vault: &VaultShared, reading: &Reading) -> Result<()> {
        vault.check_clock(&mut self.time, reading, None)
    }
}

/// Whether the offline window is open at `time` for a grant that ends at
/// `exp`: `ClockRollback` under a rollback lock, `GrantExpired` at or after
/// `exp` in trusted time.
pub(crate) fn offline_window(time: &TimeState, exp: i64) -> Result<()> {
    if time.rollback_locked() {
        return Err(Error::ClockRollback);
    }
    if time.trusted() >= exp {
        return Err(Error::GrantExpired);
    }
    Ok(())
}
