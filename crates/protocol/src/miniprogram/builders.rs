//! Constructors and chainable setters for the Mini Program requests a merchant sends, so that a
//! call names what matters (who, which payment, how much) and leaves every optional field unset.
//!
//! They only fill fields: the wire names, the serde attributes and the checks stay with the types.

use super::{CaptureRequest, Order, PayRequestV1, PayRequestV2, PaymentFactor};
use super::{PaymentLookupRequest, RefundLookupRequest, RefundRequest};
use crate::amount::WireAmount;
use chrono::{DateTime, Utc};

/// `extendInfo` naming the payer up front (walletd extension: the funds are held at once).
fn payer_extend_info(customer_id: &str) -> String {
    serde_json::json!({ "customerId": customer_id }).to_string()
}

impl PayRequestV2 {
    /// A v2 pay with only the required fields: `appId`, `paymentRequestId` and `paymentAmount`.
    /// The wallet then treats it as a cashier payment.
    ///
    /// `amount` is an [`Amount`](crate::Amount) (checked minor units) or a [`WireAmount`].
    pub fn new(
        app_id: impl Into<String>,
        payment_request_id: impl Into<String>,
        amount: impl Into<WireAmount>,
    ) -> Self {
        PayRequestV2 {
            app_id: app_id.into(),
            product_code: None,
            sales_code: None,
            payment_request_id: payment_request_id.into(),
            payment_amount: amount.into(),
            order: None,
            payment_method: None,
            payment_factor: None,
            payment_auth_code: None,
            payment_expiry_time: None,
            payment_redirect_url: None,
            payment_notify_url: None,
            void_notify_url: None,
            extend_info: None,
        }
    }

    /// A cashier payment (`productCode` `CASHIER_PAYMENT`): the wallet answers `A` with the link
    /// of its cashier page, where the user confirms. `order_ref` and `description` are the
    /// order's `referenceOrderId` and `orderDescription` (what the user sees).
    ///
    /// ```
    /// use walletd_protocol::miniprogram::PayRequestV2;
    /// use walletd_protocol::{Amount, Currency};
    ///
    /// let usd = Currency::from_code("USD").unwrap();
    /// let pay = PayRequestV2::cashier("app-1", "pay-1001", Amount::from_minor(usd, 1250).unwrap(),
    ///     "order-1001", "Two cups of tea")
    ///     .with_notify_url("https://merchant.example/walletd/notify");
    /// assert_eq!(pay.validate().unwrap().amount.value_minor(), 1250);
    /// ```
    pub fn cashier(
        app_id: impl Into<String>,
        payment_request_id: impl Into<String>,
        amount: impl Into<WireAmount>,
        order_ref: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        PayRequestV2 {
            product_code: Some("CASHIER_PAYMENT".into()),
            order: Some(Order {
                reference_order_id: Some(order_ref.into()),
                order_description: Some(description.into()),
                merchant: None,
            }),
            ..PayRequestV2::new(app_id, payment_request_id, amount)
        }
    }

    /// An agreement payment (`productCode` `AGREEMENT_PAYMENT`): paid at once, without the
    /// user, under the agreement the user granted; `access_token` is the one `applyToken` gave
    /// (sent as `paymentAuthCode`).
    pub fn agreement(
        app_id: impl Into<String>,
        payment_request_id: impl Into<String>,
        amount: impl Into<WireAmount>,
        access_token: impl Into<String>,
    ) -> Self {
        PayRequestV2 {
            product_code: Some("AGREEMENT_PAYMENT".into()),
            payment_auth_code: Some(access_token.into()),
            ..PayRequestV2::new(app_id, payment_request_id, amount)
        }
    }

    /// Makes it an authorization (`paymentFactor.isAuthorizationPayment`): the funds are only
    /// held, and the merchant takes them later with `capture` ([`CaptureRequest`]).
    pub fn as_authorization(mut self) -> Self {
        self.payment_factor
            .get_or_insert_with(PaymentFactor::default)
            .is_authorization_payment = Some(true);
        self
    }

    /// `paymentNotifyUrl`: where the wallet POSTs the signed outcome.
    pub fn with_notify_url(mut self, url: impl Into<String>) -> Self {
        self.payment_notify_url = Some(url.into());
        self
    }

    /// `paymentRedirectUrl`: where the cashier page sends the user afterwards.
    pub fn with_redirect_url(mut self, url: impl Into<String>) -> Self {
        self.payment_redirect_url = Some(url.into());
        self
    }

    /// `paymentExpiryTime`: unpaid after this instant, the payment fails.
    pub fn with_expiry(mut self, at: DateTime<Utc>) -> Self {
        self.payment_expiry_time = Some(super::format_body_time(at));
        self
    }

    /// `voidNotifyUrl`: where the wallet reports a payment it voided.
    pub fn with_void_notify_url(mut self, url: impl Into<String>) -> Self {
        self.void_notify_url = Some(url.into());
        self
    }

    /// The order shown to the user (replaces one set by [`cashier`](Self::cashier)).
    pub fn with_order(mut self, order: Order) -> Self {
        self.order = Some(order);
        self
    }

    /// `paymentAuthCode` (a payment code scanned from the user, or an agreement's code).
    pub fn with_auth_code(mut self, code: impl Into<String>) -> Self {
        self.payment_auth_code = Some(code.into());
        self
    }

    /// `extendInfo` as it is (a JSON string by convention).
    pub fn with_extend_info(mut self, extend_info: impl Into<String>) -> Self {
        self.extend_info = Some(extend_info.into());
        self
    }

    /// Names the payer up front (walletd extension, `extendInfo` `{"customerId": …}`, with the
    /// id `applyToken` gave): the funds are held at once. Replaces any `extendInfo`.
    pub fn with_payer(mut self, customer_id: &str) -> Self {
        self.extend_info = Some(payer_extend_info(customer_id));
        self
    }
}

impl PayRequestV1 {
    /// A v1 pay with only the required fields: `partnerId`, `paymentOrderTitle` (what the user
    /// sees), `paymentRequestId` and `paymentAmount`.
    pub fn new(
        partner_id: impl Into<String>,
        payment_request_id: impl Into<String>,
        amount: impl Into<WireAmount>,
        title: impl Into<String>,
    ) -> Self {
        PayRequestV1 {
            partner_id: partner_id.into(),
            app_id: None,
            product_code: None,
            payment_order_title: title.into(),
            payment_request_id: payment_request_id.into(),
            payment_amount: amount.into(),
            payment_methods: None,
            payment_auth_code: None,
            payment_factor: None,
            payment_expiry_time: None,
            payment_return_url: None,
            payment_notify_url: None,
            mcc: None,
            extra_params: None,
            extend_info: None,
            env_info: None,
        }
    }

    /// A v1 cashier payment (`paymentFactor.isCashierPayment`): the wallet answers `A` with the
    /// link of its cashier page.
    pub fn cashier(
        partner_id: impl Into<String>,
        payment_request_id: impl Into<String>,
        amount: impl Into<WireAmount>,
        title: impl Into<String>,
    ) -> Self {
        PayRequestV1 {
            payment_factor: Some(PaymentFactor {
                is_cashier_payment: Some(true),
                ..PaymentFactor::default()
            }),
            ..PayRequestV1::new(partner_id, payment_request_id, amount, title)
        }
    }

    /// `appId`.
    pub fn with_app_id(mut self, app_id: impl Into<String>) -> Self {
        self.app_id = Some(app_id.into());
        self
    }

    /// `paymentNotifyUrl`: where the wallet POSTs the signed outcome.
    pub fn with_notify_url(mut self, url: impl Into<String>) -> Self {
        self.payment_notify_url = Some(url.into());
        self
    }

    /// `paymentReturnUrl`: where the cashier page sends the user afterwards.
    pub fn with_return_url(mut self, url: impl Into<String>) -> Self {
        self.payment_return_url = Some(url.into());
        self
    }

    /// `paymentExpiryTime`: unpaid after this instant, the payment fails.
    pub fn with_expiry(mut self, at: DateTime<Utc>) -> Self {
        self.payment_expiry_time = Some(super::format_body_time(at));
        self
    }

    /// `paymentAuthCode`.
    pub fn with_auth_code(mut self, code: impl Into<String>) -> Self {
        self.payment_auth_code = Some(code.into());
        self
    }

    /// `extendInfo` as it is (a JSON string by convention).
    pub fn with_extend_info(mut self, extend_info: impl Into<String>) -> Self {
        self.extend_info = Some(extend_info.into());
        self
    }

    /// Names the payer up front (walletd extension, see [`PayRequestV2::with_payer`]).
    pub fn with_payer(mut self, customer_id: &str) -> Self {
        self.extend_info = Some(payer_extend_info(customer_id));
        self
    }
}

impl PaymentLookupRequest {
    /// Looks a payment up (inquiryPayment, cancel) by the wallet's `paymentId`.
    pub fn by_payment_id(payment_id: impl Into<String>) -> Self {
        PaymentLookupRequest {
            payment_id: Some(payment_id.into()),
            ..PaymentLookupRequest::default()
        }
    }

    /// Looks a payment up by the merchant's own `paymentRequestId` (works even when the pay
    /// answer, and so the `paymentId`, was lost).
    pub fn by_payment_request_id(payment_request_id: impl Into<String>) -> Self {
        PaymentLookupRequest {
            payment_request_id: Some(payment_request_id.into()),
            ..PaymentLookupRequest::default()
        }
    }

    /// `partnerId`, which v1 requires.
    pub fn with_partner_id(mut self, partner_id: impl Into<String>) -> Self {
        self.partner_id = Some(partner_id.into());
        self
    }
}

impl RefundRequest {
    /// Refunds `amount` of the payment `payment_id`. `refund_request_id` is the merchant's id of
    /// this refund: re-sending it never refunds twice.
    pub fn new(
        payment_id: impl Into<String>,
        refund_request_id: impl Into<String>,
        amount: impl Into<WireAmount>,
    ) -> Self {
        RefundRequest {
            partner_id: None,
            refund_request_id: refund_request_id.into(),
            payment_id: Some(payment_id.into()),
            payment_request_id: None,
            refund_amount: amount.into(),
            refund_reason: None,
            extend_info: None,
        }
    }

    /// Like [`new`](Self::new), naming the payment by the merchant's `paymentRequestId`.
    pub fn for_payment_request(
        payment_request_id: impl Into<String>,
        refund_request_id: impl Into<String>,
        amount: impl Into<WireAmount>,
    ) -> Self {
        RefundRequest {
            partner_id: None,
            refund_request_id: refund_request_id.into(),
            payment_id: None,
            payment_request_id: Some(payment_request_id.into()),
            refund_amount: amount.into(),
            refund_reason: None,
            extend_info: None,
        }
    }

    /// `refundReason`.
    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.refund_reason = Some(reason.into());
        self
    }

    /// `partnerId`, which v1 requires.
    pub fn with_partner_id(mut self, partner_id: impl Into<String>) -> Self {
        self.partner_id = Some(partner_id.into());
        self
    }

    /// `extendInfo` as it is.
    pub fn with_extend_info(mut self, extend_info: impl Into<String>) -> Self {
        self.extend_info = Some(extend_info.into());
        self
    }
}

impl RefundLookupRequest {
    /// Looks a refund up (inquiryRefund) by the wallet's `refundId`.
    pub fn by_refund_id(refund_id: impl Into<String>) -> Self {
        RefundLookupRequest {
            refund_id: Some(refund_id.into()),
            ..RefundLookupRequest::default()
        }
    }

    /// Looks a refund up by the merchant's own `refundRequestId`.
    pub fn by_refund_request_id(refund_request_id: impl Into<String>) -> Self {
        RefundLookupRequest {
            refund_request_id: Some(refund_request_id.into()),
            ..RefundLookupRequest::default()
        }
    }

    /// `partnerId`, which v1 requires.
    pub fn with_partner_id(mut self, partner_id: impl Into<String>) -> Self {
        self.partner_id = Some(partner_id.into());
        self
    }
}

impl CaptureRequest {
    /// Captures everything still held by the authorization `payment_id`, and releases nothing
    /// more (a last capture).
    pub fn all(capture_request_id: &str, payment_id: &str) -> Self {
        CaptureRequest::new(capture_request_id, payment_id, None, true)
    }

    /// `partnerId` (the v1 edition sends it).
    pub fn with_partner_id(mut self, partner_id: impl Into<String>) -> Self {
        self.partner_id = Some(partner_id.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Amount, Currency};
    use serde_json::json;

    fn usd(minor: i64) -> Amount {
        Amount::from_minor(Currency::from_code("USD").unwrap(), minor).unwrap()
    }

    #[test]
    fn cashier_pay_v2_serialises_only_what_was_set() {
        let at = DateTime::parse_from_rfc3339("2030-01-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let pay = PayRequestV2::cashier("app-1", "pay-1", usd(1250), "order-1", "Two cups of tea")
            .with_notify_url("https://m.example/n")
            .with_redirect_url("https://m.example/back")
            .with_expiry(at);
        assert_eq!(
            serde_json::to_value(&pay).unwrap(),
            json!({"appId": "app-1", "productCode": "CASHIER_PAYMENT", "paymentRequestId": "pay-1",
                "paymentAmount": {"currency": "USD", "value": "1250"},
                "order": {"referenceOrderId": "order-1", "orderDescription": "Two cups of tea",
                    "merchant": null},
                "paymentExpiryTime": "2030-01-01T10:00:00+00:00",
                "paymentRedirectUrl": "https://m.example/back",
                "paymentNotifyUrl": "https://m.example/n"})
        );
        assert_eq!(pay.validate().unwrap().amount.get(), usd(1250));
        let back: PayRequestV2 = super::super::parse_body(&serde_json::to_vec(&pay).unwrap()).unwrap();
        assert_eq!(back, pay);
    }

    #[test]
    fn bare_and_authorization_pays_pass_the_wallets_checks() {
        let bare = PayRequestV2::new("app-1", "pay-1", usd(1));
        assert_eq!(
            serde_json::to_value(&bare).unwrap(),
            json!({"appId": "app-1", "paymentRequestId": "pay-1",
                "paymentAmount": {"currency": "USD", "value": "1"}})
        );
        let auth = PayRequestV2::agreement("app-1", "pay-2", usd(5000), "token-1").as_authorization();
        assert_eq!(
            serde_json::to_value(&auth).unwrap(),
            json!({"appId": "app-1", "productCode": "AGREEMENT_PAYMENT", "paymentRequestId": "pay-2",
                "paymentAmount": {"currency": "USD", "value": "5000"},
                "paymentFactor": {"isAuthorizationPayment": true}, "paymentAuthCode": "token-1"})
        );
        assert!(auth.validate().is_ok());
        let named = PayRequestV2::new("app-1", "pay-3", usd(1)).with_payer("alice");
        assert_eq!(named.extend_info.as_deref(), Some(r#"{"customerId":"alice"}"#));
        let v1 = PayRequestV1::cashier("P1", "pay-3", usd(100), "Tea").with_notify_url("https://m.example/n");
        assert_eq!(v1.payment_factor.as_ref().unwrap().is_cashier_payment, Some(true));
        assert_eq!(v1.validate().unwrap().amount.get(), usd(100));
    }

    #[test]
    fn lookups_and_refunds_name_one_payment() {
        let by_id = PaymentLookupRequest::by_payment_id("p-1");
        assert_eq!(serde_json::to_value(&by_id).unwrap(), json!({"paymentId": "p-1"}));
        assert!(by_id.check(false).is_ok());
        assert!(by_id.check(true).is_err(), "v1 still needs partnerId");
        let by_request = PaymentLookupRequest::by_payment_request_id("r-1").with_partner_id("P1");
        assert_eq!(
            serde_json::to_value(&by_request).unwrap(),
            json!({"partnerId": "P1", "paymentRequestId": "r-1"})
        );
        assert!(by_request.check(true).is_ok());

        let refund = RefundRequest::new("p-1", "rf-1", usd(250)).with_reason("cold tea");
        assert_eq!(
            serde_json::to_value(&refund).unwrap(),
            json!({"refundRequestId": "rf-1", "paymentId": "p-1",
                "refundAmount": {"currency": "USD", "value": "250"}, "refundReason": "cold tea"})
        );
        assert_eq!(refund.check(false).unwrap().get(), usd(250));
        let by_request = RefundRequest::for_payment_request("r-1", "rf-2", usd(1)).with_partner_id("P1");
        assert_eq!(by_request.payment_request_id.as_deref(), Some("r-1"));
        assert!(by_request.check(true).is_ok());

        assert_eq!(
            serde_json::to_value(RefundLookupRequest::by_refund_id("k-1")).unwrap(),
            json!({"refundId": "k-1"})
        );
        assert!(RefundLookupRequest::by_refund_request_id("rf-1")
            .check(false)
            .is_ok());

        let capture = CaptureRequest::all("c-1", "p-1");
        assert!(capture.is_last());
        assert_eq!(capture.check(), Ok(None));
    }
}
