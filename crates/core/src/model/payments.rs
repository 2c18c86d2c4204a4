//! Payments as stored, and the requests that create and name them.

use crate::model::ledger::TransferId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use walletd_protocol::{Amount, Currency, PositiveAmount, ResultCode};

/// Which dialect (and version) created a payment; it decides the shape of its notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    MiniProgramV1,
    MiniProgramV2,
    AlphaPay,
    Store,
}

impl Channel {
    /// Whether this dialect tells the merchant about a payment that reached `status`: the Mini
    /// Program notifies SUCCESS and FAIL (docs/mini-program.md §15); AlphaPay only a success
    /// (docs/alphapay.md).
    pub fn notifies(self, status: PaymentStatus) -> bool {
        match self {
            Channel::AlphaPay => status == PaymentStatus::Success,
            _ => matches!(status, PaymentStatus::Success | PaymentStatus::Fail),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::MiniProgramV1 => "mini_program_v1",
            Channel::MiniProgramV2 => "mini_program_v2",
            Channel::AlphaPay => "alphapay",
            Channel::Store => "store",
        }
    }
}

/// How the payer approves the payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scenario {
    /// The user pays on the wallet's cashier page.
    Cashier,
    // ---- synchronous scenarios ----
    /// The merchant charges with an access token carrying `AGREEMENT_PAY` (`isAgreementPay`,
    /// `AGREEMENT_PAYMENT`): S or F at once, no cashier, no notification.
    Agreement,
    /// The merchant submits the one-time code the user's app shows (`isPaymentCode`,
    /// `IN_STORE_PAYMENT`): S or F at once, no cashier, no notification.
    PaymentCode,
}

impl Scenario {
    /// The scenario's name in idempotency fingerprints. Written out rather than derived from the
    /// variant's name, so that renaming a variant never changes a stored fingerprint (a retry after
    /// an upgrade would otherwise be refused as inconsistent).
    pub fn fingerprint_name(self) -> &'static str {
        match self {
            Scenario::Cashier => "Cashier",
            Scenario::Agreement => "Agreement",
            Scenario::PaymentCode => "PaymentCode",
        }
    }

    /// True when the answer to pay is final (S or F) and no notification is sent (docs/mini-program.md §15).
    pub fn is_synchronous(self) -> bool {
        matches!(self, Scenario::Agreement | Scenario::PaymentCode)
    }
}

/// How an authorization ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthClosure {
    /// A capture with `isLastCapture` (or one that took everything left).
    LastCapture,
    /// The merchant cancelled; the rest of the hold was released.
    Cancelled,
    /// The authorization expired; the rest of the hold was released.
    Expired,
}

/// The life-cycle state, as inquiryPayment reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentStatus {
    Processing,
    Success,
    Fail,
    Cancelled,
}

impl PaymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Processing => "PROCESSING",
            PaymentStatus::Success => "SUCCESS",
            PaymentStatus::Fail => "FAIL",
            PaymentStatus::Cancelled => "CANCELLED",
        }
    }

    /// True once the payment can no longer change (refunds aside).
    pub fn is_final(self) -> bool {
        self != PaymentStatus::Processing
    }
}

/// A payment as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    pub payment_id: String,
    pub client_id: String,
    pub payment_request_id: String,
    pub channel: Channel,
    pub scenario: Scenario,
    pub currency: Currency,
    pub amount_minor: i64,
    /// Sum of successful refunds, minor units.
    pub refunded_minor: i64,
    pub status: PaymentStatus,
    pub payer_user_id: Option<String>,
    pub hold_transfer_id: Option<TransferId>,
    pub settle_transfer_id: Option<TransferId>,
    pub order_title: String,
    pub reference_order_id: Option<String>,
    pub merchant_display_name: Option<String>,
    pub partner_id: Option<String>,
    pub app_id: Option<String>,
    pub notify_url: Option<String>,
    pub return_url: Option<String>,
    pub extend_info: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub fail_reason: Option<String>,
    // ---- authorization and capture ----
    /// `isAuthorizationPayment`: the funds are held and the merchant captures them later.
    #[serde(default)]
    pub authorization: bool,
    /// When the user's funds became held for this authorization.
    #[serde(default)]
    pub authorized_at: Option<DateTime<Utc>>,
    /// When the hold of an authorization runs out (`authExpiryTime`).
    #[serde(default)]
    pub auth_expires_at: Option<DateTime<Utc>>,
    /// Sum of captures, minor units.
    #[serde(default)]
    pub captured_minor: i64,
    #[serde(default)]
    pub auth_closed_by: Option<AuthClosure>,
}

impl Payment {
    /// What the merchant actually took: the amount, or for an authorization what was captured.
    pub fn paid_minor(&self) -> i64 {
        if self.authorization {
            self.captured_minor
        } else {
            self.amount_minor
        }
    }

    /// For an open authorization: what is still held and capturable.
    pub fn uncaptured_minor(&self) -> i64 {
        if self.authorization && self.authorized_at.is_some() && self.auth_closed_by.is_none() {
            self.amount_minor.saturating_sub(self.captured_minor)
        } else {
            0
        }
    }

    /// The amount as a typed value.
    pub fn amount(&self) -> Amount {
        Amount::from_minor(self.currency, self.amount_minor).unwrap_or_else(|_| Amount::zero(self.currency))
    }

    /// What is still refundable.
    pub fn refundable_minor(&self) -> i64 {
        self.paid_minor().saturating_sub(self.refunded_minor)
    }
}

/// A request to take a payment.
#[derive(Debug, Clone)]
pub struct PayCommand {
    /// The authenticated client that sent the request.
    pub client_id: String,
    pub channel: Channel,
    /// v1 `partnerId`, checked against the client.
    pub partner_id: Option<String>,
    /// v2 `appId`, checked against the client's registered app ids.
    pub app_id: Option<String>,
    pub payment_request_id: String,
    pub amount: PositiveAmount,
    pub scenario: Scenario,
    pub order_title: String,
    pub reference_order_id: Option<String>,
    pub merchant_display_name: Option<String>,
    /// The payer, when the merchant already knows them (a `customerId` from applyToken).
    pub payer_user_id: Option<String>,
    pub expiry_time: Option<DateTime<Utc>>,
    pub return_url: Option<String>,
    pub notify_url: Option<String>,
    pub extend_info: Option<String>,
    // ---- other scenarios ----
    /// `paymentAuthCode`: the access token ([`Scenario::Agreement`]) or the user's payment code
    /// ([`Scenario::PaymentCode`]).
    pub payment_auth_code: Option<String>,
    /// `isAuthorizationPayment` and `isPaymentEvaluation`.
    pub factors: PayFactors,
}

/// Payment factors that change what a pay request does, whatever its scenario.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PayFactors {
    /// Hold the funds only; the merchant captures them later (`isAuthorizationPayment`).
    pub authorization: bool,
    /// Only answer whether the payment would succeed; nothing is stored and no money moves
    /// (`isPaymentEvaluation`). The `paymentRequestId` stays free for the real payment.
    pub evaluation: bool,
}

/// Which payment a request means: `payment_id` wins when both are given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PaymentRef {
    pub payment_id: Option<String>,
    pub payment_request_id: Option<String>,
}

/// What a pay request came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayOutcome {
    /// Waiting for the user (answer A/ACCEPT with the cashier link).
    Accepted(Payment),
    /// Paid (answer S).
    Succeeded(Payment),
    /// A repeat of a request whose payment has since failed or been cancelled.
    Closed(Payment),
    /// Refused (answer F with this code).
    Rejected { code: ResultCode, message: String },
    /// Unknown to the merchant for now (answer U); the payment may exist and resolve later.
    Unknown {
        code: ResultCode,
        message: String,
        payment: Option<Payment>,
    },
    /// `isPaymentEvaluation`: the payment would succeed (answer S without a payment id). A
    /// payment that would fail is [`PayOutcome::Rejected`] with the code it would get.
    Evaluated,
}
