//! `PinVault::renewal_nonce`: a renewal nonce without a session.
//!
//! A vault whose clock was once set far ahead has an expired (or
//! rollback-locked) grant, so no session opens; the nonce that lets its
//! next renewal repair the time (`fresh.rs`) must be made without one. It
//! needs no PIN: the keystore unwraps `DK` (one call), whose subkey tags the
//! nonce. The gate is held so that no rotation deletes the alias meanwhile.
//! Nothing is written: the nonce carries its own authenticated record.

use super::attempt::load_row;
use crate::engine::{unwrap_device_secret, VaultShared};
use crate::error::Result;

/// A renewal nonce made now, tagged under `DK`.
pub(super) fn renewal_nonce(vault: &VaultShared) -> Result<String> {
    let _gate = vault.gate()?;
    let row = load_row(vault)?;
    let dk = unwrap_device_secret(vault, &row)?;
    let reading = vault.reading()?;
    dk.state_binding(&row.vault_id)?.renewal_key().nonce(&reading)
}
