//! `Request-Time` parsing, the freshness window, and the `Response-Time` format (docs/mini-program.md §6).
//!
//! The header value is signed verbatim; these functions only interpret it.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat, TimeZone, Utc};

/// The forms [`parse_request_time`] accepts, for error messages.
pub const ACCEPTED_FORMS: &str = "ISO 8601 YYYY-MM-DDTHH:MM:SS with optional .fraction (1-9 digits) and \
     offset Z, +hh:mm or +hhmm, or epoch milliseconds (12-14 digits)";

/// Why a time value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// The value has none of the accepted shapes.
    #[error("Request-Time {value:?} is not in an accepted form: {ACCEPTED_FORMS}")]
    Unrecognized {
        /// The offending value (shortened).
        value: String,
    },
    /// The shape is right but a field is out of range (month 13, hour 24, offset +25:00, …).
    #[error("Request-Time {value:?} is not a valid date and time: {reason}")]
    OutOfRange {
        /// The offending value (shortened).
        value: String,
        /// Which field is wrong.
        reason: &'static str,
    },
    /// The time is older than the window allows.
    #[error("Request-Time {time} is {seconds} s in the past; the allowed window is {window_seconds} s")]
    TooOld {
        /// The parsed time, RFC 3339.
        time: String,
        /// How far in the past, rounded up to whole seconds.
        seconds: u64,
        /// The configured window.
        window_seconds: u64,
    },
    /// The time is further in the future than the window allows.
    #[error("Request-Time {time} is {seconds} s in the future; the allowed window is {window_seconds} s")]
    InFuture {
        /// The parsed time, RFC 3339.
        time: String,
        /// How far in the future, rounded up to whole seconds.
        seconds: u64,
        /// The configured window.
        window_seconds: u64,
    },
}

/// Parses a `Request-Time` value.
///
/// Accepted: `YYYY-MM-DDTHH:MM:SS`, optionally `.` and 1–9 fraction digits, then `Z`, `±hh:mm` or
/// `±hhmm` (e.g. `2019-04-04T12:08:56.253+05:30`, `2019-05-28T12:12:12+0800`,
/// `2026-11-22T00:01:08.1234567Z`); or epoch milliseconds as 12–14 digits (`1795305798237`), taken
/// as UTC. Surrounding whitespace is ignored; anything else is refused.
pub fn parse_request_time(s: &str) -> Result<DateTime<FixedOffset>, TimeError> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return parse_epoch_millis(s);
    }
    parse_iso(s)
}

fn unrecognized(s: &str) -> TimeError {
    TimeError::Unrecognized { value: shorten(s) }
}

fn out_of_range(s: &str, reason: &'static str) -> TimeError {
    TimeError::OutOfRange {
        value: shorten(s),
        reason,
    }
}

fn shorten(s: &str) -> String {
    const MAX_CHARS: usize = 48;
    if s.chars().count() <= MAX_CHARS {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(MAX_CHARS).collect();
        out.push('…');
        out
    }
}

fn parse_epoch_millis(s: &str) -> Result<DateTime<FixedOffset>, TimeError> {
    if !(12..=14).contains(&s.len()) {
        return Err(unrecognized(s));
    }
    let millis: i64 = s.parse().map_err(|_| unrecognized(s))?;
    DateTime::<Utc>::from_timestamp_millis(millis)
        .map(|t| t.fixed_offset())
        .ok_or_else(|| out_of_range(s, "epoch milliseconds out of range"))
}

/// A cursor over ASCII bytes for the fixed-layout ISO parser.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn digits(&mut self, n: usize) -> Option<u32> {
        let end = self.pos.checked_add(n)?;
        let slice = self.bytes.get(self.pos..end)?;
        let mut value = 0u32;
        for &b in slice {
            if !b.is_ascii_digit() {
                return None;
            }
            value = value * 10 + u32::from(b - b'0');
        }
        self.pos = end;
        Some(value)
    }

    fn expect(&mut self, accepted: &[u8]) -> Option<()> {
        let b = *self.bytes.get(self.pos)?;
        if accepted.contains(&b) {
            self.pos += 1;
            Some(())
        } else {
            None
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn rest(&self) -> &[u8] {
        &self.bytes[self.pos..]
    }

    /// The fraction of a second, if there is one: `.` and 1 to 9 digits, in nanoseconds (0
    /// without a fraction). `None`: malformed.
    fn fraction(&mut self) -> Option<u32> {
        let mut nanos = 0u32;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            let digits = self.rest().iter().take_while(|b| b.is_ascii_digit()).count();
            if !(1..=9).contains(&digits) {
                return None;
            }
            nanos = self.digits(digits)?;
            for _ in digits..9 {
                nanos *= 10;
            }
        }
        Some(nanos)
    }

    /// The offset from UTC in seconds: `Z`, or `+`/`-` with `hh:mm` or `hhmm`. `None`: malformed;
    /// `Some(Err(..))`: well formed but out of range.
    fn offset(&mut self) -> Option<Result<i32, &'static str>> {
        let seconds = match self.peek()? {
            b'Z' | b'z' => {
                self.pos += 1;
                0
            }
            sign @ (b'+' | b'-') => {
                self.pos += 1;
                let hours = self.digits(2)?;
                if self.peek() == Some(b':') {
                    self.pos += 1;
                }
                let minutes = self.digits(2)?;
                if hours > 23 || minutes > 59 {
                    return Some(Err("offset out of range"));
                }
                let magnitude = i32::try_from(hours * 3600 + minutes * 60).ok()?;
                if sign == b'-' {
                    -magnitude
                } else {
                    magnitude
                }
            }
            _ => return None,
        };
        Some(Ok(seconds))
    }
}

fn parse_iso(s: &str) -> Result<DateTime<FixedOffset>, TimeError> {
    let mut c = Cursor {
        bytes: s.as_bytes(),
        pos: 0,
    };
    let fields = (|| {
        let year = c.digits(4)?;
        c.expect(b"-")?;
        let month = c.digits(2)?;
        c.expect(b"-")?;
        let day = c.digits(2)?;
        c.expect(b"Tt")?;
        let hour = c.digits(2)?;
        c.expect(b":")?;
        let minute = c.digits(2)?;
        c.expect(b":")?;
        let second = c.digits(2)?;
        let nanos = c.fraction()?;
        let offset_seconds = match c.offset()? {
            Ok(seconds) => seconds,
            Err(reason) => return Some(Err(reason)),
        };
        if !c.rest().is_empty() {
            return None;
        }
        Some(Ok((
            year,
            month,
            day,
            hour,
            minute,
            second,
            nanos,
            offset_seconds,
        )))
    })();
    let (year, month, day, hour, minute, second, nanos, offset_seconds) = match fields {
        None => return Err(unrecognized(s)),
        Some(Err(reason)) => return Err(out_of_range(s, reason)),
        Some(Ok(fields)) => fields,
    };
    let year = i32::try_from(year).map_err(|_| out_of_range(s, "year out of range"))?;
    let date = NaiveDate::from_ymd_opt(year, month, day).ok_or_else(|| out_of_range(s, "no such date"))?;
    let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)
        .filter(|_| second < 60)
        .ok_or_else(|| out_of_range(s, "no such time of day"))?;
    let offset =
        FixedOffset::east_opt(offset_seconds).ok_or_else(|| out_of_range(s, "offset out of range"))?;
    offset
        .from_local_datetime(&NaiveDateTime::new(date, time))
        .single()
        .ok_or_else(|| out_of_range(s, "not representable"))
}

/// Checks that `request_time` is within `window_seconds` of `now`, either side (inclusive).
///
/// The comparison is in milliseconds; the error reports the distance rounded up to whole seconds.
pub fn check_window(
    request_time: DateTime<FixedOffset>,
    now: DateTime<Utc>,
    window_seconds: u64,
) -> Result<(), TimeError> {
    let diff_millis = i128::from(now.timestamp_millis()) - i128::from(request_time.timestamp_millis());
    let window_millis = i128::from(window_seconds) * 1000;
    if diff_millis.abs() <= window_millis {
        return Ok(());
    }
    let seconds = u64::try_from((diff_millis.abs() + 999) / 1000).unwrap_or(u64::MAX);
    let time = request_time.to_rfc3339_opts(SecondsFormat::AutoSi, true);
    if diff_millis > 0 {
        Err(TimeError::TooOld {
            time,
            seconds,
            window_seconds,
        })
    } else {
        Err(TimeError::InFuture {
            time,
            seconds,
            window_seconds,
        })
    }
}

/// Formats a `Response-Time`: ISO 8601 with milliseconds and a `±hh:mm` offset, e.g.
/// `2019-05-28T12:12:14.123+08:00`; UTC is written `+00:00`, never `Z`.
pub fn format_response_time(t: DateTime<FixedOffset>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string()
}
