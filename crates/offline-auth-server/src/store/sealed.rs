//! Keys at rest: a [`Store`] over any store that keeps sync keys and the
//! issuer private key wrapped under the operator's KEK ([`crate::kek`]).
//!
//! 1. **Writes wrap.** An enrolment stores the sync key as a blob bound to
//!    `sync_key` and the device id; the issuer key as a blob bound to
//!    `issuer` and its kid. Without a KEK, keys are written as before (the
//!    binary warns at start).
//! 2. **Reads open, and rewrap on first use.** A plain 32-byte key (an
//!    earlier release's row) or a blob under an older KEK is returned as
//!    the key and written back under the current KEK (compare-and-set: a
//!    row that changed meanwhile is left alone). `--rewrap-keys`
//!    ([`SealedStore::rewrap_all`]) does the same for every row at start.
//! 3. **A blob that does not open is an error, never a key.** Another
//!    row's blob, an unknown KEK, or a blob read without a KEK gives
//!    [`StoreError::Key`]; nothing is changed.
//! 4. **Uploads compare plain states.** [`Store::apply`] checks the state a
//!    batch was verified from; this layer reads the stored row, opens it,
//!    compares, and hands the inner store the stored (wrapped) state, so
//!    the inner store's check under its lock still compares stored bytes.

use std::sync::Arc;

use offline_auth_backend::{AppliedEntry, Revocation, VerifiedBatch};

use super::contract::{
    Applied, ChallengeTaken, Contact, DeviceEvidence, DeviceState, DeviceSummary, Directives, Enrolled, IssueGrant,
    KeyRows, QueuedDirective, Record, Store, StoreError, StoreFuture,
};
use crate::kek::{is_wrapped, KekError, KekProvider};

/// Devices read per step of [`SealedStore::rewrap_all`].
const REWRAP_PAGE: u32 = 500;

/// A store whose keys are wrapped under a KEK (see the module docs).
pub struct SealedStore {
    inner: Arc<dyn KeyRows>,
    kek: Option<Arc<dyn KekProvider>>,
}

fn sync_key_aad(device_id: &str) -> Vec<u8> {
    [b"offline-auth-server/kek/sync_key\0", device_id.as_bytes()].concat()
}

fn issuer_aad(kid: &str) -> Vec<u8> {
    [b"offline-auth-server/kek/issuer\0", kid.as_bytes()].concat()
}

impl SealedStore {
    /// `inner` with its keys wrapped under `kek` (`None`: kept in plain bytes).
    pub fn new(inner: Arc<dyn KeyRows>, kek: Option<Arc<dyn KekProvider>>) -> Self {
        Self { inner, kek }
    }

    fn wrap(&self, key: &[u8], aad: &[u8]) -> Result<Vec<u8>, StoreError> {
        match &self.kek {
            Some(kek) => kek.wrap(key, aad).map_err(StoreError::Key),
            None => Ok(key.to_vec()),
        }
    }

    /// The plain key in `stored`, and the bytes to store instead if it
    /// should be rewrapped (plain with a KEK configured, or an older KEK).
    fn open(&self, stored: &[u8], aad: &[u8]) -> Result<(Vec<u8>, Option<Vec<u8>>), StoreError> {
        let kek = match (&self.kek, is_wrapped(stored)) {
            (None, false) => return Ok((stored.to_vec(), None)),
            (None, true) => return Err(StoreError::Key(KekError::NoKek)),
            (Some(kek), _) => kek,
        };
        if !is_wrapped(stored) {
            return Ok((stored.to_vec(), Some(kek.wrap(stored, aad).map_err(StoreError::Key)?)));
        }
        let key = kek.unwrap(stored, aad).map_err(StoreError::Key)?;
        let rewrap = if kek.needs_rewrap(stored) { Some(kek.wrap(&key, aad).map_err(StoreError::Key)?) } else { None };
        Ok((key.to_vec(), rewrap))
    }

    /// Opens a device's stored state; rewraps its key if it should be.
    async fn open_device(&self, device_id: &str, stored: DeviceState) -> Result<DeviceState, StoreError> {
        let (key, rewrap) = self.open(&stored.sync_key, &sync_key_aad(device_id))?;
        if let Some(to) = rewrap {
            self.inner.replace_sync_key(device_id, &stored.sync_key, &to).await?;
        }
        Ok(DeviceState { sync_key: key, ..stored })
    }

    /// Rewraps every stored key that is plain or under an older KEK
    /// (`--rewrap-keys`); returns how many device keys were rewritten.
    /// Safe to run while serving and to run again.
    ///
    /// # Errors
    /// The store's, or a key that does not open (nothing after it is rewrapped).
    pub async fn rewrap_all(&self) -> Result<u64, StoreError> {
        let mut after = String::new();
        let mut rewritten = 0u64;
        loop {
            let page = self.inner.sync_keys_after(&after, REWRAP_PAGE).await?;
            for (device_id, stored) in &page {
                if let (_, Some(to)) = self.open(stored, &sync_key_aad(device_id))? {
                    if self.inner.replace_sync_key(device_id, stored, &to).await? {
                        rewritten += 1;
                    }
                }
            }
            match page.last() {
                Some((last, _)) if page.len() == REWRAP_PAGE as usize => after.clone_from(last),
                _ => return Ok(rewritten),
            }
        }
    }
}

impl Store for SealedStore {
    fn issuer_key(&self, candidate: (String, Vec<u8>)) -> StoreFuture<'_, (String, Vec<u8>)> {
        Box::pin(async move {
            let aad = issuer_aad(&candidate.0);
            let wrapped = self.wrap(&candidate.1, &aad)?;
            let (kid, stored) = self.inner.issuer_key((candidate.0, wrapped)).await?;
            let (key, rewrap) = self.open(&stored, &issuer_aad(&kid))?;
            if let Some(to) = rewrap {
                self.inner.replace_issuer_key(&stored, &to).await?;
            }
            Ok((kid, key))
        })
    }

    fn enroll<'a>(
        &'a self,
        device_id: &'a str,
        user: &'a str,
        sync_key: &'a [u8],
        evidence: Option<&'a DeviceEvidence>,
        issue: IssueGrant<'a>,
    ) -> StoreFuture<'a, Enrolled> {
        Box::pin(async move {
            let wrapped = self.wrap(sync_key, &sync_key_aad(device_id))?;
            self.inner.enroll(device_id, user, &wrapped, evidence, issue).await
        })
    }

    fn put_challenge<'a>(&'a self, id: &'a str, challenge: &'a [u8], expires: i64, now: i64) -> StoreFuture<'a, ()> {
        self.inner.put_challenge(id, challenge, expires, now)
    }

    fn take_challenge<'a>(&'a self, id: &'a str, challenge: &'a [u8], now: i64) -> StoreFuture<'a, ChallengeTaken> {
        self.inner.take_challenge(id, challenge, now)
    }

    fn device_evidence<'a>(&'a self, device_id: &'a str) -> StoreFuture<'a, Option<DeviceEvidence>> {
        self.inner.device_evidence(device_id)
    }

    fn advance_app_attest_counter<'a>(&'a self, device_id: &'a str, counter: i64) -> StoreFuture<'a, bool> {
        self.inner.advance_app_attest_counter(device_id, counter)
    }

    fn renew<'a>(&'a self, id: &'a str, user: &'a str, issue: IssueGrant<'a>) -> StoreFuture<'a, Option<String>> {
        self.inner.renew(id, user, issue)
    }

    fn device<'a>(&'a self, device_id: &'a str) -> StoreFuture<'a, Option<DeviceState>> {
        Box::pin(async move {
            match self.inner.device(device_id).await? {
                Some(stored) => Ok(Some(self.open_device(device_id, stored).await?)),
                None => Ok(None),
            }
        })
    }

    fn apply<'a>(
        &'a self,
        device_id: &'a str,
        verified_from: &'a DeviceState,
        batch: &'a VerifiedBatch,
    ) -> StoreFuture<'a, Applied> {
        Box::pin(async move {
            let Some(stored) = self.inner.device(device_id).await? else { return Ok(Applied::Gone) };
            let (key, _) = self.open(&stored.sync_key, &sync_key_aad(device_id))?;
            let plain = DeviceState { sync_key: key, ..stored.clone() };
            if plain != *verified_from {
                return Ok(Applied::Moved(plain));
            }
            match self.inner.apply(device_id, &stored, batch).await? {
                Applied::Moved(now) => Ok(Applied::Moved(self.open_device(device_id, now).await?)),
                other => Ok(other),
            }
        })
    }

    fn applied<'a>(&'a self, device_id: &'a str, from: u64, through: u64) -> StoreFuture<'a, Vec<AppliedEntry>> {
        self.inner.applied(device_id, from, through)
    }

    fn records<'a>(&'a self, user: &'a str) -> StoreFuture<'a, Vec<Record>> {
        self.inner.records(user)
    }

    fn ready(&self) -> StoreFuture<'_, ()> {
        self.inner.ready()
    }

    fn revoke<'a>(&'a self, revocation: &'a Revocation) -> StoreFuture<'a, Option<Revocation>> {
        self.inner.revoke(revocation)
    }

    fn revocation<'a>(&'a self, device_id: &'a str) -> StoreFuture<'a, Option<Revocation>> {
        self.inner.revocation(device_id)
    }

    fn note_contact<'a>(&'a self, contact: &'a Contact<'a>) -> StoreFuture<'a, ()> {
        self.inner.note_contact(contact)
    }

    fn note_refusal<'a>(&'a self, device_id: &'a str, reason: &'a str, at: i64) -> StoreFuture<'a, ()> {
        self.inner.note_refusal(device_id, reason, at)
    }

    fn device_summaries(&self, since: i64, limit: u32) -> StoreFuture<'_, Vec<DeviceSummary>> {
        self.inner.device_summaries(since, limit)
    }
}

/// Directives hold no key: forwarded as they are.
impl Directives for SealedStore {
    fn queue_directive<'a>(&'a self, directive: &'a QueuedDirective) -> StoreFuture<'a, bool> {
        self.inner.queue_directive(directive)
    }

    fn pending_directives<'a>(&'a self, device_id: &'a str) -> StoreFuture<'a, Vec<String>> {
        self.inner.pending_directives(device_id)
    }

    fn acknowledge_directives<'a>(&'a self, device_id: &'a str, jtis: &'a [String], at: i64) -> StoreFuture<'a, u64> {
        self.inner.acknowledge_directives(device_id, jtis, at)
    }
}
