//! The cashier's HTML: minijinja templates compiled into the binary (crates/server/templates/),
//! auto-escaped, and the values they show.

use chrono::{DateTime, Utc};
use minijinja::Environment;
use serde::Serialize;
use std::sync::OnceLock;
use walletd_core::payments::{Payment, PaymentStatus};

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        let templates = [
            ("base.html", include_str!("../../templates/cashier/base.html")),
            (
                "payment.html",
                include_str!("../../templates/cashier/payment.html"),
            ),
            (
                "message.html",
                include_str!("../../templates/cashier/message.html"),
            ),
        ];
        for (name, source) in templates {
            if let Err(e) = env.add_template(name, source) {
                // Templates are part of the binary and checked by the tests; a broken one is a bug.
                tracing::error!(template = name, error = %e, "cashier template does not compile");
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
            tracing::error!(template, error = %e, "rendering a cashier page failed");
            "<!doctype html><title>Error</title><p>This page cannot be shown right now.</p>".into()
        })
}

/// What the payment page shows about the payment.
#[derive(Debug, Serialize)]
pub struct PaymentView {
    pub payment_id: String,
    pub merchant_name: String,
    pub order_title: String,
    /// e.g. `12.50 USD`, `1500 JPY`, `1.234 KWD`.
    pub amount: String,
    /// `PROCESSING`, `SUCCESS`, `FAIL`, `CANCELLED`, or `EXPIRED` (unpaid and past its expiry).
    pub state: &'static str,
    pub fail_reason: Option<String>,
    /// e.g. `14 min left`.
    pub time_left: String,
    /// e.g. `2026-11-22 14:30 UTC`.
    pub expires_at: String,
    pub return_url: Option<String>,
}

impl PaymentView {
    pub fn new(p: &Payment, merchant_name: String, now: DateTime<Utc>) -> Self {
        let state = match p.status {
            PaymentStatus::Processing if now >= p.expires_at => "EXPIRED",
            PaymentStatus::Processing => "PROCESSING",
            PaymentStatus::Success => "SUCCESS",
            PaymentStatus::Fail
                if p.fail_reason.as_deref() == Some(walletd_core::payments::EXPIRED_REASON) =>
            {
                "EXPIRED"
            }
            PaymentStatus::Fail if p.fail_reason.as_deref() == Some(super::USER_CANCEL_REASON) => "CANCELLED",
            PaymentStatus::Fail => "FAIL",
            PaymentStatus::Cancelled => "CANCELLED",
        };
        PaymentView {
            payment_id: p.payment_id.clone(),
            merchant_name,
            order_title: p.order_title.clone(),
            amount: format_amount(p.amount()),
            state,
            fail_reason: p.fail_reason.clone(),
            time_left: time_left(p.expires_at, now),
            expires_at: p.expires_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            return_url: p.return_url.clone().filter(|u| is_web_url(u)),
        }
    }
}

/// An amount as people read it: major units by the currency's exponent, then the code.
pub fn format_amount(a: walletd_protocol::Amount) -> String {
    format!("{} {}", a.format_major(), a.currency().code())
}

/// `14 min left`, `45 s left`, `2 h 5 min left`, or `expired`.
pub fn time_left(expires_at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (expires_at - now).num_seconds();
    if secs <= 0 {
        return "expired".into();
    }
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s} s left"),
        (0, m) => format!("{m} min left"),
        (h, 0) => format!("{h} h left"),
        (h, m) => format!("{h} h {m} min left"),
    }
}

/// Only `http(s)` links are followed or shown (never `javascript:` and the like).
pub fn is_web_url(url: &str) -> bool {
    reqwest::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
}

/// The signed-in user as the page shows them.
#[derive(Debug, Serialize)]
pub struct PayerView {
    pub name: String,
    pub login: String,
    /// Available balance in the payment's currency.
    pub balance: String,
    pub balance_covers: bool,
}

/// A message on the payment page after an action, by a fixed code (never echoed user input).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Notice {
    pub code: &'static str,
    pub text: &'static str,
}

const NOTICES: &[Notice] = &[
    Notice {
        code: "wrong_pin",
        text: "The login or PIN is wrong. Several wrong PINs in a row lock the sign-in.",
    },
    Notice {
        code: "locked",
        text: "Too many wrong PINs: sign-in to this wallet is locked. Contact support to unlock it.",
    },
    Notice {
        code: "frozen",
        text: "This wallet account is frozen and cannot pay. Contact support.",
    },
    Notice {
        code: "balance",
        text:
            "Your available balance is not enough for this payment. Top up your wallet, then press Pay again.",
    },
    Notice {
        code: "limit",
        text: "This payment is above your wallet's spending limit.",
    },
    Notice {
        code: "other_user",
        text: "This payment is for another wallet user. Sign in with that account.",
    },
    Notice {
        code: "signin",
        text: "Please sign in to pay.",
    },
    Notice {
        code: "signin_to_cancel",
        text: "Only the payer can cancel a payment: sign in first. Leaving this page changes nothing.",
    },
    Notice {
        code: "refused",
        text: "The wallet could not take this payment. Try again, or contact support.",
    },
];

impl Notice {
    pub fn by_code(code: &str) -> Option<Notice> {
        NOTICES.iter().copied().find(|n| n.code == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn time_left_reads_like_a_person_would_say_it() {
        let now = Utc::now();
        assert_eq!(time_left(now + Duration::seconds(45), now), "45 s left");
        assert_eq!(
            time_left(now + Duration::seconds(14 * 60 + 59), now),
            "14 min left"
        );
        assert_eq!(time_left(now + Duration::seconds(3600), now), "1 h left");
        assert_eq!(
            time_left(now + Duration::seconds(2 * 3600 + 300), now),
            "2 h 5 min left"
        );
        assert_eq!(time_left(now, now), "expired");
    }

    #[test]
    fn amounts_follow_the_currency_exponent() {
        let a = |c: &str, v: &str| format_amount(walletd_protocol::Amount::parse_wire(c, v).unwrap());
        assert_eq!(a("USD", "1250"), "12.50 USD");
        assert_eq!(a("JPY", "1500"), "1500 JPY");
        assert_eq!(a("KWD", "1234"), "1.234 KWD");
    }

    #[test]
    fn only_web_links_are_followed() {
        assert!(is_web_url("https://shop.example/done?o=1"));
        assert!(is_web_url("http://127.0.0.1:9/x"));
        assert!(!is_web_url("javascript:alert(1)"));
        assert!(!is_web_url("/relative"));
    }

    #[test]
    fn every_template_compiles_and_escapes() {
        #[derive(Serialize)]
        struct Ctx {
            title: &'static str,
            heading: &'static str,
            text: &'static str,
        }
        let html = render(
            "message.html",
            &Ctx {
                title: "t",
                heading: "<script>x</script>",
                text: "a & b",
            },
        );
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("<script>"), "{html}");
        assert!(environment().get_template("payment.html").is_ok());
    }
}
