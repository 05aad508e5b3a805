//! Size limits shared by the device and the backend, and the checks of a
//! record's names and value against them.

use crate::error::{Error, Result};

/// Longest collection name (bytes).
pub const MAX_COLLECTION_LEN: usize = 128;
/// Longest record key (bytes).
pub const MAX_KEY_LEN: usize = 512;
/// Largest record value (bytes): records are small structured data.
pub const MAX_VALUE_LEN: usize = 64 * 1024;
/// Most entries in one batch.
pub const MAX_BATCH_ENTRIES: u32 = 10_000;
/// Largest batch (bytes), checked before parsing.
pub const MAX_BATCH_BYTES: usize = 16 * 1024 * 1024;
/// Most grants in one batch (each renewal while edits wait adds one).
pub const MAX_BATCH_GRANTS: u32 = 64;

/// Rejects empty or oversized names.
///
/// # Errors
/// `InvalidInput` naming the argument and its limit.
pub fn check_names(collection: &str, key: &str) -> Result<()> {
    if collection.is_empty() || collection.len() > MAX_COLLECTION_LEN {
        return Err(Error::InvalidInput(format!("collection must be 1 to {MAX_COLLECTION_LEN} bytes")));
    }
    if key.is_empty() || key.len() > MAX_KEY_LEN {
        return Err(Error::InvalidInput(format!("key must be 1 to {MAX_KEY_LEN} bytes")));
    }
    Ok(())
}

/// Rejects values over the size limit.
///
/// # Errors
/// `InvalidInput` with the limit.
pub fn check_value(value: &[u8]) -> Result<()> {
    if value.len() > MAX_VALUE_LEN {
        return Err(Error::InvalidInput(format!("value must be at most {MAX_VALUE_LEN} bytes")));
    }
    Ok(())
}
