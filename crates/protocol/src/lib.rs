#![doc = include_str!("../README.md")]
//!
//! ## Scope
//!
//! Wire formats of walletd's three dialects: signatures, content to sign, time stamps,
//! result codes, money values and the request/response shapes. No I/O, no storage.
// An unwrap is a panic waiting for unexpected input: outside tests, say what failed instead.
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod alphapay;
pub mod amount;
pub mod content;
pub mod crypto;
pub mod miniprogram;
mod redact;
pub mod result;
pub mod signature;
pub mod store_signature;
pub mod time;

pub use amount::{Amount, AmountError, Currency, PositiveAmount};
pub use result::{ResultCode, ResultStatus};
