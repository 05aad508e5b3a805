//! Keystore keys under fresh aliases: creating one so that a crash never
//! orphans it, and deleting the ones the database says must go.

use super::gate::GateGuard;
use super::shared::VaultShared;
use crate::error::Result;
use crate::keys::is_biometric_alias;
use crate::keystore::KeyProtection;
use crate::storage::{tables, VaultRow};

/// Deletes every keystore key the database says must go; stops at the first
/// failure (the rest stay listed and are retried). Only the gate's holder
/// purges, so no alias another handle has reserved and not yet adopted is in
/// the list, except the biometric alias of an enable whose prompt is up: while
/// one is, biometric aliases are left for a later purge. An alias the current
/// row names is never deleted.
pub(crate) fn purge_retired_keys(vault: &VaultShared, gate: &GateGuard<'_>) -> Result<()> {
    let (retired, row) = vault.db.read(|c| Ok((tables::retired_keys(c)?, VaultRow::load(c)?)))?;
    let in_use = |alias: &str| {
        row.as_ref().is_some_and(|row| {
            row.device_alias == alias || row.bio.as_ref().is_some_and(|(bio_alias, _)| bio_alias == alias)
        })
    };
    let enabling = vault.enabling_in_progress(gate);
    for alias in retired {
        if enabling && is_biometric_alias(&alias) {
            continue;
        }
        if !in_use(&alias) {
            vault.keystore.delete_key(alias.clone())?;
        }
        vault.db.write(|tx| tables::forget_retired_key(tx, &alias))?;
    }
    Ok(())
}

/// Creates a keystore key under the new `alias` and wraps `secret` with it.
///
/// The alias is recorded as "to delete" *before* the keystore creates the
/// key, so a crash between creating it and committing the row that uses it
/// cannot leave an orphaned key: the commit that adopts the alias forgets it
/// again (`tables::forget_retired_key`), and otherwise the next purge deletes
/// it. A wrap the keystore refused created nothing, and leaves nothing.
pub(crate) fn wrap_with_new_key(
    vault: &VaultShared,
    _gate: &GateGuard<'_>,
    alias: &str,
    protection: KeyProtection,
    secret: &[u8],
) -> Result<Vec<u8>> {
    vault.db.write(|tx| tables::retire_key(tx, alias))?;
    match vault.keystore.wrap(alias.to_owned(), protection, secret.to_vec()) {
        Ok(wrapped) => Ok(wrapped),
        Err(error) => {
            vault.db.write(|tx| tables::forget_retired_key(tx, alias)).ok();
            Err(error.into())
        }
    }
}
