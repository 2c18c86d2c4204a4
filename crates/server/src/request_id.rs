//! A request id for every HTTP request: every log line written while serving it carries the id (a
//! `request` span), and the answer returns it in `x-request-id`, so an operator can find the lines
//! of the request a merchant or user reports.
//!
//! The id is always ours: a caller's `X-Request-Id` is not trusted (it could be reused to blur the
//! log, or be long). The header is not part of any signed content, so adding it changes no
//! signature.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use rand::Rng as _;
use tracing::Instrument as _;

/// The response header that carries the id.
pub const HEADER: &str = "x-request-id";

/// A fresh id: 16 random bytes in lower-case hex.
fn new_id() -> String {
    format!("{:032x}", rand::thread_rng().gen::<u128>())
}

/// Middleware: runs the request inside a span carrying its id, and returns the id.
pub async fn layer(request: Request, next: Next) -> Response {
    let id = new_id();
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        path = %request.uri().path(),
    );
    let mut response = next.run(request).instrument(span).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(HEADER, value);
    }
    response
}
