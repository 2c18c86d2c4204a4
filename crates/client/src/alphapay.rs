//! The AlphaPay Open API client (docs/alphapay.md).
//!
//! Requests carry `Signature`, `Merchant-Code`, `Request-Time`, a fresh 32-character `Nonce`,
//! `Content-Type` and `Accept`, signed over
//! `POST SP PATH LF Merchant-Code "." Request-Time "." Nonce "." Body`. Answers carry the same
//! headers with `Response-Time` and their own `Nonce`, signed the same way over the request's path;
//! they are verified before anything in them is read.

use std::time::Duration;

use bytes::Bytes;
use http::HeaderMap;
use rand::RngCore as _;
use serde::de::DeserializeOwned;
use serde::Serialize;
use walletd_protocol::alphapay::{
    CancelResponse, InquiryPaymentResponse, InquiryRefundResponse, PayRequest, PayResponse,
    PaymentLookupRequest, PaymentView, RefundLookupRequest, RefundRequest, RefundResponse, ResultOnly,
};
use walletd_protocol::crypto::{PrivateKey, PublicKey};
use walletd_protocol::result::WireResult;
use walletd_protocol::signature::{format_header_alphapay, SignatureHeader};
use walletd_protocol::{content, time, ResultCode, ResultStatus};

use crate::miniprogram::{accept_success, check_fresh, decode};
use crate::retry::RetryPolicy;
use crate::{ClientError, Exchange, Verified};

/// A merchant's connection to a wallet's AlphaPay Open API.
#[derive(Clone)]
pub struct AlphaPayClient {
    http: reqwest::Client,
    base_url: String,
    prefix: String,
    version: String,
    merchant_code: String,
    key: PrivateKey,
    key_version: u32,
    wallet_key: PublicKey,
    retry: RetryPolicy,
    response_time_tolerance: Option<Duration>,
}

/// Overrides for one AlphaPay request (tests and diagnostics).
#[derive(Debug, Clone, Default)]
pub struct AlphaPayRequestOptions {
    /// Send this `Request-Time` instead of now.
    pub request_time: Option<String>,
    /// Send this `Nonce` instead of a fresh one.
    pub nonce: Option<String>,
    /// Send this `Signature` header instead of a correct one.
    pub signature_header: Option<String>,
}

/// What became of an AlphaPay pay request sent with [`AlphaPayClient::pay_with_retry`].
#[derive(Debug, Clone, PartialEq)]
pub enum AlphaPayOutcome {
    /// The order exists (`S`, or `U/PAYMENT_IN_PROCESS` with a `paymentId`); the payer pays at
    /// `paymentInfo`.
    Created(Box<PayResponse>),
    /// The first answer was lost or `U`, and an inquiry found the order in this state.
    Found(Box<PaymentView>),
    /// `F`: the order was not made.
    Failed(WireResult),
    /// The budget is spent and the wallet has not said; inquire later with the same
    /// `payment_request_id`.
    StillUnknown {
        payment_request_id: String,
        last_problem: String,
    },
}

/// 32 random lower-case hex characters.
pub fn new_nonce() -> String {
    let mut raw = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut raw);
    raw.iter().map(|b| format!("{b:02x}")).collect()
}

impl AlphaPayClient {
    /// A client for the wallet at `base_url`, paths `/api/v2.0/...`.
    pub fn new(base_url: &str, merchant_code: &str, key: PrivateKey, wallet_key: PublicKey) -> Self {
        AlphaPayClient {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap_or_else(|_| reqwest::Client::new()),
            base_url: base_url.trim_end_matches('/').to_owned(),
            prefix: "/api".into(),
            version: "v2.0".into(),
            merchant_code: merchant_code.to_owned(),
            key,
            key_version: 1,
            wallet_key,
            retry: RetryPolicy::default(),
            response_time_tolerance: None,
        }
    }

    /// Another path prefix (default `/api`).
    pub fn with_prefix(mut self, prefix: &str) -> Self {
        self.prefix = prefix.trim_end_matches('/').to_owned();
        self
    }

    /// `v1.0` or `v2.0` (default).
    pub fn with_version(mut self, version: &str) -> Self {
        self.version = version.to_owned();
        self
    }

    /// Signs with this key version (default 1).
    pub fn with_key_version(mut self, version: u32) -> Self {
        self.key_version = version;
        self
    }

    /// Gives up on a request after `timeout` (default 30 s).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        if let Ok(http) = reqwest::Client::builder().timeout(timeout).build() {
            self.http = http;
        }
        self
    }

    /// The policy of [`pay_with_retry`](Self::pay_with_retry).
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Refuses answers whose `Response-Time` is further than `tolerance` from now (off by default).
    pub fn with_response_time_tolerance(mut self, tolerance: Duration) -> Self {
        self.response_time_tolerance = Some(tolerance);
        self
    }

    pub fn merchant_code(&self) -> &str {
        &self.merchant_code
    }

    /// The path of an endpoint, e.g. `payments/pay` → `/api/v2.0/payments/pay`.
    pub fn path_of(&self, endpoint: &str) -> String {
        let mut path = String::new();
        for segment in [self.prefix.as_str(), self.version.as_str()] {
            let segment = segment.trim_matches('/');
            if !segment.is_empty() {
                path.push('/');
                path.push_str(segment);
            }
        }
        path.push('/');
        path.push_str(endpoint.trim_start_matches('/'));
        path
    }

    /// Sends a raw body to `endpoint` and verifies the answer; any result status is returned.
    pub async fn send(
        &self,
        endpoint: &str,
        body: Vec<u8>,
        options: &AlphaPayRequestOptions,
    ) -> Result<Verified, ClientError> {
        let x = self.exchange(endpoint, body, options).await?;
        self.verify_answer(&x.path, x.status, x.headers, x.body)
    }

    /// Signs and sends a raw body and returns what went and what came back, **without** verifying
    /// the answer (for diagnostics).
    pub async fn exchange(
        &self,
        endpoint: &str,
        body: Vec<u8>,
        options: &AlphaPayRequestOptions,
    ) -> Result<Exchange, ClientError> {
        let path = self.path_of(endpoint);
        let request_time = options
            .request_time
            .clone()
            .unwrap_or_else(|| time::format_response_time(chrono::Utc::now().fixed_offset()));
        let nonce = options.nonce.clone().unwrap_or_else(new_nonce);
        let signature = match &options.signature_header {
            Some(s) => s.clone(),
            None => {
                let signed =
                    content::alphapay("POST", &path, &self.merchant_code, &request_time, &nonce, &body);
                let raw = self
                    .key
                    .sign(&signed)
                    .map_err(|e| ClientError::Local(e.to_string()))?;
                format_header_alphapay(self.key_version, &raw)
            }
        };
        let request_headers = vec![
            ("Content-Type".to_owned(), "application/json".to_owned()),
            ("Accept".to_owned(), "application/json".to_owned()),
            ("Merchant-Code".to_owned(), self.merchant_code.clone()),
            ("Request-Time".to_owned(), request_time),
            ("Nonce".to_owned(), nonce),
            ("Signature".to_owned(), signature),
        ];
        Exchange::send(&self.http, &self.base_url, path, request_headers, body).await
    }

    /// Checks an answer's signature for a request to `path` and reads its `result`.
    pub fn verify_answer(
        &self,
        path: &str,
        status: u16,
        headers: HeaderMap,
        body: Bytes,
    ) -> Result<Verified, ClientError> {
        let get = |n: &str| {
            headers
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.trim().to_owned())
        };
        let Some(signature) = get("signature") else {
            if status != 200 {
                return Err(ClientError::HttpStatus { status, body });
            }
            return Err(ClientError::Signature("no Signature header".into()));
        };
        let response_time =
            get("response-time").ok_or_else(|| ClientError::Signature("no Response-Time header".into()))?;
        let nonce = get("nonce").ok_or_else(|| ClientError::Signature("no Nonce header".into()))?;
        let echoed = get("merchant-code").unwrap_or_default();
        if echoed != self.merchant_code {
            return Err(ClientError::Signature(format!(
                "answer is for merchant {echoed:?}, not {:?}",
                self.merchant_code
            )));
        }
        let parsed = SignatureHeader::parse(&signature).map_err(|e| ClientError::Signature(e.to_string()))?;
        let signed = content::alphapay("POST", path, &echoed, &response_time, &nonce, &body);
        self.wallet_key
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

    /// Sends `request` to `endpoint` and decodes the verified answer, whatever its result status.
    pub async fn call<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        endpoint: &str,
        request: &Req,
    ) -> Result<Resp, ClientError> {
        let v = self.send_json(endpoint, request).await?;
        decode(&v.body)
    }

    async fn send_json<Req: Serialize>(
        &self,
        endpoint: &str,
        request: &Req,
    ) -> Result<Verified, ClientError> {
        let body = serde_json::to_vec(request).map_err(|e| ClientError::Local(e.to_string()))?;
        self.send(endpoint, body, &AlphaPayRequestOptions::default())
            .await
    }

    /// `payments/pay`: `Ok` when the order exists — `S`, or `U/PAYMENT_IN_PROCESS` with a
    /// `paymentId` (the order waits for the payer at `paymentInfo`; inquire until it is paid or
    /// closed). `F`, and a `U` without an order, are [`ClientError::Wallet`].
    pub async fn pay(&self, request: &PayRequest) -> Result<PayResponse, ClientError> {
        let v = self.send_json("payments/pay", request).await?;
        match order_created(&v)? {
            Some(answer) => Ok(answer),
            None => accept_success(v),
        }
    }

    /// `payments/inquiryPayment`.
    pub async fn inquiry_payment(
        &self,
        request: &PaymentLookupRequest,
    ) -> Result<InquiryPaymentResponse, ClientError> {
        accept_success(self.send_json("payments/inquiryPayment", request).await?)
    }

    /// `payments/cancel`.
    pub async fn cancel(&self, request: &PaymentLookupRequest) -> Result<CancelResponse, ClientError> {
        accept_success(self.send_json("payments/cancel", request).await?)
    }

    /// `payments/refund`.
    pub async fn refund(&self, request: &RefundRequest) -> Result<RefundResponse, ClientError> {
        accept_success(self.send_json("payments/refund", request).await?)
    }

    /// `payments/inquiryRefund`.
    pub async fn inquiry_refund(
        &self,
        request: &RefundLookupRequest,
    ) -> Result<InquiryRefundResponse, ClientError> {
        accept_success(self.send_json("payments/inquiryRefund", request).await?)
    }

    /// `payments/pay`, re-sent with the same `paymentRequestId` after transport errors; on `U`, or
    /// when no answer came back, `inquiryPayment` (by `paymentRequestId`) is asked as the
    /// [`RetryPolicy`] allows, until the order is found or known not to exist.
    pub async fn pay_with_retry(&self, request: &PayRequest) -> Result<AlphaPayOutcome, ClientError> {
        let policy = self.retry.clone();
        let attempts = policy.send_attempts.max(1);
        let body = serde_json::to_vec(request).map_err(|e| ClientError::Local(e.to_string()))?;
        let lookup = PaymentLookupRequest::by_payment_request_id(&request.payment_request_id);
        let mut sends = 0u32;
        let mut polls = 0u32;
        let mut last_problem = String::new();
        'send: while sends < attempts {
            if sends > 0 {
                tokio::time::sleep(policy.send_backoff).await;
            }
            sends += 1;
            match self
                .send("payments/pay", body.clone(), &AlphaPayRequestOptions::default())
                .await
            {
                Ok(v) => match v.result.status() {
                    _ if order_created(&v)?.is_some() => {
                        return Ok(AlphaPayOutcome::Created(Box::new(decode(&v.body)?)))
                    }
                    Some(ResultStatus::Failed) => return Ok(AlphaPayOutcome::Failed(v.result)),
                    _ => last_problem = format!("{}/{}", v.result.result_status, v.result.result_code),
                },
                Err(e) if e.is_transport() => {
                    last_problem = e.to_string();
                    if sends < attempts {
                        continue 'send;
                    }
                }
                Err(e) => return Err(e),
            }
            while polls < policy.max_polls() {
                polls += 1;
                tokio::time::sleep(policy.poll_interval).await;
                match self.send_json("payments/inquiryPayment", &lookup).await {
                    Ok(v) => match v.result.status() {
                        Some(ResultStatus::Success) => {
                            let found: InquiryPaymentResponse = decode(&v.body)?;
                            return Ok(AlphaPayOutcome::Found(Box::new(found.payment)));
                        }
                        Some(ResultStatus::Failed) if v.result.code() == Some(ResultCode::OrderNotExist) => {
                            if sends < attempts {
                                continue 'send;
                            }
                            return Ok(AlphaPayOutcome::Failed(v.result));
                        }
                        Some(ResultStatus::Failed) => {
                            return Err(ClientError::Wallet(Box::new(crate::WalletAnswer {
                                result: v.result,
                                raw_body: v.body,
                            })))
                        }
                        _ => last_problem = format!("{}/{}", v.result.result_status, v.result.result_code),
                    },
                    Err(e) if e.is_transport() => last_problem = e.to_string(),
                    Err(e) => return Err(e),
                }
            }
            break;
        }
        Ok(AlphaPayOutcome::StillUnknown {
            payment_request_id: request.payment_request_id.clone(),
            last_problem,
        })
    }
}

/// The pay answer when it says the order exists: `S`/`A`, or `U/PAYMENT_IN_PROCESS` with a
/// `paymentId` (waiting for the payer).
fn order_created(v: &Verified) -> Result<Option<PayResponse>, ClientError> {
    let waiting = v.result.status() == Some(ResultStatus::Unknown)
        && v.result.code() == Some(ResultCode::PaymentInProcess);
    match v.result.status() {
        Some(ResultStatus::Success) | Some(ResultStatus::Accepted) => Ok(Some(decode(&v.body)?)),
        _ if waiting => {
            let answer: PayResponse = decode(&v.body)?;
            Ok(answer.payment_id.is_some().then_some(answer))
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_are_32_lower_hex_and_fresh() {
        let a = new_nonce();
        assert_eq!(a.len(), 32);
        assert!(
            a.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
            "{a}"
        );
        assert_ne!(a, new_nonce());
    }
}
