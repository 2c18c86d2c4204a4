//! The parties: merchant clients (who call the APIs) and wallet users (who pay).

pub use crate::model::parties::{Client, ClientKey, Dialect, Limits, PartyStatus, User};
use walletd_protocol::Amount;

/// What a limit check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitBreach {
    PerPayment { limit_minor: i64 },
    Daily { limit_minor: i64, used_minor: i64 },
}

/// Checks `amount` against `limits`, given what was already spent today.
pub fn check_limits(limits: Limits, amount: Amount, spent_today_minor: i64) -> Option<LimitBreach> {
    if let Some(limit) = limits.per_payment_minor {
        if amount.value_minor() > limit {
            return Some(LimitBreach::PerPayment { limit_minor: limit });
        }
    }
    if let Some(limit) = limits.daily_minor {
        let total = spent_today_minor
            .checked_add(amount.value_minor())
            .unwrap_or(i64::MAX);
        if total > limit {
            return Some(LimitBreach::Daily {
                limit_minor: limit,
                used_minor: spent_today_minor,
            });
        }
    }
    None
}

/// The one answer for a user id that names nobody — and for a named payer who gave this client
/// no grant, so that a merchant learns nothing about users who did not grant it anything.
pub(crate) fn unknown_user_message(user_id: &str) -> String {
    format!("user {user_id} does not exist")
}
