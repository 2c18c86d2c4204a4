//! Constructors and chainable setters for the AlphaPay requests a merchant sends. They only fill
//! fields: the wire names, the serde attributes and the checks stay with the types.

use super::{PayOrder, PayRequest, PaymentLookupRequest, PaymentMethod};
use super::{RefundAmount, RefundDetailRequest, RefundLookupRequest, RefundRequest};
use crate::amount::WireAmount;

impl PayRequest {
    /// A pay request for `scenario_code` (one of [`SCENARIO_CODES`](super::SCENARIO_CODES)) of
    /// `amount` (an [`Amount`](crate::Amount) or a [`WireAmount`] in minor units), described to
    /// the payer as `description`.
    pub fn new(
        scenario_code: impl Into<String>,
        payment_request_id: impl Into<String>,
        amount: impl Into<WireAmount>,
        description: impl Into<String>,
    ) -> Self {
        PayRequest {
            scenario_code: scenario_code.into(),
            payment_request_id: payment_request_id.into(),
            order: PayOrder {
                order_amount: amount.into(),
                description: description.into(),
                notify_url: None,
                redirect_url: None,
            },
            payment_method: None,
            customer: None,
            env: None,
        }
    }

    /// An `ONLINE_QRCODE` payment: the answer carries the link and a QR code of it to show the
    /// payer.
    ///
    /// ```
    /// use walletd_protocol::alphapay::PayRequest;
    /// use walletd_protocol::{Amount, Currency};
    ///
    /// let cad = Currency::from_code("CAD").unwrap();
    /// let pay = PayRequest::qr_code("order-1001", Amount::from_minor(cad, 1250).unwrap(), "Two cups of tea")
    ///     .with_notify_url("https://merchant.example/alphapay/notify");
    /// assert_eq!(pay.check().unwrap().value_minor(), 1250);
    /// ```
    pub fn qr_code(
        payment_request_id: impl Into<String>,
        amount: impl Into<WireAmount>,
        description: impl Into<String>,
    ) -> Self {
        PayRequest::new("ONLINE_QRCODE", payment_request_id, amount, description)
    }

    /// `order.notifyUrl`: where the wallet POSTs the signed outcome.
    pub fn with_notify_url(mut self, url: impl Into<String>) -> Self {
        self.order.notify_url = Some(url.into());
        self
    }

    /// `order.redirectUrl`: where the payer's browser goes afterwards.
    pub fn with_redirect_url(mut self, url: impl Into<String>) -> Self {
        self.order.redirect_url = Some(url.into());
        self
    }

    /// `paymentMethod.paymentMethodType` (e.g. `Alipay`; echoed back).
    pub fn with_payment_method(mut self, payment_method_type: impl Into<String>) -> Self {
        self.payment_method = Some(PaymentMethod {
            payment_method_type: Some(payment_method_type.into()),
        });
        self
    }
}

impl PaymentLookupRequest {
    /// Looks a payment up (inquiryPayment, cancel) by the wallet's `paymentId`.
    pub fn by_payment_id(payment_id: impl Into<String>) -> Self {
        PaymentLookupRequest {
            payment_id: Some(payment_id.into()),
            payment_request_id: None,
        }
    }

    /// Looks a payment up by the merchant's own `paymentRequestId`.
    pub fn by_payment_request_id(payment_request_id: impl Into<String>) -> Self {
        PaymentLookupRequest {
            payment_id: None,
            payment_request_id: Some(payment_request_id.into()),
        }
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
        let amount = amount.into();
        RefundRequest {
            payment_id: payment_id.into(),
            refund_request_id: Some(refund_request_id.into()),
            refund: RefundDetailRequest {
                refund_amount: RefundAmount {
                    value: amount.value,
                    currency: Some(amount.currency),
                },
                description: None,
                notify_url: None,
            },
        }
    }

    /// `refund.description`.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.refund.description = Some(description.into());
        self
    }

    /// `refund.notifyUrl`: where the wallet POSTs the refund's outcome.
    pub fn with_notify_url(mut self, url: impl Into<String>) -> Self {
        self.refund.notify_url = Some(url.into());
        self
    }
}

impl RefundLookupRequest {
    /// Looks a refund up (inquiryRefund) by the wallet's `refundId`.
    pub fn by_refund_id(refund_id: impl Into<String>) -> Self {
        RefundLookupRequest {
            refund_id: Some(refund_id.into()),
            refund_request_id: None,
        }
    }

    /// Looks a refund up by the merchant's own `refundRequestId`.
    pub fn by_refund_request_id(refund_request_id: impl Into<String>) -> Self {
        RefundLookupRequest {
            refund_id: None,
            refund_request_id: Some(refund_request_id.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Amount, Currency};
    use serde_json::json;

    fn cad(minor: i64) -> Amount {
        Amount::from_minor(Currency::from_code("CAD").unwrap(), minor).unwrap()
    }

    #[test]
    fn a_qr_code_pay_serialises_to_the_documented_shape() {
        let pay = PayRequest::qr_code("r-1", cad(1234), "Tea")
            .with_notify_url("https://m.example/n")
            .with_redirect_url("https://m.example/r")
            .with_payment_method("Alipay");
        assert_eq!(
            serde_json::to_value(&pay).unwrap(),
            json!({"scenarioCode": "ONLINE_QRCODE", "paymentRequestId": "r-1",
                "order": {"orderAmount": {"currency": "CAD", "value": "1234"}, "description": "Tea",
                    "notifyUrl": "https://m.example/n", "redirectUrl": "https://m.example/r"},
                "paymentMethod": {"paymentMethodType": "Alipay"}})
        );
        assert_eq!(pay.check().unwrap().get(), cad(1234));
        assert!(PayRequest::new("TELEPORT", "r-2", cad(1), "Tea").check().is_err());
    }

    #[test]
    fn refunds_and_lookups_name_their_ids() {
        let refund = RefundRequest::new("p-1", "rf-1", cad(5)).with_description("cold tea");
        assert_eq!(
            serde_json::to_value(&refund).unwrap(),
            json!({"paymentId": "p-1", "refundRequestId": "rf-1",
                "refund": {"refundAmount": {"value": "5", "currency": "CAD"}, "description": "cold tea"}})
        );
        assert_eq!(refund.check().unwrap(), 5);
        assert!(PaymentLookupRequest::by_payment_id("p-1").check().is_ok());
        assert!(PaymentLookupRequest::by_payment_request_id("r-1").check().is_ok());
        assert!(RefundLookupRequest::by_refund_id("k-1").check().is_ok());
        assert_eq!(
            serde_json::to_value(RefundLookupRequest::by_refund_request_id("rf-1")).unwrap(),
            json!({"refundRequestId": "rf-1"})
        );
    }
}
