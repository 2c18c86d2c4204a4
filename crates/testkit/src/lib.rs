//! The tests' walletd: one in-process server builder ([`TestApp::builder`]) and typed request
//! helpers for each dialect, shared by every test binary of the workspace (a dev-dependency only,
//! never published).
//!
//! - [`TestApp`]: a real walletd on port 0 with a fresh data directory (or one a restart reuses),
//!   SQLite or a fresh PostgreSQL schema ([`PgSchema`]), the system clock or a [`ManualClock`],
//!   the configuration a test adjusts, and its extra listeners (console, metrics, AlphaPay).
//!   A binary seeds the wallet between [`TestAppBuilder::open`] and [`Opened::start`].
//! - [`mini_program`]: a signed Mini Program call whose answer the SDK verified.
//! - [`alphapay`]: AlphaPay requests signed field by field, sent byte for byte, answers checked.
//! - [`store_api`]: the store API's GET/POST vars with its HMAC (or MD5) signing vars.
//! - [`merchant`]: a merchant's notification endpoint that records what it receives and answers
//!   as the test says.
//! - [`pages`]: a browser stand-in for the wallet pages and the console (one cookie jar).
//! - [`tls`]: a self-signed certificate for walletd's HTTPS and a client that trusts it.

pub mod alphapay;
mod app;
pub mod merchant;
pub mod mini_program;
pub mod pages;
mod postgres;
pub mod store_api;
pub mod tls;

pub use app::{Opened, TestApp, TestAppBuilder};
pub use postgres::PgSchema;
pub use walletd_core::clock::ManualClock;

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;
use walletd_core::Wallet;
use walletd_protocol::crypto::{Algorithm, PrivateKey};
use walletd_protocol::{Amount, Currency};

/// One of four RSA key pairs shared by every test of a binary (generating one is slow-ish).
pub fn shared_key(slot: usize) -> &'static PrivateKey {
    static KEYS: [OnceLock<PrivateKey>; 4] =
        [OnceLock::new(), OnceLock::new(), OnceLock::new(), OnceLock::new()];
    KEYS[slot].get_or_init(|| PrivateKey::generate(Algorithm::Rsa256).expect("key"))
}

/// The PHC string of `pin`, hashed once per test binary: argon2 is slow on purpose, and a PHC
/// string carries its own salt, so every app can store the same one.
pub fn pin_hash(pin: &str) -> String {
    static HASHES: OnceLock<Mutex<HashMap<String, String>>> = OnceLock::new();
    let mut map = HASHES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    map.entry(pin.to_owned())
        .or_insert_with(|| walletd_server::pin::hash_pin(pin).expect("hash"))
        .clone()
}

/// `minor` units of the currency `code`.
pub fn money(code: &str, minor: i64) -> Amount {
    Amount::from_minor(Currency::from_code(code).expect("currency"), minor).expect("amount")
}

/// `minor` cents of USD.
pub fn usd(minor: i64) -> Amount {
    money("USD", minor)
}

/// A decimal amount of the currency `code`, e.g. `("KWD", "50.000")`.
pub fn amount(code: &str, decimal: &str) -> Amount {
    Amount::parse_decimal(Currency::from_code(code).expect("currency"), decimal).expect("amount")
}

/// Asserts that the books balance.
pub async fn assert_books_sound(wallet: &Wallet) {
    let report = wallet.verify().await.expect("verify");
    assert!(report.is_sound(), "books broken: {:?}", report.problems);
}

/// Polls `probe` every 25 ms until it gives a value or `within` passes.
pub async fn wait_for<T, F, Fut>(within: Duration, mut probe: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(v) = probe().await {
            return Some(v);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
