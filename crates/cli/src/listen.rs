//! `walletd listen`: a local endpoint for the wallet's notifications. Each one is verified and
//! printed; a genuine one is forwarded byte for byte (same headers, same body) to the merchant's app
//! with `--forward-to`, and acknowledged when the app took it (or at once without `--forward-to`).
//! A notification that does not verify is explained, not forwarded, and refused, so the wallet
//! sends it again once the problem is fixed.

use anyhow::Context as _;
use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use walletd_client::diagnose::{diagnose, DiagnoseOptions, MessageKind, SignedMessage};
use walletd_client::notification::{ack_body, retry_body};
use walletd_client::NotificationVerifier;
use walletd_protocol::crypto::PublicKey;

#[derive(Args)]
pub struct ListenArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9090")]
    pub listen: String,
    /// Where the merchant app listens; genuine notifications are passed on to it unchanged. A base
    /// URL (`http://127.0.0.1:3000`) receives them at the path they arrived at, so the app checks
    /// the signature over the same path; with a path of its own, the app must verify against the
    /// path the wallet signed (printed for each notification).
    #[arg(long)]
    pub forward_to: Option<String>,
    /// The wallet's public key (see `walletd admin wallet-key show`).
    #[arg(long, env = "WALLETD_WALLET_KEY")]
    pub wallet_key: PathBuf,
    /// Only accept notifications for this client id.
    #[arg(long, env = "WALLETD_CLIENT_ID")]
    pub client_id: Option<String>,
    /// How far a notification's request-time may be from now, in seconds.
    #[arg(long, default_value_t = 900)]
    pub tolerance_secs: u64,
    /// The path the wallet signs (the path of the paymentNotifyUrl), when a tunnel or proxy in
    /// front of this endpoint changes it. Default: the path the request arrived at.
    #[arg(long)]
    pub public_path: Option<String>,
    /// Stop after this many notifications (default: run until Ctrl-C).
    #[arg(long)]
    pub count: Option<u64>,
    /// How long to wait for the merchant app, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    pub forward_timeout_ms: u64,
}

#[derive(Clone)]
struct Listener {
    verifier: NotificationVerifier,
    wallet_key: PublicKey,
    client_id: Option<String>,
    public_path: Option<String>,
    forward_to: Option<String>,
    http: reqwest::Client,
    handled: Arc<AtomicU64>,
    done: Arc<tokio::sync::Notify>,
    count: Option<u64>,
}

pub async fn run(args: ListenArgs) -> anyhow::Result<ExitCode> {
    let wallet_key =
        crate::call::read_public_key(&args.wallet_key).context("the wallet's public key (--wallet-key)")?;
    let mut verifier =
        NotificationVerifier::new(wallet_key.clone(), Duration::from_secs(args.tolerance_secs));
    if let Some(id) = &args.client_id {
        verifier = verifier.for_client(id);
    }
    let state = Listener {
        verifier,
        wallet_key,
        client_id: args.client_id.clone(),
        public_path: args.public_path.clone(),
        forward_to: args.forward_to.clone(),
        http: reqwest::Client::builder()
            .timeout(Duration::from_millis(args.forward_timeout_ms))
            .build()
            .context("building the HTTP client")?,
        handled: Arc::new(AtomicU64::new(0)),
        done: Arc::new(tokio::sync::Notify::new()),
        count: args.count,
    };
    let done = state.done.clone();
    let app = Router::new().fallback(receive).with_state(state);
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let addr = listener.local_addr()?;
    println!("listening on http://{addr}/ — use e.g. http://{addr}/notify as paymentNotifyUrl");
    match &args.forward_to {
        Some(url) => println!("genuine notifications are forwarded to {url}"),
        None => println!("genuine notifications are acknowledged here (no --forward-to)"),
    }
    let stop = async move {
        tokio::select! {
            _ = done.notified() => {},
            _ = walletd_server::shutdown_signal() => {},
        }
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(stop)
        .await
        .context("serving")?;
    Ok(ExitCode::SUCCESS)
}

fn json(status: StatusCode, body: Vec<u8>) -> Response {
    (
        status,
        [("content-type", "application/json; charset=UTF-8")],
        body,
    )
        .into_response()
}

async fn receive(
    State(l): State<Listener>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = l.public_path.clone().unwrap_or_else(|| {
        uri.path_and_query()
            .map_or_else(|| uri.path().to_owned(), |pq| pq.as_str().to_owned())
    });
    let n = l.handled.fetch_add(1, Ordering::SeqCst) + 1;
    println!("\n=== notification #{n}: POST {path}");
    for (name, value) in &headers {
        println!("{name}: {}", value.to_str().unwrap_or("(not text)"));
    }
    match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(v) => println!("\n{}", serde_json::to_string_pretty(&v).unwrap_or_default()),
        Err(_) => println!("\n{}", String::from_utf8_lossy(&body)),
    }
    let response = match l.verifier.verify(&path, &headers, &body) {
        Err(e) => {
            println!("\nsignature: REFUSED ({e})");
            let message = SignedMessage {
                kind: MessageKind::Request,
                method: "POST".into(),
                target: Some(path.clone()),
                headers: headers
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_owned()))
                    .collect(),
                body: body.to_vec(),
                crlf_headers: false,
            };
            let options = DiagnoseOptions {
                client_id: l.client_id.clone(),
                ..DiagnoseOptions::default()
            };
            print!("{}", diagnose(&message, &l.wallet_key, &options));
            let refusal = serde_json::json!({"result": {"resultCode": "INVALID_SIGNATURE", "resultStatus": "F", "resultMessage": e.to_string()}});
            json(StatusCode::UNAUTHORIZED, refusal.to_string().into_bytes())
        }
        Ok(notification) => {
            println!(
                "\nsignature: verified (client {}, paymentRequestId {}, {})",
                notification.client_id,
                notification.payment.payment_request_id().unwrap_or("?"),
                if notification.payment.is_success() {
                    "success"
                } else {
                    "not a success"
                }
            );
            match &l.forward_to {
                None => json(StatusCode::OK, ack_body()),
                Some(url) => forward(&l, url, &path, &headers, body).await,
            }
        }
    };
    if l.count.is_some_and(|c| n >= c) {
        l.done.notify_one();
    }
    response
}

/// The app's URL for a notification that arrived at `path`: a base URL gets the same path.
fn forward_url(base: &str, path: &str) -> String {
    match reqwest::Url::parse(base) {
        Ok(u) if u.path() == "/" && u.query().is_none() => format!("{}{path}", base.trim_end_matches('/')),
        _ => base.to_owned(),
    }
}

async fn forward(l: &Listener, base: &str, path: &str, headers: &HeaderMap, body: Bytes) -> Response {
    let url = forward_url(base, path);
    if reqwest::Url::parse(&url).is_ok_and(|u| u.path() != path.split('?').next().unwrap_or(path)) {
        println!(
            "note: the app receives this at another path than the signed {path:?}; it must verify with {path:?}"
        );
    }
    let url = url.as_str();
    let mut request = l.http.post(url);
    for (name, value) in headers {
        if name != "host" && name != "content-length" {
            request = request.header(name, value);
        }
    }
    match request.body(body).send().await {
        Ok(resp) => {
            let status = resp.status();
            let answer = resp.bytes().await.unwrap_or_default();
            println!(
                "forwarded to {url}: HTTP {status} {}",
                String::from_utf8_lossy(&answer)
            );
            if status.is_success() {
                println!("acknowledged to the wallet");
                json(StatusCode::OK, ack_body())
            } else {
                println!("not acknowledged: the wallet will send it again");
                json(
                    StatusCode::BAD_GATEWAY,
                    retry_body(
                        "UNKNOWN_EXCEPTION",
                        &format!("the merchant app answered HTTP {status}"),
                    ),
                )
            }
        }
        Err(e) => {
            println!("forwarding to {url} failed: {e}; not acknowledged, the wallet will send it again");
            json(
                StatusCode::BAD_GATEWAY,
                retry_body("UNKNOWN_EXCEPTION", "the merchant app could not be reached"),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::forward_url;

    #[test]
    fn a_base_url_keeps_the_signed_path() {
        assert_eq!(
            forward_url("http://127.0.0.1:3000", "/notify?x=1"),
            "http://127.0.0.1:3000/notify?x=1"
        );
        assert_eq!(
            forward_url("http://127.0.0.1:3000/", "/notify"),
            "http://127.0.0.1:3000/notify"
        );
        assert_eq!(
            forward_url("http://127.0.0.1:3000/app/hook", "/notify"),
            "http://127.0.0.1:3000/app/hook"
        );
    }
}
