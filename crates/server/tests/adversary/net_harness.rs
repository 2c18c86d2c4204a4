//! The shared test walletd for the network-edge attacks: a server on port 0 (and optionally
//! AlphaPay's own listener) with a Mini Program client, an AlphaPay merchant and a store key,
//! plus raw-socket helpers to speak HTTP byte by byte.

use std::net::{IpAddr, SocketAddr};
use std::ops::Deref;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use walletd_client::{AlphaPayClient, MiniProgramClient, StoreClient};
use walletd_core::parties::{Client, User};
use walletd_core::store::{NewStoreKey, StoreConfig, StoreKeyMode};
use walletd_core::Wallet;
use walletd_protocol::crypto::{Algorithm, PrivateKey};
use walletd_protocol::{content, time, Amount, Currency};
use walletd_server::Config;

pub const CLIENT_ID: &str = "net-merchant";
pub const OTHER_CLIENT_ID: &str = "net-other";
pub const APP_ID: &str = "app-net";
pub const AP_MERCHANT: &str = "NETAP1";
pub const STORE_CLIENT_ID: &str = "net-store";
pub const PAYER: &str = "alice";

pub fn merchant_key() -> &'static PrivateKey {
    walletd_testkit::shared_key(0)
}

/// The shared test walletd (`walletd_testkit::TestApp`) with this binary's clients.
pub struct NetApp {
    app: walletd_testkit::TestApp,
    /// Mini Program client `net-merchant`.
    pub mp: MiniProgramClient,
    /// Mini Program client `net-other`.
    pub other: MiniProgramClient,
    /// AlphaPay merchant `NETAP1` on the main listener.
    pub ap: AlphaPayClient,
    pub store: StoreClient,
}

impl Deref for NetApp {
    type Target = walletd_testkit::TestApp;

    fn deref(&self) -> &walletd_testkit::TestApp {
        &self.app
    }
}

impl NetApp {
    /// Asks the server to stop and returns its task, which ends when the server has stopped.
    pub fn stop(&mut self) -> tokio::task::JoinHandle<anyhow::Result<()>> {
        self.app.stop_server()
    }

    /// A Mini Program client of `client_id` (registered with the shared key).
    pub fn mp_client(&self, client_id: &str) -> MiniProgramClient {
        self.app.mini_program(client_id, merchant_key())
    }

    /// Registers another Mini Program client with the shared key.
    pub async fn add_mp_client(&self, client_id: &str) -> MiniProgramClient {
        let now = self.wallet.now();
        let mut c = Client::new(client_id, client_id, now);
        c.partner_id = format!("P-{client_id}");
        c.app_ids = vec![APP_ID.into()];
        c.add_key("RSA256", &merchant_key().public_key().to_spki_pem(), now);
        self.wallet.add_client(c).await.expect("client");
        self.mp_client(client_id)
    }

    /// Raw bytes of a signed Mini Program request to `path` with `body`.
    pub fn signed_mp_request(&self, path: &str, body: &[u8]) -> Vec<u8> {
        let request_time = time::format_response_time(chrono::Utc::now().fixed_offset());
        let signed = content::mini_program("POST", path, CLIENT_ID, &request_time, body);
        let raw = merchant_key().sign(&signed).expect("sign");
        let signature = walletd_protocol::signature::format_header(Algorithm::Rsa256, 1, &raw);
        let mut out = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json; charset=UTF-8\r\n\
             Client-Id: {CLIENT_ID}\r\nRequest-Time: {request_time}\r\nSignature: {signature}\r\n\
             Content-Length: {}\r\n\r\n",
            self.addr,
            body.len()
        )
        .into_bytes();
        out.extend_from_slice(body);
        out
    }

    /// Creates a v2 cashier payment of `client` that notifies `notify_url` and lets alice pay it;
    /// returns the payment id.
    pub async fn paid_payment(&self, client: &MiniProgramClient, notify_url: &str) -> String {
        let request_id = format!("net-{}", self.wallet.ids().random_hex(8));
        let body = serde_json::json!({
            "appId": APP_ID,
            "productCode": "CASHIER_PAYMENT",
            "paymentRequestId": request_id,
            "paymentAmount": {"currency": "USD", "value": "100"},
            "order": {"referenceOrderId": request_id, "orderDescription": "Tea"},
            "paymentNotifyUrl": notify_url,
        });
        let answer = client
            .send(
                "v2/payments/pay",
                body.to_string().into_bytes(),
                &Default::default(),
            )
            .await
            .expect("pay answer");
        assert_eq!(answer.result.result_code, "ACCEPT", "{:?}", answer.result);
        let v: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
        let id = v["paymentId"].as_str().expect("paymentId").to_owned();
        self.wallet.confirm_payment(&id, PAYER).await.expect("confirm");
        id
    }
}

/// A walletd whose configuration `configure` adjusts (loopback notify targets are allowed unless
/// it says otherwise).
pub async fn spawn(configure: impl FnOnce(&mut Config)) -> NetApp {
    let opened = walletd_testkit::TestApp::builder()
        .configure(|config| {
            config.sweep_interval_ms = 50;
            config.notifier.poll_interval_ms = 50;
            config.notifier.allow_private_targets = true;
            config.notifier.retry_gaps_ms = vec![];
        })
        .configure(configure)
        .open();
    let store_key = seed(&opened.wallet).await;
    let app = opened.start().await;
    NetApp {
        mp: app.mini_program(CLIENT_ID, merchant_key()),
        other: app.mini_program(OTHER_CLIENT_ID, merchant_key()),
        ap: app.alphapay(AP_MERCHANT, merchant_key()),
        store: StoreClient::new(&app.base_url, &store_key.0, &store_key.1),
        app,
    }
}

/// Registers the parties; returns the store key (id, secret).
async fn seed(wallet: &Wallet) -> (String, String) {
    let now = wallet.now();
    for id in [CLIENT_ID, OTHER_CLIENT_ID, AP_MERCHANT, STORE_CLIENT_ID] {
        let mut c = Client::new(id, id, now);
        c.partner_id = format!("P-{id}");
        c.app_ids = vec![APP_ID.into()];
        c.add_key("RSA256", &merchant_key().public_key().to_spki_pem(), now);
        wallet.add_client(c).await.expect("client");
    }
    let usd = Currency::from_code("USD").unwrap();
    let cad = Currency::from_code("CAD").unwrap();
    wallet
        .add_user(User::new(PAYER, "+15550000001", PAYER, now))
        .await
        .expect("user");
    for c in [usd, cad] {
        wallet
            .top_up(PAYER, Amount::from_minor(c, 10_000_000).unwrap())
            .await
            .expect("top up");
    }
    wallet
        .store_set_config(StoreConfig {
            client_id: STORE_CLIENT_ID.into(),
            currency: usd,
            min_purchase_minor: 0,
            gateway_url: None,
            support_email: None,
            updated_at: now,
        })
        .await
        .expect("store config");
    let key = wallet
        .store_add_key(NewStoreKey {
            client_id: STORE_CLIENT_ID.into(),
            mode: StoreKeyMode::Hmac,
            expiration_secs: 300,
            sections: vec!["store".into()],
        })
        .await
        .expect("store key");
    (key.key_id, key.secret)
}

/// A TCP connection to `to` from the loopback address `from` (any of 127.0.0.0/8 on Linux), so a
/// test can be several client addresses at once.
pub async fn connect_from(from: IpAddr, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket.bind(SocketAddr::new(from, 0)).expect("bind");
    socket.connect(to).await.expect("connect")
}

/// Reads until the server closes the connection (or `within` passes: then `None`). Returns what
/// was read.
pub async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let read = tokio::time::timeout(within, async {
        let mut buf = [0u8; 8192];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    read.ok().map(|_| out)
}

/// Sends one raw request and reads one whole answer (head and `Content-Length` body).
pub async fn exchange_raw(stream: &mut TcpStream, request: &[u8], within: Duration) -> Vec<u8> {
    stream.write_all(request).await.expect("write");
    tokio::time::timeout(within, read_one_answer(stream))
        .await
        .expect("an answer in time")
}

async fn read_one_answer(stream: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        if let Some(head_end) = find(&out, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&out[..head_end]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if out.len() >= head_end + 4 + len {
                return out;
            }
        }
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
}

pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `GET /healthz` on a fresh connection from `from`; true if it answered `ok`.
pub async fn healthz_from(from: IpAddr, to: SocketAddr) -> bool {
    let Ok(Ok(mut s)) = tokio::time::timeout(Duration::from_secs(5), async {
        let socket = TcpSocket::new_v4()?;
        socket.bind(SocketAddr::new(from, 0))?;
        socket.connect(to).await
    })
    .await
    else {
        return false;
    };
    if s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .is_err()
    {
        return false;
    }
    let answer = read_until_closed(&mut s, Duration::from_secs(10))
        .await
        .unwrap_or_default();
    answer.starts_with(b"HTTP/1.1 200") && answer.ends_with(b"ok")
}

/// Polls `check` every 50 ms until it is true or `within` passes.
pub async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
