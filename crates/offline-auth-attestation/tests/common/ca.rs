//! A test CA that makes Android-shaped attestation chains (leaf with a key
//! description, intermediate, root) from fixed P-256 keys, so each negative
//! case changes one thing. Certificates are encoded here with `der` derive
//! types (test-only encoders; the crate under test only decodes).
//!
//! The reference server's attested-enrolment tests include this file and
//! `apple_ca.rs` too (`#[path]`, as sibling modules `ca` and `apple_ca`), so
//! that one test CA serves both crates.

use std::str::FromStr;
use std::time::Duration;

use der::asn1::{BitString, GeneralizedTime, OctetString, SetOfVec, Uint, UtcTime};
use der::{Encode, Sequence, ValueOrd};
use offline_auth_attestation::android::{SecurityLevel, VerifiedBootState, KEY_DESCRIPTION_OID};
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use spki::{AlgorithmIdentifierOwned, EncodePublicKey, SubjectPublicKeyInfoOwned};
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::time::Time;

const ECDSA_SHA256: const_oid::ObjectIdentifier = const_oid::ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const BASIC_CONSTRAINTS: const_oid::ObjectIdentifier = const_oid::ObjectIdentifier::new_unwrap("2.5.29.19");

/// 2025-01-01T00:00:00Z: the fixed time the negative tests verify at.
pub const AT_SECS: u64 = 1_735_689_600;
/// 2020-01-01 and 2040-01-01: the CA certificates' validity.
pub const CA_FROM: u64 = 1_577_836_800;
pub const CA_UNTIL: u64 = 2_208_988_800;
/// 2048-01-01: the notAfter Android leaves usually carry.
const LEAF_UNTIL: u64 = 2_461_449_600;

#[derive(Sequence)]
struct Validity {
    not_before: Time,
    not_after: Time,
}

#[derive(Sequence)]
struct Tbs {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    version: u8,
    serial: Uint,
    signature: AlgorithmIdentifierOwned,
    issuer: Name,
    validity: Validity,
    subject: Name,
    spki: SubjectPublicKeyInfoOwned,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", optional = "true")]
    extensions: Option<Vec<Extension>>,
}

#[derive(Sequence)]
struct Cert {
    tbs: Tbs,
    alg: AlgorithmIdentifierOwned,
    sig: BitString,
}

#[derive(Sequence)]
struct Rot {
    key: OctetString,
    locked: bool,
    state: VerifiedBootState,
    hash: OctetString,
}

#[derive(Sequence)]
struct Pkg {
    name: OctetString,
    version: u64,
}

impl ValueOrd for Pkg {
    fn value_cmp(&self, other: &Self) -> der::Result<std::cmp::Ordering> {
        Ok(self.to_der()?.cmp(&other.to_der()?))
    }
}

#[derive(Sequence)]
struct AppId {
    pkgs: SetOfVec<Pkg>,
    sigs: SetOfVec<OctetString>,
}

#[derive(Sequence, Default)]
struct Auth {
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    purpose: Option<SetOfVec<u64>>,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
    algorithm: Option<u64>,
    #[asn1(context_specific = "702", tag_mode = "EXPLICIT", optional = "true")]
    origin: Option<u64>,
    #[asn1(context_specific = "704", tag_mode = "EXPLICIT", optional = "true")]
    rot: Option<Rot>,
    #[asn1(context_specific = "706", tag_mode = "EXPLICIT", optional = "true")]
    os_patch: Option<u64>,
    #[asn1(context_specific = "709", tag_mode = "EXPLICIT", optional = "true")]
    app_id: Option<OctetString>,
    #[asn1(context_specific = "900", tag_mode = "EXPLICIT", optional = "true")]
    unknown_900: Option<u64>,
}

#[derive(Sequence)]
struct Kd {
    attestation_version: u64,
    attestation_level: SecurityLevel,
    keymint_version: u64,
    keymint_level: SecurityLevel,
    challenge: OctetString,
    unique_id: OctetString,
    sw: Auth,
    hw: Auth,
}

/// One attestation to make; every field starts at what the strict policy accepts.
#[derive(Clone)]
pub struct Spec {
    pub challenge: Vec<u8>,
    pub level: SecurityLevel,
    /// The key's level when it differs from the attestation's.
    pub keymint_level: Option<SecurityLevel>,
    pub boot_state: VerifiedBootState,
    pub locked: bool,
    pub package: String,
    pub signer: Vec<u8>,
    pub os_patch: u64,
    pub origin: u64,
    pub serials: [u8; 3],
    /// Validity of the intermediate, Unix seconds.
    pub intermediate_validity: (u64, u64),
    /// The key description twice in the leaf.
    pub duplicate_key_description: bool,
    /// An undeclared tag [900] in the hardware list.
    pub unknown_tag: bool,
    /// The intermediate lacks basic constraints cA.
    pub intermediate_not_ca: bool,
    /// A critical extension the verifier does not know, in the intermediate.
    pub unknown_critical: bool,
    /// The key description also in the intermediate.
    pub key_description_in_intermediate: bool,
    /// No key description at all.
    pub no_key_description: bool,
    /// Root key seed (another root = another key).
    pub root_seed: u8,
    /// The root's name (another CA has another name).
    pub root_name: String,
}

pub const ROOT_NAME: &str = "CN=Test Attestation Root";
pub const PACKAGE: &str = "org.example.fieldapp";
pub const SIGNER: [u8; 32] = [0x5a; 32];
pub const CHALLENGE: &[u8] = b"server challenge 0001";

impl Default for Spec {
    fn default() -> Self {
        Self {
            challenge: CHALLENGE.to_vec(),
            level: SecurityLevel::StrongBox,
            keymint_level: None,
            boot_state: VerifiedBootState::Verified,
            locked: true,
            package: PACKAGE.to_owned(),
            signer: SIGNER.to_vec(),
            os_patch: 202_410,
            origin: 0,
            serials: [0x10, 0x20, 0x30],
            intermediate_validity: (CA_FROM, CA_UNTIL),
            duplicate_key_description: false,
            unknown_tag: false,
            intermediate_not_ca: false,
            unknown_critical: false,
            key_description_in_intermediate: false,
            no_key_description: false,
            root_seed: 3,
            root_name: ROOT_NAME.to_owned(),
        }
    }
}

/// The attested (leaf) key's private half: what a test attestor signs uploads with.
pub fn leaf_key() -> SigningKey {
    key(1)
}

pub fn key(seed: u8) -> SigningKey {
    let mut bytes = [0x11u8; 32];
    bytes[31] = seed;
    SigningKey::from_slice(&bytes).unwrap()
}

pub fn spki(k: &SigningKey) -> SubjectPublicKeyInfoOwned {
    use der::Decode;
    let doc = k.verifying_key().to_public_key_der().unwrap();
    SubjectPublicKeyInfoOwned::from_der(doc.as_bytes()).unwrap()
}

fn time(secs: u64) -> Time {
    let d = Duration::from_secs(secs);
    if secs < 2_524_608_000 {
        Time::UtcTime(UtcTime::from_unix_duration(d).unwrap())
    } else {
        Time::GeneralTime(GeneralizedTime::from_unix_duration(d).unwrap())
    }
}

fn alg() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned { oid: ECDSA_SHA256, parameters: None }
}

pub fn basic_constraints(ca: bool) -> Extension {
    // SEQUENCE { BOOLEAN TRUE } or an empty SEQUENCE (cA false).
    let value = if ca { vec![0x30, 0x03, 0x01, 0x01, 0xff] } else { vec![0x30, 0x00] };
    Extension { extn_id: BASIC_CONSTRAINTS, critical: true, extn_value: OctetString::new(value).unwrap() }
}

#[allow(clippy::too_many_arguments)]
pub fn sign(
    serial: u8,
    issuer: &str,
    subject: &str,
    validity: (u64, u64),
    subject_key: &SubjectPublicKeyInfoOwned,
    extensions: Vec<Extension>,
    signer: &SigningKey,
) -> Vec<u8> {
    let tbs = Tbs {
        version: 2,
        serial: Uint::new(&[serial]).unwrap(),
        signature: alg(),
        issuer: Name::from_str(issuer).unwrap(),
        validity: Validity { not_before: time(validity.0), not_after: time(validity.1) },
        subject: Name::from_str(subject).unwrap(),
        spki: subject_key.clone(),
        extensions: if extensions.is_empty() { None } else { Some(extensions) },
    };
    let sig: Signature = signer.sign(&tbs.to_der().unwrap());
    let cert = Cert { tbs, alg: alg(), sig: BitString::from_bytes(sig.to_der().as_bytes()).unwrap() };
    cert.to_der().unwrap()
}

/// The key description's DER for `spec`.
pub fn key_description(spec: &Spec) -> Vec<u8> {
    let app = AppId {
        pkgs: SetOfVec::try_from(vec![Pkg { name: OctetString::new(spec.package.as_bytes()).unwrap(), version: 7 }])
            .unwrap(),
        sigs: SetOfVec::try_from(vec![OctetString::new(spec.signer.clone()).unwrap()]).unwrap(),
    };
    let sw = Auth { app_id: Some(OctetString::new(app.to_der().unwrap()).unwrap()), ..Auth::default() };
    let hw = Auth {
        purpose: Some(SetOfVec::try_from(vec![2u64]).unwrap()),
        algorithm: Some(3),
        origin: Some(spec.origin),
        rot: Some(Rot {
            key: OctetString::new(vec![0xab; 32]).unwrap(),
            locked: spec.locked,
            state: spec.boot_state,
            hash: OctetString::new(vec![0xcd; 32]).unwrap(),
        }),
        os_patch: Some(spec.os_patch),
        unknown_900: spec.unknown_tag.then_some(1),
        ..Auth::default()
    };
    let (sw, hw) = if spec.level == SecurityLevel::Software { (merge(sw, hw), Auth::default()) } else { (sw, hw) };
    Kd {
        attestation_version: 300,
        attestation_level: spec.level,
        keymint_version: 300,
        keymint_level: spec.keymint_level.unwrap_or(spec.level),
        challenge: OctetString::new(spec.challenge.clone()).unwrap(),
        unique_id: OctetString::new(Vec::new()).unwrap(),
        sw,
        hw,
    }
    .to_der()
    .unwrap()
}

/// A software attestation lists everything as software-enforced.
fn merge(sw: Auth, hw: Auth) -> Auth {
    Auth { app_id: sw.app_id, ..hw }
}

fn kd_extension(spec: &Spec) -> Extension {
    Extension {
        extn_id: KEY_DESCRIPTION_OID,
        critical: false,
        extn_value: OctetString::new(key_description(spec)).unwrap(),
    }
}

/// The root certificate (DER) for a root key seed.
pub fn root_cert(seed: u8) -> Vec<u8> {
    let root_key = key(seed);
    sign(1, ROOT_NAME, ROOT_NAME, (CA_FROM, CA_UNTIL), &spki(&root_key), vec![basic_constraints(true)], &root_key)
}

/// `[leaf, intermediate, root]` for `spec`.
pub fn chain(spec: &Spec) -> Vec<Vec<u8>> {
    let root_key = key(spec.root_seed);
    let inter_key = key(2);
    let leaf_key = key(1);
    let mut leaf_ext = Vec::new();
    if !spec.no_key_description {
        leaf_ext.push(kd_extension(spec));
    }
    if spec.duplicate_key_description {
        leaf_ext.push(kd_extension(spec));
    }
    let mut inter_ext = vec![basic_constraints(!spec.intermediate_not_ca)];
    if spec.unknown_critical {
        inter_ext.push(Extension {
            extn_id: const_oid::ObjectIdentifier::new_unwrap("1.3.6.1.4.1.99999.1"),
            critical: true,
            extn_value: OctetString::new(vec![0x05, 0x00]).unwrap(),
        });
    }
    if spec.key_description_in_intermediate {
        inter_ext.push(kd_extension(spec));
    }
    let leaf = sign(
        spec.serials[0],
        "CN=Test StrongBox Attestation Key",
        "CN=Android Keystore Key",
        (0, LEAF_UNTIL),
        &spki(&leaf_key),
        leaf_ext,
        &inter_key,
    );
    let inter = sign(
        spec.serials[1],
        &spec.root_name,
        "CN=Test StrongBox Attestation Key",
        spec.intermediate_validity,
        &spki(&inter_key),
        inter_ext,
        &root_key,
    );
    let root = sign(
        spec.serials[2],
        &spec.root_name,
        &spec.root_name,
        (CA_FROM, CA_UNTIL),
        &spki(&root_key),
        vec![basic_constraints(true)],
        &root_key,
    );
    vec![leaf, inter, root]
}
