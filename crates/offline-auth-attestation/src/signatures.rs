//! The signature algorithms `rustls-webpki` may use to validate a chain,
//! implemented with RustCrypto (`p256`, `p384`, `rsa`, `sha2`) instead of
//! ring or aws-lc, so the crate builds no C and no assembly. The set is
//! what Google's attestation chains use: ECDSA on P-256 and P-384 with
//! SHA-256 or SHA-384 (the remotely provisioned intermediates sign with
//! P-384/SHA-384), and RSA PKCS#1 v1.5 of 2048 to 8192 bits with SHA-256,
//! SHA-384 or SHA-512 (the RSA-4096 root and the factory-provisioned chains).

use rustls_pki_types::{alg_id, AlgorithmIdentifier, InvalidSignature, SignatureVerificationAlgorithm};
use sha2::{Digest, Sha256, Sha384, Sha512};

#[derive(Clone, Copy, Debug)]
enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    fn digest(self, message: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha256 => Sha256::digest(message).to_vec(),
            Self::Sha384 => Sha384::digest(message).to_vec(),
            Self::Sha512 => Sha512::digest(message).to_vec(),
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Curve {
    P256,
    P384,
}

/// ECDSA with a DER signature; the key is the SEC1 point of the SPKI.
#[derive(Debug)]
struct Ecdsa {
    curve: Curve,
    hash: Hash,
}

impl SignatureVerificationAlgorithm for Ecdsa {
    fn verify_signature(&self, public_key: &[u8], message: &[u8], signature: &[u8]) -> Result<(), InvalidSignature> {
        let digest = self.hash.digest(message);
        match self.curve {
            Curve::P256 => {
                use p256::ecdsa::signature::hazmat::PrehashVerifier;
                let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(public_key).map_err(|_| InvalidSignature)?;
                let sig = p256::ecdsa::Signature::from_der(signature).map_err(|_| InvalidSignature)?;
                key.verify_prehash(&digest, &sig).map_err(|_| InvalidSignature)
            }
            Curve::P384 => {
                use p384::ecdsa::signature::hazmat::PrehashVerifier;
                let key = p384::ecdsa::VerifyingKey::from_sec1_bytes(public_key).map_err(|_| InvalidSignature)?;
                let sig = p384::ecdsa::Signature::from_der(signature).map_err(|_| InvalidSignature)?;
                key.verify_prehash(&digest, &sig).map_err(|_| InvalidSignature)
            }
        }
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        match self.curve {
            Curve::P256 => alg_id::ECDSA_P256,
            Curve::P384 => alg_id::ECDSA_P384,
        }
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        match self.hash {
            Hash::Sha256 => alg_id::ECDSA_SHA256,
            Hash::Sha384 => alg_id::ECDSA_SHA384,
            Hash::Sha512 => alg_id::ECDSA_SHA512,
        }
    }
}

/// Smallest and largest RSA modulus accepted, in bits (webpki's own bounds).
const RSA_MIN_BITS: usize = 2048;
const RSA_MAX_BITS: usize = 8192;

/// RSA PKCS#1 v1.5; the key is the PKCS#1 `RSAPublicKey` of the SPKI.
#[derive(Debug)]
struct RsaPkcs1 {
    hash: Hash,
}

impl SignatureVerificationAlgorithm for RsaPkcs1 {
    fn verify_signature(&self, public_key: &[u8], message: &[u8], signature: &[u8]) -> Result<(), InvalidSignature> {
        use rsa::pkcs1::DecodeRsaPublicKey;
        use rsa::traits::PublicKeyParts;
        // The modulus length is bounded by the certificate size limit before
        // this parse; the key is then checked against the bit bounds.
        let key = rsa::PublicKey::from_pkcs1_der(public_key).map_err(|_| InvalidSignature)?;
        let bits = key.size() * 8;
        if !(RSA_MIN_BITS..=RSA_MAX_BITS).contains(&bits) {
            return Err(InvalidSignature);
        }
        let digest = self.hash.digest(message);
        let scheme = match self.hash {
            Hash::Sha256 => rsa::Pkcs1v15Sign::new::<Sha256>(),
            Hash::Sha384 => rsa::Pkcs1v15Sign::new::<Sha384>(),
            Hash::Sha512 => rsa::Pkcs1v15Sign::new::<Sha512>(),
        };
        key.verify(scheme, &digest, signature).map_err(|_| InvalidSignature)
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::RSA_ENCRYPTION
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        match self.hash {
            Hash::Sha256 => alg_id::RSA_PKCS1_SHA256,
            Hash::Sha384 => alg_id::RSA_PKCS1_SHA384,
            Hash::Sha512 => alg_id::RSA_PKCS1_SHA512,
        }
    }
}

static P256_SHA256: Ecdsa = Ecdsa { curve: Curve::P256, hash: Hash::Sha256 };
static P256_SHA384: Ecdsa = Ecdsa { curve: Curve::P256, hash: Hash::Sha384 };
static P384_SHA256: Ecdsa = Ecdsa { curve: Curve::P384, hash: Hash::Sha256 };
static P384_SHA384: Ecdsa = Ecdsa { curve: Curve::P384, hash: Hash::Sha384 };
static RSA_SHA256: RsaPkcs1 = RsaPkcs1 { hash: Hash::Sha256 };
static RSA_SHA384: RsaPkcs1 = RsaPkcs1 { hash: Hash::Sha384 };
static RSA_SHA512: RsaPkcs1 = RsaPkcs1 { hash: Hash::Sha512 };

/// Every algorithm the chain validation accepts.
pub(crate) static ALGORITHMS: &[&dyn SignatureVerificationAlgorithm] =
    &[&P256_SHA256, &P256_SHA384, &P384_SHA256, &P384_SHA384, &RSA_SHA256, &RSA_SHA384, &RSA_SHA512];
