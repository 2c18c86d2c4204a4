//! Refunds as stored, and the requests that create and name them.

use crate::model::ledger::TransferId;
use crate::model::payments::{Channel, PaymentRef};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use walletd_protocol::{Amount, Currency, PositiveAmount, ResultCode};

/// Where a refund stands (inquiryRefund's `refundStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RefundStatus {
    Processing,
    Success,
    Fail,
}

impl RefundStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RefundStatus::Processing => "PROCESSING",
            RefundStatus::Success => "SUCCESS",
            RefundStatus::Fail => "FAIL",
        }
    }
}

/// A refund as stored. Only successful refunds are stored; refused ones live in the idempotency
/// record of their request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    pub refund_id: String,
    pub client_id: String,
    pub refund_request_id: String,
    pub payment_id: String,
    pub payment_request_id: String,
    pub channel: Channel,
    pub currency: Currency,
    pub amount_minor: i64,
    pub reason: Option<String>,
    pub status: RefundStatus,
    pub transfer_id: Option<TransferId>,
    pub notify_url: Option<String>,
    pub created_at: DateTime<Utc>,
    pub refunded_at: Option<DateTime<Utc>>,
}

impl Refund {
    pub fn amount(&self) -> Amount {
        Amount::from_minor(self.currency, self.amount_minor).unwrap_or_else(|_| Amount::zero(self.currency))
    }
}

/// A request to refund (part of) a payment.
#[derive(Debug, Clone)]
pub struct RefundCommand {
    pub client_id: String,
    pub channel: Channel,
    pub partner_id: Option<String>,
    pub refund_request_id: String,
    pub payment: PaymentRef,
    pub amount: PositiveAmount,
    pub reason: Option<String>,
    /// Where to report the refund (AlphaPay sends refund notifications; the Mini Program does not).
    pub notify_url: Option<String>,
}

/// Which refund a request means: `refund_id` wins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefundRef {
    pub refund_id: Option<String>,
    pub refund_request_id: Option<String>,
}

/// What a refund request came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundOutcome {
    Succeeded(Refund),
    Rejected {
        code: ResultCode,
        message: String,
    },
    /// The refund was made but the answer says U (a sandbox outcome, `crate::sandbox`): a repeat
    /// of the request, or an inquiry, reports it as it stands.
    Unknown {
        code: ResultCode,
        message: String,
        refund: Refund,
    },
}
