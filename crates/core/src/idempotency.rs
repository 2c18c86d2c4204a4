//! Idempotency keys: `(scope, client, request id)` claimed in the same transaction as the state
//! change, with a fingerprint of the meaningful request fields.
//!
//! Claim, compare and replay are written once, here, for every keyed request (pay, refund,
//! capture):
//!
//! 1. [`try_processing`] looks the key up. A free key says [`NextAction::StartProcessing`]; a
//!    claimed one is compared: a different fingerprint is refused with `REPEAT_REQ_INCONSISTENT`,
//!    the same one replays the stored outcome ([`NextAction::ReturnSaved`]).
//! 2. The command runs.
//! 3. [`save_outcome`] claims the key with the outcome, in the command's own transaction, so a
//!    refusal is replayed like a success (a refusal is an outcome, not an error).
//!
//! [`run`] does the three in order. Each request kind says what it is keyed on, how its outcome
//! is stored and how a stored one is answered again ([`Keyed`]); its fingerprint is pinned by a
//! test, because stored records must keep matching their retries across upgrades.

use crate::error::CoreError;
use crate::model::captures::{CaptureCommand, CaptureOutcome};
pub use crate::model::idempotency::{IdempotencyRecord, StoredOutcome};
use crate::model::payments::{PayCommand, PayOutcome, PaymentStatus};
use crate::model::refunds::{RefundCommand, RefundOutcome};
use crate::storage::Tx;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use walletd_protocol::ResultCode;

/// The key a request claims, and what a repeat must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key<'a> {
    /// `pay`, `refund`, `capture`: keys of different scopes never meet.
    pub scope: &'static str,
    /// The key's name on the wire (`paymentRequestId`), for the answer to an inconsistent repeat.
    pub wire_name: &'static str,
    pub client_id: &'a str,
    pub key: &'a str,
    pub fingerprint: String,
}

/// A request that is answered once and replayed afterwards.
pub trait Keyed {
    /// What the request comes to.
    type Outcome;
    /// Its scope, key and fingerprint.
    fn key(&self) -> Key<'_>;
    /// A refusal with this code: the answer to an inconsistent repeat, or a stored refusal.
    fn refused(code: ResultCode, message: String) -> Self::Outcome;
    /// What is stored of a first outcome.
    fn stored(outcome: &Self::Outcome) -> Result<StoredOutcome, CoreError>;
    /// The answer to a repeat whose first outcome was not a refusal: the record as it is now.
    fn replay(tx: &mut dyn Tx, stored: StoredOutcome) -> Result<Self::Outcome, CoreError>;
}

/// What to do with a keyed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextAction<O> {
    /// The key is free: run the request, then [`save_outcome`] in the same transaction.
    StartProcessing,
    /// The key was claimed before: answer this.
    ReturnSaved(O),
}

/// Looks up the request's key: free, or claimed (then compared and replayed).
pub fn try_processing<C: Keyed>(tx: &mut dyn Tx, key: &Key<'_>) -> Result<NextAction<C::Outcome>, CoreError> {
    let Some(record) = tx.get_idempotency(key.scope, key.client_id, key.key)? else {
        return Ok(NextAction::StartProcessing);
    };
    if record.fingerprint != key.fingerprint {
        return Ok(NextAction::ReturnSaved(C::refused(
            ResultCode::RepeatReqInconsistent,
            format!(
                "{} {} was used before with different content",
                key.wire_name, key.key
            ),
        )));
    }
    let answer = match record.outcome {
        StoredOutcome::Rejected { code, message } => C::refused(
            ResultCode::from_wire(&code).unwrap_or(ResultCode::ProcessFail),
            message,
        ),
        stored => C::replay(tx, stored)?,
    };
    Ok(NextAction::ReturnSaved(answer))
}

/// Claims the request's key with its first outcome.
pub fn save_outcome<C: Keyed>(
    tx: &mut dyn Tx,
    key: Key<'_>,
    now: DateTime<Utc>,
    outcome: &C::Outcome,
) -> Result<(), CoreError> {
    tx.insert_idempotency(&IdempotencyRecord {
        scope: key.scope.to_owned(),
        client_id: key.client_id.to_owned(),
        key: key.key.to_owned(),
        fingerprint: key.fingerprint,
        outcome: C::stored(outcome)?,
        created_at: now,
    })?;
    Ok(())
}

/// Runs a keyed request: a repeat is answered from its key, a first request is processed and its
/// outcome saved with the key, all in the caller's transaction.
pub fn run<C: Keyed>(
    tx: &mut dyn Tx,
    request: &C,
    now: DateTime<Utc>,
    process: impl FnOnce(&mut dyn Tx) -> Result<C::Outcome, CoreError>,
) -> Result<C::Outcome, CoreError> {
    let key = request.key();
    match try_processing::<C>(tx, &key)? {
        NextAction::ReturnSaved(answer) => Ok(answer),
        NextAction::StartProcessing => {
            let outcome = process(tx)?;
            save_outcome::<C>(tx, key, now, &outcome)?;
            Ok(outcome)
        }
    }
}

/// The idempotency scope of pay requests: a `paymentRequestId` is unique per merchant.
pub const PAY_SCOPE: &str = "pay";

impl Keyed for PayCommand {
    type Outcome = PayOutcome;

    fn key(&self) -> Key<'_> {
        Key {
            scope: PAY_SCOPE,
            wire_name: "paymentRequestId",
            client_id: &self.client_id,
            key: &self.payment_request_id,
            fingerprint: self.fingerprint(),
        }
    }

    fn refused(code: ResultCode, message: String) -> PayOutcome {
        PayOutcome::Rejected { code, message }
    }

    fn stored(outcome: &PayOutcome) -> Result<StoredOutcome, CoreError> {
        Ok(match outcome {
            PayOutcome::Unknown {
                code,
                message,
                payment: Some(p),
            } => StoredOutcome::UnknownPayment {
                payment_id: p.payment_id.clone(),
                code: code.as_str().to_owned(),
                message: message.clone(),
            },
            PayOutcome::Accepted(p) | PayOutcome::Succeeded(p) | PayOutcome::Closed(p) => {
                StoredOutcome::Payment {
                    payment_id: p.payment_id.clone(),
                }
            }
            PayOutcome::Rejected { code, message }
            | PayOutcome::Unknown {
                code,
                message,
                payment: None,
            } => StoredOutcome::Rejected {
                code: code.as_str().to_owned(),
                message: message.clone(),
            },
            PayOutcome::Evaluated => {
                return Err(CoreError::Invariant(
                    "an evaluation reached the keyed path".into(),
                ))
            }
        })
    }

    fn replay(tx: &mut dyn Tx, stored: StoredOutcome) -> Result<PayOutcome, CoreError> {
        match stored {
            StoredOutcome::Payment { payment_id } | StoredOutcome::UnknownPayment { payment_id, .. } => {
                let payment = tx.get_payment(&payment_id)?.ok_or_else(|| {
                    CoreError::Invariant(format!("idempotency record names missing payment {payment_id}"))
                })?;
                Ok(match payment.status {
                    // An authorization whose funds are held answered S.
                    PaymentStatus::Processing if payment.authorized_at.is_some() => {
                        PayOutcome::Succeeded(payment)
                    }
                    PaymentStatus::Processing => PayOutcome::Accepted(payment),
                    PaymentStatus::Success => PayOutcome::Succeeded(payment),
                    PaymentStatus::Fail | PaymentStatus::Cancelled => PayOutcome::Closed(payment),
                })
            }
            _ => Err(CoreError::Invariant(
                "pay key holds a refund or capture outcome".into(),
            )),
        }
    }
}

impl Keyed for RefundCommand {
    type Outcome = RefundOutcome;

    fn key(&self) -> Key<'_> {
        Key {
            scope: "refund",
            wire_name: "refundRequestId",
            client_id: &self.client_id,
            key: &self.refund_request_id,
            fingerprint: self.fingerprint(),
        }
    }

    fn refused(code: ResultCode, message: String) -> RefundOutcome {
        RefundOutcome::Rejected { code, message }
    }

    fn stored(outcome: &RefundOutcome) -> Result<StoredOutcome, CoreError> {
        Ok(match outcome {
            RefundOutcome::Succeeded(r) | RefundOutcome::Unknown { refund: r, .. } => StoredOutcome::Refund {
                refund_id: r.refund_id.clone(),
            },
            RefundOutcome::Rejected { code, message } => StoredOutcome::Rejected {
                code: code.as_str().to_owned(),
                message: message.clone(),
            },
        })
    }

    fn replay(tx: &mut dyn Tx, stored: StoredOutcome) -> Result<RefundOutcome, CoreError> {
        match stored {
            StoredOutcome::Refund { refund_id } => tx
                .get_refund(&refund_id)?
                .map(RefundOutcome::Succeeded)
                .ok_or_else(|| {
                    CoreError::Invariant(format!("idempotency record names missing refund {refund_id}"))
                }),
            _ => Err(CoreError::Invariant("refund key holds a payment outcome".into())),
        }
    }
}

impl Keyed for CaptureCommand {
    type Outcome = CaptureOutcome;

    fn key(&self) -> Key<'_> {
        Key {
            scope: "capture",
            wire_name: "captureRequestId",
            client_id: &self.client_id,
            key: &self.capture_request_id,
            fingerprint: self.fingerprint(),
        }
    }

    fn refused(code: ResultCode, message: String) -> CaptureOutcome {
        CaptureOutcome::Rejected { code, message }
    }

    fn stored(outcome: &CaptureOutcome) -> Result<StoredOutcome, CoreError> {
        Ok(match outcome {
            CaptureOutcome::Captured { capture, .. } | CaptureOutcome::Unknown { capture, .. } => {
                StoredOutcome::Capture {
                    capture_id: capture.capture_id.clone(),
                }
            }
            CaptureOutcome::Rejected { code, message } => StoredOutcome::Rejected {
                code: code.as_str().to_owned(),
                message: message.clone(),
            },
        })
    }

    fn replay(tx: &mut dyn Tx, stored: StoredOutcome) -> Result<CaptureOutcome, CoreError> {
        match stored {
            StoredOutcome::Capture { capture_id } => {
                let capture = tx.get_capture(&capture_id)?.ok_or_else(|| {
                    CoreError::Invariant(format!("idempotency record names missing capture {capture_id}"))
                })?;
                let payment = tx.get_payment(&capture.payment_id)?.ok_or_else(|| {
                    CoreError::Invariant(format!("capture {capture_id} names a missing payment"))
                })?;
                Ok(CaptureOutcome::Captured { capture, payment })
            }
            _ => Err(CoreError::Invariant("capture key holds another outcome".into())),
        }
    }
}

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
    use walletd_protocol::{Amount, Currency, PositiveAmount};

    fn usd(minor: i64) -> PositiveAmount {
        Amount::from_minor(Currency::from_code("USD").expect("USD"), minor)
            .ok()
            .and_then(PositiveAmount::new)
            .expect("a positive amount")
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
