//! AES-GCM nonces: 96 random bits each, from a buffer the OS fills.
//!
//! One `getrandom` system call per sealed record costs more than sealing a
//! small record, so nonces are handed out from a buffer of [`BUFFERED`]
//! that one call fills. Why this cannot repeat a nonce:
//!
//! - Every byte is the operating system's CSPRNG output; there is no
//!   generator of ours in between. Two nonces collide only by chance
//!   (2^-96 per pair, as with one system call per nonce).
//! - Each buffered nonce is handed out once: the position advances under a
//!   mutex, and the slot is overwritten before the lock is released.
//! - `fork`: a child process inherits a copy of the buffer, and it and its
//!   parent would then hand out the same nonces under the same keys. The
//!   buffer records the id of the process that filled it and is discarded
//!   and refilled whenever the caller's process id differs (one `getpid`
//!   per nonce, far cheaper than `getrandom`). The one case this misses
//!   needs a process id to be reused: a child that never sealed anything
//!   since the fork, forking again a grandchild that receives the exact id of
//!   the (exited) process that filled the buffer; iOS and Android apps do
//!   not fork, and the vault's SQLite connection is not fork-safe either.
//!
//! Nonces are public (stored beside the ciphertext), so the buffer holds no
//! secret.

use std::sync::{Mutex, PoisonError};

use crate::error::Error;

/// Length of an AES-GCM nonce.
pub(crate) const NONCE_LEN: usize = 12;
/// Nonces per `getrandom` call.
const BUFFERED: usize = 64;

struct NonceBuffer {
    /// The process that filled `bytes` (0: never filled).
    pid: u32,
    /// Nonces already handed out (or discarded).
    used: usize,
    bytes: [[u8; NONCE_LEN]; BUFFERED],
}

static NONCES: Mutex<NonceBuffer> =
    Mutex::new(NonceBuffer { pid: 0, used: BUFFERED, bytes: [[0; NONCE_LEN]; BUFFERED] });

/// A fresh random 96-bit nonce (see the module documentation).
///
/// # Errors
/// [`Error::Rng`] if the operating system's random source fails.
pub(crate) fn fresh_nonce() -> Result<[u8; NONCE_LEN], Error> {
    let pid = std::process::id();
    // The buffer is consistent whenever the lock is released (a fill either
    // completes or leaves `used` at the end), so a poisoned lock is usable.
    let mut buffer = NONCES.lock().unwrap_or_else(PoisonError::into_inner);
    if buffer.pid != pid || buffer.used >= BUFFERED {
        buffer.used = BUFFERED;
        getrandom::fill(buffer.bytes.as_flattened_mut()).map_err(|_| Error::Rng)?;
        buffer.pid = pid;
        buffer.used = 0;
    }
    let index = buffer.used;
    buffer.used += 1;
    let slot = buffer.bytes.get_mut(index).ok_or(Error::Rng)?;
    let nonce = *slot;
    *slot = [0; NONCE_LEN];
    Ok(nonce)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn nonces_do_not_repeat_across_refills_and_threads() {
        let per_thread = 5 * BUFFERED + 3;
        let all: Vec<[u8; NONCE_LEN]> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| s.spawn(|| (0..per_thread).map(|_| fresh_nonce().unwrap()).collect::<Vec<_>>()))
                .collect();
            handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(all.len(), 4 * per_thread);
        assert_eq!(all.iter().collect::<HashSet<_>>().len(), all.len());
        assert!(all.iter().all(|n| *n != [0; NONCE_LEN]));
    }

    #[test]
    fn a_buffer_filled_by_another_process_is_discarded() {
        let mut buffer = NONCES.lock().unwrap();
        // As a forked child sees it: filled by another pid, nonces left.
        buffer.pid = std::process::id().wrapping_add(1);
        buffer.used = 0;
        buffer.bytes = [[0xAB; NONCE_LEN]; BUFFERED];
        drop(buffer);
        let nonce = fresh_nonce().unwrap();
        assert_ne!(nonce, [0xAB; NONCE_LEN], "a nonce of the parent's buffer was handed out");
        // (Other tests may draw nonces meanwhile; the parent's are gone either way.)
        let buffer = NONCES.lock().unwrap();
        assert_eq!(buffer.pid, std::process::id());
        assert!(buffer.bytes.iter().skip(1).all(|n| *n != [0xAB; NONCE_LEN]));
    }
}
