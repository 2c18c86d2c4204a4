//! [`Wallet`]: the async face of the core. Each method is one storage transaction.

use crate::clock::{Clock, IdSource};
pub use crate::context::{Context, WalletConfig};
use crate::error::CoreError;
use crate::ledger::{self, Leg, VerifyReport};
use crate::model::ledger::{Account, AccountKind, TransferId};
use crate::model::outbox::{Attempt, OutboxEntry, OutboxStatus};
use crate::model::parties::{Client, User};
use crate::model::payments::{PayCommand, Payment, PaymentRef};
use crate::model::refunds::{Refund, RefundCommand, RefundRef};
use crate::payments::{self, ApprovalOutcome, CancelOutcome, PayOutcome};
use crate::refunds::{self, RefundOutcome};
use crate::storage::{transact, Access, Storage, Tx};
use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;
use walletd_protocol::Amount;

mod agent;
mod captures;
mod client_cache;
mod oauth;
mod reports;
mod store;

/// The wallet: parties, ledger, payments and refunds over one storage backend.
#[derive(Clone)]
pub struct Wallet {
    storage: Arc<dyn Storage>,
    ctx: Arc<Context>,
    /// Seals store API secrets at rest; without one they are stored in clear (tests that need
    /// no data directory). The server always sets one.
    store_sealer: Option<Arc<dyn crate::store::StoreSecretSealer>>,
    /// Clients recently read to authenticate requests.
    clients: Arc<client_cache::ClientCache>,
}

pub use client_cache::MAX_CLIENTS as CLIENT_CACHE_MAX_CLIENTS;

impl Wallet {
    pub fn new(
        storage: Arc<dyn Storage>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdSource>,
        config: WalletConfig,
    ) -> Self {
        Wallet {
            storage,
            clients: Arc::new(client_cache::ClientCache::new(config.client_cache_ms)),
            ctx: Arc::new(Context { config, clock, ids }),
            store_sealer: None,
        }
    }

    /// The same wallet, sealing store secrets at rest with `sealer`.
    pub fn with_store_sealer(mut self, sealer: Arc<dyn crate::store::StoreSecretSealer>) -> Self {
        self.store_sealer = Some(sealer);
        self
    }

    /// The sealer of store secrets, if one is set.
    pub fn store_sealer(&self) -> Option<&Arc<dyn crate::store::StoreSecretSealer>> {
        self.store_sealer.as_ref()
    }

    pub fn config(&self) -> &WalletConfig {
        &self.ctx.config
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.ctx.now()
    }

    pub fn ids(&self) -> &Arc<dyn IdSource> {
        &self.ctx.ids
    }

    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.storage
    }

    /// Runs `f` in a write transaction with the wallet's context.
    pub async fn write<R, F>(&self, mut f: F) -> Result<R, CoreError>
    where
        R: Send + 'static,
        F: FnMut(&Context, &mut dyn Tx) -> Result<R, CoreError> + Send + 'static,
    {
        let ctx = self.ctx.clone();
        transact(self.storage.as_ref(), Access::Write, move |tx| f(&ctx, tx)).await
    }

    /// Runs `f` in a read-only transaction.
    pub async fn read<R, F>(&self, mut f: F) -> Result<R, CoreError>
    where
        R: Send + 'static,
        F: FnMut(&Context, &mut dyn Tx) -> Result<R, CoreError> + Send + 'static,
    {
        let ctx = self.ctx.clone();
        transact(self.storage.as_ref(), Access::Read, move |tx| f(&ctx, tx)).await
    }

    // ---- parties ----

    /// Registers a new merchant client.
    pub async fn add_client(&self, client: Client) -> Result<Client, CoreError> {
        self.write(move |_, tx| {
            if tx.get_client(&client.client_id)?.is_some() {
                return Err(CoreError::Invalid(format!(
                    "client {} exists already",
                    client.client_id
                )));
            }
            if tx.find_client_by_partner(&client.partner_id)?.is_some() {
                return Err(CoreError::Invalid(format!(
                    "partnerId {} is taken",
                    client.partner_id
                )));
            }
            tx.insert_client(&client)?;
            Ok(client.clone())
        })
        .await
    }

    /// The client as stored now. A client found is kept for [`Wallet::recent_client`].
    pub async fn get_client(&self, client_id: &str) -> Result<Option<Client>, CoreError> {
        let id = client_id.to_owned();
        let found = self.read(move |_, tx| Ok(tx.get_client(&id)?)).await?;
        if let Some(c) = &found {
            self.clients.put(c, self.now());
        }
        Ok(found)
    }

    /// The client as read at most `WalletConfig::client_cache_ms` ago, for authenticating a
    /// request; `true` with it when it came from the cache (so a signature it does not verify is
    /// worth checking against [`Wallet::get_client`] before refusing). Never use it for a rule
    /// that acts on the client's state: read the client inside the command's transaction.
    pub async fn recent_client(&self, client_id: &str) -> Result<Option<(Client, bool)>, CoreError> {
        if let Some(c) = self.clients.get(client_id, self.now()) {
            return Ok(Some((c, true)));
        }
        Ok(self.get_client(client_id).await?.map(|c| (c, false)))
    }

    /// Drops what [`Wallet::recent_client`] kept of a client (after a change made outside
    /// [`Wallet::update_client`], such as an operator's action).
    pub fn forget_client(&self, client_id: &str) {
        self.clients.forget(client_id);
    }

    pub async fn list_clients(&self) -> Result<Vec<Client>, CoreError> {
        self.read(|_, tx| Ok(tx.list_clients()?)).await
    }

    /// Changes a client with `f` and stores it.
    pub async fn update_client<F>(&self, client_id: &str, f: F) -> Result<Client, CoreError>
    where
        F: Fn(&Context, &mut Client) -> Result<(), CoreError> + Send + 'static,
    {
        let id = client_id.to_owned();
        let updated = self
            .write(move |ctx, tx| {
                let mut c = tx
                    .get_client(&id)?
                    .ok_or_else(|| CoreError::NotFound(format!("client {id}")))?;
                f(ctx, &mut c)?;
                tx.update_client(&c)?;
                Ok(c)
            })
            .await;
        self.clients.forget(client_id);
        updated
    }

    /// Registers a new wallet user.
    pub async fn add_user(&self, user: User) -> Result<User, CoreError> {
        self.write(move |_, tx| {
            if tx.get_user(&user.user_id)?.is_some() {
                return Err(CoreError::Invalid(format!(
                    "user {} exists already",
                    user.user_id
                )));
            }
            if tx.get_user_by_login(&user.login)?.is_some() {
                return Err(CoreError::Invalid(format!("login {} is taken", user.login)));
            }
            tx.insert_user(&user)?;
            Ok(user.clone())
        })
        .await
    }

    pub async fn get_user(&self, user_id: &str) -> Result<Option<User>, CoreError> {
        let id = user_id.to_owned();
        self.read(move |_, tx| Ok(tx.get_user(&id)?)).await
    }

    pub async fn get_user_by_login(&self, login: &str) -> Result<Option<User>, CoreError> {
        let login = login.to_owned();
        self.read(move |_, tx| Ok(tx.get_user_by_login(&login)?)).await
    }

    pub async fn list_users(&self) -> Result<Vec<User>, CoreError> {
        self.read(|_, tx| Ok(tx.list_users()?)).await
    }

    /// Changes a user with `f` and stores it.
    pub async fn update_user<F>(&self, user_id: &str, f: F) -> Result<User, CoreError>
    where
        F: Fn(&mut User) -> Result<(), CoreError> + Send + 'static,
    {
        let id = user_id.to_owned();
        self.write(move |_, tx| {
            let mut u = tx
                .get_user(&id)?
                .ok_or_else(|| CoreError::NotFound(format!("user {id}")))?;
            f(&mut u)?;
            tx.update_user(&u)?;
            Ok(u)
        })
        .await
    }

    // ---- ledger ----

    /// Money enters the wallet: a transfer from the funding account to the user's wallet.
    pub async fn top_up(&self, user_id: &str, amount: Amount) -> Result<TransferId, CoreError> {
        if amount.is_zero() {
            return Err(CoreError::Invalid("a top-up must be greater than zero".into()));
        }
        let id = user_id.to_owned();
        self.write(move |ctx, tx| {
            let now = ctx.now();
            tx.get_user(&id)?
                .ok_or_else(|| CoreError::NotFound(format!("user {id}")))?;
            let funding = ledger::funding_account(tx, amount.currency(), now)?;
            let wallet = ledger::ensure_account(tx, AccountKind::UserWallet, &id, amount.currency(), now)?;
            let legs = [Leg::Single {
                debit: funding.id,
                credit: wallet.id,
                amount_minor: amount.value_minor(),
                code: "top_up".into(),
                reference: id.clone(),
            }];
            let ids = ledger::apply(tx, now, &legs)?.map_err(|e| CoreError::Invalid(e.to_string()))?;
            ids.first()
                .copied()
                .ok_or_else(|| CoreError::Invariant("no transfer id".into()))
        })
        .await
    }

    /// Money leaves to a merchant's bank: a settlement payout from the merchant's account to the
    /// funding account. Refused if the merchant's balance does not cover it.
    pub async fn payout(&self, client_id: &str, amount: Amount) -> Result<TransferId, CoreError> {
        if amount.is_zero() {
            return Err(CoreError::Invalid("a payout must be greater than zero".into()));
        }
        let id = client_id.to_owned();
        self.write(move |ctx, tx| {
            let now = ctx.now();
            tx.get_client(&id)?
                .ok_or_else(|| CoreError::NotFound(format!("client {id}")))?;
            let merchant = ledger::ensure_account(tx, AccountKind::Merchant, &id, amount.currency(), now)?;
            let funding = ledger::funding_account(tx, amount.currency(), now)?;
            let legs = [Leg::Single {
                debit: merchant.id,
                credit: funding.id,
                amount_minor: amount.value_minor(),
                code: "payout".into(),
                reference: id.clone(),
            }];
            let ids = ledger::apply(tx, now, &legs)?.map_err(|e| CoreError::Invalid(e.to_string()))?;
            ids.first()
                .copied()
                .ok_or_else(|| CoreError::Invariant("no transfer id".into()))
        })
        .await
    }

    /// Every account with its sums.
    pub async fn accounts(&self) -> Result<Vec<Account>, CoreError> {
        self.read(|_, tx| Ok(tx.list_accounts()?)).await
    }

    /// The accounts of one owner.
    pub async fn accounts_of(&self, kind: AccountKind, owner_id: &str) -> Result<Vec<Account>, CoreError> {
        let owner = owner_id.to_owned();
        self.read(move |_, tx| Ok(tx.list_accounts_of(kind, &owner)?))
            .await
    }

    /// Checks the ledger invariants (see [`ledger::verify`]).
    pub async fn verify(&self) -> Result<VerifyReport, CoreError> {
        self.read(|_, tx| ledger::verify(tx)).await
    }

    // ---- payments ----

    pub async fn pay(&self, cmd: PayCommand) -> Result<PayOutcome, CoreError> {
        self.write(move |ctx, tx| payments::pay(ctx, tx, &cmd)).await
    }

    pub async fn inquire_payment(
        &self,
        client_id: &str,
        r: PaymentRef,
    ) -> Result<Option<Payment>, CoreError> {
        let client = client_id.to_owned();
        self.read(move |_, tx| payments::find(tx, &client, &r)).await
    }

    pub async fn get_payment(&self, payment_id: &str) -> Result<Option<Payment>, CoreError> {
        let id = payment_id.to_owned();
        self.read(move |_, tx| Ok(tx.get_payment(&id)?)).await
    }

    pub async fn list_payments(
        &self,
        client_id: Option<String>,
        limit: u32,
    ) -> Result<Vec<Payment>, CoreError> {
        self.read(move |_, tx| Ok(tx.list_payments(client_id.as_deref(), limit)?))
            .await
    }

    pub async fn cancel_payment(
        &self,
        client_id: &str,
        partner_id: Option<String>,
        r: PaymentRef,
    ) -> Result<CancelOutcome, CoreError> {
        let client = client_id.to_owned();
        self.write(move |ctx, tx| payments::cancel(ctx, tx, &client, partner_id.as_deref(), &r))
            .await
    }

    /// The user approves the payment (cashier "Pay", or `admin payment confirm`).
    pub async fn confirm_payment(
        &self,
        payment_id: &str,
        user_id: &str,
    ) -> Result<ApprovalOutcome, CoreError> {
        let (p, u) = (payment_id.to_owned(), user_id.to_owned());
        // ---- store API: a payment naming a store order settles it in this transaction ----
        self.write(move |ctx, tx| crate::store::confirm_payment(ctx, tx, &p, &u))
            .await
    }

    /// The user declines the payment; it fails with `reason`.
    pub async fn decline_payment(
        &self,
        payment_id: &str,
        reason: &str,
    ) -> Result<ApprovalOutcome, CoreError> {
        let (p, r) = (payment_id.to_owned(), reason.to_owned());
        self.write(move |ctx, tx| payments::decline(ctx, tx, &p, &r))
            .await
    }

    /// Fails payments whose expiry passed; returns how many. Call it periodically and at start.
    pub async fn expire_due(&self, limit: u32) -> Result<usize, CoreError> {
        self.write(move |ctx, tx| payments::expire_due(ctx, tx, limit))
            .await
    }

    // ---- refunds ----

    pub async fn refund(&self, cmd: RefundCommand) -> Result<RefundOutcome, CoreError> {
        self.write(move |ctx, tx| refunds::refund(ctx, tx, &cmd)).await
    }

    pub async fn inquire_refund(&self, client_id: &str, r: RefundRef) -> Result<Option<Refund>, CoreError> {
        let client = client_id.to_owned();
        self.read(move |_, tx| refunds::find_refund(tx, &client, &r))
            .await
    }

    // ---- outbox ----

    /// Takes up to `limit` due notifications and leases them for `lease_secs`.
    pub async fn claim_notifications(
        &self,
        lease_secs: i64,
        limit: u32,
    ) -> Result<Vec<OutboxEntry>, CoreError> {
        self.write(move |ctx, tx| {
            let now = ctx.now();
            Ok(tx.claim_outbox(now, now + Duration::seconds(lease_secs), limit)?)
        })
        .await
    }

    /// Records one delivery attempt. `next_attempt_at` is when to try again; `None` with an
    /// undelivered attempt marks the notification failed (the schedule is spent).
    pub async fn record_attempt(
        &self,
        id: &str,
        attempt: Attempt,
        next_attempt_at: Option<DateTime<Utc>>,
    ) -> Result<OutboxEntry, CoreError> {
        let id = id.to_owned();
        self.write(move |_, tx| {
            let mut e = tx
                .get_outbox(&id)?
                .ok_or_else(|| CoreError::NotFound(format!("notification {id}")))?;
            e.status = if attempt.delivered {
                OutboxStatus::Delivered
            } else if next_attempt_at.is_some() {
                OutboxStatus::Pending
            } else {
                OutboxStatus::Failed
            };
            if let Some(t) = next_attempt_at {
                e.next_attempt_at = t;
            }
            e.lease_until = None;
            e.attempts.push(attempt.clone());
            tx.update_outbox(&e)?;
            Ok(e)
        })
        .await
    }

    pub async fn get_notification(&self, id: &str) -> Result<Option<OutboxEntry>, CoreError> {
        let id = id.to_owned();
        self.read(move |_, tx| Ok(tx.get_outbox(&id)?)).await
    }

    pub async fn list_notifications(&self, limit: u32) -> Result<Vec<OutboxEntry>, CoreError> {
        self.read(move |_, tx| Ok(tx.list_outbox(limit)?)).await
    }

    /// Puts a notification back in the queue, due now (an operator's resend).
    pub async fn resend_notification(&self, id: &str) -> Result<OutboxEntry, CoreError> {
        let id = id.to_owned();
        self.write(move |ctx, tx| {
            let mut e = tx
                .get_outbox(&id)?
                .ok_or_else(|| CoreError::NotFound(format!("notification {id}")))?;
            e.status = OutboxStatus::Pending;
            e.next_attempt_at = ctx.now();
            e.lease_until = None;
            tx.update_outbox(&e)?;
            Ok(e)
        })
        .await
    }

    /// Whether this node can serve: the database answers a query, the schema is the one this build
    /// knows, and a write commits (a short-lived one-time value, purged by the expiry sweep).
    /// The error says which part failed.
    pub async fn readiness(&self) -> Result<(), CoreError> {
        let (database, known) = self
            .read(|_ctx, tx| {
                tx.get_client("")?;
                tx.schema_versions().map_err(CoreError::from)
            })
            .await?;
        if database != known {
            return Err(CoreError::Invariant(format!(
                "the database schema is version {database}, this walletd runs on version {known}"
            )));
        }
        let probe = self.ids().random_hex(16);
        self.claim_once("readiness", &probe, 1).await.map(|_| ())
    }

    /// Records a one-time value for `ttl_secs`; false if it was seen and has not expired.
    pub async fn claim_once(&self, scope: &str, value: &str, ttl_secs: i64) -> Result<bool, CoreError> {
        let (s, v) = (scope.to_owned(), value.to_owned());
        self.write(move |ctx, tx| {
            let now = ctx.now();
            tx.claim_once(&s, &v, now + Duration::seconds(ttl_secs), now)
                .map_err(CoreError::from)
        })
        .await
    }
}

/// Convenience for tests and the CLI: the outcome's payment, if any.
pub fn approval_payment(o: &ApprovalOutcome) -> &Payment {
    match o {
        ApprovalOutcome::Done(p) | ApprovalOutcome::Refused { payment: p, .. } => p,
    }
}
