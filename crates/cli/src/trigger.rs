//! `walletd trigger EVENT`: plays one whole flow against a running sandbox wallet, the way a
//! merchant's integration would meet it, and reports what happened and which notification went out.
//!
//! The merchant's side is real: signed Mini Program requests with the merchant's key, every answer's
//! signature verified, and a local endpoint that receives and verifies the notifications (its URL is
//! the `paymentNotifyUrl`). The user's side is the operator path `walletd admin payment confirm` and
//! `decline` use: the trigger opens the wallet's database (`--data-dir`, as the demo's export line
//! sets it). No sandbox-only API exists for it, so nothing here is reachable over the network.
//!
//! The trigger refuses to run unless the wallet's home page says it runs in sandbox mode: the flows
//! move a user's money and rely on the reserved sandbox amounts.
//!
//! `notification.refused`: the local endpoint refuses every notification. Rather than waiting hours
//! for `notifier.retry_gaps_ms`, the trigger resends the notification through the operator path
//! (`walletd admin notification resend`) as soon as each refusal is recorded. A resend makes it due
//! now without restarting the schedule, so each attempt counts against the same schedule and the
//! wallet gives up (FAILED) after exactly the attempts the real schedule allows; the run takes about
//! one notifier poll interval per attempt.

use anyhow::Context as _;
use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use clap::{Args, ValueEnum};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use walletd_client::notification::{ack_body, retry_body};
use walletd_client::{MiniProgramClient, NotificationVerifier, RequestOptions};
use walletd_core::clock::{IdSource as _, RandomIds, SystemClock};
use walletd_core::outbox::{OutboxEntry, OutboxStatus};
use walletd_core::payments::ApprovalOutcome;
use walletd_core::Wallet;
use walletd_server::Config;

/// The flows `walletd trigger` plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Event {
    /// A cashier payment the user approves: A, then SUCCESS and its notification.
    #[value(name = "payment.succeeded")]
    PaymentSucceeded,
    /// A cashier payment the user declines: A, then FAIL and its notification.
    #[value(name = "payment.failed")]
    PaymentFailed,
    /// A cashier payment nobody pays before its paymentExpiryTime: FAIL and its notification.
    #[value(name = "payment.expired")]
    PaymentExpired,
    /// A cashier payment the merchant cancels before the user pays: CANCELLED, no notification.
    #[value(name = "payment.cancelled")]
    PaymentCancelled,
    /// A paid payment, then a partial refund: S, and inquiryRefund says SUCCESS.
    #[value(name = "refund.succeeded")]
    RefundSucceeded,
    /// A paid payment, then a refund of the sandbox amount 9911: F REFUND_AMOUNT_EXCEED, again on retry.
    #[value(name = "refund.failed")]
    RefundFailed,
    /// An authorization the user approves, then the merchant captures it all: S, SUCCESS, notified.
    #[value(name = "authorization.captured")]
    AuthorizationCaptured,
    /// A paid payment whose notification the merchant refuses every time, until the wallet gives up.
    #[value(name = "notification.refused")]
    NotificationRefused,
}

impl Event {
    fn name(self) -> &'static str {
        match self {
            Event::PaymentSucceeded => "payment.succeeded",
            Event::PaymentFailed => "payment.failed",
            Event::PaymentExpired => "payment.expired",
            Event::PaymentCancelled => "payment.cancelled",
            Event::RefundSucceeded => "refund.succeeded",
            Event::RefundFailed => "refund.failed",
            Event::AuthorizationCaptured => "authorization.captured",
            Event::NotificationRefused => "notification.refused",
        }
    }
}

#[derive(Args)]
pub struct TriggerArgs {
    /// The event to play.
    #[arg(value_enum)]
    pub event: Event,
    /// The wallet's base URL.
    #[arg(long, env = "WALLETD_URL", default_value = "http://127.0.0.1:8080")]
    pub base_url: String,
    /// Your Client-Id.
    #[arg(long, env = "WALLETD_CLIENT_ID")]
    pub client_id: String,
    /// Your private key (PEM or bare base64).
    #[arg(long, env = "WALLETD_KEY")]
    pub key: PathBuf,
    /// The key version the wallet knows your key by.
    #[arg(long, default_value_t = 1)]
    pub key_version: u32,
    /// The wallet's public key: every answer and notification is verified with it.
    #[arg(long, env = "WALLETD_WALLET_KEY")]
    pub wallet_key: PathBuf,
    /// The v2 appId to pay with (default: the client's first registered one, else "app").
    #[arg(long)]
    pub app_id: Option<String>,
    /// The paying user (the operator path approves as this user).
    #[arg(long, default_value = "alice")]
    pub user: String,
    /// The payment's currency.
    #[arg(long, default_value = "USD")]
    pub currency: String,
    /// Where the local notification endpoint listens (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: String,
    /// Give up on the flow after this many seconds.
    #[arg(long, default_value_t = 120)]
    pub timeout_secs: u64,
    /// Print one JSON object (event, ok, steps, notifications) instead of lines.
    #[arg(long)]
    pub json: bool,
}

/// The exit codes of `walletd trigger`.
pub mod exit {
    /// The flow ended as the event says.
    pub const OK: u8 = 0;
    /// The flow ran but did not end as the event says.
    pub const NOT_AS_EXPECTED: u8 = 1;
}

/// Most notifications the local endpoint keeps waiting to be read; more are refused (the wallet
/// sends them again).
const RECEIVED_QUEUE: usize = 64;
/// Most attempts `notification.refused` drives before it stops, whatever the schedule says.
const MAX_REFUSED_ATTEMPTS: usize = 64;
/// Cashier payments and refunds of the flows, in minor units.
const PAY_MINOR: i64 = 1250;
const REFUND_MINOR: i64 = 250;
/// How long `payment.expired` gives the user.
const EXPIRY_SECS: i64 = 2;
/// How long to look for a notification that should not come (a cancelled payment).
const QUIET_WAIT: Duration = Duration::from_secs(3);

/// A notification the local endpoint received.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    /// The signature verified with the wallet's key and the client id is ours.
    verified: Result<(), String>,
    body: Value,
    /// What the endpoint answered.
    acknowledged: bool,
}

#[derive(Clone)]
struct Endpoint {
    verifier: NotificationVerifier,
    refuse: bool,
    sender: mpsc::Sender<Received>,
}

async fn receive(
    State(e): State<Endpoint>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri
        .path_and_query()
        .map_or_else(|| uri.path().to_owned(), |pq| pq.as_str().to_owned());
    let verified = e
        .verifier
        .verify(&path, &headers, &body)
        .map(|_| ())
        .map_err(|err| err.to_string());
    let acknowledged = verified.is_ok() && !e.refuse;
    let parsed = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    let queued = e
        .sender
        .try_send(Received {
            path,
            verified,
            body: parsed,
            acknowledged,
        })
        .is_ok();
    let answer = if acknowledged && queued {
        (StatusCode::OK, ack_body())
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            retry_body("SYSTEM_BUSY", "walletd trigger refuses this notification"),
        )
    };
    (
        answer.0,
        [("content-type", "application/json; charset=UTF-8")],
        answer.1,
    )
        .into_response()
}

/// One run of a flow: the merchant's connection, the operator's wallet, the endpoint, the report.
struct Run {
    event: Event,
    merchant: MiniProgramClient,
    wallet: Wallet,
    app_id: String,
    user: String,
    currency: String,
    notify_url: String,
    received: mpsc::Receiver<Received>,
    deadline: Instant,
    json: bool,
    /// Unique per run, so the request ids never meet an earlier run's.
    tag: String,
    steps: Vec<Value>,
    notifications: Vec<Value>,
    problems: Vec<String>,
}

impl Run {
    /// Records (and in text mode prints) one step.
    fn step(&mut self, what: &str, detail: Value) {
        if !self.json {
            println!("{what:<28} {}", summary(&detail));
        }
        self.steps.push(json!({"step": what, "detail": detail}));
    }

    /// Notes that the flow did not end as the event says.
    fn expect(&mut self, ok: bool, problem: impl FnOnce() -> String) {
        if !ok {
            let p = problem();
            if !self.json {
                println!("{:<28} {p}", "NOT AS EXPECTED");
            }
            self.problems.push(p);
        }
    }

    fn amount(&self, minor: i64) -> Value {
        json!({"currency": self.currency, "value": minor.to_string()})
    }

    /// A signed request; the answer's signature is verified by the SDK. Returns the body.
    async fn call(&mut self, api: &str, body: Value) -> anyhow::Result<Value> {
        let bytes = serde_json::to_vec(&body)?;
        let verified = self
            .merchant
            .send(api, bytes, &RequestOptions::default())
            .await
            .with_context(|| format!("calling {api}"))?;
        let answer: Value = serde_json::from_slice(&verified.body).context("the answer is not JSON")?;
        self.step(
            api,
            json!({
                "request": body,
                "result": format!("{}/{}", verified.result.result_status, verified.result.result_code),
                "answer": answer,
            }),
        );
        Ok(answer)
    }

    fn status_of(answer: &Value) -> (String, String) {
        let r = &answer["result"];
        (
            r["resultStatus"].as_str().unwrap_or("?").to_owned(),
            r["resultCode"].as_str().unwrap_or("?").to_owned(),
        )
    }

    /// A v2 cashier pay that must answer A; returns the payment id.
    async fn pay(&mut self, request_id: &str, minor: i64, extra: Value) -> anyhow::Result<Option<String>> {
        let mut body = json!({
            "appId": self.app_id,
            "productCode": "CASHIER_PAYMENT",
            "paymentRequestId": request_id,
            "paymentAmount": self.amount(minor),
            "order": {"referenceOrderId": format!("order-{request_id}"), "orderDescription": format!("walletd trigger {}", self.event.name())},
            "paymentNotifyUrl": self.notify_url,
        });
        if let (Some(b), Some(x)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(x.clone());
        }
        let answer = self.call("v2/payments/pay", body).await?;
        let (status, code) = Self::status_of(&answer);
        self.expect(status == "A", || {
            format!("pay answered {status}/{code}, not A/ACCEPT")
        });
        Ok(answer["paymentId"].as_str().map(str::to_owned))
    }

    /// The user approves, through the operator path. False (and noted) if the wallet refused.
    async fn confirm(&mut self, payment_id: &str) -> anyhow::Result<bool> {
        let outcome = self.wallet.confirm_payment(payment_id, &self.user).await?;
        Ok(self.approval("user approves (operator)", outcome))
    }

    /// Reports the user's approval or refusal; false (and noted) if the wallet refused it.
    fn approval(&mut self, what: &str, outcome: ApprovalOutcome) -> bool {
        let detail = match &outcome {
            ApprovalOutcome::Done(p) => json!({
                "paymentId": p.payment_id, "user": self.user, "paymentStatus": p.status.as_str(),
                "authorized": p.authorized_at.is_some(),
            }),
            ApprovalOutcome::Refused { code, message, .. } => json!({
                "user": self.user, "refused": code.as_str(), "message": message,
            }),
        };
        self.step(what, detail);
        let user = self.user.clone();
        let done = matches!(outcome, ApprovalOutcome::Done(_));
        self.expect(done, || {
            format!("the user's approval was refused (does {user} have the balance?)")
        });
        done
    }

    async fn inquire(&mut self, payment_id: &str, want: &str) -> anyhow::Result<()> {
        let answer = self
            .call("v2/payments/inquiryPayment", json!({"paymentId": payment_id}))
            .await?;
        let got = answer["paymentStatus"].as_str().unwrap_or("?").to_owned();
        self.expect(got == want, || format!("inquiryPayment says {got}, not {want}"));
        Ok(())
    }

    /// Waits for the next notification at the local endpoint (or the deadline).
    async fn next_notification(&mut self, within: Duration) -> Option<Received> {
        let left = self
            .deadline
            .saturating_duration_since(Instant::now())
            .min(within);
        let got = tokio::time::timeout(left, self.received.recv())
            .await
            .ok()
            .flatten()?;
        let entry = json!({
            "path": got.path,
            "signature": match &got.verified { Ok(()) => "verified".to_owned(), Err(e) => format!("REFUSED: {e}") },
            "acknowledged": got.acknowledged,
            "body": got.body,
        });
        if !self.json {
            let result = &entry["body"]["paymentResult"];
            println!(
                "{:<28} POST {} signature {}, paymentRequestId {}, paymentResult {}/{}, {}",
                "notification received",
                got.path,
                entry["signature"].as_str().unwrap_or("?"),
                got.body["paymentRequestId"].as_str().unwrap_or("?"),
                result["resultStatus"].as_str().unwrap_or("?"),
                result["resultCode"].as_str().unwrap_or("?"),
                if got.acknowledged {
                    "acknowledged"
                } else {
                    "refused"
                },
            );
        }
        self.notifications.push(entry);
        Some(got)
    }

    /// Waits for the payment's notification and checks its signature and its result status.
    async fn expect_payment_notice(&mut self, request_id: &str, want_status: &str) {
        let within = self.deadline.saturating_duration_since(Instant::now());
        let Some(n) = self.next_notification(within).await else {
            self.expect(false, || "no notification arrived in time".into());
            return;
        };
        self.expect(n.verified.is_ok(), || {
            "the notification's signature did not verify".into()
        });
        let about = n.body["paymentRequestId"].as_str().unwrap_or("?").to_owned();
        self.expect(about == request_id, || {
            format!("the notification is about {about}, not {request_id}")
        });
        let got = n.body["paymentResult"]["resultStatus"]
            .as_str()
            .unwrap_or("?")
            .to_owned();
        self.expect(got == want_status, || {
            format!("the notification's paymentResult is {got}, not {want_status}")
        });
    }

    /// The wallet's own record of the notifications about `subject_id` (operator view).
    async fn outbox_of(&self, subject_id: &str) -> anyhow::Result<Vec<OutboxEntry>> {
        Ok(self
            .wallet
            .list_notifications(500)
            .await?
            .into_iter()
            .filter(|e| e.subject_id == subject_id)
            .collect())
    }

    fn id(&self, what: &str) -> String {
        format!("trigger-{}-{what}", self.tag)
    }

    /// A paid cashier payment of `minor`, its notification received; returns its id.
    async fn paid(&mut self, minor: i64) -> anyhow::Result<Option<String>> {
        let req = self.id("pay");
        let Some(payment_id) = self.pay(&req, minor, json!({})).await? else {
            return Ok(None);
        };
        if !self.confirm(&payment_id).await? {
            return Ok(None);
        }
        self.expect_payment_notice(&req, "S").await;
        Ok(Some(payment_id))
    }

    async fn play(&mut self) -> anyhow::Result<()> {
        match self.event {
            Event::PaymentSucceeded => self.payment_succeeded().await,
            Event::PaymentFailed => self.payment_failed().await,
            Event::PaymentExpired => self.payment_expired().await,
            Event::PaymentCancelled => self.payment_cancelled().await,
            Event::RefundSucceeded => self.refund_succeeded().await,
            Event::RefundFailed => self.refund_failed().await,
            Event::AuthorizationCaptured => self.authorization_captured().await,
            Event::NotificationRefused => self.refused_until_given_up().await,
        }
    }

    /// `payment.succeeded`: a paid payment, notified, and inquiryPayment says SUCCESS.
    async fn payment_succeeded(&mut self) -> anyhow::Result<()> {
        if let Some(p) = self.paid(PAY_MINOR).await? {
            self.inquire(&p, "SUCCESS").await?;
        }
        Ok(())
    }

    /// `payment.failed`: the user declines (operator path), the FAIL is notified and
    /// inquiryPayment says FAIL.
    async fn payment_failed(&mut self) -> anyhow::Result<()> {
        let req = self.id("pay");
        if let Some(p) = self.pay(&req, PAY_MINOR, json!({})).await? {
            let outcome = self
                .wallet
                .decline_payment(&p, "The user declined the payment.")
                .await?;
            if self.approval("user declines (operator)", outcome) {
                self.expect_payment_notice(&req, "F").await;
            }
            self.inquire(&p, "FAIL").await?;
        }
        Ok(())
    }

    /// `payment.expired`: a pay whose paymentExpiryTime passes unpaid; the FAIL is notified and
    /// inquiryPayment says FAIL.
    async fn payment_expired(&mut self) -> anyhow::Result<()> {
        let req = self.id("pay");
        let at = chrono::Utc::now() + chrono::Duration::seconds(EXPIRY_SECS);
        let expiry = walletd_protocol::miniprogram::format_body_time(at);
        if let Some(p) = self
            .pay(&req, PAY_MINOR, json!({"paymentExpiryTime": expiry}))
            .await?
        {
            self.step("waiting for the expiry", json!({"paymentExpiryTime": expiry}));
            self.expect_payment_notice(&req, "F").await;
            self.inquire(&p, "FAIL").await?;
        }
        Ok(())
    }

    /// `payment.cancelled`: the merchant cancels before the user pays; CANCELLED, and no
    /// notification comes.
    async fn payment_cancelled(&mut self) -> anyhow::Result<()> {
        let req = self.id("pay");
        if let Some(p) = self.pay(&req, PAY_MINOR, json!({})).await? {
            let answer = self.call("v2/payments/cancel", json!({"paymentId": p})).await?;
            let (status, code) = Self::status_of(&answer);
            self.expect(status == "S", || format!("cancel answered {status}/{code}"));
            self.inquire(&p, "CANCELLED").await?;
            // A cancel the merchant asked for is not notified: check that nothing came.
            let stray = self.next_notification(QUIET_WAIT).await;
            self.expect(stray.is_none(), || "a cancelled payment was notified".into());
        }
        Ok(())
    }

    /// `refund.succeeded`: a paid payment, a partial refund answered S, and inquiryRefund says
    /// SUCCESS.
    async fn refund_succeeded(&mut self) -> anyhow::Result<()> {
        if let Some(p) = self.paid(PAY_MINOR).await? {
            let req = self.id("refund");
            let body =
                json!({"refundRequestId": req, "paymentId": p, "refundAmount": self.amount(REFUND_MINOR)});
            let answer = self.call("v2/payments/refund", body).await?;
            let (status, code) = Self::status_of(&answer);
            self.expect(status == "S", || format!("refund answered {status}/{code}"));
            let answer = self
                .call("v2/payments/inquiryRefund", json!({"refundRequestId": req}))
                .await?;
            let got = answer["refundStatus"].as_str().unwrap_or("?").to_owned();
            self.expect(got == "SUCCESS", || format!("inquiryRefund says {got}"));
        }
        Ok(())
    }

    /// `refund.failed`: a refund of the sandbox amount 9911 answers F REFUND_AMOUNT_EXCEED, again
    /// on retry; no refund exists and the payment stays SUCCESS.
    async fn refund_failed(&mut self) -> anyhow::Result<()> {
        let forced = 9911;
        if let Some(p) = self.paid(forced).await? {
            let req = self.id("refund");
            let body = json!({"refundRequestId": req, "paymentId": p, "refundAmount": self.amount(forced)});
            for attempt in ["refund", "refund again (same refundRequestId)"] {
                let answer = self.call("v2/payments/refund", body.clone()).await?;
                let (status, code) = Self::status_of(&answer);
                self.expect(status == "F" && code == "REFUND_AMOUNT_EXCEED", || {
                    format!("{attempt} answered {status}/{code}, not F/REFUND_AMOUNT_EXCEED")
                });
            }
            let answer = self
                .call("v2/payments/inquiryRefund", json!({"refundRequestId": req}))
                .await?;
            let (_, code) = Self::status_of(&answer);
            self.expect(code == "REFUND_NOT_EXIST", || {
                format!("inquiryRefund answered {code}: a failed refund must not exist")
            });
            self.inquire(&p, "SUCCESS").await?;
        }
        Ok(())
    }

    /// `authorization.captured`: an authorization the user approves, captured in full by the
    /// merchant; the SUCCESS is notified and inquiryPayment says SUCCESS.
    async fn authorization_captured(&mut self) -> anyhow::Result<()> {
        let req = self.id("auth");
        let factor = json!({"paymentFactor": {"isAuthorizationPayment": true}});
        if let Some(p) = self.pay(&req, PAY_MINOR, factor).await? {
            if !self.confirm(&p).await? {
                return Ok(());
            }
            let body = json!({
                "captureRequestId": self.id("capture"), "paymentId": p,
                "captureAmount": self.amount(PAY_MINOR), "isLastCapture": true,
            });
            let answer = self.call("v2/payments/capture", body).await?;
            let (status, code) = Self::status_of(&answer);
            self.expect(status == "S", || format!("capture answered {status}/{code}"));
            self.expect_payment_notice(&req, "S").await;
            self.inquire(&p, "SUCCESS").await?;
        }
        Ok(())
    }

    /// Pays, refuses every notification, and resends each refused one at once until the wallet
    /// marks it FAILED; every attempt must have reached the endpoint.
    async fn refused_until_given_up(&mut self) -> anyhow::Result<()> {
        let req = self.id("pay");
        let Some(payment_id) = self.pay(&req, PAY_MINOR, json!({})).await? else {
            return Ok(());
        };
        if !self.confirm(&payment_id).await? {
            return Ok(());
        }
        let mut received = 0usize;
        let Some(entry) = self.refuse_until_failed(&payment_id, &mut received).await? else {
            return Ok(());
        };
        self.receive_last_attempts(&mut received, entry.attempts.len())
            .await;
        self.step(
            "wallet gave up",
            json!({"notification": entry.id, "status": entry.status.as_str(), "attempts": entry.attempts.len(), "receivedHere": received}),
        );
        self.notifications.push(json!({"notification": entry.id, "status": entry.status.as_str(), "attempts": entry.attempts.len(), "receivedHere": received}));
        self.expect(received == entry.attempts.len(), || {
            format!(
                "the wallet recorded {} attempts but {received} reached this endpoint",
                entry.attempts.len()
            )
        });
        self.inquire(&payment_id, "SUCCESS").await?;
        Ok(())
    }

    /// Watches the payment's notification in the outbox, resending it as soon as each refusal
    /// is recorded, until the wallet marks it FAILED: that entry. None (and noted) if time or
    /// the attempt cap runs out first, or the notification counts as delivered. `received`
    /// counts the notifications that reached the endpoint meanwhile.
    async fn refuse_until_failed(
        &mut self,
        payment_id: &str,
        received: &mut usize,
    ) -> anyhow::Result<Option<OutboxEntry>> {
        let mut seen_attempts = 0usize;
        loop {
            if Instant::now() >= self.deadline {
                self.expect(false, || {
                    format!("the wallet had not given up after {seen_attempts} attempts when time ran out")
                });
                return Ok(None);
            }
            *received += self.take_received();
            let entries = self.outbox_of(payment_id).await?;
            let Some(entry) = entries.into_iter().next() else {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            };
            self.note_new_attempt(&entry, &mut seen_attempts);
            match entry.status {
                OutboxStatus::Failed => return Ok(Some(entry)),
                OutboxStatus::Delivered => {
                    self.expect(false, || "the refused notification counts as delivered".into());
                    return Ok(None);
                }
                OutboxStatus::Pending => {}
            }
            if seen_attempts >= MAX_REFUSED_ATTEMPTS {
                self.expect(false, || {
                    format!("still retrying after {MAX_REFUSED_ATTEMPTS} attempts")
                });
                return Ok(None);
            }
            // Refused and waiting for its next turn: make it due now (the operator's resend).
            // A row waiting for a later turn is not claimed by the notifier, so the resend cannot
            // meet a send in flight.
            if seen_attempts > 0 && entry.next_attempt_at > self.wallet.now() {
                self.wallet.resend_notification(&entry.id).await?;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Takes the notifications already waiting at the endpoint, noting any whose signature did
    /// not verify; how many there were.
    fn take_received(&mut self) -> usize {
        let mut taken = 0;
        while let Ok(n) = self.received.try_recv() {
            taken += 1;
            self.expect(n.verified.is_ok(), || {
                "a notification's signature did not verify".into()
            });
        }
        taken
    }

    /// Records a step for the entry's latest attempt if the wallet has recorded one since
    /// `seen_attempts` (which it then advances).
    fn note_new_attempt(&mut self, entry: &OutboxEntry, seen_attempts: &mut usize) {
        if entry.attempts.len() <= *seen_attempts {
            return;
        }
        *seen_attempts = entry.attempts.len();
        if let Some(a) = entry.attempts.last() {
            self.step(
                &format!("attempt {seen_attempts} refused"),
                json!({
                    "notification": entry.id, "at": a.at.to_rfc3339(), "httpStatus": a.http_status,
                    "delivered": a.delivered,
                    // When the schedule would have tried again (none: it gave up).
                    "scheduledRetryAt": (entry.status == OutboxStatus::Pending).then(|| entry.next_attempt_at.to_rfc3339()),
                }),
            );
        }
    }

    /// Gives the endpoint up to two seconds to receive the last of the `attempts` the wallet
    /// recorded (it may still be reading it), counting them in `received`.
    async fn receive_last_attempts(&mut self, received: &mut usize, attempts: usize) {
        let settle = Instant::now() + Duration::from_secs(2);
        while *received < attempts && Instant::now() < settle {
            match tokio::time::timeout(Duration::from_millis(200), self.received.recv()).await {
                Ok(Some(n)) => {
                    *received += 1;
                    self.expect(n.verified.is_ok(), || {
                        "a notification's signature did not verify".into()
                    });
                }
                _ => continue,
            }
        }
    }
}

/// One line for text output: a call's result and the ids and states its answer names; any other
/// step's details as compact JSON.
fn summary(detail: &Value) -> String {
    let Some(result) = detail["result"].as_str() else {
        return serde_json::to_string(detail).unwrap_or_default();
    };
    let mut line = result.to_owned();
    let answer = &detail["answer"];
    for field in [
        "paymentId",
        "paymentStatus",
        "refundId",
        "refundStatus",
        "captureId",
        "cancelTime",
    ] {
        if let Some(v) = answer[field].as_str() {
            line.push_str(&format!(" {field}={v}"));
        }
    }
    if let Some(m) = answer["result"]["resultMessage"]
        .as_str()
        .filter(|_| !result.starts_with('S'))
    {
        line.push_str(&format!(" ({m})"));
    }
    line
}

/// True if the wallet at `base_url` says it runs in sandbox mode (its home page's title).
async fn is_sandbox(base_url: &str) -> anyhow::Result<bool> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let page = http
        .get(format!("{}/", base_url.trim_end_matches('/')))
        .send()
        .await
        .with_context(|| format!("reaching the wallet at {base_url}"))?
        .text()
        .await?;
    Ok(page.contains("<title>walletd sandbox</title>"))
}

pub async fn run(config: &Config, args: TriggerArgs) -> anyhow::Result<ExitCode> {
    if !is_sandbox(&args.base_url).await? {
        anyhow::bail!(
            "the wallet at {} is not in sandbox mode; walletd trigger only plays against `walletd serve --sandbox` or `walletd demo`",
            args.base_url
        );
    }
    let key = crate::call::read_private_key(&args.key).context("your private key (--key)")?;
    let wallet_key =
        crate::call::read_public_key(&args.wallet_key).context("the wallet's public key (--wallet-key)")?;
    let wallet = walletd_server::open_wallet(config, Arc::new(SystemClock), Arc::new(RandomIds::default()))
        .context("opening the wallet's database (--data-dir) for the user's side")?;
    let app_id = match &args.app_id {
        Some(a) => a.clone(),
        None => first_app_id(&wallet, &args.client_id).await?,
    };
    let merchant = MiniProgramClient::new(&args.base_url, &args.client_id, key, wallet_key.clone())
        .with_key_version(args.key_version);

    let (sender, received) = mpsc::channel(RECEIVED_QUEUE);
    let endpoint = Endpoint {
        verifier: NotificationVerifier::new(wallet_key, Duration::from_secs(900)).for_client(&args.client_id),
        refuse: args.event == Event::NotificationRefused,
        sender,
    };
    let (addr, server) = serve_endpoint(&args.listen, endpoint).await?;
    let mut run = Run {
        event: args.event,
        merchant,
        wallet,
        app_id,
        user: args.user.clone(),
        currency: args.currency.clone(),
        notify_url: format!("http://{addr}/notify"),
        received,
        deadline: Instant::now() + Duration::from_secs(args.timeout_secs),
        json: args.json,
        tag: RandomIds::default().random_hex(6),
        steps: Vec::new(),
        notifications: Vec::new(),
        problems: Vec::new(),
    };
    if !run.json {
        println!(
            "walletd trigger {}: notifications to {}",
            args.event.name(),
            run.notify_url
        );
    }
    let played = run.play().await;
    server.abort();
    if let Err(e) = played {
        run.problems.push(format!("{e:#}"));
    }
    let ok = run.problems.is_empty();
    print_outcome(&run, ok)?;
    Ok(ExitCode::from(if ok { exit::OK } else { exit::NOT_AS_EXPECTED }))
}

/// The client's first registered appId, or "app" when it registered none.
async fn first_app_id(wallet: &Wallet, client_id: &str) -> anyhow::Result<String> {
    Ok(wallet
        .get_client(client_id)
        .await?
        .with_context(|| format!("no client {client_id} in this wallet's database"))?
        .app_ids
        .first()
        .cloned()
        .unwrap_or_else(|| "app".into()))
}

/// Starts the local notification endpoint on `listen`: the address it took and its task.
async fn serve_endpoint(
    listen: &str,
    endpoint: Endpoint,
) -> anyhow::Result<(std::net::SocketAddr, tokio::task::JoinHandle<std::io::Result<()>>)> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move {
        let app = Router::new().fallback(receive).with_state(endpoint);
        axum::serve(listener, app).await
    });
    Ok((addr, server))
}

/// How the flow ended: one JSON object (event, ok, steps, notifications, problems), or a line
/// and each problem.
fn print_outcome(run: &Run, ok: bool) -> anyhow::Result<()> {
    let event = run.event.name();
    if run.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "event": event,
                "ok": ok,
                "notifyUrl": run.notify_url,
                "steps": run.steps,
                "notifications": run.notifications,
                "problems": run.problems,
            }))?
        );
    } else if ok {
        println!("{event}: the flow ended as expected");
    } else {
        println!("{event}: the flow did NOT end as expected");
        for p in &run.problems {
            println!("  - {p}");
        }
    }
    Ok(())
}
