//! The session state sealed under the vault key: sync key, grants, trusted
//! time and the queue's chain head.
//!
//! It lives in one blob in the vault row so that the pieces that must agree
//! (the chain head and the trusted time, the grant and the entries it covers)
//! are always written together, in the same transaction as the record and
//! queue entry that changed them.

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::keys::VaultKeys;
use crate::clock::{Anchor, TimeState};
use crate::crypto::{AadKind, Mac32, MacKey, SecretKey};
use crate::error::{Error, Result};
use crate::grant::GrantClaims;

const LOCATION: &[u8] = b"state";

/// A grant the device holds (as verified when it was installed), with the
/// first queue seq it covers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct HeldGrant {
    pub(crate) first_seq: u64,
    pub(crate) token: String,
    pub(crate) claims: GrantClaims,
}

/// Everything about an enrolment that only an unlocked vault may read.
#[derive(Clone, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub(crate) struct VaultState {
    /// `SK`: keys the queue's MAC chain; provisioned by the backend.
    sync_key: Vec<u8>,
    /// The enrolled user (`sub` of the first grant); renewals must match.
    #[zeroize(skip)]
    pub(crate) user_id: String,
    /// Grants still covering unacknowledged entries; the last is current.
    #[zeroize(skip)]
    pub(crate) grants: Vec<HeldGrant>,
    /// Trusted time, its anchor on the boot clock, boots seen, rollback lock.
    #[zeroize(skip)]
    pub(crate) time: TimeState,
    /// Seq and MAC of the newest queue entry ever appended.
    pub(crate) head_seq: u64,
    pub(crate) head_mac: Mac32,
    /// Highest seq handed out in a batch.
    pub(crate) batched_through: u64,
    /// Highest seq acknowledged, and its MAC (where the stored chain starts).
    pub(crate) acked_through: u64,
    pub(crate) acked_mac: Mac32,
    /// Sum (mod 2^256) of `record_version_tag` over every live record, and
    /// their number: the trusted statement of which record versions exist.
    pub(crate) records_digest: [u8; 32],
    pub(crate) record_count: u64,
}

/// The state as the first release stored it: a trusted time without an
/// anchor on the boot clock.
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
struct StateV1 {
    sync_key: Vec<u8>,
    #[zeroize(skip)]
    user_id: String,
    #[zeroize(skip)]
    grants: Vec<HeldGrant>,
    trusted_time: i64,
    head_seq: u64,
    head_mac: Mac32,
    batched_through: u64,
    acked_through: u64,
    acked_mac: Mac32,
    records_digest: [u8; 32],
    record_count: u64,
    rollback_locked: bool,
}

impl From<StateV1> for VaultState {
    /// The old trusted time becomes the floor, anchored to no boot: the next
    /// reading counts as a new boot and starts from it.
    fn from(old: StateV1) -> Self {
        let anchor = Anchor { boot: [0; 32], elapsed_ms: 0, floor: old.trusted_time };
        Self {
            sync_key: old.sync_key.clone(),
            user_id: old.user_id.clone(),
            grants: old.grants.clone(),
            time: TimeState { trusted: old.trusted_time, anchor, boots: 0, rollback_locked: old.rollback_locked },
            head_seq: old.head_seq,
            head_mac: old.head_mac,
            batched_through: old.batched_through,
            acked_through: old.acked_through,
            acked_mac: old.acked_mac,
            records_digest: old.records_digest,
            record_count: old.record_count,
        }
    }
}

/// The versioned stored form (the variant index is the version).
#[derive(Serialize, Deserialize)]
enum StateWire {
    V1(StateV1),
    V2(VaultState),
}

/// Borrowing twin of [`StateWire`] for sealing without a clone.
#[derive(Serialize)]
enum StateWireRef<'a> {
    #[allow(dead_code)] // keeps the variant index of V2 at 1
    V1(()),
    V2(&'a VaultState),
}

impl VaultState {
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

    /// Installs a renewed grant; older ones stay while entries need them.
    pub(crate) fn install_grant(&mut self, token: String, claims: GrantClaims) {
        let first_seq = self.head_seq.saturating_add(1);
        self.grants.retain(|g| g.first_seq < first_seq);
        self.grants.push(HeldGrant { first_seq, token, claims });
        self.prune_grants();
    }

    /// Drops grants whose entries are all acknowledged (keeps the current one).
    pub(crate) fn prune_grants(&mut self) {
        let acked = self.acked_through;
        let keep_from = self
            .grants
            .windows(2)
            .take_while(|pair| matches!(pair, [_, next] if next.first_seq <= acked.saturating_add(1)))
            .count();
        self.grants.drain(..keep_from);
    }

    pub(crate) fn seal(&self, keys: &VaultKeys) -> Result<Vec<u8>> {
        let mut bytes = postcard::to_stdvec(&StateWireRef::V2(self)).map_err(|_| Error::Encoding)?;
        let sealed = keys.seal(AadKind::VaultState, LOCATION, &bytes);
        bytes.zeroize();
        sealed
    }

    pub(crate) fn open(keys: &VaultKeys, sealed: &[u8]) -> Result<Self> {
        let bytes = keys.open(AadKind::VaultState, LOCATION, sealed)?;
        match postcard::from_bytes::<StateWire>(&bytes) {
            Ok(StateWire::V2(state)) => Ok(state),
            Ok(StateWire::V1(old)) => Ok(old.into()),
            Err(_) => Err(Error::Tampered),
        }
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
        }
    }

    fn state() -> VaultState {
        let time = TimeState {
            trusted: 100,
            anchor: Anchor { boot: [1; 32], elapsed_ms: 0, floor: 100 },
            boots: 0,
            rollback_locked: false,
        };
        VaultState::new(&SecretKey::generate().unwrap(), "g1".into(), claims("g1"), time)
    }

    #[test]
    fn grants_are_kept_until_their_entries_are_acknowledged() {
        let mut s = state();
        s.head_seq = 5;
        s.install_grant("g2".into(), claims("g2"));
        assert_eq!(s.grants.len(), 2);
        s.acked_through = 4;
        s.prune_grants();
        assert_eq!(s.grants.len(), 2, "entry 5 still needs g1");
        s.acked_through = 5;
        s.prune_grants();
        assert_eq!(s.grants.iter().map(|g| g.token.as_str()).collect::<Vec<_>>(), ["g2"]);
    }

    #[test]
    fn renewing_twice_without_writes_replaces_the_unused_grant() {
        let mut s = state();
        s.install_grant("g2".into(), claims("g2"));
        s.install_grant("g3".into(), claims("g3"));
        assert_eq!(s.grants.iter().map(|g| g.token.as_str()).collect::<Vec<_>>(), ["g3"]);
    }

    #[test]
    fn seal_round_trip_and_tamper() {
        let keys = VaultKeys::unbound(b"v", SecretKey::generate().unwrap()).unwrap();
        let s = state();
        let mut sealed = s.seal(&keys).unwrap();
        assert_eq!(VaultState::open(&keys, &sealed).unwrap().user_id, "u");
        if let Some(b) = sealed.last_mut() {
            *b ^= 1;
        }
        assert!(matches!(VaultState::open(&keys, &sealed), Err(Error::Tampered)));
    }

    #[test]
    fn a_first_release_state_opens_with_its_trusted_time_as_the_floor() {
        let keys = VaultKeys::unbound(b"v", SecretKey::generate().unwrap()).unwrap();
        let s = state();
        let old = StateV1 {
            sync_key: vec![7; 32],
            user_id: "u".into(),
            grants: s.grants.clone(),
            trusted_time: 5_000,
            head_seq: 3,
            head_mac: [3; 32],
            batched_through: 2,
            acked_through: 1,
            acked_mac: [1; 32],
            records_digest: [9; 32],
            record_count: 2,
            rollback_locked: true,
        };
        let bytes = postcard::to_stdvec(&StateWire::V1(old)).unwrap();
        let sealed = keys.seal(AadKind::VaultState, LOCATION, &bytes).unwrap();
        let opened = VaultState::open(&keys, &sealed).unwrap();
        assert_eq!((opened.time.trusted, opened.time.anchor.floor, opened.time.rollback_locked), (5_000, 5_000, true));
        assert_eq!((opened.head_seq, opened.acked_through, opened.record_count), (3, 1, 2));
        // Stored again, it is the current version.
        let resealed = opened.seal(&keys).unwrap();
        assert_eq!(VaultState::open(&keys, &resealed).unwrap().time, opened.time);
    }
}
