//! pay, inquiryPayment, cancel, refund and inquiryRefund at the HTTP boundary.

use crate::helpers::*;
use chrono::DateTime;
use serde_json::Value;

fn refund_body(
    payment_id: &str,
    refund_request_id: Option<&str>,
    value: &str,
    currency: Option<&str>,
) -> String {
    let rid = refund_request_id.map_or(String::new(), |r| format!(r#""refundRequestId":"{r}","#));
    let cur = currency.map_or(String::new(), |c| format!(r#","currency":"{c}""#));
    format!(
        r#"{{"paymentId":"{payment_id}",{rid}"refund":{{"refundAmount":{{"value":"{value}"{cur}}},"description":"Cup was cold"}}}}"#
    )
}

fn time_of(v: &Value, field: &str) -> DateTime<chrono::FixedOffset> {
    DateTime::parse_from_rfc3339(v[field].as_str().unwrap_or_else(|| panic!("{field} in {v}"))).unwrap()
}

#[tokio::test]
async fn pay_answers_in_process_with_the_cashier_link_and_a_qr_code_of_it() {
    let app = spawn_app().await;
    let v = app.call("payments/pay", pay_body("order-1", "1234", None)).await;
    assert_eq!(v["result"]["resultCode"], "PAYMENT_IN_PROCESS", "{v}");
    assert_eq!(v["result"]["resultStatus"], "U");
    let payment_id = v["paymentId"].as_str().unwrap();
    let url = app.state.cashier_url(payment_id);
    assert_eq!(v["paymentInfo"]["paymentUrl"], url.as_str());
    assert_eq!(v["paymentInfo"]["payUrl"], url.as_str());
    let image = v["paymentInfo"]["paymentQRImage"].as_str().unwrap();
    assert_eq!(decode_qr_image(image), url, "the QR code is the cashier link");
    // Echoes of the request.
    assert_eq!(v["scenarioCode"], "ONLINE_QRCODE");
    assert_eq!(v["paymentRequestId"], "order-1");
    assert_eq!(v["order"]["orderAmount"]["value"], "1234");
    assert_eq!(v["order"]["orderAmount"]["currency"], "CAD");
    assert_eq!(v["order"]["description"], "Two cups of tea");
    assert_eq!(v["order"]["redirectUrl"], "https://shop.example/done");
    assert_eq!(v["paymentMethod"]["paymentMethodType"], "Alipay");
    // Unpaid orders expire after 5 minutes by default.
    let lifetime = time_of(&v, "paymentExpireTime") - time_of(&v, "paymentCreateTime");
    assert_eq!(lifetime.num_seconds(), 300);
    let p = app.wallet.get_payment(payment_id).await.unwrap().unwrap();
    assert_eq!(p.channel.as_str(), "alphapay");
    assert_eq!(p.client_id, MERCHANT);
}

#[tokio::test]
async fn the_unpaid_expiry_is_configurable() {
    let app = spawn_app_with(|c| c.alphapay.unpaid_expiry_secs = 90).await;
    let v = app.call("payments/pay", pay_body("order-90", "100", None)).await;
    let lifetime = time_of(&v, "paymentExpireTime") - time_of(&v, "paymentCreateTime");
    assert_eq!(lifetime.num_seconds(), 90);
}

#[tokio::test]
async fn pay_is_idempotent_by_payment_request_id() {
    let app = spawn_app().await;
    let first = create_payment(&app, "same-id", "500").await;
    let again = app.call("payments/pay", pay_body("same-id", "500", None)).await;
    assert_eq!(again["paymentId"], first.as_str(), "{again}");
    assert_eq!(again["result"]["resultCode"], "PAYMENT_IN_PROCESS");
    let other = app.call("payments/pay", pay_body("same-id", "501", None)).await;
    assert_eq!(
        other["result"]["resultCode"], "REPEAT_REQ_INCONSISTENT",
        "{other}"
    );
    confirm(&app, &first).await;
    let paid = app.call("payments/pay", pay_body("same-id", "500", None)).await;
    assert_eq!(paid["result"]["resultCode"], "SUCCESS", "{paid}");
    assert_eq!(paid["paymentId"], first.as_str());
    assert_eq!(app.payment_count().await, 1);
}

#[tokio::test]
async fn bad_orders_are_refused_with_the_field_named_and_nothing_is_created() {
    let app = spawn_app().await;
    let good = pay_body("bad-1", "100", None);
    let cases: Vec<(&str, String, &str, &str)> = vec![
        (
            "8 digits",
            good.replace(r#""value":"100""#, r#""value":"10000000""#),
            "PARAM_ILLEGAL",
            "order.orderAmount.value",
        ),
        (
            "zero",
            good.replace(r#""value":"100""#, r#""value":"0""#),
            "PARAM_ILLEGAL",
            "order.orderAmount.value",
        ),
        (
            "decimal",
            good.replace(r#""value":"100""#, r#""value":"1.00""#),
            "PARAM_ILLEGAL",
            "order.orderAmount.value",
        ),
        (
            "number",
            good.replace(r#""value":"100""#, r#""value":100"#),
            "PARAM_ILLEGAL",
            "order.orderAmount.value",
        ),
        (
            "EUR",
            good.replace(r#""currency":"CAD""#, r#""currency":"EUR""#),
            "CURRENCY_NOT_SUPPORT",
            "EUR",
        ),
        (
            "not a currency",
            good.replace(r#""currency":"CAD""#, r#""currency":"ZZZ""#),
            "PARAM_ILLEGAL",
            "order.orderAmount.currency",
        ),
        (
            "unknown scenario",
            good.replace("ONLINE_QRCODE", "TELEPORT"),
            "PARAM_ILLEGAL",
            "scenarioCode",
        ),
        (
            "card scenario",
            good.replace("ONLINE_QRCODE", "CREDIT_CARD"),
            "PROCESS_FAIL",
            "CREDIT_CARD",
        ),
        (
            "till scenario",
            good.replace("ONLINE_QRCODE", "OFFLINE"),
            "PROCESS_FAIL",
            "OFFLINE",
        ),
        (
            "empty description",
            good.replace("Two cups of tea", ""),
            "PARAM_ILLEGAL",
            "order.description",
        ),
        (
            "no order",
            r#"{"scenarioCode":"ONLINE_QRCODE","paymentRequestId":"x"}"#.to_owned(),
            "PARAM_ILLEGAL",
            "order",
        ),
    ];
    for (name, body, code, mentions) in cases {
        let v = app.call("payments/pay", body).await;
        assert_eq!(v["result"]["resultCode"], code, "{name}: {v}");
        assert_eq!(v["result"]["resultStatus"], "F", "{name}");
        let message = v["result"]["resultMessage"].as_str().unwrap();
        assert!(message.contains(mentions), "{name}: {message}");
    }
    assert_eq!(app.payment_count().await, 0);
}

#[tokio::test]
async fn every_cashier_scenario_is_served_and_long_descriptions_are_cut() {
    let app = spawn_app().await;
    for (i, scenario) in ["OFFLINE_QRCODE", "ONLINE_WEB", "ONLINE_WAP", "JSAPI"]
        .iter()
        .enumerate()
    {
        let body = pay_body(&format!("sc-{i}"), "100", None)
            .replace("ONLINE_QRCODE", scenario)
            .replace("Two cups of tea", &"T".repeat(300));
        let v = app.call("payments/pay", body).await;
        assert_eq!(v["result"]["resultCode"], "PAYMENT_IN_PROCESS", "{scenario}: {v}");
        assert_eq!(v["scenarioCode"], *scenario);
        assert_eq!(v["order"]["description"].as_str().unwrap().len(), 128);
        let inquiry = app
            .call(
                "payments/inquiryPayment",
                format!(r#"{{"paymentId":"{}"}}"#, v["paymentId"].as_str().unwrap()),
            )
            .await;
        assert_eq!(inquiry["scenarioCode"], *scenario, "scenario is kept: {inquiry}");
    }
}

#[tokio::test]
async fn inquiry_follows_the_order_through_payment_and_refunds() {
    let app = spawn_app().await;
    let id = create_payment(&app, "life-1", "1000").await;
    assert_eq!(inquiry_status(&app, &id).await, "PAYMENT_IN_PROCESS");
    confirm(&app, &id).await;
    let v = app
        .call("payments/inquiryPayment", format!(r#"{{"paymentId":"{id}"}}"#))
        .await;
    assert_eq!(v["paymentStatus"], "SUCCESS", "{v}");
    assert_eq!(v["paymentRequestId"], "life-1");
    assert_eq!(v["order"]["orderAmount"]["value"], "1000");
    assert!(v["paymentTime"].is_string());
    // By paymentRequestId too (the Java SDK can send it).
    let by_request = app
        .call("payments/inquiryPayment", r#"{"paymentRequestId":"life-1"}"#)
        .await;
    assert_eq!(by_request["paymentId"], id.as_str());
    let r = app
        .call("payments/refund", refund_body(&id, Some("rf-1"), "400", None))
        .await;
    assert_eq!(r["result"]["resultCode"], "SUCCESS", "{r}");
    assert_eq!(inquiry_status(&app, &id).await, "PARTIAL_REFUND");
    let r = app
        .call(
            "payments/refund",
            refund_body(&id, Some("rf-2"), "600", Some("CAD")),
        )
        .await;
    assert_eq!(r["result"]["resultCode"], "SUCCESS", "{r}");
    assert_eq!(inquiry_status(&app, &id).await, "FULL_REFUND");
    assert_books_sound(&app.wallet).await;
}

#[tokio::test]
async fn expired_cancelled_and_declined_orders_are_closed_or_failed() {
    let app = spawn_app().await;
    let expiring = create_payment(&app, "exp-1", "100").await;
    let cancelled = create_payment(&app, "can-1", "100").await;
    let declined = create_payment(&app, "dec-1", "100").await;
    app.wallet
        .decline_payment(&declined, "The payer declined")
        .await
        .unwrap();
    assert_eq!(inquiry_status(&app, &declined).await, "FAILED");
    let v = app
        .call("payments/cancel", format!(r#"{{"paymentId":"{cancelled}"}}"#))
        .await;
    assert_eq!(v["result"]["resultCode"], "SUCCESS", "{v}");
    assert_eq!(v["paymentId"], cancelled.as_str());
    assert_eq!(v["paymentRequestId"], "can-1");
    assert!(v["cancelTime"].is_string());
    assert_eq!(inquiry_status(&app, &cancelled).await, "CLOSED");
    // Five minutes and a second later nobody can pay the first any more.
    app.clock.advance_ms(301_000);
    assert_eq!(inquiry_status(&app, &expiring).await, "CLOSED");
    // Once the sweep has failed it, it stays CLOSED (it expired; no payer failed).
    for _ in 0..100 {
        let p = app.wallet.get_payment(&expiring).await.unwrap().unwrap();
        if p.status.as_str() == "FAIL" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let p = app.wallet.get_payment(&expiring).await.unwrap().unwrap();
    assert_eq!(p.status.as_str(), "FAIL", "the sweep expired it");
    assert_eq!(inquiry_status(&app, &expiring).await, "CLOSED");
    // Cancelling a closed order: it is closed, which is what was asked.
    let v = app
        .call("payments/cancel", format!(r#"{{"paymentId":"{expiring}"}}"#))
        .await;
    assert_eq!(v["result"]["resultCode"], "SUCCESS", "{v}");
    let v = app
        .call("payments/cancel", format!(r#"{{"paymentId":"{cancelled}"}}"#))
        .await;
    assert_eq!(v["result"]["resultCode"], "SUCCESS", "cancel twice: {v}");
    // A failed order cannot be cancelled into something else.
    let v = app
        .call("payments/cancel", format!(r#"{{"paymentId":"{declined}"}}"#))
        .await;
    assert_eq!(v["result"]["resultCode"], "ORDER_STATUS_INVALID", "{v}");
    assert_books_sound(&app.wallet).await;
}

#[tokio::test]
async fn a_paid_order_cannot_be_cancelled_and_keeps_its_money() {
    let app = spawn_app().await;
    let id = create_payment(&app, "paid-1", "700").await;
    confirm(&app, &id).await;
    let v = app
        .call("payments/cancel", format!(r#"{{"paymentId":"{id}"}}"#))
        .await;
    assert_eq!(v["result"]["resultCode"], "ORDER_PAID", "{v}");
    assert_eq!(v["result"]["resultStatus"], "F");
    assert_eq!(inquiry_status(&app, &id).await, "SUCCESS");
    let v = app.call("payments/cancel", r#"{"paymentId":"nope"}"#).await;
    assert_eq!(v["result"]["resultCode"], "ORDER_NOT_EXIST");
    let v = app.call("payments/cancel", "{}").await;
    assert_eq!(v["result"]["resultCode"], "PARAM_ILLEGAL");
}

#[tokio::test]
async fn refunds_check_the_amount_and_are_idempotent_by_refund_request_id() {
    let app = spawn_app().await;
    let unpaid = create_payment(&app, "unpaid-1", "300").await;
    let v = app
        .call("payments/refund", refund_body(&unpaid, Some("r0"), "1", None))
        .await;
    assert_eq!(v["result"]["resultCode"], "ORDER_STATUS_INVALID", "{v}");
    let id = create_payment(&app, "ref-1", "300").await;
    confirm(&app, &id).await;
    let v = app
        .call("payments/refund", refund_body(&id, Some("r1"), "100", None))
        .await;
    assert_eq!(v["result"]["resultCode"], "SUCCESS", "{v}");
    let refund_id = v["refundId"].as_str().unwrap().to_owned();
    assert_eq!(v["paymentId"], id.as_str());
    assert_eq!(v["refundRequestId"], "r1");
    assert_eq!(v["refund"]["refundAmount"]["value"], "100");
    assert_eq!(
        v["refund"]["refundAmount"]["currency"], "CAD",
        "the payment's currency"
    );
    assert_eq!(v["refund"]["description"], "Cup was cold");
    assert!(v["refundTime"].is_string());
    // The same request again: the same refund, no money moves twice.
    let again = app
        .call("payments/refund", refund_body(&id, Some("r1"), "100", None))
        .await;
    assert_eq!(again["refundId"], refund_id.as_str(), "{again}");
    let changed = app
        .call("payments/refund", refund_body(&id, Some("r1"), "101", None))
        .await;
    assert_eq!(
        changed["result"]["resultCode"], "REPEAT_REQ_INCONSISTENT",
        "{changed}"
    );
    let too_much = app
        .call("payments/refund", refund_body(&id, Some("r2"), "201", None))
        .await;
    assert_eq!(
        too_much["result"]["resultCode"], "REFUND_AMOUNT_EXCEED",
        "{too_much}"
    );
    let wrong_currency = app
        .call("payments/refund", refund_body(&id, Some("r3"), "1", Some("USD")))
        .await;
    assert_eq!(
        wrong_currency["result"]["resultCode"], "CURRENCY_NOT_SUPPORT",
        "{wrong_currency}"
    );
    let eight_digits = app
        .call("payments/refund", refund_body(&id, Some("r4"), "10000000", None))
        .await;
    assert_eq!(eight_digits["result"]["resultCode"], "PARAM_ILLEGAL");
    // Without a refundRequestId (optional in AlphaPay) the refund gets an id of ours.
    let anonymous = app
        .call("payments/refund", refund_body(&id, None, "50", None))
        .await;
    assert_eq!(anonymous["result"]["resultCode"], "SUCCESS", "{anonymous}");
    assert!(!anonymous["refundRequestId"].as_str().unwrap().is_empty());
    assert_eq!(inquiry_status(&app, &id).await, "PARTIAL_REFUND");
    let p = app.wallet.get_payment(&id).await.unwrap().unwrap();
    assert_eq!(p.refunded_minor, 150);
    assert_books_sound(&app.wallet).await;
}

#[tokio::test]
async fn inquiry_refund_finds_a_refund_by_either_id_and_only_for_its_merchant() {
    let app = spawn_app().await;
    let id = create_payment(&app, "iq-1", "300").await;
    confirm(&app, &id).await;
    let v = app
        .call("payments/refund", refund_body(&id, Some("iq-r1"), "120", None))
        .await;
    let refund_id = v["refundId"].as_str().unwrap().to_owned();
    for body in [
        format!(r#"{{"refundId":"{refund_id}"}}"#),
        r#"{"refundRequestId":"iq-r1"}"#.to_owned(),
        format!(r#"{{"refundId":"{refund_id}","refundRequestId":"iq-r1"}}"#),
    ] {
        let q = app.call("payments/inquiryRefund", body.clone()).await;
        assert_eq!(q["result"]["resultCode"], "SUCCESS", "{body}: {q}");
        assert_eq!(q["refundId"], refund_id.as_str());
        assert_eq!(q["refundRequestId"], "iq-r1");
        assert_eq!(q["paymentId"], id.as_str());
        assert_eq!(q["refundStatus"], "SUCCESS");
        assert_eq!(q["refund"]["refundAmount"]["value"], "120");
        assert!(q["refundTime"].is_string());
    }
    let q = app.call("payments/inquiryRefund", r#"{"refundId":"nope"}"#).await;
    assert_eq!(q["result"]["resultCode"], "REFUND_NOT_EXIST");
    let q = app.call("payments/inquiryRefund", "{}").await;
    assert_eq!(q["result"]["resultCode"], "PARAM_ILLEGAL");
    // Another merchant sees neither the refund nor the payment.
    for (endpoint, body, code) in [
        (
            "payments/inquiryRefund",
            format!(r#"{{"refundId":"{refund_id}"}}"#),
            "REFUND_NOT_EXIST",
        ),
        (
            "payments/inquiryPayment",
            format!(r#"{{"paymentId":"{id}"}}"#),
            "ORDER_NOT_EXIST",
        ),
        (
            "payments/refund",
            refund_body(&id, Some("steal"), "1", None),
            "ORDER_NOT_EXIST",
        ),
        (
            "payments/cancel",
            format!(r#"{{"paymentId":"{id}"}}"#),
            "ORDER_NOT_EXIST",
        ),
    ] {
        let mut req = app.request(endpoint, body);
        req.merchant_code = OTHER_MERCHANT.into();
        req.key = other_key().clone();
        let answer = app.send(&req).await;
        answer.assert_signed(&app, &req.path, OTHER_MERCHANT);
        assert_eq!(answer.code(), code, "{endpoint}: {:?}", answer.json);
    }
}

#[tokio::test]
async fn sandbox_refund_amounts_force_their_outcomes_in_alphapay_too() {
    let app = spawn_app_with(|c| c.sandbox = true).await;
    let id = create_payment(&app, "sandbox-ref", "50000").await;
    confirm(&app, &id).await;
    for (value, code) in [
        ("9911", "REFUND_AMOUNT_EXCEED"),
        ("9912", "PARTNER_BALANCE_NOT_ENOUGH"),
    ] {
        let req = format!("sr-{value}");
        let v = app
            .call("payments/refund", refund_body(&id, Some(&req), value, None))
            .await;
        assert_eq!(v["result"]["resultCode"], code, "{v}");
        assert_eq!(v["result"]["resultStatus"], "F", "{v}");
    }
    assert_eq!(
        app.wallet.get_payment(&id).await.unwrap().unwrap().refunded_minor,
        0
    );
    let v = app
        .call("payments/refund", refund_body(&id, Some("sr-u"), "9913", None))
        .await;
    assert_eq!(
        (
            v["result"]["resultStatus"].as_str(),
            v["result"]["resultCode"].as_str()
        ),
        (Some("U"), Some("UNKNOWN_EXCEPTION")),
        "{v}"
    );
    // The refund was made: the order shows it, and the retry answers S with the refund.
    assert_eq!(inquiry_status(&app, &id).await, "PARTIAL_REFUND");
    let again = app
        .call("payments/refund", refund_body(&id, Some("sr-u"), "9913", None))
        .await;
    assert_eq!(again["result"]["resultCode"], "SUCCESS", "{again}");
    assert_eq!(again["refund"]["refundAmount"]["value"], "9913");
    assert_eq!(
        app.wallet.get_payment(&id).await.unwrap().unwrap().refunded_minor,
        9913
    );
    assert_books_sound(&app.wallet).await;
}
