//! What `admin` list and show commands print for each record, as text and as JSON. Nothing secret
//! is ever shown: no PIN hash, no token, no store secret.

use super::output::{money_json, money_text};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};
use walletd_core::ledger::Account;
use walletd_core::outbox::OutboxEntry;
use walletd_core::parties::{Client, Limits, User};
use walletd_core::payments::Payment;
use walletd_core::refunds::Refund;
use walletd_protocol::Currency;

pub fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn opt_time(t: Option<DateTime<Utc>>) -> String {
    t.map(time).unwrap_or_else(|| "-".into())
}

fn limits_json(limits: &std::collections::BTreeMap<String, Limits>) -> Value {
    let mut out = serde_json::Map::new();
    for (code, l) in limits {
        let Some(c) = Currency::from_code(code) else {
            continue;
        };
        out.insert(
            code.clone(),
            json!({
                "per_payment": l.per_payment_minor.map(|m| money_json(c, m)),
                "daily": l.daily_minor.map(|m| money_json(c, m)),
            }),
        );
    }
    Value::Object(out)
}

pub fn limits_text(limits: &std::collections::BTreeMap<String, Limits>) -> String {
    let mut parts = Vec::new();
    for (code, l) in limits {
        let Some(c) = Currency::from_code(code) else {
            continue;
        };
        if let Some(m) = l.per_payment_minor {
            parts.push(format!("per payment {}", money_text(c, m)));
        }
        if let Some(m) = l.daily_minor {
            parts.push(format!("daily {}", money_text(c, m)));
        }
    }
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join(", ")
    }
}

pub fn keys_text(c: &Client) -> String {
    c.keys
        .iter()
        .map(|k| {
            format!(
                "v{}{} {}",
                k.version,
                if k.removed { " (removed)" } else { "" },
                k.algorithm
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn client_json(c: &Client) -> Value {
    json!({
        "client_id": c.client_id,
        "name": c.name,
        "partner_id": c.partner_id,
        "app_ids": c.app_ids,
        "status": c.status.as_str(),
        "currencies": c.currencies.iter().map(|c| c.code()).collect::<Vec<_>>(),
        "limits": limits_json(&c.limits),
        "default_notify_url": c.default_notify_url,
        "redirect_urls": c.redirect_urls,
        "keys": c.keys.iter().map(|k| json!({
            "version": k.version,
            "algorithm": k.algorithm,
            "added_at": time(k.added_at),
            "removed": k.removed,
        })).collect::<Vec<_>>(),
        "created_at": time(c.created_at),
    })
}

pub fn balances_json(accounts: &[Account]) -> Vec<Value> {
    accounts.iter().map(account_json).collect()
}

pub fn account_json(a: &Account) -> Value {
    json!({
        "kind": a.kind.as_str(),
        "owner_id": a.owner_id,
        "currency": a.currency.code(),
        "posted": money_json(a.currency, a.credits_posted.saturating_sub(a.debits_posted)),
        "held": money_json(a.currency, a.debits_pending),
        "available": money_json(a.currency, a.available_balance()),
    })
}

pub fn user_json(u: &User, accounts: &[Account]) -> Value {
    json!({
        "user_id": u.user_id,
        "login": u.login,
        "display_name": u.display_name,
        "status": u.status.as_str(),
        "has_pin": u.pin_hash.is_some(),
        "failed_pin_attempts": u.failed_pin_attempts,
        "limits": limits_json(&u.limits),
        "balances": balances_json(accounts),
        "created_at": time(u.created_at),
    })
}

pub fn available_text(accounts: &[Account]) -> String {
    let s: Vec<String> = accounts
        .iter()
        .map(|a| money_text(a.currency, a.available_balance()))
        .collect();
    if s.is_empty() {
        "-".into()
    } else {
        s.join(", ")
    }
}

pub fn payment_json(p: &Payment) -> Value {
    json!({
        "payment_id": p.payment_id,
        "client_id": p.client_id,
        "payment_request_id": p.payment_request_id,
        "channel": p.channel.as_str(),
        "scenario": p.scenario.fingerprint_name(),
        "amount": money_json(p.currency, p.amount_minor),
        "refunded": money_json(p.currency, p.refunded_minor),
        "captured": money_json(p.currency, p.captured_minor),
        "authorization": p.authorization,
        "status": p.status.as_str(),
        "payer_user_id": p.payer_user_id,
        "order_title": p.order_title,
        "reference_order_id": p.reference_order_id,
        "notify_url": p.notify_url,
        "fail_reason": p.fail_reason,
        "created_at": time(p.created_at),
        "expires_at": time(p.expires_at),
        "paid_at": p.paid_at.map(time),
        "closed_at": p.closed_at.map(time),
        "hold_transfer_id": p.hold_transfer_id,
        "settle_transfer_id": p.settle_transfer_id,
    })
}

pub fn refund_json(r: &Refund) -> Value {
    json!({
        "refund_id": r.refund_id,
        "client_id": r.client_id,
        "refund_request_id": r.refund_request_id,
        "payment_id": r.payment_id,
        "payment_request_id": r.payment_request_id,
        "amount": money_json(r.currency, r.amount_minor),
        "reason": r.reason,
        "status": format!("{:?}", r.status).to_ascii_uppercase(),
        "transfer_id": r.transfer_id,
        "created_at": time(r.created_at),
        "refunded_at": r.refunded_at.map(time),
    })
}

pub fn notification_json(e: &OutboxEntry) -> Value {
    json!({
        "id": e.id,
        "client_id": e.client_id,
        "kind": format!("{:?}", e.kind),
        "subject_id": e.subject_id,
        "url": e.url,
        "status": e.status.as_str(),
        "next_attempt_at": time(e.next_attempt_at),
        "created_at": time(e.created_at),
        "attempts": e.attempts.iter().map(|a| json!({
            "at": time(a.at),
            "http_status": a.http_status,
            "latency_ms": a.latency_ms,
            "delivered": a.delivered,
            "answer": a.answer,
            "request": a.sent.as_ref().map(|s| json!({
                "method": s.method,
                "url": s.url,
                "headers": s.headers.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
                "body": s.body,
                "body_truncated": s.body_truncated,
            })),
        })).collect::<Vec<_>>(),
    })
}

/// `notification show` as text: where it goes, then each attempt with the exact request sent
/// and the answer.
pub fn notification_text(e: &OutboxEntry) -> String {
    let mut out = String::new();
    out.push_str(&format!("notification {}\n", e.id));
    out.push_str(&format!("client:          {}\n", e.client_id));
    out.push_str(&format!("about:           {:?} {}\n", e.kind, e.subject_id));
    out.push_str(&format!("url:             {}\n", e.url));
    out.push_str(&format!("status:          {}\n", e.status.as_str()));
    out.push_str(&format!("created at:      {}\n", time(e.created_at)));
    out.push_str(&format!("next attempt at: {}\n", time(e.next_attempt_at)));
    out.push_str(&format!("attempts:        {}\n", e.attempts.len()));
    for (i, a) in e.attempts.iter().enumerate() {
        out.push_str(&format!(
            "\n--- attempt {} at {}: HTTP {}, {} ms, {}\n",
            i + 1,
            time(a.at),
            a.http_status.map_or("-".to_owned(), |s| s.to_string()),
            a.latency_ms,
            if a.delivered { "delivered" } else { "not delivered" }
        ));
        match &a.sent {
            Some(s) => {
                out.push_str(&format!("{} {}\n", s.method, s.url));
                for (k, v) in &s.headers {
                    out.push_str(&format!("{k}: {v}\n"));
                }
                out.push('\n');
                out.push_str(&s.body);
                out.push('\n');
                if s.body_truncated {
                    out.push_str("[body cut at 64 KiB]\n");
                }
            }
            None => out.push_str("(no request was sent or recorded)\n"),
        }
        out.push_str(&format!("answer: {}\n", a.answer));
    }
    out
}
