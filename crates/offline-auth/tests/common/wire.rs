//! The batch format as `docs/BATCH_FORMAT.md` defines it, written here from
//! that page alone (independently of the crate's own types), so tests can
//! decode, alter and re-encode batches like a proxy on the path would.
#![allow(dead_code)]

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub enum Op {
    Put { collection: String, key: String, value: Vec<u8> },
    Delete { collection: String, key: String },
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Body {
    pub seq: u64,
    pub grant_id: String,
    pub time: i64,
    pub boots: u32,
    pub op: Op,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(into = "VersionedEntry", try_from = "VersionedEntry")]
pub struct Entry {
    pub body: Body,
    pub mac: [u8; 32],
}

/// An entry on the wire: its version, then its fields. Devices write version 2.
#[derive(Serialize, Deserialize, Clone)]
pub enum VersionedEntry {
    V1(()),
    V2 { body: Body, mac: [u8; 32] },
}

impl From<Entry> for VersionedEntry {
    fn from(Entry { body, mac }: Entry) -> Self {
        VersionedEntry::V2 { body, mac }
    }
}

impl TryFrom<VersionedEntry> for Entry {
    type Error = &'static str;
    fn try_from(entry: VersionedEntry) -> Result<Self, Self::Error> {
        match entry {
            VersionedEntry::V2 { body, mac } => Ok(Entry { body, mac }),
            VersionedEntry::V1(()) => Err("a first-release entry from a current device"),
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(into = "VersionedBatch", try_from = "VersionedBatch")]
pub struct Batch {
    pub device_id: String,
    pub grants: Vec<String>,
    pub entries: Vec<Entry>,
}

/// A batch on the wire: version 2 is the current one.
#[derive(Serialize, Deserialize, Clone)]
pub enum VersionedBatch {
    V1(()),
    V2 { device_id: String, grants: Vec<String>, entries: Vec<Entry> },
}

impl From<Batch> for VersionedBatch {
    fn from(Batch { device_id, grants, entries }: Batch) -> Self {
        VersionedBatch::V2 { device_id, grants, entries }
    }
}

impl TryFrom<VersionedBatch> for Batch {
    type Error = &'static str;
    fn try_from(batch: VersionedBatch) -> Result<Self, Self::Error> {
        match batch {
            VersionedBatch::V2 { device_id, grants, entries } => Ok(Batch { device_id, grants, entries }),
            VersionedBatch::V1(()) => Err("a first-release batch from a current device"),
        }
    }
}

pub fn decode(bytes: &[u8]) -> Batch {
    postcard::from_bytes(bytes.strip_prefix(b"OASB").unwrap()).unwrap()
}

pub fn encode(batch: &Batch) -> Vec<u8> {
    let mut bytes = b"OASB".to_vec();
    bytes.extend(postcard::to_stdvec(batch).unwrap());
    bytes
}

pub fn entries(batch: &mut Batch) -> &mut Vec<Entry> {
    &mut batch.entries
}

/// The chain MAC as the documented format defines it.
pub fn chain_mac(sync_key: &[u8], prev: &[u8; 32], body: &Body) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(sync_key).unwrap();
    mac.update(prev);
    mac.update(b"offline-auth/queue-entry/2");
    mac.update(&postcard::to_stdvec(body).unwrap());
    mac.finalize().into_bytes().into()
}
