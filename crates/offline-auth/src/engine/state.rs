//! The session state sealed under the vault key: sync key, grants, trusted
//! time, the queue's chain head and the digest of the record set.
//!
//! It lives in one blob in the vault row so that the pieces that must agree
//! (the chain head and the trusted time, the grant and the entries it covers)
//! are always written together, in the same transaction as the record and
//! queue entry that changed them. Its fields are private to the engine:
//! code above changes them only through the methods here, each of which
//! keeps one invariant (the chain advances by one seq, the digest follows
//! every record change, grants stay while entries need them, trusted time
//! never goes down). The stored form is in `stored_state.rs`.

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::crypto::{ct_eq, Mac32, MacKey, SecretKey};
use crate::error::{Error, Result};
use crate::fresh::Fresh;
use crate::grant::GrantClaims;
use crate::keys::VaultKeys;
use crate::time::{Reading, TimeState};
use offline_auth_proto::entry::{EntryBody, Operation, QueueEntry};

/// A grant the device holds (as verified when it was installed), with the
/// first queue seq it covers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct HeldGrant {
    /// The first queue seq written under this grant.
    pub(crate) first_seq: u64,
    /// The grant as the backend issued it (sent with the entries it covers).
    pub(crate) token: String,
    /// Its claims, as verified at installation.
    pub(crate) claims: GrantClaims,
}

/// Everything about an enrolment that only an unlocked vault may read.
#[derive(Clone, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub(crate) struct VaultState {
    /// `SK`: keys the queue's MAC chain; provisioned by the backend.
    pub(in crate::engine) sync_key: Vec<u8>,
    /// The enrolled user (`sub` of the first grant); renewals must match.
    #[zeroize(skip)]
    pub(in crate::engine) user_id: String,
    /// Grants still covering unacknowledged entries; the last is current.
    #[zeroize(skip)]
    pub(in crate::engine) grants: Vec<HeldGrant>,
    /// Trusted time, its anchor on the boot clock, boots seen, rollback lock.
    #[zeroize(skip)]
    pub(in crate::engine) time: TimeState,
    /// Seq of the newest queue entry ever appended.
    pub(in crate::engine) head_seq: u64,
    /// MAC of that entry (the chain continues from it).
    pub(in crate::engine) head_mac: Mac32,
    /// Highest seq handed out in a batch.
    pub(in crate::engine) batched_through: u64,
    /// Highest seq acknowledged.
    pub(in crate::engine) acked_through: u64,
    /// MAC of that entry (where the stored chain starts).
    pub(in crate::engine) acked_mac: Mac32,
    /// Sum (mod 2^256) of `record_version_tag` over every live record, and
    /// their number: the trusted statement of which record versions exist.
    pub(in crate::engine) records_digest: [u8; 32],
    /// The number of live records.
    pub(in crate::engine) record_count: u64,
}

impl VaultState {
    /// The state of a fresh enrolment: one grant, empty queue, no records.
    pub(crate) fn new(sync_key: &SecretKey, token: String, claims: GrantClaims, time: TimeState) -> Self {
        Self {
            sync_key: sync_key.as_bytes().to_vec(),
            user_id: claims.sub.clone(),
            grants: vec![HeldGrant { first_seq: 1, token, claims }],
            time,
            head_seq: 0,
            head_mac: [0; 32],
            batched_through: 0,
            acked_through: 0,
            acked_mac: [0; 32],
            records_digest: [0; 32],
            record_count: 0,
        }
    }

    /// `SK`, keyed for the queue's MAC chain.
    pub(crate) fn sync_mac_key(&self) -> Result<MacKey> {
        Ok(MacKey::new(&SecretKey::from_slice(&self.sync_key).map_err(|_| Error::Tampered)?))
    }

    /// The current grant.
    pub(crate) fn current_grant(&self) -> Result<&HeldGrant> {
        self.grants.last().ok_or(Error::Tampered)
    }

    /// The grants held, oldest first (the last is current).
    pub(crate) fn grants(&self) -> &[HeldGrant] {
        &self.grants
    }

    /// The trusted time as stored.
    pub(crate) fn time(&self) -> &TimeState {
        &self.time
    }

    /// Folds in what a session or another handle learnt about time (see
    /// [`TimeState::merge`]): trusted time never goes down.
    pub(crate) fn merge_time(&mut self, other: &TimeState) {
        self.time.merge(other);
    }

    /// Installs a renewed grant, whose signature and device the caller has
    /// checked: it must be for the enrolled user, strictly newer than the
    /// grant in force and not expired in trusted time. Lifts the rollback
    /// lock and raises the floor to its `iat` ([`TimeState::renew`]); older
    /// grants stay while entries need them.
    ///
    /// With `fresh` (its nonce proved the grant recent, `fresh.rs`), the
    /// time is repaired from its `iat` instead ([`TimeState::repair`]), down
    /// as well as up, and the expiry is judged against the repaired time.
    pub(crate) fn install_renewal(
        &mut self,
        token: String,
        claims: GrantClaims,
        reading: &Reading,
        fresh: Option<Fresh>,
    ) -> Result<()> {
        let current = self.current_grant()?;
        if claims.sub != self.user_id {
            return Err(Error::GrantInvalid("grant is for another user".into()));
        }
        if claims.iat <= current.claims.iat || claims.jti == current.claims.jti {
            return Err(Error::GrantInvalid("grant is not newer than the one in force".into()));
        }
        if let Some(fresh) = fresh {
            let mut time = self.time.clone();
            time.repair(reading, claims.iat, fresh.since_secs, fresh.mark);
            if claims.exp <= time.trusted() {
                return Err(Error::GrantExpired);
            }
            self.time = time;
            self.install_grant(token, claims);
            return Ok(());
        }
        // An expired grant changes nothing (trusted time never goes down).
        if claims.exp <= self.time.trusted() {
            return Err(Error::GrantExpired);
        }
        self.time.renew(reading, claims.iat)?;
        self.install_grant(token, claims);
        Ok(())
    }

    /// Adds a grant as the current one; older ones stay while entries need them.
    fn install_grant(&mut self, token: String, claims: GrantClaims) {
        let first_seq = self.head_seq.saturating_add(1);
        self.grants.retain(|g| g.first_seq < first_seq);
        self.grants.push(HeldGrant { first_seq, token, claims });
        self.prune_grants();
    }

    /// Drops grants whose entries are all acknowledged (keeps the current one).
    fn prune_grants(&mut self) {
        let acked = self.acked_through;
        let keep_from = self
            .grants
            .windows(2)
            .take_while(|pair| matches!(pair, [_, next] if next.first_seq <= acked.saturating_add(1)))
            .count();
        self.grants.drain(..keep_from);
    }

    /// Seq of the newest queue entry ever appended.
    pub(crate) fn head_seq(&self) -> u64 {
        self.head_seq
    }

    /// The seq the next queue entry gets.
    pub(crate) fn next_seq(&self) -> Result<u64> {
        self.head_seq.checked_add(1).ok_or(Error::Tampered)
    }

    /// Appends `op` to the chain: the entry gets the next seq, the current
    /// grant, the trusted time and boot count, and a MAC chained onto the
    /// head under `SK`; the head moves to it. The caller stores the entry in
    /// the same transaction as this state.
    pub(crate) fn append_entry(&mut self, op: Operation) -> Result<QueueEntry> {
        let seq = self.next_seq()?;
        let grant_id = self.current_grant()?.claims.jti.clone();
        let body = EntryBody { seq, grant_id, time: self.time.trusted(), boots: Some(self.time.boots()), op };
        let mac = body.chain_mac(&self.sync_mac_key()?, &self.head_mac)?;
        self.head_seq = seq;
        self.head_mac = mac;
        Ok(QueueEntry { body, mac })
    }

    /// Entries appended and not yet acknowledged.
    pub(crate) fn pending_entries(&self) -> Result<u64> {
        self.head_seq.checked_sub(self.acked_through).ok_or(Error::Tampered)
    }

    /// Highest seq acknowledged, and its MAC (where the stored chain starts).
    pub(crate) fn acked(&self) -> (u64, Mac32) {
        (self.acked_through, self.acked_mac)
    }

    /// Highest seq handed out in a batch.
    pub(crate) fn batched_through(&self) -> u64 {
        self.batched_through
    }

    /// Notes that a batch handed out the entries through `last_seq`.
    pub(crate) fn note_batched(&mut self, last_seq: u64) {
        self.batched_through = self.batched_through.max(last_seq);
    }

    /// Notes a verified receipt for the entries through `through_seq`, whose
    /// MAC is `mac` (the caller deletes those entries in the same
    /// transaction); drops grants no remaining entry needs.
    pub(crate) fn acknowledge(&mut self, through_seq: u64, mac: Mac32) {
        self.acked_through = through_seq;
        self.acked_mac = mac;
        self.prune_grants();
    }

    /// Moves the chain after the backend's head: the backend applied every
    /// entry through `through` (MAC `through_mac`) and agrees with this
    /// queue through `common_seq`; the pending entries after `common_seq`
    /// now run from `through + 1` to `new_head` (the caller re-chained and
    /// stored them in the same transaction). Grants move with their entries.
    pub(crate) fn rebase(&mut self, common_seq: u64, through: (u64, Mac32), new_head: (u64, Mac32)) -> Result<()> {
        let shift = through.0.checked_sub(common_seq).ok_or(Error::Tampered)?;
        for grant in &mut self.grants {
            if grant.first_seq > common_seq {
                grant.first_seq = grant.first_seq.checked_add(shift).ok_or(Error::Tampered)?;
            }
        }
        (self.head_seq, self.head_mac) = new_head;
        self.batched_through = through.0;
        self.acknowledge(through.0, through.1);
        Ok(())
    }

    /// Takes the record at `location`, version `version`, out of the record
    /// set's digest (it is being replaced or deleted).
    pub(crate) fn remove_record(&mut self, keys: &VaultKeys, location: &[u8], version: u64) -> Result<()> {
        digest_sub(&mut self.records_digest, &keys.record_version_tag(location, version));
        self.record_count = self.record_count.checked_sub(1).ok_or(Error::Tampered)?;
        Ok(())
    }

    /// Adds the record at `location`, version `version`, to the digest.
    pub(crate) fn add_record(&mut self, keys: &VaultKeys, location: &[u8], version: u64) -> Result<()> {
        digest_add(&mut self.records_digest, &keys.record_version_tag(location, version));
        self.record_count = self.record_count.checked_add(1).ok_or(Error::Tampered)?;
        Ok(())
    }

    /// Whether a record set with this digest and count is the one stored.
    pub(in crate::engine) fn records_are(&self, digest: &[u8; 32], count: u64) -> bool {
        count == self.record_count && ct_eq(digest, &self.records_digest)
    }
}

/// `digest += term` over 256-bit little-endian numbers.
pub(in crate::engine) fn digest_add(digest: &mut [u8; 32], term: &[u8; 32]) {
    let mut carry = 0u16;
    for (d, t) in digest.iter_mut().zip(term) {
        let sum = u16::from(*d) + u16::from(*t) + carry;
        *d = sum.to_le_bytes()[0];
        carry = sum >> 8;
    }
}

/// `digest -= term` over 256-bit little-endian numbers.
fn digest_sub(digest: &mut [u8; 32], term: &[u8; 32]) {
    let mut borrow = 0i16;
    for (d, t) in digest.iter_mut().zip(term) {
        let diff = i16::from(*d) - i16::from(*t) - borrow;
        borrow = i16::from(diff < 0);
        *d = diff.rem_euclid(256).to_le_bytes()[0];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(jti: &str) -> GrantClaims {
        GrantClaims {
            sub: "u".into(),
            dev: "d".into(),
            iat: 1,
            exp: 2,
            scope: vec![],
            jti: jti.into(),
            kid: "k".into(),
            nbf: None,
            nonce: None,
        }
    }

    fn state() -> VaultState {
        let reading = Reading { wall: 100, boot: [1; 32], elapsed_ms: 0 };
        VaultState::new(&SecretKey::generate().unwrap(), "g1".into(), claims("g1"), TimeState::enrolled(&reading, 100))
    }

    #[test]
    fn grants_are_kept_until_their_entries_are_acknowledged() {
        let mut s = state();
        s.head_seq = 5;
        s.install_grant("g2".into(), claims("g2"));
        assert_eq!(s.grants.len(), 2);
        s.acknowledge(4, [4; 32]);
        assert_eq!(s.grants.len(), 2, "entry 5 still needs g1");
        s.acknowledge(5, [5; 32]);
        assert_eq!(s.grants.iter().map(|g| g.token.as_str()).collect::<Vec<_>>(), ["g2"]);
    }

    #[test]
    fn a_rebase_moves_the_grants_with_their_entries() {
        let mut s = state();
        s.head_seq = 5;
        s.install_grant("g2".into(), claims("g2"));
        s.head_seq = 8;
        // Agreed through 3, the backend applied through 10: entries 4..=8 become 11..=15.
        s.rebase(3, (10, [10; 32]), (15, [15; 32])).unwrap();
        assert_eq!(
            s.grants.iter().map(|g| (g.token.as_str(), g.first_seq)).collect::<Vec<_>>(),
            [("g1", 1), ("g2", 13)]
        );
        assert_eq!((s.acked_through, s.batched_through, s.head_seq, s.head_mac), (10, 10, 15, [15; 32]));
    }

    #[test]
    fn renewing_twice_without_writes_replaces_the_unused_grant() {
        let mut s = state();
        s.install_grant("g2".into(), claims("g2"));
        s.install_grant("g3".into(), claims("g3"));
        assert_eq!(s.grants.iter().map(|g| g.token.as_str()).collect::<Vec<_>>(), ["g3"]);
    }

    #[test]
    fn add_then_sub_is_identity_with_carries() {
        let mut digest = [0xff; 32];
        let term = [0x01; 32];
        digest_add(&mut digest, &term);
        assert_ne!(digest, [0xff; 32]);
        digest_sub(&mut digest, &term);
        assert_eq!(digest, [0xff; 32]);
        let mut zero = [0u8; 32];
        digest_sub(&mut zero, &[0x02; 32]);
        digest_add(&mut zero, &[0x02; 32]);
        assert_eq!(zero, [0; 32]);
    }

    #[test]
    fn addition_is_order_independent() {
        let (a, b) = ([3u8; 32], [250u8; 32]);
        let (mut x, mut y) = ([7u8; 32], [7u8; 32]);
        digest_add(&mut x, &a);
        digest_add(&mut x, &b);
        digest_add(&mut y, &b);
        digest_add(&mut y, &a);
        assert_eq!(x, y);
    }
}
