//! The store: a video/TV store's orders, cart, credit and API keys (the WS.WebTV `api.php`
//! dialect, docs/store-api.md), kept on the wallet's own books.
//!
//! A store is a merchant [`Client`](crate::model::parties::Client) with a [`StoreConfig`] (its one
//! currency, its minimum purchase) and [`StoreKey`]s (key id + shared secret). The store names its
//! users by a number (`iq`); the first time it writes something for a number, a wallet user is
//! created for it (or an operator links an existing one first, [`Wallet::store_link_user`]).
//!
//! Money, all through the ledger, each change in the same transaction as the order it concerns.
//! A store API key is a shared secret the store holds; what it says happened outside the wallet
//! is recorded on *store-side* accounts only ([`AccountKind::is_store_side`]), which can never
//! become a wallet user's spendable balance or a merchant's payable balance (`ledger::verify`
//! checks that no transfer crosses between the two sides):
//! * `add_payment` — money the store's external gateway says it collected: the store's external
//!   account → its store receipts, and the order's amount due shrinks by it.
//! * a wallet (cashier) payment whose `referenceOrderId` names a current order of the same client
//!   — a real payment: it posts the user's hold to the merchant; [`confirm_payment`] records it on
//!   the order in the same transaction, and fails the payment instead if the order can no longer
//!   take it (paid meanwhile, cancelled, or the amount is now more than the amount due).
//! * store credit is a store-side balance per store user: adding credit moves it from the store's
//!   receipts to the user's store credit (the store gives only out of what it recorded as
//!   collected); subtracting moves it back. It is not the user's wallet balance and cannot be
//!   spent in the wallet.
//! * cancelling an order that has payments gives back what the store's gateway collected as store
//!   credit (from the store receipts), and returns what wallet payments paid to the user's wallet
//!   (from the merchant account, like a payment's cancel).
//!
//! An order whose amount due reaches zero is paid and processed at once (it stops being the
//! user's current order).

use crate::context::Context;
use crate::error::CoreError;
use crate::ledger::{self, LedgerError, Leg};
use crate::model::ledger::AccountKind;
use crate::model::parties::{PartyStatus, User};
use crate::model::payments::{Payment, PaymentStatus};
pub use crate::model::store::{
    CartLine, OrderLine, OrderPayment, OrderPaymentSource, OrderPaymentStatus, OrderStatus, StoreConfig,
    StoreKey, StoreKeyMode, StoreOrder, StoreProduct, StoreUser,
};
use crate::payments::{self, ApprovalOutcome};
use crate::storage::Tx;
use chrono::{DateTime, Utc};
use walletd_protocol::{Amount, Currency, ResultCode};

/// The only API section walletd serves.
pub const SECTION_STORE: &str = "store";
/// The longest request expiration window a key may have (one day).
pub const MAX_EXPIRATION_SECS: i64 = 24 * 3600;
/// The most units of one product a cart line may hold.
pub const MAX_LINE_QUANTITY: i64 = 10_000;
/// The most distinct products a cart may hold.
pub const MAX_CART_LINES: usize = 200;
/// The most orders `list_orders` returns (newest first).
pub const MAX_LISTED_ORDERS: u32 = 500;

/// What a sealed secret starts with; anything else is a secret stored in clear (before sealing
/// existed), which [`Wallet::store_seal_clear_secrets`] seals.
pub const SEALED_SECRET_PREFIX: &str = "sealed:v1:";

/// Seals store secrets at rest and opens them again: an AEAD whose key lives outside the
/// database (the server keeps it in the data directory). `aad` binds a sealed secret to its key
/// id and client id, so a sealed value moved to another key does not open.
pub trait StoreSecretSealer: Send + Sync {
    /// The sealed form, starting with [`SEALED_SECRET_PREFIX`].
    fn seal(&self, aad: &[u8], secret: &str) -> Result<String, String>;
    /// The secret from its sealed form.
    fn open(&self, aad: &[u8], sealed: &str) -> Result<String, String>;
}

/// The associated data of a key's sealed secret.
pub fn secret_aad(key_id: &str, client_id: &str) -> Vec<u8> {
    format!("walletd store key\0{key_id}\0{client_id}").into_bytes()
}

/// Why a store action did not happen (each maps to one error of the dialect).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreRefusal {
    /// The user has no current order.
    NoOrder,
    /// The amount is more than the order's amount due.
    AmountTooBig {
        due_minor: i64,
    },
    /// The user already has a current order.
    OrderAlreadyPlaced,
    EmptyCart,
    /// The cart total is below the store's minimum purchase.
    MinPurchase {
        min_minor: i64,
    },
    /// The cart cannot change while an order is current.
    CartLocked,
    /// No such product in this store.
    UnknownProduct,
    /// The cart would hold too many units or lines.
    CartTooLarge,
    /// The user's credit does not cover the subtraction.
    CantSubtract {
        available_minor: i64,
    },
    /// The store's balance does not cover the credit it wants to give (or give back).
    StoreBalanceNotEnough,
    /// The wallet user behind this store user is frozen or inactive.
    UserNotActive,
}

/// What `modify_cart` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CartAction {
    Add { product_id: i64, quantity: i64 },
    Remove { product_id: i64 },
    Empty,
}

/// Add or subtract credit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreditAction {
    Add,
    Subtract,
}

/// A cart line priced with its product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedLine {
    pub product_id: i64,
    pub name: String,
    pub unit_price_minor: i64,
    pub quantity: i64,
    pub total_minor: i64,
}

/// What `get_cart` shows: the current order if there is one, else the cart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartView {
    pub currency: Currency,
    pub min_purchase_minor: i64,
    pub lines: Vec<PricedLine>,
    pub total_minor: i64,
    pub current_order: Option<StoreOrder>,
    pub credit_minor: i64,
}

/// The store-user scope of a salt or other one-time value of a key.
pub fn salt_scope(key_id: &str) -> String {
    format!("store-salt:{key_id}")
}

pub(crate) fn config_of(tx: &mut dyn Tx, client_id: &str) -> Result<StoreConfig, CoreError> {
    tx.get_store_config(client_id)?
        .ok_or_else(|| CoreError::NotFound(format!("store configuration of client {client_id}")))
}

pub(crate) fn check_iq(iq: i64) -> Result<(), CoreError> {
    if iq < 1 {
        return Err(CoreError::Invalid(format!("store user id {iq} is below 1")));
    }
    Ok(())
}

/// The store user `iq` of `client_id`, created (with a new wallet user) if the store never
/// named it before.
fn ensure_store_user(
    ctx: &Context,
    tx: &mut dyn Tx,
    client_id: &str,
    iq: i64,
) -> Result<StoreUser, CoreError> {
    check_iq(iq)?;
    if let Some(u) = tx.get_store_user(client_id, iq)? {
        return Ok(u);
    }
    let now = ctx.now();
    let user_id = ctx.ids.new_id("user", now);
    let login = format!("store:{client_id}:{iq}");
    if tx.get_user_by_login(&login)?.is_some() {
        return Err(CoreError::Invariant(format!(
            "wallet login {login} exists but is not linked to store user {iq}"
        )));
    }
    tx.insert_user(&User::new(&user_id, &login, &format!("Store user {iq}"), now))?;
    let su = StoreUser {
        client_id: client_id.to_owned(),
        iq,
        user_id,
        cart: Vec::new(),
        created_at: now,
    };
    tx.put_store_user(&su)?;
    Ok(su)
}

fn price_cart(
    tx: &mut dyn Tx,
    client_id: &str,
    cart: &[CartLine],
) -> Result<(Vec<PricedLine>, i64), CoreError> {
    let overflow = || CoreError::Invariant("cart total overflowed".into());
    let mut lines = Vec::with_capacity(cart.len());
    let mut total: i64 = 0;
    for l in cart {
        // A product that disappeared from the catalogue simply drops out of the cart.
        let Some(p) = tx.get_store_product(client_id, l.product_id)? else {
            continue;
        };
        let line_total = p.price_minor.checked_mul(l.quantity).ok_or_else(overflow)?;
        total = total.checked_add(line_total).ok_or_else(overflow)?;
        lines.push(PricedLine {
            product_id: p.product_id,
            name: p.name,
            unit_price_minor: p.price_minor,
            quantity: l.quantity,
            total_minor: line_total,
        });
    }
    Ok((lines, total))
}

/// The owner id of a store user's store credit account.
pub fn store_credit_owner(client_id: &str, iq: i64) -> String {
    format!("{client_id}:{iq}")
}

fn credit_of(tx: &mut dyn Tx, client_id: &str, iq: i64, currency: Currency) -> Result<i64, CoreError> {
    Ok(tx
        .find_account(
            AccountKind::StoreCredit,
            &store_credit_owner(client_id, iq),
            currency,
        )?
        .map(|a| a.available_balance())
        .unwrap_or(0))
}

/// `get_cart`: reads only; an unknown store user has an empty cart.
pub fn view_cart(tx: &mut dyn Tx, client_id: &str, iq: i64) -> Result<CartView, CoreError> {
    check_iq(iq)?;
    let config = config_of(tx, client_id)?;
    let Some(su) = tx.get_store_user(client_id, iq)? else {
        return Ok(CartView {
            currency: config.currency,
            min_purchase_minor: config.min_purchase_minor,
            lines: Vec::new(),
            total_minor: 0,
            current_order: None,
            credit_minor: 0,
        });
    };
    let credit_minor = credit_of(tx, client_id, su.iq, config.currency)?;
    if let Some(order) = tx.find_current_store_order(client_id, iq)? {
        let lines = order
            .lines
            .iter()
            .map(|l| PricedLine {
                product_id: l.product_id,
                name: l.name.clone(),
                unit_price_minor: l.unit_price_minor,
                quantity: l.quantity,
                total_minor: l.total_minor,
            })
            .collect();
        return Ok(CartView {
            currency: order.currency,
            min_purchase_minor: config.min_purchase_minor,
            lines,
            total_minor: order.total_minor,
            current_order: Some(order),
            credit_minor,
        });
    }
    let (lines, total_minor) = price_cart(tx, client_id, &su.cart)?;
    Ok(CartView {
        currency: config.currency,
        min_purchase_minor: config.min_purchase_minor,
        lines,
        total_minor,
        current_order: None,
        credit_minor,
    })
}

/// `modify_cart`.
pub fn modify_cart(
    ctx: &Context,
    tx: &mut dyn Tx,
    client_id: &str,
    iq: i64,
    action: CartAction,
) -> Result<Result<(), StoreRefusal>, CoreError> {
    config_of(tx, client_id)?;
    let mut su = ensure_store_user(ctx, tx, client_id, iq)?;
    if tx.find_current_store_order(client_id, iq)?.is_some() {
        return Ok(Err(StoreRefusal::CartLocked));
    }
    match action {
        CartAction::Empty => su.cart.clear(),
        CartAction::Remove { product_id } => su.cart.retain(|l| l.product_id != product_id),
        CartAction::Add { product_id, quantity } => {
            if quantity < 1 {
                return Err(CoreError::Invalid("a cart quantity must be at least 1".into()));
            }
            if tx.get_store_product(client_id, product_id)?.is_none() {
                return Ok(Err(StoreRefusal::UnknownProduct));
            }
            match su.cart.iter_mut().find(|l| l.product_id == product_id) {
                Some(line) => {
                    let q = line.quantity.saturating_add(quantity);
                    if q > MAX_LINE_QUANTITY {
                        return Ok(Err(StoreRefusal::CartTooLarge));
                    }
                    line.quantity = q;
                }
                None => {
                    if su.cart.len() >= MAX_CART_LINES || quantity > MAX_LINE_QUANTITY {
                        return Ok(Err(StoreRefusal::CartTooLarge));
                    }
                    su.cart.push(CartLine { product_id, quantity });
                }
            }
        }
    }
    tx.put_store_user(&su)?;
    Ok(Ok(()))
}

/// `place_order`: the cart becomes the user's current order and is emptied.
pub fn place_order(
    ctx: &Context,
    tx: &mut dyn Tx,
    client_id: &str,
    iq: i64,
    payment_method: &str,
) -> Result<Result<StoreOrder, StoreRefusal>, CoreError> {
    let config = config_of(tx, client_id)?;
    let mut su = ensure_store_user(ctx, tx, client_id, iq)?;
    if tx.find_current_store_order(client_id, iq)?.is_some() {
        return Ok(Err(StoreRefusal::OrderAlreadyPlaced));
    }
    let (lines, total_minor) = price_cart(tx, client_id, &su.cart)?;
    if lines.is_empty() {
        return Ok(Err(StoreRefusal::EmptyCart));
    }
    if total_minor < config.min_purchase_minor {
        return Ok(Err(StoreRefusal::MinPurchase {
            min_minor: config.min_purchase_minor,
        }));
    }
    let now = ctx.now();
    let free = total_minor == 0;
    let order = StoreOrder {
        order_id: 0,
        client_id: client_id.to_owned(),
        iq,
        user_id: su.user_id.clone(),
        currency: config.currency,
        lines: lines
            .into_iter()
            .map(|l| OrderLine {
                product_id: l.product_id,
                name: l.name,
                unit_price_minor: l.unit_price_minor,
                quantity: l.quantity,
                total_minor: l.total_minor,
            })
            .collect(),
        total_minor,
        paid_minor: 0,
        // An order of free products has nothing due: it is paid and processed at once.
        status: if free {
            OrderStatus::Processed
        } else {
            OrderStatus::Current
        },
        payment_status: if free {
            OrderPaymentStatus::Paid
        } else {
            OrderPaymentStatus::Unpaid
        },
        payment_method: payment_method.to_owned(),
        payments: Vec::new(),
        created_at: now,
        closed_at: free.then_some(now),
    };
    let order = tx.insert_store_order(&order)?;
    su.cart.clear();
    tx.put_store_user(&su)?;
    Ok(Ok(order))
}

/// `cancel_order`: the current order is cancelled; what the store's gateway collected on it
/// becomes the user's store credit (store side), and what wallet payments paid on it goes back to
/// the user's wallet from the merchant account (wallet side).
pub fn cancel_order(
    ctx: &Context,
    tx: &mut dyn Tx,
    client_id: &str,
    iq: i64,
) -> Result<Result<StoreOrder, StoreRefusal>, CoreError> {
    check_iq(iq)?;
    let Some(mut order) = tx.find_current_store_order(client_id, iq)? else {
        return Ok(Err(StoreRefusal::NoOrder));
    };
    let now = ctx.now();
    let overflow = || CoreError::Invariant(format!("payments of order {} overflowed", order.order_id));
    let mut by_gateway = 0i64;
    for p in order
        .payments
        .iter()
        .filter(|p| p.source == OrderPaymentSource::Gateway)
    {
        by_gateway = by_gateway.checked_add(p.amount_minor).ok_or_else(overflow)?;
    }
    let returns = mark_wallet_payments_returned(tx, &order)?;
    let mut legs = Vec::new();
    if by_gateway > 0 {
        let receipts =
            ledger::ensure_account(tx, AccountKind::StoreReceipts, client_id, order.currency, now)?;
        let credit = ledger::ensure_account(
            tx,
            AccountKind::StoreCredit,
            &store_credit_owner(client_id, iq),
            order.currency,
            now,
        )?;
        legs.push(Leg::Single {
            debit: receipts.id,
            credit: credit.id,
            amount_minor: by_gateway,
            code: "store_order_cancel_credit".into(),
            reference: order.reference(),
        });
    }
    for (payer, back) in returns {
        let merchant = ledger::ensure_account(tx, AccountKind::Merchant, client_id, order.currency, now)?;
        let wallet = ledger::ensure_account(tx, AccountKind::UserWallet, &payer, order.currency, now)?;
        legs.push(Leg::Single {
            debit: merchant.id,
            credit: wallet.id,
            amount_minor: back,
            code: "order_cancel_return".into(),
            reference: order.reference(),
        });
    }
    if !legs.is_empty() {
        match ledger::apply(tx, now, &legs)? {
            Ok(_) => {}
            Err(LedgerError::ExceedsCredits(_)) => return Ok(Err(StoreRefusal::StoreBalanceNotEnough)),
            Err(e) => {
                return Err(CoreError::Invariant(format!(
                    "cancel of order {}: {e}",
                    order.order_id
                )))
            }
        }
    }
    order.status = OrderStatus::Cancelled;
    order.payment_status = OrderPaymentStatus::Cancelled;
    order.closed_at = Some(now);
    tx.update_store_order(&order)?;
    Ok(Ok(order))
}

/// What the wallet payments of a cancelled order give back, and to whom: to each payment's payer,
/// the amount it paid towards the order less what the merchant already refunded of it through a
/// dialect, recorded on the payment as refunded. So the money goes back once, to the wallet it
/// came from, whichever way the merchant returns it first, and a later refund of the payment is
/// refused as exceeding what is left. The order is locked
/// before its payments here, where a confirm locks a payment before its order: on PostgreSQL the
/// two can meet in a deadlock, which the database breaks and the job's retry resolves.
fn mark_wallet_payments_returned(
    tx: &mut dyn Tx,
    order: &StoreOrder,
) -> Result<Vec<(String, i64)>, CoreError> {
    let mut returns = Vec::new();
    for p in &order.payments {
        let OrderPaymentSource::Wallet { payment_id } = &p.source else {
            continue;
        };
        let mut payment = tx.get_payment(payment_id)?.ok_or_else(|| {
            CoreError::Invariant(format!("order {} names no payment {payment_id}", order.order_id))
        })?;
        let back = p.amount_minor.min(payment.refundable_minor()).max(0);
        if back == 0 {
            continue;
        }
        payment.refunded_minor = payment
            .refunded_minor
            .checked_add(back)
            .ok_or_else(|| CoreError::Invariant(format!("refunds of payment {payment_id} overflowed")))?;
        let payer = payment
            .payer_user_id
            .clone()
            .ok_or_else(|| CoreError::Invariant(format!("paid payment {payment_id} has no payer")))?;
        tx.update_payment(&payment)?;
        returns.push((payer, back));
    }
    Ok(returns)
}

/// `add_payment`: money the store's gateway says it collected is recorded on the store side
/// (store external → store receipts) and pays towards the current order. It never reaches the
/// merchant's payable balance.
pub fn add_payment(
    ctx: &Context,
    tx: &mut dyn Tx,
    client_id: &str,
    iq: i64,
    amount: Amount,
    description: &str,
) -> Result<Result<StoreOrder, StoreRefusal>, CoreError> {
    check_iq(iq)?;
    if amount.is_zero() {
        return Err(CoreError::Invalid("a payment must be greater than zero".into()));
    }
    let Some(mut order) = tx.find_current_store_order(client_id, iq)? else {
        return Ok(Err(StoreRefusal::NoOrder));
    };
    if amount.currency() != order.currency {
        return Err(CoreError::Invalid(format!(
            "the payment is in {} but the order in {}",
            amount.currency(),
            order.currency
        )));
    }
    let due = order.amount_due_minor();
    if amount.value_minor() > due {
        return Ok(Err(StoreRefusal::AmountTooBig { due_minor: due }));
    }
    let now = ctx.now();
    let external = ledger::ensure_account(tx, AccountKind::StoreExternal, client_id, order.currency, now)?;
    let receipts = ledger::ensure_account(tx, AccountKind::StoreReceipts, client_id, order.currency, now)?;
    let legs = [Leg::Single {
        debit: external.id,
        credit: receipts.id,
        amount_minor: amount.value_minor(),
        code: "store_gateway_payment".into(),
        reference: order.reference(),
    }];
    let ids = ledger::apply(tx, now, &legs)?
        .map_err(|e| CoreError::Invariant(format!("gateway payment on order {}: {e}", order.order_id)))?;
    order.record_payment(
        OrderPayment {
            source: OrderPaymentSource::Gateway,
            amount_minor: amount.value_minor(),
            description: description.to_owned(),
            transfer_id: ids.first().copied(),
            created_at: now,
        },
        now,
    )?;
    tx.update_store_order(&order)?;
    Ok(Ok(order))
}

/// `list_orders`: newest first; an unknown store user has none.
pub fn list_orders(tx: &mut dyn Tx, client_id: &str, iq: i64) -> Result<Vec<StoreOrder>, CoreError> {
    check_iq(iq)?;
    Ok(tx.list_store_orders(client_id, iq, MAX_LISTED_ORDERS)?)
}

/// `get_credit`: the wallet balance of the user in the store currency.
pub fn credit(tx: &mut dyn Tx, client_id: &str, iq: i64) -> Result<Amount, CoreError> {
    check_iq(iq)?;
    let config = config_of(tx, client_id)?;
    let minor = match tx.get_store_user(client_id, iq)? {
        Some(su) => credit_of(tx, client_id, su.iq, config.currency)?,
        None => 0,
    };
    Amount::from_minor(config.currency, minor).map_err(|e| CoreError::Invariant(e.to_string()))
}

/// `add_subtract_credit`: the store gives a user store credit out of its store receipts, or takes
/// it back (store side only).
pub fn change_credit(
    ctx: &Context,
    tx: &mut dyn Tx,
    client_id: &str,
    iq: i64,
    action: CreditAction,
    amount: Amount,
    description: &str,
) -> Result<Result<Amount, StoreRefusal>, CoreError> {
    let config = config_of(tx, client_id)?;
    if amount.is_zero() {
        return Err(CoreError::Invalid(
            "a credit change must be greater than zero".into(),
        ));
    }
    if amount.currency() != config.currency {
        return Err(CoreError::Invalid(format!(
            "the store works in {}, not {}",
            config.currency,
            amount.currency()
        )));
    }
    let su = ensure_store_user(ctx, tx, client_id, iq)?;
    let user = tx
        .get_user(&su.user_id)?
        .ok_or_else(|| CoreError::Invariant(format!("store user {iq} names missing user {}", su.user_id)))?;
    if user.status != PartyStatus::Active {
        return Ok(Err(StoreRefusal::UserNotActive));
    }
    let now = ctx.now();
    let receipts = ledger::ensure_account(tx, AccountKind::StoreReceipts, client_id, config.currency, now)?;
    let store_credit = ledger::ensure_account(
        tx,
        AccountKind::StoreCredit,
        &store_credit_owner(client_id, iq),
        config.currency,
        now,
    )?;
    let available = store_credit.available_balance();
    let (debit, credit, code) = match action {
        CreditAction::Add => (receipts.id, store_credit.id, "store_credit_add"),
        CreditAction::Subtract => (store_credit.id, receipts.id, "store_credit_subtract"),
    };
    let reference = if description.is_empty() {
        format!("store-credit:{client_id}:{iq}")
    } else {
        format!("store-credit:{client_id}:{iq}: {}", truncate(description, 200))
    };
    let legs = [Leg::Single {
        debit,
        credit,
        amount_minor: amount.value_minor(),
        code: code.into(),
        reference,
    }];
    match ledger::apply(tx, now, &legs)? {
        Ok(_) => {}
        Err(LedgerError::ExceedsCredits(id)) if id == store_credit.id => {
            return Ok(Err(StoreRefusal::CantSubtract {
                available_minor: available,
            }))
        }
        Err(LedgerError::ExceedsCredits(_)) => return Ok(Err(StoreRefusal::StoreBalanceNotEnough)),
        Err(e) => return Err(CoreError::Invariant(format!("store credit change: {e}"))),
    }
    let minor = credit_of(tx, client_id, iq, config.currency)?;
    Amount::from_minor(config.currency, minor)
        .map(Ok)
        .map_err(|e| CoreError::Invariant(e.to_string()))
}

pub(crate) fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

/// The store order a wallet payment names in its `referenceOrderId` (`17` or `ORD00017`), if
/// the payment's client is a store and has that order.
pub fn order_named_by(tx: &mut dyn Tx, payment: &Payment) -> Result<Option<StoreOrder>, CoreError> {
    let Some(reference) = payment.reference_order_id.as_deref() else {
        return Ok(None);
    };
    let digits = reference.strip_prefix("ORD").unwrap_or(reference);
    let Ok(order_id) = digits.parse::<i64>() else {
        return Ok(None);
    };
    if order_id < 1 || tx.get_store_config(&payment.client_id)?.is_none() {
        return Ok(None);
    }
    Ok(tx.get_store_order(&payment.client_id, order_id)?)
}

/// The user approves a payment (cashier "Pay", `admin payment confirm`). Like
/// [`payments::confirm`], and when the payment names a store order: the order must still be
/// able to take it (else the payment fails with the reason), and once the money is posted to the
/// merchant the order's amount due shrinks by it — all in this one transaction.
pub fn confirm_payment(
    ctx: &Context,
    tx: &mut dyn Tx,
    payment_id: &str,
    user_id: &str,
) -> Result<ApprovalOutcome, CoreError> {
    let before = tx.get_payment(payment_id)?;
    let order = match &before {
        Some(p) if p.status == PaymentStatus::Processing => order_named_by(tx, p)?,
        _ => None,
    };
    let Some(mut order) = order else {
        return payments::confirm(ctx, tx, payment_id, user_id);
    };
    let payment = before.ok_or_else(|| CoreError::Invariant("payment vanished".into()))?;
    let unfit = if order.status != OrderStatus::Current {
        Some(format!(
            "Store order {} is no longer awaiting payment.",
            order.order_number()
        ))
    } else if payment.currency != order.currency {
        Some(format!(
            "Store order {} is in {}, not {}.",
            order.order_number(),
            order.currency,
            payment.currency
        ))
    } else if payment.amount_minor > order.amount_due_minor() {
        Some(format!(
            "The amount is more than the {} still due on store order {}.",
            Amount::from_minor(order.currency, order.amount_due_minor())
                .map(|a| a.to_string())
                .unwrap_or_default(),
            order.order_number()
        ))
    } else {
        None
    };
    if let Some(reason) = unfit {
        let failed = match payments::decline(ctx, tx, payment_id, &reason)? {
            ApprovalOutcome::Done(p) | ApprovalOutcome::Refused { payment: p, .. } => p,
        };
        return Ok(ApprovalOutcome::Refused {
            code: ResultCode::OrderStatusInvalid,
            message: reason,
            payment: failed,
        });
    }
    let outcome = payments::confirm(ctx, tx, payment_id, user_id)?;
    if let ApprovalOutcome::Done(p) = &outcome {
        if p.status == PaymentStatus::Success {
            let now = ctx.now();
            order.record_payment(
                OrderPayment {
                    source: OrderPaymentSource::Wallet {
                        payment_id: p.payment_id.clone(),
                    },
                    amount_minor: p.amount_minor,
                    description: p.order_title.clone(),
                    transfer_id: p.settle_transfer_id,
                    created_at: now,
                },
                now,
            )?;
            tx.update_store_order(&order)?;
        }
    }
    Ok(outcome)
}

/// What `store-key add` is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStoreKey {
    pub client_id: String,
    pub mode: StoreKeyMode,
    pub expiration_secs: i64,
    pub sections: Vec<String>,
}

// ---- the Wallet's store methods (one transaction each) ----

impl StoreOrder {
    /// Records a payment and closes the order once nothing is due.
    fn record_payment(&mut self, payment: OrderPayment, now: DateTime<Utc>) -> Result<(), CoreError> {
        self.paid_minor = self
            .paid_minor
            .checked_add(payment.amount_minor)
            .ok_or_else(|| CoreError::Invariant("order paid amount overflowed".into()))?;
        if self.paid_minor > self.total_minor {
            return Err(CoreError::Invariant(format!(
                "order {} would be paid beyond its total",
                self.order_id
            )));
        }
        self.payments.push(payment);
        if self.paid_minor == self.total_minor {
            self.payment_status = OrderPaymentStatus::Paid;
            self.status = OrderStatus::Processed;
            self.closed_at = Some(now);
        }
        Ok(())
    }
}
