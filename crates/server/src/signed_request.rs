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

/// Verifies a request's signature with its client's keys (see [`verify_with_client_key`]) and
/// returns the client. `cached` says the client came from the wallet's short-lived cache
/// (`Wallet::recent_client`): when such a copy does not verify, the client as stored now is
/// tried once, so a key added a moment ago works at once.
pub async fn verify_signer(
    state: &AppState,
    client: Client,
    cached: bool,
    sig: &SignatureHeader,
    implied_algorithm: Option<Algorithm>,
    content: &[u8],
) -> Result<Result<Client, KeyRefusal>, walletd_core::CoreError> {
    let refusal = match verify_with_client_key(state, &client, sig, implied_algorithm, content) {
        Ok(_) => return Ok(Ok(client)),
        Err(refusal) if !cached => return Ok(Err(refusal)),
        Err(refusal) => refusal,
    };
    let Some(fresh) = state.wallet.get_client(&client.client_id).await? else {
        return Ok(Err(refusal));
    };
    Ok(verify_with_client_key(state, &fresh, sig, implied_algorithm, content).map(|_| fresh))
}

/// A dialect's answer before it is signed: the serialised body, the result code it carries (for
/// the log line and the metrics) and the request body it answers (for the exchange recorder).
///
/// Handlers and the authenticating extractors return it; [`sign_answers`], the one layer around a
/// signed dialect, turns it into the signed HTTP answer. On its own it is an HTTP 500, never an
/// unsigned 200: a route that escaped the layer fails loudly.
#[derive(Clone)]
pub struct Answer {
    pub(crate) body: Vec<u8>,
    pub(crate) code: String,
    pub(crate) request: Option<Bytes>,
}

impl Answer {
    /// Serialises `value`; `code` is the result code it carries.
    pub fn json<T: serde::Serialize>(value: &T, code: &str) -> Answer {
        match serde_json::to_vec(value) {
            Ok(body) => Answer {
                body,
                code: code.to_owned(),
                request: None,
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
        Answer {
            body,
            code,
            request: None,
        }
    }

    /// The same answer, noting the authenticated request body it answers.
    pub fn answering(mut self, request: Bytes) -> Answer {
        self.request = Some(request);
        self
    }
}

impl axum::response::IntoResponse for Answer {
    fn into_response(self) -> axum::response::Response {
        let mut response = axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
        response.extensions_mut().insert(self);
        response
    }
}

/// What the signing layer needs to know of a signed dialect.
pub trait Dialect: Send + Sync + 'static {
    /// The `dialect` label of the metrics.
    const LABEL: &'static str;
    /// The request header that names the caller (and that the answer echoes).
    const CALLER_HEADER: &'static str;

    /// Signs `body` as the answer to a request for `sign_path` by `caller`: HTTP 200 with the
    /// dialect's headers, or a 503 when it cannot be signed (see [`finish_signed`]).
    fn sign(state: &AppState, sign_path: &str, caller: &str, body: Vec<u8>) -> axum::response::Response;

    /// The dialect's line in the log for one answered request.
    fn log(caller: &str, path: &str, result_code: &str, latency_ms: u64);
}

/// The one place every answer of a signed dialect is signed: a middleware around the dialect's
/// routes. It takes the [`Answer`] the handler or the extractor left in the response, signs it for
/// the path and caller of the request, labels it for the metrics, records the exchange when the
/// recorder is on and writes the log line. A response without an `Answer` (a plain 404 for a path
/// outside the dialect) passes unchanged.
pub async fn sign_answers<D: Dialect>(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let started = std::time::Instant::now();
    let path = request.uri().path().to_owned();
    let sign_path = sign_path(request.uri());
    let caller = header(request.headers(), D::CALLER_HEADER)
        .unwrap_or("")
        .to_owned();
    let mut response = next.run(request).await;
    let Some(answer) = response.extensions_mut().remove::<Answer>() else {
        return response;
    };
    crate::openapi::record(&path, answer.request.as_deref(), &answer.body);
    let mut signed = D::sign(&state, &sign_path, &caller, answer.body);
    signed.extensions_mut().insert(crate::metrics::RequestLabel::new(
        D::LABEL,
        crate::metrics::api_label(&path),
        &answer.code,
    ));
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    D::log(&caller, &path, &answer.code, latency_ms);
    signed
}

/// The path a caller addressed and signed, with its query (an absolute-form request line yields
/// just its path here).
pub fn sign_path(uri: &axum::http::Uri) -> String {
    uri.path_and_query()
        .map_or_else(|| uri.path().to_owned(), |pq| pq.as_str().to_owned())
}

/// Finishes a signed dialect's answer: HTTP 200 with its `signature` header, or — when the wallet
/// could not sign — HTTP 503 with no body. Never an unsigned 200: a strict client would refuse it
/// and a lax one would take an unsigned body for the wallet's word. A 503 is a transport failure
/// that every SDK retries, and idempotency makes the retry safe.
pub fn finish_signed<E: fmt::Display>(
    builder: axum::http::response::Builder,
    signature: Result<String, E>,
    body: Vec<u8>,
) -> axum::response::Response {
    use axum::http::StatusCode;
    use axum::response::IntoResponse as _;
    match signature {
        Ok(signature) => builder
            .header("signature", signature)
            .body(Body::from(body))
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response()),
        Err(e) => {
            tracing::error!(error = %e, "signing an answer failed; answering 503 instead of an unsigned answer");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [("retry-after", "1")],
                "the wallet cannot sign its answer right now; retry\n",
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod finish_signed_tests {
    use super::*;

    #[test]
    fn an_answer_that_cannot_be_signed_is_a_503_not_an_unsigned_200() {
        let builder = axum::http::Response::builder()
            .status(200)
            .header("client-id", "acme");
        let refused = finish_signed(builder, Err::<String, _>("no key"), b"{\"result\":{}}".to_vec());
        assert_eq!(refused.status(), 503);
        assert!(refused.headers().get("signature").is_none());
        assert!(
            refused.headers().get("client-id").is_none(),
            "nothing of the answer leaks"
        );

        let builder = axum::http::Response::builder().status(200);
        let signed = finish_signed(
            builder,
            Ok::<_, String>("algorithm=RSA256,keyVersion=1,signature=x".into()),
            b"{}".to_vec(),
        );
        assert_eq!(signed.status(), 200);
        assert_eq!(
            signed.headers()["signature"],
            "algorithm=RSA256,keyVersion=1,signature=x"
        );
    }
}
