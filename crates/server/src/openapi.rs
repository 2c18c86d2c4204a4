//! The OpenAPI 3.1 document of the two signed dialects (the Mini Program OpenAPI under `/api/v1`
//! and `/api/v2`, AlphaPay under `/api/v1.0` and `/api/v2.0`), served at `GET /openapi.json`, and an
//! optional recorder of what those dialects exchange, so tests can check the document against
//! real traffic (`crates/server/tests/openapi/`).
//!
//! The recorder is off unless the environment variable [`EXCHANGE_LOG_ENV`] names a file. It then
//! appends one JSON line `{"path", "request", "response"}` per answered request: the bodies only,
//! never a header, so no signature, key or token header ever reaches the file. It stops recording
//! once the file holds [`EXCHANGE_LOG_MAX_BYTES`]. It is a test aid: bodies can carry access tokens,
//! so it must not be switched on in production.

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use serde_json::Value;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::sync::{Mutex, OnceLock};

/// The document, as served.
pub const DOCUMENT: &str = include_str!("../openapi.json");

/// `GET /openapi.json`.
pub async fn document() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], DOCUMENT)
}

/// Names the file the recorder appends to; unset or empty: nothing is recorded.
pub const EXCHANGE_LOG_ENV: &str = "WALLETD_EXCHANGE_LOG";

/// The recorder stops once its file is this large (shared by every process appending to it).
pub const EXCHANGE_LOG_MAX_BYTES: u64 = 100 * 1024 * 1024;

fn exchange_log() -> Option<&'static Mutex<File>> {
    static LOG: OnceLock<Option<Mutex<File>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let path = std::env::var_os(EXCHANGE_LOG_ENV).filter(|p| !p.is_empty())?;
        match OpenOptions::new().create(true).append(true).open(&path) {
            Ok(file) => Some(Mutex::new(file)),
            Err(e) => {
                tracing::warn!(error = %e, "the exchange log cannot be opened; nothing is recorded");
                None
            }
        }
    })
    .as_ref()
}

/// A body as JSON; a body that is not JSON is kept as its text, an absent one is `null`.
fn body_value(body: Option<&[u8]>) -> Value {
    match body {
        None => Value::Null,
        Some(b) => serde_json::from_slice(b)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(b).into_owned())),
    }
}

/// Appends one exchange when the recorder is on. `request` is `None` when the request was refused
/// before its body was read or authenticated.
pub fn record(path: &str, request: Option<&[u8]>, response: &[u8]) {
    if let Some(log) = exchange_log() {
        append(log, EXCHANGE_LOG_MAX_BYTES, path, request, response);
    }
}

/// Appends one exchange line unless the file would then hold more than `max_bytes`.
fn append(log: &Mutex<File>, max_bytes: u64, path: &str, request: Option<&[u8]>, response: &[u8]) {
    let exchange = serde_json::json!({
        "path": path,
        "request": body_value(request),
        "response": body_value(Some(response)),
    });
    let mut line = exchange.to_string();
    line.push('\n');
    let Ok(mut file) = log.lock() else {
        return;
    };
    let size = file.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
    if size.saturating_add(line.len() as u64) > max_bytes {
        return;
    }
    // One write per line: with O_APPEND, lines of several processes do not interleave.
    if let Err(e) = file.write_all(line.as_bytes()) {
        tracing::warn!(error = %e, "recording an exchange failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(path: &std::path::Path) -> Vec<Value> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn an_exchange_is_one_line_of_bodies_and_recording_stops_at_the_bound() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.jsonl");
        let file = OpenOptions::new().create(true).append(true).open(&path).unwrap();
        let log = Mutex::new(file);
        append(
            &log,
            400,
            "/api/v2/payments/pay",
            Some(br#"{"a":1}"#),
            br#"{"result":{}}"#,
        );
        append(&log, 400, "/api/v2/payments/pay", None, b"{}");
        append(&log, 400, "/api/v2/payments/pay", Some(b"{not json"), b"{}");
        let got = lines(&path);
        assert_eq!(
            got,
            [
                serde_json::json!({"path": "/api/v2/payments/pay", "request": {"a": 1}, "response": {"result": {}}}),
                serde_json::json!({"path": "/api/v2/payments/pay", "request": null, "response": {}}),
                serde_json::json!({"path": "/api/v2/payments/pay", "request": "{not json", "response": {}}),
            ]
        );
        // A line that would pass the bound is not written; the file never grows past it.
        let size = std::fs::metadata(&path).unwrap().len();
        let big = format!("\"{}\"", "x".repeat(400));
        append(&log, 400, "/p", Some(big.as_bytes()), b"{}");
        assert_eq!(
            std::fs::metadata(&path).unwrap().len(),
            size,
            "the long line was left out"
        );
        for _ in 0..20 {
            append(&log, 400, "/p", None, b"{}");
        }
        let len = std::fs::metadata(&path).unwrap().len();
        assert!(len <= 400 && len > size, "filled up to the bound: {len}");
        assert!(lines(&path)
            .iter()
            .all(|x| x["path"] != "/p" || x["request"].is_null()));
    }
}
