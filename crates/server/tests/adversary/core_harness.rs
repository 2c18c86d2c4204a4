//! The shared test walletd for the attacks on money, grants and secrets: a fresh data directory
//! (SQLite, or a fresh schema of the test PostgreSQL server), two merchants, funded users, a
//! store with an HMAC key, and signed calls as either merchant.

use serde_json::Value;
use std::ops::Deref;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use walletd_client::MiniProgramClient;
use walletd_core::ledger::AccountKind;
use walletd_core::parties::{Client, User};
use walletd_core::store::{NewStoreKey, StoreConfig, StoreKey, StoreKeyMode};
use walletd_core::Wallet;
use walletd_protocol::crypto::PrivateKey;
use walletd_protocol::Currency;
use walletd_server::Config;
use walletd_testkit::store_api::{StoreApi, StoreCall, StoreCredential};

pub const MERCHANT: &str = "tea-merchant";
pub const APP_ID: &str = "tea-app";
pub const PARTNER_ID: &str = "P-tea";
pub const RIVAL: &str = "rival-merchant";
pub const RIVAL_APP_ID: &str = "rival-app";
/// alice's and bob's logins and PIN.
pub const ALICE_LOGIN: &str = "+15550000001";
pub const BOB_LOGIN: &str = "+15550000002";
pub const PIN: &str = "482913";
/// alice starts with 1,000.00 USD, bob with 5.00 USD.
pub const ALICE_USD: i64 = 100_000;
pub const BOB_USD: i64 = 500;

pub use walletd_testkit::{usd, PgSchema};

fn key(slot: usize) -> &'static PrivateKey {
    walletd_testkit::shared_key(slot)
}

/// A fresh PostgreSQL schema, or `None` (after saying so) when no server is configured.
pub fn postgres_schema() -> Option<PgSchema> {
    PgSchema::fresh("adversary_core")
}

/// The shared test walletd (`walletd_testkit::TestApp`) with the two merchants' clients.
pub struct CoreApp {
    app: walletd_testkit::TestApp,
    pub merchant: MiniProgramClient,
    pub rival: MiniProgramClient,
    /// Redirects not followed, a 30 s timeout.
    pub http: reqwest::Client,
    store_api: StoreApi,
}

impl Deref for CoreApp {
    type Target = walletd_testkit::TestApp;

    fn deref(&self) -> &walletd_testkit::TestApp {
        &self.app
    }
}

/// walletd on SQLite.
pub async fn spawn_core_app() -> CoreApp {
    spawn_core_app_with(None, |_| {}).await
}

/// walletd on `pg` (PostgreSQL) or SQLite, with its configuration changed by `configure`.
pub async fn spawn_core_app_with(pg: Option<PgSchema>, configure: impl FnOnce(&mut Config)) -> CoreApp {
    let mut builder = walletd_testkit::TestApp::builder().data_subdir("data");
    if let Some(pg) = pg {
        builder = builder.postgres(pg);
    }
    let opened = builder.configure(configure).open();
    seed(&opened.wallet).await;
    let app = opened.start().await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .expect("http client");
    CoreApp {
        merchant: app.mini_program(MERCHANT, key(0)),
        rival: app.mini_program(RIVAL, key(1)),
        http,
        store_api: StoreApi::new(&app.base_url),
        app,
    }
}

async fn seed(wallet: &Wallet) {
    let now = wallet.now();
    let mut c = Client::new(MERCHANT, "Tea House", now);
    c.partner_id = PARTNER_ID.into();
    c.app_ids = vec![APP_ID.into()];
    c.add_key("RSA256", &key(0).public_key().to_spki_pem(), now);
    wallet.add_client(c).await.expect("merchant");
    let mut r = Client::new(RIVAL, "Rival Shop", now);
    r.partner_id = "P-rival".into();
    r.app_ids = vec![RIVAL_APP_ID.into()];
    r.add_key("RSA256", &key(1).public_key().to_spki_pem(), now);
    wallet.add_client(r).await.expect("rival");
    for (id, login, minor) in [("alice", ALICE_LOGIN, ALICE_USD), ("bob", BOB_LOGIN, BOB_USD)] {
        let mut u = User::new(id, login, id, now);
        u.pin_hash = Some(walletd_testkit::pin_hash(PIN));
        wallet.add_user(u).await.expect("user");
        wallet.top_up(id, usd(minor)).await.expect("top up");
    }
}

impl CoreApp {
    pub fn data_dir(&self) -> &Path {
        &self.config.data_dir
    }

    /// A signed Mini Program call; the answer's signature is verified by the SDK.
    pub async fn call_as(&self, client: &MiniProgramClient, api: &str, body: Value) -> Value {
        walletd_testkit::mini_program::call(client, api, &body).await
    }

    pub async fn call(&self, api: &str, body: Value) -> Value {
        self.call_as(&self.merchant, api, body).await
    }

    /// `user` grants `client_id` (mini program `app_id`) `scopes` with agreement `limits`, and
    /// the client exchanges the auth code with applyToken. Returns the applyToken answer.
    pub async fn grant(
        &self,
        client: &MiniProgramClient,
        client_id: &str,
        app_id: &str,
        user: &str,
        scopes: &str,
        limits: &[(&str, i64)],
    ) -> Value {
        let grant = walletd_core::oauth::Grant {
            client_id: client_id.into(),
            app_id: Some(app_id.into()),
            user_id: user.into(),
            scopes: walletd_core::oauth::parse_scopes(scopes).expect("scopes"),
            agreement_limits: limits.iter().map(|(c, m)| (c.to_string(), *m)).collect(),
        };
        let code = self
            .wallet
            .issue_auth_code(grant, 300)
            .await
            .expect("auth code")
            .code;
        let v = self
            .call_as(
                client,
                "v2/authorizations/applyToken",
                serde_json::json!({"appId": app_id, "authClientId": client_id,
                    "grantType": "AUTHORIZATION_CODE", "authCode": code}),
            )
            .await;
        assert_eq!(result_code(&v), "SUCCESS", "{v}");
        v
    }

    /// The tea merchant's grant from `user`: AGREEMENT_PAY up to `limit_minor` USD a payment.
    /// Returns the access token.
    pub async fn grant_agreement(&self, user: &str, limit_minor: i64) -> String {
        let v = self
            .grant(
                &self.merchant,
                MERCHANT,
                APP_ID,
                user,
                "AGREEMENT_PAY",
                &[("USD", limit_minor)],
            )
            .await;
        v["accessToken"].as_str().expect("accessToken").to_owned()
    }

    /// Available balance of an account in USD, minor units (0 if it has none).
    pub async fn available(&self, kind: AccountKind, owner: &str) -> i64 {
        self.wallet
            .accounts_of(kind, owner)
            .await
            .expect("accounts")
            .first()
            .map(|a| a.available_balance())
            .unwrap_or(0)
    }

    /// Makes the tea merchant a store (USD, one 40.00 product) and gives it an HMAC key.
    pub async fn make_store(&self) -> (StoreKey, i64) {
        let now = self.wallet.now();
        self.wallet
            .store_set_config(StoreConfig {
                client_id: MERCHANT.into(),
                currency: Currency::from_code("USD").expect("USD"),
                min_purchase_minor: 0,
                gateway_url: None,
                support_email: None,
                updated_at: now,
            })
            .await
            .expect("store config");
        let key = self
            .wallet
            .store_add_key(NewStoreKey {
                client_id: MERCHANT.into(),
                mode: StoreKeyMode::Hmac,
                expiration_secs: 300,
                sections: vec!["store".into()],
            })
            .await
            .expect("store key");
        let product = self
            .wallet
            .store_add_product(MERCHANT, "Season pass", usd(4000))
            .await
            .expect("product");
        (key, product.product_id)
    }

    /// A signed store API call (`api.php?go=store&do=ACTION&iq=IQ`) with url-encoded `fields`.
    pub async fn store_call(&self, key: &StoreKey, action: &str, iq: &str, fields: &[(&str, &str)]) -> Value {
        self.store_call_signed(key, action, iq, fields).await.0
    }

    /// Like [`CoreApp::store_call`]; also returns the signature it sent.
    pub async fn store_call_signed(
        &self,
        key: &StoreKey,
        action: &str,
        iq: &str,
        fields: &[(&str, &str)],
    ) -> (Value, String) {
        let signing = self
            .store_api
            .signing(&StoreCredential::from(key), self.wallet.now());
        let signature = signing.signature.clone().expect("a signature");
        let call = fields
            .iter()
            .fold(StoreCall::new(action, Some(iq)), |call, (name, value)| {
                call.field(name, value)
            });
        (self.store_api.send(call, &signing).await, signature)
    }
}

pub use walletd_testkit::mini_program::{result_code, result_message};

/// Everything every test of this binary logs, at `debug` (and `trace` for the PostgreSQL client
/// crates, as an operator's `RUST_LOG` might ask), through the same filters `walletd serve` uses.
/// Installed once, process-wide, so that the storage threads' events are captured too.
pub fn captured_logs() -> &'static Arc<std::sync::Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<std::sync::Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        use tracing_subscriber::layer::SubscriberExt as _;
        use tracing_subscriber::util::SubscriberInitExt as _;
        let buffer = Arc::new(std::sync::Mutex::new(Vec::new()));
        let writer = LogBuffer(buffer.clone());
        tracing_subscriber::registry()
            .with(tracing_subscriber::EnvFilter::new(
                "debug,tokio_postgres=trace,postgres=trace,walletd_server=trace,walletd_core=trace",
            ))
            .with(walletd_server::logging::never_log_parameters())
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(move || writer.clone()),
            )
            .try_init()
            .expect("the capturing subscriber is the first");
        buffer
    })
}

/// The most bytes of log kept (far more than a test run writes); beyond it the test fails
/// rather than grep a truncated log.
const MAX_LOG_BYTES: usize = 256 * 1024 * 1024;

#[derive(Clone)]
struct LogBuffer(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let mut b = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if b.len() + bytes.len() > MAX_LOG_BYTES {
            return Err(std::io::Error::other("log capture is full"));
        }
        b.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The captured log as text.
pub fn log_text() -> String {
    let b = captured_logs().lock().unwrap_or_else(|e| e.into_inner());
    assert!(b.len() < MAX_LOG_BYTES, "the log capture overflowed");
    String::from_utf8_lossy(&b).into_owned()
}
