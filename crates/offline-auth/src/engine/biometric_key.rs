//! The biometric wrap of the vault key: adding it (from an open session)
//! and removing it (from a session, or when the platform invalidated it).

use super::gate::GateGuard;
use super::keystore_keys::{purge_retired_keys, wrap_with_new_key};
use super::shared::VaultShared;
use crate::error::{Error, Result};
use crate::keys::{new_alias, VaultKeys};
use crate::keystore::KeyProtection;
use crate::storage::{tables, VaultRow};

/// Wraps the vault key under a new biometric keystore key.
pub(crate) fn enable(vault: &VaultShared, keys: &VaultKeys) -> Result<()> {
    // The gate keeps a concurrent PIN attempt's purge away from the alias
    // reserved below until the row adopts it.
    let gate = vault.gate()?;
    let alias = new_alias(keys.vault_id(), "biometric")?;
    let wrap = wrap_with_new_key(vault, &gate, &alias, KeyProtection::Biometric, &keys.vk().to_vec())?;
    let stored = vault.db.write(|tx| {
        let row = VaultRow::load(tx)?.ok_or(Error::Wiped)?;
        if row.vault_id != keys.vault_id() {
            return Err(Error::Wiped);
        }
        if let Some((old, _)) = &row.bio {
            tables::retire_key(tx, old)?;
        }
        tables::forget_retired_key(tx, &alias)?;
        VaultRow::store_bio(tx, Some((&alias, &wrap)))
    });
    if let Err(error) = stored {
        vault.keystore.delete_key(alias).ok();
        return Err(error);
    }
    purge_retired_keys(vault, &gate)
}

/// Removes the biometric wrap and deletes its keystore key, taking the gate.
pub(crate) fn disable_for_session(vault: &VaultShared) -> Result<()> {
    disable(vault, &vault.gate()?)
}

/// Removes the biometric wrap and deletes its keystore key.
pub(crate) fn disable(vault: &VaultShared, gate: &GateGuard<'_>) -> Result<()> {
    vault.db.write(|tx| {
        if let Some(VaultRow { bio: Some((alias, _)), .. }) = VaultRow::load(tx)? {
            tables::retire_key(tx, &alias)?;
            VaultRow::store_bio(tx, None)?;
        }
        Ok(())
    })?;
    purge_retired_keys(vault, gate)
}
