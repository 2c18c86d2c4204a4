//! The Mini Program OpenAPI dialect (docs/mini-program.md).
//!
//! A request becomes a [`Call`] in one extractor: the path names an API of a version, the raw
//! body is read, the client found, the `Signature` over
//! `METHOD SP PATH LF Client-Id "." Request-Time "." Body` verified before any JSON parsing, the
//! time window and the rate limit checked, and an ISV's agent grant applied. [`handle`] dispatches
//! the call; the layer around it (`signed_request::sign_answers`, in the router) signs every answer, the extractor's refusals
//! included. Every answer is HTTP 200 with a JSON `result` and lower-case `client-id`,
//! `response-time` and `signature` headers (real SDKs treat anything else as a transport failure).

mod oauth;
mod payments;

use crate::signed_request::{self, header, KeyRefusal}; // shared with AlphaPay
use crate::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use walletd_core::agent::{AgentApi, AgentGrant, AgentRefusal};
use walletd_core::parties::Client;
use walletd_core::CoreError;
use walletd_protocol::miniprogram::FieldError;
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

/// A field the protocol refused: its code (`PARAM_ILLEGAL`, or `CURRENCY_NOT_SUPPORT` for a
/// currency this wallet does not know) and its words.
impl From<FieldError> for MpError {
    fn from(e: FieldError) -> Self {
        MpError::new(e.code, e.message)
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

/// The APIs of the dialect, below the version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Pay,
    InquiryPayment,
    Cancel,
    Refund,
    InquiryRefund,
    Capture,
    ApplyToken,
    CancelToken,
    /// v1 `/customers/user/inquiryUserInfoByAccessToken` and `/users/inquiryUserInfo`.
    InquiryUserInfo,
}

/// The API a path addresses, parsed once from the path below the prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Api {
    pub version: Version,
    pub endpoint: Endpoint,
}

impl Api {
    /// The API of a path below the prefix such as `/v2/payments/pay`, or `None` for a path that
    /// names no API of this wallet.
    pub fn parse(below_prefix: &str) -> Option<Api> {
        let (version, rest) = match below_prefix.split_at_checked(3)? {
            ("/v1", rest) => (Version::V1, rest),
            ("/v2", rest) => (Version::V2, rest),
            _ => return None,
        };
        let endpoint = match rest {
            "/payments/pay" => Endpoint::Pay,
            "/payments/inquiryPayment" => Endpoint::InquiryPayment,
            "/payments/cancel" => Endpoint::Cancel,
            "/payments/refund" => Endpoint::Refund,
            "/payments/inquiryRefund" => Endpoint::InquiryRefund,
            "/payments/capture" => Endpoint::Capture,
            "/authorizations/applyToken" => Endpoint::ApplyToken,
            "/authorizations/cancelToken" => Endpoint::CancelToken,
            "/users/inquiryUserInfo" => Endpoint::InquiryUserInfo,
            "/customers/user/inquiryUserInfoByAccessToken" if version == Version::V1 => {
                Endpoint::InquiryUserInfo
            }
            _ => return None,
        };
        Some(Api { version, endpoint })
    }

    /// The API as agent grants name it.
    fn agent_api(self) -> AgentApi {
        match self.endpoint {
            Endpoint::Pay => AgentApi::Pay,
            Endpoint::InquiryPayment => AgentApi::InquiryPayment,
            Endpoint::Cancel => AgentApi::Cancel,
            Endpoint::Refund => AgentApi::Refund,
            Endpoint::InquiryRefund => AgentApi::InquiryRefund,
            Endpoint::Capture => AgentApi::Capture,
            Endpoint::ApplyToken => AgentApi::ApplyToken,
            Endpoint::CancelToken => AgentApi::CancelToken,
            Endpoint::InquiryUserInfo => AgentApi::InquiryUserInfo,
        }
    }
}

/// An authenticated request, ready for an API handler.
pub struct Call {
    /// The client the request acts for: the signer, or the merchant an ISV's `Agent-Token` names.
    pub client: Client,
    /// The grant an ISV acts under (`None`: the signer acts for itself).
    pub agent: Option<AgentGrant>,
    pub version: Version,
    pub endpoint: Endpoint,
    pub body: Bytes,
}

pub use crate::signed_request::Answer;

impl From<MpError> for Answer {
    fn from(e: MpError) -> Answer {
        Answer::result(WireResult::with_message(e.code, &e.message))
    }
}

impl IntoResponse for MpError {
    fn into_response(self) -> Response {
        Answer::from(self).into_response()
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

/// How the Mini Program dialect signs its answers.
pub struct MiniProgram;

impl signed_request::Dialect for MiniProgram {
    const LABEL: &'static str = "mini_program";
    const CALLER_HEADER: &'static str = "client-id";

    fn sign(state: &AppState, sign_path: &str, client_id: &str, body: Vec<u8>) -> Response {
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
        signed_request::finish_signed(builder, signature, body)
    }

    fn log(client_id: &str, path: &str, result_code: &str, latency_ms: u64) {
        tracing::info!(client_id, path, result_code, latency_ms, "mini program request");
    }
}

/// Why a request did not become a [`Call`]: a path outside the dialect, or a refusal to sign.
pub enum Refused {
    NotFound,
    Answer(MpError),
}

impl From<MpError> for Refused {
    fn from(e: MpError) -> Refused {
        Refused::Answer(e)
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match self {
            Refused::NotFound => (StatusCode::NOT_FOUND, "not found\n").into_response(),
            Refused::Answer(e) => e.into_response(),
        }
    }
}

impl axum::extract::FromRequest<AppState> for Call {
    type Rejection = Refused;

    async fn from_request(req: Request, state: &AppState) -> Result<Call, Refused> {
        let (parts, body) = req.into_parts();
        let Some(below_prefix) = api_path(&state.config.mini_program.prefixes, parts.uri.path()) else {
            return Err(Refused::NotFound);
        };
        let api = Api::parse(below_prefix);
        let sign_path = signed_request::sign_path(&parts.uri);
        let client_id = header(&parts.headers, "client-id").unwrap_or("");
        let (client, body) =
            authenticate(state, &parts.method, &parts.headers, &sign_path, client_id, body).await?;
        let (client, agent) = acting_for(state, &parts.headers, client_id, client).await?;
        // Only an authenticated caller learns which paths are APIs.
        let Some(api) = api else {
            return Err(MpError::new(
                ResultCode::InvalidApi,
                format!("{below_prefix} is not an API of this wallet"),
            )
            .into());
        };
        if let Some(grant) = &agent {
            let asked = api.agent_api();
            if !grant.allows(asked) {
                return Err(MpError::new(
                    ResultCode::AccessDenied,
                    format!("the Agent-Token does not cover {}", asked.as_str()),
                )
                .into());
            }
        }
        Ok(Call {
            client,
            agent,
            version: api.version,
            endpoint: api.endpoint,
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
        Endpoint::Capture => payments::capture(&state, &call).await,
        Endpoint::ApplyToken => oauth::apply_token(&state, &call).await,
        Endpoint::CancelToken => oauth::cancel_token(&state, &call).await,
        Endpoint::InquiryUserInfo => oauth::inquiry_user_info(&state, &call).await,
    };
    result.unwrap_or_else(Answer::from).answering(call.body)
}

/// The caller of a signed request: its method, body size, headers, registered key, signature,
/// rate limit and time window checked, in that order. Returns the signer and the raw body.
async fn authenticate(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
    sign_path: &str,
    client_id: &str,
    body: Body,
) -> Result<(Client, Bytes), MpError> {
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
    let (client, cached) = state.wallet.recent_client(client_id).await?.ok_or_else(|| {
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
    let client = signed_request::verify_signer(state, client, cached, &sig, None, &signed)
        .await?
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
    Ok((client, body))
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

/// Every API of the dialect, as the path below the prefix: exactly the paths [`Api::parse`]
/// knows (a test below checks it; the OpenAPI document's test checks the document against them).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listed_apis_are_exactly_the_parsed_ones() {
        for api in APIS {
            assert!(Api::parse(api).is_some(), "{api} is listed but not served");
        }
        // Every endpoint spelling under both versions: what parses is what is listed.
        let below_version = APIS
            .iter()
            .map(|a| &a[3..])
            .collect::<std::collections::BTreeSet<_>>();
        for version in ["/v1", "/v2", "/v3"] {
            for rest in &below_version {
                let path = format!("{version}{rest}");
                assert_eq!(
                    Api::parse(&path).is_some(),
                    APIS.contains(&path.as_str()),
                    "{path}"
                );
            }
        }
        assert_eq!(
            Api::parse("/v2/payments/pay"),
            Some(Api {
                version: Version::V2,
                endpoint: Endpoint::Pay
            })
        );
        assert_eq!(Api::parse("/v1/payments/pay/"), None);
        assert_eq!(Api::parse("/v1"), None);
    }

    #[test]
    fn a_full_database_queue_is_a_try_again_not_an_unknown_outcome() {
        let e = MpError::from(CoreError::Storage(walletd_core::StorageError::Busy(4096)));
        assert_eq!(e.code, ResultCode::RequestTrafficExceedLimit);
        assert_eq!(e.code.status().as_str(), "U");
        assert!(e.message.contains("did not carry out"));
    }
}
