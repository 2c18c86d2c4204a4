//! Claimed idempotency keys as stored, with the first outcome a repeat replays.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The recorded first outcome of a keyed request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StoredOutcome {
    /// The request was refused; a repeat gets the same refusal.
    Rejected { code: String, message: String },
    /// The request created this payment; a repeat reports the payment as it is now.
    Payment { payment_id: String },
    /// The answer was U (unknown) although the payment exists; a repeat reports the payment.
    UnknownPayment {
        payment_id: String,
        code: String,
        message: String,
    },
    /// The request created this refund.
    Refund { refund_id: String },
    /// The request made this capture.
    Capture { capture_id: String },
}

/// One claimed key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    /// `pay`, `refund`, `capture`, …
    pub scope: String,
    pub client_id: String,
    pub key: String,
    pub fingerprint: String,
    pub outcome: StoredOutcome,
    pub created_at: DateTime<Utc>,
}
