//! A fake merchant for the multi-node test: receives notifications, records each one, and refuses
//! every third *first* delivery (answering `F` after recording it, as a merchant whose database
//! write failed would), so walletd must deliver those again.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::routing::post;
use axum::Router;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use walletd_protocol::content;
use walletd_protocol::crypto::PublicKey;
use walletd_protocol::signature::SignatureHeader;

/// One notification as it arrived.
#[derive(Debug, Clone)]
pub struct Received {
    pub payment_id: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// Checks the wallet's signature over the request target, client id, time and raw body.
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

#[derive(Default)]
struct Book {
    received: Vec<Received>,
    first_seen: BTreeSet<String>,
    firsts: usize,
}

pub struct FakeMerchant {
    base_url: String,
    book: Arc<Mutex<Book>>,
    server: tokio::task::JoinHandle<()>,
}

impl FakeMerchant {
    pub async fn start() -> FakeMerchant {
        let book = Arc::new(Mutex::new(Book::default()));
        let app = Router::new()
            .route("/notify", post(notify))
            .with_state(book.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base_url = format!("http://{}", listener.local_addr().expect("addr"));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeMerchant {
            base_url,
            book,
            server,
        }
    }

    pub fn notify_url(&self) -> String {
        format!("{}/notify", self.base_url)
    }

    pub fn received(&self) -> Vec<Received> {
        self.book.lock().expect("lock").received.clone()
    }
}

impl Drop for FakeMerchant {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn notify(State(book): State<Arc<Mutex<Book>>>, uri: Uri, headers: HeaderMap, body: Bytes) -> String {
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let payment_id = json["paymentId"].as_str().unwrap_or_default().to_owned();
    let received = Received {
        payment_id: payment_id.clone(),
        target: uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_default(),
        headers: headers
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned()))
            .collect(),
        body: body.to_vec(),
    };
    let mut book = book.lock().expect("lock");
    book.received.push(received);
    let refuse = if book.first_seen.insert(payment_id) {
        book.firsts += 1;
        book.firsts % 3 == 0
    } else {
        false
    };
    let (code, status) = if refuse {
        ("PROCESS_FAIL", "F")
    } else {
        ("SUCCESS", "S")
    };
    format!(r#"{{"result":{{"resultCode":"{code}","resultStatus":"{status}","resultMessage":"{code}"}}}}"#)
}
