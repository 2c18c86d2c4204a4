//! The AlphaPay Open API dialect (docs/alphapay.md), served at `<prefix>/v1.0/payments/...` and
//! `<prefix>/v2.0/payments/...` (prefix `/api` by default).
//!
//! A request becomes a [`Call`] in one extractor: it reads the raw body, checks the required
//! headers, finds the merchant by `Merchant-Code`, verifies the `Signature` over
//! `POST SP PATH LF Merchant-Code "." Request-Time "." Nonce "." Body` before any JSON parsing,
//! checks the time window and records the `Nonce` in the database (a replay inside the window is
//! refused, across restarts and nodes). [`handle`] dispatches the call; the layer around the
//! routes (`signed_request::sign_answers` with [`AlphaPay`]) signs every answer.
//!
//! Every answer, errors included, is HTTP 200 with a JSON `result` and the headers `Signature`,
//! `Merchant-Code`, `Response-Time`, a fresh `Nonce` and `Content-Type`, signed as
//! `POST <request path>\n<Merchant-Code>.<Response-Time>.<Nonce>.<body>`: AlphaPay's Java SDK treats
//! any other status as a transport failure, and a merchant can verify even a refusal.

mod notify;
mod payments;
pub(crate) mod qr;

pub use notify::{
    is_acknowledged, notification_schedule, render_notification, AlphaPayNotifications,
    PAYMENT_NOTIFY_HORIZON_SECS, PAYMENT_NOTIFY_IMMEDIATE_ATTEMPTS, PAYMENT_NOTIFY_RETRY_SECS,
};
pub use payments::{payment_view, refund_view, wire_status, OrderExtras, CASHIER_SCENARIOS};
pub use qr::{qr_png, qr_png_data_uri, QR_DATA_URI_PREFIX};

use crate::signed_request::{self, header, KeyRefusal};
use crate::AppState;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use bytes::Bytes;
use walletd_core::parties::Client;
use walletd_core::CoreError;
use walletd_protocol::crypto::Algorithm;
use walletd_protocol::miniprogram::FieldError;
use walletd_protocol::result::WireResult;
use walletd_protocol::signature::{format_header_alphapay, SignatureHeader};
use walletd_protocol::{content, time, ResultCode};

/// The `Content-Type` of every answer and notification.
pub const JSON_CONTENT_TYPE: &str = "application/json; charset=UTF-8";

/// A `Response-Time` (answers) or `Request-Time` (notifications) as the AlphaPay document writes
/// them: to the second, with a `±hh:mm` offset, e.g. `2019-04-04T12:08:56+05:30`.
pub fn alphapay_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.fixed_offset().format("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// Length of a `Nonce`, in characters.
pub const NONCE_CHARS: usize = 32;

/// The routes of the dialect under the configured prefix, with the layer that signs every answer.
pub fn router(state: &AppState) -> Router<AppState> {
    let prefix = normalized_prefix(&state.config.alphapay.prefix);
    Router::new()
        .route(&format!("{prefix}/v1.0/{{*endpoint}}"), any(handle))
        .route(&format!("{prefix}/v2.0/{{*endpoint}}"), any(handle))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            signed_request::sign_answers::<AlphaPay>,
        ))
}

/// `/api/` → `/api`, `api` → `/api`, `/` → `` (the API at the root).
fn normalized_prefix(prefix: &str) -> String {
    let p = prefix.trim().trim_matches('/');
    if p.is_empty() {
        String::new()
    } else {
        format!("/{p}")
    }
}

/// A refusal: an answer that carries only a `result`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApError {
    result: WireResult,
}

impl ApError {
    pub fn new(code: ResultCode, message: impl AsRef<str>) -> Self {
        ApError {
            result: WireResult::with_message(code, message.as_ref()),
        }
    }

    pub fn param(message: impl std::fmt::Display) -> Self {
        ApError::new(ResultCode::ParamIllegal, message.to_string())
    }

    /// `F/ORDER_PAID`: AlphaPay's answer to cancelling a paid order (its Java SDK's own test
    /// expects this code); our result-code table has no such code, so it is spelled here.
    pub fn order_paid(message: impl Into<String>) -> Self {
        let message: String = message.into();
        ApError {
            result: WireResult {
                result_code: "ORDER_PAID".into(),
                result_status: "F".into(),
                result_message: message
                    .chars()
                    .take(walletd_protocol::result::RESULT_MESSAGE_MAX_CHARS)
                    .collect(),
            },
        }
    }
}

/// A field the protocol refused, with the code it earns.
impl From<FieldError> for ApError {
    fn from(e: FieldError) -> Self {
        ApError::new(e.code, e.message)
    }
}

impl From<CoreError> for ApError {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::Rejected { code, message } => ApError::new(code, message),
            CoreError::Storage(walletd_core::StorageError::Busy(waiting)) => {
                tracing::warn!(waiting, "database queue full: answered try again");
                ApError::new(
                    ResultCode::RequestTrafficExceedLimit,
                    "The wallet is busy and did not carry out this request; retry shortly",
                )
            }
            other => {
                tracing::error!(error = %other, "internal error");
                ApError::new(
                    ResultCode::UnknownException,
                    "An internal error occurred; inquire or retry later",
                )
            }
        }
    }
}

/// Which published version a path addresses (both are served with the v2.0 shapes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1_0,
    V2_0,
}

/// The APIs of the dialect, below the version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Pay,
    InquiryPayment,
    Cancel,
    Refund,
    InquiryRefund,
}

impl Endpoint {
    /// The endpoint below the version, e.g. `/payments/pay`.
    fn parse(below_version: &str) -> Option<Endpoint> {
        Some(match below_version {
            "/payments/pay" => Endpoint::Pay,
            "/payments/inquiryPayment" => Endpoint::InquiryPayment,
            "/payments/cancel" => Endpoint::Cancel,
            "/payments/refund" => Endpoint::Refund,
            "/payments/inquiryRefund" => Endpoint::InquiryRefund,
            _ => return None,
        })
    }
}

/// An authenticated request, ready for an API handler.
pub struct Call {
    pub client: Client,
    pub version: Version,
    pub endpoint: Endpoint,
    pub body: Bytes,
}

pub use crate::signed_request::Answer;

impl From<ApError> for Answer {
    fn from(e: ApError) -> Answer {
        Answer::result(e.result)
    }
}

impl IntoResponse for ApError {
    fn into_response(self) -> Response {
        Answer::from(self).into_response()
    }
}

/// How the AlphaPay dialect signs its answers.
pub struct AlphaPay;

impl signed_request::Dialect for AlphaPay {
    const LABEL: &'static str = "alphapay";
    const CALLER_HEADER: &'static str = "merchant-code";

    fn sign(state: &AppState, sign_path: &str, merchant_code: &str, body: Vec<u8>) -> Response {
        sign_answer(state, sign_path, merchant_code, body)
    }

    fn log(merchant_code: &str, path: &str, result_code: &str, latency_ms: u64) {
        tracing::info!(merchant_code, path, result_code, latency_ms, "alphapay request");
    }
}

impl axum::extract::FromRequest<AppState> for Call {
    type Rejection = ApError;

    async fn from_request(req: Request, state: &AppState) -> Result<Call, ApError> {
        let (parts, body) = req.into_parts();
        let path = parts.uri.path();
        let sign_path = signed_request::sign_path(&parts.uri);
        let merchant_code = header(&parts.headers, "merchant-code").unwrap_or("");
        let (client, body) = read_and_authenticate(
            state,
            &parts.method,
            &parts.headers,
            &sign_path,
            merchant_code,
            body,
        )
        .await?;
        // Only an authenticated caller learns which paths are APIs.
        let prefix = normalized_prefix(&state.config.alphapay.prefix);
        let api =
            split_version(&prefix, path).and_then(|(version, rest)| Some((version, Endpoint::parse(rest)?)));
        let Some((version, endpoint)) = api else {
            return Err(ApError::new(
                ResultCode::InvalidApi,
                format!("{path} is not an AlphaPay API"),
            ));
        };
        Ok(Call {
            client,
            version,
            endpoint,
            body,
        })
    }
}

/// Every API of the dialect: dispatches an authenticated call.
pub async fn handle(State(state): State<AppState>, call: Call) -> Answer {
    let result = match call.endpoint {
        Endpoint::Pay => payments::pay(&state, &call).await,
        Endpoint::InquiryPayment => payments::inquiry_payment(&state, &call).await,
        Endpoint::Cancel => payments::cancel(&state, &call).await,
        Endpoint::Refund => payments::refund(&state, &call).await,
        Endpoint::InquiryRefund => payments::inquiry_refund(&state, &call).await,
    };
    result.unwrap_or_else(Answer::from).answering(call.body)
}

/// True for `application/json` with or without parameters (`; charset=UTF-8`).
fn is_json_media_type(value: &str) -> bool {
    value
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}

/// True when an `Accept` value admits `application/json` (`application/json`, `application/*` or
/// `*/*` among its media ranges; the Java SDK sends `application/json;charset=UTF-8`).
fn accepts_json(value: &str) -> bool {
    value.split(',').any(|range| {
        let t = range.split(';').next().unwrap_or("").trim();
        ["application/json", "application/*", "*/*"]
            .iter()
            .any(|ok| t.eq_ignore_ascii_case(ok))
    })
}

/// A `Merchant-Code` is 4 to 6 letters or digits.
fn is_merchant_code(s: &str) -> bool {
    (4..=6).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// A `Nonce` is 32 visible ASCII characters (the SDK sends 32 lower-case hex digits).
fn is_nonce(s: &str) -> bool {
    s.len() == NONCE_CHARS && s.bytes().all(|b| b.is_ascii_graphic())
}

async fn read_and_authenticate(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
    sign_path: &str,
    merchant_code: &str,
    body: axum::body::Body,
) -> Result<(Client, Bytes), ApError> {
    if method != Method::POST {
        return Err(ApError::new(
            ResultCode::MethodNotSupported,
            format!("{method} is not supported; every AlphaPay API is POST"),
        ));
    }
    let config = &state.config.alphapay;
    let body = signed_request::read_body(body, config.body_limit_bytes)
        .await
        .map_err(ApError::param)?;
    authenticate(state, headers, sign_path, merchant_code, body).await
}

/// Checks the headers in a fixed order (cheap shape checks first, the store last) and verifies the
/// signature before the body is parsed.
async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    sign_path: &str,
    merchant_code: &str,
    body: Bytes,
) -> Result<(Client, Bytes), ApError> {
    let config = &state.config.alphapay;
    check_merchant_code(merchant_code)?;
    check_media_types(headers)?;
    let signature = header(headers, "signature")
        .ok_or_else(|| ApError::new(ResultCode::InvalidSignature, "the Signature header is missing"))?;
    let request_time = header(headers, "request-time")
        .ok_or_else(|| ApError::param("the Request-Time header is missing"))?;
    let at = time::parse_request_time(request_time).map_err(ApError::param)?;
    let nonce = header(headers, "nonce").ok_or_else(|| ApError::param("the Nonce header is missing"))?;
    if !is_nonce(nonce) {
        return Err(ApError::param(format!(
            "the Nonce must be {NONCE_CHARS} visible ASCII characters, got {} characters",
            nonce.chars().count()
        )));
    }
    let sig = SignatureHeader::parse(signature).map_err(|e| {
        ApError::new(
            ResultCode::InvalidSignature,
            format!("the Signature header is malformed: {e}"),
        )
    })?;
    if let Some(alg) = sig.algorithm.filter(|a| *a != Algorithm::Rsa256) {
        return Err(ApError::new(
            ResultCode::InvalidSignature,
            format!(
                "algorithm {} is not offered; AlphaPay signs with RS256",
                alg.as_str()
            ),
        ));
    }
    let (client, cached) = state.wallet.recent_client(merchant_code).await?.ok_or_else(|| {
        ApError::new(
            ResultCode::InvalidClient,
            format!("Merchant-Code {merchant_code} is not registered"),
        )
    })?;
    let signed = content::alphapay("POST", sign_path, merchant_code, request_time, nonce, &body);
    let client = signed_request::verify_signer(state, client, cached, &sig, Some(Algorithm::Rsa256), &signed)
        .await?
        .map_err(|refusal| key_refusal(refusal, merchant_code, sign_path))?;
    if !state.rate_limits.allow(merchant_code) {
        return Err(ApError::new(
            ResultCode::RequestTrafficExceedLimit,
            format!("merchant {merchant_code} sends more requests than its rate limit allows; retry later"),
        ));
    }
    let window_secs = config.request_time_window_secs;
    time::check_window(at, state.wallet.now(), window_secs).map_err(ApError::param)?;
    // A request is accepted up to `window` either side of our clock, so its nonce must be
    // remembered for twice that to cover a replay at the far edge.
    let ttl_secs = i64::try_from(window_secs.saturating_mul(2).saturating_add(1)).unwrap_or(i64::MAX / 4);
    let scope = format!("alphapay-nonce:{merchant_code}");
    if !state.wallet.claim_once(&scope, nonce, ttl_secs).await? {
        return Err(ApError::param(format!(
            "Nonce {nonce} was already used by merchant {merchant_code}: a replayed request is \
             refused; send every request with a fresh Nonce"
        )));
    }
    Ok((client, body))
}

/// Refuses a Merchant-Code that is missing or not 4 to 6 letters or digits.
fn check_merchant_code(merchant_code: &str) -> Result<(), ApError> {
    if merchant_code.is_empty() {
        return Err(ApError::new(
            ResultCode::InvalidClient,
            "the Merchant-Code header is missing",
        ));
    }
    if !is_merchant_code(merchant_code) {
        return Err(ApError::new(
            ResultCode::InvalidClient,
            format!(
                "Merchant-Code {:?} is not a merchant code: 4 to 6 letters or digits",
                merchant_code.chars().take(16).collect::<String>()
            ),
        ));
    }
    Ok(())
}

/// Refuses a request that does not send JSON or does not accept JSON back.
fn check_media_types(headers: &HeaderMap) -> Result<(), ApError> {
    match header(headers, "content-type") {
        None => {
            return Err(ApError::new(
                ResultCode::MediaTypeNotAcceptable,
                "the Content-Type header is missing; send application/json",
            ))
        }
        Some(v) if !is_json_media_type(v) => {
            return Err(ApError::new(
                ResultCode::MediaTypeNotAcceptable,
                format!("Content-Type {v:?} is not application/json"),
            ))
        }
        Some(_) => {}
    }
    match header(headers, "accept") {
        None => {
            return Err(ApError::new(
                ResultCode::MediaTypeNotAcceptable,
                "the Accept header is missing; send application/json",
            ))
        }
        Some(v) if !accepts_json(v) => {
            return Err(ApError::new(
                ResultCode::MediaTypeNotAcceptable,
                format!("Accept {v:?} does not accept application/json, the only type answered"),
            ))
        }
        Some(_) => {}
    }
    Ok(())
}

/// The AlphaPay answer to a signature the merchant's registered keys do not accept.
fn key_refusal(refusal: KeyRefusal, merchant_code: &str, sign_path: &str) -> ApError {
    match refusal {
        KeyRefusal::NotFound { version } => ApError::new(
            ResultCode::KeyNotFound,
            match version {
                Some(v) => format!("merchant {merchant_code} has no key version {v}"),
                None => format!("merchant {merchant_code} has no live key"),
            },
        ),
        KeyRefusal::Unusable { .. } => ApError::new(
            ResultCode::UnknownException,
            "the registered key of this merchant is unusable",
        ),
        KeyRefusal::AlgorithmMismatch { version, key, .. } => ApError::new(
            ResultCode::InvalidSignature,
            format!(
                "key version {version} is a {} key; AlphaPay signatures are RS256 (RSA)",
                key.as_str()
            ),
        ),
        KeyRefusal::Mismatch { version } => ApError::new(
            ResultCode::InvalidSignature,
            format!(
                "the signature does not verify with key version {version}; sign exactly \
                 \"POST {sign_path}\\n{merchant_code}.<Request-Time>.<Nonce>.<raw body>\""
            ),
        ),
    }
}

/// The version and the endpoint below `<prefix>/v1.0` or `<prefix>/v2.0`, e.g. `/payments/pay`.
fn split_version<'p>(prefix: &str, path: &'p str) -> Option<(Version, &'p str)> {
    let rest = path.strip_prefix(prefix)?;
    if let Some(endpoint) = rest.strip_prefix("/v1.0") {
        Some((Version::V1_0, endpoint))
    } else {
        rest.strip_prefix("/v2.0")
            .map(|endpoint| (Version::V2_0, endpoint))
    }
}

/// Every API of the dialect, as the path below the prefix: exactly the paths the extractor
/// serves (a test below checks it; the OpenAPI document's test checks the document against them).
pub const APIS: &[&str] = &[
    "/v1.0/payments/pay",
    "/v1.0/payments/inquiryPayment",
    "/v1.0/payments/cancel",
    "/v1.0/payments/refund",
    "/v1.0/payments/inquiryRefund",
    "/v2.0/payments/pay",
    "/v2.0/payments/inquiryPayment",
    "/v2.0/payments/cancel",
    "/v2.0/payments/refund",
    "/v2.0/payments/inquiryRefund",
];

/// Signs `body` for the request's path and merchant with a fresh nonce and wraps it in an HTTP 200
/// response (a 503 if it cannot be signed: see [`crate::signed_request::finish_signed`]); the
/// signing layer calls it for every answer of the dialect.
///
/// Header names are written as the AlphaPay document spells them (`Signature`, `Merchant-Code`,
/// `Response-Time`, `Nonce`, `Content-Type`) by AlphaPay's own listener (`alphapay.listen`), whose
/// connections write Title-Case names; the shared listener writes them in lower case.
fn sign_answer(state: &AppState, sign_path: &str, merchant_code: &str, body: Vec<u8>) -> Response {
    let response_time = alphapay_time(state.wallet.now());
    let nonce = state.wallet.ids().random_hex(NONCE_CHARS / 2);
    let signed = content::alphapay("POST", sign_path, merchant_code, &response_time, &nonce, &body);
    let mut builder = Response::builder()
        .status(StatusCode::OK)
        .header("content-type", JSON_CONTENT_TYPE)
        .header("response-time", &response_time)
        .header("nonce", &nonce);
    // The merchant code is echoed as sent; a value that is not a valid header is left out.
    if let Ok(v) = HeaderValue::from_str(merchant_code) {
        builder = builder.header("merchant-code", v);
    }
    let key = &state.wallet_key;
    let signature = key
        .key
        .sign(&signed)
        .map(|raw| format_header_alphapay(key.version, &raw));
    crate::signed_request::finish_signed(builder, signature, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_allow_parameters_and_wildcards() {
        assert!(is_json_media_type("application/json"));
        assert!(is_json_media_type("application/json; charset=UTF-8"));
        assert!(is_json_media_type("Application/JSON;charset=utf-8"));
        assert!(!is_json_media_type("text/plain"));
        assert!(!is_json_media_type("application/jsonx"));
        assert!(accepts_json("application/json"));
        assert!(accepts_json("application/json;charset=UTF-8"));
        assert!(accepts_json("text/html, */*; q=0.2"));
        assert!(accepts_json("application/*"));
        assert!(!accepts_json("text/html"));
        assert!(!accepts_json("application/xml"));
    }

    #[test]
    fn merchant_codes_and_nonces_have_fixed_shapes() {
        assert!(is_merchant_code("CXVJIU"));
        assert!(is_merchant_code("AB12"));
        assert!(!is_merchant_code("ABC"));
        assert!(!is_merchant_code("ABCDEFG"));
        assert!(!is_merchant_code("AB-12"));
        assert!(is_nonce("b111bcf0dfb54d4e8bae68c293d85e2e"));
        assert!(!is_nonce("b111bcf0dfb54d4e8bae68c293d85e2"));
        assert!(!is_nonce("b111bcf0dfb54d4e8bae68c293d85e2e0"));
        assert!(!is_nonce("b111bcf0dfb54d4e8bae68c293d85 2e"));
    }

    #[test]
    fn the_listed_apis_are_exactly_the_parsed_ones() {
        for version in ["/v1.0", "/v2.0"] {
            for rest in [
                "/payments/pay",
                "/payments/inquiryPayment",
                "/payments/cancel",
                "/payments/refund",
                "/payments/inquiryRefund",
                "/payments/capture",
                "/payments/pay/",
            ] {
                let path = format!("{version}{rest}");
                let parsed = split_version("", &path).and_then(|(_, rest)| Endpoint::parse(rest));
                assert_eq!(parsed.is_some(), APIS.contains(&path.as_str()), "{path}");
            }
        }
        assert_eq!(APIS.len(), 10);
    }

    #[test]
    fn prefixes_are_normalized_and_versions_split() {
        assert_eq!(normalized_prefix("/api"), "/api");
        assert_eq!(normalized_prefix("api/"), "/api");
        assert_eq!(normalized_prefix("/"), "");
        assert_eq!(normalized_prefix("/alphapay/api"), "/alphapay/api");
        assert_eq!(
            split_version("/api", "/api/v2.0/payments/pay"),
            Some((Version::V2_0, "/payments/pay"))
        );
        assert_eq!(
            split_version("", "/v1.0/payments/inquiryRefund"),
            Some((Version::V1_0, "/payments/inquiryRefund"))
        );
        assert_eq!(split_version("/api", "/api/v2/payments/pay"), None);
        assert_eq!(split_version("/api", "/other/v2.0/payments/pay"), None);
    }
}
