//! Queue entries: canonical form, MAC chain, sealed storage form.

use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

use crate::crypto::{Mac32, MacKey};
use crate::error::{Error, Result};

/// Domain separation of the MAC input, per entry format.
const MAC_DOMAIN_V1: &[u8] = b"offline-auth/queue-entry/1";
const MAC_DOMAIN_V2: &[u8] = b"offline-auth/queue-entry/2";

/// What an entry did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Operation {
    /// Set the record `key` of `collection` to `value`.
    Put {
        /// Collection of the record.
        collection: String,
        /// Key of the record within its collection.
        key: String,
        /// The record's new value (opaque bytes).
        value: Vec<u8>,
    },
    /// Delete the record `key` of `collection`.
    Delete {
        /// Collection of the record.
        collection: String,
        /// Key of the record within its collection.
        key: String,
    },
}

/// The MAC-covered part of an entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryBody {
    /// Seq of the entry in the device's queue: from 1, contiguous in a chain.
    pub seq: u64,
    /// `jti` of the grant in force when the edit was made.
    pub grant_id: String,
    /// Trusted time of the edit (seconds since the epoch).
    pub time: i64,
    /// Device boots seen since enrolment when the edit was made (`None` in
    /// entries the first release wrote). A count that grows while entry
    /// times barely move is a device being restarted to hold time back.
    pub boots: Option<u32>,
    /// What the entry did.
    pub op: Operation,
}

/// An entry with its chain MAC.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "EntryWire", from = "EntryWire")]
pub struct QueueEntry {
    /// The MAC-covered part.
    pub body: EntryBody,
    /// The chain MAC: [`EntryBody::chain_mac`] of `body` over the previous
    /// entry's MAC (32 zero bytes before the first entry).
    pub mac: Mac32,
}

/// The first release's body: no boot count.
#[derive(Clone, Serialize, Deserialize)]
struct BodyV1 {
    seq: u64,
    grant_id: String,
    time: i64,
    op: Operation,
}

/// The current body.
#[derive(Clone, Serialize, Deserialize)]
struct BodyV2 {
    seq: u64,
    grant_id: String,
    time: i64,
    boots: u32,
    op: Operation,
}

/// Borrowing twins of the bodies, for MACing without copying the value.
#[derive(Serialize)]
struct BodyRefV1<'a> {
    seq: u64,
    grant_id: &'a str,
    time: i64,
    op: &'a Operation,
}

#[derive(Serialize)]
struct BodyRefV2<'a> {
    seq: u64,
    grant_id: &'a str,
    time: i64,
    boots: u32,
    op: &'a Operation,
}

/// A first-release entry as it travels in a version 1 batch.
#[derive(Clone, Serialize, Deserialize)]
pub struct EntryV1 {
    body: BodyV1,
    mac: Mac32,
}

#[doc(hidden)]
impl EntryV1 {
    /// The first-release form of an entry without a boot count.
    pub fn of(entry: &QueueEntry) -> Option<Self> {
        match EntryWire::from(entry.clone()) {
            EntryWire::V1(entry) => Some(entry),
            EntryWire::V2 { .. } => None,
        }
    }
}

/// The versioned form of an entry, stored and sent (the variant index is
/// the version).
#[derive(Clone, Serialize, Deserialize)]
enum EntryWire {
    V1(EntryV1),
    V2 { body: BodyV2, mac: Mac32 },
}

impl From<QueueEntry> for EntryWire {
    fn from(entry: QueueEntry) -> Self {
        let EntryBody { seq, grant_id, time, boots, op } = entry.body;
        match boots {
            None => EntryWire::V1(EntryV1 { body: BodyV1 { seq, grant_id, time, op }, mac: entry.mac }),
            Some(boots) => EntryWire::V2 { body: BodyV2 { seq, grant_id, time, boots, op }, mac: entry.mac },
        }
    }
}

impl From<EntryV1> for QueueEntry {
    fn from(EntryV1 { body: BodyV1 { seq, grant_id, time, op }, mac }: EntryV1) -> Self {
        QueueEntry { body: EntryBody { seq, grant_id, time, boots: None, op }, mac }
    }
}

impl From<EntryWire> for QueueEntry {
    fn from(wire: EntryWire) -> Self {
        match wire {
            EntryWire::V1(entry) => entry.into(),
            EntryWire::V2 { body: BodyV2 { seq, grant_id, time, boots, op }, mac } => {
                QueueEntry { body: EntryBody { seq, grant_id, time, boots: Some(boots), op }, mac }
            }
        }
    }
}

impl EntryBody {
    /// `HMAC-SHA256(SK, prev_mac ‖ domain ‖ postcard(body))` in the entry's
    /// own format, with `sync_key` keyed once by the caller for a whole batch.
    pub fn chain_mac(&self, sync_key: &MacKey, prev_mac: &Mac32) -> Result<Mac32> {
        let (seq, grant_id, time, op) = (self.seq, self.grant_id.as_str(), self.time, &self.op);
        let (domain, mut body) = match self.boots {
            None => (MAC_DOMAIN_V1, postcard::to_stdvec(&BodyRefV1 { seq, grant_id, time, op })),
            Some(boots) => (MAC_DOMAIN_V2, postcard::to_stdvec(&BodyRefV2 { seq, grant_id, time, boots, op })),
        };
        let body = body.as_mut().map_err(|_| Error::Encoding)?;
        let mac = sync_key.mac(&[prev_mac, domain, body]);
        body.zeroize();
        Ok(mac)
    }
}

/// The chain MAC over an entry body's bytes as they were sent: a version 2
/// body (`with_boots`) or a first-release one.
pub fn chain_mac_over(sync_key: &MacKey, prev_mac: &Mac32, with_boots: bool, body: &[u8]) -> Mac32 {
    let domain = if with_boots { MAC_DOMAIN_V2 } else { MAC_DOMAIN_V1 };
    sync_key.mac(&[prev_mac, domain, body])
}
