//! `explain`'s engine pinpoints each kind of mismatch.

use walletd_client::diagnose::{
    diagnose, parse_http_text, DiagnoseOptions, Dialect, Finding, MessageKind, Mistake, SignedMessage,
};
use walletd_client::RequestOptions;
use walletd_protocol::crypto::{Algorithm, PrivateKey};
use walletd_protocol::signature::{format_header, format_header_alphapay};
use walletd_protocol::{content, time};

use crate::doc_wallet::{merchant_key, DocWallet, CLIENT_ID};
use crate::helpers::merchant_at;

const PATH: &str = "/api/v2/payments/inquiryPayment";
const BODY: &str = r#"{"paymentRequestId":"order-1001","extendInfo":"café/au lait"}"#;

fn now_time() -> String {
    time::format_response_time(chrono::Utc::now().fixed_offset())
}

/// A request that carries `path`, `client_id`, `time` and `body`, but whose signature covers
/// `signed` (the mistake under test).
fn request(
    sent_path: &str,
    client_id: &str,
    sent_time: &str,
    sent_body: &[u8],
    signed: &[u8],
) -> SignedMessage {
    let raw = merchant_key().sign(signed).unwrap();
    SignedMessage {
        kind: MessageKind::Request,
        method: "POST".into(),
        target: Some(sent_path.into()),
        headers: vec![
            ("Content-Type".into(), "application/json; charset=UTF-8".into()),
            ("Client-Id".into(), client_id.into()),
            ("Request-Time".into(), sent_time.into()),
            ("Signature".into(), format_header(Algorithm::Rsa256, 1, &raw)),
        ],
        body: sent_body.to_vec(),
        crlf_headers: false,
    }
}

fn mistake_of(m: &SignedMessage) -> Mistake {
    let d = diagnose(m, &merchant_key().public_key(), &DiagnoseOptions::default());
    match &d.finding {
        Finding::Mistake { mistake, .. } => mistake.clone(),
        other => panic!("expected a mistake, got {other:?}\n{d}"),
    }
}

#[test]
fn a_correct_request_verifies() {
    let t = now_time();
    let m = request(
        PATH,
        "m-1",
        &t,
        BODY.as_bytes(),
        &content::mini_program("POST", PATH, "m-1", &t, BODY.as_bytes()),
    );
    let d = diagnose(&m, &merchant_key().public_key(), &DiagnoseOptions::default());
    assert_eq!(d.finding, Finding::Verifies, "{d}");
    assert_eq!(
        d.content.as_deref(),
        Some(content::mini_program("POST", PATH, "m-1", &t, BODY.as_bytes()).as_slice())
    );
    let text = d.to_string();
    assert!(text.contains(&format!("POST {PATH}\\nm-1.{t}.")), "{text}");
}

#[test]
fn each_usual_mistake_is_named() {
    let t = now_time();
    let sign =
        |path: &str, id: &str, time: &str, body: &[u8]| content::mini_program("POST", path, id, time, body);
    let pretty =
        serde_json::to_vec_pretty(&serde_json::from_str::<serde_json::Value>(BODY).unwrap()).unwrap();

    // Signed pretty, sent compact.
    let m = request(PATH, "m-1", &t, BODY.as_bytes(), &sign(PATH, "m-1", &t, &pretty));
    assert!(matches!(mistake_of(&m), Mistake::BodyReserialised(how) if how.contains("pretty")));
    // Signed with PHP's \/ escapes, sent without.
    let escaped = BODY.replace('/', "\\/");
    let m = request(
        PATH,
        "m-1",
        &t,
        BODY.as_bytes(),
        &sign(PATH, "m-1", &t, escaped.as_bytes()),
    );
    assert!(matches!(mistake_of(&m), Mistake::BodyReserialised(how) if how.contains("\\/")));
    // Signed LF, sent CRLF (a body pasted through a Windows tool).
    let lf = b"{\n\"paymentRequestId\":\"order-1001\"\n}";
    let crlf = b"{\r\n\"paymentRequestId\":\"order-1001\"\r\n}";
    let m = request(PATH, "m-1", &t, crlf, &sign(PATH, "m-1", &t, lf));
    assert!(matches!(mistake_of(&m), Mistake::BodyLineEnds(_)));
    // A newline after the body that was never signed (a file saved by an editor).
    let mut with_nl = BODY.as_bytes().to_vec();
    with_nl.push(b'\n');
    let m = request(PATH, "m-1", &t, &with_nl, &sign(PATH, "m-1", &t, BODY.as_bytes()));
    assert!(matches!(mistake_of(&m), Mistake::BodyTrailingNewline(_)));
    // Signed without the /api prefix.
    let m = request(
        PATH,
        "m-1",
        &t,
        BODY.as_bytes(),
        &sign("/v2/payments/inquiryPayment", "m-1", &t, BODY.as_bytes()),
    );
    assert_eq!(
        mistake_of(&m),
        Mistake::Path {
            signed: "/v2/payments/inquiryPayment".into()
        }
    );
    // Signed with the full URL.
    let mut m = request(
        PATH,
        "m-1",
        &t,
        BODY.as_bytes(),
        &sign(
            &format!("https://wallet.example{PATH}"),
            "m-1",
            &t,
            BODY.as_bytes(),
        ),
    );
    m.headers.push(("Host".into(), "wallet.example".into()));
    assert_eq!(
        mistake_of(&m),
        Mistake::Path {
            signed: format!("https://wallet.example{PATH}")
        }
    );
    // The time taken twice: the signature covers a time 37 ms before the header's.
    let at = time::parse_request_time(&t).unwrap() - chrono::Duration::milliseconds(37);
    let earlier = time::format_response_time(at);
    let m = request(
        PATH,
        "m-1",
        &t,
        BODY.as_bytes(),
        &sign(PATH, "m-1", &earlier, BODY.as_bytes()),
    );
    assert_eq!(mistake_of(&m), Mistake::Time { signed: earlier });
    // The same instant written as epoch milliseconds in the signature.
    let millis = time::parse_request_time(&t)
        .unwrap()
        .timestamp_millis()
        .to_string();
    let m = request(
        PATH,
        "m-1",
        &t,
        BODY.as_bytes(),
        &sign(PATH, "m-1", &millis, BODY.as_bytes()),
    );
    assert_eq!(mistake_of(&m), Mistake::Time { signed: millis });
    // CR LF after the path.
    let mut crlf_layout = sign(PATH, "m-1", &t, BODY.as_bytes());
    crlf_layout.insert(5 + PATH.len(), b'\r');
    let m = request(PATH, "m-1", &t, BODY.as_bytes(), &crlf_layout);
    assert!(matches!(mistake_of(&m), Mistake::Layout(how) if how.contains("CR LF")));
    // Another client id (upper case).
    let m = request(
        PATH,
        "m-1",
        &t,
        BODY.as_bytes(),
        &sign(PATH, "M-1", &t, BODY.as_bytes()),
    );
    assert_eq!(mistake_of(&m), Mistake::ClientId { signed: "M-1".into() });
}

#[test]
fn a_double_encoded_signature_is_named() {
    let t = now_time();
    let signed = content::mini_program("POST", PATH, "m-1", &t, BODY.as_bytes());
    let mut m = request(PATH, "m-1", &t, BODY.as_bytes(), &signed);
    let header = m.headers[3].1.replace('%', "%25");
    m.headers[3].1 = header;
    assert_eq!(mistake_of(&m), Mistake::SignatureDoubleEncoded);
}

#[test]
fn the_other_steps_fail_for_their_own_reasons() {
    let t = now_time();
    let signed = content::mini_program("POST", PATH, "m-1", &t, BODY.as_bytes());
    let key = merchant_key().public_key();

    // Another private key signed it.
    let other = PrivateKey::generate(Algorithm::Rsa256).unwrap();
    let mut m = request(PATH, "m-1", &t, BODY.as_bytes(), &signed);
    m.headers[3].1 = format_header(Algorithm::Rsa256, 1, &other.sign(&signed).unwrap());
    let d = diagnose(&m, &key, &DiagnoseOptions::default());
    assert_eq!(d.finding, Finding::NoMatch, "{d}");
    assert!(d.to_string().contains("another private key"));

    // The header names ECC224 for an RSA key.
    let mut m = request(PATH, "m-1", &t, BODY.as_bytes(), &signed);
    m.headers[3].1 = m.headers[3].1.replace("RSA256", "ECC224");
    let d = diagnose(&m, &key, &DiagnoseOptions::default());
    assert_eq!(
        d.finding,
        Finding::Algorithm {
            header: Algorithm::Ecc224,
            key: Algorithm::Rsa256
        },
        "{d}"
    );

    // keyVersion 2 while the key given is version 1.
    let mut m = request(PATH, "m-1", &t, BODY.as_bytes(), &signed);
    m.headers[3].1 = m.headers[3].1.replace("keyVersion=1", "keyVersion=2");
    let opts = DiagnoseOptions {
        key_version: Some(1),
        ..DiagnoseOptions::default()
    };
    let d = diagnose(&m, &key, &opts);
    assert_eq!(
        d.finding,
        Finding::KeyVersion {
            header: Some(2),
            key: 1
        },
        "{d}"
    );

    // Missing and unreadable headers.
    let mut m = request(PATH, "m-1", &t, BODY.as_bytes(), &signed);
    m.headers.retain(|(n, _)| n != "Request-Time");
    assert!(
        matches!(diagnose(&m, &key, &DiagnoseOptions::default()).finding, Finding::Header(h) if h.contains("request-time"))
    );
    let mut m = request(PATH, "m-1", &t, BODY.as_bytes(), &signed);
    m.headers[3].1 = "algorithm=RSA256,keyVersion=x,signature=abc".into();
    assert!(
        matches!(diagnose(&m, &key, &DiagnoseOptions::default()).finding, Finding::Header(h) if h.contains("keyVersion"))
    );

    // Signed correctly, but an hour old: not a signature problem.
    let old = time::format_response_time((chrono::Utc::now() - chrono::Duration::hours(1)).fixed_offset());
    let m = request(
        PATH,
        "m-1",
        &old,
        BODY.as_bytes(),
        &content::mini_program("POST", PATH, "m-1", &old, BODY.as_bytes()),
    );
    let d = diagnose(&m, &key, &DiagnoseOptions::default());
    assert!(
        matches!(&d.finding, Finding::Time(t) if t.contains("in the past")),
        "{d}"
    );
    assert!(d.signature_verifies());
}

#[test]
fn alphapay_messages_use_their_own_content_and_dialect_mixups_are_named() {
    let t = now_time();
    let nonce = "0123456789abcdef0123456789abcdef";
    let path = "/api/v2.0/payments/pay";
    let key = merchant_key();
    let message = |signed: &[u8]| SignedMessage {
        kind: MessageKind::Request,
        method: "POST".into(),
        target: Some(path.into()),
        headers: vec![
            ("Merchant-Code".into(), "CXVJIU".into()),
            ("Request-Time".into(), t.clone()),
            ("Nonce".into(), nonce.into()),
            (
                "Signature".into(),
                format_header_alphapay(1, &key.sign(signed).unwrap()),
            ),
        ],
        body: BODY.as_bytes().to_vec(),
        crlf_headers: false,
    };
    let right = content::alphapay("POST", path, "CXVJIU", &t, nonce, BODY.as_bytes());
    let d = diagnose(&message(&right), &key.public_key(), &DiagnoseOptions::default());
    assert_eq!(d.dialect, Dialect::AlphaPay);
    assert_eq!(d.finding, Finding::Verifies, "{d}");
    let mini = content::mini_program("POST", path, "CXVJIU", &t, BODY.as_bytes());
    assert_eq!(
        mistake_of(&message(&mini)),
        Mistake::Dialect(Dialect::MiniProgram)
    );
}

#[test]
fn pasted_log_text_is_read_byte_for_byte() {
    let t = now_time();
    let signed = content::mini_program("POST", PATH, "m-1", &t, BODY.as_bytes());
    let raw = merchant_key().sign(&signed).unwrap();
    let text = format!(
        "POST {PATH} HTTP/1.1\r\nHost: wallet\r\nClient-Id: m-1\r\nRequest-Time: {t}\r\nSignature: {}\r\n\r\n{BODY}\r\n",
        format_header(Algorithm::Rsa256, 1, &raw)
    );
    let m = parse_http_text(text.as_bytes()).unwrap();
    // The body the file carries ends with a CRLF the signer never signed: named as such.
    let d = diagnose(&m, &merchant_key().public_key(), &DiagnoseOptions::default());
    assert!(
        matches!(
            &d.finding,
            Finding::Mistake {
                mistake: Mistake::BodyTrailingNewline(_),
                ..
            }
        ),
        "{d}"
    );
}

#[tokio::test]
async fn what_the_wallet_calls_invalid_signature_is_explained_and_its_answer_verifies() {
    let wallet = DocWallet::start().await;
    let merchant = merchant_at(&wallet, &wallet.base_url);
    // A merchant that signs the pretty body but sends the compact one.
    let t = now_time();
    let pretty = "{\n  \"paymentRequestId\": \"x\"\n}";
    let compact = r#"{"paymentRequestId":"x"}"#;
    let signed = content::mini_program("POST", PATH, CLIENT_ID, &t, pretty.as_bytes());
    let header = format_header(Algorithm::Rsa256, 1, &merchant_key().sign(&signed).unwrap());
    let opts = RequestOptions {
        request_time: Some(t.clone()),
        signature_header: Some(header.clone()),
    };
    let v = merchant
        .send("v2/payments/inquiryPayment", compact.as_bytes().to_vec(), &opts)
        .await
        .unwrap();
    assert_eq!(v.result.result_code, "INVALID_SIGNATURE");

    let request = SignedMessage {
        kind: MessageKind::Request,
        method: "POST".into(),
        target: Some(PATH.into()),
        headers: vec![
            ("client-id".into(), CLIENT_ID.into()),
            ("request-time".into(), t),
            ("signature".into(), header),
        ],
        body: compact.as_bytes().to_vec(),
        crlf_headers: false,
    };
    assert!(matches!(mistake_of(&request), Mistake::BodyReserialised(_)));

    // The wallet's answer, checked with the wallet's key and the request's path, verifies.
    let answer = SignedMessage {
        kind: MessageKind::Response,
        method: "POST".into(),
        target: None,
        headers: v
            .headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
            .collect(),
        body: v.body.to_vec(),
        crlf_headers: false,
    };
    let opts = DiagnoseOptions {
        path: Some(PATH.into()),
        ..DiagnoseOptions::default()
    };
    let d = diagnose(&answer, &wallet.wallet_public_key, &opts);
    assert_eq!(d.finding, Finding::Verifies, "{d}");
    // Checked against the wrong path, the answer's mistake is named as a path.
    let opts = DiagnoseOptions {
        path: Some("/v2/payments/inquiryPayment".into()),
        ..DiagnoseOptions::default()
    };
    let d = diagnose(&answer, &wallet.wallet_public_key, &opts);
    assert_eq!(
        d.finding.clone(),
        Finding::Mistake {
            mistake: Mistake::Path { signed: PATH.into() },
            signed_content: content::mini_program(
                "POST",
                PATH,
                CLIENT_ID,
                v.headers.get("response-time").unwrap().to_str().unwrap(),
                &v.body
            ),
        },
        "{d}"
    );
}

/// Before concluding "another private key", the causes that can be seen in the message itself are
/// named: the Signature items reordered, a request signed for the other API version, a client id
/// changed after signing, a signature cut short.
#[test]
fn the_real_cause_is_named_before_another_key_is_blamed() {
    let t = now_time();
    let key = merchant_key().public_key();
    let sign = |path: &str, id: &str| content::mini_program("POST", path, id, &t, BODY.as_bytes());

    // Signed for v2, sent to v1.
    let v1 = "/api/v1/payments/inquiryPayment";
    let m = request(v1, "m-1", &t, BODY.as_bytes(), &sign(PATH, "m-1"));
    assert_eq!(
        mistake_of(&m),
        Mistake::ApiVersion {
            signed: PATH.into(),
            sent: v1.into()
        }
    );

    // The Client-Id header changed after signing: named when the signer's id is known…
    let m = request(PATH, "m-2", &t, BODY.as_bytes(), &sign(PATH, "m-1"));
    let options = DiagnoseOptions {
        client_id: Some("m-1".into()),
        ..DiagnoseOptions::default()
    };
    let d = diagnose(&m, &key, &options);
    assert!(
        matches!(&d.finding, Finding::Mistake { mistake: Mistake::ClientId { signed }, .. } if signed == "m-1"),
        "{d}"
    );
    // …and when the content was signed with a third id, the mismatch itself is the finding.
    let m = request(PATH, "m-2", &t, BODY.as_bytes(), &sign(PATH, "m-3"));
    let d = diagnose(&m, &key, &options);
    assert_eq!(
        d.finding,
        Finding::ClientIdChanged {
            header: "m-2".into(),
            expected: "m-1".into()
        },
        "{d}"
    );

    // A signature cut short (a header length limit): the length gives it away.
    let raw = merchant_key().sign(&sign(PATH, "m-1")).unwrap();
    let mut m = request(PATH, "m-1", &t, BODY.as_bytes(), &sign(PATH, "m-1"));
    m.headers[3].1 = format_header(Algorithm::Rsa256, 1, &raw[..200]);
    let d = diagnose(&m, &key, &DiagnoseOptions::default());
    assert_eq!(
        d.finding,
        Finding::SignatureLength {
            got: 200,
            expected: "256".into(),
            key: "RSA-2048".into()
        },
        "{d}"
    );
    assert!(d.to_string().contains("cut short"), "{d}");

    // Reordered items: the wallet reads a request either way (a warning only), but an answer in
    // that shape is refused by strict readers, and that is the finding.
    let header = format_header(Algorithm::Rsa256, 1, &raw);
    let (head, value) = header.split_once(",signature=").unwrap();
    let reordered = format!("signature={value},{head}");
    let mut m = request(PATH, "m-1", &t, BODY.as_bytes(), &sign(PATH, "m-1"));
    m.headers[3].1 = reordered.clone();
    let d = diagnose(&m, &key, &DiagnoseOptions::default());
    assert_eq!(d.finding, Finding::Verifies, "{d}");
    assert!(d.steps.iter().any(|s| s.name == "item order"), "{d}");
    let answer = SignedMessage {
        kind: MessageKind::Response,
        method: "POST".into(),
        target: None,
        headers: vec![
            ("client-id".into(), "m-1".into()),
            ("response-time".into(), t.clone()),
            ("signature".into(), reordered),
        ],
        body: BODY.as_bytes().to_vec(),
        crlf_headers: false,
    };
    let options = DiagnoseOptions {
        path: Some(PATH.into()),
        ..DiagnoseOptions::default()
    };
    let d = diagnose(&answer, &key, &options);
    assert_eq!(
        d.finding,
        Finding::ItemOrder {
            order: vec!["signature", "algorithm", "keyVersion"]
        },
        "{d}"
    );

    // Only then: another key.
    let other = PrivateKey::generate(Algorithm::Rsa256).unwrap();
    let mut m = request(PATH, "m-1", &t, BODY.as_bytes(), &sign(PATH, "m-1"));
    m.headers[3].1 = format_header(Algorithm::Rsa256, 1, &other.sign(&sign(PATH, "m-1")).unwrap());
    assert_eq!(
        diagnose(&m, &key, &DiagnoseOptions::default()).finding,
        Finding::NoMatch
    );
}
