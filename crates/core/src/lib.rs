//! The payment core of walletd: parties (merchant clients, wallet users), the double-entry ledger,
//! payments, refunds, idempotency and the notification outbox, over a narrow storage trait.
//!
//! Architecture invariant: nothing in here does network I/O or reads the clock or randomness
//! directly. Time and identifiers come in through [`clock::Clock`] and [`clock::IdSource`].

// ---- agent grants: ISVs acting for merchants ----
pub mod agent;
pub mod clock;
pub mod context;
pub mod error;
pub mod idempotency;
pub mod ledger;
pub mod model;
pub use model::outbox;
pub mod parties;
pub mod payments;
pub mod refunds;
pub mod reports;
pub mod sandbox;
pub mod storage;
// ---- store API ----
pub mod store;
// ---- OAuth and the other payment scenarios ----
pub mod captures;
pub mod oauth;
// ---- operator console: operators and their audit log ----
pub mod operators;
pub mod wallet;

pub use error::{CoreError, StorageError};
pub use wallet::{Wallet, WalletConfig};
