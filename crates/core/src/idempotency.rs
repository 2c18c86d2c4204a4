//! Idempotency keys: `(scope, client, request id)` claimed in the same transaction as the state
//! change, with a fingerprint of the meaningful request fields.

use crate::model::captures::CaptureCommand;
pub use crate::model::idempotency::{IdempotencyRecord, StoredOutcome};
use crate::model::payments::PayCommand;
use crate::model::refunds::RefundCommand;
use sha2::{Digest, Sha256};

/// SHA-256 over the meaningful fields, joined unambiguously (length-prefixed).
pub fn fingerprint(fields: &[(&str, &str)]) -> String {
    let mut h = Sha256::new();
    for (name, value) in fields {
        for part in [name, value] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part.as_bytes());
        }
    }
    hex::encode(h.finalize())
}

impl PayCommand {
    /// The request's meaningful fields, hashed; a repeat must match it. The names and values are
    /// part of stored data: change them only with a migration.
    pub(crate) fn fingerprint(&self) -> String {
        let auth_code = self
            .payment_auth_code
            .as_deref()
            .map(crate::oauth::hash_secret)
            .unwrap_or_default();
        let currency = self.amount.currency();
        let mut fields = vec![("channel", self.channel.as_str()), ("currency", currency.code())];
        let value = self.amount.wire_value();
        fields.extend([
            ("value", value.as_str()),
            ("scenario", self.scenario.fingerprint_name()),
            ("partnerId", self.partner_id.as_deref().unwrap_or("")),
            ("appId", self.app_id.as_deref().unwrap_or("")),
            ("payer", self.payer_user_id.as_deref().unwrap_or("")),
        ]);
        // Added fields only when set, so that earlier cashier fingerprints stay the same.
        if !auth_code.is_empty() {
            fields.push(("paymentAuthCode", auth_code.as_str()));
        }
        if self.factors.authorization {
            fields.push(("isAuthorizationPayment", "true"));
        }
        fingerprint(&fields)
    }
}

impl RefundCommand {
    /// The request's meaningful fields, hashed; a repeat must match it. The names and values are
    /// part of stored data: change them only with a migration.
    pub(crate) fn fingerprint(&self) -> String {
        fingerprint(&[
            ("paymentId", self.payment.payment_id.as_deref().unwrap_or("")),
            (
                "paymentRequestId",
                self.payment.payment_request_id.as_deref().unwrap_or(""),
            ),
            ("currency", self.amount.currency().code()),
            ("value", &self.amount.wire_value()),
        ])
    }
}

impl CaptureCommand {
    /// The request's meaningful fields, hashed; a repeat must match it. The names and values are
    /// part of stored data: change them only with a migration.
    pub(crate) fn fingerprint(&self) -> String {
        let (currency, value) = match &self.amount {
            Some(a) => (a.currency().code().to_owned(), a.wire_value()),
            None => (String::new(), "all".to_owned()),
        };
        fingerprint(&[
            ("paymentId", &self.payment_id),
            ("currency", &currency),
            ("value", &value),
            ("isLastCapture", if self.is_last { "true" } else { "false" }),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_separates_fields_unambiguously() {
        assert_ne!(fingerprint(&[("a", "bc")]), fingerprint(&[("ab", "c")]));
        assert_eq!(fingerprint(&[("a", "1")]), fingerprint(&[("a", "1")]));
        assert_ne!(fingerprint(&[("a", "1")]), fingerprint(&[("a", "2")]));
    }
}

/// The exact fingerprints of known requests of every idempotent kind. A failure here means stored
/// idempotency records would stop matching their retries after an upgrade.
#[cfg(test)]
mod pinned_fingerprints {
    use crate::model::captures::CaptureCommand;
    use crate::model::payments::{Channel, PayCommand, PayFactors, PaymentRef, Scenario};
    use crate::model::refunds::RefundCommand;
    use walletd_protocol::{Amount, Currency};

    fn usd(minor: i64) -> Amount {
        Amount::from_minor(Currency::from_code("USD").expect("USD"), minor).expect("amount")
    }

    fn pay(scenario: Scenario) -> PayCommand {
        PayCommand {
            client_id: "acme".into(),
            channel: Channel::MiniProgramV2,
            partner_id: None,
            app_id: Some("app-1".into()),
            payment_request_id: "pr-1".into(),
            amount: usd(1250),
            scenario,
            order_title: "tea".into(),
            reference_order_id: Some("o-1".into()),
            merchant_display_name: None,
            payer_user_id: None,
            expiry_time: None,
            return_url: None,
            notify_url: None,
            extend_info: None,
            payment_auth_code: None,
            factors: PayFactors::default(),
        }
    }

    #[test]
    fn pay_fingerprints_are_pinned() {
        let pins = [
            (
                pay(Scenario::Cashier),
                "c9144366329fb109af157bfbe6e32dc068ce2bfe9cc2bcb8f6d4f4a2bf1c374f",
            ),
            (
                PayCommand {
                    payment_auth_code: Some("token-1".into()),
                    ..pay(Scenario::Agreement)
                },
                "d8988a1ad89a673f558c78247738733ca872aead336665a90fc244367cfd41a9",
            ),
            (
                PayCommand {
                    payment_auth_code: Some("2812345678901234".into()),
                    ..pay(Scenario::PaymentCode)
                },
                "04761ca517aedbf3b8855e956be6ef9e4b2487ab197831a51d4dae8262b549f6",
            ),
            (
                PayCommand {
                    factors: PayFactors {
                        authorization: true,
                        evaluation: false,
                    },
                    payer_user_id: Some("alice".into()),
                    ..pay(Scenario::Cashier)
                },
                "a3cd5af3b9ea007d2504b8b07af3840623fe630c8b57111ca64a0129a1123ce1",
            ),
        ];
        for (cmd, pin) in pins {
            assert_eq!(cmd.fingerprint(), pin, "{:?}", cmd.scenario);
        }
    }

    #[test]
    fn refund_and_capture_fingerprints_are_pinned() {
        let refund = RefundCommand {
            client_id: "acme".into(),
            channel: Channel::MiniProgramV2,
            partner_id: None,
            refund_request_id: "rr-1".into(),
            payment: PaymentRef {
                payment_id: Some("p-1".into()),
                payment_request_id: None,
            },
            amount: usd(250),
            reason: None,
            notify_url: None,
        };
        assert_eq!(
            refund.fingerprint(),
            "f7cd99b2293f8861c947070fc2c724608b054b6e17185bc62ec4d688d8c69683"
        );
        let capture = CaptureCommand {
            client_id: "acme".into(),
            partner_id: None,
            capture_request_id: "c-1".into(),
            payment_id: "p-1".into(),
            amount: Some(usd(500)),
            is_last: false,
        };
        assert_eq!(
            capture.fingerprint(),
            "c372ef60cce2c7774f8974694e6dc905b0882ed22eba52bacc52450a5a4366ef"
        );
        let capture_all = CaptureCommand {
            amount: None,
            is_last: true,
            ..capture
        };
        assert_eq!(
            capture_all.fingerprint(),
            "218ba058da3723394579af5d33954838ea63536b13cf8e5ec2291611a58cd52c"
        );
    }
}
