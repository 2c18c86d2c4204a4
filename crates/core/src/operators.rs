//! Operators: the people who run the wallet and sign in to the operator console, and the audit log
//! of what they did there. An operator action and its audit row commit in one transaction, so the
//! log never misses an action nor shows one that did not happen.

use crate::error::CoreError;
pub use crate::model::operators::{AuditEntry, Operator, PaymentSearch};
use crate::model::outbox::OutboxStatus;
use crate::model::parties::PartyStatus;
use crate::model::payments::Payment;
use crate::storage::Tx;
use chrono::{DateTime, Utc};

/// The longest operator name accepted.
pub const MAX_OPERATOR_NAME: usize = 64;
/// The most payments one search page returns, whatever is asked.
pub const MAX_PAGE_SIZE: u32 = 100;

/// True if `name` may name an operator.
pub fn valid_operator_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_OPERATOR_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'@'))
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
