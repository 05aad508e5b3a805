//! `SyncVerifier`: proves that a batch came untampered from a session.
//!
//! The batch is read as it is verified (`sync/batch_reader.rs`): size,
//! magic and version first, then every grant (signature by a configured
//! issuer, one device, one user, counts bounded before anything is read for
//! them), then each entry in turn: the seq run (contiguous, no gap after the
//! cursor), the MAC over the entry's bytes as sent, chained from the cursor,
//! its time inside its grant's window and not after the server's own clock
//! (plus the skew), its collection inside the grant's scope. Only new
//! entries become operations; entries at or before the cursor are replays,
//! counted, never returned. Any failure rejects the whole batch, and a
//! hostile batch costs no more memory than its own size.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::Arc;

use offline_auth_proto::batch_reader::{BatchReader, EntryRef, OpRef};
use offline_auth_proto::crypto::{ct_eq_mac, Mac32, MacKey, SecretKey};
use offline_auth_proto::entry::chain_mac_over;
use offline_auth_proto::grant::{self, GrantClaims, GrantPolicy, IssuerKey, TrustedIssuers};
use offline_auth_proto::limits::{check_names, check_value, MAX_BATCH_BYTES};
use offline_auth_proto::receipt::Receipt;

use crate::chain::KnownChain;
use crate::clock::{ServerClock, SystemServerClock};
use crate::cursor::{AppliedEntry, SyncCursor, SyncOperationRef, VerifiedBatchRef};
use crate::error::{BackendError as Error, RejectReason, Result};
use crate::events;

/// How far (seconds) a grant's start and an entry's time may lead the
/// server's clock: device clocks drift.
pub const DEFAULT_GRANT_CLOCK_SKEW_SECS: u64 = 60;

/// Verifies device batches against the issuer keys the backend trusts.
#[cfg_attr(feature = "ffi", derive(uniffi::Object))]
pub struct SyncVerifier {
    issuers: TrustedIssuers,
    policy: GrantPolicy,
    skew_secs: i64,
    clock: Arc<dyn ServerClock>,
}

impl std::fmt::Debug for SyncVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncVerifier").field("skew_secs", &self.skew_secs).finish_non_exhaustive()
    }
}

fn reject(kind: RejectReason, reason: impl Into<String>) -> Error {
    Error::rejected(kind, reason)
}

#[cfg_attr(feature = "ffi", uniffi::export)]
impl SyncVerifier {
    /// A verifier trusting `issuer_keys` (all keys whose grants may still
    /// cover unsynced edits, including recently rotated ones), on the
    /// system clock.
    ///
    /// # Errors
    /// `InvalidInput` for no keys, duplicate `kid`s or malformed keys.
    #[cfg_attr(feature = "ffi", uniffi::constructor)]
    pub fn new(issuer_keys: Vec<IssuerKey>) -> Result<Arc<Self>> {
        Self::with_clock(issuer_keys, Arc::new(SystemServerClock))
    }

    /// Like [`SyncVerifier::new`], with the server's (or a test's) clock:
    /// entries stamped later than its time plus the skew are refused.
    ///
    /// # Errors
    /// As [`SyncVerifier::new`].
    #[cfg_attr(feature = "ffi", uniffi::constructor)]
    pub fn with_clock(issuer_keys: Vec<IssuerKey>, clock: Arc<dyn ServerClock>) -> Result<Arc<Self>> {
        Self::with_policy(issuer_keys, clock, GrantPolicy::default())
    }

    /// Like [`SyncVerifier::with_clock`], demanding more of every grant a
    /// batch carries: a pinned issuer (`iss`) or audience (`aud`), or, for a
    /// migration window, accepting the first release's untyped grants.
    ///
    /// # Errors
    /// As [`SyncVerifier::new`].
    #[cfg_attr(feature = "ffi", uniffi::constructor)]
    pub fn with_policy(
        issuer_keys: Vec<IssuerKey>,
        clock: Arc<dyn ServerClock>,
        policy: GrantPolicy,
    ) -> Result<Arc<Self>> {
        let issuers = TrustedIssuers::new(&issuer_keys)?;
        Ok(Arc::new(Self { issuers, policy, skew_secs: DEFAULT_GRANT_CLOCK_SKEW_SECS as i64, clock }))
    }
}

// Not exported as such: the bindings see `crate::ffi`'s JVM-friendly forms.
impl SyncVerifier {
    /// Verifies `batch` for the device whose sync key is `sync_key`, starting
    /// from the `cursor` stored for it. Returns the new operations in order
    /// (borrowing their names and values from `batch`; `into_owned` for a
    /// copy), the cursor to store once they are applied, and the receipt to
    /// answer with once that is committed.
    ///
    /// This borrowing result is the fast path: no allocation per entry. The
    /// owned [`VerifiedBatch`](crate::VerifiedBatch) (what the bindings
    /// return) is this result copied once ([`VerifiedBatchRef::into_owned`]).
    /// Either way the batch is all or nothing: any entry that fails (its
    /// MAC, the chain, its grant, window, scope or limits) makes this an
    /// error, and no operation of the batch is returned. The example on
    /// [`VerifiedBatchRef`] shows a service applying it.
    ///
    /// # Errors
    /// `InvalidInput` for a sync key or cursor MAC that is not 32 bytes;
    /// `ClockUnavailable` if the server's clock cannot tell the time;
    /// `BatchRejected` with the reason for anything wrong with the batch.
    pub fn verify<'a>(&self, batch: &'a [u8], sync_key: &[u8], cursor: &SyncCursor) -> Result<VerifiedBatchRef<'a>> {
        self.verify_batch(batch, sync_key, cursor, &[])
    }

    /// Like [`verify`](Self::verify), shown the entries already applied
    /// that the batch overlaps (`applied`: the seqs from the batch's first
    /// minus one through the cursor, at most [`MAX_APPLIED_ENTRIES`](crate::MAX_APPLIED_ENTRIES), as
    /// kept from [`SyncOperation::mac`](crate::SyncOperation::mac)). Each
    /// overlapping entry is then checked against the one applied, so a
    /// device written back with an older copy of its files gets an answer
    /// it can re-base on instead of a refusal it cannot get past.
    ///
    /// # Errors
    /// As `verify`, and `Diverged` (with the answer for the device and the
    /// range it lost) when the batch parts from the applied chain;
    /// `InvalidInput` for `applied` entries that are too many, past the
    /// cursor, not 32 bytes, or contradict the cursor.
    pub fn verify_with_chain<'a>(
        &self,
        batch: &'a [u8],
        sync_key: &[u8],
        cursor: &SyncCursor,
        applied: &[AppliedEntry],
    ) -> Result<VerifiedBatchRef<'a>> {
        self.verify_batch(batch, sync_key, cursor, applied)
    }

    /// The receipt for a stored `cursor` of `device_id`: for answering an
    /// upload again (a lost response, or an upload that lost a race to
    /// another server instance) without verifying anything.
    ///
    /// # Errors
    /// `InvalidInput` for a sync key or cursor MAC that is not 32 bytes.
    pub fn receipt(&self, device_id: &str, sync_key: &[u8], cursor: &SyncCursor) -> Result<Vec<u8>> {
        let sync_key = sync_mac_key(sync_key)?;
        receipt_bytes(device_id.to_owned(), &sync_key, &cursor_mac(cursor)?, cursor.last_seq)
    }
}

fn sync_mac_key(sync_key: &[u8]) -> Result<MacKey> {
    Ok(MacKey::new(&SecretKey::from_slice(sync_key).map_err(|_| Error::invalid("the sync key must be 32 bytes"))?))
}

fn cursor_mac(cursor: &SyncCursor) -> Result<Mac32> {
    cursor.last_mac.as_slice().try_into().map_err(|_| Error::invalid("the cursor MAC must be 32 bytes"))
}

fn receipt_bytes(device_id: String, sync_key: &MacKey, head_mac: &Mac32, through_seq: u64) -> Result<Vec<u8>> {
    Ok(Receipt { device_id, through_seq, head_mac: *head_mac }.to_bytes(sync_key)?)
}

/// The grants of a batch, by `jti`, with whether an entry used each.
struct Grants {
    by_jti: HashMap<String, (GrantClaims, Cell<bool>)>,
    user_id: String,
}

impl SyncVerifier {
    /// [`Self::check_batch`] in a `verify_batch` span (device id, cursor,
    /// the seq range read), with one event for its result: the refusal's
    /// reason ([`RejectReason::as_str`]) and detail, or what was verified.
    /// Nothing secret is recorded: no key, MAC, grant token or value (the
    /// details of `BatchRejected` never carry one).
    fn verify_batch<'a>(
        &self,
        bytes: &'a [u8],
        sync_key: &[u8],
        cursor: &SyncCursor,
        applied: &[AppliedEntry],
    ) -> Result<VerifiedBatchRef<'a>> {
        let span = tracing::info_span!(
            "verify_batch",
            device_id = tracing::field::Empty,
            cursor_seq = cursor.last_seq,
            first_seq = tracing::field::Empty,
            last_seq = tracing::field::Empty,
            batch_bytes = bytes.len(),
        );
        let _entered = span.enter();
        let result = self.check_batch(bytes, sync_key, cursor, applied);
        events::verified(&result);
        result
    }

    fn check_batch<'a>(
        &self,
        bytes: &'a [u8],
        sync_key: &[u8],
        cursor: &SyncCursor,
        applied: &[AppliedEntry],
    ) -> Result<VerifiedBatchRef<'a>> {
        let sync_key = sync_mac_key(sync_key)?;
        let cursor_mac = cursor_mac(cursor)?;
        let chain = KnownChain::new(applied, cursor.last_seq, cursor_mac)?;
        let now = self.clock.now_unix_secs()?;
        if bytes.len() > MAX_BATCH_BYTES {
            return Err(reject(RejectReason::TooLarge, "batch exceeds the size limit"));
        }
        let mut reader = BatchReader::open(bytes)?;
        let span = tracing::Span::current();
        span.record("device_id", reader.device_id);
        let mut grants = self.verify_grants(&reader)?;

        let mut operations = Vec::with_capacity(reader.plausible_entries());
        let mut duplicates = 0u64;
        // The MAC the next entry must chain from: the cursor's for a batch
        // that starts right after it, the applied one before a batch that
        // starts with replays if the caller showed it; unknown otherwise
        // (the first entry's predecessor is not in the batch).
        let mut prev_mac: Option<Mac32> = None;
        // The last seq (and MAC) on which the batch agrees with the applied
        // chain, as far as the chain is known.
        let mut agreed: Option<(u64, Mac32)> = None;
        let (mut first_seq, mut expected_seq) = (None, 0u64);
        let mut last_seq = cursor.last_seq;
        // The grant the previous entry named: runs of entries share one, and
        // comparing the id is cheaper than hashing it for every entry (the
        // reader hands out the same slice for a repeated id, so the
        // comparison is usually of two pointers).
        let mut last_grant: Option<(&str, &(GrantClaims, Cell<bool>))> = None;
        while let Some(entry) = reader.next_entry()? {
            let seq = entry.seq;
            match first_seq {
                None => {
                    if seq == 0 {
                        return Err(reject(RejectReason::SeqGap, "seq numbers start at 1"));
                    }
                    if seq > cursor.last_seq.saturating_add(1) {
                        return Err(reject(
                            RejectReason::SeqGap,
                            format!("gap: the batch starts at seq {seq}, the cursor is at {}", cursor.last_seq),
                        ));
                    }
                    first_seq = Some(seq);
                    span.record("first_seq", seq);
                    prev_mac = chain.mac_at(seq - 1);
                    agreed = prev_mac.map(|mac| (seq - 1, mac));
                }
                Some(_) if seq != expected_seq => {
                    return Err(reject(RejectReason::SeqGap, format!("entries out of order at seq {seq}")))
                }
                Some(_) => {}
            }
            expected_seq = seq.saturating_add(1);
            // Replays are checked too (never applied): an altered old entry
            // means the batch was tampered with.
            if let Some(prev) = &prev_mac {
                let expected = chain_mac_over(&sync_key, prev, entry.boots.is_some(), entry.body);
                if !ct_eq_mac(&expected, &entry.mac) {
                    return Err(reject(RejectReason::ChainBroken, format!("MAC chain broken at seq {seq}")));
                }
            }
            prev_mac = Some(entry.mac);
            let (grant, used) = match last_grant {
                Some((jti, found)) if std::ptr::eq(jti, entry.grant_id) || jti == entry.grant_id => found,
                _ => match grants.by_jti.get(entry.grant_id) {
                    Some(found) => {
                        last_grant = Some((entry.grant_id, found));
                        found
                    }
                    None => {
                        return Err(reject(
                            RejectReason::GrantRejected,
                            format!("entry {seq} names a grant the batch does not carry"),
                        ))
                    }
                },
            };
            used.set(true);
            if seq <= cursor.last_seq {
                match chain.mac_at(seq) {
                    Some(applied) if ct_eq_mac(&entry.mac, &applied) => agreed = Some((seq, applied)),
                    // A genuine entry of the device (it chains, under the
                    // sync key, from a point both chains share) that is not
                    // the one applied: the device's queue parted here.
                    Some(_) => match agreed {
                        Some(common) if common.0 == seq - 1 => {
                            return Err(chain.diverged(reader.device_id, &sync_key, common, entry.mac)?)
                        }
                        _ => {
                            return Err(reject(
                                RejectReason::ChainBroken,
                                format!("entry {seq} differs from the one already applied"),
                            ))
                        }
                    },
                    None => agreed = None,
                }
                duplicates += 1;
                continue;
            }
            self.check_entry(&entry, grant, now)?;
            operations.push(operation(&entry));
            last_seq = seq;
        }
        span.record("last_seq", expected_seq.saturating_sub(1));
        if grants.by_jti.values().any(|(_, used)| !used.get()) {
            return Err(reject(RejectReason::GrantRejected, "the batch carries a grant no entry uses"));
        }
        let last_mac = if last_seq == cursor.last_seq { cursor_mac } else { prev_mac.unwrap_or(cursor_mac) };
        let device_id = reader.device_id;
        // A batch that ends before the cursor, every entry of it on the
        // applied chain: the answer says so (a plain receipt would name a
        // seq this queue may never have held).
        let receipt = match agreed {
            Some(common) if common.0 < cursor.last_seq && expected_seq.saturating_sub(1) == common.0 => {
                chain.position(device_id, &sync_key, common, None)?
            }
            _ => receipt_bytes(device_id.to_owned(), &sync_key, &last_mac, last_seq)?,
        };
        Ok(VerifiedBatchRef {
            receipt,
            device_id,
            user_id: std::mem::take(&mut grants.user_id),
            operations,
            duplicates,
            cursor: SyncCursor { last_seq, last_mac: last_mac.to_vec() },
        })
    }

    /// Every grant verified, for the batch's device, of one user, no `jti` twice.
    fn verify_grants(&self, reader: &BatchReader<'_>) -> Result<Grants> {
        let mut by_jti = HashMap::with_capacity(reader.grants.len());
        let mut user_id: Option<String> = None;
        for token in &reader.grants {
            let claims = grant::verify_signature(token, &self.issuers, &self.policy)
                .map_err(|e| reject(RejectReason::GrantRejected, format!("grant rejected: {}", Error::from(e))))?;
            if claims.dev != reader.device_id {
                return Err(reject(RejectReason::GrantRejected, "a grant is for another device"));
            }
            match &user_id {
                Some(user) if *user != claims.sub => {
                    return Err(reject(RejectReason::GrantRejected, "grants name different users"))
                }
                Some(_) => {}
                None => user_id = Some(claims.sub.clone()),
            }
            if by_jti.insert(claims.jti.clone(), (claims, Cell::new(false))).is_some() {
                return Err(reject(RejectReason::GrantRejected, "a grant appears twice"));
            }
        }
        let user_id = user_id.ok_or_else(|| reject(RejectReason::GrantRejected, "batch has no grant"))?;
        Ok(Grants { by_jti, user_id })
    }

    /// Time within the grant's window and not after the server's clock,
    /// collection within its scope, names and value within the limits.
    fn check_entry(&self, entry: &EntryRef<'_>, grant: &GrantClaims, now: i64) -> Result<()> {
        let (seq, time) = (entry.seq, entry.time);
        let start = grant.iat.max(grant.nbf.unwrap_or(i64::MIN));
        if time < start.saturating_sub(self.skew_secs) || time >= grant.exp {
            return Err(reject(
                RejectReason::OutsideGrantWindow,
                format!("entry {seq} was made outside its grant's window"),
            ));
        }
        if time > now.saturating_add(self.skew_secs) {
            return Err(reject(RejectReason::FromTheFuture, format!("entry {seq} is stamped after the server's time")));
        }
        if !grant.allows(entry.op.collection()) {
            return Err(reject(
                RejectReason::OutOfScope,
                format!("entry {seq} writes a collection outside the grant's scope"),
            ));
        }
        let sizes = match entry.op {
            OpRef::Put { collection, key, value } => check_names(collection, key).and_then(|()| check_value(value)),
            OpRef::Delete { collection, key } => check_names(collection, key),
        };
        sizes.map_err(|_| {
            reject(RejectReason::OverLimit, format!("entry {seq} exceeds the size limits of names or values"))
        })
    }
}

fn operation<'a>(entry: &EntryRef<'a>) -> SyncOperationRef<'a> {
    let (collection, key, value) = match entry.op {
        OpRef::Put { collection, key, value } => (collection, key, Some(value)),
        OpRef::Delete { collection, key } => (collection, key, None),
    };
    SyncOperationRef {
        seq: entry.seq,
        time: entry.time,
        grant_id: entry.grant_id,
        boots: entry.boots,
        collection,
        key,
        value,
        mac: entry.mac,
    }
}

#[cfg(test)]
#[path = "verifier_tests.rs"]
mod tests;
