//! Mini Program `notifyPayment` (docs/mini-program.md §15, §3): v1 body with `paymentStatus`, v2 body with
//! `paymentResult`, signed like a request with the notify URL's path and the merchant's client id,
//! acknowledged only by `result.resultStatus == "S"`.

use super::schedule::Schedule;
use super::{request_target, NotificationFormat, Outgoing};
use crate::config::NotifierConfig;
use crate::AppState;
use chrono::{DateTime, Utc};
use walletd_core::outbox::{OutboxEntry, OutboxKind};
use walletd_core::payments::{Channel, Payment, PaymentStatus};
use walletd_protocol::miniprogram::{format_body_time, NotifyPaymentV1, NotifyPaymentV2, ResultOnly};
use walletd_protocol::result::WireResult;
use walletd_protocol::signature::format_header;
use walletd_protocol::{content, time, ResultCode};

/// The Mini Program OpenAPI's notifications (v1 and v2).
pub struct MiniProgram;

/// The notifyPayment body of `p` in the dialect version it was created with.
pub fn payment_body(p: &Payment) -> Result<Vec<u8>, String> {
    let amount = p.amount().into();
    let payment_time = p.paid_at.map(format_body_time);
    let payment_create_time = Some(format_body_time(p.created_at));
    let body = match p.channel {
        Channel::MiniProgramV1 => serde_json::to_vec(&NotifyPaymentV1 {
            partner_id: p.partner_id.clone(),
            payment_id: p.payment_id.clone(),
            payment_request_id: p.payment_request_id.clone(),
            payment_amount: amount,
            payment_time,
            payment_create_time,
            payment_status: match p.status {
                PaymentStatus::Success => "SUCCESS".into(),
                _ => "FAIL".into(),
            },
            payment_fail_reason: p.fail_reason.clone(),
            extend_info: None,
        }),
        Channel::MiniProgramV2 => serde_json::to_vec(&NotifyPaymentV2 {
            payment_id: p.payment_id.clone(),
            payment_request_id: p.payment_request_id.clone(),
            payment_result: match p.status {
                PaymentStatus::Success => WireResult::of(ResultCode::Success),
                _ => WireResult::with_message(
                    ResultCode::ProcessFail,
                    p.fail_reason.as_deref().unwrap_or("The payment failed."),
                ),
            },
            payment_amount: amount,
            payment_time,
            payment_create_time,
            extend_info: None,
        }),
        other => {
            return Err(format!(
                "payment {} is of channel {}",
                p.payment_id,
                other.as_str()
            ))
        }
    };
    body.map_err(|e| e.to_string())
}

impl NotificationFormat for MiniProgram {
    fn render(&self, state: &AppState, entry: &OutboxEntry, now: DateTime<Utc>) -> Result<Outgoing, String> {
        if entry.kind != OutboxKind::PaymentResult {
            return Err("the Mini Program OpenAPI has no notification of this kind".into());
        }
        let payment: Payment = serde_json::from_value(entry.snapshot.clone())
            .map_err(|e| format!("unreadable snapshot: {e}"))?;
        let body = payment_body(&payment)?;
        let path = request_target(&entry.url)?;
        let request_time = time::format_response_time(now.fixed_offset());
        let signed = content::mini_program("POST", &path, &entry.client_id, &request_time, &body);
        let key = &state.wallet_key;
        let raw = key
            .key
            .sign(&signed)
            .map_err(|e| format!("signing failed: {e}"))?;
        Ok(Outgoing {
            headers: vec![
                ("content-type", "application/json; charset=UTF-8".into()),
                ("client-id", entry.client_id.clone()),
                ("request-time", request_time),
                ("signature", format_header(key.key.algorithm(), key.version, &raw)),
            ],
            body,
        })
    }

    fn schedule(&self, config: &NotifierConfig, _entry: &OutboxEntry) -> Schedule {
        Schedule::from_gaps_ms(&config.retry_gaps_ms)
    }

    fn is_acknowledged(&self, http_status: u16, body: &[u8]) -> bool {
        (200..300).contains(&http_status)
            && serde_json::from_slice::<ResultOnly>(body).is_ok_and(|a| a.result.result_status == "S")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_s_result_acknowledges() {
        let f = MiniProgram;
        let ack = br#"{"result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success"}}"#;
        assert!(f.is_acknowledged(200, ack));
        assert!(!f.is_acknowledged(500, ack));
        assert!(!f.is_acknowledged(
            200,
            br#"{"result":{"resultCode":"PROCESS_FAIL","resultStatus":"F","resultMessage":"no"}}"#
        ));
        assert!(!f.is_acknowledged(
            200,
            br#"{"result":{"resultCode":"UNKNOWN_EXCEPTION","resultStatus":"U","resultMessage":"?"}}"#
        ));
        assert!(!f.is_acknowledged(200, b"OK"));
        assert!(!f.is_acknowledged(200, b""));
    }
}
