//! The narrow storage seam.
//!
//! [`Tx`] is one open transaction with typed record operations and no business rules. The domain
//! logic (ledger, payments, refunds) is written once, as closures over `&mut dyn Tx`, and a
//! [`Storage`] backend runs each closure inside one transaction of its backend:
//!
//! * SQLite ([`sqlite::SqliteStorage`]): one writer thread that batches queued closures into one
//!   transaction (a savepoint each), so a durable commit is paid once per batch; reader threads
//!   for read-only work.
//! * PostgreSQL: the same `Tx` on a pool of connections; `lock_accounts` takes `FOR UPDATE` row
//!   locks in id order, `claim_outbox` uses `FOR UPDATE SKIP LOCKED`; a closure may be run again
//!   after a serialization failure, which is why jobs are `FnMut`.
//!
//! Architecture invariant: a closure either commits everything it wrote or nothing.
//!
//! # Where things are
//!
//! `Tx` is the sum of one trait per record kind, declared here ([`PaymentRecords`],
//! [`RefundRecords`], …). Each backend implements each of them in a file named after the kind:
//! the refund queries on PostgreSQL are in `postgres/refunds.rs`, on SQLite in
//! `sqlite/refunds.rs`. A backend's `mod.rs` holds its engine (connections, threads, migrations,
//! retries) and its row helpers; `shared.rs` holds what both backends store the same way.
//!
//! # Lock order
//!
//! SQLite has one writer, so write jobs never wait on each other's rows. On PostgreSQL a write
//! transaction takes its row locks in this order, and a new command must keep to it so that two
//! nodes never deadlock:
//!
//! 1. the record the command changes: the payment (a `get_payment` in a write job locks the row),
//!    or the store order, code, token, grant or operator;
//! 2. the merchant client's row ([`PaymentRecords::lock_daily_total`] with [`DailyParty::Client`]);
//! 3. the user's row (`lock_daily_total` with [`DailyParty::User`], `get_user`);
//! 4. the ledger accounts, all at once in ascending id order ([`LedgerRecords::lock_accounts`],
//!    called by `ledger::apply`);
//! 5. new rows (payments, idempotency keys, transfers, refunds, captures, outbox entries), whose
//!    unique indexes make a second node inserting the same key wait for the first to commit.
//!
//! One exception, deliberate: cancelling a store order locks the order, then the wallet payments
//! that paid towards it, where confirming such a payment locks the payment, then the order. The
//! two can deadlock on PostgreSQL; the database breaks it and the losing job runs again (a deadlock
//! is a transient failure), so the cost is a retry, never a wrong result.
//!
//! Background work (the outbox, the expiry sweep, the purges of spent codes and one-time values)
//! claims its rows with `FOR UPDATE SKIP LOCKED`, so it never queues behind a request on them, and
//! then keeps to the same order.

pub mod sqlite;
// ---- PostgreSQL backend and dumps ----
pub mod dump;
pub mod postgres;
mod shared;

use crate::error::{CoreError, StorageError};
use crate::model::agent::AgentGrant;
use crate::model::captures::Capture;
use crate::model::idempotency::IdempotencyRecord;
use crate::model::ledger::{Account, AccountId, AccountKind, NewAccount, Transfer, TransferId};
use crate::model::oauth::{AuthCode, PaymentCode, TokenRecord};
use crate::model::operators::{AuditEntry, Operator, PaymentSearch};
use crate::model::outbox::OutboxEntry;
use crate::model::parties::{Client, User};
use crate::model::payments::Payment;
use crate::model::refunds::Refund;
use crate::model::store::{StoreConfig, StoreKey, StoreOrder, StoreProduct, StoreUser};
use chrono::{DateTime, NaiveDate, Utc};
use std::any::Any;
use walletd_protocol::Currency;

/// Jobs that may wait for the database in one queue (SQLite's writer, its readers, PostgreSQL's
/// pool). Beyond it a job is refused at once with [`StorageError::Busy`].
pub const QUEUED_JOBS: usize = 4096;

/// Merchant clients and wallet users, each stored as a JSON document next to its queried columns.
pub trait PartyRecords {
    fn insert_client(&mut self, client: &Client) -> Result<(), StorageError>;
    fn update_client(&mut self, client: &Client) -> Result<(), StorageError>;
    fn get_client(&mut self, client_id: &str) -> Result<Option<Client>, StorageError>;
    fn find_client_by_partner(&mut self, partner_id: &str) -> Result<Option<Client>, StorageError>;
    fn list_clients(&mut self) -> Result<Vec<Client>, StorageError>;
    fn insert_user(&mut self, user: &User) -> Result<(), StorageError>;
    fn update_user(&mut self, user: &User) -> Result<(), StorageError>;
    fn get_user(&mut self, user_id: &str) -> Result<Option<User>, StorageError>;
    fn get_user_by_login(&mut self, login: &str) -> Result<Option<User>, StorageError>;
    fn list_users(&mut self) -> Result<Vec<User>, StorageError>;
    /// Merchant clients with id greater than `after`, ascending, at most `limit`.
    fn list_clients_page(&mut self, after: &str, limit: u32) -> Result<Vec<Client>, StorageError>;
    /// Wallet users with id greater than `after`, ascending, at most `limit`.
    fn list_users_page(&mut self, after: &str, limit: u32) -> Result<Vec<User>, StorageError>;
}

/// Ledger accounts (with their running sums) and immutable transfers, as plain columns.
pub trait LedgerRecords {
    fn insert_account(&mut self, account: &NewAccount) -> Result<Account, StorageError>;
    fn find_account(
        &mut self,
        kind: AccountKind,
        owner_id: &str,
        currency: Currency,
    ) -> Result<Option<Account>, StorageError>;
    /// Reads the accounts with these ids (given sorted ascending), locking them for the rest of the
    /// transaction where the backend has row locks. Missing ids are simply absent from the result.
    fn lock_accounts(&mut self, ids: &[AccountId]) -> Result<Vec<Account>, StorageError>;
    fn update_account_balances(&mut self, account: &Account) -> Result<(), StorageError>;
    fn list_accounts(&mut self) -> Result<Vec<Account>, StorageError>;
    fn list_accounts_of(&mut self, kind: AccountKind, owner_id: &str) -> Result<Vec<Account>, StorageError>;
    /// Stores a transfer (its `id` field is ignored) and returns the id it got.
    fn insert_transfer(&mut self, transfer: &Transfer) -> Result<TransferId, StorageError>;
    fn get_transfer(&mut self, id: TransferId) -> Result<Option<Transfer>, StorageError>;
    /// The post or void transfer that resolved `pending_id`, if any.
    fn find_resolution(&mut self, pending_id: TransferId) -> Result<Option<Transfer>, StorageError>;
    /// Transfers with id greater than `after`, ascending, at most `limit`.
    fn list_transfers(&mut self, after: TransferId, limit: u32) -> Result<Vec<Transfer>, StorageError>;
    /// Transfers created in `[from, to)` with id greater than `after`, ascending id, at most
    /// `limit`. Served by the `transfers_created` index: the cost is that of the period, never of
    /// the whole history.
    fn list_transfers_created(
        &mut self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        after: TransferId,
        limit: u32,
    ) -> Result<Vec<Transfer>, StorageError>;
    /// The ledger transfers whose reference is `reference` (a payment, refund or capture id),
    /// ascending, at most `limit`.
    fn list_transfers_by_reference(
        &mut self,
        reference: &str,
        limit: u32,
    ) -> Result<Vec<Transfer>, StorageError>;
}

/// Payments, the running daily totals the limits read, and the console's payment search.
pub trait PaymentRecords {
    fn insert_payment(&mut self, payment: &Payment) -> Result<(), StorageError>;
    fn update_payment(&mut self, payment: &Payment) -> Result<(), StorageError>;
    fn get_payment(&mut self, payment_id: &str) -> Result<Option<Payment>, StorageError>;
    fn get_payment_by_request(
        &mut self,
        client_id: &str,
        payment_request_id: &str,
    ) -> Result<Option<Payment>, StorageError>;
    /// Payments still PROCESSING whose expiry time is at or before `now`, oldest first.
    fn list_expired_payments(&mut self, now: DateTime<Utc>, limit: u32)
        -> Result<Vec<Payment>, StorageError>;
    /// What `party_id` paid (a user) or took (a merchant client) in `currency` on the UTC `day`,
    /// in minor units: the running total of its payments created that day that hold or took money
    /// (a user: PROCESSING with it as payer, or SUCCESS; a client: SUCCESS, or PROCESSING with a
    /// payer). The storage keeps the total in the transaction that changes a payment, so this is one
    /// point lookup.
    fn daily_total(
        &mut self,
        party: DailyParty,
        party_id: &str,
        currency: Currency,
        day: NaiveDate,
    ) -> Result<i64, StorageError>;
    /// Before reading a daily total that this transaction is about to add to: makes concurrent
    /// transactions of the same party that do the same wait for this one (a row lock on a shared
    /// database; nothing on SQLite, where one writer runs every write job in turn). A check that
    /// adds nothing (a cashier payment before it has a payer) does not take it, so a merchant's
    /// unpaid orders do not queue behind each other.
    fn lock_daily_total(&mut self, _party: DailyParty, _party_id: &str) -> Result<(), StorageError> {
        Ok(())
    }
    fn list_payments(&mut self, client_id: Option<&str>, limit: u32) -> Result<Vec<Payment>, StorageError>;
    /// How many payments have `status`, counting at most `cap` (an index range of at most `cap`).
    fn count_payments_with_status(&mut self, status: &str, cap: u32) -> Result<u64, StorageError>;
    /// Payments matching `search` (its `payment_id` is ignored), newest first on
    /// `(created_at, payment_id)`, after the keyset `search.before`, at most `limit`. Served by an
    /// index on each filter column followed by `(created_at, payment_id)`.
    fn search_payments(&mut self, search: &PaymentSearch, limit: u32) -> Result<Vec<Payment>, StorageError>;
}

/// Refunds (only successful ones are stored).
pub trait RefundRecords {
    fn insert_refund(&mut self, refund: &Refund) -> Result<(), StorageError>;
    fn get_refund(&mut self, refund_id: &str) -> Result<Option<Refund>, StorageError>;
    /// The latest refunds (of one client, if given), newest first, at most `limit`: read backwards
    /// along the ledger's `refund` transfers (ascending ids are posting order).
    fn list_refunds(&mut self, client_id: Option<&str>, limit: u32) -> Result<Vec<Refund>, StorageError>;
    fn get_refund_by_request(
        &mut self,
        client_id: &str,
        refund_request_id: &str,
    ) -> Result<Option<Refund>, StorageError>;
    /// The refunds of one payment, oldest first, at most `limit`.
    fn list_refunds_of_payment(&mut self, payment_id: &str, limit: u32) -> Result<Vec<Refund>, StorageError>;
}

/// Captures of authorizations.
pub trait CaptureRecords {
    /// Fails with [`StorageError::Duplicate`] if the capture id or `(client, captureRequestId)` is taken.
    fn insert_capture(&mut self, capture: &Capture) -> Result<(), StorageError>;
    fn get_capture(&mut self, capture_id: &str) -> Result<Option<Capture>, StorageError>;
    /// The captures of one payment, oldest first.
    fn list_captures(&mut self, payment_id: &str) -> Result<Vec<Capture>, StorageError>;
}

/// Claimed idempotency keys with the first outcome of their request.
pub trait IdempotencyRecords {
    fn get_idempotency(
        &mut self,
        scope: &str,
        client_id: &str,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StorageError>;
    /// Fails with [`StorageError::Duplicate`] if the key is taken.
    fn insert_idempotency(&mut self, record: &IdempotencyRecord) -> Result<(), StorageError>;
}

/// One-time values (AlphaPay nonces, store salts), each remembered until it expires.
pub trait OnceValues {
    /// Records a one-time value (an AlphaPay nonce, a store salt) in `scope` until `expires_at`.
    /// Returns false if the value is already recorded and not yet expired.
    fn claim_once(
        &mut self,
        scope: &str,
        value: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StorageError>;
    /// Deletes up to `limit` one-time values that expired at or before `now`; returns how many.
    fn purge_once_values(&mut self, now: DateTime<Utc>, limit: u32) -> Result<usize, StorageError>;
}

/// The notification outbox: one row per notification, claimed with a lease by the notifier.
pub trait OutboxRecords {
    fn insert_outbox(&mut self, entry: &OutboxEntry) -> Result<(), StorageError>;
    fn update_outbox(&mut self, entry: &OutboxEntry) -> Result<(), StorageError>;
    fn get_outbox(&mut self, id: &str) -> Result<Option<OutboxEntry>, StorageError>;
    /// Pending entries due at `now` whose lease (if any) has run out; each gets `lease_until` set
    /// in this transaction so no other worker takes it meanwhile.
    fn claim_outbox(
        &mut self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<OutboxEntry>, StorageError>;
    fn list_outbox(&mut self, limit: u32) -> Result<Vec<OutboxEntry>, StorageError>;
    /// How many outbox entries have `status`, counting at most `cap` (the cost stays bounded: an
    /// index range of at most `cap` rows), and the earliest `next_attempt_at` among them.
    fn outbox_status_summary(
        &mut self,
        status: &str,
        cap: u32,
    ) -> Result<(u64, Option<DateTime<Utc>>), StorageError>;
    /// The notifications about one payment or refund, oldest first, at most `limit`.
    fn list_outbox_of_subject(
        &mut self,
        subject_id: &str,
        limit: u32,
    ) -> Result<Vec<OutboxEntry>, StorageError>;
}

/// OAuth auth codes, token pairs and payment codes.
///
/// Codes and tokens are looked up by their SHA-256 (`crate::oauth::hash_secret`). A `get`/`find`
/// in a write transaction locks the row where the backend has row locks, so a code or a refresh
/// token can be spent only once even by two nodes at the same moment.
pub trait OAuthRecords {
    fn insert_auth_code(&mut self, code: &AuthCode) -> Result<(), StorageError>;
    fn get_auth_code(&mut self, code_hash: &str) -> Result<Option<AuthCode>, StorageError>;
    fn update_auth_code(&mut self, code: &AuthCode) -> Result<(), StorageError>;
    fn insert_token(&mut self, token: &TokenRecord) -> Result<(), StorageError>;
    fn update_token(&mut self, token: &TokenRecord) -> Result<(), StorageError>;
    fn find_token_by_access(&mut self, access_hash: &str) -> Result<Option<TokenRecord>, StorageError>;
    fn find_token_by_refresh(&mut self, refresh_hash: &str) -> Result<Option<TokenRecord>, StorageError>;
    /// The newest token pairs `user_id` granted `client_id`, newest first, at most `limit` (an
    /// index range: the cost does not grow with the pairs refreshes left behind).
    fn list_newest_tokens_of_user(
        &mut self,
        user_id: &str,
        client_id: &str,
        limit: u32,
    ) -> Result<Vec<TokenRecord>, StorageError>;
    /// Every token pair `user_id` granted (to `client_id` only, if given), in creation order.
    fn list_tokens_of_user(
        &mut self,
        user_id: &str,
        client_id: Option<&str>,
    ) -> Result<Vec<TokenRecord>, StorageError>;
    fn insert_payment_code(&mut self, code: &PaymentCode) -> Result<(), StorageError>;
    fn get_payment_code(&mut self, code_hash: &str) -> Result<Option<PaymentCode>, StorageError>;
    fn update_payment_code(&mut self, code: &PaymentCode) -> Result<(), StorageError>;
    /// Deletes at most `limit` auth codes and at most `limit` payment codes that expired before
    /// `before`; returns how many rows went.
    fn purge_spent_codes(&mut self, before: DateTime<Utc>, limit: u32) -> Result<usize, StorageError>;
}

/// Agent grants: an ISV client acting for a merchant client (tokens only as SHA-256).
pub trait AgentGrantRecords {
    /// Fails with [`StorageError::Duplicate`] if the grant id or token hash is taken.
    fn insert_agent_grant(&mut self, grant: &AgentGrant) -> Result<(), StorageError>;
    fn update_agent_grant(&mut self, grant: &AgentGrant) -> Result<(), StorageError>;
    fn get_agent_grant(&mut self, grant_id: &str) -> Result<Option<AgentGrant>, StorageError>;
    fn find_agent_grant_by_token(&mut self, token_hash: &str) -> Result<Option<AgentGrant>, StorageError>;
    /// The newest grants first, at most `limit`.
    fn list_agent_grants(&mut self, limit: u32) -> Result<Vec<AgentGrant>, StorageError>;
}

/// Console operators and the audit log.
pub trait OperatorRecords {
    /// Fails with [`StorageError::Duplicate`] if the name is taken.
    fn insert_operator(&mut self, operator: &Operator) -> Result<(), StorageError>;
    fn update_operator(&mut self, operator: &Operator) -> Result<(), StorageError>;
    /// In a write transaction the row is locked where the backend has row locks.
    fn get_operator(&mut self, name: &str) -> Result<Option<Operator>, StorageError>;
    fn list_operators(&mut self) -> Result<Vec<Operator>, StorageError>;
    /// True if an operator of that name was there.
    fn delete_operator(&mut self, name: &str) -> Result<bool, StorageError>;
    /// Appends to the audit log; returns the entry's id.
    fn insert_audit(&mut self, entry: &AuditEntry) -> Result<i64, StorageError>;
    /// Audit entries newest first, with id below `before` if given, at most `limit`.
    fn list_audit(&mut self, before: Option<i64>, limit: u32) -> Result<Vec<AuditEntry>, StorageError>;
}

/// The store API's records: store settings, keys, products, store users with their carts, orders.
pub trait StoreApiRecords {
    /// Inserts or replaces the settings of `config.client_id`.
    fn put_store_config(&mut self, config: &StoreConfig) -> Result<(), StorageError>;
    fn get_store_config(&mut self, client_id: &str) -> Result<Option<StoreConfig>, StorageError>;
    /// Fails with [`StorageError::Duplicate`] if the key id is taken.
    fn insert_store_key(&mut self, key: &StoreKey) -> Result<(), StorageError>;
    fn update_store_key(&mut self, key: &StoreKey) -> Result<(), StorageError>;
    fn get_store_key(&mut self, key_id: &str) -> Result<Option<StoreKey>, StorageError>;
    /// Keys of one client (or all), oldest first.
    fn list_store_keys(&mut self, client_id: Option<&str>) -> Result<Vec<StoreKey>, StorageError>;
    /// Stores a product (its `product_id` is ignored) and returns it with the id it got.
    fn insert_store_product(&mut self, product: &StoreProduct) -> Result<StoreProduct, StorageError>;
    fn get_store_product(
        &mut self,
        client_id: &str,
        product_id: i64,
    ) -> Result<Option<StoreProduct>, StorageError>;
    fn list_store_products(&mut self, client_id: &str) -> Result<Vec<StoreProduct>, StorageError>;
    /// Inserts or replaces the store user `(client_id, iq)`.
    fn put_store_user(&mut self, user: &StoreUser) -> Result<(), StorageError>;
    fn get_store_user(&mut self, client_id: &str, iq: i64) -> Result<Option<StoreUser>, StorageError>;
    fn list_store_users(&mut self, client_id: &str) -> Result<Vec<StoreUser>, StorageError>;
    /// Stores an order (its `order_id` is ignored) and returns it with the id it got. At most one
    /// current order per store user: a second fails with [`StorageError::Duplicate`].
    fn insert_store_order(&mut self, order: &StoreOrder) -> Result<StoreOrder, StorageError>;
    fn update_store_order(&mut self, order: &StoreOrder) -> Result<(), StorageError>;
    fn get_store_order(&mut self, client_id: &str, order_id: i64)
        -> Result<Option<StoreOrder>, StorageError>;
    /// The user's order with status current, if any.
    fn find_current_store_order(
        &mut self,
        client_id: &str,
        iq: i64,
    ) -> Result<Option<StoreOrder>, StorageError>;
    /// The user's orders, newest first, at most `limit`.
    fn list_store_orders(
        &mut self,
        client_id: &str,
        iq: i64,
        limit: u32,
    ) -> Result<Vec<StoreOrder>, StorageError>;
}

/// One open transaction. Every method is a plain record operation.
pub trait Tx:
    PartyRecords
    + LedgerRecords
    + PaymentRecords
    + RefundRecords
    + CaptureRecords
    + IdempotencyRecords
    + OnceValues
    + OutboxRecords
    + OAuthRecords
    + AgentGrantRecords
    + OperatorRecords
    + StoreApiRecords
{
    /// The schema version of the database, and the one this build knows (they differ when another
    /// node has migrated the database to a newer walletd, or nobody has migrated it yet).
    fn schema_versions(&mut self) -> Result<(usize, usize), StorageError>;

    /// Announces point reads the job is about to make. A backend that pays a round trip per
    /// statement (PostgreSQL) sends them together and answers each announced read from what came
    /// back, but only until the job sends any other statement: after a write or a lock every read
    /// goes to the database again. None of the announced reads locks anything, so answering one a
    /// moment early is the same as the job having made it a moment early. By default, nothing.
    fn read_ahead(&mut self, reads: &[ReadAhead<'_>]) -> Result<(), StorageError> {
        let _ = reads;
        Ok(())
    }
}

/// A point read announced with [`Tx::read_ahead`]: the arguments of the read it stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadAhead<'a> {
    /// [`IdempotencyRecords::get_idempotency`].
    Idempotency {
        scope: &'a str,
        client_id: &'a str,
        key: &'a str,
    },
    /// [`PartyRecords::get_client`].
    Client(&'a str),
    /// [`PaymentRecords::daily_total`].
    DailyTotal {
        party: DailyParty,
        party_id: &'a str,
        currency: Currency,
        day: NaiveDate,
    },
}

/// A unit of work: runs inside one transaction, returns a boxed result.
pub type Job = Box<dyn FnMut(&mut dyn Tx) -> Result<Box<dyn Any + Send>, CoreError> + Send>;

/// Whose daily total [`Tx::daily_total`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DailyParty {
    /// A user, as the payer.
    User,
    /// A merchant client, as the payee.
    Client,
}

impl DailyParty {
    /// The `party` column of `daily_totals`.
    pub fn as_str(self) -> &'static str {
        match self {
            DailyParty::User => "user",
            DailyParty::Client => "client",
        }
    }
}

/// Whether a job writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

/// The answer channel of a submitted job.
pub type JobReply = tokio::sync::oneshot::Receiver<Result<Box<dyn Any + Send>, CoreError>>;

/// Watches the storage's commits for the operators' metrics (the server implements it; core depends
/// on no metrics crate and reads no clock for it).
pub trait StorageObserver: Send + Sync + 'static {
    /// A write transaction of `jobs` jobs is about to commit durably. The returned value is dropped
    /// once the commit returned, so the observer can time the commit with its own clock.
    fn commit_started(&self, jobs: usize) -> Box<dyn Send>;
}

/// Running figures of a storage backend: the observer of its commits and how many of its database
/// connections are running a transaction right now.
#[derive(Default)]
pub struct StorageStats {
    observer: std::sync::RwLock<Option<std::sync::Arc<dyn StorageObserver>>>,
    in_use: std::sync::atomic::AtomicUsize,
}

impl StorageStats {
    /// Sets who is told about commits (replaces an earlier observer).
    pub fn observe(&self, observer: std::sync::Arc<dyn StorageObserver>) {
        if let Ok(mut o) = self.observer.write() {
            *o = Some(observer);
        }
    }

    /// See [`StorageObserver::commit_started`]; `None` when nobody watches.
    pub fn commit_started(&self, jobs: usize) -> Option<Box<dyn Send>> {
        let observer = self.observer.read().ok()?.clone()?;
        Some(observer.commit_started(jobs))
    }

    /// Counts a connection as in use until the guard is dropped.
    pub fn connection_in_use(&self) -> ConnectionInUse<'_> {
        self.in_use.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        ConnectionInUse(self)
    }

    /// Database connections running a transaction right now.
    pub fn connections_in_use(&self) -> usize {
        self.in_use.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// See [`StorageStats::connection_in_use`].
pub struct ConnectionInUse<'a>(&'a StorageStats);

impl Drop for ConnectionInUse<'_> {
    fn drop(&mut self) {
        self.0.in_use.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// A storage backend that runs jobs in transactions.
pub trait Storage: Send + Sync + 'static {
    /// Queues `job`; the reply arrives once its transaction committed (or rolled back).
    fn submit(&self, access: Access, job: Job) -> JobReply;
    /// A short name for logs (`sqlite`, `postgres`).
    fn backend_name(&self) -> &'static str;
    /// Its running figures, where the backend keeps them.
    fn stats(&self) -> Option<&StorageStats> {
        None
    }
}

/// Runs `f` in one transaction of `storage` and returns its typed result.
pub async fn transact<R, F>(storage: &dyn Storage, access: Access, mut f: F) -> Result<R, CoreError>
where
    R: Send + 'static,
    F: FnMut(&mut dyn Tx) -> Result<R, CoreError> + Send + 'static,
{
    let job: Job = Box::new(move |tx| f(tx).map(|r| Box::new(r) as Box<dyn Any + Send>));
    let reply = storage.submit(access, job);
    let boxed = reply
        .await
        .map_err(|_| CoreError::Storage(StorageError::Stopped))??;
    boxed
        .downcast::<R>()
        .map(|b| *b)
        .map_err(|_| CoreError::Invariant("storage job returned an unexpected type".into()))
}

#[cfg(test)]
mod migration_list {
    use sha2::{Digest, Sha256};

    /// SHA-256 of each released migration, SQLite then PostgreSQL, in order. A database may have
    /// applied any of them already, so they never change: a schema change is a new migration,
    /// added to both backends and to the end of these lists.
    const SQLITE: &[&str] = &[
        "2919b233833418014c4353936d611c04bd9d425309a2654b68f8c1c504fc40c2",
        "6f2e70c395fa4dacce7784abc125d2d45046f85940877906894533b52fbbbcb6",
        "39881c44bb741ef038f570e390e251ad7e3a1cd76d7dd18f96e944177e82715d",
        "a0beec4ab127a9880fc03f700cd1d271b52611ebc7228af9ee41725f00d230e1",
        "53e4a4961d1ca545270f3c5729d471192285511582805cc7ebffd5df98cf5cd3",
        "ca8fa8b12dfff429936771d7d35b0cd01e8836ba25ab4a6f11ff7c0cac6d6870",
        "912091657b027f01dbdb5ab93a9d382a6d0d35c7dfb5d91d869bea5ce6a87cd0",
        "09cf687633fddbc1fa29bd8bb29a1bd7dd1c636dd9a72e0da085e64b138c997b",
    ];
    const POSTGRES: &[&str] = &[
        "c57fe340da0c2abc391eb3cff873c566b0c10c3cb2a62e9968cd730f1d08f46b",
        "e826f2c06b9d18055c361f85808f36b142641d4f8125ac471c36066d70c236f2",
        "f1cf3670854f937c92cf306c71762ae594ab63df7e08f14cd86c5c566893c762",
        "a0beec4ab127a9880fc03f700cd1d271b52611ebc7228af9ee41725f00d230e1",
        "6fba202a5ba4aa48bdd75553ab0dfbdeb0d69a137e8e23b5abe729c1339a7c89",
        "4f4b6cce2c12be67c3702f7f159e694749e6a0bb27a1bcbf157d1792c95e232e",
        "5c7d64104e556964af0dc13679d70c1ecefb48a668f4756926da74638de7b896",
        "09cf687633fddbc1fa29bd8bb29a1bd7dd1c636dd9a72e0da085e64b138c997b",
    ];

    fn digests(migrations: &[&str]) -> Vec<String> {
        migrations
            .iter()
            .map(|sql| hex::encode(Sha256::digest(sql.as_bytes())))
            .collect()
    }

    #[test]
    fn both_backends_have_one_migration_per_schema_version() {
        assert_eq!(
            super::sqlite::MIGRATIONS.len(),
            super::postgres::MIGRATIONS.len(),
            "a schema version means the same on both backends: add each migration to both"
        );
    }

    #[test]
    fn released_migrations_are_never_edited() {
        for (name, pinned, migrations) in [
            ("SQLite", SQLITE, super::sqlite::MIGRATIONS),
            ("PostgreSQL", POSTGRES, super::postgres::MIGRATIONS),
        ] {
            let now = digests(migrations);
            assert!(
                now.len() >= pinned.len(),
                "{name}: a released migration was removed"
            );
            for (i, (was, is)) in pinned.iter().zip(&now).enumerate() {
                assert_eq!(
                    was,
                    is,
                    "{name} migration {} was edited after release; add a new migration instead",
                    i + 1
                );
            }
            assert_eq!(
                now.len(),
                pinned.len(),
                "{name}: pin the new migrations here (in order): {:?}",
                &now[pinned.len()..]
            );
        }
    }
}
