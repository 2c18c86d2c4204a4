//! Keys, signing and verification for the two signature algorithms of the Mini Program OpenAPI
//! family (docs/mini-program.md §5): `RSA256` (SHA256withRSA, PKCS#1 v1.5) and `ECC224` (ECDSA on P-224).
//!
//! Key text is accepted the way merchants actually hand it over: PEM (PKCS#8, PKCS#1, SEC1, SPKI)
//! or just the base64 body of the DER, with any whitespace inside. RSA work is done by aws-lc-rs,
//! P-224 by the RustCrypto `p224` crate.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize, PublicKey as RsaPublicKey};
use aws_lc_rs::signature::{
    KeyPair as _, ParsedPublicKey, RsaParameters, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256,
};
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use p224::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
use p224::ecdsa::{DerSignature, Signature as EcdsaSignature, SigningKey, VerifyingKey};
use p224::elliptic_curve::zeroize::Zeroizing;
use p224::pkcs8::der::asn1::UintRef;
use p224::pkcs8::der::{Decode as _, Header, SliceReader, Tag};
use p224::pkcs8::spki::SubjectPublicKeyInfoRef;
use p224::pkcs8::{DecodePrivateKey as _, DecodePublicKey as _, EncodePrivateKey as _, EncodePublicKey as _};
use p224::pkcs8::{ObjectIdentifier, PrivateKeyInfo};
use sha2::{Digest as _, Sha224, Sha256};

/// Smallest RSA modulus we accept, in bits (docs/mini-program.md §5: RSA-2048).
pub const RSA_MIN_BITS: u32 = 2048;
/// Largest RSA modulus we accept, in bits (the limit of the RSA backend).
pub const RSA_MAX_BITS: u32 = 8192;

const OID_RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_SECP224R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.33");

/// A signature algorithm named in the `algorithm=` item of the `Signature` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Algorithm {
    /// SHA256withRSA with PKCS#1 v1.5 padding; the protocol's default.
    #[default]
    Rsa256,
    /// ECDSA on the NIST P-224 curve, DER-encoded signature.
    Ecc224,
}

impl Algorithm {
    /// The canonical wire name: `"RSA256"` or `"ECC224"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Rsa256 => "RSA256",
            Algorithm::Ecc224 => "ECC224",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `algorithm=` value was not one we know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown signature algorithm {0:?}; expected RSA256 (or RS256) or ECC224")]
pub struct UnknownAlgorithm(pub String);

impl FromStr for Algorithm {
    type Err = UnknownAlgorithm;

    /// Case-insensitive; `RS256` (AlphaPay's spelling) is read as [`Algorithm::Rsa256`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("RSA256") || t.eq_ignore_ascii_case("RS256") {
            Ok(Algorithm::Rsa256)
        } else if t.eq_ignore_ascii_case("ECC224") {
            Ok(Algorithm::Ecc224)
        } else {
            Err(UnknownAlgorithm(t.chars().take(32).collect()))
        }
    }
}

impl serde::Serialize for Algorithm {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Algorithm {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The hash an ECC224 signature was made over. RSA256 always uses SHA-256.
///
/// Nothing public pins the digest behind "ECC224", so verification accepts both and reports which
/// one matched; the server answers with the same one (docs/mini-program.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SignatureDigest {
    /// SHA-256 (the default for signing).
    #[default]
    Sha256,
    /// SHA-224 (ECC224 only).
    Sha224,
}

/// Why key text could not be turned into a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Nothing but whitespace was given.
    #[error("the key text is empty")]
    Empty,
    /// PEM framing is broken (missing END line, etc.).
    #[error("malformed PEM: {0}")]
    Pem(String),
    /// The text (or PEM body) is not valid base64.
    #[error("the key is neither PEM nor valid base64 DER: {0}")]
    Base64(String),
    /// A password-protected key was given.
    #[error("encrypted private keys are not supported; export the key without a password")]
    Encrypted,
    /// A public key was given where a private key is needed, or the other way round.
    #[error("expected a {expected} key but the text holds a {found} key")]
    WrongKind {
        /// `"private"` or `"public"`.
        expected: &'static str,
        /// `"private"` or `"public"`.
        found: &'static str,
    },
    /// A PEM block with a label we do not read (e.g. `CERTIFICATE`).
    #[error("unsupported PEM block {0:?}; expected {1}")]
    UnsupportedPem(String, &'static str),
    /// The key is of a type other than RSA or EC.
    #[error("unsupported key type (algorithm OID {0}); only RSA and EC P-224 keys are supported")]
    UnsupportedKeyType(String),
    /// An EC key on a curve other than P-224.
    #[error("unsupported EC curve {0}; ECC224 needs a P-224 (secp224r1) key")]
    UnsupportedCurve(String),
    /// An RSA key that is too short.
    #[error("RSA key has {bits} bits; at least {RSA_MIN_BITS} are required")]
    RsaTooSmall {
        /// The modulus length found.
        bits: u32,
    },
    /// An RSA key that is too long for the backend.
    #[error("RSA key has {bits} bits; at most {RSA_MAX_BITS} are supported")]
    RsaTooLarge {
        /// The modulus length found.
        bits: u32,
    },
    /// The DER is not any of the structures we read.
    #[error("not a recognised key: {0}")]
    Unrecognized(&'static str),
    /// The structure was recognised but the key inside is invalid.
    #[error("invalid {what} key: {detail}")]
    Invalid {
        /// The format that was being read, e.g. "PKCS#1 RSA private".
        what: &'static str,
        /// What the parser reported.
        detail: String,
    },
    /// Key generation failed in the crypto backend.
    #[error("key generation failed")]
    Generation,
}

/// Signing failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// The crypto backend reported an error.
    #[error("signing failed in the crypto backend")]
    Backend,
    /// The requested digest cannot be used with this key's algorithm.
    #[error("{algorithm} cannot sign with {digest:?}")]
    UnsupportedDigest {
        /// The key's algorithm.
        algorithm: Algorithm,
        /// The digest that was asked for.
        digest: SignatureDigest,
    },
}

/// A signature did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The signature bytes are not even well-formed for the algorithm.
    #[error("malformed signature: {0}")]
    Malformed(&'static str),
    /// Well-formed, but it does not match the content under this key.
    #[error("the signature does not match the content and key")]
    Mismatch,
}

// ---------------------------------------------------------------------------------------------
// Private keys
// ---------------------------------------------------------------------------------------------

/// A private signing key (RSA-2048..8192 or P-224). `Debug` never shows key material.
#[derive(Clone)]
pub struct PrivateKey {
    inner: PrivateInner,
}

#[derive(Clone)]
enum PrivateInner {
    Rsa(Arc<RsaKeyPair>),
    Ecc(SigningKey),
}

impl PrivateKey {
    /// Generates a fresh key: RSA 2048 for [`Algorithm::Rsa256`], P-224 for [`Algorithm::Ecc224`].
    pub fn generate(alg: Algorithm) -> Result<Self, KeyError> {
        let inner = match alg {
            Algorithm::Rsa256 => PrivateInner::Rsa(Arc::new(
                RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError::Generation)?,
            )),
            Algorithm::Ecc224 => PrivateInner::Ecc(SigningKey::random(&mut rand_core::OsRng)),
        };
        Ok(PrivateKey { inner })
    }

    /// Reads a private key from PEM (`PRIVATE KEY`, `RSA PRIVATE KEY`, `EC PRIVATE KEY`) or from the
    /// bare base64 of PKCS#8, PKCS#1 or SEC1 DER. The algorithm is taken from the key itself.
    pub fn from_text(text: &str) -> Result<Self, KeyError> {
        match read_key_text(text, KeyKind::Private)? {
            KeyBytes::Pem { label, der } => match label.as_str() {
                "PRIVATE KEY" => private_from_pkcs8(&der),
                "RSA PRIVATE KEY" => private_from_pkcs1(&der),
                "EC PRIVATE KEY" => private_from_sec1(&der),
                "ENCRYPTED PRIVATE KEY" => Err(KeyError::Encrypted),
                _ => Err(KeyError::UnsupportedPem(
                    label,
                    "PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY",
                )),
            },
            KeyBytes::Bare(der) => {
                if PrivateKeyInfo::try_from(der.as_slice()).is_ok() {
                    private_from_pkcs8(&der)
                } else if rsa_private_modulus_bits(&der).is_some() {
                    private_from_pkcs1(&der)
                } else if let Ok(key) = private_from_sec1(&der) {
                    Ok(key)
                } else if looks_like_public_key(&der) {
                    Err(KeyError::WrongKind {
                        expected: "private",
                        found: "public",
                    })
                } else {
                    Err(KeyError::Unrecognized(
                        "expected PKCS#8, PKCS#1 or SEC1 private key DER",
                    ))
                }
            }
        }
    }

    /// The algorithm this key signs with.
    pub fn algorithm(&self) -> Algorithm {
        match self.inner {
            PrivateInner::Rsa(_) => Algorithm::Rsa256,
            PrivateInner::Ecc(_) => Algorithm::Ecc224,
        }
    }

    /// The key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), 64-character lines, LF endings.
    pub fn to_pkcs8_pem(&self) -> String {
        let der: Zeroizing<Vec<u8>> = match &self.inner {
            PrivateInner::Rsa(kp) => Zeroizing::new(
                kp.as_der()
                    .map(|d| d.as_ref().to_vec())
                    .expect("aws-lc-rs encodes an RSA key it holds"),
            ),
            PrivateInner::Ecc(sk) => Zeroizing::new(
                p224::SecretKey::from(sk.as_nonzero_scalar())
                    .to_pkcs8_der()
                    .map(|d| d.as_bytes().to_vec())
                    .expect("p224 encodes a key it holds"),
            ),
        };
        pem_wrap("PRIVATE KEY", &der)
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        match &self.inner {
            PrivateInner::Rsa(kp) => {
                public_from_rsa(kp.public_key()).expect("the public half of a valid RSA key pair is valid")
            }
            PrivateInner::Ecc(sk) => public_from_ecc(*sk.verifying_key()),
        }
    }

    /// Signs `content`: RSA256 = SHA256withRSA PKCS#1 v1.5; ECC224 = ECDSA P-224 over the SHA-256
    /// digest, DER-encoded.
    pub fn sign(&self, content: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.sign_with_digest(content, SignatureDigest::Sha256)
    }

    /// Like [`PrivateKey::sign`] with the digest chosen; [`SignatureDigest::Sha224`] is only valid for
    /// ECC224 (used to answer a client whose signature verified over SHA-224).
    pub fn sign_with_digest(&self, content: &[u8], digest: SignatureDigest) -> Result<Vec<u8>, CryptoError> {
        match &self.inner {
            PrivateInner::Rsa(kp) => {
                if digest != SignatureDigest::Sha256 {
                    return Err(CryptoError::UnsupportedDigest {
                        algorithm: Algorithm::Rsa256,
                        digest,
                    });
                }
                let mut sig = vec![0u8; kp.public_modulus_len()];
                kp.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), content, &mut sig)
                    .map_err(|_| CryptoError::Backend)?;
                Ok(sig)
            }
            PrivateInner::Ecc(sk) => {
                let prehash = ecc_digest(content, digest);
                let sig: DerSignature = sk.sign_prehash(&prehash).map_err(|_| CryptoError::Backend)?;
                Ok(sig.as_bytes().to_vec())
            }
        }
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("algorithm", &format_args!("{}", self.algorithm()))
            .field("public_key_sha256", &self.public_key().fingerprint())
            .finish_non_exhaustive()
    }
}

fn private_from_pkcs8(der: &[u8]) -> Result<PrivateKey, KeyError> {
    let info = PrivateKeyInfo::try_from(der).map_err(|e| KeyError::Invalid {
        what: "PKCS#8 private",
        detail: e.to_string(),
    })?;
    let oid = info.algorithm.oid;
    if oid == OID_RSA_ENCRYPTION {
        check_rsa_bits(rsa_private_modulus_bits(info.private_key))?;
        let kp = RsaKeyPair::from_pkcs8(der).map_err(|e| rsa_rejected("PKCS#8 RSA private", &e))?;
        Ok(PrivateKey {
            inner: PrivateInner::Rsa(Arc::new(kp)),
        })
    } else if oid == OID_EC_PUBLIC_KEY {
        let curve = info.algorithm.parameters_oid().map_err(|_| KeyError::Invalid {
            what: "PKCS#8 EC private",
            detail: "the named curve is missing".to_owned(),
        })?;
        if curve != OID_SECP224R1 {
            return Err(KeyError::UnsupportedCurve(curve_name(curve)));
        }
        let sk = SigningKey::from_pkcs8_der(der).map_err(|e| KeyError::Invalid {
            what: "PKCS#8 EC private",
            detail: e.to_string(),
        })?;
        Ok(PrivateKey {
            inner: PrivateInner::Ecc(sk),
        })
    } else {
        Err(KeyError::UnsupportedKeyType(key_type_name(oid)))
    }
}

fn private_from_pkcs1(der: &[u8]) -> Result<PrivateKey, KeyError> {
    let bits = rsa_private_modulus_bits(der).ok_or(KeyError::Invalid {
        what: "PKCS#1 RSA private",
        detail: "not an RSAPrivateKey structure".to_owned(),
    })?;
    check_rsa_bits(Some(bits))?;
    let kp = RsaKeyPair::from_der(der).map_err(|e| rsa_rejected("PKCS#1 RSA private", &e))?;
    Ok(PrivateKey {
        inner: PrivateInner::Rsa(Arc::new(kp)),
    })
}

fn private_from_sec1(der: &[u8]) -> Result<PrivateKey, KeyError> {
    let sk = p224::SecretKey::from_sec1_der(der).map_err(|_| KeyError::Invalid {
        what: "SEC1 EC private",
        detail: "not a P-224 ECPrivateKey structure".to_owned(),
    })?;
    Ok(PrivateKey {
        inner: PrivateInner::Ecc(SigningKey::from(sk)),
    })
}

fn check_rsa_bits(bits: Option<u32>) -> Result<(), KeyError> {
    match bits {
        Some(bits) if bits < RSA_MIN_BITS => Err(KeyError::RsaTooSmall { bits }),
        Some(bits) if bits > RSA_MAX_BITS => Err(KeyError::RsaTooLarge { bits }),
        _ => Ok(()),
    }
}

fn rsa_rejected(what: &'static str, e: &aws_lc_rs::error::KeyRejected) -> KeyError {
    KeyError::Invalid {
        what,
        detail: e.description_().to_owned(),
    }
}

/// Modulus length of a DER `RSAPrivateKey` (`SEQUENCE { version, n, … }`), or `None` when the bytes do
/// not start like one.
fn rsa_private_modulus_bits(der: &[u8]) -> Option<u32> {
    let mut reader = SliceReader::new(der).ok()?;
    let header = Header::decode(&mut reader).ok()?;
    if header.tag != Tag::Sequence {
        return None;
    }
    let version = UintRef::decode(&mut reader).ok()?;
    if version.as_bytes().len() > 1 {
        return None;
    }
    let modulus = UintRef::decode(&mut reader).ok()?;
    Some(bit_length(modulus.as_bytes()))
}

fn bit_length(big_endian: &[u8]) -> u32 {
    let trimmed: &[u8] = match big_endian.iter().position(|&b| b != 0) {
        Some(i) => &big_endian[i..],
        None => return 0,
    };
    let whole_bytes = u32::try_from(trimmed.len() - 1).unwrap_or(u32::MAX / 16);
    whole_bytes * 8 + (8 - trimmed[0].leading_zeros())
}

fn ecc_digest(content: &[u8], digest: SignatureDigest) -> Vec<u8> {
    match digest {
        SignatureDigest::Sha256 => Sha256::digest(content).to_vec(),
        SignatureDigest::Sha224 => Sha224::digest(content).to_vec(),
    }
}

// ---------------------------------------------------------------------------------------------
// Public keys
// ---------------------------------------------------------------------------------------------

/// A public verification key (RSA-2048..8192 or P-224). Cheap to clone; equal when the SPKI DER is.
#[derive(Clone)]
pub struct PublicKey {
    inner: PublicInner,
    spki_der: Arc<[u8]>,
}

#[derive(Clone)]
enum PublicInner {
    /// The parsed key and its modulus length in bits.
    Rsa(ParsedPublicKey, u32),
    Ecc(VerifyingKey),
}

impl PublicKey {
    /// Reads a public key from PEM (`PUBLIC KEY` SPKI, `RSA PUBLIC KEY` PKCS#1) or from the bare
    /// base64 of SPKI or PKCS#1 DER. RSA keys under 2048 bits are rejected.
    pub fn from_text(text: &str) -> Result<Self, KeyError> {
        match read_key_text(text, KeyKind::Public)? {
            KeyBytes::Pem { label, der } => match label.as_str() {
                "PUBLIC KEY" => public_from_spki(&der),
                "RSA PUBLIC KEY" => public_from_rsa_der(&der),
                _ => Err(KeyError::UnsupportedPem(label, "PUBLIC KEY or RSA PUBLIC KEY")),
            },
            KeyBytes::Bare(der) => {
                if SubjectPublicKeyInfoRef::try_from(der.as_slice()).is_ok() {
                    public_from_spki(&der)
                } else if RsaParameters::public_modulus_len(&der).is_ok() {
                    public_from_rsa_der(&der)
                } else if PrivateKeyInfo::try_from(der.as_slice()).is_ok()
                    || rsa_private_modulus_bits(&der).is_some()
                {
                    Err(KeyError::WrongKind {
                        expected: "public",
                        found: "private",
                    })
                } else {
                    Err(KeyError::Unrecognized(
                        "expected X.509 SubjectPublicKeyInfo or PKCS#1 public key DER",
                    ))
                }
            }
        }
    }

    /// The algorithm this key verifies.
    pub fn algorithm(&self) -> Algorithm {
        match self.inner {
            PublicInner::Rsa(..) => Algorithm::Rsa256,
            PublicInner::Ecc(_) => Algorithm::Ecc224,
        }
    }

    /// The lengths in bytes a signature made by the matching private key can have: exactly the
    /// modulus length for RSA; for ECC224 a DER `ECDSA-Sig-Value` of two integers below 2^224.
    pub fn signature_len_range(&self) -> std::ops::RangeInclusive<usize> {
        match self.inner {
            PublicInner::Rsa(_, bits) => {
                let bytes = usize::try_from(bits.div_ceil(8)).unwrap_or(usize::MAX);
                bytes..=bytes
            }
            // SEQUENCE header (2) + two INTEGERs of 1..=29 content bytes with their headers (2).
            PublicInner::Ecc(_) => 8..=64,
        }
    }

    /// A short name of the key's kind and size, e.g. `RSA-2048` or `ECC P-224`.
    pub fn describe(&self) -> String {
        match self.inner {
            PublicInner::Rsa(_, bits) => format!("RSA-{bits}"),
            PublicInner::Ecc(_) => "ECC P-224".to_owned(),
        }
    }

    /// The X.509 SubjectPublicKeyInfo DER bytes.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// The key as SPKI PEM (`-----BEGIN PUBLIC KEY-----`).
    pub fn to_spki_pem(&self) -> String {
        pem_wrap("PUBLIC KEY", &self.spki_der)
    }

    /// The SPKI DER as one line of standard base64: what merchants paste into a dashboard.
    pub fn to_spki_base64(&self) -> String {
        STANDARD.encode(&self.spki_der)
    }

    /// Lower-case hex SHA-256 of the SPKI DER, for logs and key listings.
    pub fn fingerprint(&self) -> String {
        let digest = Sha256::digest(&self.spki_der);
        let mut out = String::with_capacity(64);
        for byte in digest {
            out.push(char::from(HEX_DIGITS[usize::from(byte >> 4)]));
            out.push(char::from(HEX_DIGITS[usize::from(byte & 0x0f)]));
        }
        out
    }

    /// Verifies `signature` over `content`. RSA256: SHA256withRSA PKCS#1 v1.5. ECC224: a DER ECDSA
    /// signature over either the SHA-256 or the SHA-224 digest of `content`.
    pub fn verify(&self, content: &[u8], signature: &[u8]) -> Result<(), VerifyError> {
        self.verify_reporting_digest(content, signature).map(|_| ())
    }

    /// Like [`PublicKey::verify`], and says which digest the signature was made over (always SHA-256
    /// for RSA), so an answer can be signed the same way.
    pub fn verify_reporting_digest(
        &self,
        content: &[u8],
        signature: &[u8],
    ) -> Result<SignatureDigest, VerifyError> {
        match &self.inner {
            PublicInner::Rsa(key, _) => key
                .verify_sig(content, signature)
                .map(|()| SignatureDigest::Sha256)
                .map_err(|_| VerifyError::Mismatch),
            PublicInner::Ecc(vk) => {
                let sig = EcdsaSignature::from_der(signature).map_err(|_| {
                    VerifyError::Malformed("an ECC224 signature must be a DER ECDSA-Sig-Value")
                })?;
                for digest in [SignatureDigest::Sha256, SignatureDigest::Sha224] {
                    if vk.verify_prehash(&ecc_digest(content, digest), &sig).is_ok() {
                        return Ok(digest);
                    }
                }
                Err(VerifyError::Mismatch)
            }
        }
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.spki_der == other.spki_der
    }
}

impl Eq for PublicKey {}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("algorithm", &format_args!("{}", self.algorithm()))
            .field("sha256", &self.fingerprint())
            .finish()
    }
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

fn public_from_spki(der: &[u8]) -> Result<PublicKey, KeyError> {
    let spki = SubjectPublicKeyInfoRef::try_from(der).map_err(|e| KeyError::Invalid {
        what: "SubjectPublicKeyInfo",
        detail: e.to_string(),
    })?;
    let oid = spki.algorithm.oid;
    if oid == OID_RSA_ENCRYPTION {
        public_from_rsa_der(der)
    } else if oid == OID_EC_PUBLIC_KEY {
        let curve = spki.algorithm.parameters_oid().map_err(|_| KeyError::Invalid {
            what: "EC public",
            detail: "the named curve is missing".to_owned(),
        })?;
        if curve != OID_SECP224R1 {
            return Err(KeyError::UnsupportedCurve(curve_name(curve)));
        }
        let vk = VerifyingKey::from_public_key_der(der).map_err(|e| KeyError::Invalid {
            what: "EC public",
            detail: e.to_string(),
        })?;
        Ok(public_from_ecc(vk))
    } else {
        Err(KeyError::UnsupportedKeyType(key_type_name(oid)))
    }
}

/// Reads PKCS#1 `RSAPublicKey` or SPKI DER of an RSA key.
fn public_from_rsa_der(der: &[u8]) -> Result<PublicKey, KeyError> {
    let key = RsaPublicKey::from_der(der).map_err(|e| rsa_rejected("RSA public", &e))?;
    public_from_rsa(&key)
}

fn public_from_rsa(key: &RsaPublicKey) -> Result<PublicKey, KeyError> {
    let bits = RsaParameters::public_modulus_len(key.as_ref()).map_err(|_| KeyError::Invalid {
        what: "RSA public",
        detail: "cannot read the modulus".to_owned(),
    })?;
    check_rsa_bits(Some(bits))?;
    let spki = key.as_der().map_err(|_| KeyError::Invalid {
        what: "RSA public",
        detail: "cannot encode as SubjectPublicKeyInfo".to_owned(),
    })?;
    let parsed = ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, spki.as_ref())
        .map_err(|e| rsa_rejected("RSA public", &e))?;
    Ok(PublicKey {
        inner: PublicInner::Rsa(parsed, bits),
        spki_der: Arc::from(spki.as_ref()),
    })
}

fn public_from_ecc(vk: VerifyingKey) -> PublicKey {
    let spki = p224::PublicKey::from(&vk)
        .to_public_key_der()
        .expect("p224 encodes a point it holds");
    PublicKey {
        inner: PublicInner::Ecc(vk),
        spki_der: Arc::from(spki.as_bytes()),
    }
}

fn looks_like_public_key(der: &[u8]) -> bool {
    SubjectPublicKeyInfoRef::try_from(der).is_ok() || RsaParameters::public_modulus_len(der).is_ok()
}

fn curve_name(oid: ObjectIdentifier) -> String {
    let name = match oid.to_string().as_str() {
        "1.2.840.10045.3.1.7" => "P-256 (prime256v1)",
        "1.3.132.0.34" => "P-384 (secp384r1)",
        "1.3.132.0.35" => "P-521 (secp521r1)",
        "1.3.132.0.10" => "secp256k1",
        _ => return format!("with OID {oid}"),
    };
    name.to_owned()
}

fn key_type_name(oid: ObjectIdentifier) -> String {
    match oid.to_string().as_str() {
        "1.3.101.112" => "1.3.101.112, Ed25519".to_owned(),
        "1.2.840.10040.4.1" => "1.2.840.10040.4.1, DSA".to_owned(),
        "1.2.840.113549.1.1.10" => "1.2.840.113549.1.1.10, RSASSA-PSS".to_owned(),
        other => other.to_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// Key text: PEM or bare base64
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Private,
    Public,
}

enum KeyBytes {
    Pem { label: String, der: Zeroizing<Vec<u8>> },
    Bare(Zeroizing<Vec<u8>>),
}

/// Base64 that accepts the standard alphabet with or without `=` padding.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

fn read_key_text(text: &str, want: KeyKind) -> Result<KeyBytes, KeyError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(KeyError::Empty);
    }
    if !text.contains("-----BEGIN ") {
        let compact = Zeroizing::new(strip_layout(text));
        let der = LENIENT_BASE64
            .decode(compact.as_bytes())
            .map_err(|e| KeyError::Base64(e.to_string()))?;
        return Ok(KeyBytes::Bare(Zeroizing::new(der)));
    }
    let blocks = pem_blocks(text)?;
    let suffix = match want {
        KeyKind::Private => "PRIVATE KEY",
        KeyKind::Public => "PUBLIC KEY",
    };
    // A file may carry more than one block (e.g. `EC PARAMETERS` before `EC PRIVATE KEY`).
    if let Some(block) = blocks.iter().find(|b| b.label.ends_with(suffix)) {
        if block.encrypted {
            return Err(KeyError::Encrypted);
        }
        let der = LENIENT_BASE64
            .decode(block.body.as_bytes())
            .map_err(|e| KeyError::Base64(format!("in the {} block: {e}", block.label)))?;
        return Ok(KeyBytes::Pem {
            label: block.label.clone(),
            der: Zeroizing::new(der),
        });
    }
    let other_suffix = match want {
        KeyKind::Private => "PUBLIC KEY",
        KeyKind::Public => "PRIVATE KEY",
    };
    if blocks.iter().any(|b| b.label.ends_with(other_suffix)) {
        let (expected, found) = match want {
            KeyKind::Private => ("private", "public"),
            KeyKind::Public => ("public", "private"),
        };
        return Err(KeyError::WrongKind { expected, found });
    }
    let expected = match want {
        KeyKind::Private => "PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY",
        KeyKind::Public => "PUBLIC KEY or RSA PUBLIC KEY",
    };
    Err(KeyError::UnsupportedPem(blocks[0].label.clone(), expected))
}

struct PemBlock {
    label: String,
    body: Zeroizing<String>,
    encrypted: bool,
}

/// Splits PEM text into its `BEGIN`/`END` blocks; the body is the base64 with whitespace removed.
///
/// Works on the text, not on lines, so a PEM whose line breaks were turned into spaces or into
/// literal `\n` escapes (a key pasted through a one-line form field or an environment variable)
/// still reads.
fn pem_blocks(text: &str) -> Result<Vec<PemBlock>, KeyError> {
    const BEGIN: &str = "-----BEGIN ";
    const DASHES: &str = "-----";
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(BEGIN) {
        let after_begin = &rest[at + BEGIN.len()..];
        let label_len = after_begin
            .find(DASHES)
            .ok_or_else(|| KeyError::Pem("unterminated -----BEGIN line".to_owned()))?;
        let label = after_begin[..label_len].trim();
        if label.is_empty() || label.contains(['\n', '\r']) {
            return Err(KeyError::Pem("unterminated -----BEGIN line".to_owned()));
        }
        let after_label = &after_begin[label_len + DASHES.len()..];
        let end = format!("-----END {label}-----");
        let body_len = after_label
            .find(&end)
            .ok_or_else(|| KeyError::Pem(format!("missing {end:?}")))?;
        let raw_body = &after_label[..body_len];
        if raw_body.contains(DASHES) {
            return Err(KeyError::Pem(format!("unexpected ----- line before {end:?}")));
        }
        // RFC 1421 headers such as `Proc-Type: 4,ENCRYPTED` / `DEK-Info:` mark a legacy
        // password-protected key; base64 never contains a colon.
        let encrypted = raw_body.contains(':');
        let body = Zeroizing::new(strip_layout(raw_body));
        blocks.push(PemBlock {
            label: label.to_owned(),
            body,
            encrypted,
        });
        rest = &after_label[body_len + end.len()..];
    }
    if blocks.is_empty() {
        return Err(KeyError::Pem("no -----BEGIN …----- line".to_owned()));
    }
    Ok(blocks)
}

/// Removes whitespace and literal `\n` / `\r` escapes (a backslash is never a base64 digit).
fn strip_layout(text: &str) -> String {
    text.replace("\\n", "")
        .replace("\\r", "")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

fn pem_wrap(label: &str, der: &[u8]) -> String {
    let b64 = Zeroizing::new(STANDARD.encode(der));
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 2 * label.len() + 40);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        // base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_length_counts_significant_bits() {
        assert_eq!(bit_length(&[]), 0);
        assert_eq!(bit_length(&[0, 0]), 0);
        assert_eq!(bit_length(&[1]), 1);
        assert_eq!(bit_length(&[0x80]), 8);
        assert_eq!(bit_length(&[0, 0x80, 0]), 16);
        assert_eq!(bit_length(&[0x7f, 0xff]), 15);
    }

    #[test]
    fn pem_wrap_uses_64_character_lines() {
        let pem = pem_wrap("PUBLIC KEY", &[0u8; 100]);
        let lines: Vec<&str> = pem.lines().collect();
        assert_eq!(lines[0], "-----BEGIN PUBLIC KEY-----");
        assert_eq!(lines[1].len(), 64);
        assert_eq!(lines[2].len(), 64);
        assert_eq!(lines[3].len(), 136 - 128);
        assert_eq!(lines[4], "-----END PUBLIC KEY-----");
        assert_eq!(lines.len(), 5);
        assert!(pem.ends_with("-----\n"));
    }

    #[test]
    fn pem_blocks_reports_a_missing_end_line() {
        let err = pem_blocks("-----BEGIN PUBLIC KEY-----\nAAAA\n")
            .err()
            .expect("must fail");
        assert!(matches!(err, KeyError::Pem(m) if m.contains("END PUBLIC KEY")));
    }
}
