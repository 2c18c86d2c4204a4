//! Payment codes (`isPaymentCode`, `IN_STORE_PAYMENT`): the user's app shows a one-time code, the
//! merchant's till submits it; AUTH_CODE_ALREADY_USED and INVALID_CODE.

use crate::app::*;
use crate::consent::Page;
use serde_json::{json, Value};

fn v1_code_pay(request_id: &str, code: &str, minor: i64) -> Value {
    json!({
        "partnerId": PARTNER_ID,
        "paymentOrderTitle": "2 x green tea",
        "paymentRequestId": request_id,
        "paymentAmount": {"currency": "USD", "value": minor.to_string()},
        "paymentFactor": {"isPaymentCode": true},
        "paymentAuthCode": code,
        "paymentNotifyUrl": "https://tea.example/notify",
    })
}

fn v2_code_pay(request_id: &str, code: &str, minor: i64) -> Value {
    json!({
        "appId": APP_ID,
        "productCode": "IN_STORE_PAYMENT",
        "paymentRequestId": request_id,
        "paymentAmount": {"currency": "USD", "value": minor.to_string()},
        "paymentFactor": {"inStorePaymentScenario": "PaymentCode"},
        "paymentAuthCode": code,
    })
}

#[tokio::test]
async fn the_code_from_the_users_page_pays_once() {
    let app = spawn_app().await;
    let mut page = Page::open(&app, "/wallet/payment-code").await;
    assert_eq!(page.status, 200);
    let shown = page
        .submit(
            &app,
            "/wallet/payment-code",
            &[("login", ALICE_LOGIN), ("pin", ALICE_PIN)],
        )
        .await;
    assert_eq!(shown.status, 200);
    let code = shown
        .attr("payment-code", "data-code")
        .expect("a code on the page");
    assert_eq!(code.len(), 18);
    assert!(
        code.starts_with("28") && code.bytes().all(|b| b.is_ascii_digit()),
        "{code}"
    );

    let v = app
        .call("v1/payments/pay", v1_code_pay("till-1", &code, 350))
        .await;
    assert_eq!((status_of(&v), code_of(&v)), ("S", "SUCCESS"), "{v}");
    let payment_id = v["paymentId"].as_str().unwrap().to_owned();
    assert_eq!(app.balance("alice").await.0, ALICE_START - 350);
    assert_eq!(app.notifications_of(&payment_id).await, 0);

    let again = app
        .call("v1/payments/pay", v1_code_pay("till-2", &code, 350))
        .await;
    assert_eq!(
        (status_of(&again), code_of(&again)),
        ("F", "AUTH_CODE_ALREADY_USED"),
        "{again}"
    );
    // The first request repeated is still its own success.
    let repeat = app
        .call("v1/payments/pay", v1_code_pay("till-1", &code, 350))
        .await;
    assert_eq!(repeat["paymentId"], payment_id.as_str());
    assert_eq!(app.balance("alice").await.0, ALICE_START - 350);
    app.assert_books_sound().await;
}

#[tokio::test]
async fn unknown_and_expired_codes_are_invalid_code() {
    let app = spawn_app().await;
    let v = app
        .call("v1/payments/pay", v1_code_pay("u-1", "281234567890123456", 100))
        .await;
    assert_eq!((status_of(&v), code_of(&v)), ("F", "INVALID_CODE"), "{v}");
    let code = app
        .wallet
        .issue_payment_code("alice", app.config.oauth.payment_code_ttl_secs)
        .await
        .unwrap()
        .code;
    app.advance_secs(app.config.oauth.payment_code_ttl_secs);
    let v = app.call("v2/payments/pay", v2_code_pay("u-2", &code, 100)).await;
    assert_eq!(code_of(&v), "INVALID_CODE", "{v}");
    assert!(v["result"]["resultMessage"].as_str().unwrap().contains("expired"));
    let mut missing = v2_code_pay("u-3", "", 100);
    missing.as_object_mut().unwrap().remove("paymentAuthCode");
    assert_eq!(
        code_of(&app.call("v2/payments/pay", missing).await),
        "PARAM_ILLEGAL"
    );
}

#[tokio::test]
async fn v2_in_store_payment_charges_and_a_failed_one_leaves_the_code_usable() {
    let app = spawn_app().await;
    let code = app.wallet.issue_payment_code("bob", 120).await.unwrap().code;
    let v = app.call("v2/payments/pay", v2_code_pay("s-1", &code, 900)).await;
    assert_eq!(code_of(&v), "USER_BALANCE_NOT_ENOUGH", "bob has 5.00: {v}");
    let v = app.call("v2/payments/pay", v2_code_pay("s-2", &code, 450)).await;
    assert_eq!((status_of(&v), code_of(&v)), ("S", "SUCCESS"), "{v}");
    assert_eq!(app.balance("bob").await, (50, 0, 50));
    assert_eq!(app.merchant_balance(CLIENT_ID).await.0, 450);
    let mut entry_code = v2_code_pay("s-3", &code, 10);
    entry_code["paymentFactor"] = json!({"inStorePaymentScenario": "EntryCode"});
    let v = app.call("v2/payments/pay", entry_code).await;
    assert_eq!(code_of(&v), "PROCESS_FAIL", "{v}");
    app.assert_books_sound().await;
}

#[tokio::test]
async fn any_merchant_may_take_a_code_but_a_frozen_user_cannot_pay() {
    let app = spawn_app().await;
    let code = app.wallet.issue_payment_code("alice", 120).await.unwrap().code;
    app.wallet
        .update_user("alice", |u| {
            u.status = walletd_core::parties::PartyStatus::Frozen;
            Ok(())
        })
        .await
        .unwrap();
    let mut body = v1_code_pay("f-1", &code, 100);
    body["partnerId"] = json!("P-books");
    let v = app.call_as(&app.other, "v1/payments/pay", body.clone()).await;
    assert_eq!(code_of(&v), "USER_STATUS_ABNORMAL", "{v}");
    app.wallet
        .update_user("alice", |u| {
            u.status = walletd_core::parties::PartyStatus::Active;
            Ok(())
        })
        .await
        .unwrap();
    body["paymentRequestId"] = json!("f-2");
    let v = app.call_as(&app.other, "v1/payments/pay", body).await;
    assert_eq!(code_of(&v), "SUCCESS", "{v}");
    assert_eq!(app.merchant_balance(OTHER_CLIENT_ID).await.0, 100);
}
