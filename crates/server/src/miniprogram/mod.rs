//! The Mini Program OpenAPI dialect (docs/mini-program.md).
//!
//! Every request goes through [`handle`]: it reads the raw body, finds the client, verifies the
//! `Signature` over `METHOD SP PATH LF Client-Id "." Request-Time "." Body` before any JSON
//! parsing, checks the time window, dispatches to the API, and signs the answer. Every answer,
//! errors included, is HTTP 200 with a JSON `result` and lower-case `client-id`, `response-time`
//! and `signature` headers (real SDKs treat anything else as a transport failure).

mod oauth;
mod payments;

use crate::signed_request::{self, header, KeyRefusal}; // shared with AlphaPay
use crate::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use std::time::Instant;
use walletd_core::agent::{AgentApi, AgentGrant, AgentRefusal};
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
            CoreError::Storage(walletd_core::StorageError::Busy(waiting)) => {
                tracing::warn!(waiting, "database queue full: answered try again");
                MpError::new(
                    ResultCode::RequestTrafficExceedLimit,
                    "The wallet is busy and did not carry out this request; retry shortly with the same request id",
                )
            }
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
    /// The client the request acts for: the signer, or the merchant an ISV's `Agent-Token` names.
    pub client: Client,
    /// The grant an ISV acts under (`None`: the signer acts for itself).
    pub agent: Option<AgentGrant>,
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

    let (answer, request) = match authenticate(
        &state,
        &parts.method,
        &parts.headers,
        &sign_path,
        &client_id,
        body,
    )
    .await
    {
        Ok(call) => {
            let request = call.body.clone();
            (route(&state, &api, call).await, Some(request))
        }
        Err(e) => (Answer::from(e), None),
    };
    crate::openapi::record(&path, request.as_deref(), &answer.body);
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
    signed_request::verify_with_client_key(state, &client, &sig, None, &signed)
        .map_err(|refusal| key_refusal(refusal, client_id, sign_path))?;
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
    let (client, agent) = acting_for(state, headers, client_id, client).await?;
    Ok(Call {
        client,
        agent,
        version: Version::V1,
        body,
    })
}

/// The Mini Program answer to a signature the client's registered keys do not accept.
fn key_refusal(refusal: KeyRefusal, client_id: &str, sign_path: &str) -> MpError {
    match refusal {
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
    }
}

/// The client a request acts for: the caller itself or, with an agent token, the merchant that
/// granted it (with the grant).
async fn acting_for(
    state: &AppState,
    headers: &HeaderMap,
    client_id: &str,
    client: Client,
) -> Result<(Client, Option<AgentGrant>), MpError> {
    Ok(match agent_token(headers)? {
        None => (client, None),
        Some(token) => {
            let (merchant, grant) = state
                .wallet
                .agent_merchant(&client, token)
                .await?
                .map_err(agent_refused)?;
            tracing::info!(
                client_id = %client_id,
                merchant_client_id = %merchant.client_id,
                agent_grant_id = %grant.grant_id,
                "acting for a merchant with an agent token"
            );
            (merchant, Some(grant))
        }
    })
}

/// Every API of the dialect, as the path below the prefix; [`route`] serves exactly these (the
/// OpenAPI document's test checks it against them).
pub const APIS: &[&str] = &[
    "/v1/payments/pay",
    "/v1/payments/inquiryPayment",
    "/v1/payments/cancel",
    "/v1/payments/refund",
    "/v1/payments/inquiryRefund",
    "/v1/payments/capture",
    "/v1/authorizations/applyToken",
    "/v1/authorizations/cancelToken",
    "/v1/customers/user/inquiryUserInfoByAccessToken",
    "/v1/users/inquiryUserInfo",
    "/v2/payments/pay",
    "/v2/payments/inquiryPayment",
    "/v2/payments/cancel",
    "/v2/payments/refund",
    "/v2/payments/inquiryRefund",
    "/v2/payments/capture",
    "/v2/authorizations/applyToken",
    "/v2/authorizations/cancelToken",
    "/v2/users/inquiryUserInfo",
];

/// The `Agent-Token` an ISV names the merchant with; absent or empty (the Go SDK always sends
/// it) means the signer acts for itself. The token is not part of the signed content (the SDKs
/// sign only method, path, client id, time and body); it is a bearer secret of the ISV.
fn agent_token(headers: &HeaderMap) -> Result<Option<&str>, MpError> {
    let mut values = headers.get_all("agent-token").iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(MpError::new(
            ResultCode::InvalidAgentToken,
            "send at most one Agent-Token header",
        ));
    }
    let token = value
        .to_str()
        .map_err(|_| MpError::new(ResultCode::InvalidAgentToken, "the Agent-Token is not valid"))?
        .trim();
    Ok(Some(token).filter(|t| !t.is_empty()))
}

fn agent_refused(refusal: AgentRefusal) -> MpError {
    match refusal {
        AgentRefusal::Invalid => MpError::new(
            ResultCode::InvalidAgentToken,
            "the Agent-Token is not valid for this client",
        ),
        AgentRefusal::Expired => MpError::new(ResultCode::ExpiredAgentToken, "the Agent-Token has expired"),
        AgentRefusal::IsvNotActive { status } => MpError::new(
            ResultCode::AccessDenied,
            format!(
                "this client is {} and may not act for a merchant",
                status.as_str()
            ),
        ),
    }
}

/// The API a path below the version names, as agent scopes name it.
fn agent_api(rest: &str) -> Option<AgentApi> {
    Some(match rest {
        "/payments/pay" => AgentApi::Pay,
        "/payments/inquiryPayment" => AgentApi::InquiryPayment,
        "/payments/cancel" => AgentApi::Cancel,
        "/payments/refund" => AgentApi::Refund,
        "/payments/inquiryRefund" => AgentApi::InquiryRefund,
        "/payments/capture" => AgentApi::Capture,
        "/authorizations/applyToken" => AgentApi::ApplyToken,
        "/authorizations/cancelToken" => AgentApi::CancelToken,
        "/customers/user/inquiryUserInfoByAccessToken" | "/users/inquiryUserInfo" => {
            AgentApi::InquiryUserInfo
        }
        _ => return None,
    })
}

async fn route(state: &AppState, api: &str, mut call: Call) -> Answer {
    if !APIS.contains(&api) {
        return MpError::new(
            ResultCode::InvalidApi,
            format!("{api} is not an API of this wallet"),
        )
        .into();
    }
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
    if let Some(grant) = &call.agent {
        if let Some(api) = agent_api(rest).filter(|a| !grant.allows(*a)) {
            return MpError::new(
                ResultCode::AccessDenied,
                format!("the Agent-Token does not cover {}", api.as_str()),
            )
            .into();
        }
    }
    let result = match rest {
        "/payments/pay" => payments::pay(state, &call).await,
        "/payments/inquiryPayment" => payments::inquiry_payment(state, &call).await,
        "/payments/cancel" => payments::cancel(state, &call).await,
        "/payments/refund" => payments::refund(state, &call).await,
        "/payments/inquiryRefund" => payments::inquiry_refund(state, &call).await,
        // ---- OAuth, user info and capture ----
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
    let key = &state.wallet_key;
    let signature = key
        .key
        .sign(&signed)
        .map(|raw| format_header(key.key.algorithm(), key.version, &raw));
    crate::signed_request::finish_signed(builder, signature, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_database_queue_is_a_try_again_not_an_unknown_outcome() {
        let e = MpError::from(CoreError::Storage(walletd_core::StorageError::Busy(4096)));
        assert_eq!(e.code, ResultCode::RequestTrafficExceedLimit);
        assert_eq!(e.code.status().as_str(), "U");
        assert!(e.message.contains("did not carry out"));
    }
}
