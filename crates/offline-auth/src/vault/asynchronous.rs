//! The async forms of the [`PinVault`] calls that block: Kotlin `suspend`,
//! Swift `async`, Python `asyncio` (UniFFI async exports). Each runs its
//! blocking twin on a thread of its own (`crate::offload`), so the caller's
//! thread (a UI thread, an event loop) keeps running while the PIN KDF or the
//! platform keystore works.
//!
//! Cancelling the future does not stop the call: a cancelled `unlock_async`
//! has still counted its PIN attempt, a cancelled `wipe_async` still wipes.

use std::sync::Arc;

use super::handle::PinVault;
use crate::error::VaultError;
use crate::offload;
use crate::session::OfflineSession;

#[uniffi::export]
impl PinVault {
    /// [`PinVault::enroll`] off the caller's thread (it runs the PIN KDF and
    /// the keystore). Cancelling does not stop the enrolment.
    ///
    /// # Errors
    /// As [`PinVault::enroll`].
    pub async fn enroll_async(
        self: Arc<Self>,
        pin: String,
        grant: String,
        sync_key: Vec<u8>,
    ) -> Result<Arc<OfflineSession>, VaultError> {
        offload::run(move || self.enroll(pin, &grant, sync_key)).await
    }

    /// [`PinVault::renewal_nonce`] off the caller's thread (it calls the
    /// keystore and waits for the attempt gate).
    ///
    /// # Errors
    /// As [`PinVault::renewal_nonce`].
    pub async fn renewal_nonce_async(self: Arc<Self>) -> Result<String, VaultError> {
        offload::run(move || self.renewal_nonce()).await
    }

    /// [`PinVault::unlock`] off the caller's thread (PIN KDF and keystore).
    /// Cancelling does not stop the attempt: it has been counted regardless.
    ///
    /// # Errors
    /// As [`PinVault::unlock`].
    pub async fn unlock_async(self: Arc<Self>, pin: String) -> Result<Arc<OfflineSession>, VaultError> {
        offload::run(move || self.unlock(pin)).await
    }

    /// [`PinVault::unlock_with_grant`] off the caller's thread. Cancelling
    /// does not stop the attempt.
    ///
    /// # Errors
    /// As [`PinVault::unlock_with_grant`].
    pub async fn unlock_with_grant_async(
        self: Arc<Self>,
        pin: String,
        grant: String,
    ) -> Result<Arc<OfflineSession>, VaultError> {
        offload::run(move || self.unlock_with_grant(pin, &grant)).await
    }

    /// [`PinVault::unlock_with_biometrics`] off the caller's thread (it waits
    /// for the platform's biometric prompt).
    ///
    /// # Errors
    /// As [`PinVault::unlock_with_biometrics`].
    pub async fn unlock_with_biometrics_async(self: Arc<Self>) -> Result<Arc<OfflineSession>, VaultError> {
        offload::run(move || self.unlock_with_biometrics()).await
    }

    /// [`PinVault::change_pin`] off the caller's thread (two PIN KDF runs).
    /// Cancelling does not stop it: the attempt is counted and, if the old
    /// PIN was right, the new PIN is set.
    ///
    /// # Errors
    /// As [`PinVault::change_pin`].
    pub async fn change_pin_async(self: Arc<Self>, old_pin: String, new_pin: String) -> Result<(), VaultError> {
        offload::run(move || self.change_pin(old_pin, new_pin)).await
    }

    /// [`PinVault::wipe`] off the caller's thread (keystore deletions and a
    /// database rewrite). Cancelling does not stop the wipe.
    ///
    /// # Errors
    /// As [`PinVault::wipe`].
    pub async fn wipe_async(self: Arc<Self>) -> Result<(), VaultError> {
        offload::run(move || self.wipe()).await
    }
}
