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
    let Some(log) = exchange_log() else {
        return;
    };
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
    if size.saturating_add(line.len() as u64) > EXCHANGE_LOG_MAX_BYTES {
        return;
    }
    // One write per line: with O_APPEND, lines of several processes do not interleave.
    if let Err(e) = file.write_all(line.as_bytes()) {
        tracing::warn!(error = %e, "recording an exchange failed");
    }
}
