//! The SDK against a real walletd spawned in the test.

#[path = "../support/doc_wallet.rs"]
mod doc_wallet;
mod helpers;

mod alphapay;
mod alphapay_notification; // AlphaPay notifications
mod diagnose;
mod miniprogram;
mod notification;
mod oauth; // typed OAuth, user info and capture
mod offline; // signing without sending, canned answers
mod retry;
mod store;
mod tamper;
