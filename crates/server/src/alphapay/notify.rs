//! AlphaPay notifications (docs/alphapay.md, Notifications): after a payment succeeds, and after a
//! refund succeeds, a POST to the order's (or refund's) `notifyUrl`.
//!
//! - Body: the inquiryPayment / inquiryRefund answer without its `result`.
//! - Headers `Merchant-Code`, `Request-Time`, `Nonce`, `Signature` (and `Content-Type`), signed
//!   like an answer: `POST <notify URL path>\n<Merchant-Code>.<Request-Time>.<Nonce>.<body>`.
//! - Schedule: a payment gets 3 immediate attempts, then one every 30 minutes as long as that is
//!   within 24 hours of the payment; a refund gets one attempt.
//! - Acknowledgement: AlphaPay publishes none we could find (docs/choices.md, Notifications): any 2xx answer
//!   counts, unless its body is a JSON `result` whose `resultStatus` is not `S`.
//!
//! The renderer and the schedule are pure functions of the outbox row; [`AlphaPayNotifications`]
//! plugs them into the notifier.

use super::payments::{payment_view, refund_view};
use super::JSON_CONTENT_TYPE;
use crate::config::NotifierConfig;
use crate::notifier::schedule::Schedule;
use crate::notifier::{request_target, NotificationFormat, Outgoing};
use crate::{AppState, WalletKey};
use chrono::{DateTime, Duration, Utc};
use walletd_core::outbox::{OutboxEntry, OutboxKind};
use walletd_core::payments::{Payment, PaymentStatus};
use walletd_core::refunds::{Refund, RefundStatus};
use walletd_protocol::alphapay::ResultOnly;
use walletd_protocol::content;
use walletd_protocol::signature::format_header_alphapay;

/// Attempts made at once after a payment succeeds.
pub const PAYMENT_NOTIFY_IMMEDIATE_ATTEMPTS: u32 = 3;
/// The wait between later attempts.
pub const PAYMENT_NOTIFY_RETRY_SECS: i64 = 30 * 60;
/// No attempt later than this after the payment.
pub const PAYMENT_NOTIFY_HORIZON_SECS: i64 = 24 * 3600;

/// The body and signed headers of a notification.
///
/// `snapshot` is the outbox row's snapshot (a core `Payment` for `PaymentResult`, a `Refund` for
/// `RefundResult`), `notify_url` where it goes, `now` the send time and `nonce` a fresh
/// 32-character nonce. An `Err` is a row that can never be sent: AlphaPay notifies only
/// successful payments and refunds.
pub fn render_notification(
    kind: OutboxKind,
    snapshot: &serde_json::Value,
    notify_url: &str,
    wallet_key: &WalletKey,
    now: DateTime<Utc>,
    nonce: &str,
) -> Result<Outgoing, String> {
    let (merchant_code, body) = match kind {
        OutboxKind::PaymentResult => {
            let p: Payment = serde_json::from_value(snapshot.clone())
                .map_err(|e| format!("unreadable payment snapshot: {e}"))?;
            if p.status != PaymentStatus::Success {
                return Err(format!(
                    "AlphaPay notifies successful payments only; payment {} is {}",
                    p.payment_id,
                    p.status.as_str()
                ));
            }
            let body = serde_json::to_vec(&payment_view(&p, now)).map_err(|e| e.to_string())?;
            (p.client_id, body)
        }
        OutboxKind::RefundResult => {
            let r: Refund = serde_json::from_value(snapshot.clone())
                .map_err(|e| format!("unreadable refund snapshot: {e}"))?;
            if r.status != RefundStatus::Success {
                return Err(format!(
                    "AlphaPay notifies successful refunds only; refund {} is {}",
                    r.refund_id,
                    r.status.as_str()
                ));
            }
            let body = serde_json::to_vec(&refund_view(&r)).map_err(|e| e.to_string())?;
            (r.client_id, body)
        }
    };
    let path = request_target(notify_url)?;
    let request_time = super::alphapay_time(now);
    let signed = content::alphapay("POST", &path, &merchant_code, &request_time, nonce, &body);
    let raw = wallet_key
        .key
        .sign(&signed)
        .map_err(|e| format!("signing failed: {e}"))?;
    Ok(Outgoing {
        headers: vec![
            ("content-type", JSON_CONTENT_TYPE.into()),
            ("merchant-code", merchant_code),
            ("request-time", request_time),
            ("nonce", nonce.to_owned()),
            ("signature", format_header_alphapay(wallet_key.version, &raw)),
        ],
        body,
    })
}

/// When a failed notification is tried again: payments 3 at once, then every 30 minutes until 24
/// hours after the payment; refunds never (one attempt).
pub fn notification_schedule(kind: OutboxKind, snapshot: &serde_json::Value) -> Schedule {
    match kind {
        OutboxKind::RefundResult => Schedule::Gaps(Vec::new()),
        OutboxKind::PaymentResult => {
            let paid_at = serde_json::from_value::<Payment>(snapshot.clone())
                .ok()
                .and_then(|p| p.paid_at.or(Some(p.created_at)));
            match paid_at {
                Some(paid_at) => Schedule::BurstThenEvery {
                    burst: PAYMENT_NOTIFY_IMMEDIATE_ATTEMPTS,
                    burst_gap: Duration::zero(),
                    every: Duration::seconds(PAYMENT_NOTIFY_RETRY_SECS),
                    until: paid_at + Duration::seconds(PAYMENT_NOTIFY_HORIZON_SECS),
                },
                // Unreadable: render refuses it anyway; do not retry.
                None => Schedule::Gaps(Vec::new()),
            }
        }
    }
}

/// True if the merchant's answer means "received": any 2xx, unless the body is a JSON `result`
/// that is not `S`.
pub fn is_acknowledged(http_status: u16, body: &[u8]) -> bool {
    (200..300).contains(&http_status)
        && serde_json::from_slice::<ResultOnly>(body).map_or(true, |a| a.result.result_status == "S")
}

/// The AlphaPay notifications, for the notifier.
pub struct AlphaPayNotifications;

impl NotificationFormat for AlphaPayNotifications {
    fn render(&self, state: &AppState, entry: &OutboxEntry, now: DateTime<Utc>) -> Result<Outgoing, String> {
        let nonce = state.wallet.ids().random_hex(super::NONCE_CHARS / 2);
        render_notification(
            entry.kind,
            &entry.snapshot,
            &entry.url,
            &state.wallet_key,
            now,
            &nonce,
        )
    }

    fn schedule(&self, _config: &NotifierConfig, entry: &OutboxEntry) -> Schedule {
        notification_schedule(entry.kind, &entry.snapshot)
    }

    fn is_acknowledged(&self, http_status: u16, body: &[u8]) -> bool {
        is_acknowledged(http_status, body)
    }

    /// The AlphaPay document says header names are case-sensitive and spells them `Signature`,
    /// `Merchant-Code`, `Request-Time`, `Nonce`, `Content-Type`.
    fn title_case_headers(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn paid_at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
    }

    fn payment_snapshot(status: &str) -> serde_json::Value {
        serde_json::json!({
            "payment_id": "p-1", "client_id": "CXVJIU", "payment_request_id": "r-1",
            "channel": "alpha_pay", "scenario": "cashier", "currency": "CAD",
            "amount_minor": 1234, "refunded_minor": 0, "status": status,
            "payer_user_id": "alice", "hold_transfer_id": null, "settle_transfer_id": null,
            "order_title": "Tea", "reference_order_id": null, "merchant_display_name": null,
            "partner_id": "CXVJIU", "app_id": null, "notify_url": "https://m.example/n?x=1",
            "return_url": null, "extend_info": "{\"scenarioCode\":\"ONLINE_QRCODE\"}",
            "created_at": "2026-03-01T11:59:00Z", "expires_at": "2026-03-01T12:04:00Z",
            "paid_at": paid_at().to_rfc3339(), "closed_at": null, "fail_reason": null
        })
    }

    #[test]
    fn a_payment_is_tried_three_times_at_once_then_half_hourly_for_a_day() {
        let s = notification_schedule(OutboxKind::PaymentResult, &payment_snapshot("SUCCESS"));
        let t = paid_at();
        assert_eq!(s.next_attempt_at(1, t, 0), Some(t));
        assert_eq!(s.next_attempt_at(2, t, 0), Some(t));
        assert_eq!(s.next_attempt_at(3, t, 0), Some(t + Duration::minutes(30)));
        let late = t + Duration::hours(23) + Duration::minutes(30);
        assert_eq!(s.next_attempt_at(50, late, 0), Some(t + Duration::hours(24)));
        assert_eq!(s.next_attempt_at(51, late + Duration::minutes(1), 0), None);
        // Attempts in all for a merchant that never answers: 3 at once, then one every 30 minutes.
        let mut now = t;
        let mut attempts = 1;
        while let Some(next) = s.next_attempt_at(attempts, now, 0) {
            now = next;
            attempts += 1;
            assert!(attempts < 100, "the schedule must end");
        }
        assert_eq!(attempts, 3 + 48);
    }

    #[test]
    fn a_refund_is_tried_once() {
        let s = notification_schedule(OutboxKind::RefundResult, &serde_json::json!({}));
        assert_eq!(s.next_attempt_at(1, paid_at(), 0), None);
    }

    #[test]
    fn acknowledgements_are_2xx_unless_the_body_says_otherwise() {
        assert!(is_acknowledged(200, b""));
        assert!(is_acknowledged(204, b"OK"));
        assert!(is_acknowledged(
            200,
            br#"{"result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"ok"}}"#
        ));
        assert!(!is_acknowledged(
            200,
            br#"{"result":{"resultCode":"PROCESS_FAIL","resultStatus":"F","resultMessage":"no"}}"#
        ));
        assert!(!is_acknowledged(500, b"OK"));
        assert!(!is_acknowledged(302, b""));
    }

    #[test]
    fn only_successful_payments_are_rendered_and_the_signature_covers_path_and_nonce() {
        let key = WalletKey {
            key: walletd_protocol::crypto::PrivateKey::generate(walletd_protocol::crypto::Algorithm::Rsa256)
                .unwrap(),
            version: 1,
        };
        let nonce = "0123456789abcdef0123456789abcdef";
        let now = paid_at();
        let url = "https://m.example/n?x=1";
        let out = render_notification(
            OutboxKind::PaymentResult,
            &payment_snapshot("SUCCESS"),
            url,
            &key,
            now,
            nonce,
        )
        .unwrap();
        let h = |name: &str| {
            out.headers
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        assert_eq!(h("merchant-code"), "CXVJIU");
        assert_eq!(h("nonce"), nonce);
        let sig = walletd_protocol::signature::SignatureHeader::parse(&h("signature")).unwrap();
        let signed = content::alphapay("POST", "/n?x=1", "CXVJIU", &h("request-time"), nonce, &out.body);
        key.public_key().verify(&signed, &sig.signature).unwrap();
        let body: serde_json::Value = serde_json::from_slice(&out.body).unwrap();
        assert_eq!(body["paymentStatus"], "SUCCESS");
        assert_eq!(body["scenarioCode"], "ONLINE_QRCODE");
        assert_eq!(body["order"]["orderAmount"]["value"], "1234");
        assert!(body.get("result").is_none());
        let failed = render_notification(
            OutboxKind::PaymentResult,
            &payment_snapshot("FAIL"),
            url,
            &key,
            now,
            nonce,
        );
        assert!(failed.unwrap_err().contains("successful payments only"));
    }
}
