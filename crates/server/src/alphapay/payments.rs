//! pay, inquiryPayment, cancel, refund and inquiryRefund: wire DTO → core command → wire answer.
//!
//! Statuses, in AlphaPay's words:
//! - PROCESSING → `PAYMENT_IN_PROCESS`, or `CLOSED` once its expiry has passed (the sweep will fail
//!   it; nobody can pay it any more).
//! - CANCELLED → `CLOSED` (AlphaPay's cancel only closes unpaid orders).
//! - FAIL because it expired unpaid → `CLOSED`: the order was never paid and no payer failed;
//!   FAIL for any other reason (the payer declined, the balance did not cover it) → `FAILED`.
//! - SUCCESS → `SUCCESS`, `PARTIAL_REFUND` or `FULL_REFUND` after refunds.

use super::{qr, Answer, ApError, Call};
use crate::AppState;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use walletd_core::payments::{
    CancelOutcome, Channel, PayCommand, PayOutcome, Payment, PaymentRef, PaymentStatus, Scenario,
    EXPIRED_REASON,
};
use walletd_core::refunds::{Refund, RefundCommand, RefundOutcome, RefundRef, RefundStatus};
use walletd_protocol::alphapay::{
    format_body_time, parse_body, truncate_description, CancelResponse, InquiryPaymentResponse,
    InquiryRefundResponse, OrderView, PayRequest, PayResponse, PaymentInfo, PaymentLookupRequest,
    PaymentMethod, PaymentStatus as WireStatus, PaymentView, RefundDetail, RefundLookupRequest,
    RefundRequest, RefundResponse, RefundStatus as WireRefundStatus, RefundView,
};
use walletd_protocol::result::WireResult;
use walletd_protocol::{Amount, Currency, PositiveAmount, ResultCode};

/// Scenarios whose payer ends on a page: this wallet's cashier serves them all. The others need
/// what this wallet does not have: WeChat/Alipay JSBridge or app SDK parameters (NATIVE_JSAPI, APP,
/// MINI_APP), card data (CREDIT_CARD) or a code the customer presents at a till (OFFLINE).
pub const CASHIER_SCENARIOS: &[&str] = &[
    "ONLINE_QRCODE",
    "OFFLINE_QRCODE",
    "ONLINE_WEB",
    "ONLINE_WAP",
    "JSAPI",
];

/// What the AlphaPay order carries beyond the core payment, kept in the payment's `extend_info`
/// (echoed by inquiries and notifications).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderExtras {
    pub scenario_code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_method_type: Option<String>,
}

impl OrderExtras {
    pub fn of(p: &Payment) -> OrderExtras {
        p.extend_info
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default()
    }
}

/// The AlphaPay status of `p` at `now`.
pub fn wire_status(p: &Payment, now: DateTime<Utc>) -> WireStatus {
    match p.status {
        PaymentStatus::Processing if now >= p.expires_at => WireStatus::Closed,
        PaymentStatus::Processing => WireStatus::PaymentInProcess,
        PaymentStatus::Cancelled => WireStatus::Closed,
        PaymentStatus::Fail if p.fail_reason.as_deref() == Some(EXPIRED_REASON) => WireStatus::Closed,
        PaymentStatus::Fail => WireStatus::Failed,
        PaymentStatus::Success if p.refunded_minor <= 0 => WireStatus::Success,
        PaymentStatus::Success if p.refunded_minor >= p.amount_minor => WireStatus::FullRefund,
        PaymentStatus::Success => WireStatus::PartialRefund,
    }
}

fn order_view(p: &Payment) -> OrderView {
    OrderView {
        order_amount: p.amount().into(),
        description: Some(p.order_title.clone()),
        notify_url: p.notify_url.clone(),
        redirect_url: p.return_url.clone(),
    }
}

/// `p` as inquiryPayment shows it and as its notification carries it.
pub fn payment_view(p: &Payment, now: DateTime<Utc>) -> PaymentView {
    let extras = OrderExtras::of(p);
    PaymentView {
        scenario_code: Some(extras.scenario_code).filter(|s| !s.is_empty()),
        payment_request_id: p.payment_request_id.clone(),
        order: order_view(p),
        payment_create_time: format_body_time(p.created_at),
        payment_expire_time: format_body_time(p.expires_at),
        payment_time: p.paid_at.map(format_body_time),
        payment_id: p.payment_id.clone(),
        payment_status: wire_status(p, now).as_str().to_owned(),
    }
}

/// `r` as inquiryRefund shows it and as its notification carries it.
pub fn refund_view(r: &Refund) -> RefundView {
    RefundView {
        payment_id: r.payment_id.clone(),
        refund_request_id: r.refund_request_id.clone(),
        refund_id: r.refund_id.clone(),
        refund_time: r.refunded_at.map(format_body_time),
        refund_status: match r.status {
            RefundStatus::Processing => WireRefundStatus::RefundInProcess,
            RefundStatus::Success => WireRefundStatus::Success,
            RefundStatus::Fail => WireRefundStatus::Failed,
        }
        .as_str()
        .to_owned(),
        refund: RefundDetail {
            refund_amount: r.amount().into(),
            description: r.reason.clone(),
            notify_url: r.notify_url.clone(),
        },
    }
}

fn currency_list(currencies: &[Currency]) -> String {
    currencies
        .iter()
        .map(Currency::code)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A notify URL, if given, must be a URL we may send to (README "Security" → "Notifications").
fn checked_notify_url(state: &AppState, field: &str, url: Option<&str>) -> Result<Option<String>, ApError> {
    match url.filter(|u| !u.is_empty()) {
        None => Ok(None),
        Some(u) => crate::notifier::target::check_notify_url(u, state.config.notifier.allow_private_targets)
            .map(|_| Some(u.to_owned()))
            .map_err(|e| ApError::param(format!("{field}: {e}"))),
    }
}

pub async fn pay(state: &AppState, call: &Call) -> Result<Answer, ApError> {
    let req: PayRequest = parse_body(&call.body)?;
    let amount = req.check()?;
    let allowed = &state.config.alphapay.currencies;
    if !allowed.contains(&amount.currency()) {
        return Err(ApError::new(
            ResultCode::CurrencyNotSupport,
            format!(
                "order.orderAmount.currency {} is not accepted; use {}",
                amount.currency(),
                currency_list(allowed)
            ),
        ));
    }
    if !CASHIER_SCENARIOS.contains(&req.scenario_code.as_str()) {
        return Err(ApError::new(
            ResultCode::ProcessFail,
            format!(
                "scenarioCode {} is not offered by this wallet; use one of {}",
                req.scenario_code,
                CASHIER_SCENARIOS.join(", ")
            ),
        ));
    }
    let extras = OrderExtras {
        scenario_code: req.scenario_code.clone(),
        payment_method_type: req
            .payment_method
            .as_ref()
            .and_then(|m| m.payment_method_type.clone()),
    };
    let now = state.wallet.now();
    let cmd = PayCommand {
        client_id: call.client.client_id.clone(),
        channel: Channel::AlphaPay,
        partner_id: None,
        app_id: None,
        payment_request_id: req.payment_request_id.clone(),
        amount,
        scenario: Scenario::Cashier,
        order_title: truncate_description(&req.order.description),
        reference_order_id: None,
        merchant_display_name: None,
        payer_user_id: None,
        expiry_time: Some(now + Duration::seconds(state.config.alphapay.unpaid_expiry_secs)),
        return_url: req.order.redirect_url.clone().filter(|u| !u.is_empty()),
        notify_url: checked_notify_url(state, "order.notifyUrl", req.order.notify_url.as_deref())?,
        extend_info: serde_json::to_string(&extras).ok(),
        payment_auth_code: None,
        factors: walletd_core::payments::PayFactors::default(),
    };
    let outcome = state.wallet.pay(cmd).await?;
    render_pay(state, outcome)
}

/// The pay answer for a payment: everything the request named, plus where to pay.
fn pay_body(state: &AppState, p: &Payment, result: WireResult) -> Result<PayResponse, ApError> {
    let extras = OrderExtras::of(p);
    let url = state.cashier_url(&p.payment_id);
    let image = qr::qr_png_data_uri(&url).map_err(|e| {
        tracing::error!(payment_id = %p.payment_id, error = %e, "making the QR code failed");
        ApError::new(
            ResultCode::UnknownException,
            "An internal error occurred; inquire the payment",
        )
    })?;
    Ok(PayResponse {
        scenario_code: Some(extras.scenario_code).filter(|s| !s.is_empty()),
        payment_request_id: Some(p.payment_request_id.clone()),
        order: Some(order_view(p)),
        payment_method: extras.payment_method_type.map(|t| PaymentMethod {
            payment_method_type: Some(t),
        }),
        payment_info: Some(PaymentInfo {
            payment_url: url.clone(),
            payment_qr_image: image,
            pay_url: url,
        }),
        payment_create_time: Some(format_body_time(p.created_at)),
        payment_expire_time: Some(format_body_time(p.expires_at)),
        payment_id: Some(p.payment_id.clone()),
        result,
    })
}

fn render_pay(state: &AppState, outcome: PayOutcome) -> Result<Answer, ApError> {
    let bare = |result: WireResult, payment_id: Option<String>| PayResponse {
        scenario_code: None,
        payment_request_id: None,
        order: None,
        payment_method: None,
        payment_info: None,
        payment_create_time: None,
        payment_expire_time: None,
        payment_id,
        result,
    };
    let (body, code) = match outcome {
        PayOutcome::Accepted(p) => {
            let result = WireResult::with_message(
                ResultCode::PaymentInProcess,
                "Waiting for the payer: show paymentQRImage or send the payer to payUrl, then \
                 inquire until the order is paid or closed",
            );
            (pay_body(state, &p, result)?, ResultCode::PaymentInProcess)
        }
        PayOutcome::Succeeded(p) => (
            pay_body(state, &p, WireResult::of(ResultCode::Success))?,
            ResultCode::Success,
        ),
        PayOutcome::Closed(p) => {
            let message = format!(
                "payment {} of this paymentRequestId is already {}",
                p.payment_id,
                wire_status(&p, state.wallet.now()).as_str()
            );
            (
                bare(
                    WireResult::with_message(ResultCode::OrderStatusInvalid, &message),
                    Some(p.payment_id),
                ),
                ResultCode::OrderStatusInvalid,
            )
        }
        PayOutcome::Rejected { code, message } => {
            (bare(WireResult::with_message(code, &message), None), code)
        }
        // Only the Mini Program asks for an evaluation; AlphaPay never gets one.
        PayOutcome::Evaluated => (
            bare(WireResult::of(ResultCode::Success), None),
            ResultCode::Success,
        ),
        PayOutcome::Unknown {
            code,
            message,
            payment,
        } => (
            bare(
                WireResult::with_message(code, &message),
                payment.map(|p| p.payment_id),
            ),
            code,
        ),
    };
    Ok(Answer::json(&body, code.as_str()))
}

fn payment_ref(req: &PaymentLookupRequest) -> PaymentRef {
    let non_empty = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
    PaymentRef {
        payment_id: non_empty(&req.payment_id),
        payment_request_id: non_empty(&req.payment_request_id),
    }
}

async fn find_payment(state: &AppState, call: &Call, r: PaymentRef) -> Result<Payment, ApError> {
    state
        .wallet
        .inquire_payment(&call.client.client_id, r)
        .await?
        .ok_or_else(|| ApError::new(ResultCode::OrderNotExist, "no such payment for this merchant"))
}

pub async fn inquiry_payment(state: &AppState, call: &Call) -> Result<Answer, ApError> {
    let req: PaymentLookupRequest = parse_body(&call.body)?;
    req.check()?;
    let p = find_payment(state, call, payment_ref(&req)).await?;
    Ok(Answer::json(
        &InquiryPaymentResponse {
            payment: payment_view(&p, state.wallet.now()),
            result: WireResult::of(ResultCode::Success),
        },
        "SUCCESS",
    ))
}

fn cancelled(p: &Payment, cancel_time: DateTime<Utc>) -> Answer {
    Answer::json(
        &CancelResponse {
            payment_request_id: Some(p.payment_request_id.clone()),
            payment_id: Some(p.payment_id.clone()),
            cancel_time: Some(format_body_time(cancel_time)),
            result: WireResult::of(ResultCode::Success),
        },
        "SUCCESS",
    )
}

/// Closes an unpaid order. A paid one is refused with ORDER_PAID (refund it instead); one that
/// already expired unpaid is closed already, which is what the merchant asked for (S).
pub async fn cancel(state: &AppState, call: &Call) -> Result<Answer, ApError> {
    let req: PaymentLookupRequest = parse_body(&call.body)?;
    req.check()?;
    let p = find_payment(state, call, payment_ref(&req)).await?;
    match p.status {
        PaymentStatus::Success => {
            return Err(ApError::order_paid(format!(
                "payment {} is paid; refund it instead",
                p.payment_id
            )))
        }
        PaymentStatus::Fail if p.fail_reason.as_deref() == Some(EXPIRED_REASON) => {
            return Ok(cancelled(&p, p.closed_at.unwrap_or(p.expires_at)));
        }
        _ => {}
    }
    let by_id = PaymentRef {
        payment_id: Some(p.payment_id.clone()),
        payment_request_id: None,
    };
    match state
        .wallet
        .cancel_payment(&call.client.client_id, None, by_id)
        .await?
    {
        CancelOutcome::Cancelled { payment, cancel_time } => Ok(cancelled(&payment, cancel_time)),
        CancelOutcome::Rejected { code, message } => Err(ApError::new(code, message)),
    }
}

pub async fn refund(state: &AppState, call: &Call) -> Result<Answer, ApError> {
    let req: RefundRequest = parse_body(&call.body)?;
    let value_minor = req.check()?;
    let p = find_payment(
        state,
        call,
        PaymentRef {
            payment_id: Some(req.payment_id.clone()),
            payment_request_id: None,
        },
    )
    .await?;
    // The currency may be left out: it is the payment's. A different one is refused by the core.
    let currency = match &req.refund.refund_amount.currency {
        Some(c) => Currency::from_code(c).unwrap_or(p.currency),
        None => p.currency,
    };
    let amount = Amount::from_minor(currency, value_minor)
        .ok()
        .and_then(PositiveAmount::new)
        .ok_or_else(|| ApError::param("refund.refundAmount.value: must be greater than zero"))?;
    // Without a refundRequestId every request is a new refund (AlphaPay makes it optional); the
    // answer names the id we gave it.
    let refund_request_id = req
        .refund_request_id
        .clone()
        .unwrap_or_else(|| state.wallet.ids().new_id("refund-request", state.wallet.now()));
    let cmd = RefundCommand {
        client_id: call.client.client_id.clone(),
        channel: Channel::AlphaPay,
        partner_id: None,
        refund_request_id,
        payment: PaymentRef {
            payment_id: Some(p.payment_id.clone()),
            payment_request_id: None,
        },
        amount,
        reason: req
            .refund
            .description
            .as_deref()
            .map(truncate_description)
            .filter(|d| !d.is_empty()),
        notify_url: checked_notify_url(state, "refund.notifyUrl", req.refund.notify_url.as_deref())?,
    };
    match state.wallet.refund(cmd).await? {
        RefundOutcome::Succeeded(r) => {
            let view = refund_view(&r);
            Ok(Answer::json(
                &RefundResponse {
                    refund_id: Some(view.refund_id),
                    payment_id: Some(view.payment_id),
                    refund_request_id: Some(view.refund_request_id),
                    refund: Some(view.refund),
                    refund_time: view.refund_time,
                    result: WireResult::of(ResultCode::Success),
                },
                "SUCCESS",
            ))
        }
        RefundOutcome::Rejected { code, message } | RefundOutcome::Unknown { code, message, .. } => {
            Err(ApError::new(code, message))
        }
    }
}

pub async fn inquiry_refund(state: &AppState, call: &Call) -> Result<Answer, ApError> {
    let req: RefundLookupRequest = parse_body(&call.body)?;
    req.check()?;
    let non_empty = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
    let r = RefundRef {
        refund_id: non_empty(&req.refund_id),
        refund_request_id: non_empty(&req.refund_request_id),
    };
    let Some(refund) = state.wallet.inquire_refund(&call.client.client_id, r).await? else {
        return Err(ApError::new(
            ResultCode::RefundNotExist,
            "no such refund for this merchant",
        ));
    };
    Ok(Answer::json(
        &InquiryRefundResponse {
            refund: refund_view(&refund),
            result: WireResult::of(ResultCode::Success),
        },
        "SUCCESS",
    ))
}
