//! The cashier's HTML: minijinja templates compiled into the binary (crates/server/templates/),
//! auto-escaped, in the user's language (`crate::i18n`), and the values they show.

use crate::i18n::{Lang, PageLang};
use chrono::{DateTime, Utc};
use minijinja::Environment;
use serde::Serialize;
use std::sync::OnceLock;
use walletd_core::payments::{Payment, PaymentStatus};

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        crate::i18n::install(&mut env);
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

/// Renders `template` with `context` in the page's language (with the language switch); a
/// rendering failure is logged and shown as a plain error.
pub fn render<S: Serialize>(template: &str, page: &PageLang, context: &S) -> String {
    render_in(environment(), template, page, context)
}

/// [`render`] in another environment of wallet pages (the consent pages share the layout).
pub fn render_in<S: Serialize>(
    env: &Environment<'static>,
    template: &str,
    page: &PageLang,
    context: &S,
) -> String {
    let ctx = minijinja::context! {
        lang => page.lang.tag(),
        lang_links => page.lang.switch(&page.here),
        ..minijinja::Value::from_serialize(context)
    };
    env.get_template(template)
        .and_then(|t| t.render(ctx))
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
    /// The merchant's own order number, if it sent one.
    pub order_reference: Option<String>,
    /// e.g. `12.50 USD`, `1,500 JPY`, `1.234 KWD` (`12,50 USD`, `USD 12.50` in other languages).
    pub amount: String,
    /// `PROCESSING`, `SUCCESS`, `FAIL`, `CANCELLED`, or `EXPIRED` (unpaid and past its expiry).
    pub state: &'static str,
    pub fail_reason: Option<String>,
    /// e.g. `14 min`, `45 s` (the countdown script makes it tick).
    pub time_left: String,
    /// Whole seconds until the expiry (0 when past it).
    pub seconds_left: i64,
    /// e.g. `2026-11-22 14:30 UTC`; the script rewrites it in the browser's time zone.
    pub expires_at: String,
    /// RFC 3339, for `<time datetime>`.
    pub expires_at_iso: String,
    /// When it was paid (UTC text and RFC 3339), for the receipt.
    pub paid_at: Option<String>,
    pub paid_at_iso: Option<String>,
    pub return_url: Option<String>,
}

impl PaymentView {
    pub fn new(p: &Payment, merchant_name: String, now: DateTime<Utc>, lang: Lang) -> Self {
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
            order_reference: p.reference_order_id.clone().filter(|r| !r.trim().is_empty()),
            amount: lang.amount(p.amount()),
            state,
            fail_reason: p.fail_reason.clone(),
            time_left: time_left(p.expires_at, now, lang),
            seconds_left: (p.expires_at - now).num_seconds().max(0),
            expires_at: p.expires_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            expires_at_iso: p.expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            paid_at: p.paid_at.map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string()),
            paid_at_iso: p
                .paid_at
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            return_url: p.return_url.clone().filter(|u| is_web_url(u)),
        }
    }
}

/// `14 min`, `45 s`, `125 min`, or `expired`, in `lang` (without JavaScript the page shows this).
pub fn time_left(expires_at: DateTime<Utc>, now: DateTime<Utc>, lang: Lang) -> String {
    use fluent_templates::fluent_bundle::FluentValue;
    let secs = (expires_at - now).num_seconds();
    if secs <= 0 {
        return lang.t("time-expired");
    }
    if secs < 60 {
        return lang.t_with("time-left-seconds", &[("seconds", FluentValue::from(secs))]);
    }
    lang.t_with("time-left-minutes", &[("minutes", FluentValue::from(secs / 60))])
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notice {
    pub code: &'static str,
    pub text: String,
}

const NOTICE_CODES: &[&str] = &[
    "wrong_pin",
    "locked",
    "frozen",
    "balance",
    "limit",
    "other_user",
    "signin",
    "signin_to_cancel",
    "refused",
];

impl Notice {
    pub fn by_code(code: &str, lang: Lang) -> Option<Notice> {
        let code = NOTICE_CODES.iter().copied().find(|c| *c == code)?;
        Some(Notice {
            code,
            text: lang.t(&format!("notice-{}", code.replace('_', "-"))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn time_left_reads_like_a_person_would_say_it() {
        let now = Utc::now();
        let en = Lang::En;
        assert_eq!(time_left(now + Duration::seconds(45), now, en), "45 s");
        assert_eq!(
            time_left(now + Duration::seconds(14 * 60 + 59), now, en),
            "14 min"
        );
        assert_eq!(time_left(now + Duration::seconds(61), now, en), "1 min");
        assert_eq!(time_left(now, now, en), "expired");
        assert_eq!(time_left(now + Duration::seconds(600), now, Lang::Zh), "10 分钟");
    }

    #[test]
    fn every_notice_has_a_text_in_every_language() {
        for lang in Lang::ALL {
            for code in NOTICE_CODES {
                let n = Notice::by_code(code, lang).unwrap();
                assert!(!n.text.starts_with("Unknown"), "{code} {lang:?}: {}", n.text);
                assert!(lang.has(&format!("notice-{}", code.replace('_', "-"))), "{code}");
            }
        }
        assert!(Notice::by_code("<b>", Lang::En).is_none());
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
        let page = PageLang {
            lang: Lang::Es,
            here: "/cashier/x".into(),
        };
        let html = render(
            "message.html",
            &page,
            &Ctx {
                title: "t",
                heading: "<script>x</script>",
                text: "a & b",
            },
        );
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("lang=\"es\""), "{html}");
        assert!(environment().get_template("payment.html").is_ok());
    }
}
