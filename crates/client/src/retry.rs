//! Doing the right thing when the outcome is unknown (docs/mini-program.md §9–§12, docs/result-codes.md).
//!
//! A payment answered with `U` — or a request whose answer never came back — may or may not have
//! happened. Treating it as failed and asking again with a new id can charge the user twice;
//! treating it as paid can ship goods for nothing. The wallet's rules are:
//!
//! - re-send with the **same** `paymentRequestId` (or `refundRequestId`): the wallet recognises the
//!   repeat and answers with the state of the first one;
//! - on `U` (`UNKNOWN_EXCEPTION`, `PAYMENT_IN_PROCESS`, `REQUEST_TRAFFIC_EXCEED_LIMIT`, …) inquire
//!   every 5 s for up to a minute;
//! - if it is still not final, say so: it is neither failed nor paid.
//!
//! Every loop here is bounded by the [`RetryPolicy`].

use serde::Serialize;
use std::time::Duration;

use walletd_protocol::miniprogram::{
    InquiryPaymentResponse, InquiryRefundResponse, PayRequestV1, PayRequestV2, PayResponse,
    PaymentLookupRequest, RefundLookupRequest, RefundRequest, RefundResponse,
};
use walletd_protocol::result::WireResult;
use walletd_protocol::{ResultCode, ResultStatus};

use crate::miniprogram::{decode, MiniProgramClient, RequestOptions, Verified};
use crate::{ClientError, WalletAnswer};

/// How often and how long to re-send and to inquire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// How many times one request is sent in all when the transport fails (at least 1).
    pub send_attempts: u32,
    /// The pause before the first re-send; it doubles with each further re-send.
    pub send_backoff: Duration,
    /// The pause between two inquiries.
    pub poll_interval: Duration,
    /// How long to keep inquiring before answering "still unknown".
    pub poll_budget: Duration,
}

impl Default for RetryPolicy {
    /// Three sends 1 s and 2 s apart; inquire every 5 s for up to a minute (the wallet's advice).
    fn default() -> Self {
        RetryPolicy {
            send_attempts: 3,
            send_backoff: Duration::from_secs(1),
            poll_interval: Duration::from_secs(5),
            poll_budget: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// No re-sends and no inquiries: the first answer is the outcome.
    pub fn none() -> Self {
        RetryPolicy {
            send_attempts: 1,
            send_backoff: Duration::ZERO,
            poll_interval: Duration::ZERO,
            poll_budget: Duration::ZERO,
        }
    }

    /// How many inquiries fit in the budget (the budget divided by the interval, rounded up; at
    /// least one when there is a budget at all).
    pub fn max_polls(&self) -> u32 {
        if self.poll_budget.is_zero() {
            return 0;
        }
        if self.poll_interval.is_zero() {
            return 1;
        }
        let n = self
            .poll_budget
            .as_nanos()
            .div_ceil(self.poll_interval.as_nanos());
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    fn backoff(&self, resend: u32) -> Duration {
        self.send_backoff
            .saturating_mul(2u32.saturating_pow(resend.saturating_sub(1).min(16)))
    }
}

/// What became of a payment.
#[derive(Debug, Clone, PartialEq)]
pub enum PaymentOutcome {
    /// The money moved (`S` from pay, or `paymentStatus` SUCCESS from an inquiry).
    Paid {
        payment_id: Option<String>,
        payment_time: Option<String>,
    },
    /// `A`: the wallet accepted the payment and the user continues at the cashier (the action form
    /// is in the answer). The final state arrives as a notification, or by inquiry.
    Accepted(Box<PayResponse>),
    /// It did not happen and will not: `F` from pay, `paymentStatus` FAIL or CANCELLED, or
    /// `ORDER_NOT_EXIST` (the wallet never accepted it).
    Failed {
        payment_id: Option<String>,
        /// The `F` result, when the wallet answered with one.
        result: Option<WireResult>,
        /// `FAIL` or `CANCELLED`, when an inquiry said so.
        payment_status: Option<String>,
        /// The wallet's words.
        reason: String,
    },
    /// The policy's budget is spent and the wallet has not said how it ended. Do not treat it as
    /// failed and do not ask again with a new id: inquire later with the same
    /// `payment_request_id`, or wait for the notification.
    StillUnknown {
        payment_request_id: String,
        payment_id: Option<String>,
        /// The last `paymentStatus` seen (`PROCESSING`), if any inquiry answered.
        last_payment_status: Option<String>,
        /// The last thing that went wrong (a `U` result or a transport error).
        last_problem: String,
    },
}

/// What became of a refund.
#[derive(Debug, Clone, PartialEq)]
pub enum RefundOutcome {
    /// `S` from refund, or `refundStatus` SUCCESS from an inquiry.
    Refunded {
        refund_id: String,
        refund_time: Option<String>,
    },
    /// `F` from refund, `refundStatus` FAIL, or `REFUND_NOT_EXIST`.
    Failed {
        result: Option<WireResult>,
        refund_status: Option<String>,
        reason: String,
    },
    /// The budget is spent and the wallet has not said; inquire later with the same
    /// `refund_request_id`.
    StillUnknown {
        refund_request_id: String,
        last_refund_status: Option<String>,
        last_problem: String,
    },
}

/// One answer of a send-with-retries, or the transport error that ended it.
enum Sent {
    Answer(Verified),
    Lost(ClientError),
}

impl MiniProgramClient {
    /// Sends `body` to `api`, re-sending the same bytes (signed afresh) after transport errors, as
    /// the policy allows. Errors other than transport ones end it at once (fail closed).
    async fn send_resending(&self, api: &str, body: &[u8], sends: &mut u32) -> Result<Sent, ClientError> {
        let policy = self.retry_policy().clone();
        let attempts = policy.send_attempts.max(1);
        let mut last = None;
        while *sends < attempts {
            if *sends > 0 {
                tokio::time::sleep(policy.backoff(*sends)).await;
            }
            *sends += 1;
            match self.send(api, body.to_vec(), &RequestOptions::default()).await {
                Ok(v) => return Ok(Sent::Answer(v)),
                Err(e) if e.is_transport() => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Ok(Sent::Lost(last.unwrap_or_else(|| {
            ClientError::Local("the retry policy allows no (further) sends".into())
        })))
    }

    /// `/v1/payments/pay` with the retry policy: see [`pay_v2_with_retry`](Self::pay_v2_with_retry).
    pub async fn pay_v1_with_retry(&self, request: &PayRequestV1) -> Result<PaymentOutcome, ClientError> {
        let lookup = PaymentLookupRequest::by_payment_request_id(&request.payment_request_id)
            .with_partner_id(&request.partner_id);
        let body = serde_json::to_vec(request).map_err(|e| ClientError::Local(e.to_string()))?;
        self.pay_resolving("v1", &body, &request.payment_request_id, &lookup)
            .await
    }

    /// `/v2/payments/pay`, doing the right thing when the outcome is unknown:
    ///
    /// - after a transport error (or an unsigned HTTP 5xx from something in between) the same
    ///   request, with the same `paymentRequestId`, is sent again, up to
    ///   [`RetryPolicy::send_attempts`] times;
    /// - on `U`, or when no answer came back at all, `inquiryPayment` (by `paymentRequestId`) is
    ///   asked every [`RetryPolicy::poll_interval`] for up to [`RetryPolicy::poll_budget`];
    ///   if the wallet says the payment does not exist, the pay request is sent again (same id),
    ///   while sends remain;
    /// - the answer is [`PaymentOutcome::Paid`], [`Accepted`](PaymentOutcome::Accepted) (cashier),
    ///   [`Failed`](PaymentOutcome::Failed), or [`StillUnknown`](PaymentOutcome::StillUnknown).
    ///
    /// An answer that is not signed by the wallet is an error, never an outcome.
    pub async fn pay_v2_with_retry(&self, request: &PayRequestV2) -> Result<PaymentOutcome, ClientError> {
        let lookup = PaymentLookupRequest::by_payment_request_id(&request.payment_request_id);
        let body = serde_json::to_vec(request).map_err(|e| ClientError::Local(e.to_string()))?;
        self.pay_resolving("v2", &body, &request.payment_request_id, &lookup)
            .await
    }

    async fn pay_resolving(
        &self,
        version: &str,
        body: &[u8],
        payment_request_id: &str,
        lookup: &PaymentLookupRequest,
    ) -> Result<PaymentOutcome, ClientError> {
        let policy = self.retry_policy().clone();
        let pay_api = format!("{version}/payments/pay");
        let inquiry_api = format!("{version}/payments/inquiryPayment");
        let mut sends = 0u32;
        let mut polls = 0u32;
        let mut trail = PaymentTrail::default();
        loop {
            match self.send_resending(&pay_api, body, &mut sends).await? {
                Sent::Answer(v) => {
                    if let Some(outcome) = read_pay_answer(v, &mut trail)? {
                        return Ok(outcome);
                    }
                }
                Sent::Lost(e) => trail.last_problem = e.to_string(),
            }
            match self
                .poll(&policy, &inquiry_api, lookup, &mut polls, &mut trail)
                .await?
            {
                Polled::Final(outcome) => return Ok(outcome),
                // The pay request never got in: sending it again (same id) is safe.
                Polled::NotFound(_) if sends < policy.send_attempts.max(1) => continue,
                Polled::NotFound(outcome) => return Ok(outcome),
                Polled::Exhausted => {
                    return Ok(PaymentOutcome::StillUnknown {
                        payment_request_id: payment_request_id.to_owned(),
                        payment_id: trail.payment_id,
                        last_payment_status: trail.last_payment_status,
                        last_problem: trail.last_problem,
                    })
                }
            }
        }
    }

    /// Inquires every poll interval while the policy's polls (counted across re-sends in
    /// `polls`) last, until the wallet says how the request ended or that it does not know it.
    async fn poll<T: Trail, L: Serialize>(
        &self,
        policy: &RetryPolicy,
        inquiry_api: &str,
        lookup: &L,
        polls: &mut u32,
        trail: &mut T,
    ) -> Result<Polled<T::Outcome>, ClientError> {
        while *polls < policy.max_polls() {
            *polls += 1;
            tokio::time::sleep(policy.poll_interval).await;
            let answer = match self.send_json(inquiry_api, lookup).await {
                Ok(v) => v,
                Err(e) if e.is_transport() => {
                    *trail.last_problem() = e.to_string();
                    continue;
                }
                Err(e) => return Err(e),
            };
            match answer.result.status() {
                Some(ResultStatus::Success) => {
                    if let Some(outcome) = trail.read(&answer)? {
                        return Ok(Polled::Final(outcome));
                    }
                }
                Some(ResultStatus::Failed) if answer.result.code() == Some(T::NOT_EXIST) => {
                    return Ok(Polled::NotFound(trail.not_found(answer)));
                }
                Some(ResultStatus::Failed) => return Err(wallet_error(answer)),
                _ => *trail.last_problem() = describe(&answer.result),
            }
        }
        Ok(Polled::Exhausted)
    }

    /// `/v{1,2}/payments/refund` with the retry policy: re-sent with the same `refundRequestId`
    /// after transport errors; on `U` (`REFUND_IN_PROCESS`, `UNKNOWN_EXCEPTION`, …) `inquiryRefund`
    /// is asked until the refund is final or the budget is spent.
    pub async fn refund_with_retry(
        &self,
        version: &str,
        request: &RefundRequest,
    ) -> Result<RefundOutcome, ClientError> {
        let policy = self.retry_policy().clone();
        let body = serde_json::to_vec(request).map_err(|e| ClientError::Local(e.to_string()))?;
        let refund_api = format!("{version}/payments/refund");
        let inquiry_api = format!("{version}/payments/inquiryRefund");
        let lookup = RefundLookupRequest {
            partner_id: request.partner_id.clone(),
            ..RefundLookupRequest::by_refund_request_id(&request.refund_request_id)
        };
        let mut sends = 0u32;
        let mut polls = 0u32;
        let mut trail = RefundTrail::default();
        loop {
            match self.send_resending(&refund_api, &body, &mut sends).await? {
                Sent::Answer(v) => {
                    if let Some(outcome) = read_refund_answer(v, &mut trail)? {
                        return Ok(outcome);
                    }
                }
                Sent::Lost(e) => trail.last_problem = e.to_string(),
            }
            match self
                .poll(&policy, &inquiry_api, &lookup, &mut polls, &mut trail)
                .await?
            {
                Polled::Final(outcome) => return Ok(outcome),
                Polled::NotFound(_) if sends < policy.send_attempts.max(1) => continue,
                Polled::NotFound(outcome) => return Ok(outcome),
                Polled::Exhausted => {
                    return Ok(RefundOutcome::StillUnknown {
                        refund_request_id: request.refund_request_id.clone(),
                        last_refund_status: trail.last_refund_status,
                        last_problem: trail.last_problem,
                    })
                }
            }
        }
    }
}

/// How a round of inquiries ended.
enum Polled<T> {
    /// The wallet said how it ended.
    Final(T),
    /// The wallet does not know the request: it may be sent again (same id) while sends remain;
    /// otherwise this failure is the outcome.
    NotFound(T),
    /// The polls are spent and it is still not final.
    Exhausted,
}

/// What the retries learn of one kind of request (a payment, a refund) while inquiring about it.
trait Trail {
    type Outcome;
    /// The `F` result code of an inquiry about a request the wallet does not know.
    const NOT_EXIST: ResultCode;
    /// The last thing that went wrong (a `U` result or a transport error).
    fn last_problem(&mut self) -> &mut String;
    /// The outcome an `S` inquiry states, or none while the request is still processing.
    fn read(&mut self, answer: &Verified) -> Result<Option<Self::Outcome>, ClientError>;
    /// The outcome when the wallet does not know the request.
    fn not_found(&self, answer: Verified) -> Self::Outcome;
}

impl Trail for PaymentTrail {
    type Outcome = PaymentOutcome;
    const NOT_EXIST: ResultCode = ResultCode::OrderNotExist;

    fn last_problem(&mut self) -> &mut String {
        &mut self.last_problem
    }

    fn read(&mut self, answer: &Verified) -> Result<Option<PaymentOutcome>, ClientError> {
        read_payment_inquiry(answer, self)
    }

    fn not_found(&self, answer: Verified) -> PaymentOutcome {
        PaymentOutcome::Failed {
            payment_id: self.payment_id.clone(),
            reason: answer.result.result_message.clone(),
            result: Some(answer.result),
            payment_status: None,
        }
    }
}

impl Trail for RefundTrail {
    type Outcome = RefundOutcome;
    const NOT_EXIST: ResultCode = ResultCode::RefundNotExist;

    fn last_problem(&mut self) -> &mut String {
        &mut self.last_problem
    }

    fn read(&mut self, answer: &Verified) -> Result<Option<RefundOutcome>, ClientError> {
        read_refund_inquiry(answer, self)
    }

    fn not_found(&self, answer: Verified) -> RefundOutcome {
        RefundOutcome::Failed {
            reason: answer.result.result_message.clone(),
            result: Some(answer.result),
            refund_status: None,
        }
    }
}

/// What the retries have learnt of a payment that is not final yet.
#[derive(Default)]
struct PaymentTrail {
    payment_id: Option<String>,
    /// The last `paymentStatus` an inquiry answered.
    last_payment_status: Option<String>,
    /// The last thing that went wrong (a `U` result or a transport error).
    last_problem: String,
}

/// What the retries have learnt of a refund that is not final yet.
#[derive(Default)]
struct RefundTrail {
    /// The last `refundStatus` an inquiry answered.
    last_refund_status: Option<String>,
    /// The last thing that went wrong (a `U` result or a transport error).
    last_problem: String,
}

/// The outcome a pay answer states (S paid, A accepted, F failed), or none for `U` (or a status
/// this SDK does not know), noted in the trail.
fn read_pay_answer(v: Verified, trail: &mut PaymentTrail) -> Result<Option<PaymentOutcome>, ClientError> {
    let answer: PayResponse = decode(&v.body)?;
    trail.payment_id = answer.payment_id.clone().or(trail.payment_id.take());
    Ok(match v.result.status() {
        Some(ResultStatus::Success) => Some(PaymentOutcome::Paid {
            payment_id: answer.payment_id,
            payment_time: answer.payment_time,
        }),
        Some(ResultStatus::Accepted) => Some(PaymentOutcome::Accepted(Box::new(answer))),
        Some(ResultStatus::Failed) => Some(PaymentOutcome::Failed {
            payment_id: answer.payment_id,
            reason: v.result.result_message.clone(),
            result: Some(v.result),
            payment_status: None,
        }),
        // U, or a status this SDK does not know: find out.
        _ => {
            trail.last_problem = describe(&v.result);
            None
        }
    })
}

/// The outcome an S inquiryPayment states (SUCCESS paid, FAIL or CANCELLED failed), or none
/// while the payment is still processing, noted in the trail.
fn read_payment_inquiry(
    answer: &Verified,
    trail: &mut PaymentTrail,
) -> Result<Option<PaymentOutcome>, ClientError> {
    let inquiry: InquiryPaymentResponse = decode(&answer.body)?;
    trail.payment_id = inquiry.payment_id.clone().or(trail.payment_id.take());
    Ok(match inquiry.payment_status.as_deref() {
        Some("SUCCESS") => Some(PaymentOutcome::Paid {
            payment_id: trail.payment_id.clone(),
            payment_time: inquiry.payment_time,
        }),
        Some(s @ ("FAIL" | "CANCELLED")) => Some(PaymentOutcome::Failed {
            payment_id: trail.payment_id.clone(),
            result: None,
            payment_status: Some(s.to_owned()),
            reason: inquiry
                .payment_fail_reason
                .unwrap_or_else(|| format!("the payment is {s}")),
        }),
        other => {
            trail.last_payment_status = other.map(str::to_owned);
            trail.last_problem = format!("paymentStatus {}", other.unwrap_or("(none)"));
            None
        }
    })
}

/// The outcome a refund answer states (S refunded, F failed), or none for `U`, noted in the
/// trail.
fn read_refund_answer(v: Verified, trail: &mut RefundTrail) -> Result<Option<RefundOutcome>, ClientError> {
    match v.result.status() {
        Some(ResultStatus::Success) => {
            let answer: RefundResponse = decode(&v.body)?;
            let refund_id = answer
                .refund_id
                .ok_or_else(|| ClientError::Decode("an S refund answer has no refundId".into()))?;
            Ok(Some(RefundOutcome::Refunded {
                refund_id,
                refund_time: answer.refund_time,
            }))
        }
        Some(ResultStatus::Failed) => Ok(Some(RefundOutcome::Failed {
            reason: v.result.result_message.clone(),
            result: Some(v.result),
            refund_status: None,
        })),
        _ => {
            trail.last_problem = describe(&v.result);
            Ok(None)
        }
    }
}

/// The outcome an S inquiryRefund states (SUCCESS refunded, FAIL failed), or none while the
/// refund is still processing, noted in the trail.
fn read_refund_inquiry(
    answer: &Verified,
    trail: &mut RefundTrail,
) -> Result<Option<RefundOutcome>, ClientError> {
    let inquiry: InquiryRefundResponse = decode(&answer.body)?;
    match inquiry.refund_status.as_deref() {
        Some("SUCCESS") => {
            let refund_id = inquiry
                .refund_id
                .ok_or_else(|| ClientError::Decode("a SUCCESS refund inquiry has no refundId".into()))?;
            Ok(Some(RefundOutcome::Refunded {
                refund_id,
                refund_time: inquiry.refund_time,
            }))
        }
        Some("FAIL") => Ok(Some(RefundOutcome::Failed {
            result: None,
            refund_status: Some("FAIL".into()),
            reason: inquiry
                .refund_fail_reason
                .unwrap_or_else(|| "the refund failed".into()),
        })),
        other => {
            trail.last_refund_status = other.map(str::to_owned);
            trail.last_problem = format!("refundStatus {}", other.unwrap_or("(none)"));
            Ok(None)
        }
    }
}

fn describe(r: &WireResult) -> String {
    format!("{}/{}: {}", r.result_status, r.result_code, r.result_message)
}

fn wallet_error(v: Verified) -> ClientError {
    ClientError::Wallet(Box::new(WalletAnswer {
        result: v.result,
        raw_body: v.body,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_polls_twelve_times_five_seconds_apart() {
        let p = RetryPolicy::default();
        assert_eq!(p.max_polls(), 12);
        assert_eq!(p.poll_interval, Duration::from_secs(5));
        assert_eq!(RetryPolicy::none().max_polls(), 0);
        let odd = RetryPolicy {
            poll_interval: Duration::from_millis(40),
            poll_budget: Duration::from_millis(100),
            ..RetryPolicy::default()
        };
        assert_eq!(odd.max_polls(), 3, "rounded up");
    }

    #[test]
    fn backoff_doubles_and_stays_bounded() {
        let p = RetryPolicy {
            send_backoff: Duration::from_millis(10),
            ..RetryPolicy::default()
        };
        assert_eq!(p.backoff(1), Duration::from_millis(10));
        assert_eq!(p.backoff(2), Duration::from_millis(20));
        assert_eq!(p.backoff(3), Duration::from_millis(40));
        assert!(p.backoff(u32::MAX) <= Duration::from_millis(10 * 65536));
    }
}
