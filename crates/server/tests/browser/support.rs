//! Shared by the `browser` and `notifier` test binaries: the shared test walletd
//! (`walletd_testkit::TestApp`) with a registered merchant and users with PINs, signed pay calls,
//! and a fake merchant that serves a return page and records the notifications it receives.

#![allow(dead_code)]

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tempfile::TempDir;
use walletd_core::outbox::{OutboxEntry, OutboxStatus};
use walletd_core::parties::{Client, User};
use walletd_core::Wallet;
use walletd_protocol::crypto::PrivateKey;
use walletd_server::Config;

pub const CLIENT_ID: &str = "test-merchant";
pub const CLIENT_NAME: &str = "Test Tea House";
pub const PARTNER_ID: &str = "P-test";
pub const APP_ID: &str = "app-1";

/// A wallet user of the tests.
pub struct TestUser {
    pub id: &'static str,
    pub login: &'static str,
    pub name: &'static str,
    pub pin: &'static str,
    /// (currency, decimal amount)
    pub top_ups: &'static [(&'static str, &'static str)],
}

pub const USERS: &[TestUser] = &[
    TestUser {
        id: "alice",
        login: "+15550000001",
        name: "Alice Rivera",
        pin: "123456",
        top_ups: &[("USD", "500.00"), ("JPY", "30000"), ("KWD", "50.000")],
    },
    TestUser {
        id: "bob",
        login: "+15550000002",
        name: "Bob Santos",
        pin: "654321",
        top_ups: &[("USD", "5.00")],
    },
];

pub fn merchant_key() -> &'static PrivateKey {
    walletd_testkit::shared_key(0)
}

pub use walletd_testkit::{amount, wait_for};

/// The tests' settings: fast sweep and notifier, a short retry schedule.
fn quick_notifier(config: &mut Config) {
    config.sweep_interval_ms = 50;
    // Fake merchants listen on loopback.
    config.notifier.allow_private_targets = true;
    config.notifier.poll_interval_ms = 50;
    config.notifier.timeout_ms = 2_000;
    config.notifier.retry_gaps_ms = vec![100, 100, 100];
    config.notifier.jitter_percent = 0;
}

/// The shared test walletd (`walletd_testkit::TestApp`) with this binary's notification helpers.
pub struct TestApp {
    app: walletd_testkit::TestApp,
}

impl Deref for TestApp {
    type Target = walletd_testkit::TestApp;

    fn deref(&self) -> &walletd_testkit::TestApp {
        &self.app
    }
}

impl TestApp {
    /// Stops the server and its workers, waits for them, and hands back the data directory
    /// (`None` when the caller owns it).
    pub async fn stop(self) -> Option<TempDir> {
        self.app.stop().await
    }

    /// Waits (bounded) until the notification about `payment_id` is no longer PENDING.
    pub async fn settled_notification(&self, payment_id: &str, within: Duration) -> OutboxEntry {
        wait_for(within, || async {
            self.notification_of(payment_id)
                .await
                .filter(|e| e.status != OutboxStatus::Pending)
        })
        .await
        .unwrap_or_else(|| panic!("the notification of {payment_id} did not settle within {within:?}"))
    }

    pub async fn notification_of(&self, payment_id: &str) -> Option<OutboxEntry> {
        self.wallet
            .list_notifications(1000)
            .await
            .expect("outbox")
            .into_iter()
            .find(|e| e.subject_id == payment_id)
    }
}

/// A fresh walletd with the test merchant and users.
pub async fn spawn_app(configure: impl FnOnce(&mut Config)) -> TestApp {
    let opened = walletd_testkit::TestApp::builder()
        .configure(quick_notifier)
        .configure(configure)
        .open();
    seed(&opened.wallet).await;
    TestApp {
        app: opened.start().await,
    }
}

/// A walletd on an existing data directory (a restart).
pub async fn spawn_on(data_dir: &Path, configure: impl FnOnce(&mut Config)) -> TestApp {
    let app = walletd_testkit::TestApp::builder()
        .data_dir_at(data_dir)
        .configure(quick_notifier)
        .configure(configure)
        .spawn()
        .await;
    TestApp { app }
}

async fn seed(wallet: &Wallet) {
    let now = wallet.now();
    let mut c = Client::new(CLIENT_ID, CLIENT_NAME, now);
    c.partner_id = PARTNER_ID.into();
    c.app_ids = vec![APP_ID.into()];
    c.add_key("RSA256", &merchant_key().public_key().to_spki_pem(), now);
    wallet.add_client(c).await.expect("client");
    for t in USERS {
        let mut u = User::new(t.id, t.login, t.name, now);
        u.pin_hash = Some(walletd_testkit::pin_hash(t.pin));
        wallet.add_user(u).await.expect("user");
        for (cur, value) in t.top_ups {
            wallet.top_up(t.id, amount(cur, value)).await.expect("top up");
        }
    }
}

// ---- signed calls ----

/// Sends a signed Mini Program request (`/api/v1/...`, `/api/v2/...`) as the test merchant
/// through the merchant SDK, which checks the answer's signature with the wallet's key, and
/// returns the answer body.
pub async fn call(app: &TestApp, api_path: &str, body: &Value) -> Value {
    let merchant = app.mini_program(CLIENT_ID, merchant_key());
    walletd_testkit::mini_program::call(&merchant, api_path.trim_start_matches("/api/"), body).await
}

/// What a cashier payment needs.
pub struct PayOptions<'a> {
    pub version: u8,
    pub currency: &'a str,
    pub value: &'a str,
    pub title: &'a str,
    pub merchant_name: Option<&'a str>,
    pub return_url: Option<String>,
    pub notify_url: Option<String>,
    pub expiry_time: Option<String>,
}

impl Default for PayOptions<'_> {
    fn default() -> Self {
        PayOptions {
            version: 1,
            currency: "USD",
            value: "1250",
            title: "Two cups of tea",
            merchant_name: None,
            return_url: None,
            notify_url: None,
            expiry_time: None,
        }
    }
}

/// A cashier payment made through the real pay API: (paymentId, redirection URL).
pub async fn create_payment(app: &TestApp, o: PayOptions<'_>) -> (String, String) {
    let request_id = format!("req-{}", rand_suffix());
    let mut order = json!({"referenceOrderId": format!("order-{request_id}"), "orderDescription": o.title});
    if let Some(name) = o.merchant_name {
        order["merchant"] =
            json!({"referenceMerchantId": "m-1", "merchantMCC": "5812", "merchantName": name});
    }
    let amount = json!({"currency": o.currency, "value": o.value});
    let answer = if o.version == 1 {
        let mut body = json!({
            "partnerId": PARTNER_ID,
            "paymentOrderTitle": o.title,
            "paymentRequestId": request_id,
            "paymentAmount": amount,
            "paymentFactor": {"isCashierPayment": true},
            "extraParams": {"ORDER": order.to_string()},
        });
        if let Some(u) = o.return_url {
            body["paymentReturnUrl"] = json!(u);
        }
        if let Some(u) = o.notify_url {
            body["paymentNotifyUrl"] = json!(u);
        }
        if let Some(t) = o.expiry_time {
            body["paymentExpiryTime"] = json!(t);
        }
        call(app, "/api/v1/payments/pay", &body).await
    } else {
        let mut body = json!({
            "appId": APP_ID,
            "productCode": "CASHIER_PAYMENT",
            "paymentRequestId": request_id,
            "paymentAmount": amount,
            "order": order,
        });
        if let Some(u) = o.return_url {
            body["paymentRedirectUrl"] = json!(u);
        }
        if let Some(u) = o.notify_url {
            body["paymentNotifyUrl"] = json!(u);
        }
        if let Some(t) = o.expiry_time {
            body["paymentExpiryTime"] = json!(t);
        }
        call(app, "/api/v2/payments/pay", &body).await
    };
    assert_eq!(answer["result"]["resultStatus"], "A", "{answer}");
    let payment_id = answer["paymentId"].as_str().expect("paymentId").to_owned();
    let url = if o.version == 1 {
        answer["actionForm"]["redirectionUrl"].as_str()
    } else {
        answer["redirectActionForm"]["redirectUrl"].as_str()
    }
    .expect("cashier link")
    .to_owned();
    (payment_id, url)
}

fn rand_suffix() -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{}-{}",
        chrono::Utc::now().timestamp_micros(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

// ---- the fake merchant ----

/// How the fake merchant answers notifications.
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    /// `{"result":{"resultStatus":"S",...}}`.
    Ack,
    /// Answers F (then U, then HTTP 500, in turn) `failures` times, then acks.
    FailThenAck { failures: usize },
    /// Reads the request and never answers.
    Silent,
    /// Acks after waiting this long.
    SlowAck { delay_ms: u64 },
}

use walletd_testkit::merchant;
/// One notification as the merchant received it (the notifier binary reads them).
#[allow(unused_imports)]
pub use walletd_testkit::merchant::Received;

/// The test merchant (`walletd_testkit::merchant::FakeMerchant`): a return page, and a
/// notification endpoint that answers as told.
pub struct FakeMerchant(merchant::FakeMerchant);

impl Deref for FakeMerchant {
    type Target = merchant::FakeMerchant;

    fn deref(&self) -> &merchant::FakeMerchant {
        &self.0
    }
}

impl FakeMerchant {
    pub async fn start(answer: Answer) -> FakeMerchant {
        let pages = Router::new().route("/shop/return", get(return_page));
        FakeMerchant(
            merchant::FakeMerchant::start_with_pages(pages, move |_, n| Box::pin(reply(answer, n))).await,
        )
    }

    pub fn return_url(&self) -> String {
        self.url("/shop/return?order=42")
    }

    pub fn notify_url(&self) -> String {
        self.url("/shop/notify?shop=tea")
    }
}

async fn return_page() -> Html<&'static str> {
    Html(
        "<!doctype html><meta name=viewport content='width=device-width'><title>Tea House</title>\
         <h1 id=shop-return>Back at the Tea House</h1>",
    )
}

/// The answer to the `n`-th notification.
async fn reply(answer: Answer, n: usize) -> Response {
    let ack = || axum::Json(walletd_protocol::miniprogram::notification_ack()).into_response();
    match answer {
        Answer::Ack => ack(),
        Answer::FailThenAck { failures } if n <= failures => match n % 3 {
            1 => axum::Json(
                json!({"result":{"resultCode":"PROCESS_FAIL","resultStatus":"F","resultMessage":"busy"}}),
            )
            .into_response(),
            2 => axum::Json(
                json!({"result":{"resultCode":"UNKNOWN_EXCEPTION","resultStatus":"U","resultMessage":"?"}}),
            )
            .into_response(),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "oops").into_response(),
        },
        Answer::FailThenAck { .. } => ack(),
        Answer::Silent => {
            tokio::time::sleep(Duration::from_secs(600)).await;
            ack()
        }
        Answer::SlowAck { delay_ms } => {
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            ack()
        }
    }
}

// ---- artifacts ----

/// Where tests leave files for CI to keep: `$WALLETD_ARTIFACTS_DIR`, default `target/artifacts`
/// at the workspace root.
pub fn artifacts_dir() -> PathBuf {
    let dir = std::env::var_os("WALLETD_ARTIFACTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/artifacts"));
    std::fs::create_dir_all(&dir).expect("artifacts dir");
    dir
}
