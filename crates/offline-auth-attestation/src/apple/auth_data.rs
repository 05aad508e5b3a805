//! WebAuthn authenticator data as App Attest writes it: fixed fields read
//! by position, each length checked against the bytes left before it is read.
//!
//! ```text
//! rpIdHash 32 | flags 1 | signCount 4 (big-endian)
//!   [attested credential data, flag AT: aaguid 16 | credIdLen 2 | credId | COSE key]
//! ```
//! An attestation's data must carry the attested credential (flag AT and
//! the fields after it); an assertion's is exactly the 37 fixed bytes.

use crate::refusal::Refusal;

/// The AT flag: attested credential data follows the fixed fields.
const ATTESTED_CREDENTIAL: u8 = 0x40;
const FIXED_LEN: usize = 37;

/// The fixed fields, and the attested credential when present.
#[derive(Debug)]
pub(crate) struct AuthenticatorData<'a> {
    pub(crate) rp_id_hash: &'a [u8],
    pub(crate) counter: u32,
    pub(crate) credential: Option<AttestedCredential<'a>>,
}

/// Which key was attested, and in which App Attest environment.
#[derive(Debug)]
pub(crate) struct AttestedCredential<'a> {
    pub(crate) aaguid: &'a [u8],
    pub(crate) credential_id: &'a [u8],
}

impl<'a> AuthenticatorData<'a> {
    /// An attestation's authenticator data (with the attested credential;
    /// the COSE key after it is not read: the certificate carries the key).
    pub(crate) fn attestation(data: &'a [u8]) -> Result<Self, Refusal> {
        let (fixed, flags, rest) = fixed(data)?;
        if flags & ATTESTED_CREDENTIAL == 0 {
            return Err(Refusal::MalformedAuthenticatorData);
        }
        let (aaguid, rest) = split(rest, 16)?;
        let (len, rest) = split(rest, 2)?;
        let len = usize::from(u16::from_be_bytes(len.try_into().map_err(|_| Refusal::MalformedAuthenticatorData)?));
        let (credential_id, cose_key) = split(rest, len)?;
        if cose_key.is_empty() {
            return Err(Refusal::MalformedAuthenticatorData);
        }
        Ok(Self { credential: Some(AttestedCredential { aaguid, credential_id }), ..fixed })
    }

    /// An assertion's authenticator data: the fixed fields and nothing more.
    /// Its flags are not read: real assertions carry the AT flag without
    /// attested credential data (`tests/data/apple`).
    pub(crate) fn assertion(data: &'a [u8]) -> Result<Self, Refusal> {
        let (fixed, _flags, rest) = fixed(data)?;
        if !rest.is_empty() {
            return Err(Refusal::MalformedAuthenticatorData);
        }
        Ok(fixed)
    }
}

fn fixed(data: &[u8]) -> Result<(AuthenticatorData<'_>, u8, &[u8]), Refusal> {
    let (head, rest) = split(data, FIXED_LEN)?;
    let (rp_id_hash, tail) = head.split_at(32);
    let (flags, counter) = tail.split_at(1);
    let counter = u32::from_be_bytes(counter.try_into().map_err(|_| Refusal::MalformedAuthenticatorData)?);
    let flags = flags.first().copied().unwrap_or(0);
    Ok((AuthenticatorData { rp_id_hash, counter, credential: None }, flags, rest))
}

/// `data` cut after `n` bytes, or a refusal if it has fewer.
fn split(data: &[u8], n: usize) -> Result<(&[u8], &[u8]), Refusal> {
    data.split_at_checked(n).ok_or(Refusal::MalformedAuthenticatorData)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed_fields(flags: u8, counter: u32) -> Vec<u8> {
        let mut d = vec![0xaa; 32];
        d.push(flags);
        d.extend_from_slice(&counter.to_be_bytes());
        d
    }

    #[test]
    fn an_assertions_fixed_fields_are_read_and_nothing_may_follow() {
        let d = fixed_fields(0, 7);
        let parsed = AuthenticatorData::assertion(&d).map(|a| a.counter);
        assert_eq!(parsed.ok(), Some(7));
        let mut longer = d.clone();
        longer.push(0);
        assert!(AuthenticatorData::assertion(&longer).is_err());
        assert!(AuthenticatorData::assertion(&d[..36]).is_err());
    }

    #[test]
    fn a_credential_id_longer_than_the_data_is_refused_before_reading() {
        let mut d = fixed_fields(ATTESTED_CREDENTIAL, 0);
        d.extend_from_slice(b"appattestdevelop");
        d.extend_from_slice(&u16::MAX.to_be_bytes());
        d.extend_from_slice(&[1; 40]);
        assert!(matches!(AuthenticatorData::attestation(&d), Err(Refusal::MalformedAuthenticatorData)));
    }
}
