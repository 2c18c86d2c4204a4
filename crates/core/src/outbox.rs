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
    /// The request as sent: headers and body (absent for attempts recorded before walletd kept
    /// them, and for a notification that could not be sent at all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent: Option<SentRequest>,
}

/// How much of a sent body an attempt keeps.
pub const SENT_BODY_MAX_BYTES: usize = 64 * 1024;

/// The request the notifier sent on one attempt, as the merchant received it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentRequest {
    pub method: String,
    pub url: String,
    /// The headers walletd set (the HTTP client adds `host` and `content-length`), in order.
    pub headers: Vec<(String, String)>,
    /// The body as text, at most [`SENT_BODY_MAX_BYTES`] bytes (cut at a character boundary).
    pub body: String,
    /// The body was longer than what is kept.
    #[serde(default)]
    pub body_truncated: bool,
}

impl SentRequest {
    /// Records a POST of `body` with `headers` to `url`, keeping at most
    /// [`SENT_BODY_MAX_BYTES`] of the body.
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
