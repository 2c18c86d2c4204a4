//! The embedded storage backend: one SQLite file in WAL mode.
//!
//! One writer thread owns the only writing connection. It takes every job waiting in its queue
//! (up to [`MAX_BATCH`]), runs them in one transaction with a savepoint each — a failed job rolls
//! back to its savepoint and leaves the others alone — and commits once. Answers are sent only
//! after the commit, so a caller never sees a result that could still be lost. Reader threads
//! serve read-only jobs from their own connections.

use super::shared::{currency, from_doc, to_doc, ACCOUNT_COLS, TRANSFER_COLS};
use super::{Access, DailyParty, Job, JobReply, Storage, Tx};
use crate::error::{CoreError, StorageError};
use crate::model::idempotency::{IdempotencyRecord, StoredOutcome};
use crate::model::ledger::{Account, AccountId, AccountKind, NewAccount, Transfer, TransferId, TransferKind};
use crate::model::operators::PaymentSearch;
use crate::model::outbox::OutboxEntry;
use crate::model::parties::{Client, User};
use crate::model::payments::Payment;
use crate::model::refunds::Refund;
use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Row};
use serde::de::DeserializeOwned;
use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use walletd_protocol::Currency;

// The record operations, one file per record kind.
mod agent;
mod captures;
mod idempotency;
mod ledger;
mod oauth;
mod once;
mod operators;
mod outbox;
mod parties;
mod payments;
mod refunds;
mod store;

/// The most jobs one group commit takes.
pub const MAX_BATCH: usize = 512;

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
pub(crate) const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE clients (
    client_id TEXT PRIMARY KEY,
    partner_id TEXT NOT NULL UNIQUE,
    doc TEXT NOT NULL
);
CREATE TABLE users (
    user_id TEXT PRIMARY KEY,
    login TEXT NOT NULL UNIQUE,
    doc TEXT NOT NULL
);
CREATE TABLE accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    currency TEXT NOT NULL,
    flags INTEGER NOT NULL,
    debits_pending INTEGER NOT NULL DEFAULT 0 CHECK (debits_pending >= 0),
    debits_posted INTEGER NOT NULL DEFAULT 0 CHECK (debits_posted >= 0),
    credits_pending INTEGER NOT NULL DEFAULT 0 CHECK (credits_pending >= 0),
    credits_posted INTEGER NOT NULL DEFAULT 0 CHECK (credits_posted >= 0),
    created_at TEXT NOT NULL,
    UNIQUE (kind, owner_id, currency)
);
CREATE TABLE transfers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    debit_account_id INTEGER NOT NULL REFERENCES accounts(id),
    credit_account_id INTEGER NOT NULL REFERENCES accounts(id),
    amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
    currency TEXT NOT NULL,
    pending_id INTEGER REFERENCES transfers(id),
    timeout_at TEXT,
    code TEXT NOT NULL,
    reference TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX transfers_one_resolution ON transfers(pending_id) WHERE pending_id IS NOT NULL;
CREATE TABLE payments (
    payment_id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    payment_request_id TEXT NOT NULL,
    status TEXT NOT NULL,
    payer_user_id TEXT,
    currency TEXT NOT NULL,
    amount_minor INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    doc TEXT NOT NULL,
    UNIQUE (client_id, payment_request_id)
);
CREATE INDEX payments_due ON payments(status, expires_at);
CREATE INDEX payments_payer ON payments(payer_user_id, currency, created_at);
CREATE INDEX payments_client ON payments(client_id, currency, created_at);
CREATE TABLE refunds (
    refund_id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    refund_request_id TEXT NOT NULL,
    payment_id TEXT NOT NULL,
    doc TEXT NOT NULL,
    UNIQUE (client_id, refund_request_id)
);
CREATE TABLE idempotency (
    scope TEXT NOT NULL,
    client_id TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    outcome TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (scope, client_id, key)
);
CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    next_attempt_at TEXT NOT NULL,
    lease_until TEXT,
    created_at TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
CREATE TABLE once_values (
    scope TEXT NOT NULL,
    value TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (scope, value)
);
"#,
    // ---- OAuth, payment codes and captures: secrets only as SHA-256 ----
    r#"
CREATE TABLE oauth_codes (
    code_hash TEXT PRIMARY KEY,
    expires_at TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX oauth_codes_expiry ON oauth_codes(expires_at);
CREATE TABLE oauth_tokens (
    token_id TEXT PRIMARY KEY,
    access_hash TEXT NOT NULL UNIQUE,
    refresh_hash TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX oauth_tokens_user ON oauth_tokens(user_id, client_id, created_at);
CREATE TABLE payment_codes (
    code_hash TEXT PRIMARY KEY,
    expires_at TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX payment_codes_expiry ON payment_codes(expires_at);
CREATE TABLE captures (
    capture_id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    capture_request_id TEXT NOT NULL,
    payment_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    doc TEXT NOT NULL,
    UNIQUE (client_id, capture_request_id)
);
CREATE INDEX captures_payment ON captures(payment_id, created_at);
"#,
    // ---- store API: store settings, keys, products, users with carts, orders ----
    r#"
CREATE TABLE store_configs (
    client_id TEXT PRIMARY KEY,
    doc TEXT NOT NULL
);
CREATE TABLE store_keys (
    key_id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX store_keys_client ON store_keys(client_id, created_at);
CREATE TABLE store_products (
    product_id INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX store_products_client ON store_products(client_id, product_id);
CREATE TABLE store_users (
    client_id TEXT NOT NULL,
    iq INTEGER NOT NULL,
    user_id TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (client_id, iq)
);
CREATE TABLE store_orders (
    order_id INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id TEXT NOT NULL,
    iq INTEGER NOT NULL,
    status TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX store_orders_user ON store_orders(client_id, iq, order_id);
CREATE UNIQUE INDEX store_orders_one_current ON store_orders(client_id, iq) WHERE status = 'current';
"#,
    // 4: expired one-time values (nonces, salts) are purged by the expiry sweep.
    r#"
CREATE INDEX once_values_expiry ON once_values(expires_at);
"#,
    // 5: running daily totals for the daily limits, so a limit check is one point lookup however
    // many payments the day already has. A payment counts for its payer ('user') while it has a
    // payer and is PROCESSING or SUCCESS, and for its merchant ('client') while it is SUCCESS, or
    // PROCESSING with a payer (money held); `day` is the UTC day the payment was created. The
    // triggers keep the totals in the transaction that changes the payment, whatever code path
    // changes it; the backfill counts what is already stored. The indexes that served the old
    // per-check SUMs go; a merchant's newest payments (admin listing) get one.
    r#"
DROP INDEX payments_payer;
DROP INDEX payments_client;
CREATE INDEX payments_client_recent ON payments(client_id, created_at, payment_id);
CREATE TABLE daily_totals (
    party TEXT NOT NULL,
    party_id TEXT NOT NULL,
    currency TEXT NOT NULL,
    day TEXT NOT NULL,
    total_minor INTEGER NOT NULL,
    PRIMARY KEY (party, party_id, currency, day)
) WITHOUT ROWID;
INSERT INTO daily_totals (party, party_id, currency, day, total_minor)
    SELECT 'user', payer_user_id, currency, substr(created_at, 1, 10), SUM(amount_minor) FROM payments
    WHERE payer_user_id IS NOT NULL AND status IN ('PROCESSING', 'SUCCESS')
    GROUP BY payer_user_id, currency, substr(created_at, 1, 10);
INSERT INTO daily_totals (party, party_id, currency, day, total_minor)
    SELECT 'client', client_id, currency, substr(created_at, 1, 10), SUM(amount_minor) FROM payments
    WHERE status = 'SUCCESS' OR (status = 'PROCESSING' AND payer_user_id IS NOT NULL)
    GROUP BY client_id, currency, substr(created_at, 1, 10);
CREATE TRIGGER daily_totals_user_add AFTER INSERT ON payments
    WHEN NEW.payer_user_id IS NOT NULL AND NEW.status IN ('PROCESSING', 'SUCCESS')
BEGIN
    INSERT INTO daily_totals VALUES ('user', NEW.payer_user_id, NEW.currency, substr(NEW.created_at, 1, 10), NEW.amount_minor)
        ON CONFLICT DO UPDATE SET total_minor = total_minor + excluded.total_minor;
END;
CREATE TRIGGER daily_totals_client_add AFTER INSERT ON payments
    WHEN NEW.status = 'SUCCESS' OR (NEW.status = 'PROCESSING' AND NEW.payer_user_id IS NOT NULL)
BEGIN
    INSERT INTO daily_totals VALUES ('client', NEW.client_id, NEW.currency, substr(NEW.created_at, 1, 10), NEW.amount_minor)
        ON CONFLICT DO UPDATE SET total_minor = total_minor + excluded.total_minor;
END;
CREATE TRIGGER daily_totals_user_update AFTER UPDATE ON payments
    WHEN (OLD.status IS NOT NEW.status OR OLD.payer_user_id IS NOT NEW.payer_user_id OR OLD.client_id IS NOT NEW.client_id
         OR OLD.currency IS NOT NEW.currency OR OLD.amount_minor IS NOT NEW.amount_minor OR OLD.created_at IS NOT NEW.created_at) AND ((OLD.payer_user_id IS NOT NULL AND OLD.status IN ('PROCESSING', 'SUCCESS'))
      OR (NEW.payer_user_id IS NOT NULL AND NEW.status IN ('PROCESSING', 'SUCCESS')))
BEGIN
    UPDATE daily_totals SET total_minor = total_minor - OLD.amount_minor
        WHERE OLD.payer_user_id IS NOT NULL AND OLD.status IN ('PROCESSING', 'SUCCESS')
        AND party = 'user' AND party_id = OLD.payer_user_id AND currency = OLD.currency
        AND day = substr(OLD.created_at, 1, 10);
    INSERT INTO daily_totals
        SELECT 'user', NEW.payer_user_id, NEW.currency, substr(NEW.created_at, 1, 10), NEW.amount_minor
        WHERE NEW.payer_user_id IS NOT NULL AND NEW.status IN ('PROCESSING', 'SUCCESS')
        ON CONFLICT DO UPDATE SET total_minor = total_minor + excluded.total_minor;
END;
CREATE TRIGGER daily_totals_client_update AFTER UPDATE ON payments
    WHEN (OLD.status IS NOT NEW.status OR OLD.payer_user_id IS NOT NEW.payer_user_id OR OLD.client_id IS NOT NEW.client_id
         OR OLD.currency IS NOT NEW.currency OR OLD.amount_minor IS NOT NEW.amount_minor OR OLD.created_at IS NOT NEW.created_at) AND (OLD.status = 'SUCCESS' OR (OLD.status = 'PROCESSING' AND OLD.payer_user_id IS NOT NULL)
      OR NEW.status = 'SUCCESS' OR (NEW.status = 'PROCESSING' AND NEW.payer_user_id IS NOT NULL))
BEGIN
    UPDATE daily_totals SET total_minor = total_minor - OLD.amount_minor
        WHERE (OLD.status = 'SUCCESS' OR (OLD.status = 'PROCESSING' AND OLD.payer_user_id IS NOT NULL))
        AND party = 'client' AND party_id = OLD.client_id AND currency = OLD.currency
        AND day = substr(OLD.created_at, 1, 10);
    INSERT INTO daily_totals
        SELECT 'client', NEW.client_id, NEW.currency, substr(NEW.created_at, 1, 10), NEW.amount_minor
        WHERE NEW.status = 'SUCCESS' OR (NEW.status = 'PROCESSING' AND NEW.payer_user_id IS NOT NULL)
        ON CONFLICT DO UPDATE SET total_minor = total_minor + excluded.total_minor;
END;
CREATE TRIGGER daily_totals_user_delete AFTER DELETE ON payments
    WHEN OLD.payer_user_id IS NOT NULL AND OLD.status IN ('PROCESSING', 'SUCCESS')
BEGIN
    UPDATE daily_totals SET total_minor = total_minor - OLD.amount_minor
        WHERE party = 'user' AND party_id = OLD.payer_user_id AND currency = OLD.currency
        AND day = substr(OLD.created_at, 1, 10);
END;
CREATE TRIGGER daily_totals_client_delete AFTER DELETE ON payments
    WHEN OLD.status = 'SUCCESS' OR (OLD.status = 'PROCESSING' AND OLD.payer_user_id IS NOT NULL)
BEGIN
    UPDATE daily_totals SET total_minor = total_minor - OLD.amount_minor
        WHERE party = 'client' AND party_id = OLD.client_id AND currency = OLD.currency
        AND day = substr(OLD.created_at, 1, 10);
END;
"#,
    // 6: agent grants (an ISV acting for a merchant); the token only as its SHA-256.
    r#"
CREATE TABLE agent_grants (
    grant_id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    isv_client_id TEXT NOT NULL,
    merchant_client_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX agent_grants_created ON agent_grants(created_at, grant_id);
"#,
    // 7: operator console: operators, the audit log, and indexes for its searches (each filter
    // column followed by the page key; the merchant's one replaces `payments_client_recent`), a
    // payment's refunds, notifications and transfers.
    r#"
CREATE TABLE operators (
    name TEXT PRIMARY KEY,
    doc TEXT NOT NULL
);
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    operator TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX payments_created ON payments(created_at, payment_id);
DROP INDEX payments_client_recent;
CREATE INDEX payments_client_created ON payments(client_id, created_at, payment_id);
CREATE INDEX payments_payer_created ON payments(payer_user_id, created_at, payment_id);
CREATE INDEX payments_status_created ON payments(status, created_at, payment_id);
CREATE INDEX payments_request ON payments(payment_request_id, created_at, payment_id);
CREATE INDEX refunds_payment ON refunds(payment_id);
CREATE INDEX transfers_reference ON transfers(reference, id);
ALTER TABLE outbox ADD COLUMN subject_id TEXT;
UPDATE outbox SET subject_id = json_extract(doc, '$.subject_id');
CREATE INDEX outbox_subject ON outbox(subject_id, created_at);
"#,
    // 8: the settlement report reads one day of transfers by creation time.
    r#"
CREATE INDEX IF NOT EXISTS transfers_created ON transfers(created_at);
"#,
];

impl From<rusqlite::Error> for StorageError {
    fn from(e: rusqlite::Error) -> Self {
        match e {
            rusqlite::Error::SqliteFailure(f, ref msg)
                if f.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                StorageError::Duplicate(msg.clone().unwrap_or_else(|| "constraint violated".into()))
            }
            other => StorageError::Backend(other.to_string()),
        }
    }
}

/// Time stamps are stored as fixed-width UTC text, so text order is time order.
fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn parse_ts(s: &str) -> Result<DateTime<Utc>, StorageError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StorageError::Corrupt(format!("time stamp {s:?}: {e}")))
}

struct Envelope {
    job: Job,
    reply: tokio::sync::oneshot::Sender<Result<Box<dyn Any + Send>, CoreError>>,
}

/// The SQLite storage backend.
pub struct SqliteStorage {
    writer: Mutex<mpsc::SyncSender<Envelope>>,
    readers: Mutex<mpsc::SyncSender<Envelope>>,
    queued_jobs: usize,
    stats: Arc<super::StorageStats>,
}

fn configure(conn: &Connection) -> Result<(), StorageError> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Statement journals (one per job savepoint in a group commit) and temporary b-trees stay in
    // memory: on disk, every page a job first touches inside its savepoint was written to a temp
    // file, several times the WAL's own writes.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // Every statement walletd runs stays prepared (there are about fifty); the default of 16
    // re-parsed statements whenever requests of different kinds interleaved.
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
    Ok(())
}

/// Prepared statements kept per connection.
const STATEMENT_CACHE_CAPACITY: usize = 128;

/// Runs a transaction-control statement (`BEGIN`, `SAVEPOINT`, `COMMIT`, …) from the statement
/// cache: the group commit runs two of them per job, and parsing each anew cost more than the
/// statement itself.
fn control(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.raw_execute().map(|_| ())
}

impl SqliteStorage {
    /// Opens (creating if needed) the database file at `path`, applies migrations and starts the
    /// writer and `readers` reader threads.
    pub fn open(path: &Path, readers: usize) -> Result<SqliteStorage, StorageError> {
        Self::open_with_queue(path, readers, super::QUEUED_JOBS)
    }

    /// Like [`SqliteStorage::open`], with at most `queued_jobs` jobs waiting in each queue.
    pub fn open_with_queue(
        path: &Path,
        readers: usize,
        queued_jobs: usize,
    ) -> Result<SqliteStorage, StorageError> {
        let queued_jobs = queued_jobs.max(1);
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // FULL: a commit is durable once it returns; group commit pays for it once per batch.
        conn.pragma_update(None, "synchronous", "FULL")?;
        // The writer touches the tail of every index on each commit: 16 MiB of pages (instead of
        // SQLite's 2 MiB) keeps those and the hot rows cached rather than read back each batch.
        conn.pragma_update(None, "cache_size", -16_384)?;
        configure(&conn)?;
        migrate(&mut conn)?;

        let stats = Arc::new(super::StorageStats::default());
        let (wtx, wrx) = mpsc::sync_channel::<Envelope>(queued_jobs);
        let writer_stats = stats.clone();
        std::thread::Builder::new()
            .name("walletd-sqlite-writer".into())
            .spawn(move || writer_loop(conn, wrx, &writer_stats))
            .map_err(|e| StorageError::Backend(e.to_string()))?;

        let (rtx, rrx) = mpsc::sync_channel::<Envelope>(queued_jobs);
        let rrx = Arc::new(Mutex::new(rrx));
        for i in 0..readers.max(1) {
            let conn = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX
                    | OpenFlags::SQLITE_OPEN_URI,
            )?;
            configure(&conn)?;
            let rrx = rrx.clone();
            let reader_stats = stats.clone();
            std::thread::Builder::new()
                .name(format!("walletd-sqlite-reader-{i}"))
                .spawn(move || reader_loop(conn, rrx, &reader_stats))
                .map_err(|e| StorageError::Backend(e.to_string()))?;
        }
        Ok(SqliteStorage {
            writer: Mutex::new(wtx),
            readers: Mutex::new(rtx),
            queued_jobs,
            stats,
        })
    }
}

fn migrate(conn: &mut Connection) -> Result<(), StorageError> {
    let done: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let done = usize::try_from(done).unwrap_or(0);
    if done > MIGRATIONS.len() {
        return Err(StorageError::Backend(format!(
            "the database has schema version {done}, newer than this walletd knows ({})",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(done) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

fn run_job(conn: &Connection, job: &mut Job) -> Result<Box<dyn Any + Send>, CoreError> {
    let mut tx = SqliteTx { conn };
    match catch_unwind(AssertUnwindSafe(|| job(&mut tx))) {
        Ok(r) => r,
        Err(_) => Err(CoreError::Invariant("a storage job panicked".into())),
    }
}

fn writer_loop(conn: Connection, rx: mpsc::Receiver<Envelope>, stats: &super::StorageStats) {
    while let Ok(first) = rx.recv() {
        let _in_use = stats.connection_in_use();
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(e) => batch.push(e),
                Err(_) => break,
            }
        }
        if let Err(e) = control(&conn, "BEGIN IMMEDIATE") {
            let msg = e.to_string();
            for env in batch {
                let _ = env
                    .reply
                    .send(Err(StorageError::Backend(format!("begin failed: {msg}")).into()));
            }
            continue;
        }
        let mut results = Vec::with_capacity(batch.len());
        for env in batch.iter_mut() {
            let result = match control(&conn, "SAVEPOINT job") {
                Err(e) => Err(StorageError::from(e).into()),
                Ok(()) => {
                    let r = run_job(&conn, &mut env.job);
                    let end = if r.is_ok() {
                        control(&conn, "RELEASE job")
                    } else {
                        control(&conn, "ROLLBACK TO job").and_then(|()| control(&conn, "RELEASE job"))
                    };
                    match end {
                        Ok(()) => r,
                        Err(e) => Err(StorageError::from(e).into()),
                    }
                }
            };
            results.push(result);
        }
        let timer = stats.commit_started(batch.len());
        let committed = control(&conn, "COMMIT");
        drop(timer);
        match committed {
            Ok(()) => {
                for (env, r) in batch.into_iter().zip(results) {
                    let _ = env.reply.send(r);
                }
            }
            Err(e) => {
                let _ = control(&conn, "ROLLBACK");
                let msg = e.to_string();
                for env in batch {
                    let _ = env
                        .reply
                        .send(Err(StorageError::Backend(format!("commit failed: {msg}")).into()));
                }
            }
        }
    }
}

fn reader_loop(conn: Connection, rx: Arc<Mutex<mpsc::Receiver<Envelope>>>, stats: &super::StorageStats) {
    loop {
        let next = {
            let guard = match rx.lock() {
                Ok(g) => g,
                Err(_) => return,
            };
            guard.recv()
        };
        let Ok(mut env) = next else { return };
        let _in_use = stats.connection_in_use();
        let r = match control(&conn, "BEGIN") {
            Err(e) => Err(StorageError::from(e).into()),
            Ok(()) => {
                let r = run_job(&conn, &mut env.job);
                let _ = control(&conn, "COMMIT");
                r
            }
        };
        let _ = env.reply.send(r);
    }
}

impl Storage for SqliteStorage {
    fn submit(&self, access: Access, job: Job) -> JobReply {
        let (reply, rx) = tokio::sync::oneshot::channel();
        let queue = match access {
            Access::Write => &self.writer,
            Access::Read => &self.readers,
        };
        let sent = queue.lock().map(|q| q.try_send(Envelope { job, reply }));
        match sent {
            Ok(Err(mpsc::TrySendError::Full(env))) => {
                let _ = env.reply.send(Err(StorageError::Busy(self.queued_jobs).into()));
            }
            Ok(Err(mpsc::TrySendError::Disconnected(env))) => {
                let _ = env.reply.send(Err(StorageError::Stopped.into()));
            }
            _ => {}
        }
        rx
    }

    fn backend_name(&self) -> &'static str {
        "sqlite"
    }

    fn stats(&self) -> Option<&super::StorageStats> {
        Some(&self.stats)
    }
}

struct SqliteTx<'c> {
    conn: &'c Connection,
}

fn account_row(r: &Row<'_>) -> rusqlite::Result<Result<Account, StorageError>> {
    let kind: String = r.get(1)?;
    let cur: String = r.get(3)?;
    let created: String = r.get(9)?;
    let flags: i64 = r.get(4)?;
    let (id, owner_id, dp, dpo, cp, cpo) = (r.get(0)?, r.get(2)?, r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?);
    Ok((|| {
        Ok(Account {
            id,
            kind: AccountKind::parse(&kind)
                .ok_or_else(|| StorageError::Corrupt(format!("account kind {kind:?}")))?,
            owner_id,
            currency: currency(&cur)?,
            flags: u32::try_from(flags).map_err(|_| StorageError::Corrupt("account flags".into()))?,
            debits_pending: dp,
            debits_posted: dpo,
            credits_pending: cp,
            credits_posted: cpo,
            created_at: parse_ts(&created)?,
        })
    })())
}

fn transfer_row(r: &Row<'_>) -> rusqlite::Result<Result<Transfer, StorageError>> {
    let kind: String = r.get(1)?;
    let cur: String = r.get(5)?;
    let timeout: Option<String> = r.get(7)?;
    let created: String = r.get(10)?;
    let (id, debit, credit, amount, pending_id, code, reference) = (
        r.get(0)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(6)?,
        r.get(8)?,
        r.get(9)?,
    );
    Ok((|| {
        Ok(Transfer {
            id,
            kind: TransferKind::parse(&kind)
                .ok_or_else(|| StorageError::Corrupt(format!("transfer kind {kind:?}")))?,
            debit_account_id: debit,
            credit_account_id: credit,
            amount_minor: amount,
            currency: currency(&cur)?,
            pending_id,
            timeout_at: timeout.as_deref().map(parse_ts).transpose()?,
            code,
            reference,
            created_at: parse_ts(&created)?,
        })
    })())
}

impl SqliteTx<'_> {
    fn one_doc<T: DeserializeOwned>(
        &self,
        sql: &str,
        args: impl rusqlite::Params,
    ) -> Result<Option<T>, StorageError> {
        let mut st = self.conn.prepare_cached(sql)?;
        let doc: Option<String> = st.query_row(args, |r| r.get(0)).optional()?;
        doc.as_deref().map(from_doc).transpose()
    }

    fn many_docs<T: DeserializeOwned>(
        &self,
        sql: &str,
        args: impl rusqlite::Params,
    ) -> Result<Vec<T>, StorageError> {
        let mut st = self.conn.prepare_cached(sql)?;
        let docs = st
            .query_map(args, |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        docs.iter().map(|d| from_doc(d)).collect()
    }

    fn accounts(&self, sql: &str, args: impl rusqlite::Params) -> Result<Vec<Account>, StorageError> {
        let mut st = self.conn.prepare_cached(sql)?;
        let rows = st.query_map(args, account_row)?.collect::<Result<Vec<_>, _>>()?;
        rows.into_iter().collect()
    }

    fn transfers(&self, sql: &str, args: impl rusqlite::Params) -> Result<Vec<Transfer>, StorageError> {
        let mut st = self.conn.prepare_cached(sql)?;
        let rows = st.query_map(args, transfer_row)?.collect::<Result<Vec<_>, _>>()?;
        rows.into_iter().collect()
    }

    fn changed_one(n: usize, what: &str) -> Result<(), StorageError> {
        if n == 1 {
            Ok(())
        } else {
            Err(StorageError::Backend(format!(
                "expected to change one {what}, changed {n}"
            )))
        }
    }
}

/// The SQL and arguments of a console payment search: every filter is a column that leads an
/// index followed by `(created_at, payment_id)`, so a page costs its rows, not the history.
fn payment_search_sql(s: &PaymentSearch, limit: u32) -> (String, Vec<rusqlite::types::Value>) {
    let mut sql = String::from("SELECT doc FROM payments WHERE 1 = 1");
    let mut args: Vec<rusqlite::types::Value> = Vec::new();
    let mut arg = |sql: &mut String, cond: &str, v: rusqlite::types::Value| {
        args.push(v);
        sql.push_str(&cond.replace('?', &format!("?{}", args.len())));
    };
    use rusqlite::types::Value::Text;
    if let Some(c) = &s.client_id {
        arg(&mut sql, " AND client_id = ?", Text(c.clone()));
    }
    if let Some(r) = &s.payment_request_id {
        arg(&mut sql, " AND payment_request_id = ?", Text(r.clone()));
    }
    if let Some(u) = &s.payer_user_id {
        arg(&mut sql, " AND payer_user_id = ?", Text(u.clone()));
    }
    if let Some(st) = &s.status {
        arg(&mut sql, " AND status = ?", Text(st.clone()));
    }
    if let Some(f) = s.from {
        arg(&mut sql, " AND created_at >= ?", Text(ts(f)));
    }
    if let Some(u) = s.until {
        arg(&mut sql, " AND created_at < ?", Text(ts(u)));
    }
    if let Some((at, id)) = &s.before {
        arg(&mut sql, " AND (created_at, payment_id) < (?", Text(ts(*at)));
        arg(&mut sql, ", ?)", Text(id.clone()));
    }
    arg(
        &mut sql,
        " ORDER BY created_at DESC, payment_id DESC LIMIT ?",
        rusqlite::types::Value::Integer(i64::from(limit)),
    );
    (sql, args)
}

impl Tx for SqliteTx<'_> {
    fn schema_versions(&mut self) -> Result<(usize, usize), StorageError> {
        let done: i64 = self.conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        Ok((usize::try_from(done).unwrap_or(0), MIGRATIONS.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::operators::PaymentSearch;
    use crate::storage::{Access, Job};

    /// A job that tells `started` it runs, then holds the writer until `release` says go.
    fn blocking_job(started: mpsc::Sender<()>, release: Arc<Mutex<mpsc::Receiver<()>>>) -> Job {
        Box::new(move |_tx| {
            let _ = started.send(());
            if let Ok(r) = release.lock() {
                let _ = r.recv();
            }
            Ok(Box::new(()) as Box<dyn Any + Send>)
        })
    }

    fn quick_job() -> Job {
        Box::new(|_tx| Ok(Box::new(()) as Box<dyn Any + Send>))
    }

    #[tokio::test]
    async fn a_job_beyond_a_full_queue_is_refused_at_once_and_the_queued_ones_still_run() {
        let dir = tempfile::tempdir().expect("dir");
        let storage = SqliteStorage::open_with_queue(&dir.path().join("queue.sqlite3"), 1, 1).expect("open");
        let (started_tx, started_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel();
        let running = storage.submit(
            Access::Write,
            blocking_job(started_tx, Arc::new(Mutex::new(release_rx))),
        );
        started_rx.recv().expect("the writer runs the first job");
        let queued = storage.submit(Access::Write, quick_job());
        let refused = storage.submit(Access::Write, quick_job());
        match refused.await.expect("an answer at once") {
            Err(CoreError::Storage(StorageError::Busy(1))) => {}
            other => panic!("expected Busy, got {:?}", other.map(|_| ())),
        }
        release_tx.send(()).expect("release");
        assert!(running.await.expect("answer").is_ok());
        assert!(queued.await.expect("answer").is_ok(), "a queued job is not lost");
    }

    /// Every combination of the console's payment filters is answered from an index in page
    /// order: no full scan of the payments and no sort of everything that matched.
    #[test]
    fn every_payment_search_walks_an_index_in_page_order() {
        let mut conn = Connection::open_in_memory().expect("db");
        migrate(&mut conn).expect("migrate");
        let t = DateTime::parse_from_rfc3339("2026-11-29T00:00:00Z")
            .expect("time")
            .with_timezone(&Utc);
        for mask in 0u32..128 {
            let on = |bit: u32| mask & (1 << bit) != 0;
            let s = PaymentSearch {
                payment_id: None,
                client_id: on(0).then(|| "c".to_owned()),
                payment_request_id: on(1).then(|| "r".to_owned()),
                payer_user_id: on(2).then(|| "u".to_owned()),
                status: on(3).then(|| "SUCCESS".to_owned()),
                from: on(4).then_some(t),
                until: on(5).then_some(t),
                before: on(6).then(|| (t, "p".to_owned())),
            };
            let (sql, args) = payment_search_sql(&s, 50);
            let mut st = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).expect("plan");
            let plan: Vec<String> = st
                .query_map(rusqlite::params_from_iter(args), |r| r.get::<_, String>(3))
                .expect("plan rows")
                .collect::<Result<_, _>>()
                .expect("plan");
            let plan = plan.join("; ");
            assert!(
                !plan.contains("TEMP B-TREE"),
                "filters {mask:07b} sort every match: {plan}"
            );
            assert!(
                plan.contains("USING INDEX") || plan.contains("USING COVERING INDEX"),
                "filters {mask:07b} scan the table: {plan}"
            );
        }
    }
}
