//! Receiving notifications: the verifier, the axum endpoint, and the real notifier end to end.

use std::time::Duration;

use http::HeaderValue;
use walletd_client::notification::{ack_body, PaymentNotification};
use walletd_client::{verify_notification, NotificationError, NotificationVerifier};
use walletd_protocol::crypto::{Algorithm, PrivateKey};

use crate::doc_wallet::{sign_notification, signed_notification};

const FIVE_MINUTES: Duration = Duration::from_secs(300);

#[test]
fn a_genuine_notification_verifies_and_reads_as_v2() {
    let (key, path, headers, body) = signed_notification("m-1");
    let n = verify_notification(&path, &headers, &body, &key, FIVE_MINUTES).unwrap();
    assert_eq!(n.client_id, "m-1");
    assert_eq!(n.body, body);
    assert!(n.payment.is_success());
    assert_eq!(n.payment.payment_request_id(), Some("order-1001"));
    assert!(matches!(n.payment, PaymentNotification::V2(_)));
}

#[test]
fn altered_notifications_are_refused_for_the_right_reason() {
    let (key, path, headers, body) = signed_notification("m-1");
    let check = |path: &str, headers: &http::HeaderMap, body: &[u8]| {
        verify_notification(path, headers, body, &key, FIVE_MINUTES)
    };

    let mut tampered = body.to_vec();
    tampered.insert(1, b' ');
    assert!(matches!(
        check(&path, &headers, &tampered),
        Err(NotificationError::BadSignature { .. })
    ));
    assert!(matches!(
        check("/other/path", &headers, &body),
        Err(NotificationError::BadSignature { .. })
    ));
    for (name, value) in [
        ("client-id", "m-2"),
        ("request-time", "2030-01-01T00:00:00.000+00:00"),
    ] {
        let mut h = headers.clone();
        h.insert(name, HeaderValue::from_static(value));
        assert!(
            matches!(
                check(&path, &h, &body),
                Err(NotificationError::BadSignature { .. })
            ),
            "{name}"
        );
    }
    for name in ["signature", "client-id", "request-time"] {
        let mut h = headers.clone();
        h.remove(name);
        assert_eq!(
            check(&path, &h, &body).unwrap_err(),
            NotificationError::MissingHeader(name)
        );
    }
    let mut h = headers.clone();
    h.insert(
        "signature",
        HeaderValue::from_static("algorithm=RSA256,keyVersion=1,signature=%%%"),
    );
    assert!(matches!(
        check(&path, &h, &body),
        Err(NotificationError::MalformedSignature(_))
    ));

    // Signed by someone else's key.
    let impostor = PrivateKey::generate(Algorithm::Rsa256).unwrap();
    let forged = sign_notification(&impostor, &path, "m-1", &body);
    assert!(matches!(
        check(&path, &forged, &body),
        Err(NotificationError::BadSignature { .. })
    ));

    // Genuine, but for another merchant of the same wallet.
    let verifier = NotificationVerifier::new(key.clone(), FIVE_MINUTES).for_client("m-2");
    assert!(matches!(
        verifier.verify(&path, &headers, &body),
        Err(NotificationError::WrongClient { .. })
    ));

    // Genuine, but old: outside the tolerance.
    let later = chrono::Utc::now() + chrono::Duration::minutes(10);
    let verifier = NotificationVerifier::new(key.clone(), FIVE_MINUTES);
    assert!(matches!(
        verifier.verify_at(&path, &headers, &body, later),
        Err(NotificationError::Time(_))
    ));
    assert!(verifier
        .verify_at(&path, &headers, &body, chrono::Utc::now())
        .is_ok());
}

#[test]
fn the_acknowledgement_is_the_documented_body() {
    let ack: serde_json::Value = serde_json::from_slice(&ack_body()).unwrap();
    assert_eq!(
        ack,
        serde_json::json!({"result": {"resultCode": "SUCCESS", "resultStatus": "S", "resultMessage": "success"}})
    );
}

/// The ready axum endpoint (feature `axum`).
#[cfg(feature = "axum")]
mod endpoint {
    use super::*;
    use std::sync::{Arc, Mutex};

    use axum::Router;
    use walletd_client::axum_handler::notification_endpoint;
    use walletd_client::{Notification, PaymentOutcome};

    use crate::doc_wallet::{DocWallet, CLIENT_ID};
    use crate::helpers::{merchant_at, pay_v1, pay_v2};

    /// A merchant's axum app with the ready endpoint at `/walletd/notify`; it records what it got.
    async fn merchant_app(
        verifier: NotificationVerifier,
        fail: bool,
    ) -> (
        String,
        Arc<Mutex<Vec<Notification>>>,
        tokio::sync::oneshot::Sender<()>,
    ) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        let app: Router = Router::new().route(
            "/walletd/notify",
            notification_endpoint(verifier, move |n: Notification| {
                let record = record.clone();
                async move {
                    record.lock().unwrap().push(n);
                    if fail {
                        Err("the order database is down".to_owned())
                    } else {
                        Ok(())
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/walletd/notify", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        (url, seen, tx)
    }

    async fn post(url: &str, headers: &http::HeaderMap, body: &[u8]) -> (u16, serde_json::Value) {
        let resp = reqwest::Client::new()
            .post(url)
            .headers(headers.clone())
            .body(body.to_vec())
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap())
    }

    #[tokio::test]
    async fn the_axum_endpoint_acknowledges_genuine_notifications_only() {
        let (key, path, headers, body) = signed_notification(CLIENT_ID);
        let verifier = NotificationVerifier::new(key.clone(), FIVE_MINUTES).for_client(CLIENT_ID);
        let (url, seen, _stop) = merchant_app(verifier.clone(), false).await;
        assert!(url.ends_with(&path));
        let (status, answer) = post(&url, &headers, &body).await;
        assert_eq!(status, 200);
        assert_eq!(answer["result"]["resultStatus"], "S");
        assert_eq!(seen.lock().unwrap().len(), 1);

        let mut tampered = body.to_vec();
        tampered.push(b'\n');
        let (status, answer) = post(&url, &headers, &tampered).await;
        assert_eq!(status, 401);
        assert_eq!(answer["result"]["resultCode"], "INVALID_SIGNATURE");
        assert_eq!(
            seen.lock().unwrap().len(),
            1,
            "a refused notification never reaches the merchant's code"
        );

        // The merchant's code failing makes the wallet try again (not S).
        let (url, seen, _stop) = merchant_app(verifier, true).await;
        let (status, answer) = post(&url, &headers, &body).await;
        assert_eq!(status, 500);
        assert_eq!(answer["result"]["resultStatus"], "U");
        assert_eq!(seen.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn the_wallets_own_notifications_pass_the_endpoint_in_both_versions() {
        let wallet = DocWallet::start().await;
        let verifier =
            NotificationVerifier::new(wallet.wallet_public_key.clone(), FIVE_MINUTES).for_client(CLIENT_ID);
        let (url, seen, _stop) = merchant_app(verifier, false).await;
        let merchant = merchant_at(&wallet, &wallet.base_url);

        let mut v2 = pay_v2("notified-v2", "1250");
        v2.payment_notify_url = Some(url.clone());
        let PaymentOutcome::Accepted(a2) = merchant.pay_v2_with_retry(&v2).await.unwrap() else {
            panic!("not accepted")
        };
        let mut v1 = pay_v1("notified-v1", "800");
        v1.payment_notify_url = Some(url.clone());
        let PaymentOutcome::Accepted(a1) = merchant.pay_v1_with_retry(&v1).await.unwrap() else {
            panic!("not accepted")
        };
        wallet.user_pays(a2.payment_id.as_deref().unwrap()).await;
        wallet.user_pays(a1.payment_id.as_deref().unwrap()).await;

        // The notifier works in the background; wait for both (bounded).
        for _ in 0..200 {
            if seen.lock().unwrap().len() >= 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2, "both notifications arrived and verified");
        let v2n = seen
            .iter()
            .find(|n| n.payment.payment_request_id() == Some("notified-v2"))
            .expect("v2");
        let v1n = seen
            .iter()
            .find(|n| n.payment.payment_request_id() == Some("notified-v1"))
            .expect("v1");
        assert!(matches!(&v2n.payment, PaymentNotification::V2(n) if n.payment_result.result_status == "S"));
        assert!(matches!(&v1n.payment, PaymentNotification::V1(n) if n.payment_status == "SUCCESS"));
        assert!(v2n.payment.is_success() && v1n.payment.is_success());
    }
}
