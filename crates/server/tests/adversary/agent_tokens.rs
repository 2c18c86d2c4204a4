//! An ISV (a mini program platform) signs with its own client id and key and acts for a merchant
//! only through an `Agent-Token` an operator issued for that pair. It sees only what its live
//! grants cover; a token that is unknown, revoked, another ISV's, expired or outside its scope
//! gets the pay table's own answer, and a revocation bites on the very next request.

use crate::core_harness::*;
use serde_json::{json, Value};
use walletd_client::MiniProgramClient;
use walletd_core::agent::{AgentApi, AgentGrantRequest, DEFAULT_AGENT_TOKEN_TTL_SECS};
use walletd_core::parties::{Client, Limits, PartyStatus};
use walletd_protocol::crypto::PrivateKey;

const ISV: &str = "mini-platform";
const OTHER_ISV: &str = "other-platform";

/// The ISVs' keys: the shared slots the merchants (0 and 1) do not use.
fn isv_key(slot: usize) -> &'static PrivateKey {
    walletd_testkit::shared_key(2 + slot)
}

/// Registers both ISVs (each with its own key) on `app`.
async fn add_isvs(app: &CoreApp) {
    let now = app.wallet.now();
    for (slot, id) in [ISV, OTHER_ISV].into_iter().enumerate() {
        let mut c = Client::new(id, id, now);
        c.partner_id = format!("P-{id}");
        c.add_key("RSA256", &isv_key(slot).public_key().to_spki_pem(), now);
        app.wallet.add_client(c).await.expect("isv");
    }
}

/// The ISV's SDK client, sending `token` as its `Agent-Token` (none when `None`).
fn isv_client(app: &CoreApp, slot: usize, token: Option<&str>) -> MiniProgramClient {
    let id = [ISV, OTHER_ISV][slot];
    let wallet_key = app.merchant.wallet_key().expect("wallet key").clone();
    let c = MiniProgramClient::new(&app.base_url, id, isv_key(slot).clone(), wallet_key);
    match token {
        Some(t) => c.with_agent_token(t),
        None => c,
    }
}

async fn issue(app: &CoreApp, isv: &str, merchant: &str, scope: &[AgentApi], ttl_secs: i64) -> String {
    app.wallet
        .issue_agent_token(AgentGrantRequest {
            isv_client_id: isv.into(),
            merchant_client_id: merchant.into(),
            scope: scope.to_vec(),
            ttl_secs,
        })
        .await
        .expect("issue agent token")
        .token
}

async fn payments_token(app: &CoreApp, isv: &str, merchant: &str) -> String {
    issue(
        app,
        isv,
        merchant,
        &AgentApi::PAYMENT_APIS,
        DEFAULT_AGENT_TOKEN_TTL_SECS,
    )
    .await
}

/// A v2 cashier payment for the tea merchant's app of `value` minor USD.
fn cashier(request_id: &str, value: i64) -> Value {
    json!({
        "appId": APP_ID,
        "productCode": "CASHIER_PAYMENT",
        "paymentRequestId": request_id,
        "paymentAmount": {"currency": "USD", "value": value.to_string()},
        "order": {"referenceOrderId": format!("o-{request_id}"), "orderDescription": "Tea"},
        "paymentRedirectUrl": "https://tea.example/return",
    })
}

fn by_id(payment_id: &str) -> Value {
    json!({"paymentId": payment_id})
}

fn refund(request_id: &str, payment_id: &str, value: i64) -> Value {
    json!({
        "refundRequestId": request_id,
        "paymentId": payment_id,
        "refundAmount": {"currency": "USD", "value": value.to_string()},
    })
}

/// Pays `body` as `client`, expects ACCEPT and returns the payment id.
async fn accepted(app: &CoreApp, client: &MiniProgramClient, body: Value) -> String {
    let v = app.call_as(client, "v2/payments/pay", body).await;
    assert_eq!(result_code(&v), "ACCEPT", "{v}");
    v["paymentId"].as_str().expect("paymentId").to_owned()
}

fn status_and_code(v: &Value) -> (&str, &str) {
    (v["result"]["resultStatus"].as_str().unwrap_or(""), result_code(v))
}

#[tokio::test]
async fn an_isv_with_a_token_pays_as_the_merchant_and_the_merchant_sees_it() {
    let app = spawn_core_app().await;
    add_isvs(&app).await;
    let token = payments_token(&app, ISV, MERCHANT).await;
    let isv = isv_client(&app, 0, Some(&token));
    let id = accepted(&app, &isv, cashier("a-1", 250)).await;
    let payment = app.wallet.get_payment(&id).await.unwrap().expect("payment");
    assert_eq!(payment.client_id, MERCHANT, "the payment belongs to the merchant");
    // The merchant sees it by its own paymentRequestId, and the ISV through the token.
    let mine = app
        .call("v2/payments/inquiryPayment", json!({"paymentRequestId": "a-1"}))
        .await;
    assert_eq!(mine["paymentId"], id.as_str(), "{mine}");
    let via = app.call_as(&isv, "v2/payments/inquiryPayment", by_id(&id)).await;
    assert_eq!(result_code(&via), "SUCCESS", "{via}");
    // Refund through the token once alice paid.
    app.wallet.confirm_payment(&id, "alice").await.expect("confirm");
    let r = app
        .call_as(&isv, "v2/payments/refund", refund("ra-1", &id, 100))
        .await;
    assert_eq!(result_code(&r), "SUCCESS", "{r}");
    let ir = app
        .call("v2/payments/inquiryRefund", json!({"refundRequestId": "ra-1"}))
        .await;
    assert_eq!(
        result_code(&ir),
        "SUCCESS",
        "the merchant owns the refund key: {ir}"
    );
    app.assert_books_sound().await;
}

#[tokio::test]
async fn the_idempotency_keys_of_an_isv_acting_for_a_merchant_are_the_merchants() {
    let app = spawn_core_app().await;
    add_isvs(&app).await;
    let direct = accepted(&app, &app.merchant, cashier("k-1", 300)).await;
    let token = payments_token(&app, ISV, MERCHANT).await;
    let via = accepted(&app, &isv_client(&app, 0, Some(&token)), cashier("k-1", 300)).await;
    assert_eq!(
        via, direct,
        "the same paymentRequestId of the same merchant is the same payment"
    );
    let changed = app
        .call_as(
            &isv_client(&app, 0, Some(&token)),
            "v2/payments/pay",
            cashier("k-1", 301),
        )
        .await;
    assert_eq!(result_code(&changed), "REPEAT_REQ_INCONSISTENT", "{changed}");
}

#[tokio::test]
async fn an_isv_sees_a_merchants_payment_only_through_a_live_token_for_that_merchant() {
    let app = spawn_core_app().await;
    add_isvs(&app).await;
    let id = accepted(&app, &app.merchant, cashier("i-1", 200)).await;
    let rival_token = payments_token(&app, ISV, RIVAL).await;
    let denied = [
        ("no token", isv_client(&app, 0, None)),
        ("an empty token", isv_client(&app, 0, Some(""))),
        (
            "a token for another merchant",
            isv_client(&app, 0, Some(&rival_token)),
        ),
    ];
    for (what, client) in &denied {
        for (api, body) in [
            ("v2/payments/inquiryPayment", by_id(&id)),
            ("v2/payments/cancel", by_id(&id)),
            ("v2/payments/refund", refund(&format!("x-{what}"), &id, 1)),
        ] {
            let v = app.call_as(client, api, body).await;
            assert_ne!(
                result_code(&v),
                "SUCCESS",
                "{what}: {api} must not reach the payment: {v}"
            );
            assert!(v.get("paymentStatus").is_none(), "{what}: {api}: {v}");
        }
    }
    let still = app.wallet.get_payment(&id).await.unwrap().expect("payment");
    assert_eq!(still.status.as_str(), "PROCESSING", "nothing was cancelled");
    // With a token for the merchant, the same payment (made by the merchant directly) is in reach.
    let token = payments_token(&app, ISV, MERCHANT).await;
    let v = app
        .call_as(
            &isv_client(&app, 0, Some(&token)),
            "v2/payments/cancel",
            by_id(&id),
        )
        .await;
    assert_eq!(result_code(&v), "SUCCESS", "{v}");
}

#[tokio::test]
async fn an_unknown_or_another_isvs_token_is_an_invalid_agent_token() {
    let app = spawn_core_app().await;
    add_isvs(&app).await;
    let others = payments_token(&app, OTHER_ISV, MERCHANT).await;
    let guessed = "00".repeat(32);
    for token in [others.as_str(), guessed.as_str(), "not a token"] {
        let v = app
            .call_as(
                &isv_client(&app, 0, Some(token)),
                "v2/payments/pay",
                cashier("u-1", 100),
            )
            .await;
        assert_eq!(status_and_code(&v), ("F", "INVALID_AGENT_TOKEN"), "{v}");
    }
    // The merchant itself cannot use a token either: it was issued to an ISV.
    let v = app
        .call_as(
            &app.merchant.clone().with_agent_token(&others),
            "v2/payments/pay",
            cashier("u-2", 100),
        )
        .await;
    assert_eq!(result_code(&v), "INVALID_AGENT_TOKEN", "{v}");
    // The owning ISV's token works.
    accepted(&app, &isv_client(&app, 1, Some(&others)), cashier("u-3", 100)).await;
}

#[tokio::test]
async fn a_revoked_token_stops_on_the_next_request_by_id_or_by_token() {
    let app = spawn_core_app().await;
    add_isvs(&app).await;
    let first = payments_token(&app, ISV, MERCHANT).await;
    let isv = isv_client(&app, 0, Some(&first));
    let id = accepted(&app, &isv, cashier("r-1", 100)).await;
    assert!(app.wallet.revoke_agent_grant(&first).await.unwrap().is_some());
    let v = app.call_as(&isv, "v2/payments/inquiryPayment", by_id(&id)).await;
    assert_eq!(status_and_code(&v), ("F", "INVALID_AGENT_TOKEN"), "{v}");
    // By grant id, as `walletd admin agent-token list` shows it.
    let second = payments_token(&app, ISV, MERCHANT).await;
    let isv = isv_client(&app, 0, Some(&second));
    accepted(&app, &isv, cashier("r-2", 100)).await;
    let grants = app.wallet.list_agent_grants().await.unwrap();
    let live = grants
        .iter()
        .find(|g| g.revoked_at.is_none())
        .expect("a live grant");
    app.wallet.revoke_agent_grant(&live.grant_id).await.unwrap();
    let v = app.call_as(&isv, "v2/payments/pay", cashier("r-3", 100)).await;
    assert_eq!(result_code(&v), "INVALID_AGENT_TOKEN", "{v}");
}

#[tokio::test]
async fn a_token_past_its_expiry_is_an_expired_agent_token() {
    let app = spawn_core_app().await;
    add_isvs(&app).await;
    let token = issue(&app, ISV, MERCHANT, &AgentApi::PAYMENT_APIS, 1).await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let v = app
        .call_as(
            &isv_client(&app, 0, Some(&token)),
            "v2/payments/pay",
            cashier("e-1", 100),
        )
        .await;
    assert_eq!(status_and_code(&v), ("F", "EXPIRED_AGENT_TOKEN"), "{v}");
}

#[tokio::test]
async fn an_api_outside_the_tokens_scope_is_access_denied() {
    let app = spawn_core_app().await;
    add_isvs(&app).await;
    let token = issue(
        &app,
        ISV,
        MERCHANT,
        &[AgentApi::InquiryPayment],
        DEFAULT_AGENT_TOKEN_TTL_SECS,
    )
    .await;
    let isv = isv_client(&app, 0, Some(&token));
    let v = app.call_as(&isv, "v2/payments/pay", cashier("s-1", 100)).await;
    assert_eq!(status_and_code(&v), ("F", "ACCESS_DENIED"), "{v}");
    let id = accepted(&app, &app.merchant, cashier("s-2", 100)).await;
    let v = app.call_as(&isv, "v2/payments/cancel", by_id(&id)).await;
    assert_eq!(result_code(&v), "ACCESS_DENIED", "{v}");
    let v = app.call_as(&isv, "v2/payments/inquiryPayment", by_id(&id)).await;
    assert_eq!(result_code(&v), "SUCCESS", "inquiry is in scope: {v}");
    // The default scope leaves the OAuth APIs out.
    let payments = payments_token(&app, ISV, MERCHANT).await;
    let v = app
        .call_as(
            &isv_client(&app, 0, Some(&payments)),
            "v2/authorizations/cancelToken",
            json!({"accessToken": "whatever"}),
        )
        .await;
    assert_eq!(result_code(&v), "ACCESS_DENIED", "{v}");
}

#[tokio::test]
async fn the_merchants_limits_currencies_and_status_apply_to_its_isv() {
    let app = spawn_core_app().await;
    add_isvs(&app).await;
    let token = payments_token(&app, ISV, MERCHANT).await;
    let isv = isv_client(&app, 0, Some(&token));
    app.wallet
        .update_client(MERCHANT, |_, c: &mut Client| {
            c.limits.insert(
                "USD".into(),
                Limits {
                    per_payment_minor: Some(1_000),
                    daily_minor: None,
                },
            );
            Ok(())
        })
        .await
        .expect("limits");
    let direct = app.call("v2/payments/pay", cashier("l-1", 1_001)).await;
    let via = app.call_as(&isv, "v2/payments/pay", cashier("l-2", 1_001)).await;
    assert_ne!(result_code(&direct), "ACCEPT", "{direct}");
    assert_eq!(
        status_and_code(&via),
        status_and_code(&direct),
        "{via} vs {direct}"
    );
    app.wallet
        .update_client(MERCHANT, |_, c: &mut Client| {
            c.status = PartyStatus::Frozen;
            Ok(())
        })
        .await
        .expect("freeze");
    let direct = app.call("v2/payments/pay", cashier("f-1", 100)).await;
    let via = app.call_as(&isv, "v2/payments/pay", cashier("f-2", 100)).await;
    assert_ne!(result_code(&direct), "ACCEPT", "{direct}");
    assert_eq!(
        status_and_code(&via),
        status_and_code(&direct),
        "{via} vs {direct}"
    );
}

#[tokio::test]
async fn an_isvs_requests_for_a_merchant_count_against_the_isvs_rate_limit() {
    let app = spawn_core_app_with(None, |c| {
        c.http.rate_limit_per_second = 1;
        c.http.rate_limit_burst = 3;
    })
    .await;
    add_isvs(&app).await;
    let token = payments_token(&app, ISV, MERCHANT).await;
    let isv = isv_client(&app, 0, Some(&token));
    let id = accepted(&app, &app.merchant, cashier("q-1", 100)).await;
    let (mut limited, mut answered) = (0, 0);
    for _ in 0..6 {
        let v = app.call_as(&isv, "v2/payments/inquiryPayment", by_id(&id)).await;
        match result_code(&v) {
            "REQUEST_TRAFFIC_EXCEED_LIMIT" => limited += 1,
            "SUCCESS" => answered += 1,
            other => panic!("unexpected {other}: {v}"),
        }
    }
    assert!(answered >= 1, "the ISV reached the merchant's payment");
    assert!(limited >= 2, "the ISV's bucket ran dry: {limited} refusals of 6");
    // The merchant's own bucket is untouched (one of its three was spent on the payment).
    let v = app.call("v2/payments/inquiryPayment", by_id(&id)).await;
    assert_eq!(result_code(&v), "SUCCESS", "{v}");
}

#[tokio::test]
async fn a_revocation_on_another_node_bites_on_the_next_request() {
    // PostgreSQL when the test server is configured, else the same SQLite file: either way the
    // second node is a separate wallet with its own connections, so only a database read sees it.
    let app = spawn_core_app_with(postgres_schema(), |_| {}).await;
    add_isvs(&app).await;
    let token = payments_token(&app, ISV, MERCHANT).await;
    let isv = isv_client(&app, 0, Some(&token));
    let id = accepted(&app, &isv, cashier("n-1", 100)).await;
    let other_node = app.second_node().open().wallet;
    assert!(other_node.revoke_agent_grant(&token).await.unwrap().is_some());
    let v = app.call_as(&isv, "v2/payments/inquiryPayment", by_id(&id)).await;
    assert_eq!(status_and_code(&v), ("F", "INVALID_AGENT_TOKEN"), "{v}");
}

/// Sends `body` to `api` signed by the ISV, with exactly these `Agent-Token` header values.
async fn with_raw_agent_headers(app: &CoreApp, api: &str, body: Value, values: &[&[u8]]) -> Value {
    let signed = isv_client(app, 0, None)
        .sign_body(api, body.to_string().into_bytes(), &Default::default())
        .expect("sign");
    let mut req = app.http.post(format!("{}{}", app.base_url, signed.path));
    for (k, v) in &signed.headers {
        req = req.header(k, v);
    }
    for v in values {
        req = req.header(
            "agent-token",
            reqwest::header::HeaderValue::from_bytes(v).expect("header value"),
        );
    }
    let r = req.body(signed.body).send().await.expect("send");
    assert_eq!(r.status(), 200);
    r.json().await.expect("json")
}

#[tokio::test]
async fn two_agent_tokens_or_an_unreadable_one_are_refused_not_ignored() {
    let app = spawn_core_app().await;
    add_isvs(&app).await;
    let token = payments_token(&app, ISV, MERCHANT).await;
    let id = accepted(&app, &app.merchant, cashier("h-1", 100)).await;
    let api = "v2/payments/inquiryPayment";
    let v = with_raw_agent_headers(&app, api, by_id(&id), &[token.as_bytes()]).await;
    assert_eq!(result_code(&v), "SUCCESS", "one good token: {v}");
    let v = with_raw_agent_headers(&app, api, by_id(&id), &[token.as_bytes(), b"other"]).await;
    assert_eq!(result_code(&v), "INVALID_AGENT_TOKEN", "{v}");
    let v = with_raw_agent_headers(&app, api, by_id(&id), &[b"\xfftoken"]).await;
    assert_eq!(result_code(&v), "INVALID_AGENT_TOKEN", "{v}");
    // Empty (as the Go SDK sends it when unused) is no token: the ISV acts for itself.
    let v = with_raw_agent_headers(&app, api, by_id(&id), &[b""]).await;
    assert_ne!(result_code(&v), "INVALID_AGENT_TOKEN", "{v}");
    assert_ne!(
        result_code(&v),
        "SUCCESS",
        "the ISV itself does not see the payment: {v}"
    );
}

#[tokio::test]
async fn a_frozen_isv_cannot_act_for_a_merchant() {
    let app = spawn_core_app().await;
    add_isvs(&app).await;
    let token = payments_token(&app, ISV, MERCHANT).await;
    let before = app
        .call_as(
            &isv_client(&app, 0, Some(&token)),
            "v2/payments/pay",
            cashier("z-0", 100),
        )
        .await;
    assert_eq!(status_and_code(&before), ("A", "ACCEPT"), "{before}");
    // Frozen the way the operator console does it: the status changes in the database, and the
    // copy of the ISV kept to check its signatures is not told.
    app.wallet
        .write(|ctx, tx| {
            walletd_core::operators::perform(
                tx,
                ctx.now(),
                "op",
                &walletd_core::operators::OperatorAction::FreezeClient(ISV.into()),
            )
        })
        .await
        .expect("freeze");
    let v = app
        .call_as(
            &isv_client(&app, 0, Some(&token)),
            "v2/payments/pay",
            cashier("z-1", 100),
        )
        .await;
    assert_eq!(status_and_code(&v), ("F", "ACCESS_DENIED"), "{v}");
}
