//! The attempt gate: one holder at a time, across threads, handles and
//! processes, for everything that creates, adopts or deletes keystore keys
//! (PIN attempts, enrolment, PIN changes, biometric changes, epoch rotations,
//! wipes and key purges).
//!
//! Within one handle a mutex serialises threads. Across handles and
//! processes an exclusive lock on a file beside the database (`<db>-lock`)
//! does: without it, one handle's purge of retired keys could delete a key
//! that another handle has just created and not yet recorded, and every
//! later unlock would fail. The operating system releases the file lock when
//! its holder dies, so a crashed holder never blocks the vault.
//!
//! "Is a biometric enable in progress" has the same three audiences. The
//! file locks are `flock`s, held per open file: a handle asking its *own*
//! file with `try_lock` while one of its threads holds the shared lock gets
//! its lock silently upgraded (and then released) and the answer "no". So a
//! handle counts its own enables in memory and asks the file only about
//! other handles and processes, never while it holds the file itself.

use std::fs::{File, OpenOptions};
use std::sync::{Mutex, MutexGuard, PoisonError, TryLockError};

use crate::error::{Error, Result};

/// The gate of one handle.
pub(crate) struct Gate {
    threads: Mutex<()>,
    file: File,
    /// `<db>-enabling`: shared-locked by every handle with an
    /// `enable_biometrics` whose prompt is up (see [`Gate::begin_enabling`]).
    enabling: File,
    /// How many of this handle's threads have an enable in progress; the
    /// handle holds the shared lock on `enabling` while this is not 0.
    enabling_here: Mutex<usize>,
}

/// Held while a biometric enable waits for its prompt, outside the gate.
pub(crate) struct EnablingGuard<'a> {
    gate: &'a Gate,
}

impl Drop for EnablingGuard<'_> {
    fn drop(&mut self) {
        let mut here = self.gate.enabling_here.lock().unwrap_or_else(PoisonError::into_inner);
        *here = here.saturating_sub(1);
        if *here == 0 {
            self.gate.enabling.unlock().ok();
        }
    }
}

/// Proof that the gate is held; released on drop.
pub(crate) struct GateGuard<'a> {
    _threads: MutexGuard<'a, ()>,
    file: &'a File,
}

impl Drop for GateGuard<'_> {
    fn drop(&mut self) {
        // Closing the handle or ending the process releases it too.
        self.file.unlock().ok();
    }
}

impl Gate {
    /// Opens (creating, owner-only) the lock file of the database at `db_path`.
    pub(crate) fn open(db_path: &str) -> Result<Self> {
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let open = |suffix: &str| {
            options
                .open(format!("{db_path}-{suffix}"))
                .map_err(|e| Error::InvalidInput(format!("cannot open the vault's lock file: {}", e.kind())))
        };
        Ok(Self {
            threads: Mutex::new(()),
            file: open("lock")?,
            enabling: open("enabling")?,
            enabling_here: Mutex::new(0),
        })
    }

    /// Marks a biometric enable as in progress until the guard drops. Take it
    /// while holding the gate, before releasing the gate for the prompt: the
    /// alias it reserved stays in the "to delete" list (so a crash leaves
    /// nothing behind), and purges skip biometric aliases while any handle or
    /// process holds this.
    pub(crate) fn begin_enabling(&self, _gate: &GateGuard<'_>) -> Result<EnablingGuard<'_>> {
        let mut here = self.enabling_here.lock().unwrap_or_else(PoisonError::into_inner);
        if *here == 0 {
            self.enabling
                .lock_shared()
                .map_err(|e| Error::InvalidInput(format!("cannot lock the vault: {}", e.kind())))?;
        }
        *here = here.saturating_add(1);
        Ok(EnablingGuard { gate: self })
    }

    /// Whether a thread of this handle, another handle or another process
    /// has a biometric enable in progress. Asked under the gate, where no
    /// enable can begin (one can end). This handle's own enables are
    /// counted; the file is asked only when this handle holds no lock on it,
    /// so its `try_lock` tests the others' locks, never upgrades our own.
    pub(crate) fn enabling_in_progress(&self, _gate: &GateGuard<'_>) -> bool {
        let here = self.enabling_here.lock().unwrap_or_else(PoisonError::into_inner);
        if *here > 0 {
            return true;
        }
        match self.enabling.try_lock() {
            Ok(()) => {
                self.enabling.unlock().ok();
                false
            }
            Err(_) => true,
        }
    }

    /// Waits for the gate.
    pub(crate) fn enter(&self) -> Result<GateGuard<'_>> {
        // The mutex guards no data: a poisoned one is still a valid lock.
        let threads = self.threads.lock().unwrap_or_else(PoisonError::into_inner);
        self.file.lock().map_err(|e| Error::InvalidInput(format!("cannot lock the vault: {}", e.kind())))?;
        Ok(GateGuard { _threads: threads, file: &self.file })
    }

    /// The gate if no one holds it now.
    pub(crate) fn try_enter(&self) -> Option<GateGuard<'_>> {
        let threads = match self.threads.try_lock() {
            Ok(guard) => guard,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => return None,
        };
        self.file.try_lock().ok()?;
        Some(GateGuard { _threads: threads, file: &self.file })
    }
}
