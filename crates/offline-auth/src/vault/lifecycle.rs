//! Enrolment and wipe.

use std::sync::Arc;

use zeroize::Zeroizing;

use super::policy::{self, PinShape};
use crate::crypto::{random_array, SecretKey};
use crate::engine::{offline_window, purge_retired_keys, wrap_with_new_key, GateGuard, VaultShared, VaultState};
use crate::error::{Error, Result};
use crate::events::{SecurityEvent, WipeReason};
use crate::grant;
use crate::keys::{new_alias, wrap_vault_key, DeviceSecret, VaultKeys};
use crate::keystore::KeyProtection;
use crate::session::OfflineSession;
use crate::storage::{directives, pin_shape, tables, VaultRow};
use crate::time::TimeState;

/// Whether an enrolment exists.
pub(super) fn is_enrolled(vault: &VaultShared) -> Result<bool> {
    vault.db.read(|c| Ok(VaultRow::load(c)?.is_some()))
}

/// Enrols at online sign-in: a new vault id, vault key and device secret,
/// the PIN wrap and the first state, stored in one transaction.
pub(super) fn enroll(
    vault: &Arc<VaultShared>,
    pin: String,
    grant_token: String,
    sync_key: Vec<u8>,
) -> Result<Arc<OfflineSession>> {
    let pin = Zeroizing::new(pin);
    let sync_key =
        SecretKey::from_vec(sync_key).map_err(|_| Error::InvalidInput("the sync key must be 32 bytes".into()))?;
    let gate = vault.gate()?;
    if is_enrolled(vault)? {
        return Err(Error::AlreadyEnrolled);
    }
    policy::check(&pin, vault.config.min_pin_length)?;
    let claims = grant::verify_signature(&grant_token, &vault.issuers, &vault.config.grant_policy())?;
    let reading = vault.reading()?;
    grant::check_for_device(&claims, &vault.config.device_id, reading.wall, vault.config.grant_clock_skew_secs)?;
    let time = TimeState::enrolled(&reading, claims.iat);
    let grant_iat = claims.iat;
    offline_window(&time, claims.exp)?;
    purge_retired_keys(vault, &gate).ok();

    let vault_id: [u8; 16] = random_array()?;
    let vk = SecretKey::generate()?;
    let dk = DeviceSecret::generate()?;
    let device_alias = new_alias(&vault_id, "device")?;
    let device_wrap = wrap_with_new_key(vault, &gate, &device_alias, KeyProtection::Device, &dk.to_vec())?;

    let stored = (|| {
        let pin_wrap = wrap_vault_key(&vk, &dk, pin.as_bytes(), &vault_id, vault.config.pbkdf2_iterations)?;
        let keys = VaultKeys::new(&vault_id, vk, dk.state_binding(&vault_id)?, 0)?;
        let state = VaultState::new(&sync_key, grant_token, claims, time);
        let mut row = VaultRow {
            vault_id: vault_id.to_vec(),
            device_alias: device_alias.clone(),
            device_wrap,
            failed_attempts: 0,
            last_failure_at: 0,
            failure_mark: None,
            key_epoch: 0,
            attempts_mac: Vec::new(),
            state_mac: None,
            pin_wrap,
            bio: None,
            state: state.seal(&keys)?,
        };
        row.attempts_mac = dk.attempts_mac(&row)?.to_vec();
        row.state_mac = Some(keys.bind(&row.device_alias, row.key_epoch, &row.state).to_vec());
        vault.db.write(|tx| {
            if VaultRow::load(tx)?.is_some() {
                return Err(Error::AlreadyEnrolled);
            }
            tables::clear_vault(tx, false)?;
            tables::forget_retired_key(tx, &device_alias)?;
            pin_shape::store(tx, PinShape::current(vault.config.min_pin_length).to_stored())?;
            // A grant issued after a lock directive lifts it.
            directives::lift_locks(tx, grant_iat)?;
            row.insert(tx)
        })?;
        Ok((keys, state))
    })();
    match stored {
        Ok((keys, state)) => OfflineSession::start(vault.clone(), keys, &state, &reading),
        Err(error) => {
            // Nothing refers to the new key: remove it so it does not linger.
            vault.keystore.delete_key(device_alias).ok();
            Err(error)
        }
    }
}

/// Wipes the vault, taking the gate.
pub(super) fn wipe(vault: &VaultShared) -> Result<()> {
    let gate = vault.gate()?;
    wipe_locked(vault, &gate, WipeReason::Requested)
}

/// Wipes with the attempt gate already held; a `Wiped` event (for `reason`)
/// is recorded once the wipe is committed, if there was an enrolment.
pub(super) fn wipe_locked(vault: &VaultShared, gate: &GateGuard<'_>, reason: WipeReason) -> Result<()> {
    let wiped = vault.db.write(|tx| {
        let Some(row) = VaultRow::load(tx)? else {
            // Nothing enrolled: keep whatever "wiped" mark there is.
            return Ok(false);
        };
        tables::retire_key(tx, &row.device_alias)?;
        if let Some((bio_alias, _)) = &row.bio {
            tables::retire_key(tx, bio_alias)?;
        }
        tables::clear_vault(tx, true)?;
        pin_shape::forget(tx)?;
        Ok(true)
    })?;
    if wiped {
        vault.note_wipe();
        vault.events.emit(SecurityEvent::Wiped { reason });
    }
    // The wiped rows' old pages are still in the write-ahead log until a
    // checkpoint: copy them out (zeroed by secure_delete) and empty the log.
    // Also on a second call, which is how a failed checkpoint is retried.
    let checkpointed = vault.db.checkpoint_truncate();
    purge_retired_keys(vault, gate)?;
    checkpointed
}
