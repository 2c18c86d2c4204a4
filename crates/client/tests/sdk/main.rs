//! The SDK against a real walletd spawned in the test.

#[path = "../support/doc_wallet.rs"]
mod doc_wallet;
mod helpers;

mod alphapay;
mod alphapay_notification; // issue 8: AlphaPay notifications
mod diagnose;
mod miniprogram;
mod notification;
mod oauth; // issue 8: typed OAuth, user info and capture
mod retry;
mod store;
mod tamper;
