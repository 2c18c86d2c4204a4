//! The SDK against a real walletd spawned in the test.

#[path = "../support/doc_wallet.rs"]
mod doc_wallet;
mod helpers;

mod alphapay;
mod diagnose;
mod miniprogram;
mod notification;
mod retry;
mod store;
mod tamper;
