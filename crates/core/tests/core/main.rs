//! The integration tests of walletd-core: one binary, one module per area, every wallet built by
//! `helpers::spawn_wallet()`.

mod cancel;
mod durability;
mod group_commit;
mod helpers;
mod idempotency;
mod ledger_properties;
mod ledger_verify;
mod payments;
mod readiness;
mod refunds;
mod regressions;
mod sandbox;
mod settlement;
