//! Refunds: partial and repeated, never more in total than was paid, paid from the merchant's
//! settlement balance back to the payer's wallet.

use crate::context::Context;
use crate::error::{refuse, CoreError, Refusal};
use crate::idempotency;
use crate::ledger::{self, LedgerError, Leg};
use crate::model::ledger::{AccountKind, TransferId};
use crate::model::outbox::{OutboxEntry, OutboxKind, OutboxStatus};
use crate::model::payments::{Payment, PaymentStatus};
pub use crate::model::refunds::{Refund, RefundCommand, RefundOutcome, RefundRef, RefundStatus};
use crate::payments::{check_client, find};
use crate::storage::Tx;
use chrono::{DateTime, Duration, Utc};
use walletd_protocol::ResultCode;

pub(crate) fn refund(
    ctx: &Context,
    tx: &mut dyn Tx,
    cmd: &RefundCommand,
) -> Result<RefundOutcome, CoreError> {
    let now = ctx.now();
    idempotency::run(tx, cmd, now, |tx| evaluate(ctx, tx, cmd, now))
}

fn evaluate(
    ctx: &Context,
    tx: &mut dyn Tx,
    cmd: &RefundCommand,
    now: DateTime<Utc>,
) -> Result<RefundOutcome, CoreError> {
    let rejected = |code: ResultCode, message: String| Ok(RefundOutcome::Rejected { code, message });
    let client = tx
        .get_client(&cmd.client_id)?
        .ok_or_else(|| CoreError::NotFound(format!("client {}", cmd.client_id)))?;
    if let Err((code, message)) = check_client(tx, &client, cmd.partner_id.as_deref(), None)? {
        return rejected(code, message);
    }
    let Some(mut payment) = find(tx, &cmd.client_id, &cmd.payment)? else {
        return rejected(
            ResultCode::OrderNotExist,
            "no such payment for this client".into(),
        );
    };
    let sandbox = if ctx.config.sandbox {
        crate::sandbox::refund_outcome(cmd.amount.value_minor())
    } else {
        None
    };
    if let Some((code, message)) = refund_refusal(ctx, cmd, &payment, sandbox, now) {
        return rejected(code, message);
    }
    let total = payment.refunded_minor.checked_add(cmd.amount.value_minor());
    let payer = payment
        .payer_user_id
        .clone()
        .ok_or_else(|| CoreError::Invariant(format!("paid payment {} has no payer", payment.payment_id)))?;
    let refund_id = ctx.ids.new_id("refund", now);
    let transfer_id = match refund_transfer(tx, cmd, &payment, &payer, &refund_id, now)? {
        Ok(id) => id,
        Err((code, message)) => return rejected(code, message),
    };
    payment.refunded_minor = total.unwrap_or(payment.amount_minor);
    tx.update_payment(&payment)?;
    let refund = Refund {
        refund_id,
        client_id: cmd.client_id.clone(),
        refund_request_id: cmd.refund_request_id.clone(),
        payment_id: payment.payment_id.clone(),
        payment_request_id: payment.payment_request_id.clone(),
        channel: cmd.channel,
        currency: payment.currency,
        amount_minor: cmd.amount.value_minor(),
        reason: cmd.reason.clone(),
        status: RefundStatus::Success,
        transfer_id,
        notify_url: cmd.notify_url.clone(),
        created_at: now,
        refunded_at: Some(now),
    };
    tx.insert_refund(&refund)?;
    enqueue_refund_notice(ctx, tx, &refund, now)?;
    if let Some((code, message)) = sandbox {
        return Ok(RefundOutcome::Unknown {
            code,
            message: message.to_owned(),
            refund,
        });
    }
    Ok(RefundOutcome::Succeeded(refund))
}

/// The checks a refund of `payment` must pass, in order: the payment succeeded, the refund is in
/// its currency and more than zero, the sandbox forces no refusal, the refund window is open and
/// all refunds together stay within what the merchant took. The first one that fails, if any.
fn refund_refusal(
    ctx: &Context,
    cmd: &RefundCommand,
    payment: &Payment,
    sandbox: Option<(ResultCode, &'static str)>,
    now: DateTime<Utc>,
) -> Option<Refusal> {
    if payment.status != PaymentStatus::Success {
        return Some((
            ResultCode::OrderStatusInvalid,
            format!(
                "only a successful payment can be refunded; this one is {}",
                payment.status.as_str()
            ),
        ));
    }
    if cmd.amount.currency() != payment.currency {
        return Some((
            ResultCode::CurrencyNotSupport,
            format!(
                "the refund must be in the payment's currency {}",
                payment.currency
            ),
        ));
    }
    if let Some((code, message)) = sandbox {
        if code.status() == walletd_protocol::ResultStatus::Failed {
            return Some((code, message.to_owned()));
        }
    }
    let paid_at = payment.paid_at.unwrap_or(payment.created_at);
    if now > paid_at + Duration::seconds(ctx.config.refund_window_secs) {
        return Some((
            ResultCode::RefundWindowExceed,
            format!(
                "the refund window of {} s has passed",
                ctx.config.refund_window_secs
            ),
        ));
    }
    let total = payment.refunded_minor.checked_add(cmd.amount.value_minor());
    // What the merchant took: for a captured authorization, the captures.
    if total.is_none_or(|t| t > payment.paid_minor()) {
        return Some((
            ResultCode::RefundAmountExceed,
            format!(
                "refunds would total more than the payment: {} already refunded of {}, {} asked",
                payment.refunded_minor,
                payment.paid_minor(),
                cmd.amount.value_minor()
            ),
        ));
    }
    None
}

/// The refund's ledger leg: the amount from the merchant's settlement balance back to the
/// payer's wallet. Refused when the merchant's balance does not cover it; returns the transfer.
fn refund_transfer(
    tx: &mut dyn Tx,
    cmd: &RefundCommand,
    payment: &Payment,
    payer: &str,
    refund_id: &str,
    now: DateTime<Utc>,
) -> Result<Result<Option<TransferId>, Refusal>, CoreError> {
    let merchant = ledger::ensure_account(tx, AccountKind::Merchant, &cmd.client_id, payment.currency, now)?;
    let wallet = ledger::ensure_account(tx, AccountKind::UserWallet, payer, payment.currency, now)?;
    let legs = [Leg::Single {
        debit: merchant.id,
        credit: wallet.id,
        amount_minor: cmd.amount.value_minor(),
        code: "refund".into(),
        reference: refund_id.to_owned(),
    }];
    match ledger::apply(tx, now, &legs)? {
        Ok(ids) => Ok(Ok(ids.first().copied())),
        Err(LedgerError::ExceedsCredits(_)) => refuse(
            ResultCode::PartnerBalanceNotEnough,
            "the merchant balance does not cover this refund",
        ),
        Err(e) => Err(CoreError::Invariant(format!("refund transfer: {e}"))),
    }
}

/// Writes the refund's notification to the outbox, if the merchant gave a notify URL.
fn enqueue_refund_notice(
    ctx: &Context,
    tx: &mut dyn Tx,
    refund: &Refund,
    now: DateTime<Utc>,
) -> Result<(), CoreError> {
    let Some(url) = &refund.notify_url else {
        return Ok(());
    };
    let snapshot = serde_json::to_value(refund).map_err(|e| CoreError::Invariant(e.to_string()))?;
    tx.insert_outbox(&OutboxEntry {
        id: ctx.ids.new_id("notify", now),
        client_id: refund.client_id.clone(),
        kind: OutboxKind::RefundResult,
        subject_id: refund.refund_id.clone(),
        url: url.clone(),
        snapshot,
        status: OutboxStatus::Pending,
        attempts: Vec::new(),
        next_attempt_at: now,
        lease_until: None,
        created_at: now,
    })?;
    Ok(())
}

pub(crate) fn find_refund(
    tx: &mut dyn Tx,
    client_id: &str,
    r: &RefundRef,
) -> Result<Option<Refund>, CoreError> {
    let found = match (&r.refund_id, &r.refund_request_id) {
        (Some(id), _) => tx.get_refund(id)?,
        (None, Some(req)) => tx.get_refund_by_request(client_id, req)?,
        (None, None) => None,
    };
    Ok(found.filter(|f| f.client_id == client_id))
}
