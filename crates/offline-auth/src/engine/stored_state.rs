//! The stored form of [`VaultState`]: sealed under the vault key, versioned,
//! and bound (by a `DK` subkey MAC) to the keystore epoch of the row that
//! holds it. Loading checks the binding; storing re-binds and keeps the
//! queue table's bounds in step with the state.

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::state::{HeldGrant, VaultState};
use crate::crypto::{AadKind, Mac32};
use crate::error::{Error, Result};
use crate::keys::VaultKeys;
use crate::storage::VaultRow;
use crate::time::{TimeState, TimeStateV2};

/// The location the state is sealed to.
const LOCATION: &[u8] = b"state";

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
        Self {
            sync_key: old.sync_key.clone(),
            user_id: old.user_id.clone(),
            grants: old.grants.clone(),
            time: TimeState::first_release(old.trusted_time, old.rollback_locked),
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

/// The state as stored before fresh renewals: its time has no repair count
/// and no mark of the last fresh nonce.
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
struct StateV2 {
    sync_key: Vec<u8>,
    #[zeroize(skip)]
    user_id: String,
    #[zeroize(skip)]
    grants: Vec<HeldGrant>,
    #[zeroize(skip)]
    time: TimeStateV2,
    head_seq: u64,
    head_mac: Mac32,
    batched_through: u64,
    acked_through: u64,
    acked_mac: Mac32,
    records_digest: [u8; 32],
    record_count: u64,
}

impl From<StateV2> for VaultState {
    fn from(old: StateV2) -> Self {
        Self {
            sync_key: old.sync_key.clone(),
            user_id: old.user_id.clone(),
            grants: old.grants.clone(),
            time: old.time.clone().into(),
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
    V2(StateV2),
    V3(VaultState),
}

/// Borrowing twin of [`StateWire`] for sealing without a clone.
#[derive(Serialize)]
enum StateWireRef<'a> {
    #[allow(dead_code)] // keeps the variant index of V3 at 2
    V1(()),
    #[allow(dead_code)]
    V2(()),
    V3(&'a VaultState),
}

impl VaultState {
    /// Seals the state under the vault key (current version).
    pub(crate) fn seal(&self, keys: &VaultKeys) -> Result<Vec<u8>> {
        let mut bytes = postcard::to_stdvec(&StateWireRef::V3(self)).map_err(|_| Error::Encoding)?;
        let sealed = keys.seal(AadKind::VaultState, LOCATION, &bytes);
        bytes.zeroize();
        sealed
    }

    /// Opens a sealed state of any version; `Tampered` if it does not
    /// authenticate under these keys.
    pub(crate) fn open(keys: &VaultKeys, sealed: &[u8]) -> Result<Self> {
        let bytes = keys.open(AadKind::VaultState, LOCATION, sealed)?;
        match postcard::from_bytes::<StateWire>(&bytes) {
            Ok(StateWire::V3(state)) => Ok(state),
            Ok(StateWire::V2(old)) => Ok(old.into()),
            Ok(StateWire::V1(old)) => Ok(old.into()),
            Err(_) => Err(Error::Tampered),
        }
    }

    /// Loads and opens the sealed state of the enrolment these keys belong
    /// to, checking that it is bound to the current keystore epoch.
    pub(crate) fn load(conn: &rusqlite::Connection, keys: &VaultKeys) -> Result<Self> {
        let row = VaultRow::load(conn)?.ok_or(Error::Wiped)?;
        keys.check_binding(&row)?;
        Self::open(keys, &row.state)
    }

    /// Seals and stores the state in the transaction, bound to the current
    /// epoch, with the queue table's bounds set to the state's.
    pub(crate) fn store(&self, tx: &rusqlite::Transaction<'_>, keys: &VaultKeys) -> Result<()> {
        // Only the row's identity and epoch, not its blobs: this runs on every write.
        let (vault_id, device_alias, key_epoch) = VaultRow::epoch(tx)?.ok_or(Error::Wiped)?;
        if vault_id != keys.vault_id() {
            return Err(Error::Wiped);
        }
        let sealed = self.seal(keys)?;
        let bounds = (self.acked_through, self.head_seq);
        VaultRow::store_state(tx, &sealed, &keys.bind(&device_alias, key_epoch, &sealed), bounds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SecretKey;
    use crate::grant::GrantClaims;
    use crate::time::Reading;

    fn state() -> VaultState {
        let claims = GrantClaims {
            sub: "u".into(),
            dev: "d".into(),
            iat: 1,
            exp: 2,
            scope: vec![],
            jti: "g1".into(),
            kid: "k".into(),
            nbf: None,
            nonce: None,
        };
        let reading = Reading { wall: 100, boot: [1; 32], elapsed_ms: 0 };
        VaultState::new(&SecretKey::generate().unwrap(), "g1".into(), claims, TimeState::enrolled(&reading, 100))
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
        assert_eq!(opened.time, TimeState::first_release(5_000, true));
        assert_eq!((opened.time.trusted(), opened.time.rollback_locked()), (5_000, true));
        assert_eq!((opened.head_seq, opened.acked_through, opened.record_count), (3, 1, 2));
        // Stored again, it is the current version.
        let resealed = opened.seal(&keys).unwrap();
        assert_eq!(VaultState::open(&keys, &resealed).unwrap().time, opened.time);
    }

    #[test]
    fn a_state_stored_before_fresh_renewals_opens_with_no_repair() {
        let keys = VaultKeys::unbound(b"v", SecretKey::generate().unwrap()).unwrap();
        let s = state();
        let old_time: TimeStateV2 = postcard::from_bytes(&postcard::to_stdvec(&s.time).unwrap()[..]).unwrap();
        let old = StateV2 {
            sync_key: vec![7; 32],
            user_id: "u".into(),
            grants: s.grants.clone(),
            time: old_time,
            head_seq: 3,
            head_mac: [3; 32],
            batched_through: 2,
            acked_through: 1,
            acked_mac: [1; 32],
            records_digest: [9; 32],
            record_count: 2,
        };
        let bytes = postcard::to_stdvec(&StateWire::V2(old)).unwrap();
        let sealed = keys.seal(AadKind::VaultState, LOCATION, &bytes).unwrap();
        let opened = VaultState::open(&keys, &sealed).unwrap();
        assert_eq!(opened.time, s.time, "same time, no repair, no fresh mark");
        assert_eq!(opened.time.last_fresh(), None);
        assert_eq!((opened.head_seq, opened.acked_through, opened.record_count), (3, 1, 2));
    }
}
