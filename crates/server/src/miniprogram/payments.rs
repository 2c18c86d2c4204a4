//! pay, inquiryPayment, cancel, refund and inquiryRefund, v1 and v2: wire DTO → core command →
//! wire answer.

use super::{Answer, Call, MpError, Version};
use crate::AppState;
use chrono::Utc;
use walletd_core::captures::{CaptureCommand, CaptureOutcome};
use walletd_core::payments::{
    CancelOutcome, Channel, PayCommand, PayFactors, PayOutcome, Payment, PaymentRef, Scenario,
};
use walletd_core::refunds::{RefundCommand, RefundOutcome, RefundRef};
use walletd_protocol::miniprogram::{
    format_body_time, parse_body, ActionForm, CancelResponse, CaptureRequest, CaptureResponse,
    InquiryPaymentResponse, InquiryRefundResponse, PayRequestV1, PayRequestV2, PayResponse, PaymentFactor,
    PaymentLookupRequest, ProductCode, RedirectActionForm, RefundLookupRequest, RefundRequest,
    RefundResponse, ValidPay,
};
use walletd_protocol::result::WireResult;
use walletd_protocol::ResultCode;

/// walletd extension: `extendInfo` may carry `{"customerId": "<id from applyToken>"}` to name the
/// payer up front, so the funds are held at once (README "Naming the payer").
fn payer_from_extend_info(extend_info: Option<&str>) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(extend_info?).ok()?;
    v.get("customerId")?.as_str().map(str::to_owned)
}

/// The scenario and factors a request asks for: `paymentFactor` (v1 and v2 flags) and v2
/// `productCode`.
///
/// * `isAgreementPay` / `AGREEMENT_PAYMENT`: charge with the access token in `paymentAuthCode`;
/// * `isPaymentCode` / `IN_STORE_PAYMENT` (`inStorePaymentScenario` PaymentCode): charge with the
///   code the user's app shows, in `paymentAuthCode`;
/// * otherwise the cashier; `isAuthorizationPayment` and `isPaymentEvaluation` combine with any.
///
/// Order codes, entry codes and authorization-and-pay are not offered: PROCESS_FAIL, plainly.
fn scenario(f: &PaymentFactor, product: Option<ProductCode>) -> Result<(Scenario, PayFactors), MpError> {
    let yes = |v: Option<bool>| v == Some(true);
    let unsupported = [
        ("isOrderCode", f.is_order_code),
        ("isAuthorizationAndPay", f.is_authorization_and_pay),
    ];
    if let Some((name, _)) = unsupported.iter().find(|(_, v)| yes(*v)) {
        return Err(MpError::new(
            ResultCode::ProcessFail,
            format!("paymentFactor.{name} is not offered by this wallet"),
        ));
    }
    let in_store_code = match f.in_store_payment_scenario.as_deref() {
        None | Some("PaymentCode") => true,
        Some(other) => {
            if yes(f.is_in_store_payment) || product == Some(ProductCode::InStore) {
                return Err(MpError::new(
                    ResultCode::ProcessFail,
                    format!("inStorePaymentScenario {other} is not offered by this wallet; use PaymentCode"),
                ));
            }
            false
        }
    };
    let mut asked: Vec<(&str, Scenario)> = Vec::new();
    if yes(f.is_agreement_pay) {
        asked.push(("paymentFactor.isAgreementPay", Scenario::Agreement));
    }
    if yes(f.is_payment_code) || (yes(f.is_in_store_payment) && in_store_code) {
        asked.push(("paymentFactor.isPaymentCode", Scenario::PaymentCode));
    }
    if yes(f.is_cashier_payment) {
        asked.push(("paymentFactor.isCashierPayment", Scenario::Cashier));
    }
    match product {
        Some(ProductCode::Agreement) => asked.push(("productCode AGREEMENT_PAYMENT", Scenario::Agreement)),
        Some(ProductCode::InStore) => asked.push(("productCode IN_STORE_PAYMENT", Scenario::PaymentCode)),
        Some(ProductCode::Cashier) => asked.push(("productCode CASHIER_PAYMENT", Scenario::Cashier)),
        None => {}
    }
    let chosen = asked.first().map_or(Scenario::Cashier, |(_, s)| *s);
    if let Some((name, _)) = asked.iter().find(|(_, s)| *s != chosen) {
        return Err(MpError::param(format!(
            "{name} contradicts {}: a payment has one scenario",
            asked[0].0
        )));
    }
    Ok((
        chosen,
        PayFactors {
            authorization: yes(f.is_authorization_payment),
            evaluation: yes(f.is_payment_evaluation),
        },
    ))
}

/// `paymentNotifyUrl`, if given, must be a URL we may send to (README "Security" → "Notifications").
fn checked_notify_url(state: &AppState, url: Option<&str>) -> Result<Option<String>, MpError> {
    match url.filter(|u| !u.is_empty()) {
        None => Ok(None),
        Some(u) => crate::notifier::target::check_notify_url(u, state.config.notifier.allow_private_targets)
            .map(|_| Some(u.to_owned()))
            .map_err(|e| MpError::param(format!("paymentNotifyUrl: {e}"))),
    }
}

pub async fn pay(state: &AppState, call: &Call) -> Result<Answer, MpError> {
    let req = match call.version {
        Version::V1 => parse_body::<PayRequestV1>(&call.body).and_then(|r| r.validate()),
        Version::V2 => parse_body::<PayRequestV2>(&call.body).and_then(|r| r.validate()),
    }?;
    let outcome = state.wallet.pay(pay_command(state, call, req)?).await?;
    Ok(render_pay(state, call.version, outcome))
}

/// The core's command for a validated pay request of either version.
fn pay_command(state: &AppState, call: &Call, req: ValidPay) -> Result<PayCommand, MpError> {
    let (scenario, factors) = scenario(&req.factor, req.product)?;
    Ok(PayCommand {
        client_id: call.client.client_id.clone(),
        channel: match call.version {
            Version::V1 => Channel::MiniProgramV1,
            Version::V2 => Channel::MiniProgramV2,
        },
        notify_url: checked_notify_url(state, req.notify_url.as_deref())?,
        partner_id: req.partner_id,
        app_id: req.app_id,
        payment_request_id: req.payment_request_id,
        amount: req.amount,
        scenario,
        order_title: req.order_title.unwrap_or_else(|| "Payment".into()),
        merchant_display_name: req.order.merchant_display(),
        reference_order_id: req.order.reference_order_id,
        payer_user_id: payer_from_extend_info(req.extend_info.as_deref()),
        expiry_time: req.expiry_time.map(|t| t.with_timezone(&Utc)),
        return_url: req.return_url,
        extend_info: req.extend_info,
        payment_auth_code: req.payment_auth_code,
        factors,
    })
}

fn render_pay(state: &AppState, version: Version, outcome: PayOutcome) -> Answer {
    let empty = |result: WireResult| PayResponse {
        result,
        payment_id: None,
        payment_time: None,
        action_form: None,
        redirect_action_form: None,
        auth_expiry_time: None,
        extend_info: None,
    };
    let (body, code) = match outcome {
        PayOutcome::Accepted(p) => {
            let url = state.cashier_url(&p.payment_id);
            let mut body = empty(WireResult::of(ResultCode::Accept));
            body.payment_id = Some(p.payment_id);
            match version {
                Version::V1 => {
                    body.action_form = Some(ActionForm {
                        action_form_type: "REDIRECTION".into(),
                        redirection_url: Some(url),
                        order_code: None,
                    })
                }
                Version::V2 => {
                    body.redirect_action_form = Some(RedirectActionForm {
                        method: Some("GET".into()),
                        parameters: None,
                        redirect_url: url.clone(),
                        redirection_url: Some(url),
                    })
                }
            }
            (body, ResultCode::Accept)
        }
        PayOutcome::Succeeded(p) => {
            let mut body = empty(WireResult::of(ResultCode::Success));
            body.payment_time = p.paid_at.map(format_body_time);
            body.auth_expiry_time = auth_expiry_time(&p);
            body.payment_id = Some(p.payment_id);
            (body, ResultCode::Success)
        }
        // isPaymentEvaluation: it would succeed; nothing was made.
        PayOutcome::Evaluated => (
            empty(WireResult::with_message(
                ResultCode::Success,
                "Evaluated: the payment would succeed now; nothing was paid",
            )),
            ResultCode::Success,
        ),
        PayOutcome::Closed(p) => {
            let message = format!(
                "payment {} is already {}{}",
                p.payment_id,
                p.status.as_str(),
                p.fail_reason
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            );
            let mut body = empty(WireResult::with_message(ResultCode::OrderStatusInvalid, &message));
            body.payment_id = Some(p.payment_id);
            (body, ResultCode::OrderStatusInvalid)
        }
        PayOutcome::Rejected { code, message } | PayOutcome::Unknown { code, message, .. } => {
            (empty(WireResult::with_message(code, &message)), code)
        }
    };
    Answer::json(&body, code.as_str())
}

/// `authExpiryTime` of an approved authorization.
fn auth_expiry_time(p: &Payment) -> Option<String> {
    p.authorized_at.and(p.auth_expires_at).map(format_body_time)
}

/// v1 requests carry `partnerId`; it must be the calling client's own.
fn check_partner(call: &Call, partner_id: Option<&str>) -> Result<(), MpError> {
    match partner_id {
        Some(p) if p != call.client.partner_id => Err(MpError::new(
            ResultCode::AccessDenied,
            format!("partnerId {p} does not belong to this client"),
        )),
        _ => Ok(()),
    }
}

fn payment_ref(req: &PaymentLookupRequest) -> PaymentRef {
    let non_empty = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
    PaymentRef {
        payment_id: non_empty(&req.payment_id),
        payment_request_id: non_empty(&req.payment_request_id),
    }
}

pub async fn inquiry_payment(state: &AppState, call: &Call) -> Result<Answer, MpError> {
    let req: PaymentLookupRequest = parse_body(&call.body)?;
    req.check(call.version == Version::V1)?;
    check_partner(call, req.partner_id.as_deref())?;
    let Some(p) = state
        .wallet
        .inquire_payment(&call.client.client_id, payment_ref(&req))
        .await?
    else {
        return Err(MpError::new(
            ResultCode::OrderNotExist,
            "no such payment for this client",
        ));
    };
    Ok(Answer::json(&inquiry_body(&p), "SUCCESS"))
}

fn inquiry_body(p: &Payment) -> InquiryPaymentResponse {
    InquiryPaymentResponse {
        result: WireResult::of(ResultCode::Success),
        payment_id: Some(p.payment_id.clone()),
        payment_request_id: Some(p.payment_request_id.clone()),
        payment_amount: Some(p.amount().into()),
        payment_time: p.paid_at.map(format_body_time),
        payment_create_time: Some(format_body_time(p.created_at)),
        payment_status: Some(p.status.as_str().to_owned()),
        payment_fail_reason: p.fail_reason.clone(),
        auth_expiry_time: auth_expiry_time(p),
        extend_info: None,
    }
}

pub async fn cancel(state: &AppState, call: &Call) -> Result<Answer, MpError> {
    let req: PaymentLookupRequest = parse_body(&call.body)?;
    // v1 cancel names partnerId in some editions and not in others: check it only when present.
    req.check(false)?;
    check_partner(call, req.partner_id.as_deref())?;
    let outcome = state
        .wallet
        .cancel_payment(&call.client.client_id, req.partner_id.clone(), payment_ref(&req))
        .await?;
    match outcome {
        CancelOutcome::Cancelled { payment, cancel_time } => Ok(Answer::json(
            &CancelResponse {
                result: WireResult::of(ResultCode::Success),
                payment_id: Some(payment.payment_id),
                payment_request_id: Some(payment.payment_request_id),
                cancel_time: Some(format_body_time(cancel_time)),
            },
            "SUCCESS",
        )),
        CancelOutcome::Rejected { code, message } => Err(MpError::new(code, message)),
    }
}

pub async fn refund(state: &AppState, call: &Call) -> Result<Answer, MpError> {
    let req: RefundRequest = parse_body(&call.body)?;
    let amount = req.check(call.version == Version::V1)?;
    check_partner(call, req.partner_id.as_deref())?;
    let non_empty = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
    let cmd = RefundCommand {
        client_id: call.client.client_id.clone(),
        channel: match call.version {
            Version::V1 => Channel::MiniProgramV1,
            Version::V2 => Channel::MiniProgramV2,
        },
        partner_id: req.partner_id.clone(),
        refund_request_id: req.refund_request_id.clone(),
        payment: PaymentRef {
            payment_id: non_empty(&req.payment_id),
            payment_request_id: non_empty(&req.payment_request_id),
        },
        amount,
        reason: req.refund_reason.clone(),
        notify_url: None,
    };
    match state.wallet.refund(cmd).await? {
        RefundOutcome::Succeeded(r) => Ok(Answer::json(
            &RefundResponse {
                result: WireResult::of(ResultCode::Success),
                refund_id: Some(r.refund_id),
                refund_time: r.refunded_at.map(format_body_time),
                extend_info: None,
            },
            "SUCCESS",
        )),
        RefundOutcome::Rejected { code, message } | RefundOutcome::Unknown { code, message, .. } => {
            Err(MpError::new(code, message))
        }
    }
}

pub async fn inquiry_refund(state: &AppState, call: &Call) -> Result<Answer, MpError> {
    let req: RefundLookupRequest = parse_body(&call.body)?;
    req.check(call.version == Version::V1)?;
    check_partner(call, req.partner_id.as_deref())?;
    let non_empty = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
    let r = RefundRef {
        refund_id: non_empty(&req.refund_id),
        refund_request_id: non_empty(&req.refund_request_id),
    };
    let Some(refund) = state.wallet.inquire_refund(&call.client.client_id, r).await? else {
        return Err(MpError::new(
            ResultCode::RefundNotExist,
            "no such refund for this client",
        ));
    };
    Ok(Answer::json(
        &InquiryRefundResponse {
            result: WireResult::of(ResultCode::Success),
            refund_id: Some(refund.refund_id.clone()),
            refund_request_id: Some(refund.refund_request_id.clone()),
            refund_amount: Some(refund.amount().into()),
            refund_reason: refund.reason.clone(),
            refund_time: refund.refunded_at.map(format_body_time),
            refund_status: Some(refund.status.as_str().to_owned()),
            refund_fail_reason: None,
        },
        "SUCCESS",
    ))
}

// ---- capture ----

pub async fn capture(state: &AppState, call: &Call) -> Result<Answer, MpError> {
    let req: CaptureRequest = parse_body(&call.body)?;
    let amount = req.check()?;
    check_partner(call, req.partner_id.as_deref())?;
    let cmd = CaptureCommand {
        client_id: call.client.client_id.clone(),
        partner_id: req.partner_id.clone(),
        capture_request_id: req.capture_request_id.clone(),
        payment_id: req.payment_id.clone(),
        amount,
        is_last: req.is_last(),
    };
    match state.wallet.capture(cmd).await? {
        CaptureOutcome::Captured { capture, .. } => Ok(Answer::json(
            &CaptureResponse {
                result: WireResult::of(ResultCode::Success),
                capture_request_id: capture.capture_request_id.clone(),
                capture_id: capture.capture_id.clone(),
                payment_id: capture.payment_id.clone(),
                capture_amount: capture.amount().into(),
                capture_time: format_body_time(capture.created_at),
                extend_info: None,
            },
            "SUCCESS",
        )),
        CaptureOutcome::Rejected { code, message } | CaptureOutcome::Unknown { code, message, .. } => {
            Err(MpError::new(code, message))
        }
    }
}
