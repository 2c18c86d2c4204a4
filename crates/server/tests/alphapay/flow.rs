//! The whole AlphaPay flow: pay → QR code → cashier page → paid → signed notification → refund →
//! refund notification → inquiryRefund.

use crate::helpers::*;
use walletd_protocol::signature::SignatureHeader;
use walletd_protocol::{content, time};

/// Checks a received notification's headers and signature; returns its JSON body.
fn verified(app: &TestApp, n: &Received, expected_path: &str) -> serde_json::Value {
    let h = |name: &str| {
        n.header(name)
            .unwrap_or_else(|| panic!("notification has no {name}: {:?}", n.headers))
            .to_owned()
    };
    assert_eq!(n.target, expected_path);
    assert!(h("Content-Type").starts_with("application/json"));
    assert_eq!(h("Merchant-Code"), MERCHANT);
    let nonce = h("Nonce");
    assert_eq!(nonce.len(), 32);
    let request_time = h("Request-Time");
    time::parse_request_time(&request_time).expect("Request-Time is ISO 8601");
    let sig = SignatureHeader::parse(&h("Signature")).expect("Signature header");
    let signed = content::alphapay("POST", &n.target, MERCHANT, &request_time, &nonce, &n.body);
    app.wallet_public_key
        .verify(&signed, &sig.signature)
        .expect("the notification's signature verifies with the wallet's public key");
    serde_json::from_slice(&n.body).expect("JSON body")
}

#[tokio::test]
async fn pay_scan_pay_notify_refund_notify_inquire() {
    let app = spawn_app().await;
    let pay_notify = format!("{}/alphapay/notify?order=flow-1", app.merchant_base_url);
    let refund_notify = format!("{}/alphapay/refund-notify", app.merchant_base_url);

    // 1. The merchant creates the order and shows the QR code.
    let v = app
        .call("payments/pay", pay_body("flow-1", "2500", Some(&pay_notify)))
        .await;
    assert_eq!(v["result"]["resultCode"], "PAYMENT_IN_PROCESS", "{v}");
    let payment_id = v["paymentId"].as_str().unwrap().to_owned();
    assert_eq!(v["order"]["notifyUrl"], pay_notify.as_str());

    // 2. The payer's phone scans it and opens the cashier page.
    let scanned = decode_qr_image(v["paymentInfo"]["paymentQRImage"].as_str().unwrap());
    assert_eq!(scanned, v["paymentInfo"]["payUrl"].as_str().unwrap());
    let page = app.http.get(&scanned).send().await.expect("cashier page");
    assert_eq!(
        page.status().as_u16(),
        200,
        "the QR code leads to a live cashier page"
    );

    // 3. The payer pays (the cashier's Pay button calls this).
    confirm(&app, &payment_id).await;
    assert_eq!(inquiry_status(&app, &payment_id).await, "SUCCESS");

    // 4. The merchant is told, signed with the wallet's key.
    let got = app.wait_for_notifications(1).await;
    let body = verified(&app, &got[0], "/alphapay/notify?order=flow-1");
    assert_eq!(body["paymentId"], payment_id.as_str());
    assert_eq!(body["paymentRequestId"], "flow-1");
    assert_eq!(body["paymentStatus"], "SUCCESS");
    assert_eq!(body["scenarioCode"], "ONLINE_QRCODE");
    assert_eq!(body["order"]["orderAmount"]["value"], "2500");
    assert!(body["paymentTime"].is_string());
    assert!(
        body.get("result").is_none(),
        "a notification carries no result: {body}"
    );
    // The body is the inquiry answer without its result.
    let inquiry = app
        .call(
            "payments/inquiryPayment",
            format!(r#"{{"paymentId":"{payment_id}"}}"#),
        )
        .await;
    let mut without_result = inquiry.clone();
    without_result.as_object_mut().unwrap().remove("result");
    assert_eq!(body, without_result);

    // 5. Part of it is refunded, with a refund notification.
    let r = app
        .call(
            "payments/refund",
            format!(
                r#"{{"paymentId":"{payment_id}","refundRequestId":"flow-r1","refund":{{"refundAmount":{{"value":"1000","currency":"CAD"}},"description":"One cup","notifyUrl":"{refund_notify}"}}}}"#
            ),
        )
        .await;
    assert_eq!(r["result"]["resultCode"], "SUCCESS", "{r}");
    let refund_id = r["refundId"].as_str().unwrap().to_owned();
    assert_eq!(r["refund"]["notifyUrl"], refund_notify.as_str());
    let got = app.wait_for_notifications(2).await;
    let body = verified(&app, &got[1], "/alphapay/refund-notify");
    assert_eq!(body["refundId"], refund_id.as_str());
    assert_eq!(body["refundRequestId"], "flow-r1");
    assert_eq!(body["paymentId"], payment_id.as_str());
    assert_eq!(body["refundStatus"], "SUCCESS");
    assert_eq!(body["refund"]["refundAmount"]["value"], "1000");

    // 6. The merchant confirms the refund and the order's new state.
    let q = app
        .call(
            "payments/inquiryRefund",
            format!(r#"{{"refundId":"{refund_id}"}}"#),
        )
        .await;
    assert_eq!(q["result"]["resultCode"], "SUCCESS", "{q}");
    assert_eq!(q["refundStatus"], "SUCCESS");
    let mut without_result = q.clone();
    without_result.as_object_mut().unwrap().remove("result");
    assert_eq!(
        body, without_result,
        "the refund notification is the inquiry without result"
    );
    assert_eq!(inquiry_status(&app, &payment_id).await, "PARTIAL_REFUND");

    // Each notification was delivered once (acknowledged at the first attempt).
    let outbox = app.wallet.list_notifications(10).await.unwrap();
    assert_eq!(outbox.len(), 2);
    for n in &outbox {
        assert_eq!(n.status.as_str(), "DELIVERED", "{n:?}");
        assert_eq!(n.attempts.len(), 1);
    }
    assert_eq!(app.merchant.received().len(), 2);
    assert_books_sound(&app.wallet).await;
}

#[tokio::test]
async fn an_order_that_expires_unpaid_sends_no_notification() {
    let app = spawn_app().await;
    let notify = format!("{}/alphapay/notify", app.merchant_base_url);
    let v = app
        .call("payments/pay", pay_body("quiet-1", "100", Some(&notify)))
        .await;
    let payment_id = v["paymentId"].as_str().unwrap().to_owned();
    app.clock.advance_ms(301_000);
    for _ in 0..100 {
        let p = app.wallet.get_payment(&payment_id).await.unwrap().unwrap();
        if p.status.as_str() == "FAIL" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // Give the notifier time to pick up whatever the sweep wrote.
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert!(
        app.merchant.received().is_empty(),
        "AlphaPay notifies successful payments only"
    );
    assert_eq!(inquiry_status(&app, &payment_id).await, "CLOSED");
}
