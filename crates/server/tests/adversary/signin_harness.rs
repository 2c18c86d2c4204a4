//! The wallet pages' attack harness: the shared test walletd on port 0 (served with connection
//! info, as `walletd serve` does) with a registered merchant and users with PINs, signed pay
//! calls, and a browser stand-in (one cookie jar, redirects not followed).

use serde_json::{json, Value};
use std::ops::Deref;
use std::sync::atomic::{AtomicUsize, Ordering};
use walletd_core::parties::{Client, User};
use walletd_core::Wallet;
use walletd_protocol::crypto::PrivateKey;
use walletd_protocol::{Amount, Currency};
use walletd_server::Config;
pub use walletd_testkit::pages::{self, Answer};
pub use walletd_testkit::PgSchema;

pub const CLIENT_ID: &str = "signin-merchant";
pub const APP_ID: &str = "signin-app";
pub const REDIRECT_URL: &str = "https://mini.example/cb";
pub const ALICE_LOGIN: &str = "+15550000001";
pub const ALICE_PIN: &str = "123456";
pub const BOB_LOGIN: &str = "+15550000002";
pub const BOB_PIN: &str = "654321";

fn merchant_key() -> &'static PrivateKey {
    walletd_testkit::shared_key(0)
}

/// The shared test walletd (`walletd_testkit::TestApp`) with the merchant and two users.
pub struct SignInApp {
    app: walletd_testkit::TestApp,
}

impl Deref for SignInApp {
    type Target = walletd_testkit::TestApp;

    fn deref(&self) -> &walletd_testkit::TestApp {
        &self.app
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
    let mut builder = walletd_testkit::TestApp::builder();
    if let Some(url) = database {
        builder = builder.database_url(url);
    }
    let opened = builder
        .configure(|config| {
            config.database_connections = 4;
            config.cashier.sign_in_per_login_per_minute = 0;
            config.cashier.sign_in_per_address_per_minute = 0;
            config.cashier.hash_queue = 256;
        })
        .configure(configure)
        .open();
    if seed_it {
        seed(&opened.wallet).await;
    }
    SignInApp {
        app: opened.start().await,
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
        u.pin_hash = Some(walletd_testkit::pin_hash(pin));
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

    /// A signed Mini Program call (`/api/v2/...`) whose answer's signature is checked.
    pub async fn call(&self, api_path: &str, body: &Value) -> Value {
        let merchant = self.mini_program(CLIENT_ID, merchant_key());
        walletd_testkit::mini_program::call(&merchant, api_path.trim_start_matches("/api/"), body).await
    }
}

/// A browser stand-in on the wallet pages (`walletd_testkit::pages::Browser`: one cookie jar,
/// redirects not followed) that knows the cashier's and the payment code's sign-in forms.
#[derive(Clone)]
pub struct Browser(pages::Browser);

impl Deref for Browser {
    type Target = pages::Browser;

    fn deref(&self) -> &pages::Browser {
        &self.0
    }
}

impl Browser {
    pub fn new(app: &SignInApp) -> Browser {
        Browser(pages::Browser::at(&app.base_url))
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
