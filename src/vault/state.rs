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
    /// Latest trusted time (seconds since the epoch).
    pub(crate) trusted_time: i64,
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
    /// Set when the clock was caught going back: offline access stays locked
    /// until an online renewal.
    pub(crate) rollback_locked: bool,
}

/// The versioned stored form.
#[derive(Serialize, Deserialize)]
enum StateWire {
    V1(VaultState),
}

impl VaultState {
    pub(crate) fn new(sync_key: &SecretKey, token: String, claims: GrantClaims, trusted_time: i64) -> Self {
        Self {
            sync_key: sync_key.as_bytes().to_vec(),
            user_id: claims.sub.clone(),
            grants: vec![HeldGrant { first_seq: 1, token, claims }],
            trusted_time,
            head_seq: 0,
            head_mac: [0; 32],
            batched_through: 0,
            acked_through: 0,
            acked_mac: [0; 32],
            records_digest: [0; 32],
            record_count: 0,
            rollback_locked: false,
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
        let mut bytes = postcard::to_stdvec(&StateWire::V1(self.clone())).map_err(|_| Error::Encoding)?;
        let sealed = keys.seal(AadKind::VaultState, LOCATION, &bytes);
        bytes.zeroize();
        sealed
    }

    pub(crate) fn open(keys: &VaultKeys, sealed: &[u8]) -> Result<Self> {
        let bytes = keys.open(AadKind::VaultState, LOCATION, sealed)?;
        match postcard::from_bytes::<StateWire>(&bytes) {
            Ok(StateWire::V1(state)) => Ok(state),
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
        }
    }

    fn state() -> VaultState {
        VaultState::new(&SecretKey::generate().unwrap(), "g1".into(), claims("g1"), 100)
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
        let keys = VaultKeys::new(b"v", SecretKey::generate().unwrap()).unwrap();
        let s = state();
        let mut sealed = s.seal(&keys).unwrap();
        assert_eq!(VaultState::open(&keys, &sealed).unwrap().user_id, "u");
        if let Some(b) = sealed.last_mut() {
            *b ^= 1;
        }
        assert!(matches!(VaultState::open(&keys, &sealed), Err(Error::Tampered)));
    }
}
