//! The wallet pages' attack harness: a real walletd on port 0 (served with connection info, as
//! `walletd serve` does) with a registered merchant and users with PINs, signed pay calls, and a
//! browser stand-in (one cookie jar, redirects not followed).

use reqwest::header::{LOCATION, RETRY_AFTER};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use tempfile::TempDir;
use walletd_core::clock::{RandomIds, SystemClock};
use walletd_core::parties::{Client, User};
use walletd_core::Wallet;
use walletd_protocol::crypto::{Algorithm, PrivateKey, PublicKey};
use walletd_protocol::signature::{format_header, SignatureHeader};
use walletd_protocol::{content, time, Amount, Currency};
use walletd_server::{AppState, Application, Config};

pub const CLIENT_ID: &str = "signin-merchant";
pub const APP_ID: &str = "signin-app";
pub const REDIRECT_URL: &str = "https://mini.example/cb";
pub const ALICE_LOGIN: &str = "+15550000001";
pub const ALICE_PIN: &str = "123456";
pub const BOB_LOGIN: &str = "+15550000002";
pub const BOB_PIN: &str = "654321";

fn merchant_key() -> &'static PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| PrivateKey::generate(Algorithm::Rsa256).expect("key"))
}

/// PIN hashes are slow on purpose; every app gets the same two.
fn pin_hash(pin: &'static str) -> String {
    static HASHES: OnceLock<(String, String)> = OnceLock::new();
    let (a, b) = HASHES.get_or_init(|| {
        (
            walletd_server::pin::hash_pin(ALICE_PIN).expect("hash"),
            walletd_server::pin::hash_pin(BOB_PIN).expect("hash"),
        )
    });
    if pin == ALICE_PIN {
        a.clone()
    } else {
        b.clone()
    }
}

pub struct SignInApp {
    pub base_url: String,
    pub wallet: Wallet,
    pub state: AppState,
    wallet_public_key: PublicKey,
    _dir: TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for SignInApp {
    fn drop(&mut self) {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
    }
}

/// A walletd whose sign-in throttles are off unless `configure` turns them on, so that a test
/// sees only the guard it is about.
pub async fn spawn(configure: impl FnOnce(&mut Config)) -> SignInApp {
    spawn_node(None, true, configure).await
}

/// Like [`spawn`], on the PostgreSQL database `database` (seeded only if `seed_it`), so that
/// several nodes can share one wallet.
pub async fn spawn_node(
    database: Option<&str>,
    seed_it: bool,
    configure: impl FnOnce(&mut Config),
) -> SignInApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = Config {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.path().to_path_buf(),
        database: database.map(str::to_owned),
        database_connections: 4,
        ..Config::default()
    };
    config.cashier.sign_in_per_login_per_minute = 0;
    config.cashier.sign_in_per_address_per_minute = 0;
    config.cashier.hash_queue = 256;
    configure(&mut config);
    let wallet = walletd_server::open_wallet(&config, Arc::new(SystemClock), Arc::new(RandomIds::default()))
        .expect("wallet");
    if seed_it {
        seed(&wallet).await;
    }
    let app = Application::build_with_wallet(config, wallet.clone())
        .await
        .expect("build");
    let base_url = format!("http://127.0.0.1:{}", app.local_addr().port());
    let wallet_public_key = app.state().wallet_key.public_key();
    let state = app.state().clone();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        app.run_until_stopped(async {
            let _ = rx.await;
        })
        .await
        .expect("server");
    });
    SignInApp {
        base_url,
        wallet,
        state,
        wallet_public_key,
        _dir: dir,
        shutdown: Some(tx),
    }
}

async fn seed(wallet: &Wallet) {
    let now = wallet.now();
    let mut c = Client::new(CLIENT_ID, "Sign-in Tea House", now);
    c.app_ids = vec![APP_ID.into()];
    c.redirect_urls = vec![REDIRECT_URL.into()];
    c.add_key("RSA256", &merchant_key().public_key().to_spki_pem(), now);
    wallet.add_client(c).await.expect("client");
    for (id, login, pin) in [("alice", ALICE_LOGIN, ALICE_PIN), ("bob", BOB_LOGIN, BOB_PIN)] {
        let mut u = User::new(id, login, id, now);
        u.pin_hash = Some(pin_hash(pin));
        wallet.add_user(u).await.expect("user");
        let usd = Currency::from_code("USD").expect("USD");
        wallet
            .top_up(id, Amount::from_minor(usd, 100_000).expect("amount"))
            .await
            .expect("top up");
    }
}

impl SignInApp {
    pub async fn failed_pin_attempts(&self, user_id: &str) -> u32 {
        self.wallet
            .get_user(user_id)
            .await
            .expect("read")
            .expect("user")
            .failed_pin_attempts
    }

    /// A cashier payment through the signed v2 pay API, optionally held for a named user
    /// (`extendInfo.customerId`); returns the payment id.
    pub async fn cashier_payment(&self, customer: Option<&str>) -> String {
        static N: AtomicUsize = AtomicUsize::new(0);
        let request_id = format!(
            "signin-{}-{}",
            chrono::Utc::now().timestamp_micros(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        let mut body = json!({
            "appId": APP_ID,
            "productCode": "CASHIER_PAYMENT",
            "paymentRequestId": request_id,
            "paymentAmount": {"currency": "USD", "value": "1250"},
            "order": {"referenceOrderId": format!("order-{request_id}"), "orderDescription": "Tea"},
            "paymentRedirectUrl": "https://shop.example/return",
        });
        if let Some(c) = customer {
            // A merchant names a payer only with that user's live AGREEMENT_PAY grant.
            self.grant_agreement(c).await;
            body["extendInfo"] = json!(json!({ "customerId": c }).to_string());
        }
        let answer = self.call("/api/v2/payments/pay", &body).await;
        assert_eq!(answer["result"]["resultStatus"], "A", "{answer}");
        answer["paymentId"].as_str().expect("paymentId").to_owned()
    }

    /// `user` grants the merchant AGREEMENT_PAY (up to 1,000.00 USD a payment) through the consent
    /// code and applyToken, as a merchant would obtain it.
    pub async fn grant_agreement(&self, user: &str) {
        let grant = walletd_core::oauth::Grant {
            client_id: CLIENT_ID.into(),
            app_id: Some(APP_ID.into()),
            user_id: user.into(),
            scopes: walletd_core::oauth::parse_scopes("AGREEMENT_PAY").expect("scopes"),
            agreement_limits: [("USD".to_owned(), 100_000)].into_iter().collect(),
        };
        let code = self
            .wallet
            .issue_auth_code(grant, 300)
            .await
            .expect("auth code")
            .code;
        let answer = self
            .call(
                "/api/v2/authorizations/applyToken",
                &json!({"appId": APP_ID, "authClientId": CLIENT_ID,
                    "grantType": "AUTHORIZATION_CODE", "authCode": code}),
            )
            .await;
        assert_eq!(answer["result"]["resultCode"], "SUCCESS", "{answer}");
    }

    /// A signed Mini Program call whose answer's signature is checked.
    pub async fn call(&self, api_path: &str, body: &Value) -> Value {
        let body = serde_json::to_vec(body).expect("json");
        let request_time = time::format_response_time(chrono::Utc::now().fixed_offset());
        let signed = content::mini_program("POST", api_path, CLIENT_ID, &request_time, &body);
        let raw = merchant_key().sign(&signed).expect("sign");
        let resp = reqwest::Client::new()
            .post(format!("{}{api_path}", self.base_url))
            .header("content-type", "application/json; charset=UTF-8")
            .header("client-id", CLIENT_ID)
            .header("request-time", &request_time)
            .header("signature", format_header(Algorithm::Rsa256, 1, &raw))
            .body(body)
            .send()
            .await
            .expect("send");
        let headers = resp.headers().clone();
        let answer = resp.bytes().await.expect("body");
        let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).expect(n).to_owned();
        let sig = SignatureHeader::parse(&h("signature")).expect("signature header");
        let content = content::mini_program("POST", api_path, CLIENT_ID, &h("response-time"), &answer);
        self.wallet_public_key
            .verify(&content, &sig.signature)
            .expect("the answer is signed by the wallet");
        serde_json::from_slice(&answer).expect("answer json")
    }
}

/// One answer of a wallet page.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub retry_after: Option<String>,
    pub body: String,
}

impl Answer {
    /// The CSRF token of the page's forms.
    pub fn csrf(&self) -> String {
        let marker = "name=\"csrf_token\" value=\"";
        let start = self
            .body
            .find(marker)
            .unwrap_or_else(|| panic!("no form on the page: {}", self.body))
            + marker.len();
        let end = self.body[start..].find('"').expect("end of token") + start;
        self.body[start..end].to_owned()
    }

    /// The notice code the cashier redirect names (`?notice=…`), if any.
    pub fn notice(&self) -> Option<&str> {
        self.location.as_deref()?.split("notice=").nth(1)
    }
}

/// A browser stand-in: one cookie jar, redirects not followed.
#[derive(Clone)]
pub struct Browser {
    http: reqwest::Client,
    base: String,
}

impl Browser {
    pub fn new(app: &SignInApp) -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            base: app.base_url.clone(),
        }
    }

    async fn read(resp: reqwest::Response) -> Answer {
        let status = resp.status().as_u16();
        let header = |n| {
            resp.headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let location = header(LOCATION);
        let retry_after = header(RETRY_AFTER);
        let body = resp.text().await.expect("body");
        Answer {
            status,
            location,
            retry_after,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        Self::read(
            self.http
                .get(format!("{}{path}", self.base))
                .send()
                .await
                .expect("get"),
        )
        .await
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Answer {
        self.post_with(path, form, &[]).await
    }

    pub async fn post_with(&self, path: &str, form: &[(&str, &str)], headers: &[(&str, &str)]) -> Answer {
        let mut req = self.http.post(format!("{}{path}", self.base)).form(form);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Self::read(req.send().await.expect("post")).await
    }

    /// The cashier's CSRF token for `payment_id` in this browser.
    pub async fn cashier_token(&self, payment_id: &str) -> String {
        self.get(&format!("/cashier/{payment_id}")).await.csrf()
    }

    /// The payment-code page's CSRF token in this browser.
    pub async fn payment_code_token(&self) -> String {
        self.get("/wallet/payment-code").await.csrf()
    }

    pub async fn cashier_sign_in(&self, payment_id: &str, token: &str, login: &str, pin: &str) -> Answer {
        self.post(
            &format!("/cashier/{payment_id}/sign-in"),
            &[("csrf_token", token), ("login", login), ("pin", pin)],
        )
        .await
    }

    pub async fn payment_code_sign_in(&self, token: &str, login: &str, pin: &str) -> Answer {
        self.post(
            "/wallet/payment-code",
            &[("csrf_token", token), ("login", login), ("pin", pin)],
        )
        .await
    }
}

/// The consent page's path for this client.
pub fn consent_path(redirect_url: Option<&str>) -> String {
    let mut path = format!("/oauth/authorize?clientId={CLIENT_ID}&appId={APP_ID}&scopes=auth_base&state=s1");
    if let Some(u) = redirect_url {
        let encoded: String = form_urlencoded::byte_serialize(u.as_bytes()).collect();
        path.push_str(&format!("&redirectUrl={encoded}"));
    }
    path
}

/// A fresh PostgreSQL schema for one test (dropped at the end), or `None` without
/// `WALLETD_TEST_POSTGRES_URL`.
pub struct PostgresSchema {
    base: String,
    name: String,
}

impl PostgresSchema {
    pub fn new(tag: &str) -> Option<PostgresSchema> {
        let Some(base) = std::env::var("WALLETD_TEST_POSTGRES_URL")
            .ok()
            .filter(|u| !u.trim().is_empty())
        else {
            println!("skipped: WALLETD_TEST_POSTGRES_URL not set");
            return None;
        };
        let name = format!("walletd_signin_{tag}_{}", std::process::id());
        let _ = walletd_core::storage::postgres::drop_schema(&base, &name);
        walletd_core::storage::postgres::create_schema(&base, &name).expect("create schema");
        Some(PostgresSchema { base, name })
    }

    pub fn url(&self) -> String {
        walletd_core::storage::postgres::url_with_schema(&self.base, &self.name)
    }
}

impl Drop for PostgresSchema {
    fn drop(&mut self) {
        let _ = walletd_core::storage::postgres::drop_schema(&self.base, &self.name);
    }
}
