//! Captures of authorizations (docs/mini-program.md §13): the merchant takes all or part of the funds an
//! `isAuthorizationPayment` holds, once or in several captures (`isLastCapture`).
//!
//! In the ledger an authorization is a pending transfer from the payer's wallet to the merchant.
//! A capture posts part of it; TigerBeetle's model releases the rest of a posted pending transfer,
//! so a capture that is not the last one re-holds the remainder with a new pending transfer *in
//! the same linked batch*: the payer's funds are never free in between. The last capture (or one
//! that takes everything left) closes the authorization and the payment becomes SUCCESS.
//!
//! Idempotency on `(client, captureRequestId)`; only successful captures are stored, a refusal
//! lives in the idempotency record like a refused refund.

use crate::context::Context;
use crate::error::CoreError;
use crate::idempotency;
use crate::ledger::{self, Leg};
pub use crate::model::captures::{Capture, CaptureCommand, CaptureOutcome};
use crate::model::ledger::AccountKind;
use crate::model::payments::{AuthClosure, PaymentStatus};
use crate::payments::{check_client, close_authorization, enqueue_payment_notice};
use crate::storage::Tx;
use chrono::{DateTime, Utc};
use walletd_protocol::ResultCode;

pub(crate) fn capture(
    ctx: &Context,
    tx: &mut dyn Tx,
    cmd: &CaptureCommand,
) -> Result<CaptureOutcome, CoreError> {
    let now = ctx.now();
    idempotency::run(tx, cmd, now, |tx| evaluate(ctx, tx, cmd, now))
}

fn evaluate(
    ctx: &Context,
    tx: &mut dyn Tx,
    cmd: &CaptureCommand,
    now: DateTime<Utc>,
) -> Result<CaptureOutcome, CoreError> {
    let rejected = |code: ResultCode, message: String| Ok(CaptureOutcome::Rejected { code, message });
    let client = tx
        .get_client(&cmd.client_id)?
        .ok_or_else(|| CoreError::NotFound(format!("client {}", cmd.client_id)))?;
    if let Err((code, message)) = check_client(tx, &client, cmd.partner_id.as_deref(), None)? {
        return rejected(code, message);
    }
    let found = tx
        .get_payment(&cmd.payment_id)?
        .filter(|p| p.client_id == cmd.client_id && p.authorization);
    let Some(mut payment) = found else {
        return rejected(
            ResultCode::AuthNotFound,
            format!("no authorization {} for this client", cmd.payment_id),
        );
    };
    match (payment.status, payment.auth_closed_by) {
        (PaymentStatus::Cancelled, _) | (_, Some(AuthClosure::Cancelled)) => {
            return rejected(
                ResultCode::AuthCancelled,
                format!("authorization {} has been cancelled", payment.payment_id),
            )
        }
        (_, Some(AuthClosure::Expired)) => {
            return rejected(
                ResultCode::AuthExpired,
                format!("authorization {} has expired", payment.payment_id),
            )
        }
        (_, Some(AuthClosure::LastCapture)) => {
            return rejected(
                ResultCode::CaptureAmountExceedAuthLimit,
                format!(
                    "authorization {} was closed by its last capture; nothing is left to capture",
                    payment.payment_id
                ),
            )
        }
        (PaymentStatus::Fail, None) => {
            // Never approved: the user declined at the cashier or let it expire.
            return rejected(
                ResultCode::AuthNotFound,
                format!(
                    "payment {} was never authorized: {}",
                    payment.payment_id,
                    payment.fail_reason.as_deref().unwrap_or("it failed")
                ),
            );
        }
        _ => {}
    }
    let Some(hold) = payment
        .hold_transfer_id
        .filter(|_| payment.authorized_at.is_some())
    else {
        return rejected(
            ResultCode::AuthNotFound,
            format!(
                "the user has not approved authorization {} yet",
                payment.payment_id
            ),
        );
    };
    if payment.auth_expires_at.is_some_and(|t| now >= t) {
        // Ran out before the sweep came by: release it now, in this transaction.
        close_authorization(ctx, tx, &mut payment, AuthClosure::Expired)?;
        return rejected(
            ResultCode::AuthExpired,
            format!("authorization {} has expired", payment.payment_id),
        );
    }
    let left = payment.uncaptured_minor();
    let amount_minor = match &cmd.amount {
        None => left,
        Some(a) if a.currency() != payment.currency => {
            return rejected(
                ResultCode::CurrencyNotSupport,
                format!(
                    "captureAmount must be in the authorization's currency {}",
                    payment.currency
                ),
            )
        }
        Some(a) if a.value_minor() <= 0 => {
            return rejected(
                ResultCode::ParamIllegal,
                "captureAmount.value must be greater than zero".into(),
            )
        }
        Some(a) if a.value_minor() > left => {
            return rejected(
                ResultCode::CaptureAmountExceedAuthLimit,
                format!(
                    "captureAmount {} exceeds what the authorization still holds ({} minor units)",
                    a.value_minor(),
                    left
                ),
            )
        }
        Some(a) => a.value_minor(),
    };
    let sandbox = match (&cmd.amount, ctx.config.sandbox) {
        (Some(a), true) => crate::sandbox::capture_outcome(a.value_minor()),
        _ => None,
    };
    if let Some((code, message)) = sandbox {
        if code.status() == walletd_protocol::ResultStatus::Failed {
            return rejected(code, message.to_owned());
        }
    }
    let remainder = left - amount_minor;
    let is_last = cmd.is_last || remainder == 0;
    let capture_id = ctx.ids.new_id("capture", now);
    let mut legs = vec![Leg::Post {
        pending_id: hold,
        amount_minor: Some(amount_minor),
        code: "auth_capture".into(),
        reference: capture_id.clone(),
    }];
    if !is_last {
        let payer = payment.payer_user_id.clone().ok_or_else(|| {
            CoreError::Invariant(format!("authorization {} has no payer", payment.payment_id))
        })?;
        let wallet = ledger::ensure_account(tx, AccountKind::UserWallet, &payer, payment.currency, now)?;
        let merchant = ledger::ensure_account(
            tx,
            AccountKind::Merchant,
            &payment.client_id,
            payment.currency,
            now,
        )?;
        legs.push(Leg::Pending {
            debit: wallet.id,
            credit: merchant.id,
            amount_minor: remainder,
            timeout_at: payment.expires_at,
            code: "auth_rehold".into(),
            reference: payment.payment_id.clone(),
        });
    }
    let ids = ledger::apply(tx, now, &legs)?
        .map_err(|e| CoreError::Invariant(format!("capturing authorization {}: {e}", payment.payment_id)))?;
    payment.captured_minor = payment
        .captured_minor
        .checked_add(amount_minor)
        .ok_or_else(|| CoreError::Invariant("captured sum overflowed".into()))?;
    payment.settle_transfer_id = ids.first().copied();
    if is_last {
        payment.auth_closed_by = Some(AuthClosure::LastCapture);
        payment.status = PaymentStatus::Success;
        payment.paid_at = Some(now);
        payment.closed_at = Some(now);
    } else {
        payment.hold_transfer_id = ids.get(1).copied();
    }
    tx.update_payment(&payment)?;
    if is_last {
        enqueue_payment_notice(ctx, tx, &payment)?;
    }
    let earlier = tx.list_captures(&payment.payment_id)?.len();
    let capture = Capture {
        capture_id,
        client_id: cmd.client_id.clone(),
        capture_request_id: cmd.capture_request_id.clone(),
        payment_id: payment.payment_id.clone(),
        number: u32::try_from(earlier + 1).unwrap_or(u32::MAX),
        currency: payment.currency,
        amount_minor,
        is_last,
        transfer_id: ids.first().copied(),
        created_at: now,
    };
    tx.insert_capture(&capture)?;
    if let Some((code, message)) = sandbox {
        return Ok(CaptureOutcome::Unknown {
            code,
            message: message.to_owned(),
            capture,
            payment,
        });
    }
    Ok(CaptureOutcome::Captured { capture, payment })
}
