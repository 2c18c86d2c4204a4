//! A ready notification endpoint for merchants on axum (feature `axum`).
//!
//! ```
//! # #[path = "../tests/support/doc_wallet.rs"] mod doc_wallet;
//! # let (wallet_public_key, _, _, _) = doc_wallet::signed_notification("merchant-1");
//! use std::time::Duration;
//! use axum::Router;
//! use walletd_client::axum_handler::notification_endpoint;
//! use walletd_client::NotificationVerifier;
//!
//! let verifier = NotificationVerifier::new(wallet_public_key, Duration::from_secs(300)).for_client("merchant-1");
//! let app: Router = Router::new().route(
//!     "/walletd/notify",
//!     notification_endpoint(verifier, |notification| async move {
//!         // Store the outcome (idempotently: the same notification may come twice).
//!         println!("{:?} paid: {}", notification.payment.payment_request_id(), notification.payment.is_success());
//!         Ok::<(), String>(())
//!     }),
//! );
//! # let _ = app;
//! ```
//!
//! The endpoint verifies every notification before calling your function (a refused one gets
//! HTTP 401 and never reaches it), answers HTTP 200 with the acknowledgement when your function
//! returns `Ok`, and HTTP 500 with a `U` result when it returns `Err`, so the wallet sends the
//! notification again later.

use std::future::Future;

use axum::body::Bytes;
use axum::extract::OriginalUri;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{post, MethodRouter};

use crate::notification::{ack_body, retry_body, Notification, NotificationVerifier};

/// A POST handler that verifies notifications with `verifier` and passes the genuine ones to
/// `on_notification`. The content is checked against the path the request addressed (as
/// [`OriginalUri`] gives it, so nesting the router is fine).
pub fn notification_endpoint<S, F, Fut, E>(
    verifier: NotificationVerifier,
    on_notification: F,
) -> MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
    F: Fn(Notification) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: std::fmt::Display + 'static,
{
    endpoint(None, verifier, on_notification)
}

/// Like [`notification_endpoint`] for a server behind a proxy that rewrites paths: the content is
/// checked against `public_path`, the path of the `paymentNotifyUrl` the wallet was given.
pub fn notification_endpoint_at<S, F, Fut, E>(
    public_path: &str,
    verifier: NotificationVerifier,
    on_notification: F,
) -> MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
    F: Fn(Notification) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: std::fmt::Display + 'static,
{
    endpoint(Some(public_path.to_owned()), verifier, on_notification)
}

fn endpoint<S, F, Fut, E>(
    public_path: Option<String>,
    verifier: NotificationVerifier,
    on_notification: F,
) -> MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
    F: Fn(Notification) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: std::fmt::Display + 'static,
{
    post(
        move |OriginalUri(uri): OriginalUri, headers: HeaderMap, body: Bytes| {
            let verifier = verifier.clone();
            let on_notification = on_notification.clone();
            let path = public_path.clone().unwrap_or_else(|| {
                uri.path_and_query()
                    .map_or_else(|| uri.path().to_owned(), |pq| pq.as_str().to_owned())
            });
            async move {
                let notification = match verifier.verify(&path, &headers, &body) {
                    Ok(n) => n,
                    Err(e) => return json(StatusCode::UNAUTHORIZED, refusal_body(&e.to_string())),
                };
                match on_notification(notification).await {
                    Ok(()) => json(StatusCode::OK, ack_body()),
                    Err(e) => json(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        retry_body("UNKNOWN_EXCEPTION", &e.to_string()),
                    ),
                }
            }
        },
    )
}

fn refusal_body(message: &str) -> Vec<u8> {
    serde_json::json!({"result": {"resultCode": "INVALID_SIGNATURE", "resultStatus": "F", "resultMessage": message}})
        .to_string()
        .into_bytes()
}

fn json(status: StatusCode, body: Vec<u8>) -> Response {
    (
        status,
        [("content-type", "application/json; charset=UTF-8")],
        body,
    )
        .into_response()
}
