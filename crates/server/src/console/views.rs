//! The console's HTML: minijinja templates compiled into the binary
//! (crates/server/templates/console/), auto-escaped, and the values they show.

use chrono::{DateTime, Utc};
use minijinja::Environment;
use serde::Serialize;
use std::sync::OnceLock;
use walletd_core::ledger::Transfer;
use walletd_core::outbox::OutboxEntry;
use walletd_core::payments::Payment;
use walletd_protocol::{Amount, Currency};

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        // Query-string values in links (ids may hold characters a URL reserves).
        env.add_filter("urlencode", |v: String| -> String {
            form_urlencoded::byte_serialize(v.as_bytes()).collect()
        });
        let templates = [
            ("base.html", include_str!("../../templates/console/base.html")),
            (
                "sign_in.html",
                include_str!("../../templates/console/sign_in.html"),
            ),
            (
                "payments.html",
                include_str!("../../templates/console/payments.html"),
            ),
            (
                "payment.html",
                include_str!("../../templates/console/payment.html"),
            ),
            (
                "parties.html",
                include_str!("../../templates/console/parties.html"),
            ),
            ("outbox.html", include_str!("../../templates/console/outbox.html")),
            ("books.html", include_str!("../../templates/console/books.html")),
            ("audit.html", include_str!("../../templates/console/audit.html")),
            (
                "confirm.html",
                include_str!("../../templates/console/confirm.html"),
            ),
            (
                "message.html",
                include_str!("../../templates/console/message.html"),
            ),
        ];
        for (name, source) in templates {
            if let Err(e) = env.add_template(name, source) {
                // Templates are part of the binary and checked by the tests; a broken one is a bug.
                tracing::error!(template = name, error = %e, "console template does not compile");
            }
        }
        env
    })
}

/// Renders `template` with `context`; a rendering failure is logged and shown as a plain error.
pub fn render<S: Serialize>(template: &str, context: &S) -> String {
    environment()
        .get_template(template)
        .and_then(|t| t.render(context))
        .unwrap_or_else(|e| {
            tracing::error!(template, error = %e, "rendering a console page failed");
            "<!doctype html><title>Error</title><p>This page cannot be shown right now.</p>".into()
        })
}

/// `2026-11-22 14:30:05 UTC`.
pub fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// `12.50 USD`; a negative amount (an overdrawn sum, shown by the books) keeps its sign.
pub fn money(currency: Currency, minor: i64) -> String {
    match Amount::from_minor(currency, minor.checked_abs().unwrap_or(i64::MAX)) {
        Ok(a) if minor < 0 => format!("-{} {}", a.format_major(), currency.code()),
        Ok(a) => format!("{} {}", a.format_major(), currency.code()),
        Err(_) => format!("{minor} (minor units) {}", currency.code()),
    }
}

/// One row of the payment list.
#[derive(Debug, Serialize)]
pub struct PaymentRow {
    pub payment_id: String,
    pub payment_request_id: String,
    pub client_id: String,
    pub payer_user_id: String,
    pub amount: String,
    pub status: &'static str,
    pub created_at: String,
    pub order_title: String,
}

impl PaymentRow {
    pub fn new(p: &Payment) -> Self {
        PaymentRow {
            payment_id: p.payment_id.clone(),
            payment_request_id: p.payment_request_id.clone(),
            client_id: p.client_id.clone(),
            payer_user_id: p.payer_user_id.clone().unwrap_or_default(),
            amount: money(p.currency, p.amount_minor),
            status: p.status.as_str(),
            created_at: time(p.created_at),
            order_title: p.order_title.clone(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct TransferRow {
    pub id: i64,
    pub kind: &'static str,
    pub code: String,
    pub debit_account_id: i64,
    pub credit_account_id: i64,
    pub amount: String,
    pub pending_id: Option<i64>,
    pub reference: String,
    pub created_at: String,
}

impl TransferRow {
    pub fn new(t: &Transfer) -> Self {
        TransferRow {
            id: t.id,
            kind: t.kind.as_str(),
            code: t.code.clone(),
            debit_account_id: t.debit_account_id,
            credit_account_id: t.credit_account_id,
            amount: money(t.currency, t.amount_minor),
            pending_id: t.pending_id,
            reference: t.reference.clone(),
            created_at: time(t.created_at),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct AttemptView {
    pub number: usize,
    pub at: String,
    pub http_status: String,
    pub latency_ms: u64,
    pub delivered: bool,
    pub answer: String,
    pub sent_headers: Vec<(String, String)>,
    pub sent_body: Option<String>,
    pub body_truncated: bool,
}

#[derive(Debug, Serialize)]
pub struct NotificationView {
    pub id: String,
    pub client_id: String,
    pub kind: String,
    pub subject_id: String,
    pub url: String,
    pub status: &'static str,
    pub next_attempt_at: String,
    pub created_at: String,
    pub attempt_count: usize,
    pub attempts: Vec<AttemptView>,
}

impl NotificationView {
    pub fn new(e: &OutboxEntry) -> Self {
        NotificationView {
            id: e.id.clone(),
            client_id: e.client_id.clone(),
            kind: serde_json::to_value(e.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            subject_id: e.subject_id.clone(),
            url: e.url.clone(),
            status: e.status.as_str(),
            next_attempt_at: time(e.next_attempt_at),
            created_at: time(e.created_at),
            attempt_count: e.attempts.len(),
            attempts: e
                .attempts
                .iter()
                .enumerate()
                .map(|(i, a)| AttemptView {
                    number: i + 1,
                    at: time(a.at),
                    http_status: a.http_status.map_or_else(|| "none".into(), |s| s.to_string()),
                    latency_ms: a.latency_ms,
                    delivered: a.delivered,
                    answer: a.answer.clone(),
                    sent_headers: a.sent.as_ref().map(|s| s.headers.clone()).unwrap_or_default(),
                    sent_body: a.sent.as_ref().map(|s| s.body.clone()),
                    body_truncated: a.sent.as_ref().is_some_and(|s| s.body_truncated),
                })
                .collect(),
        }
    }
}
