//! The biometric wrap of the vault key: adding it (from an open session)
//! and removing it (from a session, or when the platform invalidated it).
//!
//! The row's `bio_alias` and `bio_wrap` are not covered by the attempt MAC,
//! and the keystore's blob cannot be checked without the biometric key. So
//! the stored wrap carries its own MAC under a `DK` subkey, over the alias
//! and the keystore's blob ([`seal_wrap`]); every path that turns biometrics
//! off or deletes the biometric key first authenticates the pair it acts
//! on ([`authenticate`]). An edited alias (the device key's, a forged one)
//! or a swapped wrap (the device wrap) is `Tampered` and changes nothing.
//! Aliases made since carry a tag that promises a MAC'd wrap, so stripping
//! the MAC is caught too. A wrap stored by an earlier release has no MAC:
//! it gets one at its first successful biometric unlock; until then only a
//! missing key under a tagged alias (whose tag needs `DK`) turns it off.

use super::epoch::unwrap_device_secret;
use super::gate::GateGuard;
use super::keystore_keys::purge_retired_keys;
use super::shared::VaultShared;
use crate::crypto::ct_eq;
use crate::error::{Error, Result};
use crate::events::{BiometricLoss, SecurityEvent};
use crate::keys::{biometric_alias_promises_wrap_mac, DeviceSecret, VaultKeys};
use crate::keystore::{KeyProtection, KeystoreError};
use crate::storage::{tables, VaultRow};

/// Marks a stored biometric wrap with a MAC (version 1). A keystore's blob
/// starting with these bytes is not one any platform writes.
const SEALED_WRAP_V1: &[u8; 8] = b"OA-BIO\x01\x00";
const MAC_LEN: usize = 32;

/// The stored biometric wrap: the keystore's blob, with or without its MAC.
enum StoredWrap<'a> {
    /// Written since wraps carry a MAC.
    V1 { mac: &'a [u8], wrap: &'a [u8] },
    /// Written by an earlier release: the keystore's blob alone.
    Legacy(&'a [u8]),
}

fn parse(stored: &[u8]) -> StoredWrap<'_> {
    match stored.strip_prefix(SEALED_WRAP_V1.as_slice()) {
        Some(rest) if rest.len() > MAC_LEN => {
            let (mac, wrap) = rest.split_at(MAC_LEN);
            StoredWrap::V1 { mac, wrap }
        }
        _ => StoredWrap::Legacy(stored),
    }
}

/// The stored form of the keystore's `wrap` made under `alias`.
fn seal_wrap(dk: &DeviceSecret, vault_id: &[u8], alias: &str, wrap: &[u8]) -> Result<Vec<u8>> {
    let mac = dk.biometric_wrap_mac(vault_id, alias, wrap)?;
    Ok([SEALED_WRAP_V1.as_slice(), mac.as_slice(), wrap].concat())
}

/// The part of a stored wrap the keystore made (what it unwraps).
pub(crate) fn keystore_wrap(stored: &[u8]) -> &[u8] {
    match parse(stored) {
        StoredWrap::V1 { wrap, .. } | StoredWrap::Legacy(wrap) => wrap,
    }
}

/// Whether the stored `(alias, stored wrap)` is one this vault wrote:
/// `Some(true)` authenticated, `Some(false)` edited, `None` a wrap of an
/// earlier release (no MAC) under an alias whose tag is not forged.
fn authenticate(dk: &DeviceSecret, vault_id: &[u8], alias: &str, stored: &[u8]) -> Result<Option<bool>> {
    match parse(stored) {
        StoredWrap::V1 { mac, wrap } => Ok(Some(ct_eq(&dk.biometric_wrap_mac(vault_id, alias, wrap)?, mac))),
        // A wrap without a MAC beside an alias that promises one was downgraded.
        StoredWrap::Legacy(_) => match dk.authenticates_biometric_alias(vault_id, alias)? {
            Some(false) => Ok(Some(false)),
            Some(true) if biometric_alias_promises_wrap_mac(alias) => Ok(Some(false)),
            Some(true) | None => Ok(None),
        },
    }
}

/// Wraps the vault key under a new biometric keystore key.
///
/// The platform shows its biometric prompt inside the keystore's `wrap`, and
/// the user may leave it up for minutes. The attempt gate is therefore *not*
/// held across that call: PIN attempts, PIN changes and wipes (from this or
/// another handle or process) go on meanwhile. That is safe because
/// - the new alias is reserved under the gate before the key exists, in the
///   "to delete" list as every new key is: a crash during the prompt leaves
///   it for a later purge, never an orphaned key;
/// - while the prompt is up this call holds the "enabling" lock, and purges
///   leave biometric aliases alone until no enable is in progress, so no
///   purge deletes the key the prompt is using;
/// - the wrap is of the vault key, which never changes for one enrolment (a
///   PIN change re-wraps the same key), and the row is re-checked under the
///   gate: if the vault was wiped or enrolled again meanwhile, the new key is
///   deleted and the call fails with `Wiped`;
/// - two enables at once each use their own alias; the later commit wins and
///   the other's key is retired and purged.
pub(crate) fn enable(vault: &VaultShared, keys: &VaultKeys) -> Result<()> {
    let (alias, enabling, dk) = {
        let gate = vault.gate()?;
        let row = vault.db.read(VaultRow::load)?.ok_or(Error::Wiped)?;
        if row.vault_id != keys.vault_id() {
            return Err(Error::Wiped);
        }
        // The alias's tag and the wrap's MAC need DK, held (zeroized on drop) across the prompt.
        let dk = unwrap_device_secret(vault, &row)?;
        // The wrap this one replaces is deleted below: only if it is ours.
        old_wrap_is_ours(&dk, &row)?;
        let alias = dk.new_biometric_alias(keys.vault_id())?;
        let enabling = vault.begin_enabling(&gate)?;
        vault.db.write(|tx| tables::retire_key(tx, &alias))?;
        (alias, enabling, dk)
    };
    let vk = keys.vk().to_vec();
    let wrap = match vault.keystore.wrap(alias.clone(), KeyProtection::Biometric, vk.to_vec()) {
        Ok(wrap) => wrap,
        Err(error) => {
            // A refused wrap made no key: nothing to delete later.
            vault.db.write(|tx| tables::forget_retired_key(tx, &alias)).ok();
            return Err(error.into());
        }
    };
    let gate = vault.gate()?;
    let stored = vault.db.write(|tx| {
        let row = VaultRow::load(tx)?.ok_or(Error::Wiped)?;
        if row.vault_id != keys.vault_id() {
            return Err(Error::Wiped);
        }
        old_wrap_is_ours(&dk, &row)?;
        if let Some((old, _)) = &row.bio {
            tables::retire_key(tx, old)?;
        }
        tables::forget_retired_key(tx, &alias)?;
        let stored = seal_wrap(&dk, &row.vault_id, &alias, &wrap)?;
        VaultRow::store_bio(tx, Some((&alias, &stored)))
    });
    drop(enabling);
    if let Err(error) = stored {
        if vault.keystore.delete_key(alias.clone()).is_ok() {
            vault.db.write(|tx| tables::forget_retired_key(tx, &alias)).ok();
        }
        return Err(error);
    }
    purge_retired_keys(vault, &gate)
}

/// Removes whatever biometric wrap the row holds and deletes its key, the
/// gate held: a remote directive's `biometrics_off`, which needs no PIN and
/// no device key. The purge never deletes the device key's alias (in use),
/// whatever an edited row names.
pub(crate) fn disable_under_gate(vault: &VaultShared, gate: &GateGuard<'_>) -> Result<()> {
    vault.db.write(|tx| {
        if let Some(VaultRow { bio: Some((alias, _)), .. }) = VaultRow::load(tx)? {
            tables::retire_key(tx, &alias)?;
            VaultRow::store_bio(tx, None)?;
        }
        Ok(())
    })?;
    purge_retired_keys(vault, gate)
}

/// `Tampered` if the row's biometric wrap (about to be replaced, its key
/// deleted) is not one this vault wrote.
fn old_wrap_is_ours(dk: &DeviceSecret, row: &VaultRow) -> Result<()> {
    match &row.bio {
        Some((alias, stored)) if authenticate(dk, &row.vault_id, alias, stored)? == Some(false) => Err(Error::Tampered),
        _ => Ok(()),
    }
}

/// Removes the biometric wrap and deletes its keystore key, taking the gate;
/// `Tampered` (nothing changed) if the stored wrap is not ours.
pub(crate) fn disable_for_session(vault: &VaultShared) -> Result<()> {
    let gate = vault.gate()?;
    let row = vault.db.read(VaultRow::load)?.ok_or(Error::Wiped)?;
    if let Some((alias, stored)) = &row.bio {
        old_wrap_is_ours(&unwrap_device_secret(vault, &row)?, &row)?;
        remove_wrap(vault, alias, stored)?;
    }
    purge_retired_keys(vault, &gate)
}

/// Acts on the platform's report that the biometric key under `alias` is
/// invalidated or missing (`loss`), `stored` being the wrap that was tried,
/// and says what the caller returns: `BiometricsInvalidated` once the pair
/// is authenticated and biometrics are off (its key deleted), `Tampered` for
/// an edited pair (nothing changed). A wrap of an earlier release (no MAC)
/// is turned off only for a missing key under a tagged alias; otherwise the
/// platform's error is reported and nothing changes.
pub(crate) fn judge_loss(vault: &VaultShared, alias: &str, stored: &[u8], loss: BiometricLoss) -> Error {
    judged_loss(vault, alias, stored, loss).unwrap_or_else(|error| error)
}

fn judged_loss(vault: &VaultShared, alias: &str, stored: &[u8], loss: BiometricLoss) -> Result<Error> {
    let gate = vault.gate()?;
    let row = vault.db.read(VaultRow::load)?.ok_or(Error::Wiped)?;
    let dk = unwrap_device_secret(vault, &row)?;
    let authentic = match authenticate(&dk, &row.vault_id, alias, stored)? {
        Some(authentic) => authentic,
        None => match (loss, dk.authenticates_biometric_alias(&row.vault_id, alias)?) {
            (BiometricLoss::KeyMissing, Some(true)) => true,
            (BiometricLoss::KeyMissing, _) => return Ok(Error::Keystore(KeystoreError::KeyNotFound)),
            (BiometricLoss::Invalidated, _) => return Ok(Error::Keystore(KeystoreError::KeyInvalidated)),
        },
    };
    if !authentic {
        return Ok(Error::Tampered);
    }
    // Only if it is still the wrap that failed: a concurrent enable may have
    // replaced it with a working one since.
    if remove_wrap(vault, alias, stored)? {
        vault.events.emit(SecurityEvent::BiometricsInvalidated { reason: loss });
    }
    purge_retired_keys(vault, &gate)?;
    Ok(Error::BiometricsInvalidated)
}

/// After a biometric unwrap whose vault key opened the state: `Tampered` if
/// the stored pair was edited all the same (a MAC byte), and a wrap of an
/// earlier release, now proven, gets its MAC (best effort).
pub(crate) fn check_proven_wrap(vault: &VaultShared, dk: &DeviceSecret, row: &VaultRow) -> Result<()> {
    let Some((alias, stored)) = &row.bio else { return Ok(()) };
    match authenticate(dk, &row.vault_id, alias, stored)? {
        Some(true) => Ok(()),
        Some(false) => Err(Error::Tampered),
        None => {
            let sealed = seal_wrap(dk, &row.vault_id, alias, stored)?;
            let upgraded = vault.db.write(|tx| match VaultRow::load(tx)? {
                Some(VaultRow { bio: Some((a, s)), .. }) if a == *alias && s == *stored => {
                    VaultRow::store_bio(tx, Some((alias, &sealed)))
                }
                _ => Ok(()),
            });
            upgraded.ok();
            Ok(())
        }
    }
}

/// Removes the biometric wrap if it is still exactly `(alias, stored)`,
/// retiring its key (the caller purges it under the gate); whether it did.
fn remove_wrap(vault: &VaultShared, alias: &str, stored: &[u8]) -> Result<bool> {
    vault.db.write(|tx| {
        if let Some(VaultRow { bio: Some((current, wrap)), .. }) = VaultRow::load(tx)? {
            if current == alias && wrap == stored {
                tables::retire_key(tx, alias)?;
                VaultRow::store_bio(tx, None)?;
                return Ok(true);
            }
        }
        Ok(false)
    })
}
