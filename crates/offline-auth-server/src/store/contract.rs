//! The contract every store keeps: the trait and the values it passes.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use crate::kek::KekError;
use offline_auth_backend::{AppliedEntry, BackendError, Revocation, SyncCursor, SyncOperation, VerifiedBatch};

/// A store call's future (boxed, so the trait can be used as `dyn Store`).
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Issues a grant given the device's last `iat`; returns the grant and its `iat`.
pub type IssueGrant<'a> = &'a (dyn Fn(i64) -> Result<(String, i64), BackendError> + Send + Sync);

/// Why a store call failed. Nothing was changed in either case.
#[derive(Debug)]
pub enum StoreError {
    /// The database cannot be reached or gave up (connection lost, pool
    /// exhausted, restart, serialisation failure): the client should retry.
    Unavailable(String),
    /// Anything else the database refused.
    Failed(String),
    /// Issuing the grant failed (inside an enrolment or renewal).
    Backend(BackendError),
    /// A stored key could not be wrapped or opened under the KEK.
    Key(KekError),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unavailable(why) => write!(f, "database unavailable: {why}"),
            Self::Failed(why) => write!(f, "database: {why}"),
            Self::Backend(error) => write!(f, "{error}"),
            Self::Key(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for StoreError {}

/// What the sync path needs of a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceState {
    /// The user (tenant) the device is enrolled for.
    pub user_id: String,
    /// Its sync key (changes on re-enrolment).
    pub sync_key: Vec<u8>,
    /// How far its chain has been applied.
    pub cursor: SyncCursor,
}

/// What an attested enrolment proved, stored per device (the backend's
/// `EnrolmentSummary` in storable form): read back to check upload
/// signatures and to renew with the same window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceEvidence {
    /// The evidence kind (`android_key_attestation`, `none`, ...).
    pub kind: String,
    /// The level proved (`strongbox`, `trusted_environment`, `software`, `unattested`).
    pub level: String,
    /// The policy preset it was accepted under (`production`, `development`).
    pub policy: String,
    /// The offline window its grants get, seconds.
    pub window_secs: i64,
    /// OS patch level `YYYYMM`, if attested.
    pub os_patch_level: Option<i64>,
    /// Verified boot state, if attested.
    pub boot_state: Option<String>,
    /// Whether the bootloader was locked, if attested.
    pub device_locked: Option<bool>,
    /// The attested app's package names, if attested.
    pub app_id: Option<String>,
    /// The upload key's kind and bytes (DER SPKI for `ecdsa_p256`, the
    /// uncompressed point for `apple_app_attest`), if any.
    pub upload_key: Option<(String, Vec<u8>)>,
    /// The last App Attest assertion counter accepted (0 at enrolment), for
    /// an `apple_app_attest` key; raised only by
    /// [`Store::advance_app_attest_counter`].
    pub app_attest_counter: Option<i64>,
}

/// What taking a challenge found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeTaken {
    /// Issued for this device, unexpired, unused: now marked used.
    Fresh,
    /// Issued for this device but expired (nothing changed).
    Expired,
    /// Already used by an enrolment (nothing changed).
    Used,
    /// Never issued for this device (or purged).
    Unknown,
}

/// The outcome of an enrolment.
#[derive(Debug)]
pub enum Enrolled {
    /// Enrolled (or re-enrolled, starting a new chain); the new grant.
    Issued(String),
    /// The device is enrolled for another user; nothing changed.
    OtherUser,
}

/// The outcome of [`Store::apply`].
#[derive(Debug)]
pub enum Applied {
    /// Applied, cursor advanced, receipt recorded, committed.
    Done,
    /// The device's state is no longer the one the batch was verified from
    /// (another upload won the race, or the device re-enrolled): nothing
    /// was applied. Here is the state found under the lock.
    Moved(DeviceState),
    /// The device no longer exists.
    Gone,
}

/// A record as `/records` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Its collection.
    pub collection: String,
    /// Its key.
    pub key: String,
    /// Its value.
    pub value: Vec<u8>,
}

/// A remote directive waiting for its device (issue 25, section 3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedDirective {
    /// The device it is for (its audience).
    pub device_id: String,
    /// Its id (`jti`): what the device acknowledges.
    pub jti: String,
    /// When it was issued (`iat`, the server's time).
    pub iat: i64,
    /// Its action, as the token names it (`wipe`, ...), for the operator.
    pub action: String,
    /// The signed compact JWS, delivered as it is.
    pub token: String,
}

/// Most directives one answer carries (a device has seldom more than one).
pub const MAX_DELIVERED_DIRECTIVES: u32 = 16;

/// Where remote directives wait: queued by the operator, delivered in every
/// answer to the device's sync and renewal, until the device acknowledges
/// them (docs/decisions/0015-remote-directives.md).
pub trait Directives {
    /// Queues `directive` for an enrolled device; `false` for a device never
    /// enrolled (nothing stored).
    fn queue_directive<'a>(&'a self, directive: &'a QueuedDirective) -> StoreFuture<'a, bool>;

    /// The device's directives not acknowledged, oldest first (by `iat`,
    /// then as queued), at most [`MAX_DELIVERED_DIRECTIVES`]: their tokens.
    fn pending_directives<'a>(&'a self, device_id: &'a str) -> StoreFuture<'a, Vec<String>>;

    /// Marks the device's directives among `jtis` acknowledged at `at`
    /// (others' and unknown ids are ignored); returns how many were newly.
    fn acknowledge_directives<'a>(&'a self, device_id: &'a str, jtis: &'a [String], at: i64) -> StoreFuture<'a, u64>;
}

/// A device as the operator's page lists it (`operator.rs`): what the
/// store knows of it, its last upload, and its refusals of the last day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSummary {
    /// The device id (device-supplied: escape it wherever it is shown).
    pub device_id: String,
    /// The user it is enrolled for.
    pub user_id: String,
    /// The last seq applied (its cursor).
    pub acknowledged_seq: u64,
    /// When it last uploaded (the server's time, seconds since the epoch).
    pub last_contact: Option<i64>,
    /// The time (the device's clock) of the newest entry applied.
    pub newest_entry: Option<i64>,
    /// The boot count of the newest entry that carried one, and the one
    /// before that upload (the trend).
    pub boots: Option<i64>,
    /// The boot count as of the upload before the last one that carried one.
    pub boots_before: Option<i64>,
    /// When an upload last showed the clock-stretching sign (docs/TIME.md).
    pub stretch_at: Option<i64>,
    /// The attestation level of its last enrolment (`None`: attestation off).
    pub level: Option<String>,
    /// Its revocation, if revoked.
    pub revoked: Option<Revocation>,
    /// Its uploads refused since the time asked for, by reason.
    pub refusals: Vec<(String, u64)>,
}

/// What an answered upload of a known device tells the operator's page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Contact<'a> {
    /// The device.
    pub device_id: &'a str,
    /// The server's time of the answer.
    pub at: i64,
    /// The newest entry applied: its time (device clock) and boot count.
    pub newest: Option<(i64, Option<u32>)>,
    /// Whether the upload showed the clock-stretching sign.
    pub stretched: bool,
}

/// How long the operator's page keeps a device's refusals: two days of
/// hourly counts (it shows the last day).
pub const REFUSALS_KEPT_SECS: i64 = 2 * 24 * 3600;

/// The server's storage. Every method changes nothing when it fails.
pub trait Store: Directives + Send + Sync {
    /// The issuer key (`kid`, private key): the stored one, or `candidate`
    /// stored now if there is none. Instances racing here all get the one
    /// that was stored first.
    fn issuer_key(&self, candidate: (String, Vec<u8>)) -> StoreFuture<'_, (String, Vec<u8>)>;

    /// Enrols `device_id` for `user` with `sync_key` and a fresh cursor,
    /// unless it is enrolled for another user; `issue` runs with the device
    /// locked, given its last `iat` (0 if new), so `iat`s strictly increase.
    /// `evidence` replaces the device's stored evidence summary in the same
    /// transaction (`None`: attestation is off, any stored summary is dropped).
    fn enroll<'a>(
        &'a self,
        device_id: &'a str,
        user: &'a str,
        sync_key: &'a [u8],
        evidence: Option<&'a DeviceEvidence>,
        issue: IssueGrant<'a>,
    ) -> StoreFuture<'a, Enrolled>;

    /// Stores a challenge issued to `device_id`, usable until `expires_at`
    /// (Unix seconds); drops challenges that expired a day before `now`.
    fn put_challenge<'a>(
        &'a self,
        device_id: &'a str,
        challenge: &'a [u8],
        expires_at: i64,
        now: i64,
    ) -> StoreFuture<'a, ()>;

    /// Takes a challenge for `device_id` at `now`, once: the first caller
    /// of an unexpired one gets [`ChallengeTaken::Fresh`] (atomically, across
    /// instances), every later one [`ChallengeTaken::Used`].
    fn take_challenge<'a>(
        &'a self,
        device_id: &'a str,
        challenge: &'a [u8],
        now: i64,
    ) -> StoreFuture<'a, ChallengeTaken>;

    /// The evidence summary stored at the device's last enrolment, if any.
    fn device_evidence<'a>(&'a self, device_id: &'a str) -> StoreFuture<'a, Option<DeviceEvidence>>;

    /// Raises the device's stored App Attest counter to `counter` if it is
    /// still lower, in one statement (compare-and-set): `true` for the one
    /// request, on any instance, that raised it; `false` when the stored
    /// counter is already at or past it (a replay) or there is none.
    fn advance_app_attest_counter<'a>(&'a self, device_id: &'a str, counter: i64) -> StoreFuture<'a, bool>;

    /// A new grant for a device enrolled for `user` (`None` otherwise),
    /// issued with the device locked like [`Store::enroll`].
    fn renew<'a>(&'a self, device_id: &'a str, user: &'a str, issue: IssueGrant<'a>)
        -> StoreFuture<'a, Option<String>>;

    /// The device's owner, sync key and cursor, if it is enrolled.
    fn device<'a>(&'a self, device_id: &'a str) -> StoreFuture<'a, Option<DeviceState>>;

    /// In one transaction: locks the device, checks that its state still is
    /// `verified_from`, applies `batch`'s operations, keeps their chain
    /// MACs, stores its cursor and records its receipt.
    fn apply<'a>(
        &'a self,
        device_id: &'a str,
        verified_from: &'a DeviceState,
        batch: &'a VerifiedBatch,
    ) -> StoreFuture<'a, Applied>;

    /// The chain MACs applied for `device_id` at seqs `from..=through`, in
    /// order ([`Store::apply`] keeps one per operation): what the verifier
    /// is shown for a batch that overlaps the cursor.
    fn applied<'a>(&'a self, device_id: &'a str, from: u64, through: u64) -> StoreFuture<'a, Vec<AppliedEntry>>;

    /// The user's records, by collection and key.
    fn records<'a>(&'a self, user: &'a str) -> StoreFuture<'a, Vec<Record>>;

    /// Ok if the database answers and its schema is the one this build
    /// expects (every migration applied): what `/readyz` reports.
    fn ready(&self) -> StoreFuture<'_, ()>;

    /// Revokes an enrolled device: stores `revocation` unless the device is
    /// revoked already (the first revocation stays). Returns the revocation
    /// in force, or `None` for a device never enrolled (nothing stored).
    fn revoke<'a>(&'a self, revocation: &'a Revocation) -> StoreFuture<'a, Option<Revocation>>;

    /// The device's revocation, if it was revoked (read on every grant and
    /// upload, so a revocation through one instance holds on all).
    fn revocation<'a>(&'a self, device_id: &'a str) -> StoreFuture<'a, Option<Revocation>>;

    /// Notes an answered upload of `contact.device_id` for the operator's
    /// page (last contact, newest entry, boot count trend); nothing is
    /// stored for a device the store does not know.
    fn note_contact<'a>(&'a self, contact: &'a Contact<'a>) -> StoreFuture<'a, ()>;

    /// Counts a refused upload of `device_id` for `reason` in the hour of
    /// `at` (nothing for a device the store does not know), and drops the
    /// device's counts older than [`REFUSALS_KEPT_SECS`].
    fn note_refusal<'a>(&'a self, device_id: &'a str, reason: &'a str, at: i64) -> StoreFuture<'a, ()>;

    /// Up to `limit` devices in id order, each with its refusals counted
    /// since `since` (hourly counts: from the start of `since`'s hour).
    fn device_summaries(&self, since: i64, limit: u32) -> StoreFuture<'_, Vec<DeviceSummary>>;
}

/// The stored key rows, as they are (wrapped or not): what the KEK layer
/// ([`super::sealed::SealedStore`]) needs beyond [`Store`] to rewrap keys.
pub trait KeyRows: Store {
    /// Replaces the device's stored sync key `from` by `to` (the same key,
    /// wrapped anew), unless it changed meanwhile; whether it was replaced.
    fn replace_sync_key<'a>(&'a self, device_id: &'a str, from: &'a [u8], to: &'a [u8]) -> StoreFuture<'a, bool>;

    /// Replaces the stored issuer private key `from` by `to`, likewise.
    fn replace_issuer_key<'a>(&'a self, from: &'a [u8], to: &'a [u8]) -> StoreFuture<'a, bool>;

    /// Up to `limit` devices whose id sorts after `after`, in id order,
    /// with their stored sync keys (the walk of `--rewrap-keys`).
    fn sync_keys_after<'a>(&'a self, after: &'a str, limit: u32) -> StoreFuture<'a, Vec<(String, Vec<u8>)>>;
}

/// What a batch's operations leave behind, in one step per key: the last
/// operation on each (collection, key) wins, as if applied one by one.
/// Returns the puts (collection, key, value, seq) and the deletes.
pub fn net_effect(operations: &[SyncOperation]) -> NetEffect<'_> {
    let mut last: HashMap<(&str, &str), &SyncOperation> = HashMap::with_capacity(operations.len());
    for op in operations {
        last.insert((op.collection.as_str(), op.key.as_str()), op);
    }
    let mut effect = NetEffect::default();
    for op in operations {
        let is_last = last.get(&(op.collection.as_str(), op.key.as_str())).is_some_and(|l| std::ptr::eq(*l, op));
        if !is_last {
            continue;
        }
        match &op.value {
            Some(value) => effect.puts.push((op.collection.as_str(), op.key.as_str(), value.as_slice(), op.seq)),
            None => effect.deletes.push((op.collection.as_str(), op.key.as_str())),
        }
    }
    effect
}

/// The net effect of a batch (see [`net_effect`]).
#[derive(Debug, Default)]
pub struct NetEffect<'a> {
    /// Records written: collection, key, value, seq of the write.
    pub puts: Vec<(&'a str, &'a str, &'a [u8], u64)>,
    /// Records deleted: collection, key.
    pub deletes: Vec<(&'a str, &'a str)>,
}

/// The first seq a batch applies (for the receipts table), or the cursor's
/// next one when it applies nothing.
pub fn first_applied_seq(batch: &VerifiedBatch) -> u64 {
    batch.operations.first().map_or(batch.cursor.last_seq.saturating_add(1), |op| op.seq)
}
