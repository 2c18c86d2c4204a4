//! pay, inquiryPayment, cancel, refund and inquiryRefund over HTTP, v1 and v2: every
//! result code these APIs can return is reached here at least once.

use crate::helpers::*;
use walletd_core::ledger::AccountKind;
use walletd_core::parties::{Limits, PartyStatus};
use walletd_core::payments::ApprovalOutcome;
use walletd_protocol::amount::WireAmount;
use walletd_protocol::miniprogram::*;

fn amount(currency: &str, value: &str) -> WireAmount {
    WireAmount {
        currency: currency.into(),
        value: value.into(),
    }
}

pub fn v2(request_id: &str, value: &str) -> PayRequestV2 {
    PayRequestV2 {
        app_id: APP_ID.into(),
        product_code: Some("CASHIER_PAYMENT".into()),
        sales_code: None,
        payment_request_id: request_id.into(),
        payment_amount: amount("USD", value),
        order: Some(Order {
            reference_order_id: Some(format!("order-{request_id}")),
            order_description: Some("Two cups of tea".into()),
            merchant: None,
        }),
        payment_method: None,
        payment_factor: None,
        payment_auth_code: None,
        payment_expiry_time: None,
        payment_redirect_url: Some("https://merchant.example/return".into()),
        payment_notify_url: None,
        void_notify_url: None,
        extend_info: None,
    }
}

pub fn v1(request_id: &str, value: &str) -> PayRequestV1 {
    PayRequestV1 {
        partner_id: PARTNER_ID.into(),
        app_id: None,
        product_code: None,
        payment_order_title: "Two cups of tea".into(),
        payment_request_id: request_id.into(),
        payment_amount: amount("USD", value),
        payment_methods: None,
        payment_auth_code: None,
        payment_factor: Some(PaymentFactor {
            is_cashier_payment: Some(true),
            ..Default::default()
        }),
        payment_expiry_time: None,
        payment_return_url: None,
        payment_notify_url: None,
        mcc: None,
        extra_params: None,
        extend_info: None,
        env_info: None,
    }
}

async fn pay2(app: &TestApp, req: &PayRequestV2) -> PayResponse {
    app.merchant
        .call("v2/payments/pay", req)
        .await
        .expect("signed answer")
}

async fn pay1(app: &TestApp, req: &PayRequestV1) -> PayResponse {
    app.merchant
        .call("v1/payments/pay", req)
        .await
        .expect("signed answer")
}

/// Pays `value` cents as alice and returns the payment id.
async fn paid(app: &TestApp, request_id: &str, value: &str) -> String {
    let id = pay2(app, &v2(request_id, value)).await.payment_id.unwrap();
    let outcome = app.wallet.confirm_payment(&id, "alice").await.unwrap();
    assert!(matches!(outcome, ApprovalOutcome::Done(_)), "{outcome:?}");
    id
}

async fn available(app: &TestApp, user: &str) -> i64 {
    app.wallet
        .accounts_of(AccountKind::UserWallet, user)
        .await
        .unwrap()[0]
        .available_balance()
}

fn code<T: serde::Serialize>(answer: &T) -> String {
    serde_json::to_value(answer).unwrap()["result"]["resultCode"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_v1_cashier_payment_is_accepted_with_a_redirection_to_the_cashier_and_moves_no_money() {
    let app = spawn_app().await;
    let before = available(&app, "alice").await;
    let answer = app.merchant.pay_v1(&v1("r-1", "1250")).await.unwrap();
    assert_eq!(answer.result.result_status, "A");
    assert_eq!(answer.result.result_code, "ACCEPT");
    let id = answer.payment_id.unwrap();
    let form = answer.action_form.unwrap();
    assert_eq!(form.action_form_type, "REDIRECTION");
    assert_eq!(
        form.redirection_url.unwrap(),
        format!("{}/cashier/{id}", app.base_url)
    );
    assert_eq!(available(&app, "alice").await, before);
    let p = app.wallet.get_payment(&id).await.unwrap().unwrap();
    assert_eq!(p.status.as_str(), "PROCESSING");
    assert_eq!(
        (p.expires_at - p.created_at).num_seconds(),
        15 * 60,
        "default expiry is 15 minutes"
    );
}

#[tokio::test]
async fn a_v2_cashier_payment_sends_both_redirect_url_spellings() {
    let app = spawn_app().await;
    let answer = app.merchant.pay_v2(&v2("r-1", "1250")).await.unwrap();
    let form = answer.redirect_action_form.unwrap();
    assert_eq!(Some(form.redirect_url.clone()), form.redirection_url);
    assert!(form
        .redirect_url
        .ends_with(&format!("/cashier/{}", answer.payment_id.unwrap())));
}

#[tokio::test]
async fn after_the_user_pays_inquiry_says_success_by_either_id_and_payment_id_wins() {
    let app = spawn_app().await;
    let first = paid(&app, "r-1", "1250").await;
    let second = pay2(&app, &v2("r-2", "100")).await.payment_id.unwrap();
    for version in ["v1", "v2"] {
        let by_request = PaymentLookupRequest {
            partner_id: Some(PARTNER_ID.into()),
            payment_request_id: Some("r-1".into()),
            ..Default::default()
        };
        let a = app.merchant.inquiry_payment(version, &by_request).await.unwrap();
        assert_eq!(a.payment_status.as_deref(), Some("SUCCESS"));
        assert_eq!(a.payment_amount, Some(amount("USD", "1250")));
        assert!(a.payment_time.is_some());
        let both = PaymentLookupRequest {
            partner_id: Some(PARTNER_ID.into()),
            payment_id: Some(second.clone()),
            payment_request_id: Some("r-1".into()),
            ..Default::default()
        };
        let a = app.merchant.inquiry_payment(version, &both).await.unwrap();
        assert_eq!(a.payment_id.as_deref(), Some(second.as_str()));
        assert_eq!(a.payment_status.as_deref(), Some("PROCESSING"));
    }
    assert_eq!(available(&app, "alice").await, 100_000 - 1250);
    let merchant = app
        .wallet
        .accounts_of(AccountKind::Merchant, CLIENT_ID)
        .await
        .unwrap();
    assert_eq!(merchant[0].posted_balance(), 1250);
    assert_eq!(first.len(), 32);
    assert_books_sound(&app.wallet).await;
}

#[tokio::test]
async fn unknown_payments_and_other_clients_payments_are_order_not_exist() {
    let app = spawn_app().await;
    let mine = pay2(&app, &v2("r-1", "100")).await.payment_id.unwrap();
    let other = app.client_as(OTHER_CLIENT_ID, other_key());
    let lookup = PaymentLookupRequest {
        payment_id: Some(mine),
        ..Default::default()
    };
    let a: InquiryPaymentResponse = other.call("v2/payments/inquiryPayment", &lookup).await.unwrap();
    assert_eq!(code(&a), "ORDER_NOT_EXIST");
    let lookup = PaymentLookupRequest {
        payment_request_id: Some("never".into()),
        ..Default::default()
    };
    let a: InquiryPaymentResponse = app
        .merchant
        .call("v2/payments/inquiryPayment", &lookup)
        .await
        .unwrap();
    assert_eq!(code(&a), "ORDER_NOT_EXIST");
    let a: InquiryPaymentResponse = app
        .merchant
        .call("v2/payments/inquiryPayment", &PaymentLookupRequest::default())
        .await
        .unwrap();
    assert_eq!(code(&a), "PARAM_ILLEGAL");
}

#[tokio::test]
async fn currencies_the_client_does_not_take_are_currency_not_support() {
    let app = spawn_app().await;
    app.wallet
        .update_client(CLIENT_ID, |_, c| {
            c.currencies = vec!["USD".parse().unwrap()];
            Ok(())
        })
        .await
        .unwrap();
    let mut req = v2("r-1", "100");
    req.payment_amount = amount("PHP", "100");
    assert_eq!(code(&pay2(&app, &req).await), "CURRENCY_NOT_SUPPORT");
    req.payment_request_id = "r-2".into();
    req.payment_amount = amount("ZZZ", "100");
    assert_eq!(code(&pay2(&app, &req).await), "CURRENCY_NOT_SUPPORT");
    req.payment_request_id = "r-3".into();
    req.payment_amount = amount("usd", "100");
    assert_eq!(code(&pay2(&app, &req).await), "PARAM_ILLEGAL");
}

#[tokio::test]
async fn merchant_limits_are_payment_amount_exceed_limit() {
    let app = spawn_app().await;
    app.wallet
        .update_client(CLIENT_ID, |_, c| {
            c.limits.insert(
                "USD".into(),
                Limits {
                    per_payment_minor: Some(5000),
                    daily_minor: Some(6000),
                },
            );
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(
        code(&pay2(&app, &v2("r-1", "5001")).await),
        "PAYMENT_AMOUNT_EXCEED_LIMIT"
    );
    paid(&app, "r-2", "4000").await;
    assert_eq!(
        code(&pay2(&app, &v2("r-3", "2001")).await),
        "PAYMENT_AMOUNT_EXCEED_LIMIT"
    );
    assert_eq!(code(&pay2(&app, &v2("r-4", "2000")).await), "ACCEPT");
}

#[tokio::test]
async fn a_payer_named_in_extend_info_is_checked_and_held_at_once() {
    let app = spawn_app().await;
    app.grant_named_payer("alice").await;
    app.grant_named_payer("bob").await;
    let named = |id: &str, user: &str, value: &str| {
        let mut r = v2(id, value);
        r.extend_info = Some(format!(r#"{{"customerId":"{user}"}}"#));
        r
    };
    let a = pay2(&app, &named("r-1", "alice", "3000")).await;
    assert_eq!(code(&a), "ACCEPT");
    assert_eq!(
        available(&app, "alice").await,
        100_000 - 3000,
        "the hold shows at once"
    );
    let acc = &app
        .wallet
        .accounts_of(AccountKind::UserWallet, "alice")
        .await
        .unwrap()[0];
    assert_eq!(
        acc.posted_balance(),
        100_000,
        "nothing is posted before the user confirms"
    );

    assert_eq!(
        code(&pay2(&app, &named("r-2", "nobody", "100")).await),
        "USER_NOT_EXIST"
    );
    assert_eq!(
        code(&pay2(&app, &named("r-3", "bob", "501")).await),
        "USER_BALANCE_NOT_ENOUGH"
    );
    app.wallet
        .update_user("bob", |u| {
            u.status = PartyStatus::Frozen;
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(
        code(&pay2(&app, &named("r-4", "bob", "100")).await),
        "USER_STATUS_ABNORMAL"
    );
    app.wallet
        .update_user("alice", |u| {
            u.limits.insert(
                "USD".into(),
                Limits {
                    per_payment_minor: Some(10_000),
                    daily_minor: Some(12_000),
                },
            );
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(
        code(&pay2(&app, &named("r-5", "alice", "10001")).await),
        "USER_AMOUNT_EXCEED_LIMIT"
    );
    assert_eq!(
        code(&pay2(&app, &named("r-6", "alice", "9001")).await),
        "USER_AMOUNT_EXCEED_LIMIT",
        "daily: 3000 held + 9001"
    );
    assert_books_sound(&app.wallet).await;
}

#[tokio::test]
async fn partner_and_app_checks() {
    let app = spawn_app().await;
    let mut r = v1("r-1", "100");
    r.partner_id = "P-nobody".into();
    assert_eq!(code(&pay1(&app, &r).await), "PARTNER_NOT_EXIST");
    r.partner_id = OTHER_PARTNER_ID.into();
    r.payment_request_id = "r-1b".into();
    assert_eq!(code(&pay1(&app, &r).await), "ACCESS_DENIED");
    let mut r = v2("r-2", "100");
    r.app_id = "someone-elses-app".into();
    assert_eq!(code(&pay2(&app, &r).await), "ACCESS_DENIED");
    app.wallet
        .update_client(CLIENT_ID, |_, c| {
            c.status = PartyStatus::Frozen;
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(
        code(&pay1(&app, &v1("r-3", "100")).await),
        "PARTNER_STATUS_ABNORMAL"
    );
}

#[tokio::test]
async fn fields_are_validated_and_booleans_may_be_strings() {
    let app = spawn_app().await;
    let cases = [
        (
            r#"{"paymentOrderTitle":"T","paymentRequestId":"a","paymentAmount":{"currency":"USD","value":"1"}}"#,
            "partnerId",
        ),
        (
            r#"{"partnerId":"P-test","paymentOrderTitle":"T","paymentRequestId":"a","paymentAmount":{"currency":"USD","value":1}}"#,
            "paymentAmount.value",
        ),
        (
            r#"{"partnerId":"P-test","paymentOrderTitle":"T","paymentRequestId":"a","paymentAmount":{"currency":"USD","value":"-1"}}"#,
            "paymentAmount",
        ),
        (
            r#"{"partnerId":"P-test","paymentOrderTitle":"T","paymentRequestId":"a","paymentAmount":{"currency":"USD","value":"12345678901234567"}}"#,
            "paymentAmount",
        ),
        (
            r#"{"partnerId":"P-test","paymentOrderTitle":"T","paymentRequestId":"a","paymentAmount":{"currency":"USD","value":"0"}}"#,
            "greater than zero",
        ),
        (
            r#"{"partnerId":"P-test","paymentOrderTitle":"T","paymentRequestId":"a","paymentAmount":{"currency":"USD","value":"1"},"extraParams":{"ORDER":"{broken"}}"#,
            "extraParams.ORDER",
        ),
        (
            r#"{"partnerId":"P-test","paymentOrderTitle":"T","paymentRequestId":"a","paymentAmount":{"currency":"USD","value":"1"},"paymentExpiryTime":"soon"}"#,
            "paymentExpiryTime",
        ),
    ];
    for (body, field) in cases {
        let v = app
            .merchant
            .send("v1/payments/pay", body.as_bytes().to_vec(), &Default::default())
            .await
            .unwrap();
        assert_eq!(v.result.result_code, "PARAM_ILLEGAL", "{body}");
        assert!(
            v.result.result_message.contains(field),
            "{field}: {}",
            v.result.result_message
        );
    }
    let body = r#"{"partnerId":"P-test","paymentOrderTitle":"Tea","paymentRequestId":"ok-1","paymentAmount":{"currency":"USD","value":"100"},"paymentFactor":{"isCashierPayment":"true"},"extraParams":{"ORDER":"{\"referenceOrderId\":\"o-9\",\"orderAmount\":\"{\\\"currency\\\":\\\"USD\\\",\\\"value\\\":\\\"100\\\"}\",\"merchant\":{\"merchantName\":\"Tea Corner\"}}"}}"#;
    let v = app
        .merchant
        .send("v1/payments/pay", body.as_bytes().to_vec(), &Default::default())
        .await
        .unwrap();
    assert_eq!(v.result.result_code, "ACCEPT");
    let answer: PayResponse = serde_json::from_slice(&v.body).unwrap();
    let p = app
        .wallet
        .get_payment(&answer.payment_id.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p.merchant_display_name.as_deref(), Some("Tea Corner"));
    assert_eq!(p.reference_order_id.as_deref(), Some("o-9"));
}

#[tokio::test]
async fn a_repeated_request_replays_its_outcome_and_a_changed_one_is_inconsistent() {
    let app = spawn_app().await;
    let a = pay2(&app, &v2("r-1", "100")).await;
    let b = pay2(&app, &v2("r-1", "100")).await;
    assert_eq!(code(&b), "ACCEPT");
    assert_eq!(a.payment_id, b.payment_id);
    assert_eq!(
        code(&pay2(&app, &v2("r-1", "101")).await),
        "REPEAT_REQ_INCONSISTENT"
    );
    // A rejection is replayed too, even after the cause is gone.
    app.wallet
        .update_client(CLIENT_ID, |_, c| {
            c.status = PartyStatus::Frozen;
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(
        code(&pay2(&app, &v2("r-2", "100")).await),
        "PARTNER_STATUS_ABNORMAL"
    );
    app.wallet
        .update_client(CLIENT_ID, |_, c| {
            c.status = PartyStatus::Active;
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(
        code(&pay2(&app, &v2("r-2", "100")).await),
        "PARTNER_STATUS_ABNORMAL"
    );
    // After the user paid, a repeat says so.
    app.wallet
        .confirm_payment(a.payment_id.as_ref().unwrap(), "alice")
        .await
        .unwrap();
    let c = pay2(&app, &v2("r-1", "100")).await;
    assert_eq!(code(&c), "SUCCESS");
    assert!(c.payment_time.is_some());
}

#[tokio::test]
async fn many_simultaneous_identical_pays_make_exactly_one_payment() {
    let app = spawn_app().await;
    let tasks: Vec<_> = (0..30)
        .map(|_| {
            let merchant = app.merchant.clone();
            tokio::spawn(async move {
                merchant
                    .pay_v2(&v2("same", "700"))
                    .await
                    .unwrap()
                    .payment_id
                    .unwrap()
            })
        })
        .collect();
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "{ids:?}");
    let all = app
        .wallet
        .list_payments(Some(CLIENT_ID.into()), 100)
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
}

#[tokio::test]
async fn cancel_releases_an_unpaid_payment_and_returns_a_paid_one() {
    let app = spawn_app().await;
    app.grant_named_payer("alice").await;
    let hold = {
        let mut r = v2("r-1", "2000");
        r.extend_info = Some(r#"{"customerId":"alice"}"#.into());
        pay2(&app, &r).await.payment_id.unwrap()
    };
    assert_eq!(available(&app, "alice").await, 98_000);
    let lookup = |id: &str| PaymentLookupRequest {
        payment_id: Some(id.into()),
        ..Default::default()
    };
    let a = app.merchant.cancel("v2", &lookup(&hold)).await.unwrap();
    assert!(a.cancel_time.is_some());
    assert_eq!(available(&app, "alice").await, 100_000, "hold released");
    let again = app.merchant.cancel("v2", &lookup(&hold)).await.unwrap();
    assert_eq!(
        again.cancel_time, a.cancel_time,
        "cancelling twice answers the same"
    );
    let i = app.merchant.inquiry_payment("v2", &lookup(&hold)).await.unwrap();
    assert_eq!(i.payment_status.as_deref(), Some("CANCELLED"));

    let paid_id = paid(&app, "r-2", "3000").await;
    assert_eq!(available(&app, "alice").await, 97_000);
    let v1_lookup = PaymentLookupRequest {
        partner_id: Some(PARTNER_ID.into()),
        payment_request_id: Some("r-2".into()),
        ..Default::default()
    };
    app.merchant.cancel("v1", &v1_lookup).await.unwrap();
    assert_eq!(
        available(&app, "alice").await,
        100_000,
        "a paid payment is returned in full"
    );
    let r: RefundResponse = app
        .merchant
        .call(
            "v2/payments/refund",
            &RefundRequest {
                partner_id: None,
                refund_request_id: "x".into(),
                payment_id: Some(paid_id),
                payment_request_id: None,
                refund_amount: amount("USD", "1"),
                refund_reason: None,
                extend_info: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        code(&r),
        "ORDER_STATUS_INVALID",
        "a cancelled payment cannot be refunded"
    );

    let c: CancelResponse = app
        .merchant
        .call("v2/payments/cancel", &lookup("nope"))
        .await
        .unwrap();
    assert_eq!(code(&c), "ORDER_NOT_EXIST");
    let failed = pay2(&app, &v2("r-3", "100")).await.payment_id.unwrap();
    app.wallet
        .decline_payment(&failed, "The user declined the payment.")
        .await
        .unwrap();
    let c: CancelResponse = app
        .merchant
        .call("v2/payments/cancel", &lookup(&failed))
        .await
        .unwrap();
    assert_eq!(code(&c), "ORDER_STATUS_INVALID");
    assert_books_sound(&app.wallet).await;
}

#[tokio::test]
async fn cancel_outside_its_window_or_without_merchant_funds_is_refused() {
    let app = spawn_app_with(|c| c.payments.cancel_window_secs = 0).await;
    let id = paid(&app, "r-1", "1000").await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let lookup = PaymentLookupRequest {
        payment_id: Some(id),
        ..Default::default()
    };
    let c: CancelResponse = app.merchant.call("v2/payments/cancel", &lookup).await.unwrap();
    assert_eq!(code(&c), "CANCEL_WINDOW_EXCEED");

    let app = spawn_app().await;
    let id = paid(&app, "r-1", "1000").await;
    app.wallet.payout(CLIENT_ID, usd(500)).await.unwrap();
    let lookup = PaymentLookupRequest {
        payment_id: Some(id),
        ..Default::default()
    };
    let c: CancelResponse = app.merchant.call("v2/payments/cancel", &lookup).await.unwrap();
    assert_eq!(code(&c), "MERCHANT_BALANCE_NOT_ENOUGH");
    assert_books_sound(&app.wallet).await;
}

fn refund_req(id: &str, payment_id: &str, value: &str) -> RefundRequest {
    RefundRequest {
        partner_id: None,
        refund_request_id: id.into(),
        payment_id: Some(payment_id.into()),
        payment_request_id: None,
        refund_amount: amount("USD", value),
        refund_reason: Some("too sweet".into()),
        extend_info: None,
    }
}

#[tokio::test]
async fn refunds_are_partial_repeated_and_never_exceed_the_payment() {
    let app = spawn_app().await;
    let id = paid(&app, "r-1", "1000").await;
    let first = app
        .merchant
        .refund("v2", &refund_req("f-1", &id, "300"))
        .await
        .unwrap();
    assert!(first.refund_id.is_some() && first.refund_time.is_some());
    let mut v1 = refund_req("f-2", &id, "700");
    v1.partner_id = Some(PARTNER_ID.into());
    app.merchant.refund("v1", &v1).await.unwrap();
    assert_eq!(available(&app, "alice").await, 100_000);
    let over: RefundResponse = app
        .merchant
        .call("v2/payments/refund", &refund_req("f-3", &id, "1"))
        .await
        .unwrap();
    assert_eq!(code(&over), "REFUND_AMOUNT_EXCEED");
    // Idempotent on refundRequestId; a changed repeat is inconsistent.
    let again = app
        .merchant
        .refund("v2", &refund_req("f-1", &id, "300"))
        .await
        .unwrap();
    assert_eq!(again.refund_id, first.refund_id);
    let changed: RefundResponse = app
        .merchant
        .call("v2/payments/refund", &refund_req("f-1", &id, "301"))
        .await
        .unwrap();
    assert_eq!(code(&changed), "REPEAT_REQ_INCONSISTENT");

    let lookup = RefundLookupRequest {
        refund_id: first.refund_id.clone(),
        refund_request_id: Some("f-2".into()),
        ..Default::default()
    };
    let i = app.merchant.inquiry_refund("v2", &lookup).await.unwrap();
    assert_eq!(i.refund_id, first.refund_id, "refundId wins");
    assert_eq!(i.refund_status.as_deref(), Some("SUCCESS"));
    assert_eq!(i.refund_amount, Some(amount("USD", "300")));
    let lookup = RefundLookupRequest {
        partner_id: Some(PARTNER_ID.into()),
        refund_request_id: Some("f-2".into()),
        ..Default::default()
    };
    assert_eq!(
        app.merchant
            .inquiry_refund("v1", &lookup)
            .await
            .unwrap()
            .refund_amount,
        Some(amount("USD", "700"))
    );
    let missing = RefundLookupRequest {
        refund_request_id: Some("nope".into()),
        ..Default::default()
    };
    let r: InquiryRefundResponse = app
        .merchant
        .call("v2/payments/inquiryRefund", &missing)
        .await
        .unwrap();
    assert_eq!(code(&r), "REFUND_NOT_EXIST");
    assert_books_sound(&app.wallet).await;
}

#[tokio::test]
async fn refund_refusals() {
    let app = spawn_app().await;
    let unpaid = pay2(&app, &v2("r-1", "1000")).await.payment_id.unwrap();
    let r: RefundResponse = app
        .merchant
        .call("v2/payments/refund", &refund_req("f-1", &unpaid, "1"))
        .await
        .unwrap();
    assert_eq!(code(&r), "ORDER_STATUS_INVALID");
    let r: RefundResponse = app
        .merchant
        .call("v2/payments/refund", &refund_req("f-2", "nope", "1"))
        .await
        .unwrap();
    assert_eq!(code(&r), "ORDER_NOT_EXIST");
    let id = paid(&app, "r-2", "1000").await;
    let mut other_currency = refund_req("f-3", &id, "1");
    other_currency.refund_amount = amount("PHP", "1");
    let r: RefundResponse = app
        .merchant
        .call("v2/payments/refund", &other_currency)
        .await
        .unwrap();
    assert_eq!(code(&r), "CURRENCY_NOT_SUPPORT");
    app.wallet.payout(CLIENT_ID, usd(900)).await.unwrap();
    let r: RefundResponse = app
        .merchant
        .call("v2/payments/refund", &refund_req("f-4", &id, "200"))
        .await
        .unwrap();
    assert_eq!(code(&r), "PARTNER_BALANCE_NOT_ENOUGH");
    assert_books_sound(&app.wallet).await;

    let app = spawn_app_with(|c| c.payments.refund_window_secs = 0).await;
    let id = paid(&app, "r-1", "1000").await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let r: RefundResponse = app
        .merchant
        .call("v2/payments/refund", &refund_req("f-1", &id, "1"))
        .await
        .unwrap();
    assert_eq!(code(&r), "REFUND_WINDOW_EXCEED");
}

#[tokio::test]
async fn an_unpaid_payment_expires_into_fail_and_a_repeat_says_so() {
    let app = spawn_app().await;
    app.grant_named_payer("alice").await;
    let mut r = v2("r-1", "1000");
    r.extend_info = Some(r#"{"customerId":"alice"}"#.into());
    r.payment_expiry_time = Some((chrono::Utc::now() + chrono::Duration::seconds(1)).to_rfc3339());
    let id = pay2(&app, &r).await.payment_id.unwrap();
    assert_eq!(available(&app, "alice").await, 99_000);
    let lookup = PaymentLookupRequest {
        payment_id: Some(id.clone()),
        ..Default::default()
    };
    let mut status = String::new();
    for _ in 0..100 {
        let i = app.merchant.inquiry_payment("v2", &lookup).await.unwrap();
        status = i.payment_status.clone().unwrap();
        if status == "FAIL" {
            assert_eq!(i.payment_fail_reason.as_deref(), Some("Order payment expired."));
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(status, "FAIL");
    assert_eq!(available(&app, "alice").await, 100_000, "the hold was voided");
    assert_eq!(code(&pay2(&app, &r).await), "ORDER_STATUS_INVALID");
    let late = app.wallet.confirm_payment(&id, "alice").await.unwrap();
    assert!(matches!(late, ApprovalOutcome::Refused { .. }));
    let mut past = v2("r-2", "100");
    past.payment_expiry_time = Some("2020-01-01T00:00:00+00:00".into());
    assert_eq!(code(&pay2(&app, &past).await), "PARAM_ILLEGAL");
    assert_books_sound(&app.wallet).await;
}

#[tokio::test]
async fn sandbox_amounts_force_outcomes_only_in_sandbox_mode() {
    let app = spawn_app_with(|c| c.sandbox = true).await;
    assert_eq!(code(&pay2(&app, &v2("s-1", "9901")).await), "RISK_REJECT");
    assert_eq!(
        code(&pay2(&app, &v2("s-2", "9902")).await),
        "USER_STATUS_ABNORMAL"
    );
    assert_eq!(
        code(&pay2(&app, &v2("s-4", "9904")).await),
        "USER_BALANCE_NOT_ENOUGH"
    );
    let u = pay2(&app, &v2("s-3", "9903")).await;
    assert_eq!(
        (u.result.result_status.as_str(), code(&u).as_str()),
        ("U", "UNKNOWN_EXCEPTION")
    );
    // The payment exists: inquiry shows it, and the retry with the same id gets the cashier link.
    let lookup = PaymentLookupRequest {
        payment_request_id: Some("s-3".into()),
        ..Default::default()
    };
    assert_eq!(
        app.merchant
            .inquiry_payment("v2", &lookup)
            .await
            .unwrap()
            .payment_status
            .as_deref(),
        Some("PROCESSING")
    );
    assert_eq!(code(&pay2(&app, &v2("s-3", "9903")).await), "ACCEPT");
    let u = pay2(&app, &v2("s-5", "9905")).await;
    assert_eq!(
        (u.result.result_status.as_str(), code(&u).as_str()),
        ("U", "PAYMENT_IN_PROCESS")
    );

    let normal = spawn_app().await;
    assert_eq!(code(&pay2(&normal, &v2("s-1", "9901")).await), "ACCEPT");
}

/// Sends `body` to `api` as the demo merchant; returns the answer's `result` as `S/CODE` and the body.
async fn sandbox_call(app: &TestApp, api: &str, body: serde_json::Value) -> (String, serde_json::Value) {
    let answer = app.merchant.send_json(api, &body).await.expect("signed answer");
    let r = answer.result.clone();
    let body: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    (format!("{}/{}", r.result_status, r.result_code), body)
}

#[tokio::test]
async fn sandbox_refund_amounts_force_f_or_u_and_a_u_refund_is_made_and_retried_as_s() {
    let app = spawn_app_with(|c| c.sandbox = true).await;
    let id = paid(&app, "sr-pay", "50000").await;
    let refund = |req: &str, value: &str| serde_json::json!({"refundRequestId": req, "paymentId": id, "refundAmount": {"currency": "USD", "value": value}});
    for (value, want) in [
        ("9911", "F/REFUND_AMOUNT_EXCEED"),
        ("9912", "F/PARTNER_BALANCE_NOT_ENOUGH"),
    ] {
        let req = format!("sr-{value}");
        assert_eq!(
            sandbox_call(&app, "v2/payments/refund", refund(&req, value))
                .await
                .0,
            want
        );
        assert_eq!(
            sandbox_call(&app, "v2/payments/refund", refund(&req, value))
                .await
                .0,
            want,
            "retry"
        );
        let lookup = serde_json::json!({"refundRequestId": req});
        assert_eq!(
            sandbox_call(&app, "v2/payments/inquiryRefund", lookup).await.0,
            "F/REFUND_NOT_EXIST"
        );
    }
    let before = available(&app, "alice").await;
    let (result, _) = sandbox_call(&app, "v2/payments/refund", refund("sr-u", "9913")).await;
    assert_eq!(result, "U/UNKNOWN_EXCEPTION");
    // The refund was made: inquiry says so, the money is back, and the retry answers S.
    let (result, found) = sandbox_call(
        &app,
        "v2/payments/inquiryRefund",
        serde_json::json!({"refundRequestId": "sr-u"}),
    )
    .await;
    assert_eq!(result, "S/SUCCESS");
    assert_eq!(found["refundStatus"], "SUCCESS");
    assert_eq!(available(&app, "alice").await, before + 9913);
    let (result, again) = sandbox_call(&app, "v2/payments/refund", refund("sr-u", "9913")).await;
    assert_eq!(result, "S/SUCCESS");
    assert_eq!(again["refundId"], found["refundId"]);
    assert_eq!(
        available(&app, "alice").await,
        before + 9913,
        "the retry moved nothing"
    );
    assert_books_sound(&app.wallet).await;

    // Outside sandbox mode the same amounts are ordinary refunds.
    let normal = spawn_app().await;
    let id = paid(&normal, "sr-pay", "50000").await;
    let body = serde_json::json!({"refundRequestId": "sr-9911", "paymentId": id, "refundAmount": {"currency": "USD", "value": "9911"}});
    assert_eq!(
        sandbox_call(&normal, "v2/payments/refund", body).await.0,
        "S/SUCCESS"
    );
}

#[tokio::test]
async fn sandbox_capture_amounts_force_f_or_u_and_a_u_capture_is_made_and_retried_as_s() {
    let app = spawn_app_with(|c| c.sandbox = true).await;
    let id = pay2(&app, &v2("sc-auth", "50000").as_authorization())
        .await
        .payment_id
        .unwrap();
    let outcome = app.wallet.confirm_payment(&id, "alice").await.unwrap();
    assert!(matches!(outcome, ApprovalOutcome::Done(_)), "{outcome:?}");
    let capture = |req: &str, value: &str| serde_json::json!({"captureRequestId": req, "paymentId": id, "captureAmount": {"currency": "USD", "value": value}, "isLastCapture": true});
    for (value, want) in [
        ("9921", "F/CAPTURE_AMOUNT_EXCEED_AUTH_LIMIT"),
        ("9922", "F/AUTH_EXPIRED"),
    ] {
        let req = format!("sc-{value}");
        assert_eq!(
            sandbox_call(&app, "v2/payments/capture", capture(&req, value))
                .await
                .0,
            want
        );
        assert_eq!(
            sandbox_call(&app, "v2/payments/capture", capture(&req, value))
                .await
                .0,
            want,
            "retry"
        );
    }
    let lookup = serde_json::json!({"paymentId": id});
    let (_, p) = sandbox_call(&app, "v2/payments/inquiryPayment", lookup.clone()).await;
    assert_eq!(p["paymentStatus"], "PROCESSING", "a forced F captures nothing");
    let (result, _) = sandbox_call(&app, "v2/payments/capture", capture("sc-u", "9923")).await;
    assert_eq!(result, "U/UNKNOWN_EXCEPTION");
    // The capture was made: inquiry says SUCCESS, and the retry answers S with the same capture.
    let (_, p) = sandbox_call(&app, "v2/payments/inquiryPayment", lookup).await;
    assert_eq!(p["paymentStatus"], "SUCCESS");
    let (result, again) = sandbox_call(&app, "v2/payments/capture", capture("sc-u", "9923")).await;
    assert_eq!(result, "S/SUCCESS");
    assert_eq!(again["captureAmount"]["value"], "9923");
    assert_eq!(app.wallet.captures_of(&id).await.unwrap().len(), 1);
    assert_books_sound(&app.wallet).await;
}
