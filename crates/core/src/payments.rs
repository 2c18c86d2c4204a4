//! Payments: the state machine and the money movements behind it.
//!
//! A payment starts PROCESSING. Its payer is known either at once (the merchant named a user who
//! granted it AGREEMENT_PAY, or a synchronous scenario) or when the user signs in at the cashier;
//! at that moment the user's funds are held by a pending transfer that times out at the payment's
//! expiry. Confirming posts the hold to the merchant (SUCCESS); declining, cancelling or expiring
//! voids it (FAIL or CANCELLED).
//! Every final state writes its notification to the outbox in the same transaction.

use crate::context::Context;
use crate::error::{refuse, CoreError, Refusal, StorageError};
use crate::idempotency;
use crate::ledger::{self, LedgerError, Leg};
use crate::model::ledger::AccountKind;
use crate::model::outbox::{OutboxEntry, OutboxKind, OutboxStatus};
use crate::model::parties::{Client, PartyStatus};
pub use crate::model::payments::{
    AuthClosure, Channel, PayCommand, PayFactors, PayOutcome, Payment, PaymentRef, PaymentStatus, Scenario,
};
use crate::parties::unknown_user_message;
use crate::parties::{check_limits, LimitBreach};
use crate::storage::{DailyParty, ReadAhead, Tx};
use chrono::{DateTime, Duration, Utc};
use walletd_protocol::{Amount, ResultCode};

/// The reason a payment carries when it expired unpaid (the documents' wording, docs/mini-program.md §15).
pub const EXPIRED_REASON: &str = "Order payment expired.";

/// Checks the v1 `partnerId` / v2 `appId` and the client's status.
pub(crate) fn check_client(
    tx: &mut dyn Tx,
    client: &Client,
    partner_id: Option<&str>,
    app_id: Option<&str>,
) -> Result<Result<(), Refusal>, CoreError> {
    if let Some(partner) = partner_id {
        if partner != client.partner_id {
            return match tx.find_client_by_partner(partner)? {
                Some(_) => refuse(
                    ResultCode::AccessDenied,
                    format!("partnerId {partner} belongs to another client"),
                ),
                None => refuse(
                    ResultCode::PartnerNotExist,
                    format!("partnerId {partner} does not exist"),
                ),
            };
        }
    }
    if client.status != PartyStatus::Active {
        return refuse(
            ResultCode::PartnerStatusAbnormal,
            format!("client {} is {}", client.client_id, client.status.as_str()),
        );
    }
    if let Some(app) = app_id {
        if !client.app_ids.is_empty() && !client.app_ids.iter().any(|a| a == app) {
            return refuse(
                ResultCode::AccessDenied,
                format!("appId {app} is not registered to this client"),
            );
        }
    }
    Ok(Ok(()))
}

/// Checks `amount` against the client's per-payment limit and against its daily limit, counting
/// what the client took or holds today. `takes_money`: this transaction adds `amount` to the
/// client's takings (a hold or a charge), so concurrent ones must check one after the other.
fn check_client_limits(
    tx: &mut dyn Tx,
    client: &Client,
    amount: Amount,
    now: DateTime<Utc>,
    takes_money: bool,
) -> Result<Result<(), Refusal>, CoreError> {
    let limits = client.limits_in(amount.currency());
    // The running total is read only when there is a daily limit to check it against.
    let taken_today = match limits.daily_minor {
        Some(_) => {
            if takes_money {
                tx.lock_daily_total(DailyParty::Client, &client.client_id)?;
            }
            tx.daily_total(
                DailyParty::Client,
                &client.client_id,
                amount.currency(),
                now.date_naive(),
            )?
        }
        None => 0,
    };
    match check_limits(limits, amount, taken_today) {
        Some(LimitBreach::PerPayment { limit_minor }) => refuse(
            ResultCode::PaymentAmountExceedLimit,
            format!("the amount exceeds the merchant's per-payment limit of {limit_minor} minor units"),
        ),
        Some(LimitBreach::Daily { limit_minor, .. }) => refuse(
            ResultCode::PaymentAmountExceedLimit,
            format!("the amount exceeds the merchant's daily limit of {limit_minor} minor units"),
        ),
        None => Ok(Ok(())),
    }
}

/// pay, inside one transaction.
pub(crate) fn pay(ctx: &Context, tx: &mut dyn Tx, cmd: &PayCommand) -> Result<PayOutcome, CoreError> {
    let now = ctx.now();
    if cmd.factors.evaluation {
        // Evaluation writes nothing, not even the idempotency key.
        return Ok(match evaluate_only(ctx, tx, cmd, now)? {
            Ok(()) => PayOutcome::Evaluated,
            Err((code, message)) => PayOutcome::Rejected { code, message },
        });
    }
    // A pay's first reads: its key, its merchant, the merchant's day. Announced together, so a
    // backend with a round trip per statement makes them in one.
    tx.read_ahead(&[
        ReadAhead::Idempotency {
            scope: idempotency::PAY_SCOPE,
            client_id: &cmd.client_id,
            key: &cmd.payment_request_id,
        },
        ReadAhead::Client(&cmd.client_id),
        ReadAhead::DailyTotal {
            party: DailyParty::Client,
            party_id: &cmd.client_id,
            currency: cmd.amount.get().currency(),
            day: now.date_naive(),
        },
    ])?;
    idempotency::run(tx, cmd, now, |tx| {
        Ok(evaluate_pay(ctx, tx, cmd, now)?
            .unwrap_or_else(|(code, message)| PayOutcome::Rejected { code, message }))
    })
}

/// What the merchant-side checks of a pay request found.
struct MerchantSide {
    client: Client,
    /// The payment's expiry.
    expires_at: DateTime<Utc>,
    /// The sandbox outcome to play (a U code), if any.
    sandbox: Option<(ResultCode, &'static str)>,
}

/// The merchant-side checks of a pay request: client, amount, currency, the client's limits,
/// the expiry and the sandbox's forced refusals.
fn check_merchant_side(
    ctx: &Context,
    tx: &mut dyn Tx,
    cmd: &PayCommand,
    now: DateTime<Utc>,
) -> Result<Result<MerchantSide, Refusal>, CoreError> {
    let client = tx
        .get_client(&cmd.client_id)?
        .ok_or_else(|| CoreError::NotFound(format!("client {}", cmd.client_id)))?;
    if let Err(r) = check_client(tx, &client, cmd.partner_id.as_deref(), cmd.app_id.as_deref())? {
        return Ok(Err(r));
    }
    let amount = cmd.amount.get();
    if !client.accepts_currency(amount.currency()) {
        return refuse(
            ResultCode::CurrencyNotSupport,
            format!(
                "client {} does not accept {}",
                client.client_id,
                amount.currency()
            ),
        );
    }
    // A cashier payment without a payer takes nothing yet; its confirm checks again, locked.
    let takes_money = cmd.scenario != Scenario::Cashier || cmd.payer_user_id.is_some();
    if let Err(r) = check_client_limits(tx, &client, amount, now, takes_money)? {
        return Ok(Err(r));
    }
    let expires_at = match cmd.expiry_time {
        Some(t) if t <= now => return refuse(ResultCode::ParamIllegal, "paymentExpiryTime is in the past"),
        Some(t) => t.min(now + Duration::seconds(ctx.config.max_payment_expiry_secs)),
        None => now + Duration::seconds(ctx.config.payment_expiry_secs),
    };
    let sandbox = if ctx.config.sandbox {
        crate::sandbox::pay_outcome(amount.value_minor())
    } else {
        None
    };
    if let Some((code, message)) = sandbox {
        if code.status() == walletd_protocol::ResultStatus::Failed {
            return refuse(code, message);
        }
    }
    Ok(Ok(MerchantSide {
        client,
        expires_at,
        sandbox,
    }))
}

/// Who pays, as far as the request tells.
struct Payer {
    user_id: Option<String>,
    /// The payment code to spend once the payment is made.
    payment_code: Option<crate::model::oauth::PaymentCode>,
}

/// Finds the payer of a request: the named `customerId` (cashier), the user behind the access
/// token (agreement) or behind the payment code (in-store).
fn resolve_payer(
    tx: &mut dyn Tx,
    now: DateTime<Utc>,
    cmd: &PayCommand,
) -> Result<Result<Payer, Refusal>, CoreError> {
    let auth_code = cmd.payment_auth_code.as_deref().filter(|c| !c.is_empty());
    let named = cmd.payer_user_id.as_deref();
    let (user_id, payment_code) = match cmd.scenario {
        Scenario::Cashier => {
            let user_id = match named_cashier_payer(tx, now, cmd, named)? {
                Ok(user_id) => user_id,
                Err(r) => return Ok(Err(r)),
            };
            return Ok(Ok(Payer {
                user_id,
                payment_code: None,
            }));
        }
        Scenario::Agreement => {
            let Some(token) = auth_code else {
                return refuse(
                    ResultCode::ParamIllegal,
                    "paymentAuthCode (the access token) is required for an agreement payment",
                );
            };
            match crate::oauth::agreement_payer(
                tx,
                now,
                &cmd.client_id,
                cmd.app_id.as_deref(),
                token,
                cmd.amount.get(),
            )? {
                Ok(user) => (user, None),
                Err(r) => return Ok(Err(r)),
            }
        }
        Scenario::PaymentCode => {
            let Some(code) = auth_code else {
                return refuse(
                    ResultCode::ParamIllegal,
                    "paymentAuthCode (the user's payment code) is required for a payment code payment",
                );
            };
            match crate::oauth::payment_code_payer(tx, now, code)? {
                Ok(c) => (c.user_id.clone(), Some(c)),
                Err(r) => return Ok(Err(r)),
            }
        }
    };
    if let Some(n) = named.filter(|n| *n != user_id) {
        return refuse(
            ResultCode::ParamIllegal,
            format!("extendInfo.customerId {n} is not the user behind paymentAuthCode"),
        );
    }
    Ok(Ok(Payer {
        user_id: Some(user_id),
        payment_code,
    }))
}

/// The payer a cashier payment names (`customerId`), if any: only a user with a live
/// AGREEMENT_PAY grant to the client, within its limit.
fn named_cashier_payer(
    tx: &mut dyn Tx,
    now: DateTime<Utc>,
    cmd: &PayCommand,
    named: Option<&str>,
) -> Result<Result<Option<String>, Refusal>, CoreError> {
    let Some(n) = named else {
        return Ok(Ok(None));
    };
    Ok(crate::oauth::named_payer(
        tx,
        now,
        &cmd.client_id,
        cmd.app_id.as_deref(),
        n,
        cmd.amount.get(),
    )?
    .map(|()| Some(n.to_owned())))
}

/// `isPaymentEvaluation`: every check the payment would meet, nothing written.
fn evaluate_only(
    ctx: &Context,
    tx: &mut dyn Tx,
    cmd: &PayCommand,
    now: DateTime<Utc>,
) -> Result<Result<(), Refusal>, CoreError> {
    if let Err(r) = check_merchant_side(ctx, tx, cmd, now)? {
        return Ok(Err(r));
    }
    let payer = match resolve_payer(tx, now, cmd)? {
        Ok(p) => p,
        Err(r) => return Ok(Err(r)),
    };
    match payer.user_id {
        Some(user) => payer_could_pay(tx, now, &user, cmd.amount.get()),
        None => Ok(Ok(())),
    }
}

fn evaluate_pay(
    ctx: &Context,
    tx: &mut dyn Tx,
    cmd: &PayCommand,
    now: DateTime<Utc>,
) -> Result<Result<PayOutcome, Refusal>, CoreError> {
    let MerchantSide {
        client,
        expires_at,
        sandbox,
    } = match check_merchant_side(ctx, tx, cmd, now)? {
        Ok(v) => v,
        Err(r) => return Ok(Err(r)),
    };
    let payer = match resolve_payer(tx, now, cmd)? {
        Ok(p) => p,
        Err(r) => return Ok(Err(r)),
    };
    let mut payment = new_payment(ctx, cmd, &client, expires_at, now);
    let synchronous = cmd.scenario.is_synchronous();
    if let Some(user_id) = &payer.user_id {
        let done = match (synchronous, cmd.factors.authorization) {
            // Agreement or payment code: the money moves now, in this transaction.
            (true, false) => charge_now(tx, &mut payment, user_id, now)?,
            // ... or is held for the merchant to capture.
            (true, true) => {
                let until = match cmd.expiry_time {
                    Some(t) => t.min(now + Duration::seconds(ctx.config.max_payment_expiry_secs)),
                    None => now + Duration::seconds(ctx.config.max_payment_expiry_secs),
                };
                authorize_now(tx, &mut payment, user_id, until, now)?
            }
            // A cashier authorization is held only once the user approves it at the cashier.
            (false, true) => {
                payment.payer_user_id = Some(user_id.clone());
                Ok(())
            }
            (false, false) => hold_funds(tx, &mut payment, user_id, now)?,
        };
        if let Err(r) = done {
            return Ok(Err(r));
        }
    }
    if let Some(code) = payer.payment_code {
        crate::oauth::spend_payment_code(tx, now, code, &payment.payment_id)?;
    }
    tx.insert_payment(&payment)?;
    if let Some((code, message)) = sandbox {
        return Ok(Ok(PayOutcome::Unknown {
            code,
            message: message.to_owned(),
            payment: Some(payment),
        }));
    }
    if synchronous {
        return Ok(Ok(PayOutcome::Succeeded(payment)));
    }
    Ok(Ok(PayOutcome::Accepted(payment)))
}

/// The payment a pay request creates: PROCESSING, without a payer and with no money moved yet;
/// the request's notify URL, or else the client's default.
fn new_payment(
    ctx: &Context,
    cmd: &PayCommand,
    client: &Client,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Payment {
    let amount = cmd.amount;
    Payment {
        payment_id: ctx.ids.new_id("payment", now),
        client_id: client.client_id.clone(),
        payment_request_id: cmd.payment_request_id.clone(),
        channel: cmd.channel,
        scenario: cmd.scenario,
        currency: amount.currency(),
        amount_minor: amount.value_minor(),
        refunded_minor: 0,
        status: PaymentStatus::Processing,
        payer_user_id: None,
        hold_transfer_id: None,
        settle_transfer_id: None,
        order_title: cmd.order_title.clone(),
        reference_order_id: cmd.reference_order_id.clone(),
        merchant_display_name: cmd.merchant_display_name.clone(),
        partner_id: cmd.partner_id.clone().or_else(|| Some(client.partner_id.clone())),
        app_id: cmd.app_id.clone(),
        notify_url: cmd
            .notify_url
            .clone()
            .or_else(|| client.default_notify_url.clone()),
        return_url: cmd.return_url.clone(),
        extend_info: cmd.extend_info.clone(),
        created_at: now,
        expires_at,
        paid_at: None,
        closed_at: None,
        fail_reason: None,
        authorization: cmd.factors.authorization,
        authorized_at: None,
        auth_expires_at: None,
        captured_minor: 0,
        auth_closed_by: None,
    }
}

/// Checks that `user_id` exists, is active and stays within their limits with `amount`.
fn check_payer(
    tx: &mut dyn Tx,
    user_id: &str,
    amount: Amount,
    now: DateTime<Utc>,
) -> Result<Result<(), Refusal>, CoreError> {
    let Some(user) = tx.get_user(user_id)? else {
        return refuse(ResultCode::UserNotExist, unknown_user_message(user_id));
    };
    if user.status != PartyStatus::Active {
        return refuse(
            ResultCode::UserStatusAbnormal,
            format!("user {user_id} is {}", user.status.as_str()),
        );
    }
    let limits = user.limits_in(amount.currency());
    let spent = match limits.daily_minor {
        Some(_) => {
            tx.lock_daily_total(DailyParty::User, user_id)?;
            tx.daily_total(DailyParty::User, user_id, amount.currency(), now.date_naive())?
        }
        None => 0,
    };
    if let Some(breach) = check_limits(limits, amount, spent) {
        let which = match breach {
            LimitBreach::PerPayment { .. } => "per-payment",
            LimitBreach::Daily { .. } => "daily",
        };
        return refuse(
            ResultCode::UserAmountExceedLimit,
            format!("the amount exceeds the user's {which} limit"),
        );
    }
    Ok(Ok(()))
}

/// Would `user_id` be able to pay `amount` now? The payer checks and the available balance;
/// nothing written (payment evaluation).
fn payer_could_pay(
    tx: &mut dyn Tx,
    now: DateTime<Utc>,
    user_id: &str,
    amount: Amount,
) -> Result<Result<(), Refusal>, CoreError> {
    if let Err(r) = check_payer(tx, user_id, amount, now)? {
        return Ok(Err(r));
    }
    let available = tx
        .find_account(AccountKind::UserWallet, user_id, amount.currency())?
        .map(|a| a.available_balance())
        .unwrap_or(0);
    if available < amount.value_minor() {
        return refuse(
            ResultCode::UserBalanceNotEnough,
            format!("the available balance of user {user_id} does not cover {amount}"),
        );
    }
    Ok(Ok(()))
}

/// A synchronous payment: one transfer from the payer's wallet to the merchant, and the payment
/// is SUCCESS. Changed in memory only; the caller stores it.
fn charge_now(
    tx: &mut dyn Tx,
    payment: &mut Payment,
    user_id: &str,
    now: DateTime<Utc>,
) -> Result<Result<(), Refusal>, CoreError> {
    let amount = payment.amount();
    if let Err(r) = check_payer(tx, user_id, amount, now)? {
        return Ok(Err(r));
    }
    let wallet = ledger::ensure_account(tx, AccountKind::UserWallet, user_id, amount.currency(), now)?;
    let merchant = ledger::ensure_account(
        tx,
        AccountKind::Merchant,
        &payment.client_id,
        amount.currency(),
        now,
    )?;
    let legs = [Leg::Single {
        debit: wallet.id,
        credit: merchant.id,
        amount_minor: amount.value_minor(),
        code: "payment_settle".into(),
        reference: payment.payment_id.clone(),
    }];
    match ledger::apply(tx, now, &legs)? {
        Ok(ids) => {
            payment.payer_user_id = Some(user_id.to_owned());
            payment.settle_transfer_id = ids.first().copied();
            payment.status = PaymentStatus::Success;
            payment.paid_at = Some(now);
            Ok(Ok(()))
        }
        Err(LedgerError::ExceedsCredits(_)) => refuse(
            ResultCode::UserBalanceNotEnough,
            format!("the available balance of user {user_id} does not cover {amount}"),
        ),
        Err(e) => Err(CoreError::Invariant(format!(
            "charge for payment {}: {e}",
            payment.payment_id
        ))),
    }
}

/// Holds the funds of an authorization until `until`. Changed in memory only.
fn authorize_now(
    tx: &mut dyn Tx,
    payment: &mut Payment,
    user_id: &str,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Result<(), Refusal>, CoreError> {
    let before = (payment.expires_at, payment.auth_expires_at);
    payment.expires_at = until;
    payment.auth_expires_at = Some(until);
    match hold_funds(tx, payment, user_id, now)? {
        Ok(()) => {
            payment.authorized_at = Some(now);
            Ok(Ok(()))
        }
        Err(r) => {
            (payment.expires_at, payment.auth_expires_at) = before;
            Ok(Err(r))
        }
    }
}

/// Makes `user_id` the payer of `payment` and holds the amount in their wallet until the
/// payment expires. The payment is changed in memory only; the caller stores it.
pub(crate) fn hold_funds(
    tx: &mut dyn Tx,
    payment: &mut Payment,
    user_id: &str,
    now: DateTime<Utc>,
) -> Result<Result<(), Refusal>, CoreError> {
    let amount = payment.amount();
    if let Err(r) = check_payer(tx, user_id, amount, now)? {
        return Ok(Err(r));
    }
    let wallet = ledger::ensure_account(tx, AccountKind::UserWallet, user_id, amount.currency(), now)?;
    let merchant = ledger::ensure_account(
        tx,
        AccountKind::Merchant,
        &payment.client_id,
        amount.currency(),
        now,
    )?;
    let legs = [Leg::Pending {
        debit: wallet.id,
        credit: merchant.id,
        amount_minor: amount.value_minor(),
        timeout_at: payment.expires_at,
        code: "payment_hold".into(),
        reference: payment.payment_id.clone(),
    }];
    match ledger::apply(tx, now, &legs)? {
        Ok(ids) => {
            payment.payer_user_id = Some(user_id.to_owned());
            payment.hold_transfer_id = ids.first().copied();
            Ok(Ok(()))
        }
        Err(LedgerError::ExceedsCredits(_)) => refuse(
            ResultCode::UserBalanceNotEnough,
            format!("the available balance of user {user_id} does not cover {amount}"),
        ),
        Err(e) => Err(CoreError::Invariant(format!(
            "hold for payment {}: {e}",
            payment.payment_id
        ))),
    }
}

/// Writes the notification of a payment's final state, if the payment has somewhere to send it.
pub(crate) fn enqueue_payment_notice(
    ctx: &Context,
    tx: &mut dyn Tx,
    payment: &Payment,
) -> Result<(), StorageError> {
    let Some(url) = payment.notify_url.clone() else {
        return Ok(());
    };
    if payment.scenario.is_synchronous() {
        // Agreement and payment-code payments are answered S or F at once (docs/mini-program.md §15).
        return Ok(());
    }
    if !payment.channel.notifies(payment.status) {
        return Ok(());
    }
    let now = ctx.now();
    let snapshot = serde_json::to_value(payment).map_err(|e| StorageError::Corrupt(e.to_string()))?;
    tx.insert_outbox(&OutboxEntry {
        id: ctx.ids.new_id("notify", now),
        client_id: payment.client_id.clone(),
        kind: OutboxKind::PaymentResult,
        subject_id: payment.payment_id.clone(),
        url,
        snapshot,
        status: OutboxStatus::Pending,
        attempts: Vec::new(),
        next_attempt_at: now,
        lease_until: None,
        created_at: now,
    })
}

/// Why a payment could not be confirmed or declined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApprovalOutcome {
    /// The payment is now in this (final) state.
    Done(Payment),
    /// Nothing changed; the user sees this code and message (the payment stays payable unless it
    /// was already final).
    Refused {
        code: ResultCode,
        message: String,
        payment: Payment,
    },
}

/// The user (cashier or admin) approves: hold the funds if not yet held, then post the hold.
pub(crate) fn confirm(
    ctx: &Context,
    tx: &mut dyn Tx,
    payment_id: &str,
    user_id: &str,
) -> Result<ApprovalOutcome, CoreError> {
    let now = ctx.now();
    let mut payment = tx
        .get_payment(payment_id)?
        .ok_or_else(|| CoreError::NotFound(format!("payment {payment_id}")))?;
    if payment.status != PaymentStatus::Processing {
        return Ok(ApprovalOutcome::Refused {
            code: ResultCode::OrderStatusInvalid,
            message: format!("payment {payment_id} is already {}", payment.status.as_str()),
            payment,
        });
    }
    if payment.authorized_at.is_some() {
        return Ok(ApprovalOutcome::Refused {
            code: ResultCode::OrderStatusInvalid,
            message: format!("payment {payment_id} is authorized already; the merchant captures it"),
            payment,
        });
    }
    if now >= payment.expires_at {
        expire_one(ctx, tx, &mut payment)?;
        return Ok(ApprovalOutcome::Refused {
            code: ResultCode::OrderStatusInvalid,
            message: EXPIRED_REASON.into(),
            payment,
        });
    }
    // A merchant frozen since the pay request takes no more money.
    let client = tx
        .get_client(&payment.client_id)?
        .ok_or_else(|| CoreError::NotFound(format!("client {}", payment.client_id)))?;
    if client.status != PartyStatus::Active {
        return Ok(ApprovalOutcome::Refused {
            code: ResultCode::PartnerStatusAbnormal,
            message: format!("the merchant {} is {}", client.name, client.status.as_str()),
            payment,
        });
    }
    if payment.authorization {
        return authorize_at_cashier(ctx, tx, payment, user_id, now);
    }
    if let Err((code, message)) = hold_for_approval(tx, &client, &mut payment, user_id, now)? {
        return Ok(ApprovalOutcome::Refused {
            code,
            message,
            payment,
        });
    }
    settle_hold(ctx, tx, &mut payment, now)?;
    Ok(ApprovalOutcome::Done(payment))
}

/// The hold a user's approval posts: a payment with a payer must be theirs; a cashier payment
/// without one becomes theirs now and their funds are held, within the merchant's limits (its
/// takings count it from now on).
fn hold_for_approval(
    tx: &mut dyn Tx,
    client: &Client,
    payment: &mut Payment,
    user_id: &str,
    now: DateTime<Utc>,
) -> Result<Result<(), Refusal>, CoreError> {
    match &payment.payer_user_id {
        Some(payer) if payer != user_id => {
            refuse(ResultCode::AccessDenied, "this payment belongs to another user")
        }
        Some(_) => Ok(Ok(())),
        None => {
            // A cashier payment takes money only now: the client's daily limit counts it only
            // from here, so check it again (pay counted only payments that already had a payer).
            if let Err(r) = check_client_limits(tx, client, payment.amount(), now, true)? {
                return Ok(Err(r));
            }
            hold_funds(tx, payment, user_id, now)
        }
    }
}

/// Posts the whole hold of an approved payment to the merchant: the payment is SUCCESS, stored
/// and its notification written.
fn settle_hold(
    ctx: &Context,
    tx: &mut dyn Tx,
    payment: &mut Payment,
    now: DateTime<Utc>,
) -> Result<(), CoreError> {
    let payment_id = payment.payment_id.clone();
    let hold = payment
        .hold_transfer_id
        .ok_or_else(|| CoreError::Invariant(format!("payment {payment_id} has a payer but no hold")))?;
    let legs = [Leg::Post {
        pending_id: hold,
        amount_minor: None,
        code: "payment_settle".into(),
        reference: payment.payment_id.clone(),
    }];
    match ledger::apply(tx, now, &legs)? {
        Ok(ids) => {
            payment.settle_transfer_id = ids.first().copied();
            payment.status = PaymentStatus::Success;
            payment.paid_at = Some(now);
            tx.update_payment(payment)?;
            enqueue_payment_notice(ctx, tx, payment)?;
            Ok(())
        }
        Err(e) => Err(CoreError::Invariant(format!(
            "posting the hold of payment {payment_id}: {e}"
        ))),
    }
}

/// The user approves an authorization at the cashier: the funds are held until the
/// authorization expires (`payments.max_expiry_secs` from now); the payment stays PROCESSING until
/// the merchant captures it.
fn authorize_at_cashier(
    ctx: &Context,
    tx: &mut dyn Tx,
    mut payment: Payment,
    user_id: &str,
    now: DateTime<Utc>,
) -> Result<ApprovalOutcome, CoreError> {
    let refused = |code, message, payment| {
        Ok(ApprovalOutcome::Refused {
            code,
            message,
            payment,
        })
    };
    match payment.payer_user_id.as_deref() {
        Some(payer) if payer != user_id => {
            return refused(
                ResultCode::AccessDenied,
                "this payment belongs to another user".into(),
                payment,
            )
        }
        Some(_) => {}
        None => {
            // Counted in the client's takings only from now on (see `confirm`).
            let client = tx
                .get_client(&payment.client_id)?
                .ok_or_else(|| CoreError::NotFound(format!("client {}", payment.client_id)))?;
            if let Err((code, message)) = check_client_limits(tx, &client, payment.amount(), now, true)? {
                return refused(code, message, payment);
            }
        }
    }
    let before = payment.clone();
    let until = now + Duration::seconds(ctx.config.max_payment_expiry_secs);
    match authorize_now(tx, &mut payment, user_id, until, now)? {
        Ok(()) => {
            tx.update_payment(&payment)?;
            Ok(ApprovalOutcome::Done(payment))
        }
        Err((code, message)) => refused(code, message, before),
    }
}

/// The reason an authorization without captures carries when it ran out.
pub const AUTH_EXPIRED_REASON: &str = "The authorization expired.";

/// Ends an open authorization: releases what is still held. With captures it is SUCCESS (the
/// merchant keeps what it captured), without it is FAIL (expired) or CANCELLED. Notifies.
pub(crate) fn close_authorization(
    ctx: &Context,
    tx: &mut dyn Tx,
    payment: &mut Payment,
    closure: AuthClosure,
) -> Result<(), CoreError> {
    let now = ctx.now();
    let code = match closure {
        AuthClosure::Expired => "auth_expire",
        _ => "auth_void",
    };
    release_hold(tx, payment, now, code)?;
    payment.auth_closed_by = Some(closure);
    payment.closed_at = Some(now);
    payment.status = if payment.captured_minor > 0 {
        payment.paid_at = payment.paid_at.or(Some(now));
        PaymentStatus::Success
    } else if closure == AuthClosure::Expired {
        payment.fail_reason = Some(AUTH_EXPIRED_REASON.into());
        PaymentStatus::Fail
    } else {
        PaymentStatus::Cancelled
    };
    tx.update_payment(payment)?;
    if payment.status != PaymentStatus::Cancelled {
        enqueue_payment_notice(ctx, tx, payment)?;
    }
    Ok(())
}

/// Ends a PROCESSING payment as FAIL with `reason`: voids its hold and enqueues the notice.
pub(crate) fn fail(
    ctx: &Context,
    tx: &mut dyn Tx,
    payment: &mut Payment,
    reason: &str,
) -> Result<(), CoreError> {
    let now = ctx.now();
    release_hold(tx, payment, now, "payment_void")?;
    payment.status = PaymentStatus::Fail;
    payment.closed_at = Some(now);
    payment.fail_reason = Some(reason.to_owned());
    tx.update_payment(payment)?;
    enqueue_payment_notice(ctx, tx, payment)?;
    Ok(())
}

fn release_hold(tx: &mut dyn Tx, payment: &Payment, now: DateTime<Utc>, code: &str) -> Result<(), CoreError> {
    if let Some(hold) = payment.hold_transfer_id {
        if tx.find_resolution(hold)?.is_none() {
            let legs = [Leg::Void {
                pending_id: hold,
                code: code.into(),
                reference: payment.payment_id.clone(),
            }];
            ledger::apply(tx, now, &legs)?.map_err(|e| {
                CoreError::Invariant(format!("voiding the hold of {}: {e}", payment.payment_id))
            })?;
        }
    }
    Ok(())
}

fn expire_one(ctx: &Context, tx: &mut dyn Tx, payment: &mut Payment) -> Result<(), CoreError> {
    fail(ctx, tx, payment, EXPIRED_REASON)
}

/// The user declines at the cashier (or an operator declines for them).
pub(crate) fn decline(
    ctx: &Context,
    tx: &mut dyn Tx,
    payment_id: &str,
    reason: &str,
) -> Result<ApprovalOutcome, CoreError> {
    let mut payment = tx
        .get_payment(payment_id)?
        .ok_or_else(|| CoreError::NotFound(format!("payment {payment_id}")))?;
    if payment.status != PaymentStatus::Processing {
        return Ok(ApprovalOutcome::Refused {
            code: ResultCode::OrderStatusInvalid,
            message: format!("payment {payment_id} is already {}", payment.status.as_str()),
            payment,
        });
    }
    if payment.authorized_at.is_some() {
        // Approved already: only the merchant ends an authorization (capture or cancel).
        return Ok(ApprovalOutcome::Refused {
            code: ResultCode::OrderStatusInvalid,
            message: format!("payment {payment_id} is authorized already"),
            payment,
        });
    }
    fail(ctx, tx, &mut payment, reason)?;
    Ok(ApprovalOutcome::Done(payment))
}

/// Fails every PROCESSING payment whose expiry has passed (at most `limit`); returns how many.
pub(crate) fn expire_due(ctx: &Context, tx: &mut dyn Tx, limit: u32) -> Result<usize, CoreError> {
    let due = tx.list_expired_payments(ctx.now(), limit)?;
    let n = due.len();
    for mut p in due {
        if p.authorized_at.is_some() {
            // An authorization ran out: release what is still held.
            close_authorization(ctx, tx, &mut p, AuthClosure::Expired)?;
        } else {
            expire_one(ctx, tx, &mut p)?;
        }
    }
    // Spent and expired codes are kept a day, then purged in bounded batches.
    let keep_from = ctx.now() - Duration::seconds(crate::oauth::SPENT_CODE_RETENTION_SECS);
    tx.purge_spent_codes(keep_from, limit)?;
    // Nonces and salts are only needed inside their window.
    tx.purge_once_values(ctx.now(), limit)?;
    Ok(n)
}

/// Finds the payment a request means, if it belongs to `client_id`.
pub(crate) fn find(tx: &mut dyn Tx, client_id: &str, r: &PaymentRef) -> Result<Option<Payment>, CoreError> {
    let found = match (&r.payment_id, &r.payment_request_id) {
        (Some(id), _) => tx.get_payment(id)?,
        (None, Some(req)) => tx.get_payment_by_request(client_id, req)?,
        (None, None) => None,
    };
    Ok(found.filter(|p| p.client_id == client_id))
}

/// What a cancel request came to.
#[derive(Debug, Clone, PartialEq, Eq)]
// Made once per request and moved to the dialect, never kept in bulk: boxing buys nothing.
#[allow(clippy::large_enum_variant)]
pub enum CancelOutcome {
    Cancelled {
        payment: Payment,
        cancel_time: DateTime<Utc>,
    },
    Rejected {
        code: ResultCode,
        message: String,
    },
}

/// The merchant cancels: an unpaid payment is closed and its hold released; a paid one is returned
/// to the payer in full, within the cancel window. Cancelling a cancelled payment answers S again.
pub(crate) fn cancel(
    ctx: &Context,
    tx: &mut dyn Tx,
    client_id: &str,
    partner_id: Option<&str>,
    r: &PaymentRef,
) -> Result<CancelOutcome, CoreError> {
    let now = ctx.now();
    let rejected = |code: ResultCode, message: String| Ok(CancelOutcome::Rejected { code, message });
    let client = tx
        .get_client(client_id)?
        .ok_or_else(|| CoreError::NotFound(format!("client {client_id}")))?;
    if let Err((code, message)) = check_client(tx, &client, partner_id, None)? {
        return rejected(code, message);
    }
    let Some(mut payment) = find(tx, client_id, r)? else {
        return rejected(
            ResultCode::OrderNotExist,
            "no such payment for this client".into(),
        );
    };
    match payment.status {
        PaymentStatus::Cancelled => {
            let cancel_time = payment.closed_at.unwrap_or(now);
            Ok(CancelOutcome::Cancelled { payment, cancel_time })
        }
        PaymentStatus::Fail => rejected(
            ResultCode::OrderStatusInvalid,
            format!("payment {} has already failed", payment.payment_id),
        ),
        PaymentStatus::Processing if payment.authorized_at.is_some() => {
            // An open authorization: cancel voids what is still held.
            close_authorization(ctx, tx, &mut payment, AuthClosure::Cancelled)?;
            Ok(CancelOutcome::Cancelled {
                payment,
                cancel_time: now,
            })
        }
        PaymentStatus::Success if payment.authorization => match payment.auth_closed_by {
            Some(AuthClosure::Cancelled) => {
                let cancel_time = payment.closed_at.unwrap_or(now);
                Ok(CancelOutcome::Cancelled { payment, cancel_time })
            }
            _ => rejected(
                ResultCode::OrderStatusInvalid,
                format!(
                    "authorization {} has been captured; refund it instead",
                    payment.payment_id
                ),
            ),
        },
        PaymentStatus::Processing => {
            release_hold(tx, &payment, now, "payment_cancel")?;
            mark_cancelled(tx, payment, now)
        }
        PaymentStatus::Success => cancel_paid(ctx, tx, client_id, payment, now),
    }
}

/// Cancels a paid payment: without refunds and within the cancel window, the whole amount goes
/// back from the merchant's balance to the payer's wallet, and the payment is CANCELLED.
fn cancel_paid(
    ctx: &Context,
    tx: &mut dyn Tx,
    client_id: &str,
    payment: Payment,
    now: DateTime<Utc>,
) -> Result<CancelOutcome, CoreError> {
    let rejected = |code: ResultCode, message: String| Ok(CancelOutcome::Rejected { code, message });
    if payment.refunded_minor > 0 {
        return rejected(
            ResultCode::OrderStatusInvalid,
            "a payment with refunds cannot be cancelled; refund the rest instead".into(),
        );
    }
    if now > payment.created_at + Duration::seconds(ctx.config.cancel_window_secs) {
        return rejected(
            ResultCode::CancelWindowExceed,
            format!(
                "the cancel window of {} s has passed",
                ctx.config.cancel_window_secs
            ),
        );
    }
    let payer = payment
        .payer_user_id
        .clone()
        .ok_or_else(|| CoreError::Invariant(format!("paid payment {} has no payer", payment.payment_id)))?;
    let merchant = ledger::ensure_account(tx, AccountKind::Merchant, client_id, payment.currency, now)?;
    let wallet = ledger::ensure_account(tx, AccountKind::UserWallet, &payer, payment.currency, now)?;
    let legs = [Leg::Single {
        debit: merchant.id,
        credit: wallet.id,
        amount_minor: payment.amount_minor,
        code: "payment_cancel_return".into(),
        reference: payment.payment_id.clone(),
    }];
    match ledger::apply(tx, now, &legs)? {
        Ok(_) => {}
        Err(LedgerError::ExceedsCredits(_)) => {
            return rejected(
                ResultCode::MerchantBalanceNotEnough,
                "the merchant balance does not cover returning this payment".into(),
            )
        }
        Err(e) => return Err(CoreError::Invariant(format!("cancel return: {e}"))),
    }
    mark_cancelled(tx, payment, now)
}

/// Closes a payment as cancelled, once its money has been put back.
fn mark_cancelled(
    tx: &mut dyn Tx,
    mut payment: Payment,
    now: DateTime<Utc>,
) -> Result<CancelOutcome, CoreError> {
    payment.status = PaymentStatus::Cancelled;
    payment.closed_at = Some(now);
    tx.update_payment(&payment)?;
    Ok(CancelOutcome::Cancelled {
        payment,
        cancel_time: now,
    })
}
