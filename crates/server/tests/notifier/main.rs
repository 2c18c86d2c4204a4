//! The notifier against fake merchants: retries until acknowledged, timeouts, a restart in the
//! middle of the schedule, expiry while walletd was down, bounded concurrency, resend.

#[path = "../browser/support.rs"]
mod support;

use serde_json::json;
use std::time::Duration;
use support::*;
use walletd_core::outbox::OutboxStatus;
use walletd_core::payments::{ApprovalOutcome, PaymentStatus};

const WAIT: Duration = Duration::from_secs(15);

/// A cashier payment with a notify URL, paid by alice through the core (no pages needed here).
async fn paid_payment(app: &TestApp, merchant: &FakeMerchant, version: u8) -> String {
    let (id, _) = create_payment(
        app,
        PayOptions {
            version,
            notify_url: Some(merchant.notify_url()),
            ..Default::default()
        },
    )
    .await;
    let outcome = app.wallet.confirm_payment(&id, "alice").await.expect("confirm");
    assert!(matches!(outcome, ApprovalOutcome::Done(_)), "{outcome:?}");
    id
}

#[tokio::test]
async fn a_merchant_that_fails_three_times_gets_the_fourth_attempt_and_it_counts() {
    let app = spawn_app(|_| {}).await;
    let merchant = FakeMerchant::start(Answer::FailThenAck { failures: 3 }).await;
    let id = paid_payment(&app, &merchant, 1).await;
    let entry = app.settled_notification(&id, WAIT).await;
    assert_eq!(entry.status, OutboxStatus::Delivered);
    assert_eq!(entry.attempts.len(), 4, "{:#?}", entry.attempts);
    let [f, u, e, ok] = &entry.attempts[..] else {
        unreachable!()
    };
    // F and U answers with HTTP 200 are not acknowledgements, and neither is an HTTP 500.
    assert_eq!((f.http_status, f.delivered), (Some(200), false));
    assert!(f.answer.contains("PROCESS_FAIL"), "{}", f.answer);
    assert_eq!((u.http_status, u.delivered), (Some(200), false));
    assert!(u.answer.contains("UNKNOWN_EXCEPTION"), "{}", u.answer);
    assert_eq!((e.http_status, e.delivered), (Some(500), false));
    assert_eq!(e.answer, "oops");
    assert_eq!((ok.http_status, ok.delivered), (Some(200), true));
    // The schedule's 100 ms gaps were kept.
    for pair in entry.attempts.windows(2) {
        assert!(
            pair[1].at - pair[0].at >= chrono::Duration::milliseconds(100),
            "{pair:?}"
        );
    }
    // The same notification each time, signed afresh, verifiable with the wallet's key.
    let received = merchant.received();
    assert_eq!(received.len(), 4);
    for r in &received {
        r.verify(&app.wallet_public_key).expect("signature");
        assert_eq!(r.body, received[0].body, "the same body every time");
        assert_eq!(r.target, "/shop/notify?shop=tea");
    }
    let body = received[0].json();
    assert_eq!(body["paymentStatus"], "SUCCESS");
    assert_eq!(body["partnerId"], PARTNER_ID);
    assert_eq!(body["paymentId"], id.as_str());
    assert!(body["paymentTime"].is_string() && body["paymentCreateTime"].is_string());
    save_for_interop(&app, &received[3]);
}

/// Leaves one real notification for tests/interop/notify_verify.py (the official SDK's verifier).
fn save_for_interop(app: &TestApp, n: &Received) {
    let dir = artifacts_dir().join("notification");
    std::fs::create_dir_all(&dir).expect("dir");
    let headers: serde_json::Map<String, serde_json::Value> =
        n.headers.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    let meta = json!({"target": n.target, "method": "POST", "headers": headers});
    std::fs::write(
        dir.join("headers.json"),
        serde_json::to_vec_pretty(&meta).unwrap(),
    )
    .unwrap();
    std::fs::write(dir.join("body.json"), &n.body).unwrap();
    std::fs::write(
        dir.join("wallet_public_key.pem"),
        app.wallet_public_key.to_spki_pem(),
    )
    .unwrap();
}

#[tokio::test]
async fn a_merchant_that_never_answers_times_out_and_the_notification_fails_when_the_schedule_is_spent() {
    let app = spawn_app(|c| {
        c.notifier.timeout_ms = 300;
        c.notifier.retry_gaps_ms = vec![50, 50];
    })
    .await;
    let merchant = FakeMerchant::start(Answer::Silent).await;
    let id = paid_payment(&app, &merchant, 2).await;
    let entry = app.settled_notification(&id, WAIT).await;
    assert_eq!(entry.status, OutboxStatus::Failed);
    assert_eq!(entry.attempts.len(), 3, "one attempt more than gaps");
    for a in &entry.attempts {
        assert_eq!(a.http_status, None);
        assert!(!a.delivered);
        assert_eq!(a.answer, "no answer within 300 ms");
        assert!(a.latency_ms >= 300, "{a:?}");
    }
    assert_eq!(merchant.received().len(), 3);
    let body = merchant.received()[0].json();
    assert_eq!(body["paymentResult"]["resultStatus"], "S", "v2 body");
    assert!(body.get("paymentStatus").is_none());
}

#[tokio::test]
async fn an_unreachable_merchant_is_recorded_as_such() {
    let app = spawn_app(|c| c.notifier.retry_gaps_ms = vec![]).await;
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (id, _) = create_payment(
        &app,
        PayOptions {
            notify_url: Some(format!("http://127.0.0.1:{port}/notify")),
            ..Default::default()
        },
    )
    .await;
    app.wallet.confirm_payment(&id, "alice").await.unwrap();
    let entry = app.settled_notification(&id, WAIT).await;
    assert_eq!(entry.status, OutboxStatus::Failed);
    assert_eq!(entry.attempts.len(), 1);
    assert!(
        entry.attempts[0].answer.starts_with("cannot connect"),
        "{}",
        entry.attempts[0].answer
    );
}

#[tokio::test]
async fn a_restart_in_the_middle_of_the_schedule_loses_nothing() {
    let config = |c: &mut walletd_server::Config| c.notifier.retry_gaps_ms = vec![1_500];
    let first = spawn_app(config).await;
    let merchant = FakeMerchant::start(Answer::FailThenAck { failures: 1 }).await;
    let id = paid_payment(&first, &merchant, 1).await;
    let after_one = wait_for(WAIT, || async {
        first.notification_of(&id).await.filter(|e| e.attempts.len() == 1)
    })
    .await
    .expect("a first, failed attempt");
    assert_eq!(after_one.status, OutboxStatus::Pending);
    let dir = first.stop().await.expect("data dir");
    assert_eq!(merchant.received().len(), 1, "nothing more while walletd is down");

    let second = spawn_on(dir.path(), config).await;
    let entry = second.settled_notification(&id, WAIT).await;
    assert_eq!(entry.status, OutboxStatus::Delivered);
    assert_eq!(entry.attempts.len(), 2);
    assert!(
        entry.attempts[1].at - entry.attempts[0].at >= chrono::Duration::milliseconds(1_500),
        "the restarted walletd kept the schedule: {:?}",
        entry.attempts
    );
    let received = merchant.received();
    assert_eq!(received.len(), 2);
    received[1]
        .verify(&second.wallet_public_key)
        .expect("same wallet key after restart");
    second.stop().await;
    drop(dir);
}

#[tokio::test]
async fn a_payment_that_expired_while_walletd_was_down_is_failed_and_notified_at_start() {
    let first = spawn_app(|_| {}).await;
    let merchant = FakeMerchant::start(Answer::Ack).await;
    let expiry = (chrono::Utc::now() + chrono::Duration::milliseconds(1_500))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, false);
    let (id, _) = create_payment(
        &first,
        PayOptions {
            notify_url: Some(merchant.notify_url()),
            expiry_time: Some(expiry),
            ..Default::default()
        },
    )
    .await;
    let dir = first.stop().await.expect("data dir");
    tokio::time::sleep(Duration::from_millis(1_700)).await;

    let second = spawn_on(dir.path(), |_| {}).await;
    let received = merchant.wait_received(1, WAIT).await;
    received[0].verify(&second.wallet_public_key).expect("signature");
    let body = received[0].json();
    assert_eq!(body["paymentId"], id.as_str());
    assert_eq!(body["paymentStatus"], "FAIL");
    assert_eq!(body["paymentFailReason"], "Order payment expired.");
    let p = second.wallet.get_payment(&id).await.unwrap().unwrap();
    assert_eq!(p.status, PaymentStatus::Fail);
    second.stop().await;
}

#[tokio::test]
async fn no_more_notifications_are_in_flight_than_configured() {
    let app = spawn_app(|c| c.notifier.max_in_flight = 2).await;
    let merchant = FakeMerchant::start(Answer::SlowAck { delay_ms: 300 }).await;
    let mut ids = Vec::new();
    for _ in 0..6 {
        ids.push(paid_payment(&app, &merchant, 1).await);
    }
    for id in &ids {
        assert_eq!(
            app.settled_notification(id, WAIT).await.status,
            OutboxStatus::Delivered
        );
    }
    assert_eq!(merchant.received().len(), 6);
    assert_eq!(
        merchant.max_in_flight(),
        2,
        "sent two at a time, not more, not fewer"
    );
}

#[tokio::test]
async fn a_failed_notification_can_be_resent_by_an_operator() {
    let app = spawn_app(|c| c.notifier.retry_gaps_ms = vec![]).await;
    let merchant = FakeMerchant::start(Answer::FailThenAck { failures: 1 }).await;
    let id = paid_payment(&app, &merchant, 2).await;
    let entry = app.settled_notification(&id, WAIT).await;
    assert_eq!(entry.status, OutboxStatus::Failed);
    app.wallet.resend_notification(&entry.id).await.unwrap();
    let entry = app.settled_notification(&id, WAIT).await;
    assert_eq!(entry.status, OutboxStatus::Delivered);
    assert_eq!(entry.attempts.len(), 2);
}

#[tokio::test]
async fn a_channel_without_a_notification_format_fails_visibly_instead_of_looping() {
    let app = spawn_app(|_| {}).await;
    let merchant = FakeMerchant::start(Answer::Ack).await;
    let id = paid_payment(&app, &merchant, 1).await;
    // Wait for the real delivery, then replay the row as if a dialect without a format wrote it.
    let delivered = app.settled_notification(&id, WAIT).await;
    app.wallet
        .write(move |_, tx| {
            let mut e = tx.get_outbox(&delivered.id)?.expect("row");
            e.snapshot["channel"] = json!("store");
            e.status = OutboxStatus::Pending;
            e.next_attempt_at = chrono::Utc::now();
            tx.update_outbox(&e)?;
            Ok(())
        })
        .await
        .unwrap();
    let entry = app.settled_notification(&id, WAIT).await;
    assert_eq!(entry.status, OutboxStatus::Failed);
    let last = entry.attempts.last().unwrap();
    assert!(
        last.answer.contains("no notification format for channel store"),
        "{}",
        last.answer
    );
    assert_eq!(merchant.received().len(), 1, "nothing sent for it");
}

#[tokio::test]
async fn a_disabled_notifier_sends_nothing() {
    let app = spawn_app(|c| c.notifier.enabled = false).await;
    let merchant = FakeMerchant::start(Answer::Ack).await;
    let id = paid_payment(&app, &merchant, 1).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(merchant.received().is_empty());
    let entry = app
        .notification_of(&id)
        .await
        .expect("the row is written all the same");
    assert_eq!(entry.status, OutboxStatus::Pending);
}
