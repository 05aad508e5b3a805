//! Record bodies: what a `(collection, key) → value` row holds, sealed.
//!
//! The row's primary key is the blinded location (an HMAC of the names under
//! a vault-key subkey), so the database shows no names; the names travel
//! inside the ciphertext, whose associated data is that location. A body
//! moved to another row fails to open, and a body whose names differ from
//! the ones asked for is reported as tampering.

use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

use crate::crypto::AadKind;
use crate::error::{Error, Result};
use crate::sync::{MAX_COLLECTION_LEN, MAX_KEY_LEN, MAX_VALUE_LEN};
use crate::vault::VaultKeys;

#[derive(Serialize, Deserialize, Zeroize)]
pub(crate) struct RecordBody {
    pub(crate) collection: String,
    pub(crate) key: String,
    pub(crate) value: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
enum RecordWire {
    V1(RecordBody),
}

impl RecordBody {
    pub(crate) fn seal(&self, keys: &VaultKeys, location: &[u8]) -> Result<Vec<u8>> {
        let mut bytes = postcard::to_stdvec(&RecordWireRef::V1(self)).map_err(|_| Error::Encoding)?;
        let sealed = keys.seal(AadKind::Record, location, &bytes);
        bytes.zeroize();
        sealed
    }

    pub(crate) fn open(keys: &VaultKeys, location: &[u8], sealed: &[u8]) -> Result<Self> {
        let bytes = keys.open(AadKind::Record, location, sealed)?;
        match postcard::from_bytes::<RecordWire>(&bytes) {
            Ok(RecordWire::V1(body)) => Ok(body),
            Err(_) => Err(Error::Tampered),
        }
    }
}

#[derive(Serialize)]
enum RecordWireRef<'a> {
    V1(&'a RecordBody),
}

/// Rejects empty or oversized names and values.
pub(crate) fn check_names(collection: &str, key: &str) -> Result<()> {
    if collection.is_empty() || collection.len() > MAX_COLLECTION_LEN {
        return Err(Error::InvalidInput(format!("collection must be 1 to {MAX_COLLECTION_LEN} bytes")));
    }
    if key.is_empty() || key.len() > MAX_KEY_LEN {
        return Err(Error::InvalidInput(format!("key must be 1 to {MAX_KEY_LEN} bytes")));
    }
    Ok(())
}

/// Rejects values over the size limit.
pub(crate) fn check_value(value: &[u8]) -> Result<()> {
    if value.len() > MAX_VALUE_LEN {
        return Err(Error::InvalidInput(format!("value must be at most {MAX_VALUE_LEN} bytes")));
    }
    Ok(())
}
