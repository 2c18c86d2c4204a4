//! The shared test walletd (`walletd_testkit::TestApp`) with a clock the test moves, two merchant
//! clients, and users with PINs. Every Mini Program call is signed by the merchant and its answer
//! verified with the wallet's key (through the merchant SDK).
//!
//! With `WALLETD_TEST_POSTGRES_URL` set (CI sets it) every test runs on PostgreSQL instead, in a
//! fresh schema dropped afterwards; otherwise on the SQLite file in the data directory.

use chrono::{DateTime, Utc};
use serde_json::Value;
use std::ops::Deref;
use std::sync::Arc;
use walletd_client::MiniProgramClient;
use walletd_core::clock::ManualClock;
use walletd_core::ledger::AccountKind;
use walletd_core::parties::{Client, User};
use walletd_core::Wallet;
use walletd_protocol::crypto::PrivateKey;
use walletd_server::Config;
pub use walletd_testkit::mini_program::{result_code as code_of, result_status as status_of};
use walletd_testkit::{pin_hash, PgSchema};
pub use walletd_testkit::{usd, wait_for};

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

pub fn merchant_key() -> &'static PrivateKey {
    walletd_testkit::shared_key(0)
}

pub fn other_key() -> &'static PrivateKey {
    walletd_testkit::shared_key(1)
}

pub struct TestApp {
    app: walletd_testkit::TestApp,
    pub clock: Arc<ManualClock>,
    /// The merchant `tea-house` (mini programs `mini-tea`, `mini-tea-2`).
    pub merchant: MiniProgramClient,
    /// Another merchant, `book-shop`.
    pub other: MiniProgramClient,
    on_postgres: bool,
}

impl Deref for TestApp {
    type Target = walletd_testkit::TestApp;

    fn deref(&self) -> &walletd_testkit::TestApp {
        &self.app
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut Config)) -> TestApp {
    let mut builder = walletd_testkit::TestApp::builder()
        .manual_clock()
        .configure(|config| {
            // The test clock runs ahead of the merchant's real one by days: accept any Request-Time.
            config.mini_program.request_time_window_secs = 400 * 24 * 3600;
            config.sweep_interval_ms = 50;
            // Fake merchants listen on loopback.
            config.notifier.allow_private_targets = true;
            config.notifier.enabled = false;
        });
    let postgres = PgSchema::if_configured("oauth");
    let on_postgres = postgres.is_some();
    if let Some(schema) = postgres {
        builder = builder
            .postgres(schema)
            .configure(|config| config.database_connections = 4);
    }
    let opened = builder.configure(configure).open();
    seed(&opened.wallet).await;
    let app = opened.start().await;
    TestApp {
        clock: app.clock().clone(),
        merchant: app.mini_program(CLIENT_ID, merchant_key()),
        other: app.mini_program(OTHER_CLIENT_ID, other_key()),
        on_postgres,
        app,
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
        self.on_postgres
    }

    pub fn advance_secs(&self, secs: i64) {
        self.clock.advance_ms(secs * 1000);
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.wallet.now()
    }

    /// A signed call as `client`; the answer's signature is verified by the SDK.
    pub async fn call_as(&self, client: &MiniProgramClient, api: &str, body: Value) -> Value {
        walletd_testkit::mini_program::call(client, api, &body).await
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
