//! Request and response bodies of the Mini Program OpenAPI (docs/mini-program.md §8–§16), v1 and v2.
//!
//! Parsing is strict about types and lengths (a wrong field is `PARAM_ILLEGAL` with the field's
//! path in the message) and tolerant where real clients differ: booleans may arrive as `"true"`,
//! v1's `extraParams.ORDER` is a JSON *string* (in which even `orderAmount` may be a string).

use crate::amount::{Amount, WireAmount};
use crate::result::WireResult;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;

mod builders;
pub mod oauth; // applyToken, cancelToken, user info; constructors and `with_*` setters of the requests a merchant sends

/// A field that is wrong, in words fit for `resultMessage`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FieldError(pub String);

fn field_error(path: &str, what: impl std::fmt::Display) -> FieldError {
    FieldError(format!("{path}: {what}"))
}

/// Parses a JSON body into `T`, naming the failing field's path on error.
///
/// The body must be exactly one JSON value: anything after it but whitespace (a second object,
/// stray bytes) is refused, so that the value we act on is the whole of what was signed.
pub fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, FieldError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    let value = parse_value(de)?;
    de.end().map_err(|e| {
        FieldError(format!(
            "the body is not valid JSON: it must be one JSON value with nothing after it ({e})"
        ))
    })?;
    Ok(value)
}

fn parse_value<'de, T: DeserializeOwned>(
    de: &mut serde_json::Deserializer<serde_json::de::SliceRead<'de>>,
) -> Result<T, FieldError> {
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            FieldError(format!("the body is not valid JSON: {inner}"))
        } else if path == "." {
            FieldError(inner.to_string())
        } else {
            field_error(&path, inner)
        }
    })
}

/// Checks that a required string is present, non-empty and at most `max` characters.
pub fn required(path: &str, value: &str, max: usize) -> Result<(), FieldError> {
    if value.is_empty() {
        return Err(field_error(path, "must not be empty"));
    }
    optional(path, Some(value), max)
}

/// Checks an optional string's length (characters, not bytes).
pub fn optional(path: &str, value: Option<&str>, max: usize) -> Result<(), FieldError> {
    match value {
        Some(v) if v.chars().count() > max => Err(field_error(path, format!("longer than {max} characters"))),
        _ => Ok(()),
    }
}

/// Parses a wire amount, positive, as a typed [`Amount`].
pub fn amount(path: &str, a: &WireAmount) -> Result<Amount, FieldError> {
    let amount = Amount::parse_wire(&a.currency, &a.value).map_err(|e| field_error(path, e))?;
    if amount.is_zero() {
        return Err(field_error(&format!("{path}.value"), "must be greater than zero"));
    }
    Ok(amount)
}

/// A boolean that also accepts the strings `"true"` and `"false"` (case-insensitive).
fn flexible_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum B {
        Bool(bool),
        Text(String),
        Other(serde_json::Value),
    }
    match Option::<B>::deserialize(d)? {
        None => Ok(None),
        Some(B::Bool(b)) => Ok(Some(b)),
        Some(B::Text(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(B::Text(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(B::Text(s)) => Err(serde::de::Error::custom(format!("expected a boolean, got {s:?}"))),
        Some(B::Other(v)) => Err(serde::de::Error::custom(format!("expected a boolean, got {v}"))),
    }
}

/// `paymentFactor`, v1 and v2 fields together.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentFactor {
    #[serde(
        default,
        deserialize_with = "flexible_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub is_cashier_payment: Option<bool>,
    #[serde(
        default,
        deserialize_with = "flexible_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub is_agreement_pay: Option<bool>,
    #[serde(
        default,
        deserialize_with = "flexible_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub is_payment_code: Option<bool>,
    #[serde(
        default,
        deserialize_with = "flexible_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub is_order_code: Option<bool>,
    #[serde(
        default,
        deserialize_with = "flexible_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub is_payment_evaluation: Option<bool>,
    #[serde(
        default,
        deserialize_with = "flexible_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub is_authorization_and_pay: Option<bool>,
    #[serde(
        default,
        deserialize_with = "flexible_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub is_authorization_payment: Option<bool>,
    #[serde(
        default,
        deserialize_with = "flexible_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub is_in_store_payment: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_store_payment_scenario: Option<String>,
}

/// The part of an `Order` walletd reads (display only; never used to move money).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    #[serde(default)]
    pub reference_order_id: Option<String>,
    #[serde(default)]
    pub order_description: Option<String>,
    #[serde(default)]
    pub merchant: Option<OrderMerchant>,
}

/// The merchant inside an order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderMerchant {
    #[serde(default)]
    pub reference_merchant_id: Option<String>,
    #[serde(default)]
    pub merchant_name: Option<String>,
    #[serde(default)]
    pub merchant_display_name: Option<String>,
}

impl Order {
    /// Checks lengths of the fields we read.
    pub fn check(&self, path: &str) -> Result<(), FieldError> {
        optional(
            &format!("{path}.referenceOrderId"),
            self.reference_order_id.as_deref(),
            64,
        )?;
        optional(
            &format!("{path}.orderDescription"),
            self.order_description.as_deref(),
            256,
        )?;
        if let Some(m) = &self.merchant {
            optional(
                &format!("{path}.merchant.referenceMerchantId"),
                m.reference_merchant_id.as_deref(),
                32,
            )?;
            optional(
                &format!("{path}.merchant.merchantName"),
                m.merchant_name.as_deref(),
                256,
            )?;
            optional(
                &format!("{path}.merchant.merchantDisplayName"),
                m.merchant_display_name.as_deref(),
                64,
            )?;
        }
        Ok(())
    }

    /// The merchant's display name, if the order names one.
    pub fn merchant_display(&self) -> Option<String> {
        let m = self.merchant.as_ref()?;
        m.merchant_display_name
            .clone()
            .or_else(|| m.merchant_name.clone())
    }
}

/// `/v1/payments/pay` request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PayRequestV1 {
    pub partner_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_code: Option<String>,
    pub payment_order_title: String,
    pub payment_request_id: String,
    pub payment_amount: WireAmount,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_methods: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_auth_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_factor: Option<PaymentFactor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_expiry_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_return_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_notify_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcc: Option<String>,
    /// Only the key `ORDER` is defined; its value is a JSON string of an [`Order`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_params: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extend_info: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_info: Option<serde_json::Value>,
}

impl PayRequestV1 {
    /// Length and shape checks beyond types.
    pub fn check(&self) -> Result<Amount, FieldError> {
        required("partnerId", &self.partner_id, 32)?;
        optional("appId", self.app_id.as_deref(), 32)?;
        optional("productCode", self.product_code.as_deref(), 32)?;
        required("paymentOrderTitle", &self.payment_order_title, 256)?;
        required("paymentRequestId", &self.payment_request_id, 64)?;
        optional("paymentAuthCode", self.payment_auth_code.as_deref(), 128)?;
        optional("paymentExpiryTime", self.payment_expiry_time.as_deref(), 64)?;
        optional("paymentReturnUrl", self.payment_return_url.as_deref(), 1024)?;
        optional("paymentNotifyUrl", self.payment_notify_url.as_deref(), 1024)?;
        optional("mcc", self.mcc.as_deref(), 32)?;
        optional("extendInfo", self.extend_info.as_deref(), 4096)?;
        self.order()?;
        amount("paymentAmount", &self.payment_amount)
    }

    /// The order inside `extraParams.ORDER`, parsed from its JSON string.
    pub fn order(&self) -> Result<Option<Order>, FieldError> {
        let Some(raw) = self.extra_params.as_ref().and_then(|m| m.get("ORDER")) else {
            return Ok(None);
        };
        let order: Order = match raw {
            serde_json::Value::String(s) => {
                parse_body(s.as_bytes()).map_err(|e| field_error("extraParams.ORDER", e))?
            }
            serde_json::Value::Object(_) => {
                serde_json::from_value(raw.clone()).map_err(|e| field_error("extraParams.ORDER", e))?
            }
            _ => {
                return Err(field_error(
                    "extraParams.ORDER",
                    "must be a JSON string of an Order",
                ))
            }
        };
        order.check("extraParams.ORDER")?;
        Ok(Some(order))
    }
}

/// `/v2/payments/pay` request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PayRequestV2 {
    pub app_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sales_code: Option<String>,
    pub payment_request_id: String,
    pub payment_amount: WireAmount,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<Order>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_method: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_factor: Option<PaymentFactor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_auth_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_expiry_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_redirect_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_notify_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub void_notify_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extend_info: Option<String>,
}

impl PayRequestV2 {
    /// Length and shape checks beyond types.
    pub fn check(&self) -> Result<Amount, FieldError> {
        required("appId", &self.app_id, 32)?;
        optional("productCode", self.product_code.as_deref(), 32)?;
        optional("salesCode", self.sales_code.as_deref(), 32)?;
        required("paymentRequestId", &self.payment_request_id, 64)?;
        optional("paymentAuthCode", self.payment_auth_code.as_deref(), 128)?;
        optional("paymentExpiryTime", self.payment_expiry_time.as_deref(), 64)?;
        optional("paymentRedirectUrl", self.payment_redirect_url.as_deref(), 1024)?;
        optional("paymentNotifyUrl", self.payment_notify_url.as_deref(), 1024)?;
        optional("voidNotifyUrl", self.void_notify_url.as_deref(), 2048)?;
        optional("extendInfo", self.extend_info.as_deref(), 4096)?;
        if let Some(p) = &self.product_code {
            if !matches!(
                p.as_str(),
                "CASHIER_PAYMENT" | "AGREEMENT_PAYMENT" | "IN_STORE_PAYMENT"
            ) {
                return Err(field_error(
                    "productCode",
                    "must be CASHIER_PAYMENT, AGREEMENT_PAYMENT or IN_STORE_PAYMENT",
                ));
            }
        }
        if let Some(o) = &self.order {
            o.check("order")?;
        }
        amount("paymentAmount", &self.payment_amount)
    }
}

/// v1 `actionForm`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionForm {
    pub action_form_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirection_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_code: Option<String>,
}

/// v2 `redirectActionForm` (we send both `redirectUrl` and `redirectionUrl`, docs/mini-program.md §9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RedirectActionForm {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<String>,
    pub redirect_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirection_url: Option<String>,
}

/// pay response, v1 and v2 (v1 uses `actionForm`, v2 `redirectActionForm`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PayResponse {
    pub result: WireResult,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_form: Option<ActionForm>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_action_form: Option<RedirectActionForm>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_expiry_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extend_info: Option<String>,
}

/// inquiryPayment and cancel requests (v1 adds `partnerId`): one of the two ids is required.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentLookupRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extend_info: Option<String>,
}

impl PaymentLookupRequest {
    /// Checks lengths and that one id is present; `v1` also requires `partnerId`.
    pub fn check(&self, v1: bool) -> Result<(), FieldError> {
        if v1 {
            required("partnerId", self.partner_id.as_deref().unwrap_or(""), 32)?;
        }
        optional("paymentId", self.payment_id.as_deref(), 64)?;
        optional("paymentRequestId", self.payment_request_id.as_deref(), 64)?;
        optional("extendInfo", self.extend_info.as_deref(), 4096)?;
        if self.payment_id.as_deref().unwrap_or("").is_empty()
            && self.payment_request_id.as_deref().unwrap_or("").is_empty()
        {
            return Err(FieldError("paymentId or paymentRequestId is required".into()));
        }
        Ok(())
    }
}

/// inquiryPayment response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InquiryPaymentResponse {
    pub result: WireResult,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_amount: Option<WireAmount>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_create_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_fail_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_expiry_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extend_info: Option<String>,
}

/// cancel response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelResponse {
    pub result: WireResult,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_time: Option<String>,
}

/// refund request (v1 adds `partnerId`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_id: Option<String>,
    pub refund_request_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_request_id: Option<String>,
    pub refund_amount: WireAmount,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extend_info: Option<String>,
}

impl RefundRequest {
    /// Checks lengths, ids and the amount.
    pub fn check(&self, v1: bool) -> Result<Amount, FieldError> {
        if v1 {
            required("partnerId", self.partner_id.as_deref().unwrap_or(""), 32)?;
        }
        required("refundRequestId", &self.refund_request_id, 64)?;
        optional("paymentId", self.payment_id.as_deref(), 64)?;
        optional("paymentRequestId", self.payment_request_id.as_deref(), 64)?;
        optional("refundReason", self.refund_reason.as_deref(), 256)?;
        optional("extendInfo", self.extend_info.as_deref(), 4096)?;
        if self.payment_id.as_deref().unwrap_or("").is_empty()
            && self.payment_request_id.as_deref().unwrap_or("").is_empty()
        {
            return Err(FieldError("paymentId or paymentRequestId is required".into()));
        }
        amount("refundAmount", &self.refund_amount)
    }
}

/// refund response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundResponse {
    pub result: WireResult,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extend_info: Option<String>,
}

/// inquiryRefund request (v1 adds `partnerId`): one of the two ids is required.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundLookupRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extend_info: Option<String>,
}

impl RefundLookupRequest {
    /// Checks lengths and that one id is present.
    pub fn check(&self, v1: bool) -> Result<(), FieldError> {
        if v1 {
            required("partnerId", self.partner_id.as_deref().unwrap_or(""), 32)?;
        }
        optional("refundId", self.refund_id.as_deref(), 64)?;
        optional("refundRequestId", self.refund_request_id.as_deref(), 64)?;
        if self.refund_id.as_deref().unwrap_or("").is_empty()
            && self.refund_request_id.as_deref().unwrap_or("").is_empty()
        {
            return Err(FieldError("refundId or refundRequestId is required".into()));
        }
        Ok(())
    }
}

/// inquiryRefund response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InquiryRefundResponse {
    pub result: WireResult,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_amount: Option<WireAmount>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_fail_reason: Option<String>,
}

// ---- capture (docs/mini-program.md §13) ----

/// `capture` request, v2 and v1 (Qi's edition, which adds `partnerId`).
///
/// The ids default to empty when absent, so [`check`](Self::check) can name the missing one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CaptureRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_id: Option<String>,
    #[serde(default)]
    pub capture_request_id: String,
    /// The authorization (a payment made with `paymentFactor.isAuthorizationPayment`).
    #[serde(default)]
    pub payment_id: String,
    /// Absent: everything still held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture_amount: Option<WireAmount>,
    /// A boolean or the strings `"true"`/`"false"`; absent means true (see [`is_last`](Self::is_last)).
    #[serde(
        default,
        deserialize_with = "flexible_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub is_last_capture: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extend_info: Option<String>,
}

impl CaptureRequest {
    /// Captures `amount` (or, with `None`, everything held) of the authorization `payment_id`;
    /// `is_last` releases what is left after it.
    pub fn new(
        capture_request_id: &str,
        payment_id: &str,
        amount: Option<WireAmount>,
        is_last: bool,
    ) -> Self {
        CaptureRequest {
            partner_id: None,
            capture_request_id: capture_request_id.to_owned(),
            payment_id: payment_id.to_owned(),
            capture_amount: amount,
            is_last_capture: Some(is_last),
            extend_info: None,
        }
    }

    /// `isLastCapture`, true when absent.
    pub fn is_last(&self) -> bool {
        self.is_last_capture.unwrap_or(true)
    }

    /// Checks the ids and lengths (not the amount: see [`capture_amount`](Self::capture_amount)).
    pub fn check_fields(&self) -> Result<(), FieldError> {
        required("captureRequestId", &self.capture_request_id, 64)?;
        required("paymentId", &self.payment_id, 64)?;
        optional("partnerId", self.partner_id.as_deref(), 32)?;
        optional("extendInfo", self.extend_info.as_deref(), 4096)
    }

    /// The amount asked for, positive, or `None` for everything held.
    pub fn capture_amount(&self) -> Result<Option<Amount>, FieldError> {
        self.capture_amount
            .as_ref()
            .map(|a| amount("captureAmount", a))
            .transpose()
    }

    /// [`check_fields`](Self::check_fields), then [`capture_amount`](Self::capture_amount).
    pub fn check(&self) -> Result<Option<Amount>, FieldError> {
        self.check_fields()?;
        self.capture_amount()
    }
}

/// `capture` answer (the capture fields are present when the result is `S`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CaptureResponse {
    pub result: WireResult,
    pub capture_request_id: String,
    pub capture_id: String,
    pub payment_id: String,
    pub capture_amount: WireAmount,
    pub capture_time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extend_info: Option<String>,
}

/// A body with only `result` (every error answer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultOnly {
    pub result: WireResult,
}

/// v1 notifyPayment body (wallet → merchant).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotifyPaymentV1 {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_id: Option<String>,
    pub payment_id: String,
    pub payment_request_id: String,
    pub payment_amount: WireAmount,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_create_time: Option<String>,
    /// `SUCCESS` or `FAIL`.
    pub payment_status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_fail_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extend_info: Option<String>,
}

/// v2 notifyPayment body (wallet → merchant).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotifyPaymentV2 {
    pub payment_id: String,
    pub payment_request_id: String,
    pub payment_result: WireResult,
    pub payment_amount: WireAmount,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_create_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extend_info: Option<String>,
}

/// The acknowledgement a merchant sends for a notification.
pub fn notification_ack() -> ResultOnly {
    ResultOnly {
        result: WireResult {
            result_code: "SUCCESS".into(),
            result_status: "S".into(),
            result_message: "success".into(),
        },
    }
}

/// Date-times in bodies: ISO 8601 to the second with a `+hh:mm` offset (UTC: `+00:00`).
pub fn format_body_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_pay_reads_order_from_a_json_string_and_string_booleans() {
        let body = br#"{"partnerId":"P1","paymentOrderTitle":"Tea","paymentRequestId":"r1",
            "paymentAmount":{"currency":"USD","value":"100"},
            "paymentFactor":{"isCashierPayment":"true"},
            "extraParams":{"ORDER":"{\"referenceOrderId\":\"o-1\",\"orderAmount\":\"{\\\"currency\\\":\\\"USD\\\",\\\"value\\\":\\\"100\\\"}\",\"merchant\":{\"merchantName\":\"Tea House\"}}"}}"#;
        let req: PayRequestV1 = parse_body(body).unwrap();
        assert_eq!(req.check().unwrap().value_minor(), 100);
        assert_eq!(
            req.payment_factor.as_ref().unwrap().is_cashier_payment,
            Some(true)
        );
        let order = req.order().unwrap().unwrap();
        assert_eq!(order.reference_order_id.as_deref(), Some("o-1"));
        assert_eq!(order.merchant_display().as_deref(), Some("Tea House"));
    }

    #[test]
    fn wrong_types_and_lengths_name_the_field() {
        let e = parse_body::<PayRequestV1>(br#"{"partnerId":"P1","paymentOrderTitle":"T","paymentRequestId":"r","paymentAmount":{"currency":"USD","value":100}}"#).unwrap_err();
        assert!(e.0.contains("paymentAmount.value"), "{e}");
        let e = parse_body::<PayRequestV1>(br#"{"paymentOrderTitle":"T"}"#).unwrap_err();
        assert!(e.0.contains("partnerId"), "{e}");
        let e = parse_body::<PayRequestV1>(b"{not json").unwrap_err();
        assert!(e.0.contains("not valid JSON"), "{e}");
        let long = "x".repeat(65);
        let body = format!(
            r#"{{"partnerId":"P1","paymentOrderTitle":"T","paymentRequestId":"{long}","paymentAmount":{{"currency":"USD","value":"1"}}}}"#
        );
        let e = parse_body::<PayRequestV1>(body.as_bytes())
            .unwrap()
            .check()
            .unwrap_err();
        assert!(e.0.contains("paymentRequestId"), "{e}");
        let e = parse_body::<PayRequestV1>(br#"{"partnerId":"P1","paymentOrderTitle":"T","paymentRequestId":"r","paymentAmount":{"currency":"USD","value":"1"},"paymentFactor":{"isCashierPayment":"yes"}}"#).unwrap_err();
        assert!(e.0.contains("paymentFactor.isCashierPayment"), "{e}");
        let e = parse_body::<PayRequestV1>(br#"{"partnerId":"P1","paymentOrderTitle":"T","paymentRequestId":"r","paymentAmount":{"currency":"USD","value":"0"}}"#).unwrap().check().unwrap_err();
        assert!(e.0.contains("greater than zero"), "{e}");
    }

    #[test]
    fn capture_reads_flexible_booleans_and_names_what_is_wrong() {
        let req: CaptureRequest = parse_body(
            br#"{"partnerId":"P1","captureRequestId":"c-1","paymentId":"p-1",
            "captureAmount":{"currency":"USD","value":"3000"},"isLastCapture":"FALSE"}"#,
        )
        .unwrap();
        assert!(!req.is_last());
        assert_eq!(req.check().unwrap().map(|a| a.value_minor()), Some(3000));
        let whole: CaptureRequest =
            parse_body(br#"{"captureRequestId":"c-2","paymentId":"p-1","isLastCapture":null}"#).unwrap();
        assert!(whole.is_last(), "absent or null means last");
        assert_eq!(whole.check(), Ok(None), "no amount: everything held");
        for (body, field) in [
            (r#"{"paymentId":"p"}"#, "captureRequestId"),
            (r#"{"captureRequestId":"c"}"#, "paymentId"),
            (
                r#"{"captureRequestId":"c","paymentId":"p","captureAmount":{"currency":"USD","value":"0"}}"#,
                "captureAmount.value",
            ),
            (
                r#"{"captureRequestId":"c","paymentId":"p","captureAmount":{"currency":"USD","value":"1.5"}}"#,
                "captureAmount",
            ),
        ] {
            let e = parse_body::<CaptureRequest>(body.as_bytes())
                .unwrap()
                .check()
                .unwrap_err();
            assert!(e.0.contains(field), "{body}: {e}");
        }
        let long = CaptureRequest::new(&"c".repeat(65), "p", None, true);
        assert!(long.check_fields().unwrap_err().0.contains("captureRequestId"));
        for bad in [r#""maybe""#, "5", "[]"] {
            let body = format!(r#"{{"captureRequestId":"c","paymentId":"p","isLastCapture":{bad}}}"#);
            let e = parse_body::<CaptureRequest>(body.as_bytes()).unwrap_err();
            assert!(e.0.starts_with("isLastCapture: expected a boolean"), "{bad}: {e}");
        }
    }

    #[test]
    fn capture_serialises_to_what_the_wallet_reads() {
        let req = CaptureRequest::new(
            "c-1",
            "p-1",
            Some(WireAmount {
                currency: "USD".into(),
                value: "100".into(),
            }),
            false,
        );
        assert_eq!(
            serde_json::to_value(&req).unwrap(),
            serde_json::json!({"captureRequestId": "c-1", "paymentId": "p-1",
                "captureAmount": {"currency": "USD", "value": "100"}, "isLastCapture": false})
        );
        let back: CaptureRequest = parse_body(&serde_json::to_vec(&req).unwrap()).unwrap();
        assert_eq!(back, req);
        let answer: CaptureResponse = parse_body(
            br#"{"result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"Success"},
            "captureRequestId":"c-1","captureId":"k-1","paymentId":"p-1",
            "captureAmount":{"currency":"USD","value":"100"},"captureTime":"2030-01-01T00:00:00+00:00"}"#,
        )
        .unwrap();
        assert_eq!(answer.capture_amount.value, "100");
        assert_eq!(answer.extend_info, None);
    }

    #[test]
    fn lookups_need_one_id() {
        assert!(PaymentLookupRequest::default().check(false).is_err());
        let r = PaymentLookupRequest {
            payment_id: Some("p".into()),
            ..Default::default()
        };
        assert!(r.check(false).is_ok());
        assert!(r.check(true).is_err(), "v1 requires partnerId");
    }
}
