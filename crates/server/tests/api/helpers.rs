//! `spawn_app()`: the shared test walletd (`walletd_testkit::TestApp`) with a registered merchant
//! and funded users, plus the merchant's SDK client pointed at it.

use std::ops::Deref;
use walletd_client::MiniProgramClient;
use walletd_core::parties::{Client, User};
use walletd_core::Wallet;
use walletd_protocol::crypto::PrivateKey;
use walletd_server::Config;
pub use walletd_testkit::{assert_books_sound, usd};

pub const CLIENT_ID: &str = "test-merchant";
pub const PARTNER_ID: &str = "P-test";
pub const APP_ID: &str = "app-1";
pub const OTHER_CLIENT_ID: &str = "other-merchant";
pub const OTHER_PARTNER_ID: &str = "P-other";

pub fn merchant_key() -> &'static PrivateKey {
    walletd_testkit::shared_key(0)
}

pub fn other_key() -> &'static PrivateKey {
    walletd_testkit::shared_key(1)
}

pub struct TestApp {
    app: walletd_testkit::TestApp,
    pub merchant: MiniProgramClient,
}

impl Deref for TestApp {
    type Target = walletd_testkit::TestApp;

    fn deref(&self) -> &walletd_testkit::TestApp {
        &self.app
    }
}

impl TestApp {
    /// A client for another registered merchant, or with another key.
    pub fn client_as(&self, client_id: &str, key: &PrivateKey) -> MiniProgramClient {
        self.app.mini_program(client_id, key)
    }

    /// `user` grants the test merchant `AGREEMENT_PAY` (up to 10,000.00 USD a payment) and the
    /// merchant exchanges the auth code with applyToken, as a cashier payment must before it may
    /// name the user as its payer. Returns the access token.
    pub async fn grant_named_payer(&self, user: &str) -> String {
        let grant = walletd_core::oauth::Grant {
            client_id: CLIENT_ID.into(),
            app_id: Some(APP_ID.into()),
            user_id: user.into(),
            scopes: vec![walletd_core::oauth::Scope::AgreementPay],
            agreement_limits: [("USD".to_owned(), 1_000_000)].into_iter().collect(),
        };
        let code = self
            .wallet
            .issue_auth_code(grant, 300)
            .await
            .expect("auth code")
            .code;
        let req = walletd_protocol::miniprogram::oauth::ApplyTokenRequest::authorization_code_v2(
            APP_ID, CLIENT_ID, &code,
        );
        let tokens = self.merchant.apply_token("v2", &req).await.expect("applyToken");
        assert_eq!(tokens.customer_id, user);
        tokens.access_token
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Spawns walletd with a configuration changed by `configure`.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Config)) -> TestApp {
    let opened = walletd_testkit::TestApp::builder()
        .configure(|config| {
            config.sweep_interval_ms = 50;
            // Fake merchants listen on loopback.
            config.notifier.allow_private_targets = true;
        })
        .configure(configure)
        .open();
    seed(&opened.wallet).await;
    let app = opened.start().await;
    let merchant = app.mini_program(CLIENT_ID, merchant_key());
    TestApp { app, merchant }
}

pub async fn seed(wallet: &Wallet) {
    let now = wallet.now();
    let mut c = Client::new(CLIENT_ID, "Test Tea House", now);
    c.partner_id = PARTNER_ID.into();
    c.app_ids = vec![APP_ID.into()];
    c.add_key("RSA256", &merchant_key().public_key().to_spki_pem(), now);
    wallet.add_client(c).await.expect("client");
    let mut o = Client::new(OTHER_CLIENT_ID, "Other Shop", now);
    o.partner_id = OTHER_PARTNER_ID.into();
    o.add_key("RSA256", &other_key().public_key().to_spki_base64(), now);
    wallet.add_client(o).await.expect("other client");
    for (id, login, dollars) in [("alice", "+15550000001", 100_000), ("bob", "+15550000002", 500)] {
        wallet
            .add_user(User::new(id, login, id, now))
            .await
            .expect("user");
        wallet.top_up(id, usd(dollars)).await.expect("top up");
    }
}
