//! Payment evaluation (`isPaymentEvaluation`): would this payment succeed now? Nothing is stored,
//! no money moves, no code is spent, and the `paymentRequestId` stays free.

use crate::agreement::v1_agreement;
use crate::app::*;
use serde_json::{json, Value};

fn evaluation(mut body: Value) -> Value {
    body["paymentFactor"]["isPaymentEvaluation"] = json!(true);
    body
}

#[tokio::test]
async fn an_evaluation_that_would_succeed_answers_s_and_moves_nothing() {
    let app = spawn_app().await;
    let token = app.access_token("alice", "AGREEMENT_PAY", &[("USD", 5000)]).await;
    let before = (app.balance("alice").await, app.merchant_balance(CLIENT_ID).await);
    let v = app
        .call("v1/payments/pay", evaluation(v1_agreement("ev-1", &token, 4000)))
        .await;
    assert_eq!((status_of(&v), code_of(&v)), ("S", "SUCCESS"), "{v}");
    assert!(v.get("paymentId").is_none(), "nothing was made: {v}");
    assert_eq!(
        (app.balance("alice").await, app.merchant_balance(CLIENT_ID).await),
        before
    );
    let q = app
        .call(
            "v1/payments/inquiryPayment",
            json!({"partnerId": PARTNER_ID, "paymentRequestId": "ev-1"}),
        )
        .await;
    assert_eq!(code_of(&q), "ORDER_NOT_EXIST", "{q}");
    // The same paymentRequestId then pays for real.
    let paid = app
        .call("v1/payments/pay", v1_agreement("ev-1", &token, 4000))
        .await;
    assert_eq!(code_of(&paid), "SUCCESS", "{paid}");
    assert_eq!(app.merchant_balance(CLIENT_ID).await.0, 4000);
}

#[tokio::test]
async fn an_evaluation_that_would_fail_answers_the_code_the_payment_would_get() {
    let app = spawn_app().await;
    let bob = app.access_token("bob", "AGREEMENT_PAY", &[("USD", 5000)]).await;
    let v = app
        .call("v1/payments/pay", evaluation(v1_agreement("ev-2", &bob, 600)))
        .await;
    assert_eq!(
        (status_of(&v), code_of(&v)),
        ("F", "USER_BALANCE_NOT_ENOUGH"),
        "{v}"
    );
    let v = app
        .call("v1/payments/pay", evaluation(v1_agreement("ev-3", &bob, 5001)))
        .await;
    assert_eq!(code_of(&v), "USER_AMOUNT_EXCEED_LIMIT", "{v}");
    let v = app
        .call("v1/payments/pay", evaluation(v1_agreement("ev-4", "bogus", 100)))
        .await;
    assert_eq!(code_of(&v), "INVALID_ACCESS_TOKEN", "{v}");
    let v = app
        .call("v1/payments/pay", evaluation(v1_agreement("ev-5", &bob, 500)))
        .await;
    assert_eq!(code_of(&v), "SUCCESS", "exactly the balance: {v}");
    // A held amount counts: after an authorization of 3.00, 5.00 would no longer go through.
    app.call(
        "v2/payments/pay",
        json!({"appId": APP_ID, "productCode": "AGREEMENT_PAYMENT", "paymentRequestId": "hold",
               "paymentAmount": {"currency": "USD", "value": "300"},
               "paymentFactor": {"isAuthorizationPayment": true}, "paymentAuthCode": bob}),
    )
    .await;
    let v = app
        .call("v1/payments/pay", evaluation(v1_agreement("ev-6", &bob, 500)))
        .await;
    assert_eq!(code_of(&v), "USER_BALANCE_NOT_ENOUGH", "{v}");
}

#[tokio::test]
async fn evaluating_a_payment_code_does_not_spend_it() {
    let app = spawn_app().await;
    let code = app.wallet.issue_payment_code("alice", 120).await.unwrap().code;
    let body = |id: &str| {
        json!({"appId": APP_ID, "productCode": "IN_STORE_PAYMENT", "paymentRequestId": id,
               "paymentAmount": {"currency": "USD", "value": "700"}, "paymentAuthCode": code})
    };
    let v = app.call("v2/payments/pay", evaluation(body("e1"))).await;
    assert_eq!(code_of(&v), "SUCCESS", "{v}");
    let v = app.call("v2/payments/pay", body("p1")).await;
    assert_eq!(code_of(&v), "SUCCESS", "the code still works: {v}");
    let v = app.call("v2/payments/pay", evaluation(body("e2"))).await;
    assert_eq!(code_of(&v), "AUTH_CODE_ALREADY_USED", "{v}");
}

#[tokio::test]
async fn a_cashier_evaluation_checks_the_merchant_side_only() {
    let app = spawn_app().await;
    let body = |currency: &str| {
        json!({"appId": APP_ID, "paymentRequestId": "cash-ev", "paymentAmount": {"currency": currency, "value": "100"},
               "paymentFactor": {"isPaymentEvaluation": "true"}})
    };
    let v = app.call("v2/payments/pay", body("USD")).await;
    assert_eq!(code_of(&v), "SUCCESS", "{v}");
    assert!(v.get("redirectActionForm").is_none());
    app.wallet
        .update_client(CLIENT_ID, |_, c| {
            c.currencies = vec![walletd_protocol::Currency::from_code("USD").unwrap()];
            Ok(())
        })
        .await
        .unwrap();
    let v = app.call("v2/payments/pay", body("EUR")).await;
    assert_eq!(code_of(&v), "CURRENCY_NOT_SUPPORT", "{v}");
}
