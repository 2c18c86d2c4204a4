//! Slow and many clients: timeouts, connection caps, shutdown with a deadline, per-client rate
//! limits, and the header spelling of each dialect's answers.

use crate::net_harness::*;
use std::net::IpAddr;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const LOOPBACK_A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 1));
const LOOPBACK_B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 2));
const LOOPBACK_C: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 3));

/// Far longer than any timeout these tests configure, far shorter than "for ever".
const GENEROUS: Duration = Duration::from_secs(20);

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected_after_the_header_timeout() {
    let app = spawn(|c| c.http.header_read_timeout_secs = 1).await;
    let mut s = TcpStream::connect(app.addr).await.unwrap();
    s.write_all(b"POST /api/v2/payments/pay HTTP/1.1\r\nHost: x\r\nClient-Id: ")
        .await
        .unwrap();
    assert!(
        read_until_closed(&mut s, GENEROUS).await.is_some(),
        "a half-sent request head must not hold a connection open"
    );
}

#[tokio::test]
async fn a_kept_alive_connection_that_sends_nothing_more_is_disconnected() {
    let app = spawn(|c| c.http.header_read_timeout_secs = 1).await;
    let mut s = TcpStream::connect(app.addr).await.unwrap();
    let answer = exchange_raw(&mut s, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", GENEROUS).await;
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    assert!(
        read_until_closed(&mut s, GENEROUS).await.is_some(),
        "an idle kept-alive connection must be closed"
    );
}

#[tokio::test]
async fn a_connection_on_which_nothing_moves_is_closed_after_the_idle_timeout_whatever_the_header_timeout() {
    let app = spawn(|c| {
        c.http.header_read_timeout_secs = 600;
        c.http.idle_timeout_secs = 1;
    })
    .await;
    let mut s = TcpStream::connect(app.addr).await.unwrap();
    let answer = exchange_raw(&mut s, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", GENEROUS).await;
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    assert!(
        read_until_closed(&mut s, GENEROUS).await.is_some(),
        "a connection that moves no byte must be closed after the idle timeout"
    );
}

#[tokio::test]
async fn a_body_that_never_arrives_in_full_is_cut_off_after_the_body_timeout() {
    let app = spawn(|c| c.http.body_read_timeout_secs = 1).await;
    let mut s = TcpStream::connect(app.addr).await.unwrap();
    let full = app.signed_mp_request(
        "/api/v2/payments/inquiryPayment",
        br#"{"paymentId":"nothing-here"}"#,
    );
    let head_end = find(&full, b"\r\n\r\n").unwrap() + 4;
    // The head and a third of the body, then one byte every 300 ms: each byte comes well inside
    // any per-read timeout, the whole never.
    s.write_all(&full[..head_end + 10]).await.unwrap();
    let trickle = async {
        for b in &full[head_end + 10..full.len() - 1] {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if s.write_all(&[*b]).await.is_err() {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(4), trickle).await;
    assert!(
        read_until_closed(&mut s, GENEROUS).await.is_some(),
        "a trickled body must not hold a connection open"
    );
}

#[tokio::test]
async fn connections_over_the_per_address_cap_are_closed_at_once_and_other_addresses_get_in() {
    let app = spawn(|c| {
        c.http.max_connections_per_address = 4;
        c.http.header_read_timeout_secs = 60;
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(connect_from(LOOPBACK_A, app.addr).await);
    }
    // Let the server take the four in before the fifth knocks.
    assert!(
        eventually(GENEROUS, || async {
            let mut fifth = connect_from(LOOPBACK_A, app.addr).await;
            read_until_closed(&mut fifth, Duration::from_secs(2))
                .await
                .is_some()
        })
        .await,
        "a fifth connection from one address must be closed at once"
    );
    assert!(
        healthz_from(LOOPBACK_B, app.addr).await,
        "another address still gets in"
    );
    drop(held);
    assert!(
        eventually(GENEROUS, || healthz_from(LOOPBACK_A, app.addr)).await,
        "places come back when connections close"
    );
}

#[tokio::test]
async fn over_the_total_cap_new_connections_are_closed_and_healthz_gets_in_once_slow_ones_time_out() {
    let app = spawn(|c| {
        c.http.max_connections = 8;
        c.http.header_read_timeout_secs = 2;
    })
    .await;
    let mut slow = Vec::new();
    for i in 0..8 {
        let from = [LOOPBACK_A, LOOPBACK_B, LOOPBACK_C][i % 3];
        let mut s = connect_from(from, app.addr).await;
        s.write_all(b"GET /healthz HTTP/1.1\r\nHo").await.unwrap();
        slow.push(s);
    }
    // While the eight slow ones are open, a ninth is closed at once without an answer.
    let mut ninth = connect_from(LOOPBACK_C, app.addr).await;
    let _ = ninth.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await;
    let got = read_until_closed(&mut ninth, Duration::from_secs(5)).await;
    assert!(
        got.as_ref().is_some_and(|b| b.is_empty()),
        "the ninth connection must be closed without an answer: {got:?}"
    );
    // The slow ones time out and the health check gets in, without anyone closing them.
    assert!(
        eventually(GENEROUS, || healthz_from(LOOPBACK_C, app.addr)).await,
        "healthz must get in once the slow connections time out"
    );
    drop(slow);
}

#[tokio::test]
async fn shutdown_lets_a_request_in_flight_finish_and_exits_despite_a_half_sent_request() {
    let mut app = spawn(|c| {
        c.http.header_read_timeout_secs = 600;
        c.http.body_read_timeout_secs = 600;
        // Long enough for the request in flight to be answered on a loaded machine, well inside
        // the test's own timeout.
        c.http.shutdown_grace_secs = 5;
    })
    .await;
    // A request whose body is half-way when shutdown begins, and that finishes within the grace.
    let full = app.signed_mp_request(
        "/api/v2/payments/inquiryPayment",
        br#"{"paymentId":"nothing-here"}"#,
    );
    let split = find(&full, b"\r\n\r\n").unwrap() + 10;
    let mut in_flight = TcpStream::connect(app.addr).await.unwrap();
    in_flight.write_all(&full[..split]).await.unwrap();
    // A request head that is never finished.
    let mut half = TcpStream::connect(app.addr).await.unwrap();
    half.write_all(b"POST /api/v2/payments/pay HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let server = app.stop();
    tokio::time::sleep(Duration::from_millis(300)).await;
    in_flight.write_all(&full[split..]).await.unwrap();
    let answer = read_until_closed(&mut in_flight, GENEROUS)
        .await
        .expect("closed after answering");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        text.contains("ORDER_NOT_EXIST"),
        "the request in flight was answered: {text}"
    );

    let stopped = tokio::time::timeout(GENEROUS, server).await;
    assert!(
        matches!(stopped, Ok(Ok(Ok(())))),
        "the server must stop within its grace even with a half-sent request open: {stopped:?}"
    );
    drop(half);
}

#[tokio::test]
async fn a_client_over_its_rate_limit_gets_a_signed_u_request_traffic_exceed_limit_and_others_do_not() {
    let app = spawn(|c| {
        c.http.rate_limit_per_second = 1;
        c.http.rate_limit_burst = 3;
    })
    .await;
    let body = br#"{"paymentId":"nothing-here"}"#.to_vec();
    let mut codes = Vec::new();
    for _ in 0..8 {
        // `send` verifies the wallet's signature before it returns the result.
        let v = app
            .mp
            .send("v2/payments/inquiryPayment", body.clone(), &Default::default())
            .await
            .expect("a signed answer");
        codes.push((v.result.result_status, v.result.result_code));
    }
    assert_eq!(codes[0].1, "ORDER_NOT_EXIST", "{codes:?}");
    let limited: Vec<_> = codes
        .iter()
        .filter(|(_, c)| c == "REQUEST_TRAFFIC_EXCEED_LIMIT")
        .collect();
    assert!(limited.len() >= 3, "{codes:?}");
    assert!(limited.iter().all(|(s, _)| s == "U"), "{codes:?}");
    // Another client has its own budget.
    let other = app
        .other
        .send("v2/payments/inquiryPayment", body.clone(), &Default::default())
        .await
        .expect("a signed answer");
    assert_eq!(other.result.result_code, "ORDER_NOT_EXIST");

    // AlphaPay: the same code, signed the AlphaPay way.
    let mut ap_codes = Vec::new();
    for _ in 0..8 {
        let v = app
            .ap
            .send("payments/inquiryPayment", body.clone(), &Default::default())
            .await
            .expect("a signed AlphaPay answer");
        ap_codes.push((v.result.result_status, v.result.result_code));
    }
    assert!(
        ap_codes
            .iter()
            .filter(|(s, c)| s == "U" && c == "REQUEST_TRAFFIC_EXCEED_LIMIT")
            .count()
            >= 3,
        "{ap_codes:?}"
    );

    // Store API: its own error shape.
    let mut store_errors = Vec::new();
    for _ in 0..8 {
        if let Err(walletd_client::ClientError::Store { error, error_long }) =
            app.store.call("get_credit", Some(1), &[]).await
        {
            store_errors.push((error, error_long));
        }
    }
    assert!(
        store_errors
            .iter()
            .filter(|(e, l)| e == "REQUEST_ERROR" && l.contains("rate limit"))
            .count()
            >= 3,
        "{store_errors:?}"
    );
}

/// The header lines of a raw answer, as written on the wire.
fn header_lines(answer: &[u8]) -> Vec<String> {
    let head_end = find(answer, b"\r\n\r\n").unwrap_or(answer.len());
    String::from_utf8_lossy(&answer[..head_end])
        .lines()
        .skip(1)
        .map(str::to_owned)
        .collect()
}

fn value_of<'a>(lines: &'a [String], exact_name: &str) -> Option<&'a str> {
    lines
        .iter()
        .find_map(|l| l.strip_prefix(&format!("{exact_name}: ")))
}

#[tokio::test]
async fn alphapay_answers_spell_headers_as_the_document_and_mini_program_answers_stay_lower_case() {
    let app = spawn(|c| c.alphapay.listen = Some("127.0.0.1:0".into())).await;
    let ap_addr = app.alphapay_addr.expect("AlphaPay listener");
    let body = br#"{"paymentId":"x"}"#;
    let request = format!(
        "POST /api/v2.0/payments/inquiryPayment HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Accept: application/json\r\nMerchant-Code: {AP_MERCHANT}\r\nRequest-Time: 2026-01-01T00:00:00+00:00\r\n\
         Nonce: 0123456789abcdef0123456789abcdef\r\nSignature: algorithm=RS256,keyVersion=1,signature=AAAA\r\n\
         Content-Length: {}\r\n\r\n{}",
        body.len(),
        std::str::from_utf8(body).unwrap()
    );
    let mut s = TcpStream::connect(ap_addr).await.unwrap();
    let answer = exchange_raw(&mut s, request.as_bytes(), GENEROUS).await;
    let lines = header_lines(&answer);
    for name in [
        "Signature",
        "Merchant-Code",
        "Response-Time",
        "Nonce",
        "Content-Type",
    ] {
        assert!(value_of(&lines, name).is_some(), "no {name:?} in {lines:#?}");
    }
    let response_time = value_of(&lines, "Response-Time").unwrap();
    // To the second, with an offset: 2019-04-04T12:08:56+05:30.
    let shape = response_time.len() == 25
        && chrono::DateTime::parse_from_str(response_time, "%Y-%m-%dT%H:%M:%S%:z").is_ok();
    assert!(shape, "Response-Time {response_time:?}");

    // The same request on the shared listener: the Mini Program's lower-case names stay.
    let mut s = TcpStream::connect(app.addr).await.unwrap();
    let full = app.signed_mp_request("/api/v2/payments/inquiryPayment", body);
    let answer = exchange_raw(&mut s, &full, GENEROUS).await;
    let lines = header_lines(&answer);
    for name in ["signature", "response-time", "client-id"] {
        assert!(value_of(&lines, name).is_some(), "no {name:?} in {lines:#?}");
    }
}
