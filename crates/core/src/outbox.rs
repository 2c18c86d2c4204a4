//! The notification outbox: a row per notification, written in the same transaction as the state
//! it reports, sent later by the notifier with retries. Nothing is "sent later" from memory.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a notification reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxKind {
    /// A payment reached SUCCESS or FAIL.
    PaymentResult,
    /// A refund succeeded.
    RefundResult,
}

/// Where a notification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OutboxStatus {
    Pending,
    Delivered,
    Failed,
}

impl OutboxStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxStatus::Pending => "PENDING",
            OutboxStatus::Delivered => "DELIVERED",
            OutboxStatus::Failed => "FAILED",
        }
    }
}

/// One delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    pub at: DateTime<Utc>,
    pub http_status: Option<u16>,
    pub latency_ms: u64,
    /// The start of the answer (at most 512 characters) or the transport error.
    pub answer: String,
    pub delivered: bool,
    /// The request as sent: its headers and (the start of) its body, so that an operator sees
    /// exactly what the merchant got. `None` when nothing was sent (the target was refused) and
    /// in attempts recorded before walletd kept it.
    #[serde(default)]
    pub sent: Option<SentRequest>,
}

/// The most body bytes an attempt keeps of what it sent; a longer body is cut there (on a
/// character boundary) and `body_truncated` says so.
pub const SENT_BODY_MAX_BYTES: usize = 16 * 1024;
/// The most headers an attempt keeps.
pub const SENT_HEADERS_MAX: usize = 32;

/// What one delivery attempt sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentRequest {
    pub headers: Vec<(String, String)>,
    pub body: String,
    #[serde(default)]
    pub body_truncated: bool,
}

impl SentRequest {
    /// Keeps `headers` and `body` within [`SENT_HEADERS_MAX`] and [`SENT_BODY_MAX_BYTES`].
    pub fn new(headers: Vec<(String, String)>, body: &[u8]) -> SentRequest {
        let text = String::from_utf8_lossy(body);
        let mut cut = text.len().min(SENT_BODY_MAX_BYTES);
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        SentRequest {
            headers: headers.into_iter().take(SENT_HEADERS_MAX).collect(),
            body_truncated: cut < text.len(),
            body: text[..cut].to_owned(),
        }
    }
}

/// A notification to deliver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// The notification id; a re-delivery carries the same id.
    pub id: String,
    pub client_id: String,
    pub kind: OutboxKind,
    /// `payment_id` or `refund_id` this is about.
    pub subject_id: String,
    pub url: String,
    /// A snapshot of the record at the moment of the state change (the dialect renders it).
    pub snapshot: serde_json::Value,
    pub status: OutboxStatus,
    pub attempts: Vec<Attempt>,
    pub next_attempt_at: DateTime<Utc>,
    pub lease_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sent_request_keeps_at_most_its_bounds_and_says_when_it_cut() {
        let small = SentRequest::new(vec![("signature".into(), "s".into())], b"{\"a\":1}");
        assert_eq!(small.body, "{\"a\":1}");
        assert!(!small.body_truncated);
        let headers = (0..100).map(|i| (format!("h{i}"), "v".to_owned())).collect();
        // A multi-byte character straddles the cut: the cut moves before it.
        let mut body = "x".repeat(SENT_BODY_MAX_BYTES - 1).into_bytes();
        body.extend_from_slice("é and more".as_bytes());
        let big = SentRequest::new(headers, &body);
        assert_eq!(big.headers.len(), SENT_HEADERS_MAX);
        assert!(big.body_truncated);
        assert_eq!(big.body.len(), SENT_BODY_MAX_BYTES - 1);
    }
}
