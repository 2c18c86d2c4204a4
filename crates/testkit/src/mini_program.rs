//! Signed Mini Program calls through the merchant SDK, whose answers it verifies.

use serde_json::Value;
use walletd_client::{MiniProgramClient, RequestOptions};

/// Sends `body` to `api` as `client` with `options`; panics unless the answer is HTTP 200 with a
/// signature that verifies. Returns the answer's JSON.
pub async fn send(client: &MiniProgramClient, api: &str, body: Vec<u8>, options: &RequestOptions) -> Value {
    let answer = client
        .send(api, body, options)
        .await
        .unwrap_or_else(|e| panic!("{api}: no verified answer: {e}"));
    assert_eq!(answer.status, 200, "{api}");
    serde_json::from_slice(&answer.body).expect("answer json")
}

/// A signed call of `api` with a JSON body as `client`; the verified answer's JSON.
pub async fn call(client: &MiniProgramClient, api: &str, body: &Value) -> Value {
    let bytes = serde_json::to_vec(body).expect("json");
    send(client, api, bytes, &RequestOptions::default()).await
}

/// The answer's `result.resultCode` (empty when absent).
pub fn result_code(v: &Value) -> &str {
    v["result"]["resultCode"].as_str().unwrap_or("")
}

/// The answer's `result.resultStatus` (empty when absent).
pub fn result_status(v: &Value) -> &str {
    v["result"]["resultStatus"].as_str().unwrap_or("")
}

/// The answer's `result.resultMessage` (empty when absent).
pub fn result_message(v: &Value) -> &str {
    v["result"]["resultMessage"].as_str().unwrap_or("")
}
