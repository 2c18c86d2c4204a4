//! The records of the wallet, the commands it is given and the outcomes it answers, as plain data.
//!
//! Architecture invariant: nothing in here reads storage, touches the ledger or looks at another
//! record. The methods are constructors, accessors, facts about one record or value (what is still
//! refundable, whether a grant covers a scope, which statuses a channel notifies) and the stable
//! names of enum values, which the database and the idempotency fingerprints depend on. `model`
//! imports nothing else of the crate, so every other layer can depend on it:
//! model ← storage ← ledger ← domain ← wallet.

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
