//! Request and response bodies of the Mini Program OpenAPI (docs/mini-program.md §8–§16), v1 and v2.
//!
//! Parsing is strict about types and lengths (a wrong field is `PARAM_ILLEGAL` with the field's
//! path in the message) and tolerant where real clients differ: booleans may arrive as `"true"`,
//! v1's `extraParams.ORDER` is a JSON *string* (in which even `orderAmount` may be a string).

use crate::amount::{Amount, Currency, PositiveAmount, WireAmount};
use crate::result::WireResult;
use crate::ResultCode;
use chrono::{DateTime, FixedOffset};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;

mod builders;
pub mod oauth; // applyToken, cancelToken, user info; constructors and `with_*` setters of the requests a merchant sends

/// A field that is wrong: the result code it earns (`PARAM_ILLEGAL` unless said otherwise) and
/// words fit for `resultMessage`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FieldError {
    pub code: ResultCode,
    pub message: String,
}

impl FieldError {
    /// A malformed field: `PARAM_ILLEGAL`.
    pub fn new(message: impl Into<String>) -> FieldError {
        FieldError {
            code: ResultCode::ParamIllegal,
            message: message.into(),
        }
    }
}

fn field_error(path: &str, what: impl std::fmt::Display) -> FieldError {
    FieldError::new(format!("{path}: {what}"))
}

/// Parses a JSON body into `T`, naming the failing field's path on error.
///
/// The body must be exactly one JSON value: anything after it but whitespace (a second object,
/// stray bytes) is refused, so that the value we act on is the whole of what was signed.
pub fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, FieldError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    let value = parse_value(de)?;
    de.end().map_err(|e| {
        FieldError::new(format!(
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
            FieldError::new(format!("the body is not valid JSON: {inner}"))
        } else if path == "." {
            FieldError::new(inner.to_string())
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

/// Refuses a currency that looks like an ISO 4217 code (three capital letters) but is not one this
/// wallet knows: that is `CURRENCY_NOT_SUPPORT`, not a malformed field. Anything else shaped wrong
/// is left to [`amount`], which calls it `PARAM_ILLEGAL`.
pub fn supported_currency(path: &str, a: &WireAmount) -> Result<(), FieldError> {
    let looks_iso = a.currency.len() == 3 && a.currency.bytes().all(|b| b.is_ascii_uppercase());
    if looks_iso && Currency::from_code(&a.currency).is_none() {
        return Err(FieldError {
            code: ResultCode::CurrencyNotSupport,
            message: format!("{path}.currency {} is not supported", a.currency),
        });
    }
    Ok(())
}

/// Parses a wire amount as a typed amount greater than zero, the currency rule first.
pub fn amount(path: &str, a: &WireAmount) -> Result<PositiveAmount, FieldError> {
    supported_currency(path, a)?;
    positive_amount(path, a)
}

/// [`amount`] for a request that applied the currency rule before its other fields.
fn positive_amount(path: &str, a: &WireAmount) -> Result<PositiveAmount, FieldError> {
    let amount = Amount::parse_wire(&a.currency, &a.value).map_err(|e| field_error(path, e))?;
    PositiveAmount::new(amount)
        .ok_or_else(|| field_error(&format!("{path}.value"), "must be greater than zero"))
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

/// `/v1/payments/pay` request. `Debug` hides the payment code.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
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
    /// Checks every field beyond its type and returns the request as one validated value.
    pub fn validate(&self) -> Result<ValidPay, FieldError> {
        supported_currency("paymentAmount", &self.payment_amount)?;
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
        let order = self.order()?.unwrap_or_default();
        let amount = positive_amount("paymentAmount", &self.payment_amount)?;
        Ok(ValidPay {
            partner_id: Some(self.partner_id.clone()),
            app_id: self.app_id.clone(),
            payment_request_id: self.payment_request_id.clone(),
            amount,
            // v1 names no closed set of product codes: one it does not know asks for nothing.
            product: self.product_code.as_deref().and_then(ProductCode::from_wire),
            factor: self.payment_factor.clone().unwrap_or_default(),
            order_title: Some(self.payment_order_title.clone()),
            order,
            expiry_time: expiry_time(self.payment_expiry_time.as_deref())?,
            return_url: self.payment_return_url.clone(),
            notify_url: self.payment_notify_url.clone(),
            extend_info: self.extend_info.clone(),
            payment_auth_code: self.payment_auth_code.clone(),
        })
    }

    /// The order inside `extraParams.ORDER`, parsed from its JSON string.
    fn order(&self) -> Result<Option<Order>, FieldError> {
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

/// `/v2/payments/pay` request. `Debug` hides the payment code.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
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
    /// Checks every field beyond its type and returns the request as one validated value.
    pub fn validate(&self) -> Result<ValidPay, FieldError> {
        supported_currency("paymentAmount", &self.payment_amount)?;
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
        let product = match self.product_code.as_deref() {
            None => None,
            Some(p) => Some(ProductCode::from_wire(p).ok_or_else(|| {
                field_error(
                    "productCode",
                    "must be CASHIER_PAYMENT, AGREEMENT_PAYMENT or IN_STORE_PAYMENT",
                )
            })?),
        };
        let order = self.order.clone().unwrap_or_default();
        order.check("order")?;
        let amount = positive_amount("paymentAmount", &self.payment_amount)?;
        Ok(ValidPay {
            partner_id: None,
            app_id: Some(self.app_id.clone()),
            payment_request_id: self.payment_request_id.clone(),
            amount,
            product,
            factor: self.payment_factor.clone().unwrap_or_default(),
            order_title: order.order_description.clone(),
            order,
            expiry_time: expiry_time(self.payment_expiry_time.as_deref())?,
            return_url: self.payment_redirect_url.clone(),
            notify_url: self.payment_notify_url.clone(),
            extend_info: self.extend_info.clone(),
            payment_auth_code: self.payment_auth_code.clone(),
        })
    }
}

/// `productCode`: which kind of payment a pay request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProductCode {
    /// `CASHIER_PAYMENT`: the user pays on the wallet's cashier page.
    Cashier,
    /// `AGREEMENT_PAYMENT`: charged with an access token the user granted.
    Agreement,
    /// `IN_STORE_PAYMENT`: charged with the payment code the user's app shows.
    InStore,
}

impl ProductCode {
    /// The code as the wire spells it, or `None` for one this wallet does not know.
    pub fn from_wire(code: &str) -> Option<ProductCode> {
        Some(match code {
            "CASHIER_PAYMENT" => ProductCode::Cashier,
            "AGREEMENT_PAYMENT" => ProductCode::Agreement,
            "IN_STORE_PAYMENT" => ProductCode::InStore,
            _ => return None,
        })
    }

    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ProductCode::Cashier => "CASHIER_PAYMENT",
            ProductCode::Agreement => "AGREEMENT_PAYMENT",
            ProductCode::InStore => "IN_STORE_PAYMENT",
        }
    }
}

/// A pay request of either version after every field was checked: what the dialect maps to the
/// core's command, once. `Debug` hides the payment code.
#[derive(Clone, PartialEq)]
pub struct ValidPay {
    /// v1 `partnerId` (v2 has none).
    pub partner_id: Option<String>,
    pub app_id: Option<String>,
    pub payment_request_id: String,
    pub amount: PositiveAmount,
    pub product: Option<ProductCode>,
    pub factor: PaymentFactor,
    /// v1 `paymentOrderTitle`; v2 `order.orderDescription`, if any.
    pub order_title: Option<String>,
    pub order: Order,
    pub expiry_time: Option<DateTime<FixedOffset>>,
    /// v1 `paymentReturnUrl`, v2 `paymentRedirectUrl`.
    pub return_url: Option<String>,
    pub notify_url: Option<String>,
    pub extend_info: Option<String>,
    pub payment_auth_code: Option<String>,
}

impl std::fmt::Debug for PayRequestV1 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        crate::redact::debug_json(f, "PayRequestV1", self, &["paymentAuthCode"])
    }
}

impl std::fmt::Debug for PayRequestV2 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        crate::redact::debug_json(f, "PayRequestV2", self, &["paymentAuthCode"])
    }
}

impl std::fmt::Debug for ValidPay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValidPay")
            .field("partner_id", &self.partner_id)
            .field("app_id", &self.app_id)
            .field("payment_request_id", &self.payment_request_id)
            .field("amount", &self.amount)
            .field("product", &self.product)
            .field("factor", &self.factor)
            .field("order_title", &self.order_title)
            .field("order", &self.order)
            .field("expiry_time", &self.expiry_time)
            .field("return_url", &self.return_url)
            .field("notify_url", &self.notify_url)
            .field("extend_info", &self.extend_info)
            .field(
                "payment_auth_code",
                &crate::redact::optional(&self.payment_auth_code),
            )
            .finish()
    }
}

/// `paymentExpiryTime`, parsed in any of the Request-Time forms.
fn expiry_time(value: Option<&str>) -> Result<Option<DateTime<FixedOffset>>, FieldError> {
    value
        .map(crate::time::parse_request_time)
        .transpose()
        .map_err(|e| field_error("paymentExpiryTime", e))
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
            return Err(FieldError::new("paymentId or paymentRequestId is required"));
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
    pub fn check(&self, v1: bool) -> Result<PositiveAmount, FieldError> {
        supported_currency("refundAmount", &self.refund_amount)?;
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
            return Err(FieldError::new("paymentId or paymentRequestId is required"));
        }
        positive_amount("refundAmount", &self.refund_amount)
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
            return Err(FieldError::new("refundId or refundRequestId is required"));
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
    pub fn capture_amount(&self) -> Result<Option<PositiveAmount>, FieldError> {
        self.capture_amount
            .as_ref()
            .map(|a| amount("captureAmount", a))
            .transpose()
    }

    /// [`check_fields`](Self::check_fields), then [`capture_amount`](Self::capture_amount).
    pub fn check(&self) -> Result<Option<PositiveAmount>, FieldError> {
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
        let valid = req.validate().unwrap();
        assert_eq!(valid.amount.value_minor(), 100);
        assert_eq!(valid.factor.is_cashier_payment, Some(true));
        assert_eq!(valid.order_title.as_deref(), Some("Tea"));
        let order = valid.order;
        assert_eq!(order.reference_order_id.as_deref(), Some("o-1"));
        assert_eq!(order.merchant_display().as_deref(), Some("Tea House"));
    }

    #[test]
    fn wrong_types_and_lengths_name_the_field() {
        let e = parse_body::<PayRequestV1>(br#"{"partnerId":"P1","paymentOrderTitle":"T","paymentRequestId":"r","paymentAmount":{"currency":"USD","value":100}}"#).unwrap_err();
        assert!(e.message.contains("paymentAmount.value"), "{e}");
        let e = parse_body::<PayRequestV1>(br#"{"paymentOrderTitle":"T"}"#).unwrap_err();
        assert!(e.message.contains("partnerId"), "{e}");
        let e = parse_body::<PayRequestV1>(b"{not json").unwrap_err();
        assert!(e.message.contains("not valid JSON"), "{e}");
        let long = "x".repeat(65);
        let body = format!(
            r#"{{"partnerId":"P1","paymentOrderTitle":"T","paymentRequestId":"{long}","paymentAmount":{{"currency":"USD","value":"1"}}}}"#
        );
        let e = parse_body::<PayRequestV1>(body.as_bytes())
            .unwrap()
            .validate()
            .unwrap_err();
        assert!(e.message.contains("paymentRequestId"), "{e}");
        let e = parse_body::<PayRequestV1>(br#"{"partnerId":"P1","paymentOrderTitle":"T","paymentRequestId":"r","paymentAmount":{"currency":"USD","value":"1"},"paymentFactor":{"isCashierPayment":"yes"}}"#).unwrap_err();
        assert!(e.message.contains("paymentFactor.isCashierPayment"), "{e}");
        let e = parse_body::<PayRequestV1>(br#"{"partnerId":"P1","paymentOrderTitle":"T","paymentRequestId":"r","paymentAmount":{"currency":"USD","value":"0"}}"#).unwrap().validate().unwrap_err();
        assert!(e.message.contains("greater than zero"), "{e}");
        assert_eq!(e.code, ResultCode::ParamIllegal);
    }

    #[test]
    fn a_pay_is_validated_once_into_one_value() {
        // An ISO-shaped code this wallet does not know is CURRENCY_NOT_SUPPORT, checked before the
        // other fields; a malformed one is PARAM_ILLEGAL.
        let long = "x".repeat(65);
        let body = format!(
            r#"{{"appId":"a","paymentRequestId":"{long}","paymentAmount":{{"currency":"XYZ","value":"1"}}}}"#
        );
        let e = parse_body::<PayRequestV2>(body.as_bytes())
            .unwrap()
            .validate()
            .unwrap_err();
        assert_eq!(e.code, ResultCode::CurrencyNotSupport, "{e}");
        assert!(e.message.contains("paymentAmount.currency XYZ"), "{e}");
        let e = parse_body::<PayRequestV2>(
            br#"{"appId":"a","paymentRequestId":"r","paymentAmount":{"currency":"usd","value":"1"}}"#,
        )
        .unwrap()
        .validate()
        .unwrap_err();
        assert_eq!(e.code, ResultCode::ParamIllegal, "{e}");

        // v2 knows three product codes and refuses others; v1 ignores one it does not know.
        let v2 = |product: &str| {
            parse_body::<PayRequestV2>(format!(r#"{{"appId":"a","paymentRequestId":"r","productCode":"{product}","paymentAmount":{{"currency":"USD","value":"1"}},"paymentExpiryTime":"2030-01-01T10:00:00+08:00"}}"#).as_bytes())
                .unwrap()
                .validate()
        };
        let valid = v2("AGREEMENT_PAYMENT").unwrap();
        assert_eq!(valid.product, Some(ProductCode::Agreement));
        assert_eq!(valid.order_title, None);
        assert_eq!(
            valid.expiry_time.unwrap().to_rfc3339(),
            "2030-01-01T10:00:00+08:00"
        );
        assert!(v2("ORDER_CODE").unwrap_err().message.contains("productCode"));
        let v1 = parse_body::<PayRequestV1>(br#"{"partnerId":"P1","paymentOrderTitle":"T","paymentRequestId":"r","productCode":"SOMETHING","paymentAmount":{"currency":"USD","value":"1"}}"#)
            .unwrap()
            .validate()
            .unwrap();
        assert_eq!(v1.product, None);
        assert_eq!(v1.partner_id.as_deref(), Some("P1"));
        let e = parse_body::<PayRequestV1>(br#"{"partnerId":"P1","paymentOrderTitle":"T","paymentRequestId":"r","paymentAmount":{"currency":"USD","value":"1"},"paymentExpiryTime":"soon"}"#)
            .unwrap()
            .validate()
            .unwrap_err();
        assert!(e.message.starts_with("paymentExpiryTime"), "{e}");

        // A refund and a capture of zero are refused here, so no command of zero reaches the core.
        let refund = parse_body::<RefundRequest>(
            br#"{"refundRequestId":"rf","paymentId":"p","refundAmount":{"currency":"USD","value":"0"}}"#,
        )
        .unwrap();
        let e = refund.check(false).unwrap_err();
        assert_eq!(
            (e.code, e.message.contains("refundAmount.value")),
            (ResultCode::ParamIllegal, true),
            "{e}"
        );
        let capture = parse_body::<CaptureRequest>(
            br#"{"captureRequestId":"c","paymentId":"p","captureAmount":{"currency":"USD","value":"0"}}"#,
        )
        .unwrap();
        assert!(capture.check().unwrap_err().message.contains("greater than zero"));
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
            assert!(e.message.contains(field), "{body}: {e}");
        }
        let long = CaptureRequest::new(&"c".repeat(65), "p", None, true);
        assert!(long
            .check_fields()
            .unwrap_err()
            .message
            .contains("captureRequestId"));
        for bad in [r#""maybe""#, "5", "[]"] {
            let body = format!(r#"{{"captureRequestId":"c","paymentId":"p","isLastCapture":{bad}}}"#);
            let e = parse_body::<CaptureRequest>(body.as_bytes()).unwrap_err();
            assert!(
                e.message.starts_with("isLastCapture: expected a boolean"),
                "{bad}: {e}"
            );
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
