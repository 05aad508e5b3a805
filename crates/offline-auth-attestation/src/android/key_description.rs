//! Parsing the key description: the extension with OID
//! 1.3.6.1.4.1.11129.2.1.17 that Android's keystore puts in an attestation
//! leaf. It is decoded with `der` derive types that mirror the schema in
//! the Android documentation ("Key and ID attestation", `KeyDescription`),
//! then copied into [`KeyDescription`], plain data with no ASN.1 types.
//!
//! Strict on purpose: DER only (a BOOLEAN `true` must be `0xFF`), every
//! field in schema order, no tag twice, no unknown tag, no trailing byte.
//! Each of these is [`Refusal::MalformedKeyDescription`]. The tags the
//! schema lists (KeyMint 4 and the attestation versions 1 to 400 in use
//! today) are all declared, so a real attestation decodes; a tag added by a
//! later Android version is refused until it is declared here.
//!
//! Bounds: the extension is inside a certificate already bounded by
//! [`crate::MAX_CERTIFICATE_LEN`], and `der` checks every length against
//! the bytes remaining before it allocates.

use der::asn1::{Any, Null, OctetString, SetOfVec};
use der::{Decode, Sequence};

pub use crate::levels::{SecurityLevel, VerifiedBootState};
use crate::refusal::Refusal;

/// OID of the key description extension.
pub const KEY_DESCRIPTION_OID: const_oid::ObjectIdentifier =
    const_oid::ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.1.17");

/// Where the attested key came from (`KeyOrigin`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyOrigin {
    /// Generated in the keystore.
    Generated,
    /// Derived in the keystore.
    Derived,
    /// Imported from outside.
    Imported,
    /// Imported wrapped, securely.
    SecurelyImported,
    /// A value this verifier does not know.
    Other(u64),
}

impl From<u64> for KeyOrigin {
    fn from(v: u64) -> Self {
        match v {
            0 => Self::Generated,
            1 => Self::Derived,
            2 => Self::Imported,
            4 => Self::SecurelyImported,
            other => Self::Other(other),
        }
    }
}

/// The root of trust (`RootOfTrust`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RootOfTrust {
    /// Digest of the key that verified the boot image.
    pub verified_boot_key: Vec<u8>,
    /// Whether the bootloader is locked.
    pub device_locked: bool,
    /// The verified boot state.
    pub verified_boot_state: VerifiedBootState,
    /// Digest of the verified boot data (attestation version 3 and later).
    pub verified_boot_hash: Option<Vec<u8>>,
}

/// One package of the attestation application id.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PackageInfo {
    /// Package name, as the bytes the device wrote (normally UTF-8).
    pub name: String,
    /// Version code.
    pub version: u64,
}

/// The app that asked for the key (`AttestationApplicationId`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApplicationId {
    /// Packages sharing the app's uid.
    pub packages: Vec<PackageInfo>,
    /// SHA-256 digests of the app's signing certificates.
    pub signature_digests: Vec<Vec<u8>>,
}

/// The fields of an `AuthorizationList` this verifier reports; the rest
/// are decoded (so their form is checked) and not kept.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthorizationList {
    /// Key purposes (`KeyPurpose`: 2 = sign, ...).
    pub purposes: Vec<u64>,
    /// Algorithm (`Algorithm`: 1 = RSA, 3 = EC).
    pub algorithm: Option<u64>,
    /// Key size in bits.
    pub key_size: Option<u64>,
    /// EC curve (`EcCurve`: 1 = P-256).
    pub ec_curve: Option<u64>,
    /// No user authentication required to use the key.
    pub no_auth_required: bool,
    /// Creation time, milliseconds since the Unix epoch.
    pub creation_date_time: Option<u64>,
    /// Origin of the key.
    pub origin: Option<KeyOrigin>,
    /// Root of trust.
    pub root_of_trust: Option<RootOfTrust>,
    /// OS version (`MMmmpp`, e.g. 140000).
    pub os_version: Option<u64>,
    /// OS patch level `YYYYMM`.
    pub os_patch_level: Option<u64>,
    /// Attestation application id.
    pub application_id: Option<ApplicationId>,
    /// Vendor patch level `YYYYMMDD`.
    pub vendor_patch_level: Option<u64>,
    /// Boot patch level `YYYYMMDD`.
    pub boot_patch_level: Option<u64>,
}

/// A decoded key description (`KeyDescription`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyDescription {
    /// Attestation version (1 to 4 for Keymaster, 100 to 400 for KeyMint).
    pub attestation_version: u64,
    /// Where the attestation was made.
    pub attestation_security_level: SecurityLevel,
    /// Keymaster or KeyMint version.
    pub keymint_version: u64,
    /// Where the key lives.
    pub keymint_security_level: SecurityLevel,
    /// The challenge the app passed to `setAttestationChallenge`.
    pub attestation_challenge: Vec<u8>,
    /// Unique id (empty unless requested by a system app).
    pub unique_id: Vec<u8>,
    /// Properties the OS enforces.
    pub software_enforced: AuthorizationList,
    /// Properties the TEE or StrongBox enforces.
    pub hardware_enforced: AuthorizationList,
}

impl KeyDescription {
    /// Decodes the extension's value (the content of its OCTET STRING).
    ///
    /// # Errors
    /// [`Refusal::MalformedKeyDescription`] for any departure from the schema in DER.
    pub fn from_der(bytes: &[u8]) -> Result<Self, Refusal> {
        let raw = RawKeyDescription::from_der(bytes).map_err(|_| Refusal::MalformedKeyDescription)?;
        Ok(Self {
            attestation_version: raw.attestation_version,
            attestation_security_level: raw.attestation_security_level,
            keymint_version: raw.keymint_version,
            keymint_security_level: raw.keymint_security_level,
            attestation_challenge: octets(raw.attestation_challenge),
            unique_id: octets(raw.unique_id),
            software_enforced: raw.software_enforced.into_public()?,
            hardware_enforced: raw.hardware_enforced.into_public()?,
        })
    }
}

fn octets(o: OctetString) -> Vec<u8> {
    o.into_bytes().into_vec()
}

#[derive(Sequence)]
struct RawKeyDescription {
    attestation_version: u64,
    attestation_security_level: SecurityLevel,
    keymint_version: u64,
    keymint_security_level: SecurityLevel,
    attestation_challenge: OctetString,
    unique_id: OctetString,
    software_enforced: RawAuthorizationList,
    hardware_enforced: RawAuthorizationList,
}

#[derive(Sequence)]
struct RawRootOfTrust {
    verified_boot_key: OctetString,
    device_locked: bool,
    verified_boot_state: VerifiedBootState,
    #[asn1(optional = "true")]
    verified_boot_hash: Option<OctetString>,
}

#[derive(Sequence)]
struct RawPackageInfo {
    package_name: OctetString,
    version: u64,
}

#[derive(Sequence)]
struct RawApplicationId {
    package_infos: SetOfVec<RawPackageInfo>,
    signature_digests: SetOfVec<OctetString>,
}

impl der::ValueOrd for RawPackageInfo {
    fn value_cmp(&self, other: &Self) -> der::Result<core::cmp::Ordering> {
        use der::Encode;
        let a = self.to_der()?;
        let b = other.to_der()?;
        Ok(a.cmp(&b))
    }
}

/// Every tag of the schema, in order (an absent one is `None`). Those not
/// reported are kept as `Any`: decoded for form, then dropped.
#[derive(Sequence)]
struct RawAuthorizationList {
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    purpose: Option<SetOfVec<u64>>,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
    algorithm: Option<u64>,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", optional = "true")]
    key_size: Option<u64>,
    #[asn1(context_specific = "4", tag_mode = "EXPLICIT", optional = "true")]
    block_mode: Option<Any>,
    #[asn1(context_specific = "5", tag_mode = "EXPLICIT", optional = "true")]
    digest: Option<Any>,
    #[asn1(context_specific = "6", tag_mode = "EXPLICIT", optional = "true")]
    padding: Option<Any>,
    #[asn1(context_specific = "10", tag_mode = "EXPLICIT", optional = "true")]
    ec_curve: Option<u64>,
    #[asn1(context_specific = "11", tag_mode = "EXPLICIT", optional = "true")]
    ml_dsa_variant: Option<Any>,
    #[asn1(context_specific = "200", tag_mode = "EXPLICIT", optional = "true")]
    rsa_public_exponent: Option<Any>,
    #[asn1(context_specific = "203", tag_mode = "EXPLICIT", optional = "true")]
    mgf_digest: Option<Any>,
    #[asn1(context_specific = "303", tag_mode = "EXPLICIT", optional = "true")]
    rollback_resistance: Option<Any>,
    #[asn1(context_specific = "305", tag_mode = "EXPLICIT", optional = "true")]
    early_boot_only: Option<Any>,
    #[asn1(context_specific = "400", tag_mode = "EXPLICIT", optional = "true")]
    active_date_time: Option<Any>,
    #[asn1(context_specific = "401", tag_mode = "EXPLICIT", optional = "true")]
    origination_expire_date_time: Option<Any>,
    #[asn1(context_specific = "402", tag_mode = "EXPLICIT", optional = "true")]
    usage_expire_date_time: Option<Any>,
    #[asn1(context_specific = "405", tag_mode = "EXPLICIT", optional = "true")]
    usage_count_limit: Option<Any>,
    #[asn1(context_specific = "503", tag_mode = "EXPLICIT", optional = "true")]
    no_auth_required: Option<Null>,
    #[asn1(context_specific = "504", tag_mode = "EXPLICIT", optional = "true")]
    user_auth_type: Option<Any>,
    #[asn1(context_specific = "505", tag_mode = "EXPLICIT", optional = "true")]
    auth_timeout: Option<Any>,
    #[asn1(context_specific = "506", tag_mode = "EXPLICIT", optional = "true")]
    allow_while_on_body: Option<Any>,
    #[asn1(context_specific = "507", tag_mode = "EXPLICIT", optional = "true")]
    trusted_user_presence_required: Option<Any>,
    #[asn1(context_specific = "508", tag_mode = "EXPLICIT", optional = "true")]
    trusted_confirmation_required: Option<Any>,
    #[asn1(context_specific = "509", tag_mode = "EXPLICIT", optional = "true")]
    unlocked_device_required: Option<Any>,
    #[asn1(context_specific = "600", tag_mode = "EXPLICIT", optional = "true")]
    all_applications: Option<Any>,
    #[asn1(context_specific = "601", tag_mode = "EXPLICIT", optional = "true")]
    application_id_keymaster: Option<Any>,
    #[asn1(context_specific = "701", tag_mode = "EXPLICIT", optional = "true")]
    creation_date_time: Option<u64>,
    #[asn1(context_specific = "702", tag_mode = "EXPLICIT", optional = "true")]
    origin: Option<u64>,
    #[asn1(context_specific = "703", tag_mode = "EXPLICIT", optional = "true")]
    rollback_resistant: Option<Any>,
    #[asn1(context_specific = "704", tag_mode = "EXPLICIT", optional = "true")]
    root_of_trust: Option<RawRootOfTrust>,
    #[asn1(context_specific = "705", tag_mode = "EXPLICIT", optional = "true")]
    os_version: Option<u64>,
    #[asn1(context_specific = "706", tag_mode = "EXPLICIT", optional = "true")]
    os_patch_level: Option<u64>,
    #[asn1(context_specific = "709", tag_mode = "EXPLICIT", optional = "true")]
    attestation_application_id: Option<OctetString>,
    #[asn1(context_specific = "710", tag_mode = "EXPLICIT", optional = "true")]
    id_brand: Option<Any>,
    #[asn1(context_specific = "711", tag_mode = "EXPLICIT", optional = "true")]
    id_device: Option<Any>,
    #[asn1(context_specific = "712", tag_mode = "EXPLICIT", optional = "true")]
    id_product: Option<Any>,
    #[asn1(context_specific = "713", tag_mode = "EXPLICIT", optional = "true")]
    id_serial: Option<Any>,
    #[asn1(context_specific = "714", tag_mode = "EXPLICIT", optional = "true")]
    id_imei: Option<Any>,
    #[asn1(context_specific = "715", tag_mode = "EXPLICIT", optional = "true")]
    id_meid: Option<Any>,
    #[asn1(context_specific = "716", tag_mode = "EXPLICIT", optional = "true")]
    id_manufacturer: Option<Any>,
    #[asn1(context_specific = "717", tag_mode = "EXPLICIT", optional = "true")]
    id_model: Option<Any>,
    #[asn1(context_specific = "718", tag_mode = "EXPLICIT", optional = "true")]
    vendor_patch_level: Option<u64>,
    #[asn1(context_specific = "719", tag_mode = "EXPLICIT", optional = "true")]
    boot_patch_level: Option<u64>,
    #[asn1(context_specific = "720", tag_mode = "EXPLICIT", optional = "true")]
    device_unique_attestation: Option<Any>,
    #[asn1(context_specific = "723", tag_mode = "EXPLICIT", optional = "true")]
    id_second_imei: Option<Any>,
    #[asn1(context_specific = "724", tag_mode = "EXPLICIT", optional = "true")]
    module_hash: Option<Any>,
}

impl RawAuthorizationList {
    fn into_public(self) -> Result<AuthorizationList, Refusal> {
        let application_id = match self.attestation_application_id {
            None => None,
            Some(encoded) => {
                let raw =
                    RawApplicationId::from_der(encoded.as_bytes()).map_err(|_| Refusal::MalformedKeyDescription)?;
                let mut packages = Vec::with_capacity(raw.package_infos.len());
                for p in raw.package_infos.into_vec() {
                    let name =
                        String::from_utf8(octets(p.package_name)).map_err(|_| Refusal::MalformedKeyDescription)?;
                    packages.push(PackageInfo { name, version: p.version });
                }
                Some(ApplicationId {
                    packages,
                    signature_digests: raw.signature_digests.into_vec().into_iter().map(octets).collect(),
                })
            }
        };
        Ok(AuthorizationList {
            purposes: self.purpose.map(SetOfVec::into_vec).unwrap_or_default(),
            algorithm: self.algorithm,
            key_size: self.key_size,
            ec_curve: self.ec_curve,
            no_auth_required: self.no_auth_required.is_some(),
            creation_date_time: self.creation_date_time,
            origin: self.origin.map(KeyOrigin::from),
            root_of_trust: self.root_of_trust.map(|r| RootOfTrust {
                verified_boot_key: octets(r.verified_boot_key),
                device_locked: r.device_locked,
                verified_boot_state: r.verified_boot_state,
                verified_boot_hash: r.verified_boot_hash.map(octets),
            }),
            os_version: self.os_version,
            os_patch_level: self.os_patch_level,
            application_id,
            vendor_patch_level: self.vendor_patch_level,
            boot_patch_level: self.boot_patch_level,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_input_is_malformed_not_a_panic() {
        // SEQUENCE claiming 0x7fffffff bytes, with three present.
        let hostile = [0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x02, 0x01, 0x03];
        assert_eq!(KeyDescription::from_der(&hostile), Err(Refusal::MalformedKeyDescription));
        for n in 0..hostile.len() {
            let prefix = hostile.get(..n).unwrap_or_default();
            assert_eq!(KeyDescription::from_der(prefix), Err(Refusal::MalformedKeyDescription));
        }
    }

    #[test]
    fn security_levels_order_software_tee_strongbox() {
        assert!(SecurityLevel::Software < SecurityLevel::TrustedEnvironment);
        assert!(SecurityLevel::TrustedEnvironment < SecurityLevel::StrongBox);
    }
}
