//! The signed transport: every route under both versions, every header error, replayed nonces,
//! the configurable prefix, and the signed answers.

use crate::helpers::*;
use chrono::Duration;
use walletd_protocol::time;

const INQUIRY_UNKNOWN: &str = r#"{"paymentId":"no-such-payment"}"#;

#[tokio::test]
async fn every_endpoint_answers_under_v1_0_and_v2_0_with_a_signed_answer() {
    let app = spawn_app().await;
    let cases = [
        (
            "payments/pay",
            pay_body("env-1", "100", None),
            "PAYMENT_IN_PROCESS",
        ),
        (
            "payments/inquiryPayment",
            INQUIRY_UNKNOWN.to_owned(),
            "ORDER_NOT_EXIST",
        ),
        ("payments/cancel", INQUIRY_UNKNOWN.to_owned(), "ORDER_NOT_EXIST"),
        (
            "payments/refund",
            r#"{"paymentId":"no-such-payment","refund":{"refundAmount":{"value":"1"}}}"#.to_owned(),
            "ORDER_NOT_EXIST",
        ),
        (
            "payments/inquiryRefund",
            r#"{"refundId":"no-such-refund"}"#.to_owned(),
            "REFUND_NOT_EXIST",
        ),
        ("payments/teleport", "{}".to_owned(), "INVALID_API"),
    ];
    for version in ["v1.0", "v2.0"] {
        for (endpoint, body, expected) in &cases {
            let mut req = app.request(endpoint, body.clone());
            req.path = format!("/api/{version}/{endpoint}");
            if *endpoint == "payments/pay" {
                req.body = pay_body(&format!("env-{version}"), "100", None);
            }
            let answer = app.send(&req).await;
            answer.assert_signed(&app, &req.path, MERCHANT);
            assert_eq!(
                answer.code(),
                *expected,
                "{version} {endpoint}: {:?}",
                answer.json
            );
        }
    }
}

/// What a header case does to an otherwise good, signed pay request.
enum Tweak {
    /// Remove this header after signing.
    Remove(&'static str),
    /// Replace this header's value after signing.
    Replace(&'static str, &'static str),
    /// Change the request before signing.
    Before(fn(&mut ApRequest)),
}

#[tokio::test]
async fn every_missing_or_malformed_header_is_a_signed_refusal_that_creates_nothing() {
    let app = spawn_app().await;
    let cases: Vec<(&str, Tweak, &str)> = vec![
        ("no Signature", Tweak::Remove("Signature"), "INVALID_SIGNATURE"),
        (
            "garbled Signature",
            Tweak::Replace("Signature", "algorithm=RS256,keyVersion=1,signature=%%%"),
            "INVALID_SIGNATURE",
        ),
        (
            "ECC algorithm",
            Tweak::Replace("Signature", "algorithm=ECC224,keyVersion=1,signature=AAAA"),
            "INVALID_SIGNATURE",
        ),
        (
            "signed by another key",
            Tweak::Before(|r| r.key = other_key().clone()),
            "INVALID_SIGNATURE",
        ),
        (
            "sent with another nonce than signed",
            Tweak::Replace("Nonce", "ffffffffffffffffffffffffffffffff"),
            "INVALID_SIGNATURE",
        ),
        (
            "unknown key version",
            Tweak::Before(|r| r.key_version = 7),
            "KEY_NOT_FOUND",
        ),
        (
            "no Merchant-Code",
            Tweak::Remove("Merchant-Code"),
            "INVALID_CLIENT",
        ),
        (
            "Merchant-Code of 3 characters",
            Tweak::Replace("Merchant-Code", "CXV"),
            "INVALID_CLIENT",
        ),
        (
            "Merchant-Code of 7 characters",
            Tweak::Replace("Merchant-Code", "CXVJIU1"),
            "INVALID_CLIENT",
        ),
        (
            "unregistered Merchant-Code",
            Tweak::Before(|r| r.merchant_code = "NOBODY".into()),
            "INVALID_CLIENT",
        ),
        ("no Request-Time", Tweak::Remove("Request-Time"), "PARAM_ILLEGAL"),
        (
            "Request-Time not ISO 8601",
            Tweak::Before(|r| r.request_time = "yesterday".into()),
            "PARAM_ILLEGAL",
        ),
        ("no Nonce", Tweak::Remove("Nonce"), "PARAM_ILLEGAL"),
        (
            "Nonce of 31 characters",
            Tweak::Before(|r| r.nonce.truncate(31)),
            "PARAM_ILLEGAL",
        ),
        (
            "no Content-Type",
            Tweak::Remove("Content-Type"),
            "MEDIA_TYPE_NOT_ACCEPTABLE",
        ),
        (
            "Content-Type text/plain",
            Tweak::Replace("Content-Type", "text/plain"),
            "MEDIA_TYPE_NOT_ACCEPTABLE",
        ),
        ("no Accept", Tweak::Remove("Accept"), "MEDIA_TYPE_NOT_ACCEPTABLE"),
        (
            "Accept text/html",
            Tweak::Replace("Accept", "text/html"),
            "MEDIA_TYPE_NOT_ACCEPTABLE",
        ),
    ];
    for (i, (name, tweak, expected)) in cases.into_iter().enumerate() {
        let mut req = app.request("payments/pay", pay_body(&format!("hdr-{i}"), "100", None));
        if let Tweak::Before(f) = &tweak {
            f(&mut req);
        }
        let mut headers = req.signed_headers();
        match tweak {
            Tweak::Remove(h) => headers.retain(|(n, _)| n != h),
            Tweak::Replace(h, v) => {
                for (n, value) in headers.iter_mut() {
                    if n == h {
                        *value = v.to_owned();
                    }
                }
            }
            Tweak::Before(_) => {}
        }
        let sent_code = headers
            .iter()
            .find(|(n, _)| n == "Merchant-Code")
            .map_or(String::new(), |(_, v)| v.clone());
        let answer = app.send_with_headers(&req, headers).await;
        answer.assert_signed(&app, &req.path, &sent_code);
        assert_eq!(answer.code(), expected, "{name}: {:?}", answer.json);
        assert_eq!(answer.status(), "F", "{name}");
        assert!(!answer.message().is_empty(), "{name}: a refusal says why");
    }
    assert_eq!(
        app.payment_count().await,
        0,
        "no refused request created a payment"
    );
}

#[tokio::test]
async fn a_request_time_outside_the_window_is_refused_even_when_signed() {
    let app = spawn_app().await;
    for minutes in [-16, 16] {
        let mut req = app.request("payments/pay", pay_body("stale", "100", None));
        req.request_time =
            time::format_response_time((app.wallet.now() + Duration::minutes(minutes)).fixed_offset());
        let answer = app.send(&req).await;
        answer.assert_signed(&app, &req.path, MERCHANT);
        assert_eq!(answer.code(), "PARAM_ILLEGAL", "{minutes} min: {:?}", answer.json);
        assert!(answer.message().contains("Request-Time"), "{}", answer.message());
    }
    // The Java SDK's own form (`yyyy-MM-dd'T'HH:mm:ssZZZ`, another offset) inside the window is fine.
    let mut req = app.request("payments/pay", pay_body("java-time", "100", None));
    let local = app
        .wallet
        .now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap());
    req.request_time = local.format("%Y-%m-%dT%H:%M:%S%:z").to_string();
    let answer = app.send(&req).await;
    assert_eq!(answer.code(), "PAYMENT_IN_PROCESS", "{:?}", answer.json);
    assert_eq!(app.payment_count().await, 1);
}

#[tokio::test]
async fn a_replayed_nonce_is_refused_and_the_replay_changes_nothing() {
    let app = spawn_app().await;
    let req = app.request("payments/pay", pay_body("replay-1", "100", None));
    let headers = req.signed_headers();
    let first = app.send_with_headers(&req, headers.clone()).await;
    assert_eq!(first.code(), "PAYMENT_IN_PROCESS", "{:?}", first.json);
    let replay = app.send_with_headers(&req, headers).await;
    replay.assert_signed(&app, &req.path, MERCHANT);
    assert_eq!(replay.code(), "PARAM_ILLEGAL", "{:?}", replay.json);
    assert_eq!(replay.status(), "F");
    assert!(replay.message().contains("already used"), "{}", replay.message());
    // Even a different, correctly signed request may not reuse the nonce.
    let mut other = app.request("payments/inquiryPayment", INQUIRY_UNKNOWN);
    other.nonce = req.nonce.clone();
    assert_eq!(app.send(&other).await.code(), "PARAM_ILLEGAL");
    // Another merchant's nonces are its own.
    let mut theirs = app.request("payments/inquiryPayment", INQUIRY_UNKNOWN);
    theirs.merchant_code = OTHER_MERCHANT.into();
    theirs.key = other_key().clone();
    theirs.nonce = req.nonce.clone();
    assert_eq!(app.send(&theirs).await.code(), "ORDER_NOT_EXIST");
    assert_eq!(app.payment_count().await, 1);
}

#[tokio::test]
async fn a_nonce_is_remembered_across_a_restart() {
    let app = spawn_app().await;
    let clock = app.clock.clone();
    let req = app.request("payments/inquiryPayment", INQUIRY_UNKNOWN);
    let headers = req.signed_headers();
    assert_eq!(
        app.send_with_headers(&req, headers.clone()).await.code(),
        "ORDER_NOT_EXIST"
    );
    let dir = app.stop().await;
    let app = spawn_on(dir, clock, false, |_| {}).await;
    let replay = app.send_with_headers(&req, headers).await;
    assert_eq!(replay.code(), "PARAM_ILLEGAL", "{:?}", replay.json);
    assert!(replay.message().contains("already used"));
}

#[tokio::test]
async fn a_nonce_is_forgotten_once_twice_the_window_has_passed() {
    let app = spawn_app_with(|c| c.alphapay.request_time_window_secs = 60).await;
    let nonce = fresh_nonce();
    let mut req = app.request("payments/inquiryPayment", INQUIRY_UNKNOWN);
    req.nonce = nonce.clone();
    assert_eq!(app.send(&req).await.code(), "ORDER_NOT_EXIST");
    // Just inside twice the window the nonce is still remembered (a request stamped a minute
    // ahead would still be accepted now).
    app.clock.advance_ms(119_000);
    let mut again = app.request("payments/inquiryPayment", INQUIRY_UNKNOWN);
    again.nonce = nonce.clone();
    again.request_time =
        time::format_response_time((app.wallet.now() + Duration::seconds(59)).fixed_offset());
    assert_eq!(app.send(&again).await.code(), "PARAM_ILLEGAL");
    // After it, the store has let it go: a new request with the same nonce is not a replay.
    app.clock.advance_ms(3_000);
    let mut later = app.request("payments/inquiryPayment", INQUIRY_UNKNOWN);
    later.nonce = nonce;
    assert_eq!(app.send(&later).await.code(), "ORDER_NOT_EXIST");
}

#[tokio::test]
async fn non_post_methods_are_refused_in_the_dialect_envelope() {
    let app = spawn_app().await;
    let resp = app
        .http
        .get(format!("{}/api/v2.0/payments/inquiryPayment", app.base_url))
        .header("Merchant-Code", MERCHANT)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(v["result"]["resultCode"], "METHOD_NOT_SUPPORTED", "{v}");
}

#[tokio::test]
async fn malformed_json_and_oversized_bodies_are_param_illegal() {
    let app = spawn_app_with(|c| c.alphapay.body_limit_bytes = 2048).await;
    let v = app.call("payments/pay", "{not json").await;
    assert_eq!(v["result"]["resultCode"], "PARAM_ILLEGAL", "{v}");
    assert!(v["result"]["resultMessage"].as_str().unwrap().contains("JSON"));
    let big = format!(r#"{{"paymentId":"{}"}}"#, "x".repeat(4096));
    let v = app.call("payments/inquiryPayment", big).await;
    assert_eq!(v["result"]["resultCode"], "PARAM_ILLEGAL", "{v}");
    assert!(v["result"]["resultMessage"]
        .as_str()
        .unwrap()
        .contains("larger than"));
}

#[tokio::test]
async fn the_prefix_is_configurable() {
    let app = spawn_app_with(|c| c.alphapay.prefix = "/alphapay/api/".into()).await;
    let mut req = app.request("payments/inquiryPayment", INQUIRY_UNKNOWN);
    req.path = "/alphapay/api/v2.0/payments/inquiryPayment".into();
    let answer = app.send(&req).await;
    answer.assert_signed(&app, &req.path, MERCHANT);
    assert_eq!(answer.code(), "ORDER_NOT_EXIST");
    // The default prefix no longer reaches the AlphaPay dialect.
    let req = app.request("payments/inquiryPayment", INQUIRY_UNKNOWN);
    let answer = app.send(&req).await;
    assert_eq!(answer.http_status, 404, "{:?}", answer.json);
}
