//! Captures of authorizations as stored, and the capture request.

use crate::model::ledger::TransferId;
use crate::model::payments::Payment;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use walletd_protocol::{Amount, Currency, PositiveAmount, ResultCode};

/// One capture as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capture {
    pub capture_id: String,
    pub client_id: String,
    pub capture_request_id: String,
    pub payment_id: String,
    /// 1 for the first capture of an authorization, 2 for the second, …
    pub number: u32,
    pub currency: Currency,
    pub amount_minor: i64,
    /// This capture closed the authorization.
    pub is_last: bool,
    /// The post transfer that moved the money.
    pub transfer_id: Option<TransferId>,
    pub created_at: DateTime<Utc>,
}

impl Capture {
    pub fn amount(&self) -> Amount {
        Amount::from_minor(self.currency, self.amount_minor).unwrap_or_else(|_| Amount::zero(self.currency))
    }
}

/// A capture request, after the dialect checked its shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureCommand {
    pub client_id: String,
    /// v1 `partnerId`, when sent.
    pub partner_id: Option<String>,
    pub capture_request_id: String,
    /// The authorization (its payment id).
    pub payment_id: String,
    /// `None`: everything still held.
    pub amount: Option<PositiveAmount>,
    /// `isLastCapture` (default true): release whatever this capture leaves.
    pub is_last: bool,
}

/// What a capture request came to.
#[derive(Debug, Clone, PartialEq, Eq)]
// Made once per request and moved to the dialect, never kept in bulk: boxing buys nothing.
#[allow(clippy::large_enum_variant)]
pub enum CaptureOutcome {
    Captured {
        capture: Capture,
        payment: Payment,
    },
    Rejected {
        code: ResultCode,
        message: String,
    },
    /// The capture was made but the answer says U (a sandbox outcome, `crate::sandbox`): a repeat
    /// of the request, or an inquiry of the payment, reports it as it stands.
    Unknown {
        code: ResultCode,
        message: String,
        capture: Capture,
        payment: Payment,
    },
}
