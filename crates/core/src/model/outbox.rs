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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent: Option<SentRequest>,
}

/// The most body bytes an attempt keeps of what it sent; a longer body is cut there (on a
/// character boundary) and `body_truncated` says so. Notification bodies are a few hundred bytes.
pub const SENT_BODY_MAX_BYTES: usize = 16 * 1024;
/// The most headers an attempt keeps.
pub const SENT_HEADERS_MAX: usize = 32;

/// The request the notifier sent on one attempt, as the merchant received it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentRequest {
    #[serde(default)]
    pub method: String,
    #[serde(default)]
    pub url: String,
    /// The headers walletd set (the HTTP client adds `host` and `content-length`), in order, at
    /// most [`SENT_HEADERS_MAX`].
    pub headers: Vec<(String, String)>,
    /// The body as text, at most [`SENT_BODY_MAX_BYTES`] bytes.
    pub body: String,
    /// The body was longer than what is kept.
    #[serde(default)]
    pub body_truncated: bool,
}

impl SentRequest {
    /// Records a POST of `body` with `headers` to `url`, within [`SENT_HEADERS_MAX`] and
    /// [`SENT_BODY_MAX_BYTES`].
    pub fn post(url: &str, headers: &[(&str, String)], body: &[u8]) -> SentRequest {
        let text = String::from_utf8_lossy(body);
        let mut end = text.len().min(SENT_BODY_MAX_BYTES);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        SentRequest {
            method: "POST".into(),
            url: url.to_owned(),
            headers: headers
                .iter()
                .take(SENT_HEADERS_MAX)
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
            body: text[..end].to_owned(),
            body_truncated: end < text.len(),
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
        let small = SentRequest::post("https://m.example/n", &[("signature", "s".into())], b"{\"a\":1}");
        assert_eq!(small.body, "{\"a\":1}");
        assert!(!small.body_truncated);
        let names: Vec<String> = (0..100).map(|i| format!("h{i}")).collect();
        let headers: Vec<(&str, String)> = names.iter().map(|n| (n.as_str(), "v".to_owned())).collect();
        // A multi-byte character straddles the cut: the cut moves before it.
        let mut body = "x".repeat(SENT_BODY_MAX_BYTES - 1).into_bytes();
        body.extend_from_slice("é and more".as_bytes());
        let big = SentRequest::post("https://m.example/n", &headers, &body);
        assert_eq!(big.headers.len(), SENT_HEADERS_MAX);
        assert!(big.body_truncated);
        assert_eq!(big.body.len(), SENT_BODY_MAX_BYTES - 1);
    }
}
