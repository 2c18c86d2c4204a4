//! Agreement payments (`isAgreementPay`, `AGREEMENT_PAYMENT`): the access token in
//! `paymentAuthCode`, S or F at once, within the per-payment limit the user agreed to, no cashier
//! and no notification.

use crate::app::*;
use serde_json::{json, Value};

/// The user agreed to payments of up to 50.00 USD.
const LIMIT: &[(&str, i64)] = &[("USD", 5000)];

pub fn v1_agreement(request_id: &str, token: &str, minor: i64) -> Value {
    json!({
        "partnerId": PARTNER_ID,
        "appId": APP_ID,
        "paymentOrderTitle": "Monthly tea box",
        "paymentRequestId": request_id,
        "paymentAmount": {"currency": "USD", "value": minor.to_string()},
        "paymentFactor": {"isAgreementPay": true},
        "paymentAuthCode": token,
        "paymentNotifyUrl": "https://tea.example/notify",
    })
}

pub fn v2_agreement(request_id: &str, token: &str, minor: i64) -> Value {
    json!({
        "appId": APP_ID,
        "productCode": "AGREEMENT_PAYMENT",
        "paymentRequestId": request_id,
        "paymentAmount": {"currency": "USD", "value": minor.to_string()},
        "order": {"referenceOrderId": "o-1", "orderDescription": "Tea box"},
        "paymentAuthCode": token,
        "paymentNotifyUrl": "https://tea.example/notify",
    })
}

#[tokio::test]
async fn v1_agreement_payment_is_paid_at_once_without_cashier_or_notification() {
    let app = spawn_app().await;
    let token = app.access_token("alice", "auth_base,AGREEMENT_PAY", LIMIT).await;
    let before = app.balance("alice").await;
    let v = app
        .call("v1/payments/pay", v1_agreement("ag-1", &token, 1250))
        .await;
    assert_eq!((status_of(&v), code_of(&v)), ("S", "SUCCESS"), "{v}");
    let payment_id = v["paymentId"].as_str().unwrap().to_owned();
    assert!(v["paymentTime"].is_string(), "{v}");
    assert!(v.get("actionForm").is_none(), "no cashier: {v}");
    assert_eq!(app.balance("alice").await, (before.0 - 1250, 0, before.2 - 1250));
    assert_eq!(app.merchant_balance(CLIENT_ID).await.0, 1250);
    assert_eq!(
        app.notifications_of(&payment_id).await,
        0,
        "the answer is the result"
    );

    let q = app
        .call(
            "v1/payments/inquiryPayment",
            json!({"partnerId": PARTNER_ID, "paymentId": payment_id}),
        )
        .await;
    assert_eq!(q["paymentStatus"], "SUCCESS", "{q}");
    assert!(q.get("authExpiryTime").is_none());

    // The same request again: the same payment, no second charge.
    let again = app
        .call("v1/payments/pay", v1_agreement("ag-1", &token, 1250))
        .await;
    assert_eq!(code_of(&again), "SUCCESS");
    assert_eq!(again["paymentId"], payment_id.as_str());
    assert_eq!(app.balance("alice").await.0, before.0 - 1250);
    let other = app
        .call("v1/payments/pay", v1_agreement("ag-1", &token, 1300))
        .await;
    assert_eq!(code_of(&other), "REPEAT_REQ_INCONSISTENT", "{other}");

    // A synchronous payment is refundable like any other.
    let r = app
        .call(
            "v1/payments/refund",
            json!({"partnerId": PARTNER_ID, "refundRequestId": "r-1", "paymentId": payment_id, "refundAmount": {"currency": "USD", "value": "250"}}),
        )
        .await;
    assert_eq!(code_of(&r), "SUCCESS", "{r}");
    assert_eq!(app.balance("alice").await.0, before.0 - 1000);
    app.assert_books_sound().await;
}

#[tokio::test]
async fn v2_agreement_payment_uses_the_product_code() {
    let app = spawn_app().await;
    let token = app.access_token("alice", "AGREEMENT_PAY", LIMIT).await;
    let v = app
        .call("v2/payments/pay", v2_agreement("ag-2", &token, 5000))
        .await;
    assert_eq!((status_of(&v), code_of(&v)), ("S", "SUCCESS"), "{v}");
    assert!(v.get("redirectActionForm").is_none());
    let q = app
        .call("v2/payments/inquiryPayment", json!({"paymentRequestId": "ag-2"}))
        .await;
    assert_eq!(q["paymentStatus"], "SUCCESS", "{q}");
    assert_eq!(app.merchant_balance(CLIENT_ID).await.0, 5000);
    app.assert_books_sound().await;
}

#[tokio::test]
async fn the_agreement_limit_holds_per_payment_and_per_currency() {
    let app = spawn_app().await;
    let token = app.access_token("alice", "AGREEMENT_PAY", LIMIT).await;
    let v = app
        .call("v1/payments/pay", v1_agreement("big", &token, 5001))
        .await;
    assert_eq!(
        (status_of(&v), code_of(&v)),
        ("F", "USER_AMOUNT_EXCEED_LIMIT"),
        "{v}"
    );
    let mut eur = v2_agreement("eur", &token, 100);
    eur["paymentAmount"]["currency"] = json!("EUR");
    let v = app.call("v2/payments/pay", eur).await;
    assert_eq!(code_of(&v), "USER_AMOUNT_EXCEED_LIMIT", "{v}");
    assert!(v["result"]["resultMessage"].as_str().unwrap().contains("EUR"));
    assert_eq!(app.merchant_balance(CLIENT_ID).await.0, 0);
    let q = app
        .call("v2/payments/inquiryPayment", json!({"paymentRequestId": "big"}))
        .await;
    assert_eq!(code_of(&q), "ORDER_NOT_EXIST", "an F payment never existed: {q}");
}

#[tokio::test]
async fn a_token_without_agreement_pay_cannot_charge() {
    let app = spawn_app().await;
    let token = app.access_token("alice", "auth_user", &[]).await;
    let v = app
        .call("v1/payments/pay", v1_agreement("nope", &token, 100))
        .await;
    assert_eq!(code_of(&v), "ACCESS_DENIED", "{v}");
}

#[tokio::test]
async fn bad_expired_and_foreign_access_tokens_are_refused() {
    let app = spawn_app().await;
    let v = app
        .call("v1/payments/pay", v1_agreement("x1", "not-a-token", 100))
        .await;
    assert_eq!(code_of(&v), "INVALID_ACCESS_TOKEN", "{v}");
    let mut missing = v1_agreement("x2", "", 100);
    missing.as_object_mut().unwrap().remove("paymentAuthCode");
    let v = app.call("v1/payments/pay", missing).await;
    assert_eq!(code_of(&v), "PARAM_ILLEGAL", "{v}");

    let token = app.access_token("alice", "AGREEMENT_PAY", LIMIT).await;
    let mut foreign = v2_agreement("x3", &token, 100);
    foreign["appId"] = json!("books-app");
    let v = app.call_as(&app.other, "v2/payments/pay", foreign).await;
    assert_eq!(
        code_of(&v),
        "INVALID_ACCESS_TOKEN",
        "another merchant's token: {v}"
    );

    let mut other_app = v2_agreement("x4", &token, 100);
    other_app["appId"] = json!(OTHER_APP_ID);
    let v = app.call("v2/payments/pay", other_app).await;
    assert_eq!(
        code_of(&v),
        "ACCESS_DENIED",
        "granted to another mini program: {v}"
    );

    app.advance_secs(app.config.oauth.access_token_ttl_secs);
    let v = app.call("v1/payments/pay", v1_agreement("x5", &token, 100)).await;
    assert_eq!(code_of(&v), "EXPIRED_ACCESS_TOKEN", "{v}");

    let revoked = app.access_token("alice", "AGREEMENT_PAY", LIMIT).await;
    app.call("v1/authorizations/cancelToken", json!({"accessToken": revoked}))
        .await;
    let v = app
        .call("v1/payments/pay", v1_agreement("x6", &revoked, 100))
        .await;
    assert_eq!(code_of(&v), "INVALID_ACCESS_TOKEN", "{v}");
    assert_eq!(app.merchant_balance(CLIENT_ID).await.0, 0);
}

#[tokio::test]
async fn not_enough_balance_fails_at_once_and_moves_nothing() {
    let app = spawn_app().await;
    let token = app.access_token("bob", "AGREEMENT_PAY", LIMIT).await;
    let v = app
        .call("v1/payments/pay", v1_agreement("poor", &token, 2000))
        .await;
    assert_eq!(
        (status_of(&v), code_of(&v)),
        ("F", "USER_BALANCE_NOT_ENOUGH"),
        "{v}"
    );
    assert_eq!(app.balance("bob").await, (500, 0, 500));
    let v = app.call("v1/payments/pay", v1_agreement("ok", &token, 500)).await;
    assert_eq!(code_of(&v), "SUCCESS", "{v}");
    assert_eq!(app.balance("bob").await, (0, 0, 0));
    app.assert_books_sound().await;
}

#[tokio::test]
async fn scenarios_that_contradict_each_other_or_are_not_offered_are_refused() {
    let app = spawn_app().await;
    let token = app.access_token("alice", "AGREEMENT_PAY", LIMIT).await;
    let mut both = v1_agreement("both", &token, 100);
    both["paymentFactor"] = json!({"isAgreementPay": true, "isPaymentCode": "true"});
    let v = app.call("v1/payments/pay", both).await;
    assert_eq!(code_of(&v), "PARAM_ILLEGAL", "{v}");
    let mut mixed = v2_agreement("mixed", &token, 100);
    mixed["paymentFactor"] = json!({"isCashierPayment": true});
    let v = app.call("v2/payments/pay", mixed).await;
    assert_eq!(code_of(&v), "PARAM_ILLEGAL", "{v}");
    let mut order_code = v1_agreement("oc", &token, 100);
    order_code["paymentFactor"] = json!({"isOrderCode": true});
    let v = app.call("v1/payments/pay", order_code).await;
    assert_eq!(code_of(&v), "PROCESS_FAIL", "{v}");
}
