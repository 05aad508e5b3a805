//! [`VaultShared`]: everything a vault's handles, sessions and queues share.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use offline_auth_proto::escrow::EscrowPublicKey;

use super::gate::{EnablingGuard, Gate, GateGuard};
use super::record_index::RecordIndexCell;
use crate::clock::Clock;
use crate::config::VaultConfig;
use crate::error::Result;
use crate::events::EventSink;
use crate::grant::TrustedIssuers;
use crate::keystore::PlatformKeystore;
use crate::storage::Db;
use crate::time::Reading;

/// A lock-time epoch end the keystore refused (`epoch_deferral.rs`): for
/// which enrolment, at which key epoch (if it could be read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeferredEpochEnd {
    pub(crate) vault_id: Vec<u8>,
    pub(crate) key_epoch: Option<u64>,
}

/// Everything a vault's handles share: the database, the platform's
/// keystore and clock, the configuration, the attempt gate, the wipe epoch,
/// the in-memory record index and the security-event listener.
pub(crate) struct VaultShared {
    /// The vault's database.
    pub(crate) db: Db,
    /// The platform keystore that wraps the device secret (and the biometric key).
    pub(crate) keystore: Arc<dyn PlatformKeystore>,
    /// The platform's clock; read only through [`VaultShared::reading`].
    clock: Arc<dyn Clock>,
    /// The validated configuration.
    pub(crate) config: VaultConfig,
    /// The issuers whose grants the vault accepts.
    pub(crate) issuers: TrustedIssuers,
    /// The backend's escrow key, verified (`None`: nothing is escrowed).
    pub(crate) escrow: Option<EscrowPublicKey>,
    gate: Gate,
    /// Bumped by every wipe; sessions opened before it stop working.
    wipe_epoch: AtomicU64,
    /// Versions of the live records, checked against the sealed state's
    /// digest (see `record_index.rs`).
    pub(crate) record_index: RecordIndexCell,
    /// The app's security-event listener (see `events.rs`).
    pub(crate) events: EventSink,
    /// A lock-time epoch end the keystore refused (see `epoch_deferral.rs`).
    deferred_epoch_end: Mutex<Option<DeferredEpochEnd>>,
}

impl std::fmt::Debug for VaultShared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultShared").field("device_id", &self.config.device_id).finish_non_exhaustive()
    }
}

impl VaultShared {
    /// Validates `config`, then opens (or creates) the database at `path`
    /// and its lock file.
    pub(crate) fn open(
        path: &str,
        keystore: Arc<dyn PlatformKeystore>,
        clock: Arc<dyn Clock>,
        config: VaultConfig,
    ) -> Result<Self> {
        let issuers = config.validate()?;
        let escrow = config.escrow_public_key(&issuers)?;
        let db = Db::open(path)?;
        let gate = Gate::open(path)?;
        Ok(Self {
            db,
            keystore,
            clock,
            config,
            issuers,
            escrow,
            gate,
            wipe_epoch: AtomicU64::new(0),
            record_index: RecordIndexCell::default(),
            events: EventSink::default(),
            deferred_epoch_end: Mutex::new(None),
        })
    }

    /// Waits for the attempt gate (see `gate.rs`).
    pub(crate) fn gate(&self) -> Result<GateGuard<'_>> {
        self.gate.enter()
    }

    /// See [`Gate::begin_enabling`].
    pub(crate) fn begin_enabling<'a>(&'a self, gate: &GateGuard<'_>) -> Result<EnablingGuard<'a>> {
        self.gate.begin_enabling(gate)
    }

    /// See [`Gate::enabling_in_progress`].
    pub(crate) fn enabling_in_progress(&self, gate: &GateGuard<'_>) -> bool {
        self.gate.enabling_in_progress(gate)
    }

    /// The gate if no one holds it.
    pub(crate) fn try_gate(&self) -> Option<GateGuard<'_>> {
        self.gate.try_enter()
    }

    /// One look at the clocks (wall, boot, elapsed since boot). Taken before
    /// any lock: the clock may be a foreign callback.
    pub(crate) fn reading(&self) -> Result<Reading> {
        Reading::take(self.clock.as_ref())
    }

    /// The current wipe epoch.
    pub(crate) fn wipe_epoch(&self) -> u64 {
        self.wipe_epoch.load(Ordering::SeqCst)
    }

    /// Replaces the deferred epoch end with `next`; returns the one it held.
    pub(crate) fn set_deferred_epoch_end(&self, next: Option<DeferredEpochEnd>) -> Option<DeferredEpochEnd> {
        // A poisoned lock still holds a whole value (one assignment).
        let mut slot = self.deferred_epoch_end.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        std::mem::replace(&mut *slot, next)
    }

    /// Notes a wipe: sessions opened before it stop working.
    pub(crate) fn note_wipe(&self) {
        self.wipe_epoch.fetch_add(1, Ordering::SeqCst);
    }
}
