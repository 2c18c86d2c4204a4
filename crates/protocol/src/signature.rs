//! The `Signature` HTTP header (docs/mini-program.md §4):
//! `algorithm=RSA256,keyVersion=1,signature=<url-encoded standard base64>`.
//!
//! Parsing is tolerant of what real clients send (spaces after commas, any key case, missing
//! `algorithm` or `keyVersion`, raw or URL-encoded base64, lower-case percent hex, no padding, a header
//! that is nothing but the signature value). Formatting is strict and always emits the one layout that
//! every SDK parser copes with.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;

use crate::crypto::{Algorithm, UnknownAlgorithm};

/// The parts of a parsed `Signature` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeader {
    /// `algorithm=`; `None` when absent, which callers read as [`Algorithm::Rsa256`].
    pub algorithm: Option<Algorithm>,
    /// `keyVersion=`; `None` when absent, which callers read as "the client's latest key".
    pub key_version: Option<u32>,
    /// The raw signature bytes (already URL- and base64-decoded).
    pub signature: Vec<u8>,
}

/// Why a `Signature` header (or its signature value) could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureHeaderError {
    /// The header is empty or only separators.
    #[error("the Signature header is empty")]
    Empty,
    /// There is no `signature=` item.
    #[error("the Signature header has no signature= item")]
    MissingSignature,
    /// The `signature=` value is empty.
    #[error("the signature value is empty")]
    EmptySignature,
    /// `algorithm=` names an algorithm we do not know.
    #[error(transparent)]
    UnknownAlgorithm(#[from] UnknownAlgorithm),
    /// `keyVersion=` is not a non-negative integer.
    #[error("keyVersion must be a non-negative integer, got {0:?}")]
    InvalidKeyVersion(String),
    /// The same key appears twice.
    #[error("the Signature header has more than one {0}= item")]
    DuplicateItem(&'static str),
    /// An item that is not `algorithm=`, `keyVersion=` or `signature=`.
    #[error(
        "unexpected item {0:?} in the Signature header; expected algorithm=, keyVersion= and signature="
    )]
    UnexpectedItem(String),
    /// The signature value is not (URL-encoded) base64.
    #[error("the signature value is not base64: {0}")]
    InvalidBase64(String),
}

impl SignatureHeader {
    /// Parses a `Signature` header value (see the module docs for what is tolerated).
    pub fn parse(value: &str) -> Result<SignatureHeader, SignatureHeaderError> {
        let items: Vec<&str> = value
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .collect();
        if items.is_empty() {
            return Err(SignatureHeaderError::Empty);
        }

        let mut algorithm = None;
        let mut key_version = None;
        let mut signature: Option<&str> = None;
        let mut unknown: Option<&str> = None;

        for item in &items {
            match split_known_item(item) {
                Some((HeaderKey::Algorithm, v)) => {
                    if algorithm.is_some() {
                        return Err(SignatureHeaderError::DuplicateItem("algorithm"));
                    }
                    algorithm = Some(v.parse::<Algorithm>()?);
                }
                Some((HeaderKey::KeyVersion, v)) => {
                    if key_version.is_some() {
                        return Err(SignatureHeaderError::DuplicateItem("keyVersion"));
                    }
                    key_version = Some(parse_key_version(v)?);
                }
                Some((HeaderKey::Signature, v)) => {
                    if signature.is_some() {
                        return Err(SignatureHeaderError::DuplicateItem("signature"));
                    }
                    signature = Some(v);
                }
                None => {
                    if unknown.is_none() {
                        unknown = Some(item);
                    }
                }
            }
        }

        let signature = match (signature, unknown) {
            (Some(sig), None) => sig,
            // A header that is nothing but the value: `Signature: <base64>`.
            (None, Some(bare)) if items.len() == 1 => bare,
            (None, None) => return Err(SignatureHeaderError::MissingSignature),
            (_, Some(other)) => return Err(SignatureHeaderError::UnexpectedItem(shorten(other))),
        };
        Ok(SignatureHeader {
            algorithm,
            key_version,
            signature: decode_signature_value(signature)?,
        })
    }

    /// The algorithm, defaulting to [`Algorithm::Rsa256`] when the header did not name one.
    pub fn algorithm_or_default(&self) -> Algorithm {
        self.algorithm.unwrap_or_default()
    }
}

#[derive(Clone, Copy)]
enum HeaderKey {
    Algorithm,
    KeyVersion,
    Signature,
}

/// Splits `key=value` on the first `=` if `key` is one of the three known keys (any case);
/// otherwise `None` (base64 values contain `=` too, so an unknown prefix is not a key).
fn split_known_item(item: &str) -> Option<(HeaderKey, &str)> {
    let (key, value) = item.split_once('=')?;
    let key = key.trim();
    let known = if key.eq_ignore_ascii_case("algorithm") {
        HeaderKey::Algorithm
    } else if key.eq_ignore_ascii_case("keyVersion") {
        HeaderKey::KeyVersion
    } else if key.eq_ignore_ascii_case("signature") {
        HeaderKey::Signature
    } else {
        return None;
    };
    Some((known, value.trim()))
}

fn parse_key_version(v: &str) -> Result<u32, SignatureHeaderError> {
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SignatureHeaderError::InvalidKeyVersion(shorten(v)));
    }
    v.parse::<u32>()
        .map_err(|_| SignatureHeaderError::InvalidKeyVersion(shorten(v)))
}

fn shorten(s: &str) -> String {
    const MAX_CHARS: usize = 40;
    if s.chars().count() <= MAX_CHARS {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(MAX_CHARS).collect();
        out.push('…');
        out
    }
}

/// Base64 that accepts the standard alphabet with or without `=` padding.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Decodes a signature value: `%XX` escapes (either hex case) are undone — a `+` stays a `+`, it is
/// never read as a space — then standard base64, padded or not, is decoded. The URL-safe alphabet
/// (`-`, `_`) is accepted as well.
pub fn decode_signature_value(s: &str) -> Result<Vec<u8>, SignatureHeaderError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(SignatureHeaderError::EmptySignature);
    }
    let unescaped: Vec<u8> = percent_encoding::percent_decode_str(s).collect();
    let standard: Vec<u8> = unescaped
        .iter()
        .map(|&b| match b {
            b'-' => b'+',
            b'_' => b'/',
            other => other,
        })
        .collect();
    let raw = LENIENT_BASE64
        .decode(&standard)
        .map_err(|e| SignatureHeaderError::InvalidBase64(e.to_string()))?;
    if raw.is_empty() {
        return Err(SignatureHeaderError::EmptySignature);
    }
    Ok(raw)
}

/// Encodes raw signature bytes for the header: standard base64 with padding, then URL-encoded, which
/// for base64 text means exactly `+`→`%2B`, `/`→`%2F`, `=`→`%3D` (upper-case hex).
pub fn encode_signature_value(raw: &[u8]) -> String {
    let b64 = STANDARD.encode(raw);
    let mut out = String::with_capacity(b64.len() + 8);
    for c in b64.chars() {
        match c {
            '+' => out.push_str("%2B"),
            '/' => out.push_str("%2F"),
            '=' => out.push_str("%3D"),
            other => out.push(other),
        }
    }
    out
}

/// Formats a `Signature` header value exactly as
/// `algorithm=RSA256,keyVersion=1,signature=<encoded>`: that order, no spaces, one `signature=`.
pub fn format_header(alg: Algorithm, key_version: u32, raw: &[u8]) -> String {
    format_with_name(alg.as_str(), key_version, raw)
}

/// The AlphaPay spelling of [`format_header`]: `algorithm=RS256,keyVersion=1,signature=<encoded>`
/// (AlphaPay calls SHA256withRSA `RS256`; it has no ECC variant).
pub fn format_header_alphapay(key_version: u32, raw: &[u8]) -> String {
    format_with_name("RS256", key_version, raw)
}

fn format_with_name(alg_name: &str, key_version: u32, raw: &[u8]) -> String {
    format!(
        "algorithm={alg_name},keyVersion={key_version},signature={}",
        encode_signature_value(raw)
    )
}
