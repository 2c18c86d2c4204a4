//! What every command's transaction is given besides the storage: the operator's rules
//! ([`WalletConfig`]), the time and fresh ids ([`Context`]).

use crate::clock::{Clock, IdSource};
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// Business rules that an operator may tune.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletConfig {
    /// How long a cashier payment stays payable when the merchant gives no expiry
    /// (docs/mini-program.md §9, docs/choices.md).
    pub payment_expiry_secs: i64,
    /// The longest expiry a merchant may ask for.
    pub max_payment_expiry_secs: i64,
    /// How long after creation a paid payment may still be cancelled (docs/mini-program.md §11).
    pub cancel_window_secs: i64,
    /// How long after payment a refund may be made (docs/mini-program.md §12, docs/choices.md).
    pub refund_window_secs: i64,
    /// Honour the reserved sandbox amounts.
    pub sandbox: bool,
    /// How long a client read to authenticate a request may serve the next ones (0: read every
    /// time); see `Wallet::recent_client`.
    pub client_cache_ms: u64,
}

impl Default for WalletConfig {
    fn default() -> Self {
        WalletConfig {
            payment_expiry_secs: 15 * 60,
            max_payment_expiry_secs: 7 * 24 * 3600,
            cancel_window_secs: 24 * 3600,
            refund_window_secs: 365 * 24 * 3600,
            sandbox: false,
            client_cache_ms: 1_000,
        }
    }
}

/// What a transaction needs besides the store: rules, time and ids.
pub struct Context {
    pub config: WalletConfig,
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<dyn IdSource>,
}

impl Context {
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}
