//! The payment core of walletd: parties (merchant clients, wallet users), the double-entry ledger,
//! payments, refunds, idempotency and the notification outbox, over a narrow storage trait.
//!
//! Architecture invariant: nothing in here does network I/O or reads the clock or randomness
//! directly. Time and identifiers come in through [`clock::Clock`] and [`clock::IdSource`].
//!
//! The modules form layers; each imports only from the layers before it (and `error`, `clock`):
//!
//! ```text
//! model ← storage ← ledger ← domain ← wallet
//! ```
//!
//! * `model`: the records and commands as plain data;
//! * `storage`: the `Tx` seam and its SQLite and PostgreSQL backends;
//! * `ledger`: accounts and transfers, applied and verified;
//! * the domain: `context`, `parties`, `idempotency`, `sandbox`, `oauth`, `agent`, `payments`,
//!   `refunds`, `captures`, `store` (the store API), `operators`, `reports`;
//! * `wallet`: the async facade, one storage transaction per command.
// An unwrap is a panic waiting for unexpected input: outside tests, say what failed instead.
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

// ---- below every layer ----
pub mod clock;
pub mod error;
// ---- records ----
pub mod model;
// ---- the storage seam and its backends ----
pub mod storage;
// ---- the ledger ----
pub mod ledger;
// ---- the domain ----
pub mod agent;
pub mod captures;
pub mod context;
pub mod idempotency;
pub mod oauth;
pub mod operators;
pub mod parties;
pub mod payments;
pub mod refunds;
pub mod reports;
pub mod sandbox;
pub mod store;
// ---- the facade ----
pub mod wallet;

pub use error::{CoreError, StorageError};
/// The outbox records keep their historical path (`walletd_core::outbox`), used by the notifier.
pub use model::outbox;
pub use wallet::{Wallet, WalletConfig};
