//! The key hierarchy of ARCHITECTURE.md §2, in one place.
//!
//! - `DK`, the device secret, is only stored wrapped by the platform keystore.
//! - `PK` = PBKDF2(PIN); `KEK_pin` = HKDF(salt = PK, ikm = DK): neither the
//!   PIN without the keystore nor the files without the PIN give the key.
//! - `VK`, the vault key, is stored sealed under `KEK_pin` (and, optionally,
//!   wrapped by the keystore's biometric key). Its subkeys blind record
//!   locations; `VK` itself seals every record, queue entry and the state.
//! - A MAC under a `DK` subkey authenticates the attempt counter and the PIN
//!   wrap, so editing either is detected before a PIN is checked.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::crypto::{
    ct_eq, derive_key, hmac_sha256, open, pin_key, random_array, seal, Aad, AadKind, Mac32, MacKey, Sealed, SecretKey,
    SessionAead,
};
use crate::error::{Error, Result};
use crate::fresh::RenewalKey;
use crate::storage::VaultRow;

const SUBKEY_SALT: &[u8] = b"offline-auth/subkeys/1";

/// The vault key and its subkeys, alive only while a session is open. The
/// HMAC pad states of the subkeys are computed once per session, and so is
/// the AES-256-GCM key schedule of `VK` (round keys and GHASH key): its first
/// round keys *are* `VK`, and a schedule held inline in a struct leaves
/// copies of itself on the stack whenever the struct moves (found by
/// `tests/no_secret_left_in_memory_after_lock.rs`), so [`SessionAead`] keeps it in a
/// heap allocation that never moves and is wiped when the keys are dropped.
pub(crate) struct VaultKeys {
    vault_id: Vec<u8>,
    vk: SecretKey,
    aead: SessionAead,
    location_key: MacKey,
    collection_key: MacKey,
    /// The last collection tagged and its tag (a session works in one
    /// collection at a time; a `get` would otherwise pay an HMAC for it).
    last_tag: Mutex<Option<(String, Mac32)>>,
    version_key: MacKey,
    binding: StateBinding,
    /// The highest device key epoch seen under these keys: a row from an
    /// earlier epoch written back while the session is open is `Tampered`.
    epoch_seen: AtomicU64,
}

impl std::fmt::Debug for VaultKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VaultKeys(<redacted>)")
    }
}

impl VaultKeys {
    /// The keys of vault `vault_id` under `VK`, with the state binding of
    /// keystore epoch `epoch`.
    pub(crate) fn new(vault_id: &[u8], vk: SecretKey, binding: StateBinding, epoch: u64) -> Result<Self> {
        let subkey = |purpose: &[u8]| -> Result<MacKey> {
            Ok(MacKey::new(&derive_key(vk.as_bytes(), SUBKEY_SALT, &[purpose, vault_id])?))
        };
        Ok(Self {
            vault_id: vault_id.to_vec(),
            location_key: subkey(b"record-location")?,
            collection_key: subkey(b"record-collection")?,
            last_tag: Mutex::new(None),
            version_key: subkey(b"record-version")?,
            aead: SessionAead::new(&vk),
            vk,
            binding,
            epoch_seen: AtomicU64::new(epoch),
        })
    }

    /// Keys for code that never stores a state (benchmarks, unit tests).
    #[cfg(any(test, feature = "bench-internals"))]
    pub(crate) fn unbound(vault_id: &[u8], vk: SecretKey) -> Result<Self> {
        let binding =
            StateBinding(MacKey::new(&SecretKey::generate()?), RenewalKey(MacKey::new(&SecretKey::generate()?)));
        Self::new(vault_id, vk, binding, 0)
    }

    /// Checks that `row` holds this vault's state, bound to an epoch no
    /// older than any this session has seen.
    pub(crate) fn check_binding(&self, row: &VaultRow) -> Result<()> {
        if row.vault_id != self.vault_id {
            return Err(Error::Wiped);
        }
        if !self.binding.verifies(row) || row.key_epoch < self.epoch_seen.fetch_max(row.key_epoch, Ordering::SeqCst) {
            return Err(Error::Tampered);
        }
        Ok(())
    }

    /// The binding of a newly sealed `state` to `row`'s alias and epoch.
    pub(crate) fn bind(&self, device_alias: &str, key_epoch: u64, state: &[u8]) -> Mac32 {
        self.binding.mac(device_alias, key_epoch, state)
    }

    /// The `DK` subkey of renewal nonces (`fresh.rs`).
    pub(crate) fn renewal_key(&self) -> &RenewalKey {
        &self.binding.1
    }

    /// The vault these keys belong to.
    pub(crate) fn vault_id(&self) -> &[u8] {
        &self.vault_id
    }

    /// `VK` itself (for the biometric wrap).
    pub(crate) fn vk(&self) -> &SecretKey {
        &self.vk
    }

    /// Seals `plaintext` as a blob of `kind` at `location` in this vault.
    pub(crate) fn seal(&self, kind: AadKind, location: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
        Ok(self.aead.seal_to_bytes(&Aad::new(kind, &self.vault_id, location), plaintext)?)
    }

    /// Opens a blob sealed by [`VaultKeys::seal`] with the same kind and location.
    pub(crate) fn open(&self, kind: AadKind, location: &[u8], bytes: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        Ok(self.aead.open_bytes(&Aad::new(kind, &self.vault_id, location), bytes)?)
    }

    /// The blinded row key of `(collection, key)`.
    pub(crate) fn record_location(&self, collection: &str, key: &str) -> Mac32 {
        let len = (collection.len() as u32).to_be_bytes();
        self.location_key.mac(&[&len, collection.as_bytes(), key.as_bytes()])
    }

    /// The blinded collection tag used to list a collection's records.
    pub(crate) fn collection_tag(&self, collection: &str) -> Mac32 {
        // A poisoned lock still holds a whole (name, tag) pair or nothing.
        let mut last = self.last_tag.lock().unwrap_or_else(PoisonError::into_inner);
        match last.as_ref() {
            Some((name, tag)) if name == collection => *tag,
            _ => {
                let tag = self.collection_key.mac(&[collection.as_bytes()]);
                *last = Some((collection.to_owned(), tag));
                tag
            }
        }
    }

    /// The term a record contributes to the record-set digest: a PRF of its
    /// row key and version, so only the vault key's holder can compute it.
    pub(crate) fn record_version_tag(&self, location: &[u8], version: u64) -> Mac32 {
        self.version_key.mac(&[location, &version.to_be_bytes()])
    }
}

/// `DK`: the device secret, unwrapped by the keystore for one operation.
pub(crate) struct DeviceSecret(SecretKey);

impl DeviceSecret {
    /// A fresh random `DK`.
    pub(crate) fn generate() -> Result<Self> {
        Ok(Self(SecretKey::generate()?))
    }

    /// `DK` as the keystore unwrapped it.
    pub(crate) fn from_vec(bytes: Vec<u8>) -> Result<Self> {
        // A keystore that returns the wrong length was handed a foreign blob.
        SecretKey::from_vec(bytes).map(Self).map_err(|_| Error::Tampered)
    }

    /// `DK`'s bytes, for the keystore to wrap.
    pub(crate) fn to_vec(&self) -> Zeroizing<Vec<u8>> {
        self.0.to_vec()
    }

    /// MAC over the attempt state (device alias and epoch, counter, backoff
    /// mark) and the PIN wrap, so none of them can be edited unseen.
    pub(crate) fn attempts_mac(&self, row: &VaultRow) -> Result<Mac32> {
        let key = derive_key(self.0.as_bytes(), SUBKEY_SALT, &[b"attempt-state/2", &row.vault_id])?;
        let mark = row.failure_mark.map(|m| (m.boot, m.elapsed_ms.to_be_bytes()));
        let (mark_tag, mark_boot, mark_elapsed) = match &mark {
            Some((boot, elapsed)) => (&[1u8][..], &boot[..], &elapsed[..]),
            None => (&[0u8][..], &[][..], &[][..]),
        };
        Ok(hmac_sha256(
            &key,
            &[
                &len_prefix(row.device_alias.as_bytes()),
                row.device_alias.as_bytes(),
                &row.key_epoch.to_be_bytes(),
                &row.failed_attempts.to_be_bytes(),
                &row.last_failure_at.to_be_bytes(),
                mark_tag,
                mark_boot,
                mark_elapsed,
                &row.pin_wrap,
            ],
        ))
    }

    /// The attempt MAC of a row written by the first release (no epoch, no
    /// backoff mark, no state binding). Accepted only while the row's state
    /// is unbound; the next attempt rewrites it in the current form.
    pub(crate) fn first_release_attempts_mac(&self, row: &VaultRow) -> Result<Mac32> {
        let key = derive_key(self.0.as_bytes(), SUBKEY_SALT, &[b"attempt-state", &row.vault_id])?;
        Ok(hmac_sha256(
            &key,
            &[
                &len_prefix(row.device_alias.as_bytes()),
                row.device_alias.as_bytes(),
                &row.failed_attempts.to_be_bytes(),
                &row.last_failure_at.to_be_bytes(),
                &row.pin_wrap,
            ],
        ))
    }

    /// A new alias for the biometric key, carrying a tag that only the
    /// holder of `DK` can make: `offline-auth.<vault id>.biometric.<nonce>.<tag>`.
    /// The alias sits in the vault row unauthenticated; the tag lets the vault
    /// tell a key the platform lost from an alias someone edited.
    ///
    /// Its tag is of the second form ([`WRAP_MAC_MARK`] first), which also
    /// says that the wrap stored with it carries a MAC: a wrap without one
    /// beside such an alias was downgraded, not written by an earlier release.
    pub(crate) fn new_biometric_alias(&self, vault_id: &[u8]) -> Result<String> {
        let base = new_alias(vault_id, BIOMETRIC_PURPOSE)?;
        let tag = self.biometric_alias_tag(vault_id, &base, b"biometric-alias/2")?;
        Ok(format!("{base}.{WRAP_MAC_MARK}{tag}"))
    }

    /// Whether `alias` is a biometric alias that [`Self::new_biometric_alias`]
    /// made for this vault: `Some(true)` authentic, `Some(false)` forged or
    /// edited, `None` an untagged alias of an earlier release.
    pub(crate) fn authenticates_biometric_alias(&self, vault_id: &[u8], alias: &str) -> Result<Option<bool>> {
        let prefix = format!("offline-auth.{}.{BIOMETRIC_PURPOSE}.", hex::encode(vault_id));
        let Some(rest) = alias.strip_prefix(&prefix) else {
            return Ok(Some(false));
        };
        let Some((nonce, tag)) = rest.split_once('.') else {
            let untagged = rest.len() == 16 && rest.bytes().all(|b| b.is_ascii_hexdigit());
            return Ok(if untagged { None } else { Some(false) });
        };
        let base = format!("{prefix}{nonce}");
        let expected = match tag.strip_prefix(WRAP_MAC_MARK) {
            Some(_) => format!("{WRAP_MAC_MARK}{}", self.biometric_alias_tag(vault_id, &base, b"biometric-alias/2")?),
            None => self.biometric_alias_tag(vault_id, &base, b"biometric-alias/1")?,
        };
        Ok(Some(ct_eq(expected.as_bytes(), tag.as_bytes())))
    }

    fn biometric_alias_tag(&self, vault_id: &[u8], base: &str, label: &[u8]) -> Result<String> {
        let key = derive_key(self.0.as_bytes(), SUBKEY_SALT, &[label, vault_id])?;
        let mac = hmac_sha256(&key, &[base.as_bytes()]);
        Ok(hex::encode(mac.get(..16).unwrap_or_default()))
    }

    /// The MAC that authenticates a stored biometric wrap: the keystore's
    /// blob together with the alias it was made under, so neither can be
    /// swapped for another (the device wrap, another alias) unnoticed.
    pub(crate) fn biometric_wrap_mac(&self, vault_id: &[u8], alias: &str, wrap: &[u8]) -> Result<Mac32> {
        let key = derive_key(self.0.as_bytes(), SUBKEY_SALT, &[b"biometric-wrap/1", vault_id])?;
        Ok(hmac_sha256(&key, &[&len_prefix(alias.as_bytes()), alias.as_bytes(), wrap]))
    }

    /// The key that binds the sealed state to the current device key epoch,
    /// held with the key of renewal nonces.
    pub(crate) fn state_binding(&self, vault_id: &[u8]) -> Result<StateBinding> {
        let subkey = |label: &[u8]| -> Result<MacKey> {
            Ok(MacKey::new(&derive_key(self.0.as_bytes(), SUBKEY_SALT, &[label, vault_id])?))
        };
        Ok(StateBinding(subkey(b"state-binding")?, RenewalKey(subkey(b"renewal-nonce/1")?)))
    }

    fn kek(&self, pin_key: &SecretKey, vault_id: &[u8]) -> Result<SecretKey> {
        Ok(derive_key(self.0.as_bytes(), pin_key.as_bytes(), &[b"offline-auth/kek-pin/1", vault_id])?)
    }
}

fn len_prefix(bytes: &[u8]) -> [u8; 4] {
    u32::try_from(bytes.len()).unwrap_or(u32::MAX).to_be_bytes()
}

/// A `DK` subkey that MACs the sealed state together with the device alias
/// and epoch it belongs to. Every rotation of the device key re-binds the
/// state, so a state row copied from an earlier epoch no longer verifies.
/// It travels with the `DK` subkey of renewal nonces (`fresh.rs`), which
/// does not change with the epoch.
pub(crate) struct StateBinding(MacKey, RenewalKey);

impl StateBinding {
    /// The `DK` subkey of renewal nonces.
    pub(crate) fn renewal_key(&self) -> &RenewalKey {
        &self.1
    }

    /// The binding of `state` (sealed bytes) to a device alias and epoch.
    pub(crate) fn mac(&self, device_alias: &str, key_epoch: u64, state: &[u8]) -> Mac32 {
        let alias = device_alias.as_bytes();
        self.0.mac(&[&len_prefix(alias), alias, &key_epoch.to_be_bytes(), state])
    }

    /// Whether `row` carries a valid binding of its own state.
    pub(crate) fn verifies(&self, row: &VaultRow) -> bool {
        row.state_mac.as_deref().is_some_and(|mac| ct_eq(&self.mac(&row.device_alias, row.key_epoch, &row.state), mac))
    }
}

/// The PIN wrap of the vault key, as stored.
#[derive(Serialize, Deserialize)]
enum PinWrap {
    V1 { salt: [u8; 32], iterations: u32, sealed: Sealed },
}

/// Seals `vk` under a key derived from `pin` and `dk`, with a fresh salt.
pub(crate) fn wrap_vault_key(
    vk: &SecretKey,
    dk: &DeviceSecret,
    pin: &[u8],
    vault_id: &[u8],
    iterations: u32,
) -> Result<Vec<u8>> {
    let salt: [u8; 32] = random_array()?;
    let kek = dk.kek(&pin_key(pin, &salt, iterations)?, vault_id)?;
    let sealed = seal(&kek, &Aad::new(AadKind::PinWrap, vault_id, b"pin"), vk.as_bytes())?;
    postcard::to_stdvec(&PinWrap::V1 { salt, iterations, sealed }).map_err(|_| Error::Encoding)
}

/// The iteration count a stored PIN wrap was made with.
pub(crate) fn wrap_iterations(pin_wrap: &[u8]) -> Result<u32> {
    let PinWrap::V1 { iterations, .. } = postcard::from_bytes(pin_wrap).map_err(|_| Error::Tampered)?;
    Ok(iterations)
}

/// Opens the PIN wrap: `Ok(None)` means the PIN is wrong.
pub(crate) fn unwrap_vault_key(
    pin_wrap: &[u8],
    dk: &DeviceSecret,
    pin: &[u8],
    vault_id: &[u8],
) -> Result<Option<SecretKey>> {
    let PinWrap::V1 { salt, iterations, sealed } = postcard::from_bytes(pin_wrap).map_err(|_| Error::Tampered)?;
    let kek = dk.kek(&pin_key(pin, &salt, iterations)?, vault_id)?;
    match open(&kek, &Aad::new(AadKind::PinWrap, vault_id, b"pin"), &sealed) {
        Ok(bytes) => Ok(Some(SecretKey::from_slice(&bytes).map_err(|_| Error::Tampered)?)),
        Err(offline_auth_proto::ProtoError::Tampered) => Ok(None),
        Err(other) => Err(other.into()),
    }
}

/// The purpose part of biometric aliases.
const BIOMETRIC_PURPOSE: &str = "biometric";

/// Starts the tag of a biometric alias whose stored wrap carries a MAC.
const WRAP_MAC_MARK: &str = "m";

/// Whether `alias` (authenticated by the caller) says its wrap carries a MAC.
pub(crate) fn biometric_alias_promises_wrap_mac(alias: &str) -> bool {
    alias.rsplit_once('.').is_some_and(|(_, tag)| tag.starts_with(WRAP_MAC_MARK))
}

/// Whether `alias` names a biometric key (made by [`new_alias`] with the
/// biometric purpose, tagged or from an earlier release).
pub(crate) fn is_biometric_alias(alias: &str) -> bool {
    alias.contains(&format!(".{BIOMETRIC_PURPOSE}."))
}

/// A fresh keystore alias for `purpose` in this vault.
pub(crate) fn new_alias(vault_id: &[u8], purpose: &str) -> Result<String> {
    let nonce: [u8; 8] = random_array()?;
    Ok(format!("offline-auth.{}.{purpose}.{}", hex::encode(vault_id), hex::encode(nonce)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::MIN_PBKDF2_ITERATIONS;

    #[test]
    fn pin_wrap_needs_both_pin_and_device_secret() {
        let vk = SecretKey::generate().unwrap();
        let dk = DeviceSecret::generate().unwrap();
        let other_dk = DeviceSecret::generate().unwrap();
        let wrap = wrap_vault_key(&vk, &dk, b"482915", b"vault", MIN_PBKDF2_ITERATIONS).unwrap();
        let opened = unwrap_vault_key(&wrap, &dk, b"482915", b"vault").unwrap().unwrap();
        assert_eq!(opened.as_bytes(), vk.as_bytes());
        assert!(unwrap_vault_key(&wrap, &dk, b"482916", b"vault").unwrap().is_none());
        assert!(unwrap_vault_key(&wrap, &other_dk, b"482915", b"vault").unwrap().is_none());
        assert_eq!(wrap_iterations(&wrap).unwrap(), MIN_PBKDF2_ITERATIONS);
    }

    #[test]
    fn biometric_alias_tags_of_both_forms_authenticate_and_only_the_second_promises_a_wrap_mac() {
        let dk = DeviceSecret::generate().unwrap();
        let new = dk.new_biometric_alias(b"vault").unwrap();
        assert_eq!(dk.authenticates_biometric_alias(b"vault", &new).unwrap(), Some(true));
        assert!(biometric_alias_promises_wrap_mac(&new));
        let base = new_alias(b"vault", BIOMETRIC_PURPOSE).unwrap();
        let old = format!("{base}.{}", dk.biometric_alias_tag(b"vault", &base, b"biometric-alias/1").unwrap());
        assert_eq!(dk.authenticates_biometric_alias(b"vault", &old).unwrap(), Some(true));
        assert!(!biometric_alias_promises_wrap_mac(&old));
        // The mark cannot be added to or removed from a tag.
        let (base, tag) = new.rsplit_once('.').unwrap();
        let unmarked = format!("{base}.{}", tag.strip_prefix(WRAP_MAC_MARK).unwrap());
        assert_eq!(dk.authenticates_biometric_alias(b"vault", &unmarked).unwrap(), Some(false));
        let (base, tag) = old.rsplit_once('.').unwrap();
        assert_eq!(
            dk.authenticates_biometric_alias(b"vault", &format!("{base}.{WRAP_MAC_MARK}{tag}")).unwrap(),
            Some(false)
        );
    }

    #[test]
    fn locations_are_blinded_and_distinct() {
        let keys = VaultKeys::unbound(b"v", SecretKey::generate().unwrap()).unwrap();
        assert_ne!(keys.record_location("ab", "c"), keys.record_location("a", "bc"));
        assert_ne!(keys.collection_tag("a").to_vec(), keys.record_location("a", "").to_vec());
    }

    #[test]
    fn the_remembered_collection_tag_is_the_tag_of_the_collection_asked() {
        let keys = VaultKeys::unbound(b"v", SecretKey::generate().unwrap()).unwrap();
        let (a, b) = (keys.collection_tag("a"), keys.collection_tag("b"));
        assert_ne!(a, b);
        assert_eq!(keys.collection_tag("a"), a);
        assert_eq!(keys.collection_tag("b"), b);
        assert_eq!(a, keys.collection_key.mac(&[b"a"]));
    }
}
