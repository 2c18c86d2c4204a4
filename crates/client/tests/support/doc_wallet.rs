//! The shared test walletd in-process, for the SDK's doctests and integration tests: a fresh
//! data directory, port 0, a registered merchant and a funded user.
#![allow(dead_code)]

use std::ops::Deref;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue};
use walletd_core::parties::{Client, User};
use walletd_protocol::crypto::{Algorithm, PrivateKey, PublicKey};
use walletd_protocol::{content, time};
use walletd_server::Config;

pub const CLIENT_ID: &str = "sdk-merchant";
pub const PARTNER_ID: &str = "P-sdk";
pub const APP_ID: &str = "app-1";
pub const PAYER: &str = "alice";
/// The AlphaPay merchant (a Merchant-Code is 4 to 6 letters or digits), same key pair.
pub const MERCHANT_CODE: &str = "SDKM01";

/// One merchant key pair for every test of a binary (RSA generation is slow-ish).
pub fn merchant_key() -> &'static PrivateKey {
    walletd_testkit::shared_key(0)
}

/// The shared test walletd (`walletd_testkit::TestApp`) with the SDK's merchant and payer.
pub struct DocWallet {
    app: walletd_testkit::TestApp,
}

impl Deref for DocWallet {
    type Target = walletd_testkit::TestApp;

    fn deref(&self) -> &walletd_testkit::TestApp {
        &self.app
    }
}

impl DocWallet {
    /// A sandbox walletd (reserved amounts honoured) with the merchant and alice (1,000.00 USD).
    pub async fn start() -> DocWallet {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(configure: impl FnOnce(&mut Config)) -> DocWallet {
        let opened = walletd_testkit::TestApp::builder()
            .configure(|config| {
                config.sandbox = true;
                config.sweep_interval_ms = 50;
                // Fake merchants listen on loopback.
                config.notifier.allow_private_targets = true;
            })
            .configure(configure)
            .open();
        let wallet = &opened.wallet;
        let now = wallet.now();
        let mut client = Client::new(CLIENT_ID, "SDK Tea House", now);
        client.partner_id = PARTNER_ID.into();
        client.app_ids = vec![APP_ID.into()];
        client.add_key("RSA256", &merchant_key().public_key().to_spki_pem(), now);
        wallet.add_client(client).await.expect("client");
        let mut alphapay = Client::new(MERCHANT_CODE, "SDK Tea House (AlphaPay)", now);
        alphapay.add_key("RSA256", &merchant_key().public_key().to_spki_pem(), now);
        wallet.add_client(alphapay).await.expect("alphapay merchant");
        wallet
            .add_user(User::new(PAYER, "+15550000001", "Alice", now))
            .await
            .expect("user");
        wallet
            .top_up(PAYER, walletd_testkit::usd(100_000))
            .await
            .expect("top up");
        DocWallet {
            app: opened.start().await,
        }
    }

    /// What a merchant is given: the wallet's address, its client id, its own private key and the
    /// wallet's public key.
    pub fn merchant(&self) -> (String, String, PrivateKey, PublicKey) {
        (
            self.base_url.clone(),
            CLIENT_ID.into(),
            merchant_key().clone(),
            self.wallet_public_key.clone(),
        )
    }

    /// alice approves the payment (what the cashier page does).
    pub async fn user_pays(&self, payment_id: &str) {
        self.wallet
            .confirm_payment(payment_id, PAYER)
            .await
            .expect("confirm");
    }
}

/// A v2 notification as the wallet sends it, signed now with a fresh wallet key: (the wallet's
/// public key, the notify path, the headers, the raw body).
pub fn signed_notification(client_id: &str) -> (PublicKey, String, HeaderMap, Bytes) {
    let wallet_key = PrivateKey::generate(Algorithm::Rsa256).expect("key");
    let path = "/walletd/notify".to_owned();
    let body = Bytes::from_static(
        br#"{"paymentId":"2030010100000001","paymentRequestId":"order-1001","paymentResult":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success"},"paymentAmount":{"currency":"USD","value":"1250"},"paymentTime":"2030-01-01T00:00:00+00:00"}"#,
    );
    let headers = sign_notification(&wallet_key, &path, client_id, &body);
    (wallet_key.public_key(), path, headers, body)
}

/// The headers the wallet sends with a notification of `body` to `path`.
pub fn sign_notification(wallet_key: &PrivateKey, path: &str, client_id: &str, body: &[u8]) -> HeaderMap {
    walletd_client::testing::sign_notification(wallet_key, client_id, path, body).expect("sign")
}

/// An AlphaPay payment notification as the wallet sends it, signed now with a fresh wallet key:
/// (the wallet's public key, the notify path with its query, the headers, the raw body).
pub fn signed_alphapay_notification(merchant_code: &str) -> (PublicKey, String, HeaderMap, Bytes) {
    let wallet_key = PrivateKey::generate(Algorithm::Rsa256).expect("key");
    let path = "/alphapay/notify?order=1001".to_owned();
    let body = Bytes::from_static(
        br#"{"scenarioCode":"ONLINE_QRCODE","paymentRequestId":"order-1001","order":{"orderAmount":{"currency":"CAD","value":"1250"},"description":"Tea"},"paymentCreateTime":"2030-01-01T00:00:00+00:00","paymentExpireTime":"2030-01-01T00:05:00+00:00","paymentTime":"2030-01-01T00:01:00+00:00","paymentId":"2030010100000001","paymentStatus":"SUCCESS"}"#,
    );
    let request_time = time::format_response_time(chrono::Utc::now().fixed_offset());
    let nonce = "0123456789abcdef0123456789abcdef";
    let signed = content::alphapay("POST", &path, merchant_code, &request_time, nonce, &body);
    let signature =
        walletd_protocol::signature::format_header_alphapay(1, &wallet_key.sign(&signed).expect("sign"));
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert(
        "merchant-code",
        HeaderValue::from_str(merchant_code).expect("header"),
    );
    headers.insert(
        "request-time",
        HeaderValue::from_str(&request_time).expect("header"),
    );
    headers.insert("nonce", HeaderValue::from_static(nonce));
    headers.insert("signature", HeaderValue::from_str(&signature).expect("header"));
    (wallet_key.public_key(), path, headers, body)
}
