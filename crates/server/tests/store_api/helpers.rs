//! `spawn_store()`: a real walletd on port 0 with a fresh data directory and a manual clock, a
//! store client with a store configuration, products and HMAC/MD5 keys, and a small signed-request
//! helper for the `api.php` dialect.
//!
//! The request helper's shape (for the SDK of this dialect): a [`StoreCredential`] (key id,
//! secret, mode) signs `salt . timestamp`; [`StoreCall`] holds the GET vars (`go`, `do`, `iq`),
//! the POST vars and how to send them (url-encoded or multipart, GET or POST); the helper adds
//! `timestamp`, `salt`, `key`, `signature` and returns the decoded JSON answer.

use chrono::Utc;
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use tempfile::TempDir;
use walletd_client::MiniProgramClient;
use walletd_core::clock::{ManualClock, RandomIds};
use walletd_core::parties::{Client, User};
use walletd_core::store::{NewStoreKey, StoreConfig, StoreKey, StoreKeyMode, StoreProduct};
use walletd_core::Wallet;
use walletd_protocol::crypto::{Algorithm, PrivateKey};
use walletd_protocol::store_signature::{store_sign, StoreSignatureMode};
use walletd_protocol::{Amount, Currency};
use walletd_server::{Application, Config};

pub const STORE: &str = "webtv-store";
pub const PARTNER: &str = "P-webtv";
/// A second store, for "not yours" cases.
pub const OTHER_STORE: &str = "other-store";
/// Every key of the test stores accepts requests this many seconds old.
pub const WINDOW_SECS: i64 = 300;

pub fn usd() -> Currency {
    Currency::from_code("USD").expect("USD")
}

pub fn usd_minor(minor: i64) -> Amount {
    Amount::from_minor(usd(), minor).expect("amount")
}

/// The store's Mini Program key (for the cross-dialect test); RSA generation is slow-ish.
pub fn merchant_key() -> &'static PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| PrivateKey::generate(Algorithm::Rsa256).expect("key"))
}

/// What signs a request: a store key's id, secret and mode.
#[derive(Debug, Clone)]
pub struct StoreCredential {
    pub key_id: String,
    pub secret: String,
    pub mode: StoreSignatureMode,
}

impl From<&StoreKey> for StoreCredential {
    fn from(k: &StoreKey) -> Self {
        StoreCredential {
            key_id: k.key_id.clone(),
            secret: k.secret.clone(),
            mode: match k.mode {
                StoreKeyMode::Hmac => StoreSignatureMode::Hmac,
                StoreKeyMode::Md5 => StoreSignatureMode::Md5,
            },
        }
    }
}

/// How the POST vars travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    UrlEncoded,
    /// What PHP's curl sends for an array of POST fields.
    Multipart,
}

/// One request of the dialect, before signing.
#[derive(Debug, Clone)]
pub struct StoreCall {
    pub method: reqwest::Method,
    /// GET vars: `go`, `do`, `iq`, or anything a test wants to send (in order).
    pub get_vars: Vec<(String, String)>,
    pub post_vars: Vec<(String, String)>,
    pub body: BodyKind,
}

impl StoreCall {
    /// `go=store&do=ACTION` (and `iq` when given), POST, url-encoded.
    pub fn new(action: &str, iq: Option<&str>) -> Self {
        let mut get_vars = vec![
            ("go".to_owned(), "store".to_owned()),
            ("do".to_owned(), action.to_owned()),
        ];
        if let Some(iq) = iq {
            get_vars.push(("iq".to_owned(), iq.to_owned()));
        }
        StoreCall {
            method: reqwest::Method::POST,
            get_vars,
            post_vars: Vec::new(),
            body: BodyKind::UrlEncoded,
        }
    }

    pub fn field(mut self, name: &str, value: &str) -> Self {
        self.post_vars.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn multipart(mut self) -> Self {
        self.body = BodyKind::Multipart;
        self
    }

    pub fn method(mut self, m: reqwest::Method) -> Self {
        self.method = m;
        self
    }

    /// Replaces (or adds) one GET var.
    pub fn get_var(mut self, name: &str, value: &str) -> Self {
        self.get_vars.retain(|(n, _)| n != name);
        self.get_vars.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn without_get_var(mut self, name: &str) -> Self {
        self.get_vars.retain(|(n, _)| n != name);
        self
    }
}

/// The signing GET vars of one request; tests change or drop them to provoke errors.
#[derive(Debug, Clone)]
pub struct Signing {
    pub key: Option<String>,
    pub timestamp: Option<String>,
    pub salt: Option<String>,
    pub signature: Option<String>,
}

pub struct TestStore {
    pub base_url: String,
    pub wallet: Wallet,
    pub clock: Arc<ManualClock>,
    /// The HMAC key of [`STORE`].
    pub hmac: StoreCredential,
    /// The MD5-mode key of [`STORE`].
    pub md5: StoreCredential,
    /// Products of [`STORE`]: 4.50, 0.29, 0.10, 0.20 and 25.00 USD.
    pub movie: StoreProduct,
    pub pixel: StoreProduct,
    pub dime: StoreProduct,
    pub twenty: StoreProduct,
    pub season: StoreProduct,
    pub mini_program: MiniProgramClient,
    pub http: reqwest::Client,
    salt_counter: AtomicU64,
    _data_dir: TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    /// Dropped after the server was told to stop (fields drop in declaration order).
    _pg: Option<PgSchema>,
}

impl Drop for TestStore {
    fn drop(&mut self) {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
    }
}

impl TestStore {
    /// A salt never used before in this test (32 hex digits, like `md5(mt_rand())`).
    pub fn fresh_salt(&self) -> String {
        let n = self.salt_counter.fetch_add(1, Ordering::SeqCst);
        format!("{:032x}", 0x5a17_0000_0000_0000_u64.wrapping_add(n))
    }

    /// Correct signing vars for `cred` at the wallet's current time.
    pub fn signing(&self, cred: &StoreCredential) -> Signing {
        let timestamp = self.wallet.now().timestamp().to_string();
        let salt = self.fresh_salt();
        let signature = store_sign(cred.mode, &cred.secret, &salt, &timestamp);
        Signing {
            key: Some(cred.key_id.clone()),
            timestamp: Some(timestamp),
            salt: Some(salt),
            signature: Some(signature),
        }
    }

    /// Sends `call` signed with the HMAC key and returns the JSON answer.
    pub async fn call(&self, call: StoreCall) -> Value {
        let signing = self.signing(&self.hmac);
        self.send(call, &signing).await
    }

    /// Sends `call` with exactly these signing vars; asserts HTTP 200 and a JSON body.
    pub async fn send(&self, call: StoreCall, signing: &Signing) -> Value {
        let mut query = call.get_vars.clone();
        for (name, value) in [
            ("timestamp", &signing.timestamp),
            ("salt", &signing.salt),
            ("key", &signing.key),
            ("signature", &signing.signature),
        ] {
            if let Some(v) = value {
                query.push((name.to_owned(), v.clone()));
            }
        }
        let url = format!("{}/api.php?{}", self.base_url, encode(&query));
        self.send_to(&url, call).await
    }

    /// Sends `call` to a URL the test built itself (e.g. with an unencoded `+`).
    pub async fn send_to(&self, url: &str, call: StoreCall) -> Value {
        let mut req = self.http.request(call.method.clone(), url);
        if call.method == reqwest::Method::POST || !call.post_vars.is_empty() {
            req = match call.body {
                BodyKind::UrlEncoded => req
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(encode(&call.post_vars)),
                BodyKind::Multipart => {
                    let boundary = "------------------------d74496d66958873e";
                    req.header(
                        "content-type",
                        format!("multipart/form-data; boundary={boundary}"),
                    )
                    .body(multipart_body(boundary, &call.post_vars))
                }
            };
        }
        let resp = req.send().await.expect("HTTP answer");
        assert_eq!(
            resp.status().as_u16(),
            200,
            "every answer of the dialect is HTTP 200"
        );
        let ct = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        assert!(ct.starts_with("application/json"), "content type {ct}");
        let text = resp.text().await.expect("body");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("answer is not JSON ({e}): {text}"))
    }

    /// Asserts the answer is the error `code` / `long`.
    pub async fn expect_error(&self, call: StoreCall, code: &str, long: &str) {
        let answer = self.call(call).await;
        assert_error(&answer, code, long);
    }

    /// Puts products in user `iq`'s cart and places the order; returns the order id.
    pub async fn place(&self, iq: &str, products: &[(&StoreProduct, i64)]) -> String {
        for (p, qty) in products {
            let answer = self
                .call(
                    StoreCall::new("modify_cart", Some(iq))
                        .field("cartAction", "add")
                        .field("productID", &p.product_id.to_string())
                        .field("productQty", &qty.to_string()),
                )
                .await;
            assert_eq!(answer["ok"], "Cart action was performed", "{answer}");
        }
        let answer = self.call(StoreCall::new("place_order", Some(iq))).await;
        assert_eq!(answer["ok"], "Order was placed", "{answer}");
        answer["id"].as_str().expect("order id").to_owned()
    }

    pub async fn cart(&self, iq: &str) -> Value {
        let answer = self.call(StoreCall::new("get_cart", Some(iq))).await;
        answer["data"].clone()
    }

    pub async fn credit(&self, iq: &str) -> String {
        let answer = self.call(StoreCall::new("get_credit", Some(iq))).await;
        answer["data"]["buyer_credit"]
            .as_str()
            .expect("credit")
            .to_owned()
    }

    pub async fn orders(&self, iq: &str) -> Vec<Value> {
        let answer = self.call(StoreCall::new("list_orders", Some(iq))).await;
        answer["list"].as_array().expect("list").clone()
    }

    pub async fn add_payment(&self, iq: &str, amount: &str) -> Value {
        self.call(
            StoreCall::new("add_payment", Some(iq))
                .field("amount", amount)
                .field("description", "Payment through SuperGateway, ID: 154YTR984YX"),
        )
        .await
    }

    /// The store's merchant balance in minor units.
    pub async fn merchant_balance(&self) -> i64 {
        self.wallet
            .accounts_of(walletd_core::ledger::AccountKind::Merchant, STORE)
            .await
            .expect("accounts")
            .first()
            .map(|a| a.available_balance())
            .unwrap_or(0)
    }

    /// What the store's gateway said it collected, less the credit the store gave out of it
    /// (store side: never the merchant's payable balance).
    pub async fn store_receipts(&self) -> i64 {
        self.wallet
            .accounts_of(walletd_core::ledger::AccountKind::StoreReceipts, STORE)
            .await
            .expect("accounts")
            .first()
            .map(|a| a.available_balance())
            .unwrap_or(0)
    }

    pub async fn assert_books_sound(&self) {
        let report = self.wallet.verify().await.expect("verify");
        assert!(report.is_sound(), "books broken: {:?}", report.problems);
        assert!(report.transfers_checked > 0 || report.accounts_checked == 0);
    }
}

pub fn assert_error(answer: &Value, code: &str, long: &str) {
    assert_eq!(
        answer,
        &serde_json::json!({ "error": code, "error_long": long }),
        "expected {code} / {long}"
    );
}

/// `application/x-www-form-urlencoded` as PHP's `http_build_query` writes it.
pub fn encode(pairs: &[(String, String)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

fn multipart_body(boundary: &str, fields: &[(String, String)]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        body.extend_from_slice(format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes());
        body.extend_from_slice(value.as_bytes());
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    body
}

/// A fresh schema on the test PostgreSQL server, dropped when the test store goes.
struct PgSchema {
    base_url: String,
    schema: String,
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        if let Err(e) = walletd_core::storage::postgres::drop_schema(&self.base_url, &self.schema) {
            eprintln!("could not drop test schema {}: {e}", self.schema);
        }
    }
}

/// A walletd on the embedded SQLite database.
pub async fn spawn_store() -> TestStore {
    spawn_store_with(None).await
}

/// A walletd on a fresh schema of the test PostgreSQL server; `None` (after saying why) when
/// `WALLETD_TEST_POSTGRES_URL` is not set.
pub async fn spawn_store_on_postgres() -> Option<TestStore> {
    let base_url = walletd_core::storage::postgres::test_database_url()?;
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let schema = format!(
        "walletd_store_api_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst),
        Utc::now().timestamp_subsec_nanos()
    );
    walletd_core::storage::postgres::create_schema(&base_url, &schema).expect("create the test schema");
    Some(spawn_store_with(Some(PgSchema { base_url, schema })).await)
}

async fn spawn_store_with(pg: Option<PgSchema>) -> TestStore {
    let data_dir = tempfile::tempdir().expect("tempdir");
    let mut config = Config {
        listen: "127.0.0.1:0".into(),
        data_dir: data_dir.path().to_path_buf(),
        database: pg
            .as_ref()
            .map(|pg| walletd_core::storage::postgres::url_with_schema(&pg.base_url, &pg.schema)),
        ..Config::default()
    };
    // Fake merchants listen on loopback.
    config.notifier.allow_private_targets = true;
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let ids = Arc::new(RandomIds::seeded(7));
    let wallet = walletd_server::open_wallet(&config, clock.clone(), ids).expect("wallet");
    let now = wallet.now();

    let mut client = Client::new(STORE, "WebTV Store", now);
    client.partner_id = PARTNER.into();
    client.add_key("RSA256", &merchant_key().public_key().to_spki_pem(), now);
    wallet.add_client(client).await.expect("client");
    wallet
        .add_client(Client::new(OTHER_STORE, "Other Store", now))
        .await
        .expect("other client");
    for client_id in [STORE, OTHER_STORE] {
        wallet
            .store_set_config(StoreConfig {
                client_id: client_id.into(),
                currency: usd(),
                min_purchase_minor: 0,
                gateway_url: Some("https://store.example/external_payment_processor.php".into()),
                support_email: Some("admin@store.example".into()),
                updated_at: now,
            })
            .await
            .expect("store config");
    }
    let add_key = |mode| NewStoreKey {
        client_id: STORE.into(),
        mode,
        expiration_secs: WINDOW_SECS,
        sections: vec!["store".into()],
    };
    let hmac = wallet
        .store_add_key(add_key(StoreKeyMode::Hmac))
        .await
        .expect("hmac key");
    let md5 = wallet
        .store_add_key(add_key(StoreKeyMode::Md5))
        .await
        .expect("md5 key");
    let product = |name: &'static str, minor: i64| {
        let wallet = wallet.clone();
        async move {
            wallet
                .store_add_product(STORE, name, usd_minor(minor))
                .await
                .expect("product")
        }
    };
    let movie = product("Movie rental", 450).await;
    let pixel = product("Sticker pack", 29).await;
    let dime = product("Ten cent tip", 10).await;
    let twenty = product("Twenty cent tip", 20).await;
    let season = product("Season pass", 2500).await;
    wallet
        .add_user(User::new("alice", "+15550000001", "Alice", now))
        .await
        .expect("alice");
    wallet.top_up("alice", usd_minor(10_000)).await.expect("top up");

    let app = Application::build_with_wallet(config, wallet.clone())
        .await
        .expect("build");
    let base_url = format!("http://127.0.0.1:{}", app.local_addr().port());
    let wallet_public_key = app.state().wallet_key.public_key();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = app
            .run_until_stopped(async {
                let _ = rx.await;
            })
            .await;
    });
    let mini_program = MiniProgramClient::new(&base_url, STORE, merchant_key().clone(), wallet_public_key);
    TestStore {
        base_url,
        wallet,
        clock,
        hmac: StoreCredential::from(&hmac),
        md5: StoreCredential::from(&md5),
        movie,
        pixel,
        dime,
        twenty,
        season,
        mini_program,
        http: reqwest::Client::new(),
        salt_counter: AtomicU64::new(1),
        _data_dir: data_dir,
        shutdown: Some(tx),
        _pg: pg,
    }
}
