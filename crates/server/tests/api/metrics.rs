//! The Prometheus endpoint on its own listener (`metrics_listen`): after some traffic, a scrape
//! shows requests by dialect, API and result code, their latency, group commits, notification
//! attempts by outcome, payments and outbox entries by status, and connections in use.

use crate::helpers::*;
use crate::payments::v2;
use std::collections::BTreeMap;
use std::time::Duration;
use walletd_protocol::miniprogram::PayResponse;

/// A running walletd with a metrics listener, and the URL to scrape.
struct MetricsApp {
    _app: walletd_testkit::TestApp,
    base_url: String,
    metrics_url: String,
    wallet: walletd_core::Wallet,
    merchant: walletd_client::MiniProgramClient,
    wallet_public_key: walletd_protocol::crypto::PublicKey,
}

async fn spawn_with_metrics() -> MetricsApp {
    let opened = walletd_testkit::TestApp::builder()
        .configure(|config| {
            config.metrics_listen = Some("127.0.0.1:0".into());
            config.notifier.allow_private_targets = true;
            config.notifier.poll_interval_ms = 50;
        })
        .open();
    seed(&opened.wallet).await;
    let app = opened.start().await;
    let metrics_url = format!("http://{}/metrics", app.metrics_addr.expect("metrics listener"));
    MetricsApp {
        base_url: app.base_url.clone(),
        metrics_url,
        wallet: app.wallet.clone(),
        merchant: app.mini_program(CLIENT_ID, merchant_key()),
        wallet_public_key: app.wallet_public_key.clone(),
        _app: app,
    }
}

/// Every sample of a scrape: series (name with labels) → value.
async fn scrape(url: &str) -> BTreeMap<String, f64> {
    let resp = reqwest::get(url).await.expect("scrape");
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.expect("body");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').unwrap_or_else(|| panic!("bad line {l:?}"));
            (
                series.to_owned(),
                value.parse::<f64>().unwrap_or_else(|_| panic!("bad value {l:?}")),
            )
        })
        .collect()
}

fn value(samples: &BTreeMap<String, f64>, series: &str) -> f64 {
    *samples
        .get(series)
        .unwrap_or_else(|| panic!("no {series} in the scrape: {samples:#?}"))
}

#[tokio::test]
async fn metrics_endpoint_counts_requests_commits_notifications_and_payments_after_traffic() {
    let app = spawn_with_metrics().await;
    // Two payments accepted; one paid by alice (its notification goes to a closed port).
    let mut first = v2("m-1", "1250");
    first.payment_notify_url = Some("http://127.0.0.1:9/notify".into());
    let a: PayResponse = app.merchant.call("v2/payments/pay", &first).await.expect("pay");
    assert_eq!(a.result.result_code, "ACCEPT");
    let b: PayResponse = app
        .merchant
        .call("v2/payments/pay", &v2("m-2", "300"))
        .await
        .expect("pay");
    assert_eq!(b.result.result_code, "ACCEPT");
    let paid = a.payment_id.expect("payment id");
    app.wallet.confirm_payment(&paid, "alice").await.expect("confirm");
    // One request signed with the wrong key.
    let forged = walletd_client::MiniProgramClient::new(
        &app.base_url,
        CLIENT_ID,
        other_key().clone(),
        app.wallet_public_key.clone(),
    );
    let refused: PayResponse = forged
        .call("v2/payments/pay", &v2("m-3", "100"))
        .await
        .expect("signed refusal");
    assert_eq!(refused.result.result_code, "INVALID_SIGNATURE");
    // A made-up API is counted as `unknown`, never under the caller's path.
    let made_up: Result<PayResponse, _> = app.merchant.call("v2/made/up/api", &v2("m-4", "100")).await;
    let _ = made_up;
    assert_eq!(
        reqwest::get(format!("{}/healthz", app.base_url))
            .await
            .unwrap()
            .status(),
        200
    );
    // The public listener does not serve metrics.
    assert_eq!(
        reqwest::get(format!("{}/metrics", app.base_url))
            .await
            .unwrap()
            .status(),
        404
    );

    // The notifier tries once (and fails: nobody listens); wait for that attempt, counted.
    let mut samples = scrape(&app.metrics_url).await;
    for _ in 0..600 {
        if samples.contains_key("walletd_notification_attempts_total{outcome=\"no_answer\"}") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        samples = scrape(&app.metrics_url).await;
    }
    assert!(
        value(
            &samples,
            "walletd_notification_attempts_total{outcome=\"no_answer\"}"
        ) >= 1.0
    );

    let req = |api: &str, result: &str| {
        format!("walletd_requests_total{{dialect=\"mini_program\",api=\"{api}\",result=\"{result}\"}}")
    };
    assert_eq!(value(&samples, &req("/payments/pay", "ACCEPT")), 2.0);
    assert_eq!(value(&samples, &req("/payments/pay", "INVALID_SIGNATURE")), 1.0);
    assert_eq!(value(&samples, &req("unknown", "INVALID_API")), 1.0);
    assert!(
        !samples.keys().any(|k| k.contains("made/up")),
        "a caller's path became a label"
    );
    assert_eq!(
        value(
            &samples,
            "walletd_requests_total{dialect=\"http\",api=\"/healthz\",result=\"200\"}"
        ),
        1.0
    );
    assert_eq!(
        value(
            &samples,
            "walletd_request_duration_seconds_count{dialect=\"mini_program\",api=\"/payments/pay\"}"
        ),
        3.0
    );
    // Group commits: every write went through the SQLite writer in batches of at least one.
    let batches = value(&samples, "walletd_db_commit_batch_jobs_count");
    let jobs = value(&samples, "walletd_db_commit_batch_jobs_sum");
    assert!(
        batches >= 1.0 && jobs >= batches,
        "{batches} batches, {jobs} jobs"
    );
    // A commit may be under way while the scrape reads: its batch is counted, its duration not yet.
    let timed = value(&samples, "walletd_db_commit_duration_seconds_count");
    assert!(
        timed <= batches && timed >= batches - 1.0,
        "{timed} commits timed of {batches}"
    );
    // Payments by status, outbox by status.
    assert_eq!(value(&samples, "walletd_payments{status=\"PROCESSING\"}"), 1.0);
    assert_eq!(value(&samples, "walletd_payments{status=\"SUCCESS\"}"), 1.0);
    assert_eq!(value(&samples, "walletd_payments{status=\"FAIL\"}"), 0.0);
    assert_eq!(value(&samples, "walletd_outbox_entries{status=\"PENDING\"}"), 1.0);
    assert_eq!(
        value(&samples, "walletd_outbox_entries{status=\"DELIVERED\"}"),
        0.0
    );
    assert!(
        value(
            &samples,
            "walletd_outbox_oldest_due_age_seconds{status=\"PENDING\"}"
        ) >= 0.0
    );
    assert!(value(&samples, "walletd_db_connections_in_use") >= 0.0);
}
