//! Remote directives: the backend's signed orders (wipe, lock until an
//! online renewal, biometrics off), delivered in its answers to sync and
//! renewal and handed to the vault by the app (`PinVault::apply_directive`).
//!
//! 1. **Verify.** The signature with the issuer keys the vault trusts for
//!    grants, the type (`offline-directive+jwt`, so no grant passes), the
//!    shape; then the audience against this device. Each refusal is typed
//!    (`DirectiveInvalid`, `DirectiveForAnotherDevice`) and changes nothing.
//! 2. **Decide, under the gate, in one transaction.** A `jti` already
//!    applied is `DirectiveReplayed`; one recorded and not finished is
//!    finished now (the backend delivers it again until acknowledged). An
//!    `iat` older than the newest recorded is `DirectiveOutdated` (a
//!    withheld directive cannot be played after a later one). Otherwise the
//!    intent is recorded (`pending`) and committed *before* anything is done.
//! 3. **Act, then mark done.** A kill (or a failing keystore) between the
//!    two leaves the row `pending`; `PinVault::open` and the next delivery
//!    finish it. Each action is idempotent, so finishing twice is harmless.
//!    - `lock_until_renewal`: the pending row already locks; `done` too.
//!      Offline unlocks (PIN, biometrics) are refused with
//!      `LockedUntilRenewal` until a grant the backend issued at or after
//!      the directive's `iat` is installed (`unlock_with_grant`,
//!      `renew_grant`, a new enrolment).
//!    - `biometrics_off`: the biometric wrap is removed and its key retired
//!      and deleted from the keystore (needs no PIN).
//!    - `wipe`: runs once no pending edit can be lost by it — every queue
//!      entry not yet acknowledged by a receipt has an escrowed copy (which
//!      survives the wipe; `salvage` delivers it), or there is none. Until
//!      then the row stays `pending` and the outcome says `finished: false`:
//!      the app uploads (or the next delivery finds the queue empty).
//! 4. **Report.** `DirectiveApplied` once done (and `Wiped` for a wipe).
//!
//! The directives table survives wipes (`storage/directives.rs`), so a
//! wipe directive delivered again after a new enrolment is a replay.

use offline_auth_proto::directive::verify_directive_signature;

use super::lifecycle::wipe_locked;
use crate::engine::{disable_biometrics_under_gate, GateGuard, VaultShared};
use crate::error::{Error, Result};
use crate::events::{DirectiveAction, SecurityEvent, WipeReason};
use crate::storage::directives::{unescrowed_pending, DirectiveRow, Progress};
use crate::storage::VaultRow;

/// Directives finished per call at most (a bound on the work of `open`).
const MAX_PENDING_FINISHED: u32 = 16;
/// Ids returned by `applied_directives` at most.
pub(crate) const MAX_ACKNOWLEDGED: u32 = 16;

/// What applying a directive did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
#[non_exhaustive]
pub struct DirectiveOutcome {
    /// The directive's id (`jti`): acknowledge it to the backend once
    /// `finished` (`applied_directives` lists them).
    pub jti: String,
    /// What it says.
    pub action: DirectiveAction,
    /// `true` once applied; `false` for a wipe waiting until no pending edit
    /// can be lost (upload the queue, then hand the directive over again).
    pub finished: bool,
}

/// Verifies `token`, records it and applies it.
pub(super) fn apply(vault: &VaultShared, token: &str) -> Result<DirectiveOutcome> {
    let directive = verify_directive_signature(token, &vault.issuers)?;
    if directive.device_id != vault.config.device_id {
        return Err(Error::DirectiveForAnotherDevice);
    }
    let action = DirectiveAction::from_wire(directive.action)
        .ok_or_else(|| Error::DirectiveInvalid("an action this version does not know".into()))?;
    let gate = vault.gate()?;
    let row = vault.db.write(|tx| {
        if let Some(row) = DirectiveRow::get(tx, &directive.jti)? {
            return match row.progress {
                Progress::Pending => Ok(row),
                Progress::Done | Progress::Lifted => Err(Error::DirectiveReplayed),
            };
        }
        if DirectiveRow::last_iat(tx)?.is_some_and(|last| directive.iat < last) {
            return Err(Error::DirectiveOutdated);
        }
        let row = DirectiveRow { jti: directive.jti.clone(), iat: directive.iat, action, progress: Progress::Pending };
        row.insert(tx)?;
        Ok(row)
    })?;
    let finished = finish(vault, &gate, &row)?;
    Ok(DirectiveOutcome { jti: row.jti, action: row.action, finished })
}

/// Finishes the directives recorded and not finished (oldest first), as
/// far as each can go now; the first failure stops (the rest wait).
pub(super) fn finish_pending(vault: &VaultShared, gate: &GateGuard<'_>) -> Result<()> {
    for row in vault.db.read(|c| DirectiveRow::pending(c, MAX_PENDING_FINISHED))? {
        finish(vault, gate, &row)?;
    }
    Ok(())
}

/// The ids of the directives applied, newest first.
pub(super) fn applied(vault: &VaultShared) -> Result<Vec<String>> {
    vault.db.read(|c| DirectiveRow::applied_ids(c, MAX_ACKNOWLEDGED))
}

/// Does what `row` says (if it can now) and marks it done; whether it is done.
fn finish(vault: &VaultShared, gate: &GateGuard<'_>, row: &DirectiveRow) -> Result<bool> {
    if row.progress != Progress::Pending {
        return Ok(true);
    }
    match row.action {
        // The pending row is the lock already.
        DirectiveAction::LockUntilRenewal => {}
        DirectiveAction::BiometricsOff => disable_biometrics_under_gate(vault, gate)?,
        DirectiveAction::Wipe => {
            if !wipe_loses_nothing(vault)? {
                return Ok(false);
            }
            wipe_locked(vault, gate, WipeReason::RemoteDirective)?;
        }
    }
    vault.db.write(|tx| DirectiveRow::mark_done(tx, &row.jti))?;
    vault.events.emit(SecurityEvent::DirectiveApplied { action: row.action, jti: row.jti.clone() });
    Ok(true)
}

/// Whether a wipe now loses no edit: no enrolment, or every pending queue
/// entry has an escrowed copy.
fn wipe_loses_nothing(vault: &VaultShared) -> Result<bool> {
    vault.db.read(|c| match VaultRow::load(c)? {
        None => Ok(true),
        Some(row) => Ok(unescrowed_pending(c, &row.vault_id)? == 0),
    })
}
