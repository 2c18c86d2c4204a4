//! `verify_alphapay_notification` against the notifications a real walletd sends: a payment's and
//! a refund's verify; a changed body, nonce, path, merchant code or an old one do not.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Uri};
use axum::Router;
use walletd_client::notification::{
    verify_alphapay_notification, verify_notification, AlphaPayNotice, NotificationError,
    NotificationVerifier,
};
use walletd_client::{AlphaPayClient, AlphaPayNotification};
use walletd_protocol::alphapay::{PayRequest, RefundRequest};

use crate::doc_wallet::{merchant_key, DocWallet, MERCHANT_CODE};
use crate::helpers::usd;

const FIVE_MINUTES: Duration = Duration::from_secs(300);

/// A notification as the merchant's server received it.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

type Inbox = Arc<Mutex<Vec<Received>>>;

async fn record(State(inbox): State<Inbox>, uri: Uri, headers: HeaderMap, body: Bytes) -> &'static str {
    let path = uri.path_and_query().map_or("/", |pq| pq.as_str()).to_owned();
    inbox.lock().expect("lock").push(Received { path, headers, body });
    r#"{"result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success"}}"#
}

/// A merchant's server that keeps every notification; returns its base URL.
async fn merchant_server() -> (String, Inbox, tokio::sync::oneshot::Sender<()>) {
    let inbox: Inbox = Arc::default();
    let app = Router::new().fallback(record).with_state(inbox.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
    });
    (base, inbox, tx)
}

/// Waits (bounded: 5 s) until `n` notifications arrived.
async fn wait_for(inbox: &Inbox, n: usize) -> Vec<Received> {
    for _ in 0..200 {
        if inbox.lock().expect("lock").len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let got = inbox.lock().expect("lock").clone();
    assert!(got.len() >= n, "{} of {n} notifications arrived", got.len());
    got
}

fn bad_signature(r: Result<AlphaPayNotification, NotificationError>) {
    match r {
        Err(NotificationError::BadSignature { .. }) => {}
        Err(e) => panic!("refused for another reason: {e}"),
        Ok(n) => panic!("accepted: {:?}", n.notice),
    }
}

fn with_header(headers: &HeaderMap, name: &'static str, value: &str) -> HeaderMap {
    let mut h = headers.clone();
    h.insert(name, HeaderValue::from_str(value).expect("header"));
    h
}

#[tokio::test]
async fn the_wallets_alphapay_notifications_verify_and_tampered_ones_do_not() {
    let wallet = DocWallet::start().await;
    let (merchant_base, inbox, _stop) = merchant_server().await;
    let ap = AlphaPayClient::new(
        &wallet.base_url,
        MERCHANT_CODE,
        merchant_key().clone(),
        wallet.wallet_public_key.clone(),
    );
    let pay = PayRequest::qr_code("ap-n-1", usd("1250"), "Two cups of tea")
        .with_notify_url(format!("{merchant_base}/alphapay/notify?order=ap-n-1"))
        .with_payment_method("Alipay");
    let payment_id = ap.pay(&pay).await.unwrap().payment_id.expect("paymentId");
    wallet.user_pays(&payment_id).await;
    let n = wait_for(&inbox, 1).await.remove(0);
    assert_eq!(n.path, "/alphapay/notify?order=ap-n-1");

    let key = &wallet.wallet_public_key;
    let verified = verify_alphapay_notification(&n.path, &n.headers, &n.body, key, FIVE_MINUTES)
        .unwrap_or_else(|e| panic!("a genuine notification: {e}"));
    assert_eq!(verified.merchant_code, MERCHANT_CODE);
    assert_eq!(verified.body, n.body, "the raw body is kept");
    assert_eq!(verified.nonce.len(), 32);
    let AlphaPayNotice::Payment(p) = &verified.notice else {
        panic!("a payment notice: {:?}", verified.notice)
    };
    assert_eq!(
        (p.payment_id.as_str(), p.payment_request_id.as_str()),
        (payment_id.as_str(), "ap-n-1")
    );
    assert_eq!(p.payment_status, "SUCCESS");
    assert_eq!(p.order.order_amount.value, "1250");
    // Pinned to the merchant's own code.
    let pinned = NotificationVerifier::new(key.clone(), FIVE_MINUTES).for_client(MERCHANT_CODE);
    assert!(pinned.verify_alphapay(&n.path, &n.headers, &n.body).is_ok());

    // Tampered: one thing changed at a time.
    let mut tampered_body = n.body.to_vec();
    tampered_body.push(b' ');
    bad_signature(verify_alphapay_notification(
        &n.path,
        &n.headers,
        &tampered_body,
        key,
        FIVE_MINUTES,
    ));
    let cheaper = String::from_utf8(n.body.to_vec())
        .unwrap()
        .replace(r#""value":"1250""#, r#""value":"1""#);
    assert_ne!(cheaper.as_bytes(), &n.body[..]);
    bad_signature(verify_alphapay_notification(
        &n.path,
        &n.headers,
        cheaper.as_bytes(),
        key,
        FIVE_MINUTES,
    ));
    let other_nonce = with_header(&n.headers, "nonce", "00000000000000000000000000000000");
    bad_signature(verify_alphapay_notification(
        &n.path,
        &other_nonce,
        &n.body,
        key,
        FIVE_MINUTES,
    ));
    bad_signature(verify_alphapay_notification(
        "/alphapay/notify",
        &n.headers,
        &n.body,
        key,
        FIVE_MINUTES,
    ));
    let other_merchant = with_header(&n.headers, "merchant-code", "OTHER1");
    bad_signature(verify_alphapay_notification(
        &n.path,
        &other_merchant,
        &n.body,
        key,
        FIVE_MINUTES,
    ));
    let other_wallet =
        walletd_protocol::crypto::PrivateKey::generate(walletd_protocol::crypto::Algorithm::Rsa256)
            .unwrap()
            .public_key();
    bad_signature(verify_alphapay_notification(
        &n.path,
        &n.headers,
        &n.body,
        &other_wallet,
        FIVE_MINUTES,
    ));
    let mut no_nonce = n.headers.clone();
    no_nonce.remove("nonce");
    assert_eq!(
        verify_alphapay_notification(&n.path, &no_nonce, &n.body, key, FIVE_MINUTES).unwrap_err(),
        NotificationError::MissingHeader("nonce")
    );
    // Genuine, but for another merchant than the one pinned.
    let e = NotificationVerifier::new(key.clone(), FIVE_MINUTES)
        .for_client("OTHER1")
        .verify_alphapay(&n.path, &n.headers, &n.body)
        .unwrap_err();
    assert!(matches!(e, NotificationError::WrongClient { .. }), "{e}");
    // Genuine, but replayed an hour later.
    let e = NotificationVerifier::new(key.clone(), FIVE_MINUTES)
        .verify_alphapay_at(
            &n.path,
            &n.headers,
            &n.body,
            chrono::Utc::now() + chrono::Duration::hours(1),
        )
        .unwrap_err();
    assert!(matches!(e, NotificationError::Time(_)), "{e}");
    // Not a Mini Program notification: that verifier finds no client-id.
    assert_eq!(
        verify_notification(&n.path, &n.headers, &n.body, key, FIVE_MINUTES).unwrap_err(),
        NotificationError::MissingHeader("client-id")
    );

    // A refund's notification verifies and reads as a refund.
    let refund = RefundRequest::new(&payment_id, "ap-n-1-r1", usd("250"))
        .with_description("one cup was cold")
        .with_notify_url(format!("{merchant_base}/alphapay/refund-notify"));
    let refund_id = ap.refund(&refund).await.unwrap().refund_id.expect("refundId");
    let r = wait_for(&inbox, 2)
        .await
        .into_iter()
        .find(|r| r.path == "/alphapay/refund-notify")
        .expect("the refund's notification");
    let verified = verify_alphapay_notification(&r.path, &r.headers, &r.body, key, FIVE_MINUTES)
        .unwrap_or_else(|e| panic!("a genuine refund notification: {e}"));
    let AlphaPayNotice::Refund(rv) = &verified.notice else {
        panic!("a refund notice: {:?}", verified.notice)
    };
    assert_eq!(rv.refund_id, refund_id);
    assert_eq!(rv.payment_id, payment_id);
    assert_eq!(rv.refund_status, "SUCCESS");
    assert_eq!(rv.refund.refund_amount.value, "250");
    assert_ne!(
        r.headers.get("nonce"),
        n.headers.get("nonce"),
        "every notification has its own nonce"
    );
}
