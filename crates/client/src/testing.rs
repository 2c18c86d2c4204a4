//! Answers and notifications signed the way a wallet signs them, for a merchant's offline tests.
//!
//! With a key pair standing in for the wallet's, code built on this SDK can be exercised without
//! a network: sign a canned answer with [`sign_answer`] and hand it to
//! [`MiniProgramClient::verify_answer`](crate::MiniProgramClient::verify_answer), or sign a
//! canned notification with [`sign_notification`] and hand it to your notification endpoint. The
//! real wallet's private key is never needed (nor available) for this.

use http::{HeaderMap, HeaderValue};
use walletd_protocol::crypto::PrivateKey;
use walletd_protocol::signature::format_header;
use walletd_protocol::{content, time};

use crate::ClientError;

/// The headers a wallet sends with an answer of `body` to a request for `path` from
/// `client_id`: `content-type`, `client-id`, `response-time` (now) and `signature`.
pub fn sign_answer(
    wallet_key: &PrivateKey,
    client_id: &str,
    path: &str,
    body: &[u8],
) -> Result<HeaderMap, ClientError> {
    signed_headers(wallet_key, client_id, path, body, "response-time")
}

/// The headers a wallet sends with a notification of `body` POSTed to `path` for `client_id`:
/// `content-type`, `client-id`, `request-time` (now) and `signature`.
pub fn sign_notification(
    wallet_key: &PrivateKey,
    client_id: &str,
    path: &str,
    body: &[u8],
) -> Result<HeaderMap, ClientError> {
    signed_headers(wallet_key, client_id, path, body, "request-time")
}

fn signed_headers(
    wallet_key: &PrivateKey,
    client_id: &str,
    path: &str,
    body: &[u8],
    time_header: &'static str,
) -> Result<HeaderMap, ClientError> {
    let now = time::format_response_time(chrono::Utc::now().fixed_offset());
    let signed = content::mini_program("POST", path, client_id, &now, body);
    let raw = wallet_key
        .sign(&signed)
        .map_err(|e| ClientError::Local(e.to_string()))?;
    let signature = format_header(wallet_key.algorithm(), 1, &raw);
    let value =
        |v: &str| HeaderValue::from_str(v).map_err(|e| ClientError::Local(format!("header value: {e}")));
    let mut headers = HeaderMap::new();
    headers.insert(
        "content-type",
        HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    headers.insert("client-id", value(client_id)?);
    headers.insert(time_header, value(&now)?);
    headers.insert("signature", value(&signature)?);
    Ok(headers)
}
