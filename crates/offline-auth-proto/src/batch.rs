//! The batch format the device uploads and the backend verifies.
//!
//! Bytes: the magic `OASB`, then postcard of `BatchWire` (an enum whose
//! variant index is the format version). Both versions hold the device id,
//! the grants (compact JWS) that cover the entries, and the entries with
//! their chain MACs, in seq order. Version 1 (the first release) has entries
//! without a boot count; version 2 tags each entry with its own format, so a
//! queue written before an upgrade travels with the entries written after.
//! Devices send version 2; the verifier reads both.

use serde::Serialize;

use crate::entry::QueueEntry;
use crate::error::{Error, Result};

/// First bytes of every batch.
pub const MAGIC: &[u8; 4] = b"OASB";

/// A batch, in the current (version 2) form, as the device writes it. The
/// verifier reads batches with `batch_reader.rs`, without building this.
#[derive(Serialize)]
pub struct Batch {
    /// Id of the device that wrote the entries (its enrolment's device id).
    pub device_id: String,
    /// The grants (compact JWS) named by the entries' `grant_id`s, each
    /// once; at most [`MAX_BATCH_GRANTS`](crate::limits::MAX_BATCH_GRANTS).
    pub grants: Vec<String>,
    /// The entries with their chain MACs, in seq order without gaps; at
    /// most [`MAX_BATCH_ENTRIES`](crate::limits::MAX_BATCH_ENTRIES).
    pub entries: Vec<QueueEntry>,
}

/// A first-release batch (tests write one to prove it is still read).
#[doc(hidden)]
#[derive(Serialize)]
pub struct BatchV1 {
    pub device_id: String,
    pub grants: Vec<String>,
    pub entries: Vec<crate::entry::EntryV1>,
}

/// The versioned form of a batch (the variant index is the version).
#[doc(hidden)]
#[derive(Serialize)]
pub enum BatchWire {
    V1(BatchV1),
}

impl Batch {
    /// The batch's bytes: [`MAGIC`], then postcard of the version 2 form.
    ///
    /// # Errors
    /// `Encoding` if serialisation fails.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut bytes = MAGIC.to_vec();
        postcard::to_io(&BatchWireRef::V2(self), &mut bytes).map_err(|_| Error::Encoding)?;
        Ok(bytes)
    }
}

/// The versioned form of a batch for serialisation without clones.
#[derive(Serialize)]
enum BatchWireRef<'a> {
    #[allow(dead_code)] // keeps the variant index of V2 at 1
    V1(()),
    V2(&'a Batch),
}
