//! Request and response bodies of the AlphaPay Open API (docs/alphapay.md), `/api/v1.0` and
//! `/api/v2.0` alike (only the v2.0 shapes are published; v1.0 is served with the same ones).
//!
//! Amounts are integer minor units in a string of 1–7 digits (`^\d{1,7}$`). Date-times are ISO 8601
//! to the second with an offset. A notification carries the body of the matching inquiry answer
//! without its `result` ([`PaymentView`], [`RefundView`]).

use crate::amount::{Amount, PositiveAmount, WireAmount};
use crate::miniprogram::{optional, required, FieldError};
use crate::result::WireResult;
use serde::{Deserialize, Serialize};

pub use crate::miniprogram::{format_body_time, parse_body, ResultOnly};

mod builders; // constructors and `with_*` setters of the requests a merchant sends

/// Every `scenarioCode` the unified pay API names.
pub const SCENARIO_CODES: &[&str] = &[
    "ONLINE_QRCODE",
    "ONLINE_WEB",
    "JSAPI",
    "NATIVE_JSAPI",
    "ONLINE_WAP",
    "APP",
    "MINI_APP",
    "CREDIT_CARD",
    "OFFLINE_QRCODE",
    "OFFLINE",
];

/// The longest amount `value` AlphaPay accepts, in digits.
pub const AMOUNT_VALUE_MAX_DIGITS: usize = 7;

/// The longest order or refund `description`, in characters.
pub const DESCRIPTION_MAX_CHARS: usize = 128;

/// `paymentStatus` of inquiryPayment and of payment notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaymentStatus {
    /// Waiting for the payer.
    PaymentInProcess,
    /// No longer payable: cancelled by the merchant, or expired unpaid.
    Closed,
    /// The payer's payment failed (declined, not enough balance, …).
    Failed,
    Success,
    /// Paid, and part of it refunded.
    PartialRefund,
    /// Paid, and all of it refunded.
    FullRefund,
}

impl PaymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::PaymentInProcess => "PAYMENT_IN_PROCESS",
            PaymentStatus::Closed => "CLOSED",
            PaymentStatus::Failed => "FAILED",
            PaymentStatus::Success => "SUCCESS",
            PaymentStatus::PartialRefund => "PARTIAL_REFUND",
            PaymentStatus::FullRefund => "FULL_REFUND",
        }
    }
}

/// `refundStatus` of inquiryRefund and of refund notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefundStatus {
    RefundInProcess,
    Success,
    Failed,
}

impl RefundStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RefundStatus::RefundInProcess => "REFUND_IN_PROCESS",
            RefundStatus::Success => "SUCCESS",
            RefundStatus::Failed => "FAILED",
        }
    }
}

fn field_error(path: &str, what: impl std::fmt::Display) -> FieldError {
    FieldError::new(format!("{path}: {what}"))
}

/// Checks an AlphaPay amount value: 1–7 ASCII digits, greater than zero. Returns minor units.
pub fn amount_value(path: &str, value: &str) -> Result<i64, FieldError> {
    if value.is_empty() || value.len() > AMOUNT_VALUE_MAX_DIGITS || !value.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(field_error(
            path,
            format!(
                "must be 1 to {AMOUNT_VALUE_MAX_DIGITS} digits in minor units (100 = 1.00), got {:?}",
                value.chars().take(32).collect::<String>()
            ),
        ));
    }
    // At most 7 digits: always fits.
    let minor: i64 = value.parse().map_err(|_| field_error(path, "is not a number"))?;
    if minor == 0 {
        return Err(field_error(path, "must be greater than zero"));
    }
    Ok(minor)
}

/// Cuts a description to [`DESCRIPTION_MAX_CHARS`] characters (AlphaPay truncates, it does not
/// refuse).
pub fn truncate_description(s: &str) -> String {
    s.chars().take(DESCRIPTION_MAX_CHARS).collect()
}

/// `order` of a pay request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PayOrder {
    pub order_amount: WireAmount,
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_url: Option<String>,
}

/// `paymentMethod` (only the type is read; it is echoed back).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentMethod {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_method_type: Option<String>,
}

/// `payments/pay` request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PayRequest {
    pub scenario_code: String,
    pub payment_request_id: String,
    pub order: PayOrder,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_method: Option<PaymentMethod>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<serde_json::Value>,
}

impl PayRequest {
    /// Checks fields beyond their types; returns the order amount. The currency must be a known
    /// ISO 4217 code here; whether this wallet takes it is the server's decision.
    pub fn check(&self) -> Result<PositiveAmount, FieldError> {
        if !SCENARIO_CODES.contains(&self.scenario_code.as_str()) {
            return Err(field_error(
                "scenarioCode",
                format!(
                    "{:?} is not one of {}",
                    self.scenario_code.chars().take(32).collect::<String>(),
                    SCENARIO_CODES.join(", ")
                ),
            ));
        }
        required("paymentRequestId", &self.payment_request_id, 64)?;
        required("order.description", &self.order.description, usize::MAX)?;
        optional("order.notifyUrl", self.order.notify_url.as_deref(), 1024)?;
        optional("order.redirectUrl", self.order.redirect_url.as_deref(), 1024)?;
        if let Some(m) = &self.payment_method {
            optional(
                "paymentMethod.paymentMethodType",
                m.payment_method_type.as_deref(),
                32,
            )?;
        }
        let minor = amount_value("order.orderAmount.value", &self.order.order_amount.value)?;
        let currency = crate::Currency::from_code(&self.order.order_amount.currency).ok_or_else(|| {
            field_error(
                "order.orderAmount.currency",
                format!(
                    "{:?} is not an ISO 4217 currency code",
                    self.order
                        .order_amount
                        .currency
                        .chars()
                        .take(16)
                        .collect::<String>()
                ),
            )
        })?;
        Amount::from_minor(currency, minor)
            .ok()
            .and_then(PositiveAmount::new)
            .ok_or_else(|| field_error("order.orderAmount.value", "must be greater than zero"))
    }
}

/// `paymentInfo` of a pay answer: where the payer pays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentInfo {
    /// The link a QR code is made of.
    #[serde(rename = "paymentUrl")]
    pub payment_url: String,
    /// A PNG of the QR code of `paymentUrl`, as a `data:image/png;base64,…` URI (usable as an
    /// `<img src>` as it is).
    #[serde(rename = "paymentQRImage")]
    pub payment_qr_image: String,
    /// The link to send the payer's browser to.
    #[serde(rename = "payUrl")]
    pub pay_url: String,
}

/// `order` as answers show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderView {
    pub order_amount: WireAmount,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_url: Option<String>,
}

/// `payments/pay` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PayResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<OrderView>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_method: Option<PaymentMethod>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_info: Option<PaymentInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_create_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_expire_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<String>,
    pub result: WireResult,
}

/// inquiryPayment and cancel requests: `paymentId` (what the docs name) or `paymentRequestId`
/// (what the official Java SDK can also send).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentLookupRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_request_id: Option<String>,
}

impl PaymentLookupRequest {
    /// Checks lengths and that one id is present.
    pub fn check(&self) -> Result<(), FieldError> {
        optional("paymentId", self.payment_id.as_deref(), 64)?;
        optional("paymentRequestId", self.payment_request_id.as_deref(), 64)?;
        if self.payment_id.as_deref().unwrap_or("").is_empty()
            && self.payment_request_id.as_deref().unwrap_or("").is_empty()
        {
            return Err(FieldError::new("paymentId is required"));
        }
        Ok(())
    }
}

/// A payment as inquiryPayment shows it and as a payment notification carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentView {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario_code: Option<String>,
    pub payment_request_id: String,
    pub order: OrderView,
    pub payment_create_time: String,
    pub payment_expire_time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_time: Option<String>,
    pub payment_id: String,
    pub payment_status: String,
}

/// inquiryPayment answer: the payment and the `result`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InquiryPaymentResponse {
    #[serde(flatten)]
    pub payment: PaymentView,
    pub result: WireResult,
}

/// cancel answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_time: Option<String>,
    pub result: WireResult,
}

/// `refund.refundAmount`: the currency may be left out (it is the payment's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundAmount {
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

/// `refund` of a refund request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundDetailRequest {
    pub refund_amount: RefundAmount,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<String>,
}

/// `payments/refund` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundRequest {
    pub payment_id: String,
    /// Optional in AlphaPay; without it a request cannot be retried safely.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_request_id: Option<String>,
    pub refund: RefundDetailRequest,
}

impl RefundRequest {
    /// Checks fields beyond their types; returns the refund value in minor units.
    pub fn check(&self) -> Result<i64, FieldError> {
        required("paymentId", &self.payment_id, 64)?;
        if let Some(id) = &self.refund_request_id {
            required("refundRequestId", id, 64)?;
        }
        optional("refund.notifyUrl", self.refund.notify_url.as_deref(), 1024)?;
        if let Some(c) = &self.refund.refund_amount.currency {
            if crate::Currency::from_code(c).is_none() {
                return Err(field_error(
                    "refund.refundAmount.currency",
                    format!(
                        "{:?} is not an ISO 4217 currency code",
                        c.chars().take(16).collect::<String>()
                    ),
                ));
            }
        }
        amount_value("refund.refundAmount.value", &self.refund.refund_amount.value)
    }
}

/// `refund` as answers show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundDetail {
    pub refund_amount: WireAmount,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<String>,
}

/// `payments/refund` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund: Option<RefundDetail>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_time: Option<String>,
    pub result: WireResult,
}

/// inquiryRefund request: `refundId` (what the docs require) or `refundRequestId`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundLookupRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_request_id: Option<String>,
}

impl RefundLookupRequest {
    /// Checks lengths and that one id is present.
    pub fn check(&self) -> Result<(), FieldError> {
        optional("refundId", self.refund_id.as_deref(), 64)?;
        optional("refundRequestId", self.refund_request_id.as_deref(), 64)?;
        if self.refund_id.as_deref().unwrap_or("").is_empty()
            && self.refund_request_id.as_deref().unwrap_or("").is_empty()
        {
            return Err(FieldError::new("refundId is required"));
        }
        Ok(())
    }
}

/// A refund as inquiryRefund shows it and as a refund notification carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundView {
    pub payment_id: String,
    pub refund_request_id: String,
    pub refund_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_time: Option<String>,
    pub refund_status: String,
    pub refund: RefundDetail,
}

/// inquiryRefund answer: the refund and the `result`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InquiryRefundResponse {
    #[serde(flatten)]
    pub refund: RefundView,
    pub result: WireResult,
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAY: &str = r#"{"scenarioCode":"ONLINE_QRCODE","paymentRequestId":"r-1",
        "order":{"orderAmount":{"value":"1234","currency":"CAD"},"description":"Tea",
        "notifyUrl":"https://m.example/n","redirectUrl":"https://m.example/r"},
        "paymentMethod":{"paymentMethodType":"Alipay","paymentCode":"ALIPAY"}}"#;

    fn pay_with(field: &str, value: &str) -> String {
        PAY.replace(field, value)
    }

    #[test]
    fn a_documented_pay_request_parses_and_checks() {
        let req: PayRequest = parse_body(PAY.as_bytes()).unwrap();
        let amount = req.check().unwrap();
        assert_eq!(amount.value_minor(), 1234);
        assert_eq!(amount.currency().code(), "CAD");
        assert_eq!(
            req.payment_method.unwrap().payment_method_type.as_deref(),
            Some("Alipay")
        );
    }

    #[test]
    fn order_amounts_follow_the_seven_digit_rule() {
        for bad in ["12345678", "0", "", "1.00", "-1", " 1", "１"] {
            let body = pay_with(r#""value":"1234""#, &format!(r#""value":"{bad}""#));
            let req: PayRequest = parse_body(body.as_bytes()).unwrap();
            let e = req.check().unwrap_err();
            assert!(e.message.contains("order.orderAmount.value"), "{bad:?}: {e}");
        }
        let body = pay_with(r#""value":"1234""#, r#""value":"9999999""#);
        let req: PayRequest = parse_body(body.as_bytes()).unwrap();
        assert_eq!(req.check().unwrap().value_minor(), 9_999_999);
        // A number instead of a string is a type error naming the field.
        let body = pay_with(r#""value":"1234""#, r#""value":1234"#);
        let e = parse_body::<PayRequest>(body.as_bytes()).unwrap_err();
        assert!(e.message.contains("order.orderAmount.value"), "{e}");
    }

    #[test]
    fn unknown_scenarios_and_currencies_are_named() {
        let body = pay_with("ONLINE_QRCODE", "TELEPORT");
        let e = parse_body::<PayRequest>(body.as_bytes())
            .unwrap()
            .check()
            .unwrap_err();
        assert!(e.message.contains("scenarioCode"), "{e}");
        let body = pay_with(r#""currency":"CAD""#, r#""currency":"XXZ""#);
        let e = parse_body::<PayRequest>(body.as_bytes())
            .unwrap()
            .check()
            .unwrap_err();
        assert!(e.message.contains("order.orderAmount.currency"), "{e}");
        let e = parse_body::<PayRequest>(br#"{"scenarioCode":"ONLINE_QRCODE"}"#).unwrap_err();
        assert!(e.message.contains("paymentRequestId"), "{e}");
    }

    #[test]
    fn refunds_may_leave_out_the_currency_and_the_request_id() {
        let req: RefundRequest =
            parse_body(br#"{"paymentId":"p1","refund":{"refundAmount":{"value":"5"}}}"#).unwrap();
        assert_eq!(req.check().unwrap(), 5);
        assert_eq!(req.refund_request_id, None);
        let req: RefundRequest =
            parse_body(br#"{"paymentId":"p1","refund":{"refundAmount":{"value":"50000000"}}}"#).unwrap();
        assert!(req
            .check()
            .unwrap_err()
            .message
            .contains("refund.refundAmount.value"));
    }

    #[test]
    fn lookups_need_an_id_and_views_flatten_beside_the_result() {
        assert!(PaymentLookupRequest::default().check().is_err());
        assert!(RefundLookupRequest::default().check().is_err());
        let answer = InquiryRefundResponse {
            refund: RefundView {
                payment_id: "p".into(),
                refund_request_id: "rr".into(),
                refund_id: "r".into(),
                refund_time: None,
                refund_status: RefundStatus::Success.as_str().into(),
                refund: RefundDetail {
                    refund_amount: WireAmount {
                        currency: "CAD".into(),
                        value: "5".into(),
                    },
                    description: None,
                    notify_url: None,
                },
            },
            result: WireResult::of(crate::ResultCode::Success),
        };
        let v = serde_json::to_value(&answer).unwrap();
        assert_eq!(v["refundStatus"], "SUCCESS");
        assert_eq!(v["refund"]["refundAmount"]["value"], "5");
        assert_eq!(v["result"]["resultStatus"], "S");
        let back: InquiryRefundResponse = serde_json::from_value(v).unwrap();
        assert_eq!(back, answer);
    }

    #[test]
    fn descriptions_are_cut_at_128_characters() {
        let long = "é".repeat(200);
        assert_eq!(truncate_description(&long).chars().count(), 128);
        assert_eq!(truncate_description("Tea"), "Tea");
    }
}
