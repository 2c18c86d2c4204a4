//! The records of the wallet: what is stored and what the core is asked to do, as plain data.
//!
//! Architecture invariant: nothing in here knows a business rule, the storage or the ledger's
//! arithmetic. The methods are constructors, accessors and the stable names of enum values (the
//! database and the fingerprints depend on them). `model` imports nothing else of the crate, so
//! every other layer can depend on it: model ← storage ← ledger ← domain ← wallet.

pub mod agent;
pub mod captures;
pub mod idempotency;
pub mod ledger;
pub mod oauth;
pub mod operators;
pub mod outbox;
pub mod parties;
pub mod payments;
pub mod refunds;
pub mod store;
