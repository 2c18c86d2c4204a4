//! A merchant's integration with a walletd, to copy from.
//!
//! It takes a payment, sends the user to the wallet's cashier, learns the outcome from the signed
//! notification (and by inquiry, in case the notification is late), and refunds part of it.
//!
//! Run it against `walletd demo` (which prints the values to export):
//!
//! ```text
//! export WALLETD_URL=http://127.0.0.1:8080 WALLETD_CLIENT_ID=demo-merchant \
//!        WALLETD_KEY=.../private_key.pem WALLETD_WALLET_KEY=.../wallet_public_key.pem
//! cargo run -p walletd-client --features axum --example merchant -- --app-id 3160120000000001
//! ```
//!
//! Then open the printed cashier link, sign in as alice (PIN 123456) and pay, or run
//! `walletd admin payment confirm <paymentId> --user alice` — the example waits for the notification.

use std::time::Duration;

use axum::Router;
use tokio::sync::mpsc;
use walletd_client::axum_handler::notification_endpoint;
use walletd_client::{MiniProgramClient, Notification, NotificationVerifier, PaymentOutcome, RefundOutcome};
use walletd_protocol::crypto::{PrivateKey, PublicKey};
use walletd_protocol::miniprogram::{PayRequestV2, PaymentLookupRequest, RefundRequest};
use walletd_protocol::{Amount, Currency};

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("set {name} (see `walletd demo`)"))
}

/// What this example's functions return: any error, for printing.
type Failure = Box<dyn std::error::Error>;

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let args: Vec<String> = std::env::args().collect();
    let app_id = args
        .iter()
        .position(|a| a == "--app-id")
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| "3160120000000001".into());

    // 1. The merchant's credentials: its own private key, and the wallet's public key.
    let base_url = env("WALLETD_URL")?;
    let client_id = env("WALLETD_CLIENT_ID")?;
    let key = PrivateKey::from_text(&std::fs::read_to_string(env("WALLETD_KEY")?)?)?;
    let wallet_key = PublicKey::from_text(&std::fs::read_to_string(env("WALLETD_WALLET_KEY")?)?)?;
    let client = MiniProgramClient::new(&base_url, &client_id, key, wallet_key.clone());

    // 2. An endpoint for the wallet's notifications. Verification happens before your code runs.
    let verifier = NotificationVerifier::new(wallet_key, Duration::from_secs(300)).for_client(&client_id);
    let (notify_url, mut outcome_rx) = serve_notifications(verifier).await?;

    // 3. Ask for 12.50 USD. The request id is yours: reuse it when you retry, never invent a new
    //    one for the same order (the SDK's `*_with_retry` does exactly that).
    let payment_request_id = format!("order-{}", chrono::Utc::now().timestamp_millis());
    let usd = Currency::from_code("USD").ok_or("USD is an ISO 4217 currency")?;
    let payment_id = take_payment(&client, app_id, &payment_request_id, usd, &notify_url).await?;

    // 4. Wait for the notification; if it is late, ask.
    if !is_paid(&client, &mut outcome_rx, &payment_id).await? {
        println!("not paid; nothing to refund");
        return Ok(());
    }

    // 5. Refund 2.50 USD. Again: one refundRequestId per refund, reused on retry.
    let refund_request_id = format!("{payment_request_id}-refund-1");
    let refund = RefundRequest::new(payment_id, refund_request_id, Amount::from_minor(usd, 250)?)
        .with_reason("one cup was cold");
    match client.refund_with_retry("v2", &refund).await? {
        RefundOutcome::Refunded { refund_id, .. } => println!("refunded 2.50 USD as {refund_id}"),
        other => println!("refund: {other:?}"),
    }
    Ok(())
}

/// Serves the notification endpoint on a free local port: its URL (the `paymentNotifyUrl`) and
/// the verified notifications as they arrive.
async fn serve_notifications(
    verifier: NotificationVerifier,
) -> Result<(String, mpsc::Receiver<Notification>), Failure> {
    let (outcomes, outcome_rx) = mpsc::channel(16);
    let app: Router = Router::new().route(
        "/walletd/notify",
        notification_endpoint(verifier, move |notification| {
            let outcomes = outcomes.clone();
            async move {
                // Store the outcome keyed by paymentRequestId (a repeat must change nothing),
                // then acknowledge by returning Ok.
                outcomes.send(notification).await.map_err(|e| e.to_string())
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let notify_url = format!("http://{}/walletd/notify", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((notify_url, outcome_rx))
}

/// Asks for 12.50 USD at the cashier (the user has 15 minutes) and says where to send the user;
/// the payment id. A failed payment, or one whose outcome is not known yet, is an error here.
async fn take_payment(
    client: &MiniProgramClient,
    app_id: String,
    payment_request_id: &str,
    usd: Currency,
    notify_url: &str,
) -> Result<String, Failure> {
    let pay = PayRequestV2::cashier(
        app_id,
        payment_request_id,
        Amount::from_minor(usd, 1250)?,
        payment_request_id,
        "Two cups of tea",
    )
    .with_notify_url(notify_url)
    .with_expiry(chrono::Utc::now() + chrono::Duration::minutes(15));
    Ok(match client.pay_v2_with_retry(&pay).await? {
        PaymentOutcome::Accepted(answer) => {
            let cashier = answer
                .redirect_action_form
                .map(|f| f.redirect_url)
                .unwrap_or_default();
            let id = answer.payment_id.unwrap_or_default();
            println!("payment {id} accepted; send the user to {cashier}");
            id
        }
        PaymentOutcome::Paid { payment_id, .. } => payment_id.unwrap_or_default(),
        PaymentOutcome::Failed { reason, .. } => return Err(format!("the payment failed: {reason}").into()),
        PaymentOutcome::StillUnknown { last_problem, .. } => {
            // Neither paid nor failed: keep the order open and inquire later with the same id.
            return Err(format!("the outcome is not known yet ({last_problem}); inquire later").into());
        }
    })
}

/// Whether the payment succeeded: the notification says, or, if none comes within five
/// minutes, an inquiry.
async fn is_paid(
    client: &MiniProgramClient,
    outcome_rx: &mut mpsc::Receiver<Notification>,
    payment_id: &str,
) -> Result<bool, Failure> {
    Ok(
        match tokio::time::timeout(Duration::from_secs(300), outcome_rx.recv()).await {
            Ok(Some(notification)) => {
                println!("notification: {}", String::from_utf8_lossy(&notification.body));
                notification.payment.is_success()
            }
            _ => {
                let lookup = PaymentLookupRequest::by_payment_id(payment_id);
                let inquiry = client.inquiry_payment("v2", &lookup).await?;
                println!("no notification yet; inquiry says {:?}", inquiry.payment_status);
                inquiry.payment_status.as_deref() == Some("SUCCESS")
            }
        },
    )
}
