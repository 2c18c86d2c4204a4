//! The Mini Program OpenAPI dialect (docs/mini-program.md).
//!
//! Every request goes through [`handle`]: it reads the raw body, finds the client, verifies the
//! `Signature` over `METHOD SP PATH LF Client-Id "." Request-Time "." Body` before any JSON
//! parsing, checks the time window, dispatches to the API, and signs the answer. Every answer,
//! errors included, is HTTP 200 with a JSON `result` and lower-case `client-id`, `response-time`
//! and `signature` headers (real SDKs treat anything else as a transport failure).

mod oauth; // issue 5
mod payments;

use crate::signed_request::{self, header, KeyRefusal}; // shared with AlphaPay (issue 6)
use crate::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use std::time::Instant;
use walletd_core::parties::Client;
use walletd_core::CoreError;
use walletd_protocol::result::WireResult;
use walletd_protocol::signature::{format_header, SignatureHeader};
use walletd_protocol::{content, time, ResultCode};

/// An answer that carries only a `result` (F or U).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MpError {
    pub code: ResultCode,
    pub message: String,
}

impl MpError {
    pub fn new(code: ResultCode, message: impl Into<String>) -> Self {
        MpError {
            code,
            message: message.into(),
        }
    }

    pub fn param(message: impl std::fmt::Display) -> Self {
        MpError::new(ResultCode::ParamIllegal, message.to_string())
    }
}

impl From<CoreError> for MpError {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::Rejected { code, message } => MpError { code, message },
            other => {
                tracing::error!(error = %other, "internal error");
                MpError::new(
                    ResultCode::UnknownException,
                    "An internal error occurred; inquire or retry later",
                )
            }
        }
    }
}

/// Which API version a path addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

/// An authenticated request, ready for an API handler.
pub struct Call {
    pub client: Client,
    pub version: Version,
    pub body: Bytes,
}

pub use crate::signed_request::Answer;

impl From<MpError> for Answer {
    fn from(e: MpError) -> Answer {
        Answer::result(WireResult::with_message(e.code, &e.message))
    }
}

/// The API path below the longest matching configured prefix, e.g. `/v1/payments/pay`.
fn api_path<'p>(prefixes: &[String], path: &'p str) -> Option<&'p str> {
    prefixes
        .iter()
        .filter_map(|p| {
            let p = p.trim_end_matches('/');
            path.strip_prefix(p)
                .filter(|rest| rest.starts_with("/v1/") || rest.starts_with("/v2/"))
        })
        .min_by_key(|rest| rest.len())
}

/// The entry point of the dialect (mounted as the router's fallback).
pub async fn handle(State(state): State<AppState>, req: Request) -> Response {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_owned();
    let Some(api) = api_path(&state.config.mini_program.prefixes, &path).map(str::to_owned) else {
        return (StatusCode::NOT_FOUND, "not found\n").into_response();
    };
    // The path the client addressed (an absolute-form request line yields just its path here).
    let sign_path = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str().to_owned())
        .unwrap_or(path.clone());
    let client_id = header(&parts.headers, "client-id").unwrap_or("").to_owned();

    let answer = match authenticate(
        &state,
        &parts.method,
        &parts.headers,
        &sign_path,
        &client_id,
        body,
    )
    .await
    {
        Ok(call) => route(&state, &api, call).await,
        Err(e) => Answer::from(e),
    };
    let mut response = sign_answer(&state, &sign_path, &client_id, answer.body);
    response
        .extensions_mut()
        .insert(crate::metrics::RequestLabel::new(
            "mini_program",
            crate::metrics::api_label(&api),
            &answer.code,
        ));
    tracing::info!(
        client_id = %client_id,
        path = %path,
        result_code = %answer.code,
        latency_ms = started.elapsed().as_millis() as u64,
        "mini program request"
    );
    response
}

async fn authenticate(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
    sign_path: &str,
    client_id: &str,
    body: Body,
) -> Result<Call, MpError> {
    if method != Method::POST {
        return Err(MpError::new(
            ResultCode::MethodNotSupported,
            format!("{method} is not supported; use POST"),
        ));
    }
    let body = signed_request::read_body(body, state.config.mini_program.body_limit_bytes)
        .await
        .map_err(MpError::param)?;
    if client_id.is_empty() {
        return Err(MpError::new(
            ResultCode::InvalidClient,
            "the Client-Id header is missing",
        ));
    }
    let signature = header(headers, "signature")
        .ok_or_else(|| MpError::new(ResultCode::InvalidSignature, "the Signature header is missing"))?;
    let request_time = header(headers, "request-time")
        .ok_or_else(|| MpError::param("the Request-Time header is missing"))?;
    let client = state.wallet.get_client(client_id).await?.ok_or_else(|| {
        MpError::new(
            ResultCode::InvalidClient,
            format!("Client-Id {client_id} is not registered"),
        )
    })?;
    let sig = SignatureHeader::parse(signature).map_err(|e| {
        MpError::new(
            ResultCode::InvalidSignature,
            format!("the Signature header is malformed: {e}"),
        )
    })?;
    let signed = content::mini_program("POST", sign_path, client_id, request_time, &body);
    signed_request::verify_with_client_key(state, &client, &sig, None, &signed).map_err(|refusal| match refusal {
        KeyRefusal::NotFound { version } => {
            let which = version.map_or_else(|| "any live key".to_owned(), |v| format!("key version {v}"));
            MpError::new(ResultCode::KeyNotFound, format!("client {client_id} has no {which}"))
        }
        KeyRefusal::Unusable { .. } => MpError::new(
            ResultCode::UnknownException,
            "the registered key of this client is unusable",
        ),
        KeyRefusal::AlgorithmMismatch { named, key, version } => MpError::new(
            ResultCode::InvalidSignature,
            format!(
                "algorithm {} does not match key version {version} ({})",
                named.as_str(),
                key.as_str()
            ),
        ),
        KeyRefusal::Mismatch { version } => MpError::new(
            ResultCode::InvalidSignature,
            format!(
                "the signature does not verify with key version {version}; sign exactly \"POST {sign_path}\\n{client_id}.<Request-Time>.<raw body>\""
            ),
        ),
    })?;
    if !state.rate_limits.allow(client_id) {
        return Err(MpError::new(
            ResultCode::RequestTrafficExceedLimit,
            format!("client {client_id} sends more requests than its rate limit allows; retry later"),
        ));
    }
    let at =
        time::parse_request_time(request_time).map_err(|e| MpError::param(format!("Request-Time: {e}")))?;
    time::check_window(
        at,
        state.wallet.now(),
        state.config.mini_program.request_time_window_secs,
    )
    .map_err(|e| MpError::param(format!("Request-Time: {e}")))?;
    Ok(Call {
        client,
        version: Version::V1,
        body,
    })
}

async fn route(state: &AppState, api: &str, mut call: Call) -> Answer {
    let (version, rest) = match api.split_at_checked(3) {
        Some(("/v1", rest)) => (Version::V1, rest),
        Some(("/v2", rest)) => (Version::V2, rest),
        _ => {
            return MpError::new(
                ResultCode::InvalidApi,
                format!("{api} is not an API of this wallet"),
            )
            .into()
        }
    };
    call.version = version;
    let result = match rest {
        "/payments/pay" => payments::pay(state, &call).await,
        "/payments/inquiryPayment" => payments::inquiry_payment(state, &call).await,
        "/payments/cancel" => payments::cancel(state, &call).await,
        "/payments/refund" => payments::refund(state, &call).await,
        "/payments/inquiryRefund" => payments::inquiry_refund(state, &call).await,
        // ---- OAuth, user info and capture (issue 5) ----
        "/authorizations/applyToken" => oauth::apply_token(state, &call).await,
        "/authorizations/cancelToken" => oauth::cancel_token(state, &call).await,
        "/customers/user/inquiryUserInfoByAccessToken" if version == Version::V1 => {
            oauth::inquiry_user_info(state, &call).await
        }
        "/users/inquiryUserInfo" => oauth::inquiry_user_info(state, &call).await,
        "/payments/capture" => payments::capture(state, &call).await,
        _ => Err(MpError::new(
            ResultCode::InvalidApi,
            format!("{api} is not an API of this wallet"),
        )),
    };
    result.unwrap_or_else(Answer::from)
}

/// Signs `body` for the request's path and client and wraps it in an HTTP 200 response.
fn sign_answer(state: &AppState, sign_path: &str, client_id: &str, body: Vec<u8>) -> Response {
    let now = state.wallet.now().fixed_offset();
    let response_time = time::format_response_time(now);
    let signed = content::mini_program("POST", sign_path, client_id, &response_time, &body);
    let mut builder = Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json; charset=UTF-8")
        .header("response-time", &response_time);
    if let Ok(v) = HeaderValue::from_str(client_id) {
        builder = builder.header("client-id", v);
    }
    match state.wallet_key.key.sign(&signed) {
        Ok(raw) => {
            let key = &state.wallet_key;
            builder = builder.header("signature", format_header(key.key.algorithm(), key.version, &raw));
        }
        Err(e) => tracing::error!(error = %e, "signing an answer failed"),
    }
    builder
        .body(Body::from(body))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}
