//! Request builders and a small HTTP proxy that loses or alters traffic on purpose.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use walletd_client::{MiniProgramClient, RetryPolicy};
use walletd_protocol::amount::WireAmount;
use walletd_protocol::crypto::{Algorithm, PrivateKey};
use walletd_protocol::miniprogram::{PayRequestV1, PayRequestV2};

use crate::doc_wallet::{merchant_key, DocWallet, APP_ID, CLIENT_ID, PARTNER_ID};

pub fn usd(value: &str) -> WireAmount {
    WireAmount {
        currency: "USD".into(),
        value: value.into(),
    }
}

pub fn pay_v2(request_id: &str, value: &str) -> PayRequestV2 {
    PayRequestV2::new(APP_ID, request_id, usd(value))
}

/// A v2 pay whose payer is named up front (the funds are held at once).
pub fn pay_v2_by_alice(request_id: &str, value: &str) -> PayRequestV2 {
    pay_v2(request_id, value).with_payer("alice")
}

pub fn pay_v1(request_id: &str, value: &str) -> PayRequestV1 {
    PayRequestV1::new(PARTNER_ID, request_id, usd(value), "Two cups of tea")
}

/// Fast polling for tests: 20 ms apart, 400 ms in all; three sends 10 ms apart; 500 ms timeout.
pub fn quick_policy() -> RetryPolicy {
    RetryPolicy {
        send_attempts: 3,
        send_backoff: Duration::from_millis(10),
        poll_interval: Duration::from_millis(20),
        poll_budget: Duration::from_millis(400),
    }
}

/// The merchant's client for `base_url` (the wallet or a proxy in front of it).
pub fn merchant_at(wallet: &DocWallet, base_url: &str) -> MiniProgramClient {
    MiniProgramClient::new(
        base_url,
        CLIENT_ID,
        merchant_key().clone(),
        wallet.wallet_public_key.clone(),
    )
    .with_retry_policy(quick_policy())
    .with_timeout(Duration::from_millis(500))
}

/// What the proxy does to the traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Pass everything through.
    None,
    /// The first request never reaches the wallet (the client times out).
    LoseFirstRequest,
    /// The first request reaches the wallet, but its answer never comes back (timeout).
    LoseFirstAnswer,
    /// The first request gets an unsigned HTTP 502 (a gateway in between).
    GatewayErrorFirst,
    /// Every answer is changed on the way back.
    Tamper(Tamper),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    /// A field is added to the body.
    Body,
    /// The Response-Time header is changed.
    ResponseTime,
    /// The client-id header names another client.
    ClientId,
    /// The signature is a well-formed signature by another key.
    Signature,
    /// The signature header is removed.
    NoSignature,
    /// Every answer is the first answer the proxy saw (a genuine answer to another request).
    ReplayFirstAnswer,
    /// AlphaPay: the Nonce header is changed.
    Nonce,
    /// AlphaPay: the Merchant-Code header names another merchant.
    MerchantCode,
}

pub struct Proxy {
    pub base_url: String,
    /// Requests the proxy received.
    pub received: Arc<AtomicUsize>,
    /// Requests it passed on to the wallet.
    pub forwarded: Arc<AtomicUsize>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
    }
}

#[derive(Clone)]
struct ProxyState {
    upstream: String,
    fault: Fault,
    received: Arc<AtomicUsize>,
    forwarded: Arc<AtomicUsize>,
    first_answer: Arc<Mutex<Option<(HeaderMap, Bytes)>>>,
    impostor: Arc<PrivateKey>,
}

/// Longer than any client timeout in these tests.
const LOST: Duration = Duration::from_millis(1500);

pub async fn spawn_proxy(upstream: &str, fault: Fault) -> Proxy {
    let state = ProxyState {
        upstream: upstream.trim_end_matches('/').to_owned(),
        fault,
        received: Arc::new(AtomicUsize::new(0)),
        forwarded: Arc::new(AtomicUsize::new(0)),
        first_answer: Arc::new(Mutex::new(None)),
        impostor: Arc::new(PrivateKey::generate(Algorithm::Rsa256).expect("key")),
    };
    let (received, forwarded) = (state.received.clone(), state.forwarded.clone());
    let app = Router::new().fallback(relay).with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base_url = format!("http://{}", listener.local_addr().expect("addr"));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
    });
    Proxy {
        base_url,
        received,
        forwarded,
        shutdown: Some(tx),
    }
}

async fn relay(State(s): State<ProxyState>, req: Request<axum::body::Body>) -> Response {
    let n = s.received.fetch_add(1, Ordering::SeqCst);
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
    match s.fault {
        Fault::LoseFirstRequest if n == 0 => {
            tokio::time::sleep(LOST).await;
            return StatusCode::GATEWAY_TIMEOUT.into_response();
        }
        Fault::GatewayErrorFirst if n == 0 => {
            return (StatusCode::BAD_GATEWAY, "<html>502 Bad Gateway</html>").into_response();
        }
        _ => {}
    }
    let url = format!(
        "{}{}",
        s.upstream,
        parts.uri.path_and_query().map_or("/", |pq| pq.as_str())
    );
    let mut out = reqwest::Client::new().request(parts.method.clone(), url);
    for (name, value) in &parts.headers {
        if name != "host" && name != "content-length" {
            out = out.header(name, value);
        }
    }
    s.forwarded.fetch_add(1, Ordering::SeqCst);
    let Ok(resp) = out.body(body).send().await else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let status = resp.status();
    let mut headers = resp.headers().clone();
    let mut answer = resp.bytes().await.unwrap_or_default();
    if s.fault == Fault::LoseFirstAnswer && n == 0 {
        tokio::time::sleep(LOST).await;
        return StatusCode::GATEWAY_TIMEOUT.into_response();
    }
    headers.remove("content-length");
    headers.remove("transfer-encoding");
    if let Fault::Tamper(t) = s.fault {
        match t {
            Tamper::Body => {
                let mut b = answer.to_vec();
                if let Some(end) = b.iter().rposition(|&c| c == b'}') {
                    b.splice(end..end, br#","tampered":true"#.iter().copied());
                }
                answer = Bytes::from(b);
            }
            Tamper::ResponseTime | Tamper::ClientId | Tamper::Nonce | Tamper::MerchantCode => {
                let (name, value) = match t {
                    Tamper::ResponseTime => ("response-time", "2030-01-01T00:00:00.000+00:00"),
                    Tamper::ClientId => ("client-id", "someone-else"),
                    Tamper::Nonce => ("nonce", "00000000000000000000000000000000"),
                    _ => ("merchant-code", "OTHER1"),
                };
                // Keep the same value for the merchant's own echo so only one thing changes.
                headers.insert(name, HeaderValue::from_static(value));
            }
            Tamper::Signature => {
                let raw = s.impostor.sign(&answer).expect("sign");
                let forged = walletd_protocol::signature::format_header(Algorithm::Rsa256, 1, &raw);
                headers.insert("signature", HeaderValue::from_str(&forged).expect("header"));
            }
            Tamper::NoSignature => {
                headers.remove("signature");
            }
            Tamper::ReplayFirstAnswer => {
                let mut first = s.first_answer.lock().expect("lock");
                match &*first {
                    Some((h, b)) => {
                        headers = h.clone();
                        answer = b.clone();
                    }
                    None => *first = Some((headers.clone(), answer.clone())),
                }
            }
        }
    }
    let mut response = (status, answer).into_response();
    for (name, value) in &headers {
        response.headers_mut().insert(name, value.clone());
    }
    response
}
