//! Fresh renewals: the device's proof that a grant's `iat` is recent, so
//! the trusted time may be repaired from it — down as well as up.
//!
//! Why: a renewal never lowers the trusted time (`docs/TIME.md`), because
//! a grant fetched early and withheld would otherwise hand time back. The
//! price was that a clock once set far ahead shortened every later window.
//! A grant that carries a nonce this device made *in this boot*, at most
//! [`FRESH_RENEWAL_MAX_SECS`] of elapsed time ago, cannot have been
//! withheld for longer than that: the backend signed it after the nonce
//! existed. So real time now lies in `[iat, iat + since]` (`since` being
//! the elapsed time since the nonce was made), and the trusted time may be
//! set to `max(iat + since, wall)` — never behind real time, so nothing is
//! gained by anyone, and at most `since` of the window is lost.
//!
//! 1. The nonce carries its own record: 16 random bytes, the elapsed time
//!    it was made at (masked, so the backend learns nothing of the
//!    device's uptime) and a 16-byte tag under a `DK` subkey over both and
//!    the boot id. Only the holder of `DK` makes one; another device's, an
//!    edited one, or one from another boot fails the tag.
//! 2. Each nonce repairs once: the sealed state keeps the mark of the last
//!    one used ([`FreshMark`]), and only a nonce made strictly later in the
//!    same boot (or in a later boot) repairs again.
//! 3. A grant without such proof is installed under the old rule.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use crate::crypto::{ct_eq, random_array, MacKey};
use crate::error::Result;
use crate::time::{FreshMark, Reading};

/// The longest elapsed time between making a nonce and installing the grant
/// that carries it for the grant to count as fresh: 5 minutes, enough for a
/// slow network round trip; the repair may leave the trusted time up to
/// this much ahead of real time (it is also capped by the rollback
/// tolerance, so a repaired time never sets the rollback lock).
pub const FRESH_RENEWAL_MAX_SECS: u64 = 300;

const RANDOM_LEN: usize = 16;
const TAG_LEN: usize = 16;
const NONCE_LEN: usize = RANDOM_LEN + 8 + TAG_LEN;

/// The `DK` subkey that makes and checks renewal nonces (held with the
/// state binding, so an unlocked session has it without the keystore).
pub(crate) struct RenewalKey(pub(crate) MacKey);

impl std::fmt::Debug for RenewalKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RenewalKey(<redacted>)")
    }
}

/// A grant's proof of freshness, checked: made `since_secs` ago (rounded
/// up), recorded as `mark` once used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fresh {
    pub(crate) since_secs: i64,
    pub(crate) mark: FreshMark,
}

impl RenewalKey {
    fn pad(&self, random: &[u8]) -> [u8; 8] {
        let mac = self.0.mac(&[b"renewal-nonce/pad", random]);
        let mut pad = [0u8; 8];
        pad.copy_from_slice(mac.get(..8).unwrap_or(&[0; 8]));
        pad
    }

    fn tag(&self, random: &[u8], elapsed_ms: u64, boot: &[u8; 32]) -> [u8; TAG_LEN] {
        let mac = self.0.mac(&[b"renewal-nonce/tag", random, &elapsed_ms.to_be_bytes(), boot]);
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(mac.get(..TAG_LEN).unwrap_or(&[0; TAG_LEN]));
        tag
    }

    /// A new nonce, made at `reading` (base64url, 54 characters).
    pub(crate) fn nonce(&self, reading: &Reading) -> Result<String> {
        let random: [u8; RANDOM_LEN] = random_array()?;
        let pad = self.pad(&random);
        let masked: Vec<u8> = reading.elapsed_ms.to_be_bytes().iter().zip(pad).map(|(e, p)| e ^ p).collect();
        let tag = self.tag(&random, reading.elapsed_ms, &reading.boot);
        Ok(URL_SAFE_NO_PAD.encode([&random[..], &masked, &tag].concat()))
    }

    /// The elapsed time `nonce` was made at, if this key made it in the
    /// boot of `reading`; `None` for anything else.
    fn made_at(&self, nonce: &str, reading: &Reading) -> Option<u64> {
        if nonce.len() > 2 * NONCE_LEN {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(nonce).ok()?;
        if bytes.len() != NONCE_LEN {
            return None;
        }
        let (random, rest) = bytes.split_at(RANDOM_LEN);
        let (masked, tag) = rest.split_at(8);
        let pad = self.pad(random);
        let mut elapsed = [0u8; 8];
        for ((out, m), p) in elapsed.iter_mut().zip(masked).zip(pad) {
            *out = m ^ p;
        }
        let elapsed_ms = u64::from_be_bytes(elapsed);
        ct_eq(&self.tag(random, elapsed_ms, &reading.boot), tag).then_some(elapsed_ms)
    }

    /// Whether `nonce` (a grant's `nonce` claim) proves the grant fresh at
    /// `reading`: made by this device, in this boot, not after `reading`,
    /// at most `max_secs` of elapsed time ago, and after the nonce that
    /// last repaired the time (`last`).
    pub(crate) fn check(
        &self,
        nonce: Option<&str>,
        reading: &Reading,
        max_secs: u64,
        last: Option<&FreshMark>,
    ) -> Option<Fresh> {
        let made_ms = self.made_at(nonce?, reading)?;
        let since_ms = reading.elapsed_ms.checked_sub(made_ms)?;
        if since_ms > max_secs.saturating_mul(1000) {
            return None;
        }
        if last.is_some_and(|last| last.boot == reading.boot && last.elapsed_ms >= made_ms) {
            return None;
        }
        let since_secs = i64::try_from(since_ms.div_ceil(1000)).ok()?;
        Some(Fresh { since_secs, mark: FreshMark { boot: reading.boot, elapsed_ms: made_ms } })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SecretKey;

    fn key() -> RenewalKey {
        RenewalKey(MacKey::new(&SecretKey::generate().unwrap()))
    }

    fn at(boot: u8, elapsed_s: u64) -> Reading {
        Reading { wall: 1_000, boot: [boot; 32], elapsed_ms: elapsed_s * 1000 }
    }

    #[test]
    fn a_nonce_proves_freshness_only_to_its_maker_in_its_boot_within_the_bound() {
        let k = key();
        let nonce = k.nonce(&at(1, 100)).unwrap();
        let fresh = k.check(Some(&nonce), &at(1, 160), 300, None).unwrap();
        assert_eq!(fresh.since_secs, 60);
        assert!(k.check(Some(&nonce), &at(1, 401), 300, None).is_none(), "older than the bound");
        assert!(k.check(Some(&nonce), &at(2, 160), 300, None).is_none(), "another boot");
        assert!(key().check(Some(&nonce), &at(1, 160), 300, None).is_none(), "another device");
        assert!(k.check(Some(&nonce), &at(1, 99), 300, None).is_none(), "made after the reading");
        assert!(k.check(Some(&nonce), &at(1, 160), 300, Some(&fresh.mark)).is_none(), "used once");
        assert!(k.check(None, &at(1, 160), 300, None).is_none());
        let mut edited = nonce.into_bytes();
        edited[30] ^= 1;
        let edited = String::from_utf8(edited).unwrap();
        assert!(k.check(Some(&edited), &at(1, 160), 300, None).is_none(), "an edited elapsed time");
    }

    #[test]
    fn the_nonce_does_not_show_the_uptime() {
        let k = key();
        let (a, b) = (k.nonce(&at(1, 0)).unwrap(), k.nonce(&at(1, 0)).unwrap());
        let (a, b) = (URL_SAFE_NO_PAD.decode(a).unwrap(), URL_SAFE_NO_PAD.decode(b).unwrap());
        assert_ne!(a[RANDOM_LEN..RANDOM_LEN + 8], [0; 8]);
        assert_ne!(a[RANDOM_LEN..RANDOM_LEN + 8], b[RANDOM_LEN..RANDOM_LEN + 8]);
    }
}
