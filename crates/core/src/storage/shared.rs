//! What both backends store the same way, written once: records kept as JSON documents next to
//! their queried columns, currency codes, and the column lists of the ledger's tables (ledger
//! accounts and transfers are plain columns, because their sums are updated under row locks and
//! checked by constraints).

use crate::error::StorageError;
use serde::de::DeserializeOwned;
use serde::Serialize;
use walletd_protocol::Currency;

/// The columns of `accounts`, in the order the backends' row readers expect.
pub(super) const ACCOUNT_COLS: &str = "id, kind, owner_id, currency, flags, debits_pending, debits_posted, credits_pending, credits_posted, created_at";
/// The columns of `transfers`, in the order the backends' row readers expect.
pub(super) const TRANSFER_COLS: &str =
    "id, kind, debit_account_id, credit_account_id, amount_minor, currency, pending_id, timeout_at, code, reference, created_at";

/// A record as its stored JSON document.
pub(super) fn to_doc<T: Serialize>(v: &T) -> Result<String, StorageError> {
    serde_json::to_string(v).map_err(|e| StorageError::Corrupt(e.to_string()))
}

/// A stored JSON document as its record; an unreadable one is [`StorageError::Corrupt`].
pub(super) fn from_doc<T: DeserializeOwned>(s: &str) -> Result<T, StorageError> {
    serde_json::from_str(s).map_err(|e| StorageError::Corrupt(e.to_string()))
}

/// A stored currency code.
pub(super) fn currency(s: &str) -> Result<Currency, StorageError> {
    Currency::from_code(s).ok_or_else(|| StorageError::Corrupt(format!("unknown currency {s:?}")))
}
