//! `OfflineSession`: what an unlock returns, and the only holder of the vault key.
//!
//! A session is a handle on an unlocked vault, bounded three ways: by the
//! server-signed grant (no data calls at or after its `exp`, measured in
//! trusted time), by the clock-rollback defence (a wall clock that moved back
//! beyond the tolerance locks offline access until an online renewal), and by
//! the idle timeout and [`OfflineSession::lock`] (after which every call
//! returns `SessionLocked` and the keys are zeroized). The clock and window
//! decisions are the engine's (`engine/clock_check.rs`).
//!
//! The work is split by concern: `handle.rs` (the exported object),
//! `live.rs` (the in-memory session and the checks every call passes),
//! `grant_state.rs` (resuming and renewing against the stored state) and
//! `records.rs` (get, put, delete, keys).

mod grant_state;
mod handle;
mod live;
mod records;

pub(crate) use grant_state::Renewal;
pub use handle::OfflineSession;
