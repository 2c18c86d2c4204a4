//! `spawn_app()` for the AlphaPay dialect: the shared test walletd (`walletd_testkit::TestApp`)
//! with a manual clock, two registered merchants, a funded user, and a fake merchant endpoint
//! (`walletd_testkit::merchant`) that records the notifications it receives. Requests are signed
//! with `walletd_testkit::alphapay`.

use axum::response::IntoResponse;
use base64::Engine as _;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;
use walletd_core::clock::ManualClock;
use walletd_core::parties::{Client, User};
use walletd_core::Wallet;
use walletd_protocol::crypto::PrivateKey;
use walletd_protocol::{time, Amount};
use walletd_server::Config;
pub use walletd_testkit::alphapay::{fresh_nonce, ApAnswer, ApRequest};
pub use walletd_testkit::assert_books_sound;

pub const MERCHANT: &str = "CXVJIU";
pub const OTHER_MERCHANT: &str = "OTHR01";
pub const PAYER: &str = "alice";

pub fn merchant_key() -> &'static PrivateKey {
    walletd_testkit::shared_key(0)
}

pub fn other_key() -> &'static PrivateKey {
    walletd_testkit::shared_key(1)
}

pub fn cad(minor: i64) -> Amount {
    walletd_testkit::money("CAD", minor)
}

pub use walletd_testkit::merchant::{FakeMerchant, Received};

pub struct TestApp {
    app: walletd_testkit::TestApp,
    pub clock: Arc<ManualClock>,
    /// Where the fake merchant listens, e.g. `http://127.0.0.1:PORT`.
    pub merchant_base_url: String,
    /// The merchant's notification endpoint: records every POST and acknowledges it.
    pub merchant: FakeMerchant,
}

impl Deref for TestApp {
    type Target = walletd_testkit::TestApp;

    fn deref(&self) -> &walletd_testkit::TestApp {
        &self.app
    }
}

impl TestApp {
    /// Stops the server, waits for it, and hands back its data directory.
    pub async fn stop(self) -> TempDir {
        self.app.stop().await.expect("the app's own data directory")
    }

    /// A request to `<prefix>/v2.0/<endpoint>` from [`MERCHANT`], signed now with a fresh nonce.
    pub fn request(&self, endpoint: &str, body: impl Into<String>) -> ApRequest {
        ApRequest {
            path: format!("/api/v2.0/{endpoint}"),
            merchant_code: MERCHANT.into(),
            key: merchant_key().clone(),
            key_version: 1,
            request_time: time::format_response_time(self.wallet.now().fixed_offset()),
            nonce: fresh_nonce(),
            body: body.into(),
        }
    }

    /// Sends `req` with its signed headers.
    pub async fn send(&self, req: &ApRequest) -> ApAnswer {
        self.send_with_headers(req, req.signed_headers()).await
    }

    /// Sends `req`'s body to its path with exactly `headers`.
    pub async fn send_with_headers(&self, req: &ApRequest, headers: Vec<(String, String)>) -> ApAnswer {
        walletd_testkit::alphapay::send_raw(&self.base_url, req, headers).await
    }

    /// Sends and checks the answer's signature, returning its JSON.
    pub async fn call(&self, endpoint: &str, body: impl Into<String>) -> serde_json::Value {
        let req = self.request(endpoint, body);
        let answer = self.send(&req).await;
        answer.assert_signed(self, &req.path, MERCHANT);
        answer.json
    }

    /// Waits (bounded) until the fake merchant has received `n` notifications.
    pub async fn wait_for_notifications(&self, n: usize) -> Vec<Received> {
        self.merchant.wait_received(n, Duration::from_secs(10)).await
    }

    pub async fn payment_count(&self) -> usize {
        self.wallet.list_payments(None, 1000).await.unwrap().len()
    }
}

/// A decoded `paymentQRImage`: the text of the QR code in it.
pub fn decode_qr_image(data_uri: &str) -> String {
    let b64 = data_uri
        .strip_prefix("data:image/png;base64,")
        .expect("a PNG data URI");
    let png = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("base64");
    let img = image::load_from_memory_with_format(&png, image::ImageFormat::Png)
        .expect("a PNG")
        .to_luma8();
    let (w, h) = img.dimensions();
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(w as usize, h as usize, |x, y| {
        img.get_pixel(x as u32, y as u32).0[0]
    });
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the image");
    let (_meta, text) = grids[0].decode().expect("the QR code decodes");
    text
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Spawns walletd with a configuration changed by `configure`.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Config)) -> TestApp {
    let data_dir = tempfile::tempdir().expect("tempdir");
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    spawn_on(data_dir, clock, true, configure).await
}

/// Spawns walletd on an existing data directory (`seed` only the first time).
pub async fn spawn_on(
    data_dir: TempDir,
    clock: Arc<ManualClock>,
    seed_parties: bool,
    configure: impl FnOnce(&mut Config),
) -> TestApp {
    let merchant = FakeMerchant::start(|_, _| {
        Box::pin(async {
            r#"{"result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success"}}"#
                .into_response()
        })
    })
    .await;
    let opened = walletd_testkit::TestApp::builder()
        .data_dir(data_dir)
        .clock(clock.clone())
        .configure(|config| {
            config.sweep_interval_ms = 50;
            // Fake merchants listen on loopback.
            config.notifier.allow_private_targets = true;
            config.notifier.poll_interval_ms = 50;
        })
        .configure(configure)
        .open();
    if seed_parties {
        seed(&opened.wallet).await;
    }
    TestApp {
        app: opened.start().await,
        clock,
        merchant_base_url: merchant.base_url.clone(),
        merchant,
    }
}

async fn seed(wallet: &Wallet) {
    let now = wallet.now();
    for (code, key) in [(MERCHANT, merchant_key()), (OTHER_MERCHANT, other_key())] {
        let mut c = Client::new(code, "Maple Tea House", now);
        c.add_key("RSA256", &key.public_key().to_spki_base64(), now);
        wallet.add_client(c).await.expect("client");
    }
    wallet
        .add_user(User::new(PAYER, "+15550000001", "Alice", now))
        .await
        .expect("user");
    wallet.top_up(PAYER, cad(1_000_000)).await.expect("top up");
}

/// The body of a pay request.
pub fn pay_body(request_id: &str, value: &str, notify_url: Option<&str>) -> String {
    let notify = notify_url.map_or(String::new(), |u| format!(r#","notifyUrl":"{u}""#));
    format!(
        r#"{{"scenarioCode":"ONLINE_QRCODE","paymentRequestId":"{request_id}","order":{{"orderAmount":{{"value":"{value}","currency":"CAD"}},"description":"Two cups of tea","redirectUrl":"https://shop.example/done"{notify}}},"paymentMethod":{{"paymentMethodType":"Alipay"}}}}"#
    )
}

/// Pays `value` minor units as [`MERCHANT`] and returns the payment id.
pub async fn create_payment(app: &TestApp, request_id: &str, value: &str) -> String {
    let v = app.call("payments/pay", pay_body(request_id, value, None)).await;
    assert_eq!(v["result"]["resultCode"], "PAYMENT_IN_PROCESS", "{v}");
    v["paymentId"].as_str().expect("paymentId").to_owned()
}

/// The payer approves (what the cashier's Pay button does).
pub async fn confirm(app: &TestApp, payment_id: &str) {
    let outcome = app
        .wallet
        .confirm_payment(payment_id, PAYER)
        .await
        .expect("confirm");
    let p = walletd_core::wallet::approval_payment(&outcome);
    assert_eq!(p.status.as_str(), "SUCCESS", "{outcome:?}");
}

pub async fn inquiry_status(app: &TestApp, payment_id: &str) -> String {
    let v = app
        .call(
            "payments/inquiryPayment",
            format!(r#"{{"paymentId":"{payment_id}"}}"#),
        )
        .await;
    assert_eq!(v["result"]["resultCode"], "SUCCESS", "{v}");
    v["paymentStatus"].as_str().expect("paymentStatus").to_owned()
}
