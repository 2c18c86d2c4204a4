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
use crate::error::{refuse, CoreError, Refusal};
use crate::idempotency;
use crate::ledger::{self, Leg};
pub use crate::model::captures::{Capture, CaptureCommand, CaptureOutcome};
use crate::model::ledger::{AccountKind, TransferId};
use crate::model::payments::{AuthClosure, Payment, PaymentStatus};
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
    let (mut payment, hold) = match authorization_to_capture(ctx, tx, cmd, now)? {
        Ok(found) => found,
        Err((code, message)) => return rejected(code, message),
    };
    let left = payment.uncaptured_minor();
    let amount_minor = match capture_amount(cmd, &payment, left) {
        Ok(a) => a,
        Err((code, message)) => return rejected(code, message),
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
        legs.push(rehold_leg(tx, &payment, remainder, now)?);
    }
    let ids = ledger::apply(tx, now, &legs)?
        .map_err(|e| CoreError::Invariant(format!("capturing authorization {}: {e}", payment.payment_id)))?;
    record_on_authorization(&mut payment, amount_minor, is_last, &ids, now)?;
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

/// The checks a capture's authorization must pass: the client may ask, the authorization is
/// its own, open and approved, and has not run out. Returns the authorization with the pending
/// transfer that holds its funds. An authorization found expired here is closed at once, in
/// this transaction.
fn authorization_to_capture(
    ctx: &Context,
    tx: &mut dyn Tx,
    cmd: &CaptureCommand,
    now: DateTime<Utc>,
) -> Result<Result<(Payment, TransferId), Refusal>, CoreError> {
    let client = tx
        .get_client(&cmd.client_id)?
        .ok_or_else(|| CoreError::NotFound(format!("client {}", cmd.client_id)))?;
    if let Err(r) = check_client(tx, &client, cmd.partner_id.as_deref(), None)? {
        return Ok(Err(r));
    }
    let found = tx
        .get_payment(&cmd.payment_id)?
        .filter(|p| p.client_id == cmd.client_id && p.authorization);
    let Some(mut payment) = found else {
        return refuse(
            ResultCode::AuthNotFound,
            format!("no authorization {} for this client", cmd.payment_id),
        );
    };
    if let Some(r) = closed_refusal(&payment) {
        return Ok(Err(r));
    }
    let Some(hold) = payment
        .hold_transfer_id
        .filter(|_| payment.authorized_at.is_some())
    else {
        return refuse(
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
        return refuse(
            ResultCode::AuthExpired,
            format!("authorization {} has expired", payment.payment_id),
        );
    }
    Ok(Ok((payment, hold)))
}

/// Why an authorization takes no more captures, if it is cancelled, expired, closed by its last
/// capture or was never approved.
fn closed_refusal(payment: &Payment) -> Option<Refusal> {
    match (payment.status, payment.auth_closed_by) {
        (PaymentStatus::Cancelled, _) | (_, Some(AuthClosure::Cancelled)) => Some((
            ResultCode::AuthCancelled,
            format!("authorization {} has been cancelled", payment.payment_id),
        )),
        (_, Some(AuthClosure::Expired)) => Some((
            ResultCode::AuthExpired,
            format!("authorization {} has expired", payment.payment_id),
        )),
        (_, Some(AuthClosure::LastCapture)) => Some((
            ResultCode::CaptureAmountExceedAuthLimit,
            format!(
                "authorization {} was closed by its last capture; nothing is left to capture",
                payment.payment_id
            ),
        )),
        // Never approved: the user declined at the cashier or let it expire.
        (PaymentStatus::Fail, None) => Some((
            ResultCode::AuthNotFound,
            format!(
                "payment {} was never authorized: {}",
                payment.payment_id,
                payment.fail_reason.as_deref().unwrap_or("it failed")
            ),
        )),
        _ => None,
    }
}

/// The amount a capture takes: `captureAmount` in the authorization's currency, more than zero
/// and at most what is `left`; everything left when the request names no amount.
fn capture_amount(cmd: &CaptureCommand, payment: &Payment, left: i64) -> Result<i64, Refusal> {
    match &cmd.amount {
        None => Ok(left),
        Some(a) if a.currency() != payment.currency => Err((
            ResultCode::CurrencyNotSupport,
            format!(
                "captureAmount must be in the authorization's currency {}",
                payment.currency
            ),
        )),
        Some(a) if a.value_minor() <= 0 => Err((
            ResultCode::ParamIllegal,
            "captureAmount.value must be greater than zero".into(),
        )),
        Some(a) if a.value_minor() > left => Err((
            ResultCode::CaptureAmountExceedAuthLimit,
            format!(
                "captureAmount {} exceeds what the authorization still holds ({} minor units)",
                a.value_minor(),
                left
            ),
        )),
        Some(a) => Ok(a.value_minor()),
    }
}

/// The pending transfer that holds the `remainder` again after a capture that is not the last:
/// from the payer's wallet to the merchant, until the authorization expires.
fn rehold_leg(
    tx: &mut dyn Tx,
    payment: &Payment,
    remainder: i64,
    now: DateTime<Utc>,
) -> Result<Leg, CoreError> {
    let payer = payment
        .payer_user_id
        .clone()
        .ok_or_else(|| CoreError::Invariant(format!("authorization {} has no payer", payment.payment_id)))?;
    let wallet = ledger::ensure_account(tx, AccountKind::UserWallet, &payer, payment.currency, now)?;
    let merchant = ledger::ensure_account(
        tx,
        AccountKind::Merchant,
        &payment.client_id,
        payment.currency,
        now,
    )?;
    Ok(Leg::Pending {
        debit: wallet.id,
        credit: merchant.id,
        amount_minor: remainder,
        timeout_at: payment.expires_at,
        code: "auth_rehold".into(),
        reference: payment.payment_id.clone(),
    })
}

/// What a capture changes on its authorization (in memory; the caller stores it): the captured
/// sum and the capture's transfer; the last capture closes it as SUCCESS, any other one leaves
/// the re-held remainder (`ids`, as the legs were applied) as its hold.
fn record_on_authorization(
    payment: &mut Payment,
    amount_minor: i64,
    is_last: bool,
    ids: &[TransferId],
    now: DateTime<Utc>,
) -> Result<(), CoreError> {
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
    Ok(())
}
