//! A real walletd on port 0 with a fresh data directory and a clock the test moves, two merchant
//! clients, and users with PINs. Every Mini Program call is signed by the merchant and its answer
//! verified with the wallet's key (through the merchant SDK).
//!
//! With `WALLETD_TEST_POSTGRES_URL` set (CI sets it) every test runs on PostgreSQL instead, in a
//! fresh schema dropped afterwards; otherwise on the SQLite file in the data directory.

use chrono::{DateTime, Utc};
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tempfile::TempDir;
use walletd_client::{MiniProgramClient, RequestOptions};
use walletd_core::clock::{ManualClock, RandomIds};
use walletd_core::ledger::AccountKind;
use walletd_core::parties::{Client, User};
use walletd_core::Wallet;
use walletd_protocol::crypto::{Algorithm, PrivateKey};
use walletd_protocol::{Amount, Currency};
use walletd_server::{Application, Config};

pub const CLIENT_ID: &str = "tea-house";
pub const PARTNER_ID: &str = "P-tea";
pub const APP_ID: &str = "mini-tea";
pub const OTHER_APP_ID: &str = "mini-tea-2";
pub const OTHER_CLIENT_ID: &str = "book-shop";
pub const ALICE_LOGIN: &str = "+15550000001";
pub const ALICE_PIN: &str = "246810";
pub const BOB_LOGIN: &str = "bob@example.com";
pub const BOB_PIN: &str = "135790";
/// Alice's balance at the start, minor units (1000.00 USD); Bob has 5.00.
pub const ALICE_START: i64 = 100_000;

/// RSA key generation is slow-ish: every test shares the two merchant key pairs.
pub fn merchant_key() -> &'static PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| PrivateKey::generate(Algorithm::Rsa256).expect("key"))
}

pub fn other_key() -> &'static PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| PrivateKey::generate(Algorithm::Rsa256).expect("key"))
}

/// argon2 is slow in a debug build: each PIN is hashed once per test binary (a PHC string
/// carries its own salt, so every app can store the same one).
fn pin_hash(pin: &'static str) -> String {
    static HASHES: OnceLock<std::sync::Mutex<std::collections::HashMap<&'static str, String>>> =
        OnceLock::new();
    let mut map = HASHES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    map.entry(pin)
        .or_insert_with(|| walletd_server::pin::hash_pin(pin).expect("hash"))
        .clone()
}

pub fn usd(minor: i64) -> Amount {
    Amount::from_minor(Currency::from_code("USD").expect("USD"), minor).expect("amount")
}

pub struct TestApp {
    pub base_url: String,
    pub wallet: Wallet,
    pub clock: Arc<ManualClock>,
    /// The merchant `tea-house` (mini programs `mini-tea`, `mini-tea-2`).
    pub merchant: MiniProgramClient,
    /// Another merchant, `book-shop`.
    pub other: MiniProgramClient,
    pub config: Config,
    _dir: TempDir,
    /// `(base URL, schema)` when the test runs on PostgreSQL.
    postgres: Option<(String, String)>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
        if let Some((base, schema)) = &self.postgres {
            if let Err(e) = walletd_core::storage::postgres::drop_schema(base, schema) {
                eprintln!("could not drop test schema {schema}: {e}");
            }
        }
    }
}

/// A fresh schema in the database `WALLETD_TEST_POSTGRES_URL` names, if it names one.
fn postgres_schema() -> Option<(String, String)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let base = std::env::var("WALLETD_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let schema = format!(
        "walletd_oauth_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    );
    walletd_core::storage::postgres::create_schema(&base, &schema).expect("create the test schema");
    Some((base, schema))
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = Config {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.path().to_path_buf(),
        ..Config::default()
    };
    // The test clock runs ahead of the merchant's real one by days: accept any Request-Time.
    config.mini_program.request_time_window_secs = 400 * 24 * 3600;
    config.sweep_interval_ms = 50;
    // Fake merchants listen on loopback.
    config.notifier.allow_private_targets = true;
    config.notifier.enabled = false;
    let postgres = postgres_schema();
    if let Some((base, schema)) = &postgres {
        config.database = Some(walletd_core::storage::postgres::url_with_schema(base, schema));
        config.database_connections = 4;
    }
    configure(&mut config);
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let wallet =
        walletd_server::open_wallet(&config, clock.clone(), Arc::new(RandomIds::default())).expect("wallet");
    seed(&wallet).await;
    let app = Application::build_with_wallet(config.clone(), wallet.clone())
        .await
        .expect("build");
    let base_url = format!("http://127.0.0.1:{}", app.local_addr().port());
    let wallet_key = app.state().wallet_key.public_key();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        app.run_until_stopped(async {
            let _ = rx.await;
        })
        .await
        .expect("server");
    });
    TestApp {
        merchant: MiniProgramClient::new(&base_url, CLIENT_ID, merchant_key().clone(), wallet_key.clone()),
        other: MiniProgramClient::new(&base_url, OTHER_CLIENT_ID, other_key().clone(), wallet_key),
        base_url,
        wallet,
        clock,
        config,
        _dir: dir,
        postgres,
        shutdown: Some(tx),
    }
}

async fn seed(wallet: &Wallet) {
    let now = wallet.now();
    let mut c = Client::new(CLIENT_ID, "Tea House", now);
    c.partner_id = PARTNER_ID.into();
    c.app_ids = vec![APP_ID.into(), OTHER_APP_ID.into()];
    // The mini program's OAuth redirect URL: the consent page sends codes nowhere else.
    c.redirect_urls = vec!["https://mini.example/cb".into()];
    c.add_key("RSA256", &merchant_key().public_key().to_spki_pem(), now);
    wallet.add_client(c).await.expect("client");
    let mut o = Client::new(OTHER_CLIENT_ID, "Book Shop", now);
    o.partner_id = "P-books".into();
    o.add_key("RSA256", &other_key().public_key().to_spki_pem(), now);
    wallet.add_client(o).await.expect("other client");
    for (id, login, name, pin, dollars) in [
        ("alice", ALICE_LOGIN, "Alice Tan", ALICE_PIN, ALICE_START),
        ("bob", BOB_LOGIN, "Bob Santos", BOB_PIN, 500),
    ] {
        let mut u = User::new(id, login, name, now);
        u.pin_hash = Some(pin_hash(pin));
        wallet.add_user(u).await.expect("user");
        wallet.top_up(id, usd(dollars)).await.expect("top up");
    }
}

impl TestApp {
    /// True when this test runs on PostgreSQL.
    pub fn on_postgres(&self) -> bool {
        self.postgres.is_some()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub fn advance_secs(&self, secs: i64) {
        self.clock.advance_ms(secs * 1000);
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.wallet.now()
    }

    /// A signed call as `client`; the answer's signature is verified by the SDK.
    pub async fn call_as(&self, client: &MiniProgramClient, api: &str, body: Value) -> Value {
        let bytes = serde_json::to_vec(&body).expect("json");
        let answer = client
            .send(api, bytes, &RequestOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{api}: no verified answer: {e}"));
        assert_eq!(answer.status, 200);
        serde_json::from_slice(&answer.body).expect("answer json")
    }

    /// A signed call as the merchant `tea-house`.
    pub async fn call(&self, api: &str, body: Value) -> Value {
        self.call_as(&self.merchant, api, body).await
    }

    /// An auth code as the consent page would issue it (the admin path, same core call).
    pub async fn auth_code(
        &self,
        user: &str,
        app_id: Option<&str>,
        scopes: &str,
        limits: &[(&str, i64)],
    ) -> String {
        let grant = walletd_core::oauth::Grant {
            client_id: CLIENT_ID.into(),
            app_id: app_id.map(String::from),
            user_id: user.into(),
            scopes: walletd_core::oauth::parse_scopes(scopes).expect("scopes"),
            agreement_limits: limits.iter().map(|(c, m)| (c.to_string(), *m)).collect(),
        };
        self.wallet
            .issue_auth_code(grant, self.config.oauth.auth_code_ttl_secs)
            .await
            .expect("auth code")
            .code
    }

    /// applyToken v2 for an auth code; panics unless S.
    pub async fn tokens(&self, code: &str) -> Value {
        let v = self
            .call(
                "v2/authorizations/applyToken",
                serde_json::json!({"appId": APP_ID, "authClientId": CLIENT_ID, "grantType": "AUTHORIZATION_CODE", "authCode": code}),
            )
            .await;
        assert_eq!(code_of(&v), "SUCCESS", "{v}");
        v
    }

    /// An access token of `user` for the mini program `mini-tea` with `scopes`.
    pub async fn access_token(&self, user: &str, scopes: &str, limits: &[(&str, i64)]) -> String {
        let code = self.auth_code(user, Some(APP_ID), scopes, limits).await;
        self.tokens(&code).await["accessToken"]
            .as_str()
            .expect("accessToken")
            .to_owned()
    }

    /// Posted, held and available balance of a user in USD, minor units.
    pub async fn balance(&self, user: &str) -> (i64, i64, i64) {
        self.account(AccountKind::UserWallet, user).await
    }

    pub async fn merchant_balance(&self, client: &str) -> (i64, i64, i64) {
        self.account(AccountKind::Merchant, client).await
    }

    async fn account(&self, kind: AccountKind, owner: &str) -> (i64, i64, i64) {
        self.wallet
            .accounts_of(kind, owner)
            .await
            .expect("accounts")
            .iter()
            .find(|a| a.currency.code() == "USD")
            .map_or((0, 0, 0), |a| {
                (a.posted_balance(), a.debits_pending, a.available_balance())
            })
    }

    pub async fn assert_books_sound(&self) {
        let report = self.wallet.verify().await.expect("verify");
        assert!(report.is_sound(), "books broken: {:?}", report.problems);
    }

    /// Unsent notifications about `payment_id`.
    pub async fn notifications_of(&self, payment_id: &str) -> usize {
        self.wallet
            .list_notifications(1000)
            .await
            .expect("outbox")
            .iter()
            .filter(|e| e.subject_id == payment_id)
            .count()
    }
}

pub fn code_of(v: &Value) -> &str {
    v["result"]["resultCode"].as_str().unwrap_or("")
}

pub fn status_of(v: &Value) -> &str {
    v["result"]["resultStatus"].as_str().unwrap_or("")
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
