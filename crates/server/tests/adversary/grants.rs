//! A merchant acts only for users who granted it: a cashier payment that names a payer
//! (`extendInfo.customerId`), and its evaluation, are honoured only for a user with a live
//! `AGREEMENT_PAY` grant to this client. For anyone else the answer is the unknown user's, word
//! for word, so naming ids holds no funds, probes no balance and enumerates no user.

use crate::core_harness::*;
use serde_json::{json, Value};
use walletd_core::ledger::AccountKind;

/// A v2 cashier payment of `value` minor USD naming `payer`.
fn named(request_id: &str, payer: &str, value: i64) -> Value {
    json!({
        "appId": APP_ID,
        "productCode": "CASHIER_PAYMENT",
        "paymentRequestId": request_id,
        "paymentAmount": {"currency": "USD", "value": value.to_string()},
        "order": {"referenceOrderId": format!("o-{request_id}"), "orderDescription": "Tea"},
        "paymentRedirectUrl": "https://tea.example/return",
        "extendInfo": json!({"customerId": payer}).to_string(),
    })
}

fn evaluation(request_id: &str, payer: &str, value: i64) -> Value {
    let mut body = named(request_id, payer, value);
    body["paymentFactor"] = json!({"isPaymentEvaluation": true});
    body
}

/// The answer's code and its message with the named id taken out (the one part that differs
/// between two unknown ids).
fn refusal(v: &Value, payer: &str) -> (String, String, String) {
    (
        v["result"]["resultStatus"].as_str().unwrap_or("").to_owned(),
        result_code(v).to_owned(),
        result_message(v).replace(payer, "<id>"),
    )
}

async fn pay(app: &CoreApp, body: Value) -> Value {
    app.call("v2/payments/pay", body).await
}

#[tokio::test]
async fn a_merchant_without_a_grant_cannot_hold_a_users_funds_by_naming_them() {
    let app = spawn_core_app().await;
    let unknown = pay(&app, named("g-1", "nobody-at-all", 100)).await;
    assert_eq!(result_code(&unknown), "USER_NOT_EXIST", "{unknown}");
    let alice = pay(&app, named("g-2", "alice", ALICE_USD)).await;
    assert_eq!(
        refusal(&alice, "alice"),
        refusal(&unknown, "nobody-at-all"),
        "an ungranted user must look exactly like an unknown one: {alice}"
    );
    assert!(alice.get("paymentId").is_none(), "{alice}");
    assert_eq!(
        app.available(AccountKind::UserWallet, "alice").await,
        ALICE_USD,
        "nothing of alice's is held"
    );
    app.assert_books_sound().await;
}

#[tokio::test]
async fn an_evaluation_without_a_grant_reveals_neither_balance_nor_existence() {
    let app = spawn_core_app().await;
    let unknown = pay(&app, evaluation("e-0", "ghost", 1)).await;
    assert_eq!(result_code(&unknown), "USER_NOT_EXIST", "{unknown}");
    // Bisecting alice's balance, bob's tiny one, and a frozen user: every answer is the same.
    for (i, (user, value)) in [
        ("alice", 1),
        ("alice", ALICE_USD),
        ("alice", ALICE_USD + 1),
        ("bob", BOB_USD + 1),
    ]
    .into_iter()
    .enumerate()
    {
        let v = pay(&app, evaluation(&format!("e-{}", i + 1), user, value)).await;
        assert_eq!(
            refusal(&v, user),
            refusal(&unknown, "ghost"),
            "{user} {value}: {v}"
        );
    }
    app.wallet
        .update_user("bob", |u| {
            u.status = walletd_core::parties::PartyStatus::Frozen;
            Ok(())
        })
        .await
        .expect("freeze");
    let v = pay(&app, evaluation("e-9", "bob", 1)).await;
    assert_eq!(refusal(&v, "bob"), refusal(&unknown, "ghost"), "{v}");
}

#[tokio::test]
async fn only_a_live_agreement_pay_grant_to_this_client_lets_it_name_the_payer() {
    let app = spawn_core_app().await;
    let unknown = refusal(&pay(&app, named("l-0", "ghost", 100)).await, "ghost");
    let looks_unknown = |v: &Value| refusal(v, "alice") == unknown;

    // A grant to another merchant does not count.
    app.grant(
        &app.rival,
        RIVAL,
        RIVAL_APP_ID,
        "alice",
        "AGREEMENT_PAY",
        &[("USD", 100_000)],
    )
    .await;
    let v = pay(&app, named("l-1", "alice", 100)).await;
    assert!(looks_unknown(&v), "{v}");
    // Nor does a grant that only tells the merchant who alice is.
    app.grant(
        &app.merchant,
        MERCHANT,
        APP_ID,
        "alice",
        "auth_base,USER_ID,auth_user",
        &[],
    )
    .await;
    let v = pay(&app, named("l-2", "alice", 100)).await;
    assert!(looks_unknown(&v), "{v}");
    // A revoked AGREEMENT_PAY grant does not count.
    let token = app.grant_agreement("alice", 5000).await;
    let cancel = app
        .call("v1/authorizations/cancelToken", json!({"accessToken": token}))
        .await;
    assert_eq!(result_code(&cancel), "SUCCESS", "{cancel}");
    let v = pay(&app, named("l-3", "alice", 100)).await;
    assert!(looks_unknown(&v), "{v}");
    assert_eq!(app.available(AccountKind::UserWallet, "alice").await, ALICE_USD);

    // A live one does, within the per-payment limit alice agreed to.
    app.grant_agreement("alice", 5000).await;
    let v = pay(&app, named("l-4", "alice", 5001)).await;
    assert_eq!(result_code(&v), "USER_AMOUNT_EXCEED_LIMIT", "{v}");
    let v = pay(&app, named("l-5", "alice", 3000)).await;
    assert_eq!(result_code(&v), "ACCEPT", "{v}");
    assert_eq!(
        app.available(AccountKind::UserWallet, "alice").await,
        ALICE_USD - 3000,
        "the granted hold shows at once"
    );
    app.assert_books_sound().await;
}

#[tokio::test]
async fn an_expired_grant_no_longer_lets_the_merchant_name_the_payer() {
    let app = spawn_core_app_with(None, |c| c.oauth.access_token_ttl_secs = 1).await;
    let unknown = refusal(&pay(&app, named("x-0", "ghost", 100)).await, "ghost");
    app.grant_agreement("alice", 5000).await;
    // Generous: the token lives one second; wait well past it.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let v = pay(&app, named("x-1", "alice", 100)).await;
    assert_eq!(refusal(&v, "alice"), unknown, "{v}");
    assert_eq!(app.available(AccountKind::UserWallet, "alice").await, ALICE_USD);
}
