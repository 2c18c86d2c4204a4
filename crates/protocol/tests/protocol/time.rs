//! Request-Time parsing, the freshness window and the Response-Time format.

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use walletd_protocol::time::{check_window, format_response_time, parse_request_time, TimeError};

fn utc_millis(t: DateTime<FixedOffset>) -> i64 {
    t.timestamp_millis()
}

fn offset_of(t: DateTime<FixedOffset>) -> i32 {
    t.offset().local_minus_utc()
}

#[test]
fn iso_with_millis_and_colon_offset() {
    let t = parse_request_time("2019-04-04T12:08:56.253+05:30").unwrap();
    assert_eq!(offset_of(t), 5 * 3600 + 30 * 60);
    assert_eq!(t.to_rfc3339(), "2019-04-04T12:08:56.253+05:30");
    assert_eq!(
        utc_millis(t),
        Utc.with_ymd_and_hms(2019, 4, 4, 6, 38, 56)
            .unwrap()
            .timestamp_millis()
            + 253
    );
}

#[test]
fn iso_python_sdk_form() {
    let t = parse_request_time("2026-11-22T00:01:08+00:00").unwrap();
    assert_eq!(offset_of(t), 0);
    assert_eq!(
        utc_millis(t),
        Utc.with_ymd_and_hms(2026, 11, 22, 0, 1, 8)
            .unwrap()
            .timestamp_millis()
    );
}

#[test]
fn iso_php_sdk_form_without_colon() {
    let t = parse_request_time("2019-05-28T12:12:12+0800").unwrap();
    assert_eq!(offset_of(t), 8 * 3600);
    assert_eq!(
        utc_millis(t),
        Utc.with_ymd_and_hms(2019, 5, 28, 4, 12, 12)
            .unwrap()
            .timestamp_millis()
    );
    let t = parse_request_time("2026-11-22T00:01:08+0000").unwrap();
    assert_eq!(offset_of(t), 0);
}

#[test]
fn iso_dotnet_seven_digit_fraction() {
    let t = parse_request_time("2026-11-22T00:01:08.1234567Z").unwrap();
    assert_eq!(offset_of(t), 0);
    assert_eq!(t.timestamp_subsec_nanos(), 123_456_700);
}

#[test]
fn iso_fractions_of_every_length() {
    for (text, nanos) in [
        ("2019-05-28T12:12:12.1Z", 100_000_000),
        ("2019-05-28T12:12:12.12Z", 120_000_000),
        ("2019-05-28T12:12:12.123Z", 123_000_000),
        ("2019-05-28T12:12:12.123456Z", 123_456_000),
        ("2019-05-28T12:12:12.123456789Z", 123_456_789),
    ] {
        assert_eq!(
            parse_request_time(text).unwrap().timestamp_subsec_nanos(),
            nanos,
            "{text}"
        );
    }
}

#[test]
fn iso_negative_offsets() {
    let t = parse_request_time("2019-05-28T12:12:12-04:00").unwrap();
    assert_eq!(offset_of(t), -4 * 3600);
    let t = parse_request_time("2019-05-28T12:12:12.5-0330").unwrap();
    assert_eq!(offset_of(t), -(3 * 3600 + 30 * 60));
}

#[test]
fn epoch_milliseconds() {
    let t = parse_request_time("1795305798237").unwrap();
    assert_eq!(utc_millis(t), 1_795_305_798_237);
    assert_eq!(offset_of(t), 0);
    assert_eq!(
        parse_request_time("100000000000").unwrap().timestamp_millis(),
        100_000_000_000
    );
    assert_eq!(
        parse_request_time("99999999999999").unwrap().timestamp_millis(),
        99_999_999_999_999
    );
}

#[test]
fn surrounding_whitespace_is_ignored() {
    assert!(parse_request_time(" 2019-05-28T12:12:12Z ").is_ok());
    assert!(parse_request_time("\t1795305798237\n").is_ok());
}

#[test]
fn other_forms_are_rejected_naming_the_accepted_ones() {
    for bad in [
        "",
        "2019-05-28",
        "2019-05-28T12:12:12",
        "2019-05-28 12:12:12Z",
        "2019-05-28T12:12Z",
        "2019-05-28T12:12:12+08",
        "2019-05-28T12:12:12+8:00",
        "2019-05-28T12:12:12.Z",
        "2019-05-28T12:12:12.1234567890Z",
        "2019-05-28T12:12:12Z ",
        "2019-05-28T12:12:12ZZ",
        "2019-5-28T12:12:12Z",
        "Tue, 28 May 2019 12:12:12 GMT",
        "1795305798",
        "12345678901",
        "179530579823700",
        "-1795305798237",
        "+1795305798237",
        "1795305798237.5",
    ] {
        let err = parse_request_time(&format!("{bad}x")).unwrap_err();
        assert!(matches!(err, TimeError::Unrecognized { .. }), "{bad:?}x: {err}");
        if !bad.ends_with(' ') {
            let err = parse_request_time(bad).expect_err(bad);
            assert!(matches!(err, TimeError::Unrecognized { .. }), "{bad:?}: {err}");
            let message = err.to_string();
            assert!(
                message.contains("+hh:mm") && message.contains("epoch milliseconds"),
                "{message}"
            );
        }
    }
}

#[test]
fn impossible_dates_and_offsets_are_rejected() {
    for bad in [
        "2019-13-01T00:00:00Z",
        "2019-02-29T00:00:00Z",
        "2019-04-31T00:00:00Z",
        "2019-05-28T24:00:00Z",
        "2019-05-28T12:60:00Z",
        "2019-05-28T12:00:60Z",
        "2019-05-28T12:00:00+24:00",
        "2019-05-28T12:00:00+05:60",
    ] {
        let err = parse_request_time(bad).unwrap_err();
        assert!(matches!(err, TimeError::OutOfRange { .. }), "{bad}: {err}");
    }
    assert!(parse_request_time("2020-02-29T00:00:00Z").is_ok());
}

#[test]
fn window_accepts_times_inside_and_on_the_edge() {
    let now = Utc.with_ymd_and_hms(2026, 11, 22, 1, 0, 0).unwrap();
    for text in [
        "2026-11-22T01:00:00Z",
        "2026-11-22T00:45:00Z",
        "2026-11-22T01:15:00Z",
        "2026-11-22T09:15:00+08:00",
        "2026-11-22T00:45:00.000+0000",
    ] {
        check_window(parse_request_time(text).unwrap(), now, 900).unwrap_or_else(|e| panic!("{text}: {e}"));
    }
}

#[test]
fn window_rejects_old_times_with_a_clear_message() {
    let now = Utc.with_ymd_and_hms(2026, 11, 22, 1, 0, 0).unwrap();
    let err = check_window(parse_request_time("2026-11-22T00:00:00Z").unwrap(), now, 900).unwrap_err();
    assert_eq!(
        err,
        TimeError::TooOld {
            time: "2026-11-22T00:00:00Z".into(),
            seconds: 3600,
            window_seconds: 900
        }
    );
    assert_eq!(
        err.to_string(),
        "Request-Time 2026-11-22T00:00:00Z is 3600 s in the past; the allowed window is 900 s"
    );
}

#[test]
fn window_rejects_future_times_with_a_clear_message() {
    let now = Utc.with_ymd_and_hms(2026, 11, 22, 1, 0, 0).unwrap();
    let err = check_window(parse_request_time("2026-11-22T09:20:00+08:00").unwrap(), now, 900).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Request-Time 2026-11-22T09:20:00+08:00 is 1200 s in the future; the allowed window is 900 s"
    );
}

#[test]
fn window_edge_is_measured_in_milliseconds() {
    let now = Utc.with_ymd_and_hms(2026, 11, 22, 1, 0, 0).unwrap();
    let just_out = parse_request_time("2026-11-22T00:44:59.999Z").unwrap();
    assert_eq!(
        check_window(just_out, now, 900).unwrap_err(),
        TimeError::TooOld {
            time: "2026-11-22T00:44:59.999Z".into(),
            seconds: 901,
            window_seconds: 900
        }
    );
    let epoch = parse_request_time(&(now.timestamp_millis() + 900_001).to_string()).unwrap();
    assert!(matches!(
        check_window(epoch, now, 900),
        Err(TimeError::InFuture { seconds: 901, .. })
    ));
    let epoch = parse_request_time(&(now.timestamp_millis() + 900_000).to_string()).unwrap();
    assert!(check_window(epoch, now, 900).is_ok());
}

#[test]
fn window_of_zero_allows_only_the_same_millisecond() {
    let now = Utc.with_ymd_and_hms(2026, 11, 22, 1, 0, 0).unwrap();
    assert!(check_window(now.fixed_offset(), now, 0).is_ok());
    assert!(check_window(parse_request_time("2026-11-22T01:00:00.001Z").unwrap(), now, 0).is_err());
}

#[test]
fn huge_windows_do_not_overflow() {
    let now = Utc.with_ymd_and_hms(2026, 11, 22, 1, 0, 0).unwrap();
    assert!(check_window(parse_request_time("1970-01-01T00:00:00Z").unwrap(), now, u64::MAX).is_ok());
}

#[test]
fn response_time_has_millis_and_colon_offset() {
    let tz = FixedOffset::east_opt(8 * 3600).unwrap();
    let t = tz.with_ymd_and_hms(2019, 5, 28, 12, 12, 14).unwrap() + chrono::Duration::milliseconds(123);
    assert_eq!(format_response_time(t), "2019-05-28T12:12:14.123+08:00");
    let utc = Utc
        .with_ymd_and_hms(2026, 11, 22, 0, 1, 8)
        .unwrap()
        .fixed_offset();
    assert_eq!(format_response_time(utc), "2026-11-22T00:01:08.000+00:00");
    let west = FixedOffset::west_opt(3 * 3600 + 1800)
        .unwrap()
        .with_ymd_and_hms(2020, 1, 2, 3, 4, 5)
        .unwrap();
    assert_eq!(format_response_time(west), "2020-01-02T03:04:05.000-03:30");
}

#[test]
fn response_time_truncates_sub_millisecond_digits_and_parses_back() {
    let t = parse_request_time("2026-11-22T00:01:08.1239999Z").unwrap();
    let formatted = format_response_time(t);
    assert_eq!(formatted, "2026-11-22T00:01:08.123+00:00");
    assert_eq!(
        parse_request_time(&formatted).unwrap().timestamp_millis(),
        t.timestamp_millis()
    );
}
