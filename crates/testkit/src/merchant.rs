//! A merchant's notification endpoint on 127.0.0.1: it records every POST it receives
//! (request-target, headers, raw body), counts how many are in flight at once, and answers each
//! as the test says. The merchant's own pages (e.g. a return page) can be served beside it.

use axum::body::Bytes;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use walletd_protocol::content;
use walletd_protocol::crypto::PublicKey;
use walletd_protocol::signature::SignatureHeader;

/// One notification as the merchant received it.
#[derive(Debug, Clone)]
pub struct Received {
    /// The request-target (path and query), as signed.
    pub target: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl Received {
    /// A header's value; `name` in any case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON; panics when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("notification json")
    }

    /// Checks the wallet's Mini Program signature over the request-target, client id, time and
    /// raw body, as a merchant would.
    pub fn verify(&self, wallet_key: &PublicKey) -> Result<(), String> {
        let sig = SignatureHeader::parse(self.header("signature").ok_or("no signature header")?)
            .map_err(|e| e.to_string())?;
        let signed = content::mini_program(
            "POST",
            &self.target,
            self.header("client-id").ok_or("no client-id header")?,
            self.header("request-time").ok_or("no request-time header")?,
            &self.body,
        );
        wallet_key
            .verify(&signed, &sig.signature)
            .map_err(|e| format!("{e:?}"))
    }
}

/// The answer to one notification.
pub type Reply = Pin<Box<dyn Future<Output = Response> + Send>>;

/// Decides the answer to a notification, given it and how many arrived so far (itself included).
pub type Answerer = Arc<dyn Fn(&Received, usize) -> Reply + Send + Sync>;

pub struct FakeMerchant {
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    received: Arc<Mutex<Vec<Received>>>,
    max_in_flight: Arc<AtomicUsize>,
    server: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct Book {
    answer: Answerer,
    received: Arc<Mutex<Vec<Received>>>,
    in_flight: Arc<AtomicUsize>,
    max_in_flight: Arc<AtomicUsize>,
}

impl FakeMerchant {
    /// Records every POST to any path and answers it with `answer`.
    pub async fn start(answer: impl Fn(&Received, usize) -> Reply + Send + Sync + 'static) -> FakeMerchant {
        Self::start_with_pages(Router::new(), answer).await
    }

    /// Serves `pages` (the merchant's own routes) and records every other POST.
    pub async fn start_with_pages(
        pages: Router,
        answer: impl Fn(&Received, usize) -> Reply + Send + Sync + 'static,
    ) -> FakeMerchant {
        let received = Arc::new(Mutex::new(Vec::new()));
        let max_in_flight = Arc::new(AtomicUsize::new(0));
        let book = Book {
            answer: Arc::new(answer),
            received: received.clone(),
            in_flight: Arc::new(AtomicUsize::new(0)),
            max_in_flight: max_in_flight.clone(),
        };
        let app = pages.fallback(move |req: Request| record(book.clone(), req));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base_url = format!("http://{}", listener.local_addr().expect("addr"));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeMerchant {
            base_url,
            received,
            max_in_flight,
            server,
        }
    }

    /// A URL of this merchant.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Every notification so far, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }

    /// The most notifications this merchant was sent at the same time.
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }

    /// Waits (bounded) until at least `n` notifications arrived.
    pub async fn wait_received(&self, n: usize, within: Duration) -> Vec<Received> {
        crate::wait_for(within, || async {
            let r = self.received();
            (r.len() >= n).then_some(r)
        })
        .await
        .unwrap_or_else(|| {
            panic!(
                "the merchant got {} notifications, not {n}, within {within:?}",
                self.received().len()
            )
        })
    }
}

impl Drop for FakeMerchant {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn record(book: Book, req: Request) -> Response {
    if req.method() != http::Method::POST {
        // A browser's own requests (a favicon, …) are not notifications.
        return http::StatusCode::NOT_FOUND.into_response();
    }
    let now = book.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    book.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
    let uri = &parts.uri;
    let received = Received {
        target: uri
            .path_and_query()
            .map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned()),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    v.to_str().unwrap_or("").to_owned(),
                )
            })
            .collect(),
        body,
    };
    let n = {
        let mut r = book.received.lock().expect("lock");
        r.push(received.clone());
        r.len()
    };
    let answer = (book.answer)(&received, n).await;
    book.in_flight.fetch_sub(1, Ordering::SeqCst);
    answer
}
