//! `spawn_app()` for the AlphaPay dialect: a real walletd on port 0 with a fresh data directory, a
//! manual clock, two registered merchants, a funded user, and a fake merchant endpoint that
//! records the notifications it receives. Requests are signed here with the protocol crate.

use axum::http::HeaderMap;
use base64::Engine as _;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use walletd_core::clock::{ManualClock, RandomIds};
use walletd_core::parties::{Client, User};
use walletd_core::Wallet;
use walletd_protocol::crypto::{Algorithm, PrivateKey, PublicKey};
use walletd_protocol::signature::{format_header_alphapay, SignatureHeader};
use walletd_protocol::{content, time, Amount, Currency};
use walletd_server::{AppState, Application, Config};

pub const MERCHANT: &str = "CXVJIU";
pub const OTHER_MERCHANT: &str = "OTHR01";
pub const PAYER: &str = "alice";

pub fn merchant_key() -> &'static PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| PrivateKey::generate(Algorithm::Rsa256).expect("key"))
}

pub fn other_key() -> &'static PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| PrivateKey::generate(Algorithm::Rsa256).expect("key"))
}

pub fn cad(minor: i64) -> Amount {
    Amount::from_minor(Currency::from_code("CAD").unwrap(), minor).unwrap()
}

pub fn fresh_nonce() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// A notification the fake merchant received.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

pub struct TestApp {
    pub base_url: String,
    pub state: AppState,
    pub wallet: Wallet,
    pub clock: Arc<ManualClock>,
    pub wallet_public_key: PublicKey,
    pub data_dir: TempDir,
    /// Where the fake merchant listens, e.g. `http://127.0.0.1:PORT`.
    pub merchant_base_url: String,
    pub received: Arc<Mutex<Vec<Received>>>,
    pub http: reqwest::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
    }
}

impl TestApp {
    /// Stops the server, waits for it, and hands back its data directory.
    pub async fn stop(mut self) -> TempDir {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
        if let Some(h) = self.server.take() {
            let _ = h.await;
        }
        std::mem::replace(&mut self.data_dir, tempfile::tempdir().expect("tempdir"))
    }

    /// A request to `<prefix>/v2.0/<endpoint>` from [`MERCHANT`], signed now with a fresh nonce.
    pub fn request(&self, endpoint: &str, body: impl Into<String>) -> ApRequest {
        ApRequest {
            path: format!("/api/v2.0/{endpoint}"),
            merchant_code: MERCHANT.into(),
            key: merchant_key().clone(),
            key_version: 1,
            request_time: time::format_response_time(self.wallet.now().fixed_offset()),
            nonce: fresh_nonce(),
            body: body.into(),
        }
    }

    /// Sends `req` with its signed headers.
    pub async fn send(&self, req: &ApRequest) -> ApAnswer {
        self.send_with_headers(req, req.signed_headers()).await
    }

    /// Sends `req`'s body to its path with exactly `headers` (and `Host`, `Content-Length`,
    /// `Connection` only: an HTTP client library would add an `Accept` of its own).
    pub async fn send_with_headers(&self, req: &ApRequest, headers: Vec<(String, String)>) -> ApAnswer {
        let addr = self.base_url.trim_start_matches("http://").to_owned();
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

    /// Sends and checks the answer's signature, returning its JSON.
    pub async fn call(&self, endpoint: &str, body: impl Into<String>) -> serde_json::Value {
        let req = self.request(endpoint, body);
        let answer = self.send(&req).await;
        answer.assert_signed(self, &req.path, MERCHANT);
        answer.json
    }

    /// Waits (bounded) until the fake merchant has received `n` notifications.
    pub async fn wait_for_notifications(&self, n: usize) -> Vec<Received> {
        for _ in 0..200 {
            {
                let got = self.received.lock().unwrap();
                if got.len() >= n {
                    return got.clone();
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "expected {n} notifications, got {:?}",
            self.received.lock().unwrap()
        );
    }

    pub async fn payment_count(&self) -> usize {
        self.wallet.list_payments(None, 1000).await.unwrap().len()
    }
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
    fn parse(raw: &[u8]) -> ApAnswer {
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
                axum::http::HeaderName::from_bytes(name.trim().as_bytes()).expect("header name"),
                axum::http::HeaderValue::from_str(value.trim()).expect("header value"),
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
    pub fn assert_signed(&self, app: &TestApp, path: &str, merchant_code: &str) {
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

/// A decoded `paymentQRImage`: the text of the QR code in it.
pub fn decode_qr_image(data_uri: &str) -> String {
    let b64 = data_uri
        .strip_prefix("data:image/png;base64,")
        .expect("a PNG data URI");
    let png = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("base64");
    let img = image::load_from_memory_with_format(&png, image::ImageFormat::Png)
        .expect("a PNG")
        .to_luma8();
    let (w, h) = img.dimensions();
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(w as usize, h as usize, |x, y| {
        img.get_pixel(x as u32, y as u32).0[0]
    });
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the image");
    let (_meta, text) = grids[0].decode().expect("the QR code decodes");
    text
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Spawns walletd with a configuration changed by `configure`.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Config)) -> TestApp {
    let data_dir = tempfile::tempdir().expect("tempdir");
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    spawn_on(data_dir, clock, true, configure).await
}

/// Spawns walletd on an existing data directory (`seed` only the first time).
pub async fn spawn_on(
    data_dir: TempDir,
    clock: Arc<ManualClock>,
    seed_parties: bool,
    configure: impl FnOnce(&mut Config),
) -> TestApp {
    let (merchant_base_url, received) = spawn_fake_merchant().await;
    let mut config = Config {
        listen: "127.0.0.1:0".into(),
        data_dir: data_dir.path().to_path_buf(),
        ..Config::default()
    };
    config.sweep_interval_ms = 50;
    // Fake merchants listen on loopback.
    config.notifier.allow_private_targets = true;
    config.notifier.poll_interval_ms = 50;
    configure(&mut config);
    let wallet =
        walletd_server::open_wallet(&config, clock.clone(), Arc::new(RandomIds::default())).expect("wallet");
    if seed_parties {
        seed(&wallet).await;
    }
    let app = Application::build_with_wallet(config, wallet.clone())
        .await
        .expect("build");
    let base_url = format!("http://127.0.0.1:{}", app.local_addr().port());
    let state = app.state().clone();
    let wallet_public_key = state.wallet_key.public_key();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        app.run_until_stopped(async {
            let _ = rx.await;
        })
        .await
        .expect("server");
    });
    TestApp {
        base_url,
        state,
        wallet,
        clock,
        wallet_public_key,
        data_dir,
        merchant_base_url,
        received,
        http: reqwest::Client::new(),
        shutdown: Some(tx),
        server: Some(server),
    }
}

async fn seed(wallet: &Wallet) {
    let now = wallet.now();
    for (code, key) in [(MERCHANT, merchant_key()), (OTHER_MERCHANT, other_key())] {
        let mut c = Client::new(code, "Maple Tea House", now);
        c.add_key("RSA256", &key.public_key().to_spki_base64(), now);
        wallet.add_client(c).await.expect("client");
    }
    wallet
        .add_user(User::new(PAYER, "+15550000001", "Alice", now))
        .await
        .expect("user");
    wallet.top_up(PAYER, cad(1_000_000)).await.expect("top up");
}

/// A merchant's notification endpoint on 127.0.0.1 that records every POST and acknowledges it.
async fn spawn_fake_merchant() -> (String, Arc<Mutex<Vec<Received>>>) {
    let received: Arc<Mutex<Vec<Received>>> = Arc::default();
    let sink = received.clone();
    let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
        let sink = sink.clone();
        async move {
            let (parts, body) = req.into_parts();
            let body = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
            sink.lock().unwrap().push(Received {
                path: parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str().to_owned())
                    .unwrap_or_default(),
                headers: parts.headers,
                body: body.to_vec(),
            });
            r#"{"result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success"}}"#
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), received)
}

/// The body of a pay request.
pub fn pay_body(request_id: &str, value: &str, notify_url: Option<&str>) -> String {
    let notify = notify_url.map_or(String::new(), |u| format!(r#","notifyUrl":"{u}""#));
    format!(
        r#"{{"scenarioCode":"ONLINE_QRCODE","paymentRequestId":"{request_id}","order":{{"orderAmount":{{"value":"{value}","currency":"CAD"}},"description":"Two cups of tea","redirectUrl":"https://shop.example/done"{notify}}},"paymentMethod":{{"paymentMethodType":"Alipay"}}}}"#
    )
}

/// Pays `value` minor units as [`MERCHANT`] and returns the payment id.
pub async fn create_payment(app: &TestApp, request_id: &str, value: &str) -> String {
    let v = app.call("payments/pay", pay_body(request_id, value, None)).await;
    assert_eq!(v["result"]["resultCode"], "PAYMENT_IN_PROCESS", "{v}");
    v["paymentId"].as_str().expect("paymentId").to_owned()
}

/// The payer approves (what the cashier's Pay button does).
pub async fn confirm(app: &TestApp, payment_id: &str) {
    let outcome = app
        .wallet
        .confirm_payment(payment_id, PAYER)
        .await
        .expect("confirm");
    let p = walletd_core::wallet::approval_payment(&outcome);
    assert_eq!(p.status.as_str(), "SUCCESS", "{outcome:?}");
}

pub async fn inquiry_status(app: &TestApp, payment_id: &str) -> String {
    let v = app
        .call(
            "payments/inquiryPayment",
            format!(r#"{{"paymentId":"{payment_id}"}}"#),
        )
        .await;
    assert_eq!(v["result"]["resultCode"], "SUCCESS", "{v}");
    v["paymentStatus"].as_str().expect("paymentStatus").to_owned()
}

pub async fn assert_books_sound(wallet: &Wallet) {
    let report = wallet.verify().await.expect("verify");
    assert!(report.is_sound(), "books broken: {:?}", report.problems);
}
