//! Content to sign, byte for byte.

use walletd_protocol::content::{alphapay, mini_program, path_of_request_target, render_visible};

#[test]
fn mini_program_content_is_byte_exact() {
    let content = mini_program(
        "POST",
        "/api/v2/payments/pay",
        "2022091495540562",
        "2019-05-28T12:12:12+08:00",
        br#"{"a":"b"}"#,
    );
    assert_eq!(
        content,
        b"POST /api/v2/payments/pay\n2022091495540562.2019-05-28T12:12:12+08:00.{\"a\":\"b\"}".to_vec()
    );
}

#[test]
fn mini_program_content_matches_the_openssl_fixture() {
    let body = br#"{"partnerId":"2188120000000000","paymentRequestId":"pay_1089760038715669_102775745070000","paymentAmount":{"currency":"PHP","value":"100"},"paymentNotifyUrl":"https:\/\/merchant.example\/notify","extendInfo":"{\"customerBelongsTo\":\"GCASH\"}"}"#;
    let content = mini_program(
        "POST",
        "/api/v1/payments/pay",
        "2022091495540562",
        "2019-05-28T12:12:12+08:00",
        body,
    );
    assert_eq!(content, include_bytes!("../../testdata/content.txt"));
}

#[test]
fn pretty_printed_bodies_and_slash_escapes_are_kept_verbatim() {
    let body = b"{\n    \"url\": \"https:\\/\\/m.example\\/n\",\r\n\t\"value\": \"100\"\n}\n";
    let content = mini_program("POST", "/api/v1/payments/pay", "C1", "1795305798237", body);
    let mut expected = b"POST /api/v1/payments/pay\nC1.1795305798237.".to_vec();
    expected.extend_from_slice(body);
    assert_eq!(content, expected);
    assert!(content.windows(2).any(|w| w == b"\\/"));
    assert!(content.ends_with(b"}\n"), "a trailing newline of the body stays");
}

#[test]
fn non_ascii_and_non_utf8_body_bytes_are_kept() {
    let body = [b'{', 0xe4, 0xbd, 0xa0, 0xff, 0x00, b'}'];
    let content = mini_program("POST", "/p", "c", "t", &body);
    assert_eq!(&content[content.len() - body.len()..], body);
}

#[test]
fn empty_body_still_has_the_last_dot() {
    assert_eq!(
        mini_program("POST", "/p", "c", "t", b""),
        b"POST /p\nc.t.".to_vec()
    );
}

#[test]
fn alphapay_content_is_byte_exact() {
    let content = alphapay(
        "POST",
        "/api/v2.0/payments/pay",
        "CXVJIU",
        "2023-06-01T10:00:00.000-04:00",
        "0123456789abcdef0123456789abcdef",
        br#"{"scenarioCode":"ONLINE_QRCODE"}"#,
    );
    assert_eq!(
        content,
        b"POST /api/v2.0/payments/pay\nCXVJIU.2023-06-01T10:00:00.000-04:00.0123456789abcdef0123456789abcdef.{\"scenarioCode\":\"ONLINE_QRCODE\"}"
            .to_vec()
    );
    assert_eq!(
        alphapay("POST", "/p", "M", "t", "n", b""),
        b"POST /p\nM.t.n.".to_vec()
    );
}

#[test]
fn origin_form_targets_are_kept_as_addressed() {
    assert_eq!(
        path_of_request_target("/api/v1/payments/pay"),
        "/api/v1/payments/pay"
    );
    assert_eq!(
        path_of_request_target("/api/v1/payments/pay?x=1"),
        "/api/v1/payments/pay?x=1"
    );
    assert_eq!(path_of_request_target("//double/slash"), "//double/slash");
    assert_eq!(path_of_request_target("/r?u=http://evil/x"), "/r?u=http://evil/x");
}

#[test]
fn absolute_form_targets_yield_their_path() {
    assert_eq!(
        path_of_request_target("http://127.0.0.1:8080/api/v1/payments/pay"),
        "/api/v1/payments/pay"
    );
    assert_eq!(
        path_of_request_target("https://wallet.example/api/v2/x?y=1"),
        "/api/v2/x?y=1"
    );
    assert_eq!(path_of_request_target("HTTP://Host/api"), "/api");
    assert_eq!(path_of_request_target("http://user@host:1/a/b"), "/a/b");
    assert_eq!(path_of_request_target("http://host"), "/");
    assert_eq!(path_of_request_target("http://host?x=1"), "/");
}

#[test]
fn other_targets_are_returned_unchanged() {
    assert_eq!(path_of_request_target("*"), "*");
    assert_eq!(path_of_request_target("host:443"), "host:443");
    assert_eq!(path_of_request_target(""), "");
}

#[test]
fn render_visible_escapes_what_cannot_be_seen() {
    let content = mini_program("POST", "/p", "c", "t", b"{\"k\":\"a\\/b\"}\r\n\tx \x01\x7f");
    assert_eq!(
        render_visible(&content),
        "POST /p\\nc.t.{\"k\":\"a\\\\/b\"}\\r\\n\\tx \\u{1}\\u{7f}"
    );
}

#[test]
fn render_visible_shows_utf8_and_escapes_invalid_bytes() {
    assert_eq!(render_visible("Zoë 你好".as_bytes()), "Zoë 你好");
    assert_eq!(render_visible(&[b'a', 0xff, 0xc3, b'b']), "a\\xFF\\xC3b");
    assert_eq!(render_visible("\u{feff}{}".as_bytes()), "\\u{feff}{}");
    assert_eq!(render_visible(b""), "");
}

#[test]
fn render_visible_is_one_line() {
    let rendered = render_visible(b"a\nb\rc\n");
    assert!(!rendered.contains('\n') && !rendered.contains('\r'));
}
