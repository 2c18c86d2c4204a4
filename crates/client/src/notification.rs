//! Receiving the wallet's signed notifications (`notifyPayment`, docs/mini-program.md §3, §15).
//!
//! The wallet POSTs to the `paymentNotifyUrl` of a payment with the headers `client-id`,
//! `request-time` and `signature`, signed over
//! `POST SP <notify path> LF <client-id> "." <request-time> "." <raw body>`. A merchant must
//! verify that signature over the raw bytes (never over re-serialised JSON), check the time, make
//! sure the notification is for its own client id, handle it idempotently (the same notification
//! may come several times), and answer with [`ack_body`]. Anything else makes the wallet try again
//! later.
//!
//! ```
//! # #[path = "../tests/support/doc_wallet.rs"] mod doc_wallet;
//! # let (wallet_key, path, headers, raw_body) = doc_wallet::signed_notification("merchant-1");
//! use std::time::Duration;
//! use walletd_client::notification::{ack_body, verify_notification, PaymentNotification};
//!
//! // `path`, `headers` and `raw_body` as your web framework received them.
//! let notification = verify_notification(&path, &headers, &raw_body, &wallet_key, Duration::from_secs(300))
//!     .expect("a genuine notification");
//! assert_eq!(notification.client_id, "merchant-1");
//! match &notification.payment {
//!     PaymentNotification::V2(n) => {
//!         println!("{} is {}", n.payment_request_id, n.payment_result.result_status);
//!     }
//!     PaymentNotification::V1(n) => println!("{} is {}", n.payment_request_id, n.payment_status),
//!     PaymentNotification::Other(v) => println!("something else: {v}"),
//! }
//! // Answer HTTP 200 with this body (once the outcome is stored on your side):
//! let answer: Vec<u8> = ack_body();
//! # assert!(String::from_utf8(answer).unwrap().contains(r#""resultStatus":"S""#));
//!
//! // A body changed on the way (or re-serialised before verifying) is refused:
//! let mut tampered = raw_body.to_vec();
//! tampered.push(b' ');
//! assert!(verify_notification(&path, &headers, &tampered, &wallet_key, Duration::from_secs(300)).is_err());
//! ```
//!
//! AlphaPay notifications are signed differently (headers `Signature`, `Merchant-Code`,
//! `Request-Time`, `Nonce`; content `POST <path>\n<Merchant-Code>.<Request-Time>.<Nonce>.<body>`):
//! verify them with [`verify_alphapay_notification`] or [`NotificationVerifier::verify_alphapay`].

use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use http::HeaderMap;
use walletd_protocol::alphapay::{PaymentView, RefundView};
use walletd_protocol::content;
use walletd_protocol::crypto::PublicKey;
use walletd_protocol::miniprogram::{notification_ack, NotifyPaymentV1, NotifyPaymentV2};
use walletd_protocol::signature::SignatureHeader;
use walletd_protocol::time::{self, TimeError};

/// Why a notification was refused. Answer it with an error status; the wallet sends it again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotificationError {
    /// A required header is absent or not text.
    #[error("the {0} header is missing")]
    MissingHeader(&'static str),
    /// The `signature` header cannot be read.
    #[error("the signature header is malformed: {0}")]
    MalformedSignature(String),
    /// The signature does not verify over the content.
    #[error("the signature does not verify with the wallet's key over {content:?}")]
    BadSignature {
        /// The content that was checked, with visible newlines.
        content: String,
    },
    /// The notification is for another client.
    #[error("the notification is for client {found:?}, not {expected:?}")]
    WrongClient { expected: String, found: String },
    /// The `request-time` is unreadable or outside the tolerance.
    #[error("request-time: {0}")]
    Time(#[from] TimeError),
}

/// The payment a notification is about.
#[derive(Debug, Clone, PartialEq)]
pub enum PaymentNotification {
    /// v1: `paymentStatus` SUCCESS or FAIL.
    V1(NotifyPaymentV1),
    /// v2: `paymentResult` S/SUCCESS or F/….
    V2(NotifyPaymentV2),
    /// A signed body of another shape (kept whole, so nothing is lost).
    Other(serde_json::Value),
}

impl PaymentNotification {
    /// Reads a notification body: v2 if it has `paymentResult`, v1 if it has `paymentStatus`.
    pub fn from_body(body: &[u8]) -> PaymentNotification {
        let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
            return PaymentNotification::Other(serde_json::Value::String(
                String::from_utf8_lossy(body).into_owned(),
            ));
        };
        if value.get("paymentResult").is_some() {
            if let Ok(n) = serde_json::from_value(value.clone()) {
                return PaymentNotification::V2(n);
            }
        } else if value.get("paymentStatus").is_some() {
            if let Ok(n) = serde_json::from_value(value.clone()) {
                return PaymentNotification::V1(n);
            }
        }
        PaymentNotification::Other(value)
    }

    /// The merchant's `paymentRequestId`, if the body names one.
    pub fn payment_request_id(&self) -> Option<&str> {
        match self {
            PaymentNotification::V1(n) => Some(&n.payment_request_id),
            PaymentNotification::V2(n) => Some(&n.payment_request_id),
            PaymentNotification::Other(v) => v.get("paymentRequestId").and_then(|v| v.as_str()),
        }
    }

    /// True when the payment succeeded (v1 `SUCCESS`, v2 result status `S`).
    pub fn is_success(&self) -> bool {
        match self {
            PaymentNotification::V1(n) => n.payment_status == "SUCCESS",
            PaymentNotification::V2(n) => n.payment_result.result_status == "S",
            PaymentNotification::Other(_) => false,
        }
    }
}

/// A notification whose signature verified.
#[derive(Debug, Clone)]
pub struct Notification {
    /// The path it was signed for.
    pub path: String,
    pub client_id: String,
    pub request_time: String,
    /// The raw body, exactly as signed.
    pub body: Bytes,
    /// The body, read.
    pub payment: PaymentNotification,
}

/// Checks notifications for one merchant: the wallet's key, the merchant's own client id, and how
/// far `request-time` may be from this machine's clock.
#[derive(Debug, Clone)]
pub struct NotificationVerifier {
    wallet_key: PublicKey,
    client_id: Option<String>,
    tolerance: Duration,
}

impl NotificationVerifier {
    /// Verifies with `wallet_key`; `request-time` may be `tolerance` away from now either way.
    pub fn new(wallet_key: PublicKey, tolerance: Duration) -> Self {
        NotificationVerifier {
            wallet_key,
            client_id: None,
            tolerance,
        }
    }

    /// Also requires the notification's `client-id` to be this one (recommended: the wallet signs
    /// every merchant's notifications with the same key). For AlphaPay notifications
    /// ([`verify_alphapay`](Self::verify_alphapay)) this is the `Merchant-Code`.
    pub fn for_client(mut self, client_id: &str) -> Self {
        self.client_id = Some(client_id.to_owned());
        self
    }

    /// Verifies a notification received at `path` (the path the wallet addressed, as in the
    /// `paymentNotifyUrl`, with its query string if it had one).
    pub fn verify(
        &self,
        path: &str,
        headers: &HeaderMap,
        raw_body: &[u8],
    ) -> Result<Notification, NotificationError> {
        self.verify_at(path, headers, raw_body, Utc::now())
    }

    /// [`verify`](Self::verify) against a given clock reading.
    pub fn verify_at(
        &self,
        path: &str,
        headers: &HeaderMap,
        raw_body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Notification, NotificationError> {
        let get = |name: &'static str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .ok_or(NotificationError::MissingHeader(name))
        };
        let signature = get("signature")?;
        let client_id = get("client-id")?;
        let request_time = get("request-time")?;
        let parsed = SignatureHeader::parse(signature)
            .map_err(|e| NotificationError::MalformedSignature(e.to_string()))?;
        let signed = content::mini_program("POST", path, client_id, request_time, raw_body);
        if self.wallet_key.verify(&signed, &parsed.signature).is_err() {
            return Err(NotificationError::BadSignature {
                content: content::render_visible(&signed),
            });
        }
        if let Some(expected) = &self.client_id {
            if expected != client_id {
                return Err(NotificationError::WrongClient {
                    expected: expected.clone(),
                    found: client_id.to_owned(),
                });
            }
        }
        let at = time::parse_request_time(request_time)?;
        time::check_window(at, now, self.tolerance.as_secs())?;
        Ok(Notification {
            path: path.to_owned(),
            client_id: client_id.to_owned(),
            request_time: request_time.to_owned(),
            body: Bytes::copy_from_slice(raw_body),
            payment: PaymentNotification::from_body(raw_body),
        })
    }
}

/// Verifies a notification received at `path` with `headers` and `raw_body`, signed by
/// `wallet_key`, whose `request-time` is within `tolerance` of now. See [`NotificationVerifier`]
/// to also pin the client id.
pub fn verify_notification(
    path: &str,
    headers: &HeaderMap,
    raw_body: &[u8],
    wallet_key: &PublicKey,
    tolerance: Duration,
) -> Result<Notification, NotificationError> {
    NotificationVerifier::new(wallet_key.clone(), tolerance).verify(path, headers, raw_body)
}

// ---- AlphaPay notifications ----

/// What an AlphaPay notification is about: its body is the matching inquiry answer without its
/// `result` (docs/alphapay.md).
#[derive(Debug, Clone, PartialEq)]
pub enum AlphaPayNotice {
    /// A payment (walletd notifies successful payments: `paymentStatus` `SUCCESS`).
    Payment(Box<PaymentView>),
    /// A refund (walletd notifies successful refunds).
    Refund(Box<RefundView>),
    /// A signed body of another shape (kept whole, so nothing is lost).
    Other(serde_json::Value),
}

impl AlphaPayNotice {
    /// Reads a notification body: a refund if it has `refundId`, a payment if it has
    /// `paymentStatus`.
    pub fn from_body(body: &[u8]) -> AlphaPayNotice {
        let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
            return AlphaPayNotice::Other(serde_json::Value::String(
                String::from_utf8_lossy(body).into_owned(),
            ));
        };
        if value.get("refundId").is_some() {
            if let Ok(r) = serde_json::from_value(value.clone()) {
                return AlphaPayNotice::Refund(Box::new(r));
            }
        } else if value.get("paymentStatus").is_some() {
            if let Ok(p) = serde_json::from_value(value.clone()) {
                return AlphaPayNotice::Payment(Box::new(p));
            }
        }
        AlphaPayNotice::Other(value)
    }
}

/// An AlphaPay notification whose signature verified.
#[derive(Debug, Clone)]
pub struct AlphaPayNotification {
    /// The path it was signed for.
    pub path: String,
    pub merchant_code: String,
    pub request_time: String,
    /// The notification's nonce. Keep the nonces of the last `tolerance` if you want to refuse a
    /// replayed notification; handling each one idempotently is enough for correctness.
    pub nonce: String,
    /// The raw body, exactly as signed.
    pub body: Bytes,
    /// The body, read.
    pub notice: AlphaPayNotice,
}

impl NotificationVerifier {
    /// Verifies an AlphaPay notification received at `path` (the path of the `notifyUrl`, with
    /// its query string if it had one): headers `Signature`, `Merchant-Code`, `Request-Time` and
    /// `Nonce`, signed over `POST <path>\n<Merchant-Code>.<Request-Time>.<Nonce>.<raw body>`.
    pub fn verify_alphapay(
        &self,
        path: &str,
        headers: &HeaderMap,
        raw_body: &[u8],
    ) -> Result<AlphaPayNotification, NotificationError> {
        self.verify_alphapay_at(path, headers, raw_body, Utc::now())
    }

    /// [`verify_alphapay`](Self::verify_alphapay) against a given clock reading.
    pub fn verify_alphapay_at(
        &self,
        path: &str,
        headers: &HeaderMap,
        raw_body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<AlphaPayNotification, NotificationError> {
        let get = |name: &'static str| header(headers, name);
        let signature = get("signature")?;
        let merchant_code = get("merchant-code")?;
        let request_time = get("request-time")?;
        let nonce = get("nonce")?;
        let parsed = SignatureHeader::parse(signature)
            .map_err(|e| NotificationError::MalformedSignature(e.to_string()))?;
        let signed = content::alphapay("POST", path, merchant_code, request_time, nonce, raw_body);
        if self.wallet_key.verify(&signed, &parsed.signature).is_err() {
            return Err(NotificationError::BadSignature {
                content: content::render_visible(&signed),
            });
        }
        if let Some(expected) = &self.client_id {
            if expected != merchant_code {
                return Err(NotificationError::WrongClient {
                    expected: expected.clone(),
                    found: merchant_code.to_owned(),
                });
            }
        }
        let at = time::parse_request_time(request_time)?;
        time::check_window(at, now, self.tolerance.as_secs())?;
        Ok(AlphaPayNotification {
            path: path.to_owned(),
            merchant_code: merchant_code.to_owned(),
            request_time: request_time.to_owned(),
            nonce: nonce.to_owned(),
            body: Bytes::copy_from_slice(raw_body),
            notice: AlphaPayNotice::from_body(raw_body),
        })
    }
}

/// A header's value, trimmed, or [`NotificationError::MissingHeader`].
fn header<'h>(headers: &'h HeaderMap, name: &'static str) -> Result<&'h str, NotificationError> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or(NotificationError::MissingHeader(name))
}

/// Verifies an AlphaPay notification received at `path` with `headers` and `raw_body`, signed by
/// `wallet_key`, whose `Request-Time` is within `tolerance` of now. See [`NotificationVerifier`]
/// to also pin the merchant code.
///
/// ```
/// # #[path = "../tests/support/doc_wallet.rs"] mod doc_wallet;
/// # let (wallet_key, path, headers, raw_body) = doc_wallet::signed_alphapay_notification("SDKM01");
/// use std::time::Duration;
/// use walletd_client::notification::{verify_alphapay_notification, AlphaPayNotice};
///
/// // `path` (with its query string), `headers` and `raw_body` as your web framework received them.
/// let n = verify_alphapay_notification(&path, &headers, &raw_body, &wallet_key, Duration::from_secs(300))
///     .expect("a genuine notification");
/// assert_eq!(n.merchant_code, "SDKM01");
/// match &n.notice {
///     AlphaPayNotice::Payment(p) => println!("{} is {}", p.payment_request_id, p.payment_status),
///     AlphaPayNotice::Refund(r) => println!("refund {} is {}", r.refund_id, r.refund_status),
///     AlphaPayNotice::Other(v) => println!("something else: {v}"),
/// }
/// // Any 2xx answer acknowledges it.
///
/// let mut tampered = raw_body.to_vec();
/// tampered.push(b' ');
/// assert!(verify_alphapay_notification(&path, &headers, &tampered, &wallet_key, Duration::from_secs(300)).is_err());
/// ```
pub fn verify_alphapay_notification(
    path: &str,
    headers: &HeaderMap,
    raw_body: &[u8],
    wallet_key: &PublicKey,
    tolerance: Duration,
) -> Result<AlphaPayNotification, NotificationError> {
    NotificationVerifier::new(wallet_key.clone(), tolerance).verify_alphapay(path, headers, raw_body)
}

/// The acknowledgement body: `{"result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success"}}`.
/// Send it with HTTP 200 once the notification is handled.
pub fn ack_body() -> Vec<u8> {
    serde_json::to_vec(&notification_ack()).unwrap_or_else(|_| {
        br#"{"result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success"}}"#.to_vec()
    })
}

/// A body that makes the wallet try again later (`U`), with a reason for its log.
pub fn retry_body(code: &str, message: &str) -> Vec<u8> {
    serde_json::json!({"result": {"resultCode": code, "resultStatus": "U", "resultMessage": message}})
        .to_string()
        .into_bytes()
}
