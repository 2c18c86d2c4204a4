//! The notifier under attack by the merchants it calls: huge answers, hanging endpoints, notify
//! URLs aimed at the wallet's own network, names that resolve there.

use crate::net_harness::*;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use walletd_core::outbox::OutboxStatus;

const GENEROUS: Duration = Duration::from_secs(20);

/// What a raw fake merchant does after reading a request head.
#[derive(Clone, Copy)]
enum Behaviour {
    /// Announces 200 MB and writes until the notifier stops reading.
    Flood,
    /// Never answers.
    Hang,
    /// Answers the Mini Program acknowledgement.
    Ack,
}

struct RawMerchant {
    port: u16,
    connections: Arc<AtomicUsize>,
    bytes_written: Arc<AtomicU64>,
    requests: Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
}

impl RawMerchant {
    async fn start(behaviour: Behaviour) -> RawMerchant {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let bytes_written = Arc::new(AtomicU64::new(0));
        let requests = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (c, w, r) = (connections.clone(), bytes_written.clone(), requests.clone());
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                c.fetch_add(1, Ordering::SeqCst);
                let (w, r) = (w.clone(), r.clone());
                tokio::spawn(async move {
                    let mut got = Vec::new();
                    let mut buf = [0u8; 8192];
                    // The head and the body (Content-Length) of one request.
                    loop {
                        let Ok(n) = s.read(&mut buf).await else { return };
                        if n == 0 {
                            return;
                        }
                        got.extend_from_slice(&buf[..n]);
                        if let Some(end) = find(&got, b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
                            let len = head
                                .lines()
                                .find_map(|l| l.strip_prefix("content-length:"))
                                .and_then(|v| v.trim().parse::<usize>().ok())
                                .unwrap_or(0);
                            if got.len() >= end + 4 + len {
                                break;
                            }
                        }
                    }
                    r.lock().unwrap().push(got);
                    match behaviour {
                        Behaviour::Hang => {
                            tokio::time::sleep(Duration::from_secs(3600)).await;
                        }
                        Behaviour::Ack => {
                            let body = br#"{"result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success"}}"#;
                            let head = format!(
                                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                                body.len()
                            );
                            let _ = s.write_all(head.as_bytes()).await;
                            let _ = s.write_all(body).await;
                        }
                        Behaviour::Flood => {
                            const TOTAL: u64 = 200 * 1024 * 1024;
                            let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {TOTAL}\r\n\r\n");
                            if s.write_all(head.as_bytes()).await.is_err() {
                                return;
                            }
                            let chunk = vec![b'x'; 64 * 1024];
                            let mut sent = 0u64;
                            while sent < TOTAL {
                                if s.write_all(&chunk).await.is_err() {
                                    break;
                                }
                                sent += chunk.len() as u64;
                                w.store(sent, Ordering::SeqCst);
                            }
                        }
                    }
                });
            }
        });
        RawMerchant {
            port,
            connections,
            bytes_written,
            requests,
        }
    }

    fn url(&self, host: &str) -> String {
        format!("http://{host}:{}/notify", self.port)
    }
}

async fn settled(app: &NetApp, payment_id: &str) -> walletd_core::outbox::OutboxEntry {
    let deadline = tokio::time::Instant::now() + GENEROUS;
    loop {
        let all = app.wallet.list_notifications(1000).await.unwrap();
        if let Some(e) = all
            .into_iter()
            .find(|e| e.subject_id == payment_id && !e.attempts.is_empty())
        {
            return e;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no attempt for {payment_id}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_merchant_answer_is_read_no_further_than_a_few_kib() {
    let app = spawn(|c| c.notifier.timeout_ms = 60_000).await;
    let merchant = RawMerchant::start(Behaviour::Flood).await;
    let id = app.paid_payment(&app.mp, &merchant.url("127.0.0.1")).await;
    let entry = settled(&app, &id).await;
    assert!(!entry.attempts[0].delivered);
    assert_eq!(entry.attempts[0].http_status, Some(200));
    // The notifier stopped reading: the merchant's writes stall once the socket buffers are full
    // (a few MiB at most), far from the 200 MiB announced.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let written = merchant.bytes_written.load(Ordering::SeqCst);
    assert!(
        written < 32 * 1024 * 1024,
        "the notifier read {written} bytes of a merchant's answer"
    );
}

#[tokio::test]
async fn one_merchants_hanging_endpoint_does_not_hold_back_another_merchants_notification() {
    let app = spawn(|c| {
        c.notifier.timeout_ms = 60_000;
        c.notifier.max_in_flight = 4;
        c.notifier.max_in_flight_per_client = 2;
    })
    .await;
    let hanging = RawMerchant::start(Behaviour::Hang).await;
    let fine = RawMerchant::start(Behaviour::Ack).await;
    let mut hanging_ids = Vec::new();
    for _ in 0..8 {
        hanging_ids.push(app.paid_payment(&app.mp, &hanging.url("127.0.0.1")).await);
    }
    // The hanging merchant has had the time to take every slot it can.
    assert!(
        eventually(GENEROUS, || async {
            hanging.connections.load(Ordering::SeqCst) >= 2
        })
        .await,
        "the hanging merchant is being notified"
    );
    let other = app.add_mp_client("net-fine").await;
    let id = app.paid_payment(&other, &fine.url("127.0.0.1")).await;
    let entry = settled(&app, &id).await;
    assert_eq!(entry.status, OutboxStatus::Delivered, "{:?}", entry.attempts);
    // Delivered while every attempt to the hanging merchant is still waiting for its answer.
    for hid in &hanging_ids {
        let e = app
            .wallet
            .list_notifications(1000)
            .await
            .unwrap()
            .into_iter()
            .find(|e| &e.subject_id == hid)
            .expect("row");
        assert!(e.attempts.is_empty(), "{:?}", e.attempts);
    }
    assert!(
        hanging.connections.load(Ordering::SeqCst) <= 2,
        "one merchant holds at most its own slots"
    );
}

#[tokio::test]
async fn notify_urls_aimed_at_the_wallets_own_network_are_refused_at_pay_time() {
    let app = spawn(|c| c.notifier.allow_private_targets = false).await;
    for url in [
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:9090/notify",
        "http://localhost/notify",
        "http://[::1]/notify",
        "http://10.0.0.7/notify",
        "file:///etc/passwd",
        "gopher://merchant.example/",
    ] {
        let body = serde_json::json!({
            "appId": APP_ID, "productCode": "CASHIER_PAYMENT", "paymentRequestId": format!("bad-{url}"),
            "paymentAmount": {"currency": "USD", "value": "100"},
            "order": {"referenceOrderId": "o-1", "orderDescription": "Tea"},
            "paymentNotifyUrl": url,
        });
        let r = app
            .mp
            .send(
                "v2/payments/pay",
                body.to_string().into_bytes(),
                &Default::default(),
            )
            .await
            .expect("signed answer")
            .result;
        assert_eq!(r.result_code, "PARAM_ILLEGAL", "{url}: {r:?}");
        assert!(r.result_message.contains("paymentNotifyUrl"), "{r:?}");

        let body = serde_json::json!({
            "scenarioCode": "ONLINE_QRCODE", "paymentRequestId": format!("bad-{url}"),
            "order": {"orderAmount": {"value": "100", "currency": "CAD"}, "description": "Tea", "notifyUrl": url},
        });
        let r = app
            .ap
            .send("payments/pay", body.to_string().into_bytes(), &Default::default())
            .await
            .expect("signed AlphaPay answer")
            .result;
        assert_eq!(r.result_code, "PARAM_ILLEGAL", "AlphaPay {url}: {r:?}");
    }
    // A public https URL is fine.
    let body = serde_json::json!({
        "appId": APP_ID, "productCode": "CASHIER_PAYMENT", "paymentRequestId": "good-1",
        "paymentAmount": {"currency": "USD", "value": "100"},
        "order": {"referenceOrderId": "o-1", "orderDescription": "Tea"},
        "paymentNotifyUrl": "https://merchant.example/notify",
    });
    let r = app
        .mp
        .send(
            "v2/payments/pay",
            body.to_string().into_bytes(),
            &Default::default(),
        )
        .await
        .expect("signed answer")
        .result;
    assert_eq!(r.result_code, "ACCEPT", "{r:?}");
}

/// This machine's host name, which resolves to a loopback address here (as /etc/hosts has it).
fn loopback_name() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .expect("host name")
        .trim()
        .to_owned();
    let resolved: Vec<_> = std::net::ToSocketAddrs::to_socket_addrs(&(name.as_str(), 0))
        .map(|a| a.collect())
        .unwrap_or_default();
    assert!(
        !resolved.is_empty()
            && resolved
                .iter()
                .all(|a: &std::net::SocketAddr| a.ip().is_loopback()),
        "this test needs the host name {name:?} to resolve to loopback only, got {resolved:?}"
    );
    name
}

#[tokio::test]
async fn a_name_that_resolves_to_loopback_passes_the_pay_time_check_but_is_never_connected_to() {
    let app = spawn(|c| c.notifier.allow_private_targets = false).await;
    let merchant = RawMerchant::start(Behaviour::Ack).await;
    // A name is not resolved at pay time; it must be refused after resolution at send time.
    let id = app.paid_payment(&app.mp, &merchant.url(&loopback_name())).await;
    let entry = settled(&app, &id).await;
    assert!(!entry.attempts[0].delivered);
    assert_eq!(entry.attempts[0].http_status, None);
    assert!(
        entry.attempts[0].answer.contains("not a public address"),
        "{:?}",
        entry.attempts[0]
    );
    assert_eq!(merchant.connections.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn alphapay_notifications_spell_their_headers_as_the_document() {
    let app = spawn(|_| {}).await;
    let merchant = RawMerchant::start(Behaviour::Ack).await;
    let body = serde_json::json!({
        "scenarioCode": "ONLINE_QRCODE", "paymentRequestId": "ap-1",
        "order": {"orderAmount": {"value": "100", "currency": "CAD"}, "description": "Tea",
                  "notifyUrl": merchant.url("127.0.0.1")},
    });
    let v = app
        .ap
        .send("payments/pay", body.to_string().into_bytes(), &Default::default())
        .await
        .expect("signed AlphaPay answer");
    let answer: serde_json::Value = serde_json::from_slice(&v.body).unwrap();
    let id = answer["paymentId"].as_str().expect("paymentId").to_owned();
    app.wallet.confirm_payment(&id, PAYER).await.expect("confirm");
    settled(&app, &id).await;
    let raw = merchant.requests.lock().unwrap()[0].clone();
    let head = String::from_utf8_lossy(&raw[..find(&raw, b"\r\n\r\n").unwrap()]).into_owned();
    for name in [
        "Signature",
        "Merchant-Code",
        "Request-Time",
        "Nonce",
        "Content-Type",
    ] {
        assert!(
            head.lines().any(|l| l.starts_with(&format!("{name}: "))),
            "no {name:?} in\n{head}"
        );
    }
    let request_time = head
        .lines()
        .find_map(|l| l.strip_prefix("Request-Time: "))
        .unwrap();
    assert!(
        chrono::DateTime::parse_from_str(request_time, "%Y-%m-%dT%H:%M:%S%:z").is_ok()
            && request_time.len() == 25,
        "{request_time:?}"
    );
}
