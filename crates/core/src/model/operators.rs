//! Console operators, the audit log and the payment search, as stored and asked for.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The longest audit detail kept.
pub const MAX_AUDIT_DETAIL: usize = 512;

/// A console operator.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operator {
    /// What the operator signs in with: letters, digits, `.`, `-`, `_`, `@`.
    pub name: String,
    /// argon2 PHC string of the password; never logged.
    pub password_hash: String,
    /// Wrong passwords in a row; at the configured maximum the sign-in is locked until
    /// `walletd admin operator unlock`.
    pub failed_attempts: u32,
    pub created_at: DateTime<Utc>,
}

/// Debug output never shows the password hash.
impl std::fmt::Debug for Operator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Operator")
            .field("name", &self.name)
            .field("failed_attempts", &self.failed_attempts)
            .field("created_at", &self.created_at)
            .field("password_hash", &"<redacted>")
            .finish()
    }
}

/// One line of the audit log: who did what to which record, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Assigned by the store, ascending; ignored on insert.
    pub id: i64,
    pub at: DateTime<Utc>,
    pub operator: String,
    /// e.g. `sign_in`, `freeze_client`, `resend_notification`.
    pub action: String,
    /// The record acted on (a client id, user id, notification id), empty for sign-in/out.
    pub subject: String,
    pub detail: String,
}

impl AuditEntry {
    pub fn new(at: DateTime<Utc>, operator: &str, action: &str, subject: &str, detail: &str) -> Self {
        let mut cut = detail.len().min(MAX_AUDIT_DETAIL);
        while !detail.is_char_boundary(cut) {
            cut -= 1;
        }
        AuditEntry {
            id: 0,
            at,
            operator: operator.to_owned(),
            action: action.to_owned(),
            subject: subject.to_owned(),
            detail: detail[..cut].to_owned(),
        }
    }
}

/// A payment search of the console. Every filter is optional; results are newest first, keyset
/// paged on `(created_at, payment_id)`: `before` is the last row of the previous page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PaymentSearch {
    pub payment_id: Option<String>,
    pub client_id: Option<String>,
    pub payment_request_id: Option<String>,
    pub payer_user_id: Option<String>,
    /// `PROCESSING`, `SUCCESS`, `FAIL`, `CANCELLED`.
    pub status: Option<String>,
    /// Created at or after.
    pub from: Option<DateTime<Utc>>,
    /// Created before.
    pub until: Option<DateTime<Utc>>,
    pub before: Option<(DateTime<Utc>, String)>,
}
