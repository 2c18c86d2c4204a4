//! Authorization and capture (`isAuthorizationPayment`, `/v1|v2/payments/capture`): the funds are
//! held by a pending transfer, captured in one or several parts, the rest released by the last
//! capture, a cancel or the expiry; every code of docs/mini-program.md §13 that can happen.

use crate::app::*;
use serde_json::{json, Value};

const LIMIT: &[(&str, i64)] = &[("USD", 50_000)];

async fn token(app: &TestApp) -> String {
    app.access_token("alice", "AGREEMENT_PAY", LIMIT).await
}

/// An authorization of `minor` USD from alice; returns the pay answer.
async fn authorize(app: &TestApp, token: &str, request_id: &str, minor: i64) -> Value {
    let v = app
        .call(
            "v2/payments/pay",
            json!({
                "appId": APP_ID,
                "productCode": "AGREEMENT_PAYMENT",
                "paymentRequestId": request_id,
                "paymentAmount": {"currency": "USD", "value": minor.to_string()},
                "paymentFactor": {"isAuthorizationPayment": true},
                "paymentAuthCode": token,
                "paymentNotifyUrl": "https://tea.example/notify",
            }),
        )
        .await;
    assert_eq!((status_of(&v), code_of(&v)), ("S", "SUCCESS"), "{v}");
    v
}

fn capture(request_id: &str, payment_id: &str, minor: Option<i64>, last: Option<bool>) -> Value {
    let mut body = json!({"captureRequestId": request_id, "paymentId": payment_id});
    if let Some(m) = minor {
        body["captureAmount"] = json!({"currency": "USD", "value": m.to_string()});
    }
    if let Some(l) = last {
        body["isLastCapture"] = json!(l);
    }
    body
}

async fn inquiry(app: &TestApp, payment_id: &str) -> Value {
    let q = app
        .call("v2/payments/inquiryPayment", json!({"paymentId": payment_id}))
        .await;
    assert_eq!(code_of(&q), "SUCCESS", "{q}");
    q
}

#[tokio::test]
async fn an_authorization_holds_the_funds_and_tells_when_the_hold_ends() {
    let app = spawn_app().await;
    let token = token(&app).await;
    let v = authorize(&app, &token, "auth-1", 10_000).await;
    let payment_id = v["paymentId"].as_str().unwrap();
    let until = chrono::DateTime::parse_from_rfc3339(v["authExpiryTime"].as_str().expect("authExpiryTime"))
        .unwrap()
        .with_timezone(&chrono::Utc);
    let expected = app.now() + chrono::Duration::seconds(app.config.payments.max_expiry_secs);
    assert!(
        (until - expected).num_seconds().abs() <= 2,
        "{until} vs {expected}"
    );
    assert_eq!(
        app.balance("alice").await,
        (ALICE_START, 10_000, ALICE_START - 10_000)
    );
    assert_eq!(app.merchant_balance(CLIENT_ID).await.0, 0, "nothing taken yet");
    let q = inquiry(&app, payment_id).await;
    assert_eq!(q["paymentStatus"], "PROCESSING", "{q}");
    assert_eq!(q["authExpiryTime"], v["authExpiryTime"]);
    assert_eq!(app.notifications_of(payment_id).await, 0);
    // A repeat of the pay request answers S again with the same authorization.
    let again = authorize(&app, &token, "auth-1", 10_000).await;
    assert_eq!(again["paymentId"], payment_id);
    assert_eq!(app.balance("alice").await.1, 10_000, "held once");
    // Not refundable before it is captured.
    let r = app
        .call(
            "v2/payments/refund",
            json!({"refundRequestId": "r0", "paymentId": payment_id, "refundAmount": {"currency": "USD", "value": "100"}}),
        )
        .await;
    assert_eq!(code_of(&r), "ORDER_STATUS_INVALID", "{r}");
    app.assert_books_sound().await;
}

#[tokio::test]
async fn partial_captures_take_part_and_keep_the_rest_held_until_the_last() {
    let app = spawn_app().await;
    let token = token(&app).await;
    let payment_id = authorize(&app, &token, "auth-2", 10_000).await["paymentId"]
        .as_str()
        .unwrap()
        .to_owned();
    let c1 = app
        .call(
            "v2/payments/capture",
            capture("cap-1", &payment_id, Some(3_000), Some(false)),
        )
        .await;
    assert_eq!((status_of(&c1), code_of(&c1)), ("S", "SUCCESS"), "{c1}");
    assert_eq!(c1["captureAmount"], json!({"currency": "USD", "value": "3000"}));
    assert_eq!(c1["paymentId"], payment_id.as_str());
    assert_eq!(c1["captureRequestId"], "cap-1");
    assert!(c1["captureId"].is_string() && c1["captureTime"].is_string());
    assert_eq!(
        app.balance("alice").await,
        (ALICE_START - 3_000, 7_000, ALICE_START - 10_000)
    );
    assert_eq!(app.merchant_balance(CLIENT_ID).await.0, 3_000);
    assert_eq!(inquiry(&app, &payment_id).await["paymentStatus"], "PROCESSING");

    let c2 = app
        .call(
            "v2/payments/capture",
            capture("cap-2", &payment_id, Some(2_000), Some(false)),
        )
        .await;
    assert_eq!(code_of(&c2), "SUCCESS", "{c2}");
    assert_ne!(c2["captureId"], c1["captureId"]);
    assert_eq!(app.balance("alice").await.1, 5_000);

    let over = app
        .call(
            "v2/payments/capture",
            capture("cap-3", &payment_id, Some(5_001), None),
        )
        .await;
    assert_eq!(code_of(&over), "CAPTURE_AMOUNT_EXCEED_AUTH_LIMIT", "{over}");
    // The rest, without an amount: everything left, and it is the last.
    let c3 = app
        .call("v2/payments/capture", capture("cap-4", &payment_id, None, None))
        .await;
    assert_eq!(code_of(&c3), "SUCCESS", "{c3}");
    assert_eq!(c3["captureAmount"]["value"], "5000");
    assert_eq!(
        app.balance("alice").await,
        (ALICE_START - 10_000, 0, ALICE_START - 10_000)
    );
    assert_eq!(app.merchant_balance(CLIENT_ID).await.0, 10_000);
    let q = inquiry(&app, &payment_id).await;
    assert_eq!(q["paymentStatus"], "SUCCESS", "{q}");
    assert!(q["paymentTime"].is_string());
    let after = app
        .call(
            "v2/payments/capture",
            capture("cap-5", &payment_id, Some(1), None),
        )
        .await;
    assert_eq!(
        code_of(&after),
        "CAPTURE_AMOUNT_EXCEED_AUTH_LIMIT",
        "closed: {after}"
    );
    let captures = app.wallet.captures_of(&payment_id).await.unwrap();
    assert_eq!(
        captures.iter().map(|c| c.amount_minor).collect::<Vec<_>>(),
        [3_000, 2_000, 5_000]
    );
    app.assert_books_sound().await;
}

#[tokio::test]
async fn a_last_capture_of_part_releases_the_rest_and_only_the_captured_part_is_refundable() {
    let app = spawn_app().await;
    let token = token(&app).await;
    let payment_id = authorize(&app, &token, "auth-3", 8_000).await["paymentId"]
        .as_str()
        .unwrap()
        .to_owned();
    let c = app
        .call("v1/payments/capture", json!({"partnerId": PARTNER_ID, "captureRequestId": "c1", "paymentId": payment_id, "captureAmount": {"currency": "USD", "value": "6000"}, "isLastCapture": "true"}))
        .await;
    assert_eq!(code_of(&c), "SUCCESS", "v1 capture: {c}");
    assert_eq!(
        app.balance("alice").await,
        (ALICE_START - 6_000, 0, ALICE_START - 6_000)
    );
    assert_eq!(inquiry(&app, &payment_id).await["paymentStatus"], "SUCCESS");
    let refund = |id: &str, minor: i64| json!({"refundRequestId": id, "paymentId": payment_id, "refundAmount": {"currency": "USD", "value": minor.to_string()}});
    let r = app.call("v2/payments/refund", refund("r1", 6_001)).await;
    assert_eq!(code_of(&r), "REFUND_AMOUNT_EXCEED", "only 60.00 was taken: {r}");
    let r = app.call("v2/payments/refund", refund("r2", 6_000)).await;
    assert_eq!(code_of(&r), "SUCCESS", "{r}");
    assert_eq!(app.balance("alice").await.0, ALICE_START);
    let cancel = app
        .call("v2/payments/cancel", json!({"paymentId": payment_id}))
        .await;
    assert_eq!(
        code_of(&cancel),
        "ORDER_STATUS_INVALID",
        "a captured authorization is refunded, not cancelled: {cancel}"
    );
    app.assert_books_sound().await;
}

#[tokio::test]
async fn capture_requests_are_idempotent_on_the_capture_request_id() {
    let app = spawn_app().await;
    let token = token(&app).await;
    let payment_id = authorize(&app, &token, "auth-4", 4_000).await["paymentId"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = capture("same", &payment_id, Some(1_000), Some(false));
    let first = app.call("v2/payments/capture", body.clone()).await;
    let second = app.call("v2/payments/capture", body).await;
    assert_eq!(code_of(&second), "SUCCESS");
    assert_eq!(second["captureId"], first["captureId"]);
    assert_eq!(app.merchant_balance(CLIENT_ID).await.0, 1_000, "captured once");
    let changed = app
        .call(
            "v2/payments/capture",
            capture("same", &payment_id, Some(2_000), Some(false)),
        )
        .await;
    assert_eq!(code_of(&changed), "REPEAT_REQ_INCONSISTENT", "{changed}");
    let changed = app
        .call(
            "v2/payments/capture",
            capture("same", &payment_id, Some(1_000), Some(true)),
        )
        .await;
    assert_eq!(code_of(&changed), "REPEAT_REQ_INCONSISTENT", "{changed}");
    // Another client may use the same captureRequestId for its own things.
    let theirs = app
        .call_as(
            &app.other,
            "v2/payments/capture",
            capture("same", &payment_id, Some(1_000), None),
        )
        .await;
    assert_eq!(code_of(&theirs), "AUTH_NOT_FOUND", "{theirs}");
}

#[tokio::test]
async fn unknown_foreign_and_plain_payments_are_auth_not_found() {
    let app = spawn_app().await;
    let v = app
        .call(
            "v2/payments/capture",
            capture("c1", "no-such-payment", None, None),
        )
        .await;
    assert_eq!((status_of(&v), code_of(&v)), ("F", "AUTH_NOT_FOUND"), "{v}");
    let token = token(&app).await;
    let plain = app
        .call(
            "v2/payments/pay",
            json!({"appId": APP_ID, "productCode": "AGREEMENT_PAYMENT", "paymentRequestId": "plain",
                   "paymentAmount": {"currency": "USD", "value": "100"}, "paymentAuthCode": token}),
        )
        .await;
    let v = app
        .call(
            "v2/payments/capture",
            capture("c2", plain["paymentId"].as_str().unwrap(), None, None),
        )
        .await;
    assert_eq!(code_of(&v), "AUTH_NOT_FOUND", "not an authorization: {v}");
    let v = app.call("v2/payments/capture", json!({"paymentId": "x"})).await;
    assert_eq!(code_of(&v), "PARAM_ILLEGAL", "{v}");
    let v = app
        .call(
            "v2/payments/capture",
            json!({"captureRequestId": "c3", "paymentId": "x", "isLastCapture": "maybe"}),
        )
        .await;
    assert_eq!(code_of(&v), "PARAM_ILLEGAL", "{v}");
}

#[tokio::test]
async fn cancel_voids_what_is_left_and_a_cancelled_authorization_cannot_be_captured() {
    let app = spawn_app().await;
    let token = token(&app).await;
    let whole = authorize(&app, &token, "auth-5", 3_000).await["paymentId"]
        .as_str()
        .unwrap()
        .to_owned();
    let c = app.call("v2/payments/cancel", json!({"paymentId": whole})).await;
    assert_eq!(code_of(&c), "SUCCESS", "{c}");
    assert_eq!(
        app.balance("alice").await,
        (ALICE_START, 0, ALICE_START),
        "released"
    );
    assert_eq!(inquiry(&app, &whole).await["paymentStatus"], "CANCELLED");
    let v = app
        .call("v2/payments/capture", capture("c1", &whole, None, None))
        .await;
    assert_eq!(code_of(&v), "AUTH_CANCELLED", "{v}");

    // Captured in part, then cancelled: the merchant keeps its part, the rest goes back.
    let part = authorize(&app, &token, "auth-6", 3_000).await["paymentId"]
        .as_str()
        .unwrap()
        .to_owned();
    app.call(
        "v2/payments/capture",
        capture("c2", &part, Some(1_000), Some(false)),
    )
    .await;
    let c = app.call("v2/payments/cancel", json!({"paymentId": part})).await;
    assert_eq!(code_of(&c), "SUCCESS", "{c}");
    assert_eq!(
        app.balance("alice").await,
        (ALICE_START - 1_000, 0, ALICE_START - 1_000)
    );
    assert_eq!(app.merchant_balance(CLIENT_ID).await.0, 1_000);
    assert_eq!(inquiry(&app, &part).await["paymentStatus"], "SUCCESS");
    let v = app
        .call("v2/payments/capture", capture("c3", &part, Some(500), None))
        .await;
    assert_eq!(code_of(&v), "AUTH_CANCELLED", "{v}");
    let again = app.call("v2/payments/cancel", json!({"paymentId": part})).await;
    assert_eq!(
        code_of(&again),
        "SUCCESS",
        "cancelling again answers the same: {again}"
    );
    assert_eq!(again["cancelTime"], c["cancelTime"]);
    assert_eq!(
        app.merchant_balance(CLIENT_ID).await.0,
        1_000,
        "and moves nothing"
    );
    app.assert_books_sound().await;
}

#[tokio::test]
async fn an_expired_authorization_is_released_by_the_sweep_and_cannot_be_captured() {
    let app = spawn_app().await;
    let token = token(&app).await;
    let payment_id = authorize(&app, &token, "auth-7", 2_000).await["paymentId"]
        .as_str()
        .unwrap()
        .to_owned();
    app.advance_secs(app.config.payments.max_expiry_secs);
    // The background sweep (every 50 ms here) calls Wallet::expire_due.
    let q = wait_for(std::time::Duration::from_secs(10), || async {
        let q = inquiry(&app, &payment_id).await;
        (q["paymentStatus"] == "FAIL").then_some(q)
    })
    .await
    .expect("the sweep expired the authorization");
    assert_eq!(q["paymentFailReason"], "The authorization expired.");
    assert_eq!(app.balance("alice").await, (ALICE_START, 0, ALICE_START));
    let v = app
        .call("v2/payments/capture", capture("late", &payment_id, None, None))
        .await;
    assert_eq!(code_of(&v), "AUTH_EXPIRED", "{v}");
    app.assert_books_sound().await;
}

#[tokio::test]
async fn a_capture_after_the_expiry_but_before_the_sweep_is_auth_expired_and_releases_the_hold() {
    let app = spawn_app_with(|c| c.sweep_interval_ms = 3_600_000).await;
    let token = token(&app).await;
    let payment_id = authorize(&app, &token, "auth-8", 2_000).await["paymentId"]
        .as_str()
        .unwrap()
        .to_owned();
    app.call(
        "v2/payments/capture",
        capture("early", &payment_id, Some(500), Some(false)),
    )
    .await;
    app.advance_secs(app.config.payments.max_expiry_secs);
    let v = app
        .call("v2/payments/capture", capture("late", &payment_id, None, None))
        .await;
    assert_eq!((status_of(&v), code_of(&v)), ("F", "AUTH_EXPIRED"), "{v}");
    assert_eq!(
        app.balance("alice").await,
        (ALICE_START - 500, 0, ALICE_START - 500),
        "only the capture stays taken"
    );
    let q = inquiry(&app, &payment_id).await;
    assert_eq!(q["paymentStatus"], "SUCCESS", "what was captured stays paid: {q}");
    app.assert_books_sound().await;
}

#[tokio::test]
async fn a_capture_in_another_currency_is_refused() {
    let app = spawn_app().await;
    let token = token(&app).await;
    let payment_id = authorize(&app, &token, "auth-9", 2_000).await["paymentId"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut body = capture("eur", &payment_id, Some(100), None);
    body["captureAmount"]["currency"] = json!("EUR");
    let v = app.call("v2/payments/capture", body).await;
    assert_eq!(code_of(&v), "CURRENCY_NOT_SUPPORT", "{v}");
    let mut zero = capture("zero", &payment_id, Some(0), None);
    zero["captureAmount"]["value"] = json!("0");
    assert_eq!(
        code_of(&app.call("v2/payments/capture", zero).await),
        "PARAM_ILLEGAL"
    );
}

#[tokio::test]
async fn a_payment_code_authorizes_too() {
    let app = spawn_app().await;
    let code = app.wallet.issue_payment_code("alice", 120).await.unwrap().code;
    let v = app
        .call(
            "v1/payments/pay",
            json!({"partnerId": PARTNER_ID, "paymentOrderTitle": "Deposit", "paymentRequestId": "pc-auth",
                   "paymentAmount": {"currency": "USD", "value": "1500"},
                   "paymentFactor": {"isPaymentCode": true, "isAuthorizationPayment": true},
                   "paymentAuthCode": code}),
        )
        .await;
    assert_eq!(code_of(&v), "SUCCESS", "{v}");
    assert!(v["authExpiryTime"].is_string());
    assert_eq!(app.balance("alice").await.1, 1_500);
    let c = app
        .call(
            "v1/payments/capture",
            json!({"captureRequestId": "pc-c", "paymentId": v["paymentId"]}),
        )
        .await;
    assert_eq!(code_of(&c), "SUCCESS", "{c}");
    assert_eq!(app.merchant_balance(CLIENT_ID).await.0, 1_500);
}

#[tokio::test]
async fn a_cashier_authorization_is_held_when_the_user_approves_and_captured_later() {
    let app = spawn_app().await;
    let v = app
        .call(
            "v2/payments/pay",
            json!({"appId": APP_ID, "productCode": "CASHIER_PAYMENT", "paymentRequestId": "cash-auth",
                   "paymentAmount": {"currency": "USD", "value": "2500"},
                   "paymentFactor": {"isAuthorizationPayment": true}}),
        )
        .await;
    assert_eq!(code_of(&v), "ACCEPT", "{v}");
    let payment_id = v["paymentId"].as_str().unwrap().to_owned();
    let early = app
        .call(
            "v2/payments/capture",
            capture("too-early", &payment_id, None, None),
        )
        .await;
    assert_eq!(code_of(&early), "AUTH_NOT_FOUND", "not approved yet: {early}");
    assert!(inquiry(&app, &payment_id).await.get("authExpiryTime").is_none());
    // The user approves at the cashier (the cashier page calls this).
    let approved = app.wallet.confirm_payment(&payment_id, "alice").await.unwrap();
    let p = walletd_core::wallet::approval_payment(&approved).clone();
    assert!(
        matches!(approved, walletd_core::payments::ApprovalOutcome::Done(_)),
        "{approved:?}"
    );
    assert_eq!(
        p.status,
        walletd_core::payments::PaymentStatus::Processing,
        "held, not paid"
    );
    assert_eq!(app.balance("alice").await.1, 2_500);
    let twice = app.wallet.confirm_payment(&payment_id, "alice").await.unwrap();
    assert!(
        matches!(twice, walletd_core::payments::ApprovalOutcome::Refused { .. }),
        "{twice:?}"
    );
    assert!(inquiry(&app, &payment_id).await["authExpiryTime"].is_string());
    let c = app
        .call("v2/payments/capture", capture("cash-c", &payment_id, None, None))
        .await;
    assert_eq!(code_of(&c), "SUCCESS", "{c}");
    assert_eq!(inquiry(&app, &payment_id).await["paymentStatus"], "SUCCESS");
    assert_eq!(app.merchant_balance(CLIENT_ID).await.0, 2_500);
    app.assert_books_sound().await;
}
