//! The signed transport of the Mini Program dialect: verification of every header variant real
//! clients send, the errors, and the signed answers.

use crate::helpers::*;
use base64::Engine as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use walletd_client::{ClientError, RequestOptions};
use walletd_core::parties::Client;
use walletd_protocol::crypto::{Algorithm, PrivateKey};
use walletd_protocol::signature::{encode_signature_value, format_header};
use walletd_protocol::{content, time, ResultCode};

const INQUIRY: &str = r#"{"paymentRequestId":"nope"}"#;

fn now_time() -> String {
    time::format_response_time(chrono::Utc::now().fixed_offset())
}

fn raw_signature(key: &PrivateKey, path: &str, client_id: &str, at: &str, body: &str) -> Vec<u8> {
    key.sign(&content::mini_program(
        "POST",
        path,
        client_id,
        at,
        body.as_bytes(),
    ))
    .unwrap()
}

async fn send_with_header(app: &TestApp, header: String, at: &str) -> String {
    let opts = RequestOptions {
        request_time: Some(at.to_owned()),
        signature_header: Some(header),
    };
    let v = app
        .merchant
        .send("v2/payments/inquiryPayment", INQUIRY.into(), &opts)
        .await
        .expect("signed answer");
    v.result.result_code
}

#[tokio::test]
async fn a_correctly_signed_request_to_an_unknown_api_is_invalid_api_and_the_answer_verifies() {
    let app = spawn_app().await;
    let v = app
        .merchant
        .send("v2/payments/teleport", b"{}".to_vec(), &RequestOptions::default())
        .await
        .unwrap();
    assert_eq!(v.result.result_code, "INVALID_API");
    assert_eq!(v.result.result_status, "F");
}

#[tokio::test]
async fn every_documented_prefix_serves_the_api() {
    let app = spawn_app().await;
    for prefix in ["/api", "/api/open", "/miniprogram/api", "/ams/api"] {
        let client = app.merchant.clone().with_prefix(prefix);
        let v = client
            .send(
                "v2/payments/inquiryPayment",
                INQUIRY.into(),
                &RequestOptions::default(),
            )
            .await
            .unwrap();
        assert_eq!(v.result.result_code, "ORDER_NOT_EXIST", "prefix {prefix}");
    }
}

#[tokio::test]
async fn signature_header_variants_that_real_clients_send_are_accepted() {
    let app = spawn_app().await;
    let path = "/api/v2/payments/inquiryPayment";
    let key = merchant_key();
    let at = now_time();
    let raw = raw_signature(key, path, CLIENT_ID, &at, INQUIRY);
    let std_b64 = base64::engine::general_purpose::STANDARD.encode(&raw);
    let encoded = encode_signature_value(&raw);
    let variants = [
        format!("algorithm=RSA256,keyVersion=1,signature={encoded}"),
        format!("algorithm=RSA256, keyVersion=1, signature={encoded}"),
        format!("ALGORITHM=rsa256,KEYVERSION=1,SIGNATURE={encoded}"),
        format!("keyVersion=1,signature={encoded}"),
        format!("algorithm=RSA256,signature={encoded}"),
        format!("signature={encoded}"),
        encoded.clone(),
        std_b64.clone(),
        format!(
            "algorithm=RSA256,keyVersion=1,signature={}",
            encoded
                .replace("%2F", "%2f")
                .replace("%2B", "%2b")
                .replace("%3D", "%3d")
        ),
        format!(
            "algorithm=RSA256,keyVersion=1,signature={}",
            std_b64.trim_end_matches('=')
        ),
    ];
    for header in variants {
        let code = send_with_header(&app, header.clone(), &at).await;
        assert_eq!(code, "ORDER_NOT_EXIST", "header {header:?} was not accepted");
    }
}

#[tokio::test]
async fn a_plus_in_the_signature_is_never_read_as_a_space() {
    let app = spawn_app().await;
    let path = "/api/v2/payments/inquiryPayment";
    let at = now_time();
    // Find a body whose signature's base64 has a '+', then send it as is and with the '+' turned
    // into a space (what a careless form decoder does): only the first may verify.
    for i in 0..200 {
        let body = format!(r#"{{"paymentRequestId":"nope-{i}"}}"#);
        let raw = raw_signature(merchant_key(), path, CLIENT_ID, &at, &body);
        let b64 = base64::engine::general_purpose::STANDARD.encode(&raw);
        if !b64.contains('+') {
            continue;
        }
        for (header, want) in [
            (b64.clone(), "ORDER_NOT_EXIST"),
            (b64.replace('+', " "), "INVALID_SIGNATURE"),
        ] {
            let opts = RequestOptions {
                request_time: Some(at.clone()),
                signature_header: Some(format!("signature={header}")),
            };
            let v = app
                .merchant
                .send("v2/payments/inquiryPayment", body.clone().into_bytes(), &opts)
                .await
                .unwrap();
            assert_eq!(v.result.result_code, want);
        }
        return;
    }
    panic!("no signature with a '+' found");
}

#[tokio::test]
async fn the_answer_header_has_the_exact_form_sdks_parse() {
    let app = spawn_app().await;
    let v = app
        .merchant
        .send(
            "v1/payments/inquiryPayment",
            br#"{"partnerId":"P-test","paymentId":"x"}"#.to_vec(),
            &RequestOptions::default(),
        )
        .await
        .unwrap();
    let sig = v.headers.get("signature").unwrap().to_str().unwrap();
    let (head, value) = sig.split_at("algorithm=RSA256,keyVersion=1,signature=".len());
    assert_eq!(head, "algorithm=RSA256,keyVersion=1,signature=");
    assert!(
        value.chars().all(|c| c.is_ascii_alphanumeric() || c == '%'),
        "{value}"
    );
    assert_eq!(sig.matches("signature=").count(), 1);
    let rt = v.headers.get("response-time").unwrap().to_str().unwrap();
    assert!(time::parse_request_time(rt).is_ok());
    assert_eq!(rt.len(), "2019-05-28T12:12:14.123+08:00".len(), "{rt}");
    assert_eq!(v.headers.get("client-id").unwrap(), CLIENT_ID);
}

async fn raw_http(app: &TestApp, request: String) -> String {
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", app.port))
        .await
        .unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn an_absolute_form_request_line_is_verified_over_its_path_and_headers_come_back_lower_case() {
    let app = spawn_app().await;
    let path = "/api/v2/payments/inquiryPayment";
    let at = now_time();
    let raw = raw_signature(merchant_key(), path, CLIENT_ID, &at, INQUIRY);
    let header = format_header(Algorithm::Rsa256, 1, &raw);
    let request = format!(
        "POST http://127.0.0.1:{port}{path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json; charset=UTF-8\r\nClient-Id: {CLIENT_ID}\r\nRequest-Time: {at}\r\nSignature: {header}\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n{INQUIRY}",
        port = app.port,
        len = INQUIRY.len()
    );
    let answer = raw_http(&app, request).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\r\nclient-id: test-merchant\r\n"), "{answer}");
    assert!(answer.contains("\r\nresponse-time: "), "{answer}");
    assert!(
        answer.contains("\r\nsignature: algorithm=RSA256,keyVersion=1,signature="),
        "{answer}"
    );
    assert!(answer.contains("ORDER_NOT_EXIST"), "{answer}");
}

#[tokio::test]
async fn a_wrong_signature_is_invalid_signature_and_still_signed() {
    let app = spawn_app().await;
    // Signed with the other merchant's key.
    let wrong = app.client_as(CLIENT_ID, other_key());
    let v = wrong
        .send(
            "v2/payments/inquiryPayment",
            INQUIRY.into(),
            &RequestOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(v.result.result_code, "INVALID_SIGNATURE");
    // A body changed after signing.
    let at = now_time();
    let raw = raw_signature(
        merchant_key(),
        "/api/v2/payments/inquiryPayment",
        CLIENT_ID,
        &at,
        INQUIRY,
    );
    let opts = RequestOptions {
        request_time: Some(at.clone()),
        signature_header: Some(format_header(Algorithm::Rsa256, 1, &raw)),
    };
    let v = app
        .merchant
        .send(
            "v2/payments/inquiryPayment",
            br#"{"paymentRequestId":"nopf"}"#.to_vec(),
            &opts,
        )
        .await
        .unwrap();
    assert_eq!(v.result.result_code, "INVALID_SIGNATURE");
    // A re-serialised body (spaces) no longer matches either.
    let v = app
        .merchant
        .send(
            "v2/payments/inquiryPayment",
            br#"{"paymentRequestId": "nope"}"#.to_vec(),
            &opts,
        )
        .await
        .unwrap();
    assert_eq!(v.result.result_code, "INVALID_SIGNATURE");
    // Garbage in the header.
    for bad in [
        "algorithm=MD5,signature=abc",
        "keyVersion=x,signature=abc",
        "signature=%%%",
    ] {
        let code = send_with_header(&app, bad.into(), &at).await;
        assert_eq!(code, "INVALID_SIGNATURE", "{bad}");
    }
}

#[tokio::test]
async fn missing_headers_and_unknown_clients_get_their_codes() {
    let app = spawn_app().await;
    let http = reqwest::Client::new();
    let url = format!("{}/api/v2/payments/inquiryPayment", app.base_url);
    let at = now_time();
    let cases: [(&[(&str, &str)], &str); 4] = [
        (
            &[("request-time", &at), ("signature", "signature=abc")],
            "INVALID_CLIENT",
        ),
        (
            &[("client-id", CLIENT_ID), ("request-time", &at)],
            "INVALID_SIGNATURE",
        ),
        (
            &[("client-id", CLIENT_ID), ("signature", "signature=abc")],
            "PARAM_ILLEGAL",
        ),
        (
            &[
                ("client-id", "nobody"),
                ("request-time", &at),
                ("signature", "signature=abc"),
            ],
            "INVALID_CLIENT",
        ),
    ];
    for (headers, want) in cases {
        let mut req = http.post(&url).body(INQUIRY);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert!(resp.headers().contains_key("signature"));
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["result"]["resultCode"], want, "{headers:?}");
    }
}

#[tokio::test]
async fn a_key_version_the_client_does_not_have_is_key_not_found() {
    let app = spawn_app().await;
    let client = app.merchant.clone().with_key_version(7);
    let v = client
        .send(
            "v2/payments/inquiryPayment",
            INQUIRY.into(),
            &RequestOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(v.result.result_code, "KEY_NOT_FOUND");
}

#[tokio::test]
async fn a_rotated_key_works_and_older_versions_stay_valid_until_removed() {
    let app = spawn_app().await;
    let new_key = PrivateKey::generate(Algorithm::Rsa256).unwrap();
    let pem = new_key.public_key().to_spki_pem();
    app.wallet
        .update_client(CLIENT_ID, move |ctx, c| {
            c.add_key("RSA256", &pem, ctx.now());
            Ok(())
        })
        .await
        .unwrap();
    let v2 = app.client_as(CLIENT_ID, &new_key).with_key_version(2);
    let v1 = app.merchant.clone();
    for c in [&v1, &v2] {
        let v = c
            .send(
                "v2/payments/inquiryPayment",
                INQUIRY.into(),
                &RequestOptions::default(),
            )
            .await
            .unwrap();
        assert_eq!(v.result.result_code, "ORDER_NOT_EXIST");
    }
    // No keyVersion means the latest key.
    let at = now_time();
    let raw = raw_signature(
        &new_key,
        "/api/v2/payments/inquiryPayment",
        CLIENT_ID,
        &at,
        INQUIRY,
    );
    assert_eq!(
        send_with_header(&app, format!("signature={}", encode_signature_value(&raw)), &at).await,
        "ORDER_NOT_EXIST"
    );
    app.wallet
        .update_client(CLIENT_ID, |_, c| {
            c.keys
                .iter_mut()
                .filter(|k| k.version == 1)
                .for_each(|k| k.removed = true);
            Ok(())
        })
        .await
        .unwrap();
    let v = v1
        .send(
            "v2/payments/inquiryPayment",
            INQUIRY.into(),
            &RequestOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(v.result.result_code, "KEY_NOT_FOUND");
}

#[tokio::test]
async fn an_ecc224_client_is_verified() {
    let app = spawn_app().await;
    let key = PrivateKey::generate(Algorithm::Ecc224).unwrap();
    let mut c = Client::new("ecc-merchant", "ECC shop", app.wallet.now());
    c.partner_id = "P-ecc".into();
    c.add_key("ECC224", &key.public_key().to_spki_pem(), app.wallet.now());
    app.wallet.add_client(c).await.unwrap();
    let client = app.client_as("ecc-merchant", &key);
    let v = client
        .send(
            "v2/payments/inquiryPayment",
            INQUIRY.into(),
            &RequestOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(v.result.result_code, "ORDER_NOT_EXIST");
    // An RSA-labelled header over an ECC key is refused.
    let at = now_time();
    let raw = raw_signature(
        &key,
        "/api/v2/payments/inquiryPayment",
        "ecc-merchant",
        &at,
        INQUIRY,
    );
    let opts = RequestOptions {
        request_time: Some(at),
        signature_header: Some(format_header(Algorithm::Rsa256, 1, &raw)),
    };
    let v = client
        .send("v2/payments/inquiryPayment", INQUIRY.into(), &opts)
        .await
        .unwrap();
    assert_eq!(v.result.result_code, "INVALID_SIGNATURE");
}

#[tokio::test]
async fn request_time_forms_and_the_window() {
    let app = spawn_app().await;
    let now = chrono::Utc::now();
    let ok_forms = [
        now.format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
        now.format("%Y-%m-%dT%H:%M:%S%z").to_string(),
        format!(
            "{}.{:07}Z",
            now.format("%Y-%m-%dT%H:%M:%S"),
            now.timestamp_subsec_nanos() / 100
        ),
        now.with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
            .format("%Y-%m-%dT%H:%M:%S%.3f%:z")
            .to_string(),
        now.timestamp_millis().to_string(),
    ];
    let path = "/api/v2/payments/inquiryPayment";
    for at in ok_forms {
        let raw = raw_signature(merchant_key(), path, CLIENT_ID, &at, INQUIRY);
        assert_eq!(
            send_with_header(&app, format_header(Algorithm::Rsa256, 1, &raw), &at).await,
            "ORDER_NOT_EXIST",
            "{at}"
        );
    }
    let old = (now - chrono::Duration::hours(1)).timestamp_millis().to_string();
    let raw = raw_signature(merchant_key(), path, CLIENT_ID, &old, INQUIRY);
    let opts = RequestOptions {
        request_time: Some(old),
        signature_header: Some(format_header(Algorithm::Rsa256, 1, &raw)),
    };
    let v = app
        .merchant
        .send("v2/payments/inquiryPayment", INQUIRY.into(), &opts)
        .await
        .unwrap();
    assert_eq!(v.result.result_code, "PARAM_ILLEGAL");
    assert!(
        v.result.result_message.contains("window"),
        "{}",
        v.result.result_message
    );
    let garbage = "yesterday".to_owned();
    let raw = raw_signature(merchant_key(), path, CLIENT_ID, &garbage, INQUIRY);
    let opts = RequestOptions {
        request_time: Some(garbage),
        signature_header: Some(format_header(Algorithm::Rsa256, 1, &raw)),
    };
    let v = app
        .merchant
        .send("v2/payments/inquiryPayment", INQUIRY.into(), &opts)
        .await
        .unwrap();
    assert_eq!(v.result.result_code, "PARAM_ILLEGAL");
}

#[tokio::test]
async fn a_narrower_configured_window_is_honoured() {
    let app = spawn_app_with(|c| c.mini_program.request_time_window_secs = 5).await;
    let at = (chrono::Utc::now() - chrono::Duration::seconds(60))
        .timestamp_millis()
        .to_string();
    let raw = raw_signature(
        merchant_key(),
        "/api/v2/payments/inquiryPayment",
        CLIENT_ID,
        &at,
        INQUIRY,
    );
    assert_eq!(
        send_with_header(&app, format_header(Algorithm::Rsa256, 1, &raw), &at).await,
        "PARAM_ILLEGAL"
    );
}

#[tokio::test]
async fn other_methods_bad_json_and_big_bodies_get_a_signed_result() {
    let app = spawn_app_with(|c| c.mini_program.body_limit_bytes = 1024).await;
    let resp = reqwest::Client::new()
        .get(format!("{}/api/v2/payments/pay", app.base_url))
        .header("client-id", CLIENT_ID)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["result"]["resultCode"], "METHOD_NOT_SUPPORTED");

    let v = app
        .merchant
        .send(
            "v2/payments/pay",
            b"{not json".to_vec(),
            &RequestOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(v.result.result_code, "PARAM_ILLEGAL");
    let big = format!(r#"{{"paymentRequestId":"{}"}}"#, "x".repeat(2000));
    let v = app
        .merchant
        .send(
            "v2/payments/inquiryPayment",
            big.into_bytes(),
            &RequestOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(v.result.result_code, "PARAM_ILLEGAL");
    assert!(
        v.result.result_message.contains("larger than"),
        "{}",
        v.result.result_message
    );
}

#[tokio::test]
async fn an_internal_error_is_unknown_exception_without_details() {
    let app = spawn_app().await;
    app.wallet
        .update_client(CLIENT_ID, |_, c| {
            c.keys[0].public_key = "-----BEGIN PUBLIC KEY-----\nbroken\n-----END PUBLIC KEY-----".into();
            Ok(())
        })
        .await
        .unwrap();
    let v = app
        .merchant
        .send(
            "v2/payments/inquiryPayment",
            INQUIRY.into(),
            &RequestOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(v.result.result_code, ResultCode::UnknownException.as_str());
    assert_eq!(v.result.result_status, "U");
    assert!(!v.result.result_message.contains("broken"));
}

#[tokio::test]
async fn the_client_rejects_an_answer_that_was_not_signed_by_the_wallet() {
    let app = spawn_app().await;
    // A client that trusts another key must refuse the genuine answer.
    let impostor = PrivateKey::generate(Algorithm::Rsa256).unwrap();
    let client = walletd_client::MiniProgramClient::new(
        &app.base_url,
        CLIENT_ID,
        merchant_key().clone(),
        impostor.public_key(),
    );
    let err = client
        .send(
            "v2/payments/inquiryPayment",
            INQUIRY.into(),
            &RequestOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Signature(_)), "{err}");
}

#[tokio::test]
async fn healthz_answers() {
    let app = spawn_app().await;
    let resp = reqwest::get(format!("{}/healthz", app.base_url)).await.unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn health_says_the_process_lives_and_readiness_checks_the_database() {
    let app = spawn_app().await;
    let http = reqwest::Client::new();
    let health = http
        .get(format!("{}/healthz", app.base_url))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
    let ready = http
        .get(format!("{}/readyz", app.base_url))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.text().await.expect("body"), "ready\n");
}

/// Changes the client's keys the way another node or `walletd admin` would: in the database,
/// without this wallet's cache of recently read clients hearing of it.
async fn change_keys_elsewhere(app: &TestApp, change: impl Fn(&mut Client) + Send + Sync + 'static) {
    app.wallet
        .write(move |_, tx| {
            let mut c = tx.get_client(CLIENT_ID)?.expect("client");
            change(&mut c);
            tx.update_client(&c)?;
            Ok(())
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn a_key_added_elsewhere_works_at_once_and_one_removed_elsewhere_stops_within_the_cache_time() {
    let app = spawn_app_with(|c| c.http.client_cache_ms = 400).await;
    let inquire = |client: walletd_client::MiniProgramClient| async move {
        client
            .send(
                "v2/payments/inquiryPayment",
                INQUIRY.into(),
                &RequestOptions::default(),
            )
            .await
            .unwrap()
            .result
            .result_code
    };
    // The client's record is now kept for the next requests.
    assert_eq!(inquire(app.merchant.clone()).await, "ORDER_NOT_EXIST");

    let new_key = PrivateKey::generate(Algorithm::Rsa256).unwrap();
    let pem = new_key.public_key().to_spki_pem();
    change_keys_elsewhere(&app, move |c| {
        c.add_key("RSA256", &pem, c.created_at);
    })
    .await;
    let v2 = app.client_as(CLIENT_ID, &new_key).with_key_version(2);
    assert_eq!(
        inquire(v2.clone()).await,
        "ORDER_NOT_EXIST",
        "a kept copy without the new key is checked against the database before refusing"
    );

    change_keys_elsewhere(&app, |c| {
        c.keys
            .iter_mut()
            .filter(|k| k.version == 1)
            .for_each(|k| k.removed = true)
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(450)).await;
    assert_eq!(
        inquire(app.merchant.clone()).await,
        "KEY_NOT_FOUND",
        "past the cache time the removal holds"
    );
    assert_eq!(inquire(v2).await, "ORDER_NOT_EXIST");
}
