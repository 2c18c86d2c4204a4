//! AlphaPay requests as its Java SDK sends them: each field of the signed content can be changed
//! before signing, the request goes out byte for byte (no header an HTTP library would add), and
//! the answer's signature is checked with the wallet's key.

use http::HeaderMap;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use walletd_protocol::crypto::PrivateKey;
use walletd_protocol::signature::{format_header_alphapay, SignatureHeader};
use walletd_protocol::{content, time};

/// A fresh 32-hex-digit nonce.
pub fn fresh_nonce() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// Sends `req`'s body to its path on `base_url` with exactly `headers` (and `Host`,
/// `Content-Length`, `Connection` only: an HTTP client library would add an `Accept` of its own).
pub async fn send_raw(base_url: &str, req: &ApRequest, headers: Vec<(String, String)>) -> ApAnswer {
    let addr = base_url.trim_start_matches("http://").to_owned();
    let mut raw = format!(
        "POST {} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n",
        req.path,
        req.body.len()
    );
    for (name, value) in headers {
        raw.push_str(&format!("{name}: {value}\r\n"));
    }
    raw.push_str("\r\n");
    raw.push_str(&req.body);
    let mut stream = tokio::net::TcpStream::connect(&addr).await.expect("connect");
    stream.write_all(raw.as_bytes()).await.expect("write");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("read");
    ApAnswer::parse(&answer)
}

/// A request before it is sent: change any field, then take its signed headers.
#[derive(Clone)]
pub struct ApRequest {
    pub path: String,
    pub merchant_code: String,
    pub key: PrivateKey,
    pub key_version: u32,
    pub request_time: String,
    pub nonce: String,
    pub body: String,
}

impl ApRequest {
    /// The headers AlphaPay's Java SDK sends, signed over this request's fields.
    pub fn signed_headers(&self) -> Vec<(String, String)> {
        let signed = content::alphapay(
            "POST",
            &self.path,
            &self.merchant_code,
            &self.request_time,
            &self.nonce,
            self.body.as_bytes(),
        );
        let raw = self.key.sign(&signed).expect("sign");
        [
            ("Content-Type", "application/json; charset=UTF-8".to_owned()),
            ("Accept", "application/json".to_owned()),
            ("Merchant-Code", self.merchant_code.clone()),
            ("Request-Time", self.request_time.clone()),
            ("Nonce", self.nonce.clone()),
            ("Signature", format_header_alphapay(self.key_version, &raw)),
        ]
        .into_iter()
        .map(|(n, v)| (n.to_owned(), v))
        .collect()
    }
}

/// What came back.
#[derive(Debug)]
pub struct ApAnswer {
    pub http_status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub json: serde_json::Value,
}

impl ApAnswer {
    /// Reads an HTTP/1.1 answer with a `Content-Length` body.
    pub fn parse(raw: &[u8]) -> ApAnswer {
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("end of the answer's head");
        let head = std::str::from_utf8(&raw[..split]).expect("ASCII head");
        let mut lines = head.split("\r\n");
        let status_line = lines.next().expect("status line");
        let http_status: u16 = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status code");
        let mut headers = HeaderMap::new();
        for line in lines {
            let (name, value) = line.split_once(':').expect("header line");
            headers.append(
                http::HeaderName::from_bytes(name.trim().as_bytes()).expect("header name"),
                http::HeaderValue::from_str(value.trim()).expect("header value"),
            );
        }
        let body = raw[split + 4..].to_vec();
        let json = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
        ApAnswer {
            http_status,
            headers,
            body,
            json,
        }
    }

    pub fn code(&self) -> &str {
        self.json["result"]["resultCode"].as_str().unwrap_or("<none>")
    }

    pub fn status(&self) -> &str {
        self.json["result"]["resultStatus"].as_str().unwrap_or("<none>")
    }

    pub fn message(&self) -> &str {
        self.json["result"]["resultMessage"].as_str().unwrap_or("")
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("answer has no {name} header: {:?}", self.headers))
    }

    /// HTTP 200, JSON, and a signature that verifies with the wallet's public key over
    /// `POST <path>\n<Merchant-Code>.<Response-Time>.<Nonce>.<body>`, with a fresh 32-hex nonce.
    pub fn assert_signed(&self, app: &crate::TestApp, path: &str, merchant_code: &str) {
        assert_eq!(self.http_status, 200, "{:?}", self.json);
        assert!(self.header("Content-Type").starts_with("application/json"));
        assert_eq!(self.header("Merchant-Code"), merchant_code);
        let nonce = self.header("Nonce");
        assert!(
            nonce.len() == 32
                && nonce
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
            "nonce {nonce:?}"
        );
        let response_time = self.header("Response-Time");
        time::parse_request_time(response_time).expect("Response-Time is ISO 8601");
        let signature = self.header("Signature");
        assert!(
            signature.starts_with("algorithm=RS256,keyVersion=1,signature="),
            "{signature}"
        );
        let sig = SignatureHeader::parse(signature).expect("signature header");
        let signed = content::alphapay("POST", path, merchant_code, response_time, nonce, &self.body);
        app.wallet_public_key
            .verify(&signed, &sig.signature)
            .expect("the answer's signature verifies");
    }
}
