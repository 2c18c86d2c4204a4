#![doc = include_str!("../README.md")]
//!
//! ## The parts
//!
//! - [`MiniProgramClient`] speaks the Mini Program OpenAPI (v1 and v2). It signs every request with
//!   the merchant's key and verifies every answer with the wallet's public key before looking at
//!   it: an unsigned or badly signed answer is an error ([`ClientError::Signature`]), never a
//!   result. The raw answer body is kept for the caller ([`Verified::body`]).
//! - [`RetryPolicy`] and the `*_with_retry` methods do the right thing when the outcome is unknown:
//!   they re-send with the same request id after a transport error, and on `U` (for example
//!   `PAYMENT_IN_PROCESS`) they poll the inquiry API (every 5 s for up to a minute by default)
//!   until the answer is final, or say plainly that it is [still unknown](PaymentOutcome::StillUnknown).
//! - [`notification`] verifies the wallet's signed `notifyPayment` callbacks (and AlphaPay's, with
//!   [`verify_alphapay_notification`]) and gives the acknowledgement body; with the `axum`
//!   feature, the module `axum_handler` is a ready endpoint.
//! - [`AlphaPayClient`] speaks the AlphaPay Open API, [`StoreClient`] the store API (`api.php`).
//! - [`diagnose`] explains why a signature does not verify (what `walletd explain` prints).
//!
//! ## Pay, inquire, refund against a wallet
//!
//! ```no_run
//! use walletd_client::{MiniProgramClient, PaymentOutcome, RefundOutcome};
//! use walletd_protocol::crypto::{PrivateKey, PublicKey};
//! use walletd_protocol::miniprogram::{PayRequestV2, PaymentLookupRequest, RefundRequest};
//! use walletd_protocol::{Amount, Currency};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let key = PrivateKey::from_text(&std::fs::read_to_string("private_key.pem")?)?;
//!     let wallet_key = PublicKey::from_text(&std::fs::read_to_string("wallet_public_key.pem")?)?;
//!     let client = MiniProgramClient::new("http://127.0.0.1:8080", "merchant-1", key, wallet_key);
//!     let usd = Currency::from_code("USD").ok_or("unknown currency")?;
//!
//!     // 1. Ask for 12.50 USD. The wallet accepts and sends the user to its cashier page. On a
//!     //    lost answer or `U` the same request id is re-sent, then the payment is inquired.
//!     let pay = PayRequestV2::cashier("app-1", "pay-1001", Amount::from_minor(usd, 1250)?,
//!         "order-1001", "Two cups of tea");
//!     let payment_id = match client.pay_v2_with_retry(&pay).await? {
//!         PaymentOutcome::Accepted(answer) => {
//!             let cashier = answer.redirect_action_form.map(|f| f.redirect_url).unwrap_or_default();
//!             println!("send the user to {cashier}");
//!             answer.payment_id.unwrap_or_default()
//!         }
//!         PaymentOutcome::Paid { payment_id, .. } => payment_id.unwrap_or_default(),
//!         PaymentOutcome::Failed { reason, .. } => return Err(reason.into()),
//!         // Neither paid nor failed: keep the order open and inquire later with the same id.
//!         PaymentOutcome::StillUnknown { last_problem, .. } => return Err(last_problem.into()),
//!     };
//!
//!     // 2. Later (or when the notification arrives): how did it go?
//!     let inquiry = client.inquiry_payment("v2", &PaymentLookupRequest::by_payment_id(&payment_id)).await?;
//!     println!("the payment is {:?}", inquiry.payment_status);
//!
//!     // 3. Give 2.50 USD back; re-sending the same refund request id never refunds twice.
//!     let refund = RefundRequest::new(payment_id, "refund-1001-1", Amount::from_minor(usd, 250)?)
//!         .with_reason("one cup was cold");
//!     if let RefundOutcome::Refunded { refund_id, .. } = client.refund_with_retry("v2", &refund).await? {
//!         println!("refunded as {refund_id}");
//!     }
//!     Ok(())
//! }
//! ```
// An unwrap is a panic waiting for unexpected input: outside tests, say what failed instead.
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod alphapay;
pub mod diagnose;
pub mod miniprogram;
pub mod notification;
pub mod retry;
pub mod store;
pub mod testing;

#[cfg(feature = "axum")]
pub mod axum_handler;

pub use alphapay::AlphaPayClient;
pub use miniprogram::{Exchange, MiniProgramClient, RequestOptions, SignedRequest, Verified};
pub use notification::{verify_alphapay_notification, AlphaPayNotification};
pub use notification::{verify_notification, Notification, NotificationError, NotificationVerifier};
pub use retry::{PaymentOutcome, RefundOutcome, RetryPolicy};
pub use store::StoreClient;

use walletd_protocol::result::WireResult;
use walletd_protocol::{ResultCode, ResultStatus};

/// Why a call did not give a usable answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The request did not reach the wallet, or no answer came back.
    #[error("transport: {0}")]
    Transport(#[from] reqwest::Error),
    /// The answer is not signed by the wallet, or not for this request.
    #[error("the answer's signature is not valid: {0}")]
    Signature(String),
    /// The answer is authentic but not what the API describes.
    #[error("the answer cannot be read: {0}")]
    Decode(String),
    /// The wallet answered F (failed) or U (unknown) with this result.
    #[error("the wallet answered {}/{}: {}", .0.result.result_status, .0.result.result_code, .0.result.result_message)]
    Wallet(Box<WalletAnswer>),
    /// Something answered with an HTTP error status and no signature (a gateway or proxy in
    /// between, or the wrong address). Nothing in it can be trusted; like a transport error, the
    /// request may or may not have reached the wallet.
    #[error("HTTP status {status} without a signature (not an answer of the wallet)")]
    HttpStatus {
        status: u16,
        /// The body as received, for the log.
        body: bytes::Bytes,
    },
    /// The store API answered `{"error": …, "error_long": …}`.
    #[error("the store API answered {error}: {error_long}")]
    Store { error: String, error_long: String },
    /// A local problem (key, configuration, a request that cannot be serialised).
    #[error("{0}")]
    Local(String),
}

/// An authentic F or U answer.
#[derive(Debug, Clone)]
pub struct WalletAnswer {
    pub result: WireResult,
    /// The whole answer body as the wallet sent it.
    pub raw_body: bytes::Bytes,
}

impl WalletAnswer {
    /// The typed code, if known.
    pub fn code(&self) -> Option<ResultCode> {
        self.result.code()
    }

    /// The typed status, if one of S/F/U/A.
    pub fn status(&self) -> Option<ResultStatus> {
        self.result.status()
    }
}

impl ClientError {
    /// The wallet's result code, when the wallet answered F or U.
    pub fn result_code(&self) -> Option<ResultCode> {
        match self {
            ClientError::Wallet(a) => a.code(),
            _ => None,
        }
    }

    /// The wallet's result status, when the wallet answered F or U.
    pub fn result_status(&self) -> Option<ResultStatus> {
        match self {
            ClientError::Wallet(a) => a.status(),
            _ => None,
        }
    }

    /// True when the request may not have reached the wallet or its answer was lost: re-sending
    /// the same request (same request id) is the right reaction.
    pub fn is_transport(&self) -> bool {
        match self {
            ClientError::Transport(_) => true,
            ClientError::HttpStatus { status, .. } => *status >= 500 || *status == 408 || *status == 429,
            _ => false,
        }
    }
}
