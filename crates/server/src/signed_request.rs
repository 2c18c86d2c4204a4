//! The parts of a signed request that every signed dialect handles alike: the raw body read with a
//! size bound, header values, and the check of a signature against the caller's registered key.
//!
//! Each dialect decides what is signed and maps these refusals to its own result codes and words.

use crate::AppState;
use axum::body::Body;
use axum::http::HeaderMap;
use bytes::Bytes;
use http_body_util::BodyExt;
use std::fmt;
use walletd_core::parties::Client;
use walletd_protocol::crypto::Algorithm;
use walletd_protocol::signature::SignatureHeader;

/// Why a request body was not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    TooLarge { limit_bytes: usize },
    Unreadable,
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyError::TooLarge { limit_bytes } => {
                write!(f, "the request body is larger than {limit_bytes} bytes")
            }
            BodyError::Unreadable => f.write_str("the request body could not be read"),
        }
    }
}

/// Reads the whole raw body, refusing more than `limit_bytes`.
pub async fn read_body(body: Body, limit_bytes: usize) -> Result<Bytes, BodyError> {
    let limited = http_body_util::Limited::new(body, limit_bytes);
    match limited.collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(BodyError::TooLarge { limit_bytes }),
        Err(_) => Err(BodyError::Unreadable),
    }
}

/// A header's value, trimmed; `None` when absent, empty or not visible ASCII.
pub fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// Why a signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRefusal {
    /// The client has no live key of the version the header names (`None`: no live key at all).
    NotFound { version: Option<u32> },
    /// The stored key does not parse (an operator's mistake; logged).
    Unusable { version: u32 },
    /// The algorithm named (or implied) is not the algorithm of the key.
    AlgorithmMismatch {
        named: Algorithm,
        key: Algorithm,
        version: u32,
    },
    /// The signature does not verify with the key.
    Mismatch { version: u32 },
}

/// Verifies `sig` over `content` with `client`'s key of the header's `keyVersion` (its latest live
/// key when the header names none) and returns that version.
///
/// `implied_algorithm` is what a header without `algorithm=` means: `None` for "whatever the key
/// is" (Mini Program), `Some(Algorithm::Rsa256)` for a dialect that only knows RSA (AlphaPay).
pub fn verify_with_client_key(
    state: &AppState,
    client: &Client,
    sig: &SignatureHeader,
    implied_algorithm: Option<Algorithm>,
    content: &[u8],
) -> Result<u32, KeyRefusal> {
    let stored = client.key(sig.key_version).ok_or(KeyRefusal::NotFound {
        version: sig.key_version,
    })?;
    let key = state.public_key(&stored.public_key).map_err(|e| {
        tracing::error!(
            client_id = %client.client_id,
            version = stored.version,
            error = %e,
            "stored public key does not parse"
        );
        KeyRefusal::Unusable {
            version: stored.version,
        }
    })?;
    let named = sig.algorithm.or(implied_algorithm).unwrap_or(key.algorithm());
    if named != key.algorithm() {
        return Err(KeyRefusal::AlgorithmMismatch {
            named,
            key: key.algorithm(),
            version: stored.version,
        });
    }
    key.verify(content, &sig.signature)
        .map_err(|_| KeyRefusal::Mismatch {
            version: stored.version,
        })?;
    Ok(stored.version)
}

/// A serialised answer body with the result code it carries (for the log line). Both signed
/// dialects build their answers as this and sign `body` in one place each.
pub struct Answer {
    pub(crate) body: Vec<u8>,
    pub(crate) code: String,
}

impl Answer {
    /// Serialises `value`; `code` is the result code it carries.
    pub fn json<T: serde::Serialize>(value: &T, code: &str) -> Answer {
        match serde_json::to_vec(value) {
            Ok(body) => Answer {
                body,
                code: code.to_owned(),
            },
            Err(e) => {
                tracing::error!(error = %e, "serialising an answer");
                Answer::result(walletd_protocol::result::WireResult::with_message(
                    walletd_protocol::ResultCode::UnknownException,
                    "An internal error occurred",
                ))
            }
        }
    }

    /// An answer that carries only a `result`.
    pub fn result(result: walletd_protocol::result::WireResult) -> Answer {
        let code = result.result_code.clone();
        let body = serde_json::to_vec(&walletd_protocol::miniprogram::ResultOnly { result })
            .unwrap_or_else(|_| br#"{"result":{"resultCode":"UNKNOWN_EXCEPTION","resultStatus":"U","resultMessage":"An internal error occurred"}}"#.to_vec());
        Answer { body, code }
    }
}
