//! `spawn_store()`: the shared test walletd (`walletd_testkit::TestApp`) with a manual clock, a
//! store client with a store configuration, products and HMAC/MD5 keys, and the store API's
//! signed requests (`walletd_testkit::store_api`) as that store.

use serde_json::Value;
use std::ops::Deref;
use std::sync::Arc;
use walletd_client::MiniProgramClient;
use walletd_core::clock::{ManualClock, RandomIds};
use walletd_core::parties::{Client, User};
use walletd_core::store::{NewStoreKey, StoreConfig, StoreKeyMode, StoreProduct};
use walletd_protocol::crypto::PrivateKey;
use walletd_protocol::{Amount, Currency};
use walletd_testkit::store_api::StoreApi;
pub use walletd_testkit::store_api::{assert_error, encode, Signing, StoreCall, StoreCredential};
use walletd_testkit::PgSchema;

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

/// The store's Mini Program key (for the cross-dialect test).
pub fn merchant_key() -> &'static PrivateKey {
    walletd_testkit::shared_key(0)
}

pub struct TestStore {
    app: walletd_testkit::TestApp,
    api: StoreApi,
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
}

impl Deref for TestStore {
    type Target = walletd_testkit::TestApp;

    fn deref(&self) -> &walletd_testkit::TestApp {
        &self.app
    }
}

impl TestStore {
    /// A salt never used before in this test (32 hex digits, like `md5(mt_rand())`).
    pub fn fresh_salt(&self) -> String {
        self.api.fresh_salt()
    }

    /// Correct signing vars for `cred` at the wallet's current time.
    pub fn signing(&self, cred: &StoreCredential) -> Signing {
        self.api.signing(cred, self.wallet.now())
    }

    /// Sends `call` signed with the HMAC key and returns the JSON answer.
    pub async fn call(&self, call: StoreCall) -> Value {
        self.api.call(&self.hmac, self.wallet.now(), call).await
    }

    /// Sends `call` with exactly these signing vars; asserts HTTP 200 and a JSON body.
    pub async fn send(&self, call: StoreCall, signing: &Signing) -> Value {
        self.api.send(call, signing).await
    }

    /// Sends `call` to a URL the test built itself (e.g. with an unencoded `+`).
    pub async fn send_to(&self, url: &str, call: StoreCall) -> Value {
        self.api.send_to(url, call).await
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

/// A walletd on the embedded SQLite database.
pub async fn spawn_store() -> TestStore {
    spawn_store_with(None).await
}

/// A walletd on a fresh schema of the test PostgreSQL server; `None` (after saying why) when
/// `WALLETD_TEST_POSTGRES_URL` is not set.
pub async fn spawn_store_on_postgres() -> Option<TestStore> {
    let schema = PgSchema::fresh("store_api")?;
    Some(spawn_store_with(Some(schema)).await)
}

async fn spawn_store_with(pg: Option<PgSchema>) -> TestStore {
    let mut builder = walletd_testkit::TestApp::builder()
        .manual_clock()
        .ids(Arc::new(RandomIds::seeded(7)))
        // Fake merchants listen on loopback.
        .configure(|config| config.notifier.allow_private_targets = true);
    if let Some(pg) = pg {
        builder = builder.postgres(pg);
    }
    let opened = builder.open();
    let wallet = opened.wallet.clone();
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

    let app = opened.start().await;
    let mini_program = app.mini_program(STORE, merchant_key());
    TestStore {
        api: StoreApi::new(&app.base_url),
        clock: app.clock().clone(),
        hmac: StoreCredential::from(&hmac),
        md5: StoreCredential::from(&md5),
        movie,
        pixel,
        dime,
        twenty,
        season,
        mini_program,
        app,
    }
}
