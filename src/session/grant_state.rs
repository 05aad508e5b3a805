//! Starting, resuming and renewing a session against the stored state.
//!
//! Every unlock re-checks the stored grant and the clock before a session
//! exists: trusted time = max(wall clock, last trusted time), persisted;
//! a wall clock behind it by more than the tolerance sets a persistent
//! rollback lock; a grant whose `exp` has passed in trusted time yields
//! `GrantExpired` (the PIN was still proven). Only a renewal — a newer grant
//! signed by a configured issuer, for this device and user — lifts either.

use std::sync::Arc;

use super::{load_state, store_state, OfflineSession};
use crate::clock::{check_time, TimeCheck};
use crate::error::{Error, Result};
use crate::grant::{self, GrantClaims};
use crate::vault::{VaultKeys, VaultShared, VaultState};

/// A grant presented for installation, signature already verified.
pub(crate) struct Renewal {
    pub(crate) claims: GrantClaims,
    pub(crate) token: String,
}

impl Renewal {
    /// Verifies the token's shape and signature against the vault's issuers.
    pub(crate) fn verify(vault: &VaultShared, token: String) -> Result<Self> {
        Ok(Self { claims: grant::verify_signature(&token, &vault.issuers)?, token })
    }

    /// Installs the grant into `state` if it is newer than the one in force.
    fn install(self, vault: &VaultShared, state: &mut VaultState, wall: i64) -> Result<()> {
        let config = &vault.config;
        grant::check_for_device(&self.claims, &config.device_id, wall, config.grant_clock_skew_secs)?;
        if self.claims.sub != state.user_id {
            return Err(Error::GrantInvalid("grant is for another user".into()));
        }
        let current = state.current_grant()?;
        if current.token == self.token {
            // Presenting the grant in force again proves nothing new.
            return Ok(());
        }
        if self.claims.iat < current.claims.iat || self.claims.jti == current.claims.jti {
            return Err(Error::GrantInvalid("grant is not newer than the one in force".into()));
        }
        // A fresh server-signed grant is the authority on time: it replaces
        // a trusted time that a clock set forward may have pushed too far.
        state.trusted_time = wall.max(self.claims.iat);
        state.rollback_locked = false;
        state.install_grant(self.token, self.claims);
        Ok(())
    }
}

/// The time checks of an unlock without renewal; updates `state`.
fn check_clock(vault: &VaultShared, state: &mut VaultState, wall: i64) -> Result<()> {
    if state.rollback_locked {
        return Err(Error::ClockRollback);
    }
    match check_time(wall, state.trusted_time, vault.config.clock_rollback_tolerance_secs) {
        TimeCheck::Trusted(now) => {
            state.trusted_time = now;
            Ok(())
        }
        TimeCheck::RolledBack => {
            state.rollback_locked = true;
            Err(Error::ClockRollback)
        }
    }
}

impl OfflineSession {
    /// The session of a fresh enrolment (its state was just stored).
    pub(crate) fn start(vault: Arc<VaultShared>, keys: VaultKeys, state: &VaultState) -> Result<Arc<Self>> {
        let trusted = state.trusted_time;
        Self::new(vault, keys, state, trusted)
    }

    /// A session after an unlock: checks (and persists) time and grant.
    pub(crate) fn resume(vault: Arc<VaultShared>, keys: VaultKeys, renewal: Option<Renewal>) -> Result<Arc<Self>> {
        let wall = vault.now()?;
        // Errors decided after the state changed are returned only once the
        // change (trusted time, rollback lock) is committed.
        let outcome = vault.db.write(|tx| {
            let mut state = load_state(tx, &keys)?;
            let checked = match renewal {
                Some(renewal) => renewal.install(&vault, &mut state, wall),
                None => check_clock(&vault, &mut state, wall),
            };
            let checked = checked.and_then(|()| {
                let current = &state.current_grant()?.claims;
                if current.dev != vault.config.device_id {
                    return Err(Error::GrantInvalid("grant is for another device".into()));
                }
                if state.trusted_time >= current.exp {
                    return Err(Error::GrantExpired);
                }
                Ok(())
            });
            match checked {
                Ok(()) | Err(Error::ClockRollback | Error::GrantExpired) => store_state(tx, &keys, &state)?,
                Err(error) => return Err(error),
            }
            Ok(checked.map(|()| state))
        })?;
        let state = outcome?;
        let trusted = state.trusted_time;
        Self::new(vault, keys, &state, trusted)
    }
}

/// `OfflineSession::renew_grant`.
pub(super) fn renew(session: &OfflineSession, token: String) -> Result<()> {
    let access = session.handle_access()?;
    let vault = session.vault();
    let renewal = Renewal::verify(vault, token)?;
    let wall = vault.now()?;
    let written = vault.db.write(|tx| {
        let mut state = load_state(tx, &access.keys)?;
        renewal.install(vault, &mut state, wall)?;
        if state.trusted_time >= state.current_grant()?.claims.exp {
            return Err(Error::GrantExpired);
        }
        store_state(tx, &access.keys, &state)?;
        Ok(state)
    });
    match written {
        Ok(state) => {
            session.observe(&state);
            Ok(())
        }
        Err(error) => session.fail(error),
    }
}

/// Stores the rollback lock so it survives a restart.
pub(super) fn persist_rollback(vault: &VaultShared, keys: &VaultKeys) -> Result<()> {
    vault.db.write(|tx| {
        let mut state = load_state(tx, keys)?;
        state.rollback_locked = true;
        store_state(tx, keys, &state)
    })
}
