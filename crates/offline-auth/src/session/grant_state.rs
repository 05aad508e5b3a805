//! Starting, resuming and renewing a session against the stored state.
//!
//! Every unlock observes the clocks against the stored time before a session
//! exists (see `clock.rs`): a rollback sets a persistent lock, and a grant
//! whose `exp` has passed in trusted time yields `GrantExpired` (the PIN was
//! still proven). Only a renewal — a grant strictly newer than the one in
//! force, signed by a configured issuer, for this device and user — lifts
//! either. Presenting the grant in force again is an ordinary unlock.

use std::sync::Arc;

use super::{load_state, store_state, OfflineSession};
use crate::clock::Reading;
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
        Ok(Self { claims: grant::verify_signature(&token, &vault.issuers, &vault.config.grant_policy())?, token })
    }

    /// Installs the grant into `state` if it is strictly newer than the one
    /// in force; returns `false` (nothing installed) for the grant in force.
    fn install(self, vault: &VaultShared, state: &mut VaultState, reading: &Reading) -> Result<bool> {
        let current = state.current_grant()?;
        if current.token == self.token {
            // Presenting the grant in force again proves nothing new.
            return Ok(false);
        }
        let config = &vault.config;
        grant::check_for_device(&self.claims, &config.device_id, reading.wall, config.grant_clock_skew_secs)?;
        if self.claims.sub != state.user_id {
            return Err(Error::GrantInvalid("grant is for another user".into()));
        }
        if self.claims.iat <= current.claims.iat || self.claims.jti == current.claims.jti {
            return Err(Error::GrantInvalid("grant is not newer than the one in force".into()));
        }
        // An expired grant changes nothing (trusted time never goes down).
        if self.claims.exp <= state.time.trusted {
            return Err(Error::GrantExpired);
        }
        state.time.renew(reading, self.claims.iat)?;
        state.install_grant(self.token, self.claims);
        Ok(true)
    }
}

impl OfflineSession {
    /// The session of a fresh enrolment (its state was just stored).
    pub(crate) fn start(
        vault: Arc<VaultShared>,
        keys: VaultKeys,
        state: &VaultState,
        reading: &Reading,
    ) -> Result<Arc<Self>> {
        Self::new(vault, keys, state, reading)
    }

    /// A session after an unlock: checks (and persists) time and grant.
    pub(crate) fn resume(vault: Arc<VaultShared>, keys: VaultKeys, renewal: Option<Renewal>) -> Result<Arc<Self>> {
        let reading = vault.reading()?;
        let tolerance = vault.config.clock_rollback_tolerance_secs;
        // Errors decided after the state changed are returned only once the
        // change (time, boots, rollback lock) is committed.
        let outcome = vault.db.write(|tx| {
            let mut state = load_state(tx, &keys)?;
            let installed = match renewal {
                Some(renewal) => renewal.install(&vault, &mut state, &reading),
                None => Ok(false),
            };
            let checked = installed.and_then(|installed| {
                if !installed {
                    state.time.observe(&reading, tolerance)?;
                }
                let current = &state.current_grant()?.claims;
                if current.dev != vault.config.device_id {
                    return Err(Error::GrantInvalid("grant is for another device".into()));
                }
                if state.time.trusted >= current.exp {
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
        Self::new(vault, keys, &state, &reading)
    }
}

/// `OfflineSession::renew_grant`.
pub(super) fn renew(session: &OfflineSession, token: String) -> Result<()> {
    let access = session.handle_access()?;
    let vault = session.vault();
    let renewal = Renewal::verify(vault, token)?;
    let reading = vault.reading()?;
    let written = vault.db.write(|tx| {
        let mut state = load_state(tx, &access.keys)?;
        state.time.merge(&access.time);
        if !renewal.install(vault, &mut state, &reading)? {
            // The grant in force: nothing new, and it lifts no rollback lock.
            return if state.time.rollback_locked { Err(Error::ClockRollback) } else { Ok(None) };
        }
        if state.time.trusted >= state.current_grant()?.claims.exp {
            return Err(Error::GrantExpired);
        }
        store_state(tx, &access.keys, &state)?;
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
