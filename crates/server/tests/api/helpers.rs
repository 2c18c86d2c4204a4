//! `spawn_app()`: a real walletd on port 0 with a fresh data directory, a registered merchant and
//! funded users, plus the merchant's SDK client pointed at it.

use std::sync::{Arc, OnceLock};
use tempfile::TempDir;
use walletd_client::MiniProgramClient;
use walletd_core::clock::{RandomIds, SystemClock};
use walletd_core::parties::{Client, User};
use walletd_core::Wallet;
use walletd_protocol::crypto::{Algorithm, PrivateKey, PublicKey};
use walletd_protocol::{Amount, Currency};
use walletd_server::{Application, Config};

pub const CLIENT_ID: &str = "test-merchant";
pub const PARTNER_ID: &str = "P-test";
pub const APP_ID: &str = "app-1";
pub const OTHER_CLIENT_ID: &str = "other-merchant";
pub const OTHER_PARTNER_ID: &str = "P-other";

/// RSA key generation is slow-ish; every test shares one merchant key pair.
pub fn merchant_key() -> &'static PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| PrivateKey::generate(Algorithm::Rsa256).expect("key"))
}

pub fn other_key() -> &'static PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| PrivateKey::generate(Algorithm::Rsa256).expect("key"))
}

pub fn usd(minor: i64) -> Amount {
    Amount::from_minor(Currency::from_code("USD").unwrap(), minor).unwrap()
}

pub struct TestApp {
    pub base_url: String,
    pub port: u16,
    pub wallet: Wallet,
    pub merchant: MiniProgramClient,
    pub wallet_public_key: PublicKey,
    _data_dir: TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl TestApp {
    /// A client for another registered merchant, or with another key.
    pub fn client_as(&self, client_id: &str, key: &PrivateKey) -> MiniProgramClient {
        MiniProgramClient::new(
            &self.base_url,
            client_id,
            key.clone(),
            self.wallet_public_key.clone(),
        )
    }
}

impl TestApp {
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

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Spawns walletd with a configuration changed by `configure`.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Config)) -> TestApp {
    let data_dir = tempfile::tempdir().expect("tempdir");
    let mut config = Config {
        listen: "127.0.0.1:0".into(),
        data_dir: data_dir.path().to_path_buf(),
        ..Config::default()
    };
    config.sweep_interval_ms = 50;
    // Fake merchants listen on loopback.
    config.notifier.allow_private_targets = true;
    configure(&mut config);
    let wallet = walletd_server::open_wallet(&config, Arc::new(SystemClock), Arc::new(RandomIds::default()))
        .expect("wallet");
    seed(&wallet).await;
    let app = Application::build_with_wallet(config, wallet.clone())
        .await
        .expect("build");
    let port = app.local_addr().port();
    let base_url = format!("http://127.0.0.1:{port}");
    let wallet_public_key = app.state().wallet_key.public_key();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        app.run_until_stopped(async {
            let _ = rx.await;
        })
        .await
        .expect("server");
    });
    let merchant = MiniProgramClient::new(
        &base_url,
        CLIENT_ID,
        merchant_key().clone(),
        wallet_public_key.clone(),
    );
    TestApp {
        base_url,
        port,
        wallet,
        merchant,
        wallet_public_key,
        _data_dir: data_dir,
        shutdown: Some(tx),
    }
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

/// Asserts that the books balance.
pub async fn assert_books_sound(wallet: &Wallet) {
    let report = wallet.verify().await.expect("verify");
    assert!(report.is_sound(), "books broken: {:?}", report.problems);
}
