//! Every notification attempt records the request as the merchant received it: its headers and
//! its exact body, so that an operator can show what was sent (`walletd admin notification show`).

use crate::helpers::*;
use crate::payments::v2;
use axum::body::Bytes;
use axum::http::HeaderMap;
use std::time::Duration;
use walletd_protocol::miniprogram::PayResponse;

#[tokio::test]
async fn notification_attempt_records_the_exact_headers_and_body_the_merchant_received() {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<(HeaderMap, Bytes)>(4);
    let merchant = axum::Router::new().route(
        "/notify",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let tx = tx.clone();
            async move {
                let _ = tx.send((headers, body)).await;
                "not an acknowledgement"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let notify_url = format!("http://{}/notify", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, merchant).await });

    let app = spawn_app_with(|c| c.notifier.poll_interval_ms = 50).await;
    let mut req = v2("n-1", "1250");
    req.payment_notify_url = Some(notify_url.clone());
    let a: PayResponse = app.merchant.call("v2/payments/pay", &req).await.expect("pay");
    let payment_id = a.payment_id.expect("payment id");
    app.wallet
        .confirm_payment(&payment_id, "alice")
        .await
        .expect("confirm");

    let (headers, body) = tokio::time::timeout(Duration::from_secs(30), rx.recv())
        .await
        .expect("the notifier posts within 30 s")
        .expect("a request");
    let mut attempt = None;
    for _ in 0..200 {
        let entries = app.wallet.list_notifications(10).await.unwrap();
        let entry = entries
            .iter()
            .find(|e| e.subject_id == payment_id)
            .expect("outbox row");
        if let Some(a) = entry.attempts.first() {
            attempt = Some(a.clone());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let attempt = attempt.expect("the attempt is recorded");
    let sent = attempt.sent.expect("the attempt keeps what was sent");
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.url, notify_url);
    assert_eq!(sent.body.as_bytes(), &body[..], "the exact body");
    assert!(!sent.body_truncated);
    assert!(!sent.headers.is_empty());
    for (name, value) in &sent.headers {
        assert_eq!(
            headers.get(name.as_str()).and_then(|v| v.to_str().ok()),
            Some(value.as_str()),
            "header {name} as received"
        );
    }
    assert!(sent
        .headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("signature")));
}
