//! Resuming and renewing a session against the stored state.
//!
//! Every unlock passes the engine's clock check against the stored time
//! before a session exists (see `engine/clock_check.rs`): a rollback sets a
//! persistent lock, and a grant whose `exp` has passed in trusted time yields
//! `GrantExpired` (the PIN was still proven). Only a renewal — a grant
//! strictly newer than the one in force, signed by a configured issuer, for
//! this device and user — lifts either. Presenting the grant in force again
//! is an ordinary unlock.

use std::sync::Arc;

use super::live::{Need, SessionCore};
use crate::engine::{offline_window, VaultShared, VaultState};
use crate::error::{Error, Result};
use crate::fresh::FRESH_RENEWAL_MAX_SECS;
use crate::grant::{self, GrantClaims};
use crate::keys::VaultKeys;
use crate::storage::directives;
use crate::time::Reading;

/// A grant presented for installation, signature already verified.
pub(crate) struct Renewal {
    /// Its claims (signature verified; device, user and age not yet checked).
    pub(crate) claims: GrantClaims,
    /// The grant as the backend issued it.
    pub(crate) token: String,
}

impl Renewal {
    /// Verifies the token's shape and signature against the vault's issuers.
    pub(crate) fn verify(vault: &VaultShared, token: String) -> Result<Self> {
        Ok(Self { claims: grant::verify_signature(&token, &vault.issuers, &vault.config.grant_policy())?, token })
    }

    /// Installs the grant into `state` if it is strictly newer than the one
    /// in force; returns `false` (nothing installed) for the grant in force.
    ///
    /// A grant whose nonce proves it fresh (`fresh.rs`) repairs the time.
    fn install(self, vault: &VaultShared, keys: &VaultKeys, state: &mut VaultState, reading: &Reading) -> Result<bool> {
        if state.current_grant()?.token == self.token {
            // Presenting the grant in force again proves nothing new.
            return Ok(false);
        }
        let config = &vault.config;
        grant::check_for_device(&self.claims, &config.device_id, reading.wall, config.grant_clock_skew_secs)?;
        let bound = FRESH_RENEWAL_MAX_SECS.min(config.clock_rollback_tolerance_secs);
        let fresh = keys.renewal_key().check(self.claims.nonce.as_deref(), reading, bound, state.time().last_fresh());
        state.install_renewal(self.token, self.claims, reading, fresh)?;
        Ok(true)
    }
}

/// A session after an unlock: checks (and persists) time and grant.
pub(super) fn resume(vault: Arc<VaultShared>, keys: VaultKeys, renewal: Option<Renewal>) -> Result<SessionCore> {
    let reading = vault.reading()?;
    // Errors decided after the state changed are returned only once the
    // change (time, boots, rollback lock) is committed.
    let (was_locked, state, checked, locked) = vault.db.write(|tx| {
        let mut state = VaultState::load(tx, &keys)?;
        let was_locked = state.time().rollback_locked();
        let installed = match renewal {
            Some(renewal) => renewal.install(&vault, &keys, &mut state, &reading),
            None => Ok(false),
        };
        let mut installed_iat = None;
        let checked = installed.and_then(|installed| {
            if installed {
                installed_iat = Some(state.current_grant()?.claims.iat);
            } else {
                state.check_clock(&vault, &reading)?;
            }
            let current = &state.current_grant()?.claims;
            if current.dev != vault.config.device_id {
                return Err(Error::GrantInvalid("grant is for another device".into()));
            }
            offline_window(state.time(), current.exp)
        });
        match checked {
            Ok(()) | Err(Error::ClockRollback | Error::GrantExpired) => state.store(tx, &keys)?,
            Err(error) => return Err(error),
        }
        // A remote lock (`vault/directive.rs`) holds until a grant the
        // backend issued at or after it is installed.
        if let Some(iat) = installed_iat {
            directives::lift_locks(tx, iat)?;
        }
        let locked = directives::lock_in_force(tx)?.is_some();
        Ok((was_locked, state, checked, locked))
    })?;
    vault.report_rollback(was_locked, &state);
    checked?;
    if locked {
        return Err(Error::LockedUntilRenewal);
    }
    SessionCore::new(vault, keys, &state, &reading)
}

/// `OfflineSession::renew_grant`.
pub(super) fn renew(session: &SessionCore, token: String) -> Result<()> {
    let access = session.access(Need::Handle)?;
    let vault = session.vault();
    let renewal = Renewal::verify(vault, token)?;
    let reading = vault.reading()?;
    let written = vault.db.write(|tx| {
        let mut state = VaultState::load(tx, &access.keys)?;
        state.merge_time(&access.time);
        if !renewal.install(vault, &access.keys, &mut state, &reading)? {
            // The grant in force: nothing new, and it lifts no rollback lock.
            return if state.time().rollback_locked() { Err(Error::ClockRollback) } else { Ok(None) };
        }
        // The renewal lifted any rollback lock: only expiry is left to decide.
        offline_window(state.time(), state.current_grant()?.claims.exp)?;
        state.store(tx, &access.keys)?;
        directives::lift_locks(tx, state.current_grant()?.claims.iat)?;
        Ok(Some(state))
    });
    match written {
        Ok(Some(state)) => {
            session.observe(&state);
            Ok(())
        }
        Ok(None) => Ok(()),
        Err(error) => session.fail(error),
    }
}

/// `OfflineSession::renewal_nonce`: a nonce made now, with the session's keys.
pub(super) fn renewal_nonce(session: &SessionCore) -> Result<String> {
    let access = session.access(Need::Handle)?;
    let reading = session.vault().reading()?;
    access.keys.renewal_key().nonce(&reading)
}
