//! The Mini Program OpenAPI client (docs/mini-program.md).
//!
//! Requests are signed over `POST SP PATH LF Client-Id "." Request-Time "." Body`; answers are
//! verified over the same method, path and client id with the answer's `Response-Time` and raw
//! body, before the body is parsed.

use crate::{ClientError, WalletAnswer};
use bytes::Bytes;
use http::HeaderMap;
use serde::de::DeserializeOwned;
use serde::Serialize;
use walletd_protocol::crypto::{PrivateKey, PublicKey};
use walletd_protocol::miniprogram::oauth::{
    AccessTokenRequest, ApplyTokenRequest, ApplyTokenResponse, CancelTokenResponse, UserInfoResponse,
};
use walletd_protocol::miniprogram::{
    CancelResponse, CaptureRequest, CaptureResponse, InquiryPaymentResponse, InquiryRefundResponse,
    PayRequestV1, PayRequestV2, PayResponse, PaymentLookupRequest, RefundLookupRequest, RefundRequest,
    RefundResponse, ResultOnly,
};
use walletd_protocol::result::WireResult;
use walletd_protocol::signature::{format_header, SignatureHeader};
use walletd_protocol::{content, time, ResultStatus};

use crate::retry::RetryPolicy;

/// Overrides for one request (tests and diagnostics; normal calls use the defaults).
#[derive(Debug, Clone, Default)]
pub struct RequestOptions {
    /// Send this `Request-Time` instead of now.
    pub request_time: Option<String>,
    /// Send this `Signature` header instead of a correct one.
    pub signature_header: Option<String>,
}

/// One request as sent and its answer as received, not yet verified.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The path that was signed and addressed.
    pub path: String,
    pub request_headers: Vec<(String, String)>,
    pub request_body: Vec<u8>,
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Exchange {
    /// POSTs `body` with `request_headers` to `base_url` + `path` and keeps both sides as they were.
    pub(crate) async fn send(
        http: &reqwest::Client,
        base_url: &str,
        path: String,
        request_headers: Vec<(String, String)>,
        body: Vec<u8>,
    ) -> Result<Exchange, ClientError> {
        let mut request = http.post(format!("{base_url}{path}"));
        for (name, value) in &request_headers {
            request = request.header(name, value);
        }
        let resp = request.body(body.clone()).send().await?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let answer = resp.bytes().await?;
        Ok(Exchange {
            path,
            request_headers,
            request_body: body,
            status,
            headers,
            body: answer,
        })
    }
}

/// A request signed and ready to send: what [`MiniProgramClient::sign_request`] builds and what
/// the client POSTs.
#[derive(Debug, Clone)]
pub struct SignedRequest {
    /// The path that was signed, e.g. `/api/v2/payments/pay`.
    pub path: String,
    /// `content-type`, `client-id`, `request-time` and `signature`, in that order.
    pub headers: Vec<(String, String)>,
    /// The body exactly as signed.
    pub body: Vec<u8>,
}

impl SignedRequest {
    /// The value of the header `name` (lower case), if the request has it.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An answer whose signature verified.
#[derive(Debug, Clone)]
pub struct Verified {
    pub status: u16,
    pub headers: HeaderMap,
    /// The raw body as the wallet sent (and signed) it.
    pub body: Bytes,
    /// The `result` object of the body.
    pub result: WireResult,
}

impl Verified {
    /// The verified body as the API's answer type (e.g. [`PayResponse`]), whatever its result
    /// status.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, ClientError> {
        decode(&self.body)
    }
}

/// A merchant's connection to a wallet's Mini Program OpenAPI.
#[derive(Clone)]
pub struct MiniProgramClient {
    http: reqwest::Client,
    base_url: String,
    prefix: String,
    client_id: String,
    key: PrivateKey,
    key_version: u32,
    /// `None` only for a diagnostics client: then every answer is refused.
    wallet_key: Option<PublicKey>,
    retry: RetryPolicy,
    response_time_tolerance: Option<std::time::Duration>,
    /// An ISV's `Agent-Token`: every request then acts for the merchant the token names.
    agent_token: Option<String>,
}

impl MiniProgramClient {
    /// A client for the wallet at `base_url` (e.g. `http://127.0.0.1:8080`), API prefix `/api`.
    pub fn new(base_url: &str, client_id: &str, key: PrivateKey, wallet_key: PublicKey) -> Self {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        MiniProgramClient {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            prefix: "/api".into(),
            client_id: client_id.to_owned(),
            key,
            key_version: 1,
            wallet_key: Some(wallet_key),
            retry: RetryPolicy::default(),
            response_time_tolerance: None,
            agent_token: None,
        }
    }

    /// Gives up on a request after `timeout` (default 30 s); the `*_with_retry` methods then
    /// re-send it.
    pub fn with_timeout(mut self, timeout: std::time::Duration) -> Self {
        if let Ok(http) = reqwest::Client::builder().timeout(timeout).build() {
            self.http = http;
        }
        self
    }

    /// Uses this HTTP client (proxies, TLS roots, connection pool settings).
    pub fn with_http_client(mut self, http: reqwest::Client) -> Self {
        self.http = http;
        self
    }

    /// The policy of the `*_with_retry` methods (default: [`RetryPolicy::default`]).
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The retry policy in force.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    /// Also refuses answers whose (signed) `Response-Time` is further than `tolerance` from this
    /// machine's clock: a replayed old answer then fails closed. Off by default, because a wallet
    /// in a test may run on a simulated clock.
    pub fn with_response_time_tolerance(mut self, tolerance: std::time::Duration) -> Self {
        self.response_time_tolerance = Some(tolerance);
        self
    }

    /// A client that can sign and send but has no wallet key: every answer fails verification
    /// (fail closed). Only [`exchange`](Self::exchange) is useful with it, to look at what a
    /// wallet answers before its key is at hand.
    pub fn without_wallet_key(base_url: &str, client_id: &str, key: PrivateKey) -> Self {
        let mut c = Self::new(base_url, client_id, key.clone(), key.public_key());
        c.wallet_key = None;
        c
    }

    /// The wallet's public key answers are verified with.
    pub fn wallet_key(&self) -> Option<&PublicKey> {
        self.wallet_key.as_ref()
    }

    /// Uses another path prefix (`/api/open`, `/miniprogram/api`, or `""` for none).
    pub fn with_prefix(mut self, prefix: &str) -> Self {
        self.prefix = prefix.trim_end_matches('/').to_owned();
        self
    }

    /// Signs with this key version (default 1).
    pub fn with_key_version(mut self, version: u32) -> Self {
        self.key_version = version;
        self
    }

    /// Sends this `Agent-Token` with every request: an ISV (this client id and key) then acts for
    /// the merchant an operator issued the token for. Answers are still signed for this client id.
    pub fn with_agent_token(mut self, token: &str) -> Self {
        self.agent_token = Some(token.to_owned());
        self
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The path of an API, e.g. `v2/payments/pay` → `/api/v2/payments/pay`.
    pub fn path_of(&self, api: &str) -> String {
        format!("{}/{}", self.prefix, api.trim_start_matches('/'))
    }

    /// Sends a raw body to `api` and verifies the answer; any result status is returned.
    pub async fn send(
        &self,
        api: &str,
        body: Vec<u8>,
        options: &RequestOptions,
    ) -> Result<Verified, ClientError> {
        let x = self.exchange(api, body, options).await?;
        self.verify_answer(&x.path, x.status, x.headers, x.body)
    }

    /// Signs and sends a raw body to `api` and returns what went and what came back, **without**
    /// verifying the answer (for diagnostics: `walletd call` prints both, then verifies).
    pub async fn exchange(
        &self,
        api: &str,
        body: Vec<u8>,
        options: &RequestOptions,
    ) -> Result<Exchange, ClientError> {
        let signed = self.sign_body(api, body, options)?;
        Exchange::send(
            &self.http,
            &self.base_url,
            signed.path,
            signed.headers,
            signed.body,
        )
        .await
    }

    /// Serialises `request` for `api` and signs it now, without sending it: what
    /// [`call`](Self::call) and the typed methods would POST. Useful to look at (or log without
    /// the signature) and for offline tests; [`verify_answer`](Self::verify_answer) checks the
    /// answer to it.
    pub fn sign_request<Req: Serialize>(
        &self,
        api: &str,
        request: &Req,
    ) -> Result<SignedRequest, ClientError> {
        let body = serde_json::to_vec(request).map_err(|e| ClientError::Local(e.to_string()))?;
        self.sign_body(api, body, &RequestOptions::default())
    }

    /// Signs a raw body for `api` (with the overrides of `options`).
    pub fn sign_body(
        &self,
        api: &str,
        body: Vec<u8>,
        options: &RequestOptions,
    ) -> Result<SignedRequest, ClientError> {
        let path = self.path_of(api);
        let request_time = options
            .request_time
            .clone()
            .unwrap_or_else(|| time::format_response_time(chrono::Utc::now().fixed_offset()));
        let signature = match &options.signature_header {
            Some(s) => s.clone(),
            None => {
                let signed = content::mini_program("POST", &path, &self.client_id, &request_time, &body);
                let raw = self
                    .key
                    .sign(&signed)
                    .map_err(|e| ClientError::Local(e.to_string()))?;
                format_header(self.key.algorithm(), self.key_version, &raw)
            }
        };
        let mut request_headers = vec![
            (
                "content-type".to_owned(),
                "application/json; charset=UTF-8".to_owned(),
            ),
            ("client-id".to_owned(), self.client_id.clone()),
            ("request-time".to_owned(), request_time),
            ("signature".to_owned(), signature),
        ];
        if let Some(token) = &self.agent_token {
            request_headers.push(("agent-token".to_owned(), token.clone()));
        }
        Ok(SignedRequest {
            path,
            headers: request_headers,
            body,
        })
    }

    /// Checks an answer's signature for a request to `path` and reads its `result`.
    ///
    /// The answer must carry `signature`, `response-time` and `client-id` (our own client id), and
    /// the signature must verify with the wallet's key over the raw body; otherwise the answer is
    /// [`ClientError::Signature`] (or [`ClientError::HttpStatus`] for an unsigned HTTP error, which
    /// did not come from the wallet's API).
    pub fn verify_answer(
        &self,
        path: &str,
        status: u16,
        headers: HeaderMap,
        body: impl Into<Bytes>,
    ) -> Result<Verified, ClientError> {
        let body: Bytes = body.into();
        let get = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let Some(signature) = get("signature") else {
            if status != 200 {
                return Err(ClientError::HttpStatus { status, body });
            }
            return Err(ClientError::Signature("no signature header".into()));
        };
        let response_time =
            get("response-time").ok_or_else(|| ClientError::Signature("no response-time header".into()))?;
        let echoed = get("client-id").unwrap_or_default();
        if echoed != self.client_id {
            return Err(ClientError::Signature(format!(
                "answer is for client {echoed:?}, not {:?}",
                self.client_id
            )));
        }
        let parsed = SignatureHeader::parse(&signature).map_err(|e| ClientError::Signature(e.to_string()))?;
        let signed = content::mini_program("POST", path, &echoed, &response_time, &body);
        let wallet_key = self
            .wallet_key
            .as_ref()
            .ok_or_else(|| ClientError::Signature("no wallet public key to verify the answer with".into()))?;
        wallet_key
            .verify(&signed, &parsed.signature)
            .map_err(|_| ClientError::Signature("signature does not verify with the wallet's key".into()))?;
        if let Some(tolerance) = self.response_time_tolerance {
            check_fresh(&response_time, tolerance)?;
        }
        if status != 200 {
            return Err(ClientError::Decode(format!("HTTP status {status}")));
        }
        let result = serde_json::from_slice::<ResultOnly>(&body)
            .map_err(|e| ClientError::Decode(format!("no result object: {e}")))?
            .result;
        Ok(Verified {
            status,
            headers,
            body,
            result,
        })
    }

    /// Sends `request` to `api` and decodes the verified answer, whatever its result status.
    pub async fn call<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        api: &str,
        request: &Req,
    ) -> Result<Resp, ClientError> {
        let body = serde_json::to_vec(request).map_err(|e| ClientError::Local(e.to_string()))?;
        let verified = self.send(api, body, &RequestOptions::default()).await?;
        serde_json::from_slice(&verified.body).map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// Like [`call`](Self::call), but F and U answers become [`ClientError::Wallet`].
    pub async fn call_ok<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        api: &str,
        request: &Req,
    ) -> Result<Resp, ClientError> {
        accept_success(self.send_json(api, request).await?)
    }

    /// Sends `request` to `api` and returns the verified answer, whatever its result status.
    pub async fn send_json<Req: Serialize>(&self, api: &str, request: &Req) -> Result<Verified, ClientError> {
        let body = serde_json::to_vec(request).map_err(|e| ClientError::Local(e.to_string()))?;
        self.send(api, body, &RequestOptions::default()).await
    }

    /// `/v1/payments/pay`: S or A (with the cashier link) is `Ok`.
    pub async fn pay_v1(&self, request: &PayRequestV1) -> Result<PayResponse, ClientError> {
        self.call_ok("v1/payments/pay", request).await
    }

    /// `/v2/payments/pay`.
    pub async fn pay_v2(&self, request: &PayRequestV2) -> Result<PayResponse, ClientError> {
        self.call_ok("v2/payments/pay", request).await
    }

    /// `/v{1,2}/payments/inquiryPayment` (`version` is `"v1"` or `"v2"`).
    pub async fn inquiry_payment(
        &self,
        version: &str,
        request: &PaymentLookupRequest,
    ) -> Result<InquiryPaymentResponse, ClientError> {
        self.call_ok(&format!("{version}/payments/inquiryPayment"), request)
            .await
    }

    /// `/v{1,2}/payments/cancel`.
    pub async fn cancel(
        &self,
        version: &str,
        request: &PaymentLookupRequest,
    ) -> Result<CancelResponse, ClientError> {
        self.call_ok(&format!("{version}/payments/cancel"), request).await
    }

    /// `/v{1,2}/payments/refund`.
    pub async fn refund(
        &self,
        version: &str,
        request: &RefundRequest,
    ) -> Result<RefundResponse, ClientError> {
        self.call_ok(&format!("{version}/payments/refund"), request).await
    }

    /// `/v{1,2}/payments/inquiryRefund`.
    pub async fn inquiry_refund(
        &self,
        version: &str,
        request: &RefundLookupRequest,
    ) -> Result<InquiryRefundResponse, ClientError> {
        self.call_ok(&format!("{version}/payments/inquiryRefund"), request)
            .await
    }

    // ---- OAuth, user info and capture ----

    /// `/v{1,2}/authorizations/applyToken`: exchanges an auth code (from `my.getAuthCode` in the
    /// mini program) for a token pair, or rotates a pair with its refresh token.
    ///
    /// Build the request with [`ApplyTokenRequest::authorization_code_v1`],
    /// [`ApplyTokenRequest::authorization_code_v2`] or [`ApplyTokenRequest::refresh`]. The code
    /// and the refresh token are single-use: after `S` only the new refresh token is good. A code
    /// or token the wallet refuses is [`ClientError::Wallet`] with its result code (v1
    /// `INVALID_CODE`, v2 `INVALID_AUTHCODE`, `USED_REFRESH_TOKEN`, …). Keep the access token on
    /// your server.
    pub async fn apply_token(
        &self,
        version: &str,
        request: &ApplyTokenRequest,
    ) -> Result<ApplyTokenResponse, ClientError> {
        self.call_ok(&format!("{version}/authorizations/applyToken"), request)
            .await
    }

    /// `/v{1,2}/authorizations/cancelToken`: after `S` the access token and its refresh token
    /// are dead.
    pub async fn cancel_token(
        &self,
        version: &str,
        request: &AccessTokenRequest,
    ) -> Result<CancelTokenResponse, ClientError> {
        self.call_ok(&format!("{version}/authorizations/cancelToken"), request)
            .await
    }

    /// The user behind an access token: v1 `customers/user/inquiryUserInfoByAccessToken`, v2
    /// `users/inquiryUserInfo`. Only the fields the user's grant allows are present in
    /// [`UserInfoResponse::user_info`]. `version` must be `"v1"` or `"v2"`.
    pub async fn inquiry_user_info(
        &self,
        version: &str,
        request: &AccessTokenRequest,
    ) -> Result<UserInfoResponse, ClientError> {
        let api = match version {
            "v1" => "v1/customers/user/inquiryUserInfoByAccessToken",
            "v2" => "v2/users/inquiryUserInfo",
            other => {
                return Err(ClientError::Local(format!(
                    "the user-info API has versions v1 and v2, not {other:?}"
                )))
            }
        };
        self.call_ok(api, request).await
    }

    /// `/v{1,2}/payments/capture`: takes `captureAmount` (or, without one, everything held) of an
    /// authorization made with `paymentFactor.isAuthorizationPayment`. With
    /// `isLastCapture: false` the rest stays held for further captures; the last capture (the
    /// default) releases whatever is left. Re-sending the same `captureRequestId` is safe.
    pub async fn capture(
        &self,
        version: &str,
        request: &CaptureRequest,
    ) -> Result<CaptureResponse, ClientError> {
        self.call_ok(&format!("{version}/payments/capture"), request)
            .await
    }
}

/// Refuses a signed time further than `tolerance` from now (either way).
pub(crate) fn check_fresh(signed_time: &str, tolerance: std::time::Duration) -> Result<(), ClientError> {
    let at = time::parse_request_time(signed_time)
        .map_err(|e| ClientError::Signature(format!("response-time: {e}")))?;
    time::check_window(at, chrono::Utc::now(), tolerance.as_secs())
        .map_err(|e| ClientError::Signature(format!("response-time: {e}")))
}

/// Decodes a verified body as `T`.
pub(crate) fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, ClientError> {
    serde_json::from_slice(body).map_err(|e| ClientError::Decode(e.to_string()))
}

/// `Ok(T)` for S and A answers, [`ClientError::Wallet`] for F and U.
pub(crate) fn accept_success<T: DeserializeOwned>(verified: Verified) -> Result<T, ClientError> {
    match verified.result.status() {
        Some(ResultStatus::Success) | Some(ResultStatus::Accepted) => decode(&verified.body),
        _ => Err(ClientError::Wallet(Box::new(WalletAnswer {
            result: verified.result,
            raw_body: verified.body,
        }))),
    }
}
