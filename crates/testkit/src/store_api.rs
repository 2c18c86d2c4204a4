//! The store API (`api.php`), as its PHP clients speak it: a [`StoreCredential`] (key id,
//! secret, mode) signs `salt . timestamp`; a [`StoreCall`] holds the GET vars (`go`, `do`, `iq`),
//! the POST vars and how they travel (url-encoded or multipart, GET or POST); [`StoreApi`] adds
//! `timestamp`, `salt`, `key`, `signature` and returns the decoded JSON answer.

use chrono::{DateTime, Utc};
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use walletd_core::store::{StoreKey, StoreKeyMode};
use walletd_protocol::store_signature::{store_sign, StoreSignatureMode};

/// What signs a request: a store key's id, secret and mode.
#[derive(Debug, Clone)]
pub struct StoreCredential {
    pub key_id: String,
    pub secret: String,
    pub mode: StoreSignatureMode,
}

impl From<&StoreKey> for StoreCredential {
    fn from(k: &StoreKey) -> Self {
        StoreCredential {
            key_id: k.key_id.clone(),
            secret: k.secret.clone(),
            mode: match k.mode {
                StoreKeyMode::Hmac => StoreSignatureMode::Hmac,
                StoreKeyMode::Md5 => StoreSignatureMode::Md5,
            },
        }
    }
}

/// How the POST vars travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    UrlEncoded,
    /// What PHP's curl sends for an array of POST fields.
    Multipart,
}

/// One request of the dialect, before signing.
#[derive(Debug, Clone)]
pub struct StoreCall {
    pub method: reqwest::Method,
    /// GET vars: `go`, `do`, `iq`, or anything a test wants to send (in order).
    pub get_vars: Vec<(String, String)>,
    pub post_vars: Vec<(String, String)>,
    pub body: BodyKind,
}

impl StoreCall {
    /// `go=store&do=ACTION` (and `iq` when given), POST, url-encoded.
    pub fn new(action: &str, iq: Option<&str>) -> Self {
        let mut get_vars = vec![
            ("go".to_owned(), "store".to_owned()),
            ("do".to_owned(), action.to_owned()),
        ];
        if let Some(iq) = iq {
            get_vars.push(("iq".to_owned(), iq.to_owned()));
        }
        StoreCall {
            method: reqwest::Method::POST,
            get_vars,
            post_vars: Vec::new(),
            body: BodyKind::UrlEncoded,
        }
    }

    pub fn field(mut self, name: &str, value: &str) -> Self {
        self.post_vars.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn multipart(mut self) -> Self {
        self.body = BodyKind::Multipart;
        self
    }

    pub fn method(mut self, m: reqwest::Method) -> Self {
        self.method = m;
        self
    }

    /// Replaces (or adds) one GET var.
    pub fn get_var(mut self, name: &str, value: &str) -> Self {
        self.get_vars.retain(|(n, _)| n != name);
        self.get_vars.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn without_get_var(mut self, name: &str) -> Self {
        self.get_vars.retain(|(n, _)| n != name);
        self
    }
}

/// The signing GET vars of one request; tests change or drop them to provoke errors.
#[derive(Debug, Clone)]
pub struct Signing {
    pub key: Option<String>,
    pub timestamp: Option<String>,
    pub salt: Option<String>,
    pub signature: Option<String>,
}

/// Signs and sends store API calls to one walletd; every salt it makes is new.
pub struct StoreApi {
    pub base_url: String,
    pub http: reqwest::Client,
    salt_counter: AtomicU64,
}

impl StoreApi {
    pub fn new(base_url: &str) -> StoreApi {
        StoreApi {
            base_url: base_url.to_owned(),
            http: reqwest::Client::new(),
            salt_counter: AtomicU64::new(1),
        }
    }

    /// A salt never used before in this test (32 hex digits, like `md5(mt_rand())`).
    pub fn fresh_salt(&self) -> String {
        let n = self.salt_counter.fetch_add(1, Ordering::SeqCst);
        format!("{:032x}", 0x5a17_0000_0000_0000_u64.wrapping_add(n))
    }

    /// Correct signing vars for `cred` at `now` (the wallet's time).
    pub fn signing(&self, cred: &StoreCredential, now: DateTime<Utc>) -> Signing {
        let timestamp = now.timestamp().to_string();
        let salt = self.fresh_salt();
        let signature = store_sign(cred.mode, &cred.secret, &salt, &timestamp);
        Signing {
            key: Some(cred.key_id.clone()),
            timestamp: Some(timestamp),
            salt: Some(salt),
            signature: Some(signature),
        }
    }

    /// Sends `call` signed with `cred` at `now`; asserts HTTP 200 and a JSON body.
    pub async fn call(&self, cred: &StoreCredential, now: DateTime<Utc>, call: StoreCall) -> Value {
        let signing = self.signing(cred, now);
        self.send(call, &signing).await
    }

    /// Sends `call` with exactly these signing vars; asserts HTTP 200 and a JSON body.
    pub async fn send(&self, call: StoreCall, signing: &Signing) -> Value {
        let mut query = call.get_vars.clone();
        for (name, value) in [
            ("timestamp", &signing.timestamp),
            ("salt", &signing.salt),
            ("key", &signing.key),
            ("signature", &signing.signature),
        ] {
            if let Some(v) = value {
                query.push((name.to_owned(), v.clone()));
            }
        }
        let url = format!("{}/api.php?{}", self.base_url, encode(&query));
        self.send_to(&url, call).await
    }

    /// Sends `call` to a URL the test built itself (e.g. with an unencoded `+`).
    pub async fn send_to(&self, url: &str, call: StoreCall) -> Value {
        let mut req = self.http.request(call.method.clone(), url);
        if call.method == reqwest::Method::POST || !call.post_vars.is_empty() {
            req = match call.body {
                BodyKind::UrlEncoded => req
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(encode(&call.post_vars)),
                BodyKind::Multipart => {
                    let boundary = "------------------------d74496d66958873e";
                    req.header(
                        "content-type",
                        format!("multipart/form-data; boundary={boundary}"),
                    )
                    .body(multipart_body(boundary, &call.post_vars))
                }
            };
        }
        let resp = req.send().await.expect("HTTP answer");
        assert_eq!(
            resp.status().as_u16(),
            200,
            "every answer of the dialect is HTTP 200"
        );
        let ct = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        assert!(ct.starts_with("application/json"), "content type {ct}");
        let text = resp.text().await.expect("body");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("answer is not JSON ({e}): {text}"))
    }
}

pub fn assert_error(answer: &Value, code: &str, long: &str) {
    assert_eq!(
        answer,
        &serde_json::json!({ "error": code, "error_long": long }),
        "expected {code} / {long}"
    );
}

/// `application/x-www-form-urlencoded` as PHP's `http_build_query` writes it.
pub fn encode(pairs: &[(String, String)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

fn multipart_body(boundary: &str, fields: &[(String, String)]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        body.extend_from_slice(format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes());
        body.extend_from_slice(value.as_bytes());
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    body
}
