//! Where the server keeps its state: the issuer key, per device its owner,
//! sync key, cursor (seq and chain head), last grant and `iat`, the users'
//! records, every receipt issued and each applied entry's chain MAC (so a
//! device written back with an older copy is told where its queue parted),
//! and the remote directives waiting for each device ([`Directives`]).
//! One trait, two implementations: SQLite (one file, one process: the
//! default) and PostgreSQL (several
//! stateless instances sharing one database; the `postgres` feature).
//!
//! The HTTP layer verifies a batch outside any transaction, then calls
//! [`Store::apply`], which in one transaction locks the device, checks that
//! the stored state is still the one the batch was verified from, and only
//! then applies the operations, advances the cursor and records the receipt.

mod contract;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "postgres")]
mod postgres_directives;
#[cfg(feature = "postgres")]
mod postgres_evidence;
#[cfg(feature = "postgres")]
mod postgres_keys;
#[cfg(feature = "postgres")]
mod postgres_operator;
pub mod sealed;
pub mod sqlite;
mod sqlite_directives;
mod sqlite_keys;
mod sqlite_operator;

pub use contract::{
    first_applied_seq, net_effect, Applied, ChallengeTaken, Contact, DeviceEvidence, DeviceState, DeviceSummary,
    Directives, Enrolled, IssueGrant, KeyRows, NetEffect, QueuedDirective, Record, Store, StoreError, StoreFuture,
    MAX_DELIVERED_DIRECTIVES, REFUSALS_KEPT_SECS,
};
