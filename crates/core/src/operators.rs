//! Operators: the people who run the wallet and sign in to the operator console, and the audit log
//! of what they did there. An operator action and its audit row commit in one transaction, so the
//! log never misses an action nor shows one that did not happen.

use crate::error::CoreError;
use crate::outbox::OutboxStatus;
use crate::parties::PartyStatus;
use crate::payments::Payment;
use crate::storage::Tx;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The longest operator name accepted.
pub const MAX_OPERATOR_NAME: usize = 64;
/// The most payments one search page returns, whatever is asked.
pub const MAX_PAGE_SIZE: u32 = 100;
/// The longest audit detail kept.
const MAX_AUDIT_DETAIL: usize = 512;

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

/// True if `name` may name an operator.
pub fn valid_operator_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_OPERATOR_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'@'))
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

/// What an operator may do from the console: the safe actions `walletd admin` has too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperatorAction {
    FreezeClient(String),
    UnfreezeClient(String),
    FreezeUser(String),
    UnfreezeUser(String),
    ResendNotification(String),
}

impl OperatorAction {
    /// The audit log's name of the action.
    pub fn name(&self) -> &'static str {
        match self {
            OperatorAction::FreezeClient(_) => "freeze_client",
            OperatorAction::UnfreezeClient(_) => "unfreeze_client",
            OperatorAction::FreezeUser(_) => "freeze_user",
            OperatorAction::UnfreezeUser(_) => "unfreeze_user",
            OperatorAction::ResendNotification(_) => "resend_notification",
        }
    }

    /// The record it acts on.
    pub fn subject(&self) -> &str {
        match self {
            OperatorAction::FreezeClient(s)
            | OperatorAction::UnfreezeClient(s)
            | OperatorAction::FreezeUser(s)
            | OperatorAction::UnfreezeUser(s)
            | OperatorAction::ResendNotification(s) => s,
        }
    }
}

/// Carries out `action` for `operator` and records it in the audit log, in the caller's
/// transaction. Returns the audit entry written.
pub fn perform(
    tx: &mut dyn Tx,
    now: DateTime<Utc>,
    operator: &str,
    action: &OperatorAction,
) -> Result<AuditEntry, CoreError> {
    let detail = match action {
        OperatorAction::FreezeClient(id) | OperatorAction::UnfreezeClient(id) => {
            let mut c = tx
                .get_client(id)?
                .ok_or_else(|| CoreError::NotFound(format!("client {id}")))?;
            let before = c.status;
            c.status = if matches!(action, OperatorAction::FreezeClient(_)) {
                PartyStatus::Frozen
            } else {
                PartyStatus::Active
            };
            tx.update_client(&c)?;
            format!("{} -> {}", before.as_str(), c.status.as_str())
        }
        OperatorAction::FreezeUser(id) | OperatorAction::UnfreezeUser(id) => {
            let mut u = tx
                .get_user(id)?
                .ok_or_else(|| CoreError::NotFound(format!("user {id}")))?;
            let before = u.status;
            u.status = if matches!(action, OperatorAction::FreezeUser(_)) {
                PartyStatus::Frozen
            } else {
                PartyStatus::Active
            };
            tx.update_user(&u)?;
            format!("{} -> {}", before.as_str(), u.status.as_str())
        }
        OperatorAction::ResendNotification(id) => {
            let mut e = tx
                .get_outbox(id)?
                .ok_or_else(|| CoreError::NotFound(format!("notification {id}")))?;
            let before = e.status;
            e.status = OutboxStatus::Pending;
            e.next_attempt_at = now;
            e.lease_until = None;
            tx.update_outbox(&e)?;
            format!("{} -> PENDING, due now", before.as_str())
        }
    };
    let mut entry = AuditEntry::new(now, operator, action.name(), action.subject(), &detail);
    entry.id = tx.insert_audit(&entry)?;
    Ok(entry)
}

/// One page of payments matching `search`, at most `limit` (capped at [`MAX_PAGE_SIZE`]).
pub fn search_payments(
    tx: &mut dyn Tx,
    search: &PaymentSearch,
    limit: u32,
) -> Result<Vec<Payment>, CoreError> {
    let limit = limit.clamp(1, MAX_PAGE_SIZE);
    if let Some(id) = &search.payment_id {
        // A payment id names one payment: the primary key, nothing to page.
        let p = tx.get_payment(id)?;
        return Ok(p.into_iter().filter(|p| matches_search(p, search)).collect());
    }
    Ok(tx.search_payments(search, limit)?)
}

/// The filters of `search` other than the payment id and the page, checked on one payment.
fn matches_search(p: &Payment, s: &PaymentSearch) -> bool {
    s.client_id.as_ref().is_none_or(|c| *c == p.client_id)
        && s.payment_request_id
            .as_ref()
            .is_none_or(|r| *r == p.payment_request_id)
        && s.payer_user_id
            .as_ref()
            .is_none_or(|u| Some(u.as_str()) == p.payer_user_id.as_deref())
        && s.status.as_ref().is_none_or(|st| st == p.status.as_str())
        && s.from.is_none_or(|f| p.created_at >= f)
        && s.until.is_none_or(|u| p.created_at < u)
}
