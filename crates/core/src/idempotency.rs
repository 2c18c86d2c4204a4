//! Idempotency keys: `(scope, client, request id)` claimed in the same transaction as the state
//! change, with a fingerprint of the meaningful request fields.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

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
    /// The request made this capture (issue 5).
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

/// SHA-256 over the meaningful fields, joined unambiguously (length-prefixed).
pub fn fingerprint(fields: &[(&str, &str)]) -> String {
    let mut h = Sha256::new();
    for (name, value) in fields {
        for part in [name, value] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part.as_bytes());
        }
    }
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_separates_fields_unambiguously() {
        assert_ne!(fingerprint(&[("a", "bc")]), fingerprint(&[("ab", "c")]));
        assert_eq!(fingerprint(&[("a", "1")]), fingerprint(&[("a", "1")]));
        assert_ne!(fingerprint(&[("a", "1")]), fingerprint(&[("a", "2")]));
    }
}
