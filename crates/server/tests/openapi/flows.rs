//! A real walletd on port 0 with the exchange recorder on, and flows that exercise every
//! documented API (successes and refusals) so that what is recorded can be checked against the
//! document.

use serde_json::{json, Value};
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use tempfile::TempDir;
use walletd_client::alphapay::AlphaPayRequestOptions;
use walletd_client::{AlphaPayClient, MiniProgramClient, RequestOptions};
use walletd_core::parties::{Client, User};
use walletd_protocol::crypto::PrivateKey;
use walletd_server::openapi::EXCHANGE_LOG_ENV;
use walletd_testkit::money;

pub const CLIENT_ID: &str = "openapi-merchant";
pub const PARTNER_ID: &str = "P-openapi";
pub const APP_ID: &str = "app-openapi";
pub const MERCHANT_CODE: &str = "OAPI01";

/// The file this test process records its exchanges to. The recorder reads the variable once
/// per process, so it is set here, before the first server starts (this overrides a log the
/// whole test run may be writing to: this binary checks its own exchanges).
pub fn exchange_log() -> &'static Path {
    static LOG: OnceLock<(TempDir, PathBuf)> = OnceLock::new();
    let (_, path) = LOG.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("exchanges.jsonl");
        std::env::set_var(EXCHANGE_LOG_ENV, &path);
        (dir, path)
    });
    path
}

fn key() -> &'static PrivateKey {
    walletd_testkit::shared_key(0)
}

pub struct TestApp {
    app: walletd_testkit::TestApp,
    pub merchant: MiniProgramClient,
    pub alphapay: AlphaPayClient,
}

impl Deref for TestApp {
    type Target = walletd_testkit::TestApp;

    fn deref(&self) -> &walletd_testkit::TestApp {
        &self.app
    }
}

pub async fn spawn_app() -> TestApp {
    exchange_log();
    let opened = walletd_testkit::TestApp::builder().open();
    let wallet = &opened.wallet;
    let now = wallet.now();
    let mut c = Client::new(CLIENT_ID, "OpenAPI Tea House", now);
    c.partner_id = PARTNER_ID.into();
    c.app_ids = vec![APP_ID.into()];
    c.add_key("RSA256", &key().public_key().to_spki_pem(), now);
    wallet.add_client(c).await.expect("client");
    let mut m = Client::new(MERCHANT_CODE, "OpenAPI Maple Tea", now);
    m.add_key("RSA256", &key().public_key().to_spki_base64(), now);
    wallet.add_client(m).await.expect("merchant");
    wallet
        .add_user(User::new("alice", "+15550000001", "Alice", now))
        .await
        .expect("user");
    wallet
        .top_up("alice", money("USD", 1_000_000))
        .await
        .expect("usd");
    wallet
        .top_up("alice", money("CAD", 1_000_000))
        .await
        .expect("cad");
    let app = opened.start().await;
    TestApp {
        merchant: app.mini_program(CLIENT_ID, key()),
        alphapay: app.alphapay(MERCHANT_CODE, key()),
        app,
    }
}

pub use walletd_testkit::mini_program::result_code as code_of;

impl TestApp {
    /// A signed Mini Program call with a raw body; the answer's signature is verified.
    pub async fn send(&self, api: &str, body: Vec<u8>, options: &RequestOptions) -> Value {
        walletd_testkit::mini_program::send(&self.merchant, api, body, options).await
    }

    pub async fn call(&self, api: &str, body: Value) -> Value {
        let bytes = serde_json::to_vec(&body).expect("json");
        self.send(api, bytes, &RequestOptions::default()).await
    }

    /// Like [`call`](Self::call), and the answer must carry `code`.
    pub async fn expect(&self, api: &str, body: Value, code: &str) -> Value {
        let v = self.call(api, body).await;
        assert_eq!(code_of(&v), code, "{api}: {v}");
        v
    }

    /// A signed AlphaPay call (`endpoint` like `v2.0/payments/pay`).
    pub async fn alphapay(&self, endpoint: &str, body: Value) -> Value {
        let (version, endpoint) = endpoint.split_once('/').expect("version/endpoint");
        let client = self.alphapay.clone().with_version(version);
        let answer = client
            .send(
                endpoint,
                serde_json::to_vec(&body).expect("json"),
                &AlphaPayRequestOptions::default(),
            )
            .await
            .unwrap_or_else(|e| panic!("{endpoint}: no verified answer: {e}"));
        serde_json::from_slice(&answer.body).expect("answer json")
    }

    /// The payer approves the payment on the cashier page.
    pub async fn approve(&self, payment_id: &str) {
        self.wallet
            .confirm_payment(payment_id, "alice")
            .await
            .expect("confirm");
    }

    /// An auth code as the consent page issues it.
    pub async fn auth_code(&self, app_id: Option<&str>, scopes: &str) -> String {
        let grant = walletd_core::oauth::Grant {
            client_id: CLIENT_ID.into(),
            app_id: app_id.map(String::from),
            user_id: "alice".into(),
            scopes: walletd_core::oauth::parse_scopes(scopes).expect("scopes"),
            agreement_limits: if scopes.contains("AGREEMENT_PAY") {
                [("USD".to_string(), 500_000)].into_iter().collect()
            } else {
                Default::default()
            },
        };
        self.wallet
            .issue_auth_code(grant, self.config.oauth.auth_code_ttl_secs)
            .await
            .expect("auth code")
            .code
    }
}

const USD: fn(&str) -> Value = |value| json!({"currency": "USD", "value": value});

/// pay, inquiryPayment, refund, inquiryRefund and cancel, v1 then v2, with some refusals.
pub async fn payments(app: &TestApp) {
    let order = json!({"referenceOrderId": "o-1", "orderDescription": "Green tea",
        "merchant": {"referenceMerchantId": "m-1", "merchantName": "Tea House", "merchantDisplayName": "Tea"}});
    // v1: the order travels as a JSON string, booleans may be strings.
    let v = app
        .expect(
            "v1/payments/pay",
            json!({"partnerId": PARTNER_ID, "appId": APP_ID, "paymentOrderTitle": "Green tea",
                "paymentRequestId": "v1-pay-1", "paymentAmount": USD("1500"),
                "paymentFactor": {"isCashierPayment": "true"}, "paymentNotifyUrl": "https://tea.example/n",
                "extraParams": {"ORDER": order.to_string()}, "extendInfo": "{\"note\":\"x\"}"}),
            "ACCEPT",
        )
        .await;
    let p1 = v["paymentId"].as_str().expect("paymentId").to_owned();
    app.approve(&p1).await;
    app.expect(
        "v1/payments/inquiryPayment",
        json!({"partnerId": PARTNER_ID, "paymentId": p1}),
        "SUCCESS",
    )
    .await;
    app.expect(
        "v1/payments/refund",
        json!({"partnerId": PARTNER_ID, "refundRequestId": "v1-ref-1", "paymentId": p1,
            "refundAmount": USD("500"), "refundReason": "broken cup"}),
        "SUCCESS",
    )
    .await;
    app.expect(
        "v1/payments/inquiryRefund",
        json!({"partnerId": PARTNER_ID, "refundRequestId": "v1-ref-1"}),
        "SUCCESS",
    )
    .await;
    app.expect(
        "v1/payments/refund",
        json!({"partnerId": PARTNER_ID, "refundRequestId": "v1-ref-2", "paymentId": p1,
            "refundAmount": USD("5000")}),
        "REFUND_AMOUNT_EXCEED",
    )
    .await;
    let unpaid = app
        .expect(
            "v1/payments/pay",
            json!({"partnerId": PARTNER_ID, "paymentOrderTitle": "Tea", "paymentRequestId": "v1-pay-2",
                "paymentAmount": USD("100")}),
            "ACCEPT",
        )
        .await;
    app.expect(
        "v1/payments/cancel",
        json!({"partnerId": PARTNER_ID, "paymentId": unpaid["paymentId"]}),
        "SUCCESS",
    )
    .await;

    // v2.
    let v = app
        .expect(
            "v2/payments/pay",
            json!({"appId": APP_ID, "productCode": "CASHIER_PAYMENT", "paymentRequestId": "v2-pay-1",
                "paymentAmount": USD("2500"), "order": order, "paymentRedirectUrl": "https://tea.example/r",
                "paymentExpiryTime": "2099-01-01T00:00:00+00:00"}),
            "ACCEPT",
        )
        .await;
    let p2 = v["paymentId"].as_str().expect("paymentId").to_owned();
    app.approve(&p2).await;
    app.expect(
        "v2/payments/inquiryPayment",
        json!({"paymentRequestId": "v2-pay-1"}),
        "SUCCESS",
    )
    .await;
    app.expect(
        "v2/payments/refund",
        json!({"refundRequestId": "v2-ref-1", "paymentRequestId": "v2-pay-1", "refundAmount": USD("2500")}),
        "SUCCESS",
    )
    .await;
    app.expect(
        "v2/payments/inquiryRefund",
        json!({"refundRequestId": "v2-ref-1"}),
        "SUCCESS",
    )
    .await;
    app.expect(
        "v2/payments/inquiryRefund",
        json!({"refundId": "no-such"}),
        "REFUND_NOT_EXIST",
    )
    .await;
    app.expect(
        "v2/payments/inquiryPayment",
        json!({"paymentId": "no-such"}),
        "ORDER_NOT_EXIST",
    )
    .await;
    let v = app
        .expect(
            "v2/payments/pay",
            json!({"appId": APP_ID, "paymentRequestId": "v2-pay-2", "paymentAmount": USD("700")}),
            "ACCEPT",
        )
        .await;
    app.approve(v["paymentId"].as_str().expect("paymentId")).await;
    app.call("v2/payments/cancel", json!({"paymentRequestId": "v2-pay-2"}))
        .await;
    // A changed repeat, a currency the wallet does not know, malformed requests.
    app.expect(
        "v2/payments/pay",
        json!({"appId": APP_ID, "paymentRequestId": "v2-pay-1", "paymentAmount": USD("2501")}),
        "REPEAT_REQ_INCONSISTENT",
    )
    .await;
    app.expect(
        "v2/payments/pay",
        json!({"appId": APP_ID, "paymentRequestId": "v2-pay-3", "paymentAmount": {"currency": "XYZ", "value": "1"}}),
        "CURRENCY_NOT_SUPPORT",
    )
    .await;
    app.expect(
        "v1/payments/pay",
        json!({"partnerId": PARTNER_ID, "paymentOrderTitle": "T", "paymentRequestId": "r",
            "paymentAmount": {"currency": "USD", "value": 100}}),
        "PARAM_ILLEGAL",
    )
    .await;
    app.send(
        "v2/payments/pay",
        b"{not json".to_vec(),
        &RequestOptions::default(),
    )
    .await;
    app.expect("v2/payments/nothing", json!({}), "INVALID_API").await;
    let bad = RequestOptions {
        signature_header: Some("algorithm=RSA256,keyVersion=1,signature=AAAA".into()),
        ..Default::default()
    };
    let v = app.send("v2/payments/inquiryPayment", b"{}".to_vec(), &bad).await;
    assert_eq!(code_of(&v), "INVALID_SIGNATURE", "{v}");
}

/// applyToken, the user-info inquiries, agreement pay with an authorization, capture and
/// cancelToken, v2 then v1.
pub async fn authorizations(app: &TestApp) {
    let scopes =
        "auth_user,USER_ID,USER_NICKNAME,USER_NAME,USER_AVATAR,USER_LOGIN_ID,USER_CONTACTINFO,AGREEMENT_PAY";
    let code = app.auth_code(Some(APP_ID), scopes).await;
    let tokens = app
        .expect(
            "v2/authorizations/applyToken",
            json!({"appId": APP_ID, "authClientId": CLIENT_ID, "grantType": "AUTHORIZATION_CODE", "authCode": code}),
            "SUCCESS",
        )
        .await;
    app.expect(
        "v2/authorizations/applyToken",
        json!({"appId": APP_ID, "authClientId": CLIENT_ID, "grantType": "AUTHORIZATION_CODE", "authCode": code}),
        "USED_AUTHCODE",
    )
    .await;
    app.expect(
        "v2/authorizations/applyToken",
        json!({"grantType": "PASSWORD"}),
        "AUTH_CLIENT_UNSUPPORTED_GRANT_TYPE",
    )
    .await;
    let token = tokens["accessToken"].as_str().expect("accessToken").to_owned();
    app.expect(
        "v2/users/inquiryUserInfo",
        json!({"accessToken": token, "appId": APP_ID, "authClientId": CLIENT_ID}),
        "SUCCESS",
    )
    .await;
    let v = app
        .expect(
            "v2/payments/pay",
            json!({"appId": APP_ID, "productCode": "AGREEMENT_PAYMENT", "paymentRequestId": "auth-1",
                "paymentAmount": USD("10000"), "paymentFactor": {"isAuthorizationPayment": true},
                "paymentAuthCode": token}),
            "SUCCESS",
        )
        .await;
    let auth = v["paymentId"].as_str().expect("paymentId").to_owned();
    app.expect(
        "v2/payments/capture",
        json!({"captureRequestId": "cap-1", "paymentId": auth, "captureAmount": USD("3000"), "isLastCapture": false}),
        "SUCCESS",
    )
    .await;
    app.expect(
        "v2/payments/capture",
        json!({"captureRequestId": "cap-2", "paymentId": auth, "captureAmount": USD("99999")}),
        "CAPTURE_AMOUNT_EXCEED_AUTH_LIMIT",
    )
    .await;
    app.expect(
        "v1/payments/capture",
        json!({"partnerId": PARTNER_ID, "captureRequestId": "cap-3", "paymentId": auth, "isLastCapture": "true"}),
        "SUCCESS",
    )
    .await;
    app.expect(
        "v2/payments/capture",
        json!({"captureRequestId": "cap-4", "paymentId": "no-such"}),
        "AUTH_NOT_FOUND",
    )
    .await;
    let refreshed = app
        .expect(
            "v2/authorizations/applyToken",
            json!({"grantType": "REFRESH_TOKEN", "refreshToken": tokens["refreshToken"]}),
            "SUCCESS",
        )
        .await;
    app.expect(
        "v2/authorizations/cancelToken",
        json!({"accessToken": refreshed["accessToken"]}),
        "SUCCESS",
    )
    .await;
    app.expect(
        "v2/users/inquiryUserInfo",
        json!({"accessToken": refreshed["accessToken"]}),
        "INVALID_ACCESS_TOKEN",
    )
    .await;

    // v1.
    let code = app.auth_code(Some(APP_ID), "auth_base,USER_ID").await;
    let tokens = app
        .expect(
            "v1/authorizations/applyToken",
            json!({"referenceClientId": APP_ID, "grantType": "AUTHORIZATION_CODE", "authCode": code}),
            "SUCCESS",
        )
        .await;
    app.expect(
        "v1/authorizations/applyToken",
        json!({"referenceClientId": APP_ID, "grantType": "AUTHORIZATION_CODE", "authCode": "no-such"}),
        "INVALID_CODE",
    )
    .await;
    let token = tokens["accessToken"].clone();
    app.expect(
        "v1/customers/user/inquiryUserInfoByAccessToken",
        json!({"accessToken": token}),
        "SUCCESS",
    )
    .await;
    app.expect(
        "v1/users/inquiryUserInfo",
        json!({"accessToken": token}),
        "SUCCESS",
    )
    .await;
    app.expect(
        "v1/authorizations/cancelToken",
        json!({"accessToken": token}),
        "SUCCESS",
    )
    .await;
    app.expect("v1/authorizations/cancelToken", json!({}), "PARAM_ILLEGAL")
        .await;
}

/// AlphaPay: pay, inquiryPayment, refund, inquiryRefund and cancel, v2.0 and v1.0.
pub async fn alphapay(app: &TestApp) {
    let v = app
        .alphapay(
            "v2.0/payments/pay",
            json!({"scenarioCode": "ONLINE_QRCODE", "paymentRequestId": "ap-1",
                "order": {"orderAmount": {"value": "1234", "currency": "CAD"}, "description": "Tea",
                    "notifyUrl": "https://maple.example/n", "redirectUrl": "https://maple.example/r"},
                "paymentMethod": {"paymentMethodType": "Alipay"}}),
        )
        .await;
    assert_eq!(code_of(&v), "PAYMENT_IN_PROCESS", "{v}");
    let id = v["paymentId"].as_str().expect("paymentId").to_owned();
    let v = app
        .alphapay("v2.0/payments/inquiryPayment", json!({"paymentId": id}))
        .await;
    assert_eq!(code_of(&v), "SUCCESS", "{v}");
    app.approve(&id).await;
    let v = app
        .alphapay(
            "v1.0/payments/inquiryPayment",
            json!({"paymentRequestId": "ap-1"}),
        )
        .await;
    assert_eq!(v["paymentStatus"], "SUCCESS", "{v}");
    let v = app
        .alphapay(
            "v2.0/payments/refund",
            json!({"paymentId": id, "refundRequestId": "ap-ref-1",
                "refund": {"refundAmount": {"value": "234"}, "description": "cold"}}),
        )
        .await;
    assert_eq!(code_of(&v), "SUCCESS", "{v}");
    let refund_id = v["refundId"].as_str().expect("refundId").to_owned();
    let v = app
        .alphapay("v2.0/payments/inquiryRefund", json!({"refundId": refund_id}))
        .await;
    assert_eq!(code_of(&v), "SUCCESS", "{v}");
    let v = app
        .alphapay("v2.0/payments/cancel", json!({"paymentId": id}))
        .await;
    assert_eq!(code_of(&v), "ORDER_PAID", "{v}");
    let v = app
        .alphapay(
            "v1.0/payments/refund",
            json!({"paymentId": id, "refundRequestId": "ap-ref-2",
                "refund": {"refundAmount": {"value": "100", "currency": "CAD"}}}),
        )
        .await;
    assert_eq!(code_of(&v), "SUCCESS", "{v}");
    let v = app
        .alphapay(
            "v1.0/payments/inquiryRefund",
            json!({"refundRequestId": "ap-ref-2"}),
        )
        .await;
    assert_eq!(v["refundStatus"], "SUCCESS", "{v}");
    let v = app
        .alphapay(
            "v2.0/payments/pay",
            json!({"scenarioCode": "OFFLINE_QRCODE", "paymentRequestId": "ap-4",
                "order": {"orderAmount": {"value": "300", "currency": "CAD"}, "description": "Bun"}}),
        )
        .await;
    let v = app
        .alphapay("v2.0/payments/cancel", json!({"paymentId": v["paymentId"]}))
        .await;
    assert_eq!(code_of(&v), "SUCCESS", "{v}");
    let v = app
        .alphapay(
            "v1.0/payments/pay",
            json!({"scenarioCode": "ONLINE_WEB", "paymentRequestId": "ap-2",
                "order": {"orderAmount": {"value": "500", "currency": "CAD"}, "description": "Cake"}}),
        )
        .await;
    assert_eq!(code_of(&v), "PAYMENT_IN_PROCESS", "{v}");
    let v = app
        .alphapay("v1.0/payments/cancel", json!({"paymentRequestId": "ap-2"}))
        .await;
    assert_eq!(code_of(&v), "SUCCESS", "{v}");
    let v = app
        .alphapay("v2.0/payments/inquiryRefund", json!({"refundId": "no-such"}))
        .await;
    assert_eq!(code_of(&v), "REFUND_NOT_EXIST", "{v}");
    let v = app
        .alphapay(
            "v2.0/payments/pay",
            json!({"scenarioCode": "ONLINE_QRCODE", "paymentRequestId": "ap-3",
                "order": {"orderAmount": {"value": 12, "currency": "CAD"}, "description": "Tea"}}),
        )
        .await;
    assert_eq!(code_of(&v), "PARAM_ILLEGAL", "{v}");
}
