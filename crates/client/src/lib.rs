//! The merchant SDK for walletd (and any wallet speaking the same signed OpenAPI).
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
//!   feature, [`axum_handler`] is a ready endpoint.
//! - [`AlphaPayClient`] speaks the AlphaPay Open API, [`StoreClient`] the store API (`api.php`).
//! - [`diagnose`] explains why a signature does not verify (what `walletd explain` prints).
//!
//! # Pay, inquire, refund
//!
//! ```
//! # #[path = "../tests/support/doc_wallet.rs"] mod doc_wallet;
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! # let wallet = doc_wallet::DocWallet::start().await;
//! # let (base_url, client_id, merchant_key, wallet_public_key) = wallet.merchant();
//! use walletd_client::{MiniProgramClient, PaymentOutcome, RefundOutcome};
//! use walletd_protocol::amount::WireAmount;
//! use walletd_protocol::miniprogram::{PayRequestV2, PaymentLookupRequest, RefundRequest};
//!
//! let client = MiniProgramClient::new(&base_url, &client_id, merchant_key, wallet_public_key);
//!
//! // 1. Ask for 12.50 USD. The wallet accepts and sends the user to its cashier page.
//! let pay = PayRequestV2 {
//!     app_id: "app-1".into(),
//!     product_code: None,
//!     sales_code: None,
//!     payment_request_id: "order-1001".into(),
//!     payment_amount: WireAmount { currency: "USD".into(), value: "1250".into() },
//!     order: None,
//!     payment_method: None,
//!     payment_factor: None,
//!     payment_auth_code: None,
//!     payment_expiry_time: None,
//!     payment_redirect_url: None,
//!     payment_notify_url: None,
//!     void_notify_url: None,
//!     extend_info: None,
//! };
//! let outcome = client.pay_v2_with_retry(&pay).await?;
//! let PaymentOutcome::Accepted(accepted) = outcome else { panic!("expected A: {outcome:?}") };
//! let payment_id = accepted.payment_id.clone().unwrap();
//! let cashier = accepted.redirect_action_form.unwrap().redirect_url;
//! println!("send the user to {cashier}");
//! # wallet.user_pays(&payment_id).await;
//!
//! // 2. Later (or when the notification arrives): how did it go?
//! let lookup = PaymentLookupRequest { payment_id: Some(payment_id.clone()), ..Default::default() };
//! let inquiry = client.inquiry_payment("v2", &lookup).await?;
//! assert_eq!(inquiry.payment_status.as_deref(), Some("SUCCESS"));
//!
//! // 3. Give 2.50 USD back.
//! let refund = RefundRequest {
//!     partner_id: None,
//!     refund_request_id: "refund-1001-1".into(),
//!     payment_id: Some(payment_id),
//!     payment_request_id: None,
//!     refund_amount: WireAmount { currency: "USD".into(), value: "250".into() },
//!     refund_reason: Some("one cup was cold".into()),
//!     extend_info: None,
//! };
//! let RefundOutcome::Refunded { refund_id, .. } = client.refund_with_retry("v2", &refund).await? else {
//!     panic!("the refund did not succeed")
//! };
//! println!("refunded as {refund_id}");
//! # Ok::<(), walletd_client::ClientError>(())
//! # }).unwrap();
//! ```

pub mod alphapay;
pub mod diagnose;
pub mod miniprogram;
pub mod notification;
pub mod retry;
pub mod store;

#[cfg(feature = "axum")]
pub mod axum_handler;

pub use alphapay::AlphaPayClient;
pub use miniprogram::{Exchange, MiniProgramClient, RequestOptions, Verified};
pub use notification::{verify_alphapay_notification, AlphaPayNotification}; // issue 8: AlphaPay notifications
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
