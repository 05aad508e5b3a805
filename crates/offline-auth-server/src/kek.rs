//! The operator's key-encryption key (KEK): what keeps the sync keys and
//! the issuer private key unreadable in a stolen database.
//!
//! Why here and why so: the database holds every device's sync key (which
//! verifies its uploads) and the issuer's private key (which signs grants).
//! A copy of the database (a backup, a replica, a dump) should not be
//! enough to forge either. So the store keeps each key wrapped under a KEK
//! the database never sees (a file, an environment variable, or a KMS that
//! implements [`KekProvider`]).
//!
//! 1. **One blob format, versioned.** `version (1) | kek id length (1) |
//!    kek id | body`. Version [`BLOB_V1`] has the body `nonce (12) |
//!    AES-256-GCM ciphertext and tag`. The id says which KEK opens it, so
//!    a rotation can keep old blobs readable while new ones use the new KEK.
//! 2. **Bound to its row.** The associated data is the caller's (the store
//!    passes the purpose and the row: `sync_key` + device id, `issuer` +
//!    kid) followed by the blob's header, so a blob copied to another row,
//!    or relabelled with another KEK id, does not open ([`KekError::DoesNotOpen`]).
//! 3. **Unambiguous beside plaintext.** Keys stored by earlier releases are
//!    32 plain bytes; a blob is never 32 bytes long ([`is_wrapped`]).

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::Aes256Gcm;
use zeroize::Zeroizing;

/// The first (and so far only) blob version: AES-256-GCM, 96-bit random nonce.
pub const BLOB_V1: u8 = 0xA1;
/// A KEK's length: 32 bytes (AES-256).
pub const KEK_LEN: usize = 32;
/// The longest KEK id (it is stored in every blob).
pub const MAX_KEK_ID_LEN: usize = 64;
/// The length of a key stored in plain bytes by earlier releases.
pub const PLAIN_KEY_LEN: usize = 32;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// The most keys a KEK file may hold (a rotation needs two).
const MAX_KEKS: usize = 16;

/// Why a key could not be wrapped or opened. Never carries key material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KekError {
    /// The blob is not one this build reads (version, length, header).
    Malformed,
    /// The blob names a KEK this server was not given (keep the old KEK
    /// configured until every blob is rewrapped).
    UnknownKek(String),
    /// The blob did not authenticate: another row's blob, a tampered blob,
    /// or the wrong key under a reused id.
    DoesNotOpen,
    /// A wrapped key was found but no KEK is configured.
    NoKek,
    /// The KEK configuration is unusable (says why, without key bytes).
    BadConfig(String),
    /// The provider (a KMS, the random source) failed.
    Provider(String),
}

impl std::fmt::Display for KekError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Malformed => f.write_str("a stored key is not a blob this build reads"),
            Self::UnknownKek(id) => write!(f, "a stored key is wrapped under KEK {id:?}, which is not configured"),
            Self::DoesNotOpen => f.write_str("a stored key does not open under its KEK for this row"),
            Self::NoKek => {
                f.write_str("a stored key is wrapped but no KEK is configured (--kek-file or OFFLINE_AUTH_KEK)")
            }
            Self::BadConfig(why) => write!(f, "KEK configuration: {why}"),
            Self::Provider(why) => write!(f, "KEK provider: {why}"),
        }
    }
}

impl std::error::Error for KekError {}

/// A key-encryption key, as the store uses it: wrap under the current KEK,
/// open under whichever KEK a blob names. A KMS implements this by sending
/// `plaintext`/`aad` to its encrypt call and producing a blob with the
/// header of [`blob_kek_id`] (its own version byte and key id).
///
/// Called with no store lock held, from async tasks: keep calls short.
pub trait KekProvider: Send + Sync {
    /// The id new blobs are wrapped under.
    fn current_id(&self) -> &str;

    /// Wraps `plaintext` under the current KEK, bound to `aad`.
    ///
    /// # Errors
    /// The provider's failure.
    fn wrap(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, KekError>;

    /// Opens a blob made by [`KekProvider::wrap`] with the same `aad`.
    ///
    /// # Errors
    /// [`KekError::Malformed`], [`KekError::UnknownKek`], [`KekError::DoesNotOpen`].
    fn unwrap(&self, blob: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, KekError>;

    /// Whether `blob` should be wrapped anew (it names an older KEK).
    fn needs_rewrap(&self, blob: &[u8]) -> bool {
        blob_kek_id(blob) != Some(self.current_id())
    }
}

/// Whether stored key bytes are a blob (else: a plain key from an earlier release).
pub fn is_wrapped(stored: &[u8]) -> bool {
    stored.len() != PLAIN_KEY_LEN
}

/// The KEK id in a blob's header, if the header reads.
pub fn blob_kek_id(blob: &[u8]) -> Option<&str> {
    let (&_version, rest) = blob.split_first()?;
    let (&len, rest) = rest.split_first()?;
    std::str::from_utf8(rest.get(..usize::from(len))?).ok()
}

/// KEKs held in memory (zeroized on drop), from text with one `id:hex` a
/// line (blank lines and `#` lines ignored; commas also separate): the
/// last is current, the others only open older blobs during a rotation.
pub struct StaticKeks {
    keys: Vec<(String, Zeroizing<Vec<u8>>)>,
}

impl std::fmt::Debug for StaticKeks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("StaticKeks").field("ids", &ids).field("keys", &"<redacted>").finish()
    }
}

impl StaticKeks {
    /// Parses `id:hex` entries (32-byte keys, distinct ids of 1 to 64 of
    /// `A-Za-z0-9._-`).
    ///
    /// # Errors
    /// [`KekError::BadConfig`] naming the entry's position, never its bytes.
    pub fn from_text(text: &str) -> Result<Self, KekError> {
        let mut keys: Vec<(String, Zeroizing<Vec<u8>>)> = Vec::new();
        let entries = text.split(['\n', ',']).map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#'));
        for (n, entry) in entries.enumerate() {
            let bad = |why: &str| KekError::BadConfig(format!("entry {}: {why}", n + 1));
            if keys.len() == MAX_KEKS {
                return Err(bad("too many keys"));
            }
            let (id, hex_key) = entry.split_once(':').ok_or_else(|| bad("expected id:hex"))?;
            let id_ok = !id.is_empty()
                && id.len() <= MAX_KEK_ID_LEN
                && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
            if !id_ok {
                return Err(bad("the id must be 1 to 64 of A-Za-z0-9._-"));
            }
            if keys.iter().any(|(known, _)| known == id) {
                return Err(bad("the id is given twice"));
            }
            let key = Zeroizing::new(hex::decode(hex_key.trim()).map_err(|_| bad("the key is not hex"))?);
            if key.len() != KEK_LEN {
                return Err(bad("the key must be 32 bytes (64 hex digits)"));
            }
            keys.push((id.to_owned(), key));
        }
        if keys.is_empty() {
            return Err(KekError::BadConfig("no key given".into()));
        }
        Ok(Self { keys })
    }

    /// Reads [`StaticKeks::from_text`]'s format from `path`.
    ///
    /// # Errors
    /// The file cannot be read, or its text is refused.
    pub fn from_file(path: &std::path::Path) -> Result<Self, KekError> {
        let text = Zeroizing::new(
            std::fs::read_to_string(path)
                .map_err(|e| KekError::BadConfig(format!("cannot read {}: {e}", path.display())))?,
        );
        Self::from_text(&text)
    }

    fn key(&self, id: &str) -> Option<&[u8]> {
        self.keys.iter().find(|(known, _)| known == id).map(|(_, key)| key.as_slice())
    }
}

fn header(id: &str) -> Result<Vec<u8>, KekError> {
    let len = u8::try_from(id.len()).map_err(|_| KekError::BadConfig("KEK id too long".into()))?;
    let mut out = Vec::with_capacity(2 + id.len() + NONCE_LEN + PLAIN_KEY_LEN + TAG_LEN);
    out.extend_from_slice(&[BLOB_V1, len]);
    out.extend_from_slice(id.as_bytes());
    Ok(out)
}

fn full_aad(aad: &[u8], header: &[u8]) -> Vec<u8> {
    [aad, header].concat()
}

impl KekProvider for StaticKeks {
    fn current_id(&self) -> &str {
        self.keys.last().map_or("", |(id, _)| id.as_str())
    }

    fn wrap(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, KekError> {
        let (id, key) = self.keys.last().ok_or(KekError::NoKek)?;
        let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| KekError::BadConfig("KEK length".into()))?;
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| KekError::Provider(e.to_string()))?;
        let mut blob = header(id)?;
        let aad = full_aad(aad, &blob);
        let sealed = cipher
            .encrypt((&nonce).into(), Payload { msg: plaintext, aad: &aad })
            .map_err(|_| KekError::Provider("encryption failed".into()))?;
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&sealed);
        Ok(blob)
    }

    fn unwrap(&self, blob: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, KekError> {
        if blob.first() != Some(&BLOB_V1) {
            return Err(KekError::Malformed);
        }
        let id = blob_kek_id(blob).ok_or(KekError::Malformed)?;
        let header_len = 2 + id.len();
        let body = blob.get(header_len..).ok_or(KekError::Malformed)?;
        if body.len() < NONCE_LEN + TAG_LEN {
            return Err(KekError::Malformed);
        }
        let key = self.key(id).ok_or_else(|| KekError::UnknownKek(id.to_owned()))?;
        let (nonce, sealed) = body.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| KekError::Malformed)?;
        let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| KekError::BadConfig("KEK length".into()))?;
        let aad = full_aad(aad, blob.get(..header_len).ok_or(KekError::Malformed)?);
        cipher
            .decrypt((&nonce).into(), Payload { msg: sealed, aad: &aad })
            .map(Zeroizing::new)
            .map_err(|_| KekError::DoesNotOpen)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const A: &str = "old:0000000000000000000000000000000000000000000000000000000000000001";
    const B: &str = "new:0000000000000000000000000000000000000000000000000000000000000002";

    #[test]
    fn a_blob_opens_only_with_its_own_associated_data() {
        let keks = StaticKeks::from_text(A).unwrap();
        let blob = keks.wrap(&[7; 32], b"sync_key\0dev-1").unwrap();
        assert!(is_wrapped(&blob));
        assert_eq!(keks.unwrap(&blob, b"sync_key\0dev-1").unwrap().as_slice(), &[7; 32]);
        assert_eq!(keks.unwrap(&blob, b"sync_key\0dev-2"), Err(KekError::DoesNotOpen));
    }

    #[test]
    fn a_relabelled_or_truncated_blob_is_refused_without_a_panic() {
        let keks = StaticKeks::from_text(&format!("{A}\n{B}")).unwrap();
        let blob = keks.wrap(&[7; 32], b"x").unwrap();
        let relabelled = [&[BLOB_V1, 3][..], b"old", &blob[5..]].concat();
        assert_eq!(keks.unwrap(&relabelled, b"x"), Err(KekError::DoesNotOpen));
        for n in 0..blob.len() {
            assert!(keks.unwrap(&blob[..n], b"x").is_err());
        }
    }

    #[test]
    fn the_last_kek_is_current_and_older_ones_still_open() {
        let old = StaticKeks::from_text(A).unwrap();
        let blob = old.wrap(&[9; 32], b"x").unwrap();
        let rotated = StaticKeks::from_text(&format!("{A},{B}")).unwrap();
        assert_eq!(rotated.current_id(), "new");
        assert!(rotated.needs_rewrap(&blob));
        assert_eq!(rotated.unwrap(&blob, b"x").unwrap().as_slice(), &[9; 32]);
        let only_new = StaticKeks::from_text(B).unwrap();
        assert_eq!(only_new.unwrap(&blob, b"x"), Err(KekError::UnknownKek("old".into())));
    }

    #[test]
    fn a_bad_kek_configuration_is_refused_without_echoing_the_key() {
        for text in ["", "nohex", "a:zz", "a:00", "bad id:00", &format!("{A}\n{A}")] {
            let error = StaticKeks::from_text(text).unwrap_err();
            assert!(!error.to_string().contains("0000000000"), "{error}");
        }
        assert!(!format!("{:?}", StaticKeks::from_text(A).unwrap()).contains("0001"));
    }
}
