//! The embedded storage backend: one SQLite file in WAL mode.
//!
//! One writer thread owns the only writing connection. It takes every job waiting in its queue
//! (up to [`MAX_BATCH`]), runs them in one transaction with a savepoint each — a failed job rolls
//! back to its savepoint and leaves the others alone — and commits once. Answers are sent only
//! after the commit, so a caller never sees a result that could still be lost. Reader threads
//! serve read-only jobs from their own connections.

use super::{Access, DailyParty, Job, JobReply, Storage, Tx};
use crate::error::{CoreError, StorageError};
use crate::model::idempotency::{IdempotencyRecord, StoredOutcome};
use crate::model::ledger::{Account, AccountId, AccountKind, NewAccount, Transfer, TransferId, TransferKind};
use crate::model::outbox::OutboxEntry;
use crate::model::parties::{Client, User};
use crate::model::payments::Payment;
use crate::model::refunds::Refund;
use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Row};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use walletd_protocol::Currency;

/// The most jobs one group commit takes.
pub const MAX_BATCH: usize = 512;

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] = &[
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

fn to_doc<T: Serialize>(v: &T) -> Result<String, StorageError> {
    serde_json::to_string(v).map_err(|e| StorageError::Corrupt(e.to_string()))
}

fn from_doc<T: DeserializeOwned>(s: &str) -> Result<T, StorageError> {
    serde_json::from_str(s).map_err(|e| StorageError::Corrupt(e.to_string()))
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
    Ok(())
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
        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
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
            let result = match conn.execute_batch("SAVEPOINT job") {
                Err(e) => Err(StorageError::from(e).into()),
                Ok(()) => {
                    let r = run_job(&conn, &mut env.job);
                    let end = if r.is_ok() {
                        "RELEASE job"
                    } else {
                        "ROLLBACK TO job; RELEASE job"
                    };
                    match conn.execute_batch(end) {
                        Ok(()) => r,
                        Err(e) => Err(StorageError::from(e).into()),
                    }
                }
            };
            results.push(result);
        }
        let timer = stats.commit_started(batch.len());
        let committed = conn.execute_batch("COMMIT");
        drop(timer);
        match committed {
            Ok(()) => {
                for (env, r) in batch.into_iter().zip(results) {
                    let _ = env.reply.send(r);
                }
            }
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
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
        let r = match conn.execute_batch("BEGIN") {
            Err(e) => Err(StorageError::from(e).into()),
            Ok(()) => {
                let r = run_job(&conn, &mut env.job);
                let _ = conn.execute_batch("COMMIT");
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

const ACCOUNT_COLS: &str = "id, kind, owner_id, currency, flags, debits_pending, debits_posted, credits_pending, credits_posted, created_at";
const TRANSFER_COLS: &str =
    "id, kind, debit_account_id, credit_account_id, amount_minor, currency, pending_id, timeout_at, code, reference, created_at";

fn currency(s: &str) -> Result<Currency, StorageError> {
    Currency::from_code(s).ok_or_else(|| StorageError::Corrupt(format!("unknown currency {s:?}")))
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
fn payment_search_sql(
    s: &crate::model::operators::PaymentSearch,
    limit: u32,
) -> (String, Vec<rusqlite::types::Value>) {
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

    fn insert_client(&mut self, c: &Client) -> Result<(), StorageError> {
        self.conn
            .prepare_cached("INSERT INTO clients (client_id, partner_id, doc) VALUES (?1, ?2, ?3)")?
            .execute(params![c.client_id, c.partner_id, to_doc(c)?])?;
        Ok(())
    }

    fn update_client(&mut self, c: &Client) -> Result<(), StorageError> {
        let n = self
            .conn
            .prepare_cached("UPDATE clients SET partner_id = ?2, doc = ?3 WHERE client_id = ?1")?
            .execute(params![c.client_id, c.partner_id, to_doc(c)?])?;
        Self::changed_one(n, "client")
    }

    fn get_client(&mut self, client_id: &str) -> Result<Option<Client>, StorageError> {
        self.one_doc("SELECT doc FROM clients WHERE client_id = ?1", [client_id])
    }

    fn find_client_by_partner(&mut self, partner_id: &str) -> Result<Option<Client>, StorageError> {
        self.one_doc("SELECT doc FROM clients WHERE partner_id = ?1", [partner_id])
    }

    fn list_clients(&mut self) -> Result<Vec<Client>, StorageError> {
        self.many_docs("SELECT doc FROM clients ORDER BY client_id", [])
    }

    fn insert_user(&mut self, u: &User) -> Result<(), StorageError> {
        self.conn
            .prepare_cached("INSERT INTO users (user_id, login, doc) VALUES (?1, ?2, ?3)")?
            .execute(params![u.user_id, u.login, to_doc(u)?])?;
        Ok(())
    }

    fn update_user(&mut self, u: &User) -> Result<(), StorageError> {
        let n = self
            .conn
            .prepare_cached("UPDATE users SET login = ?2, doc = ?3 WHERE user_id = ?1")?
            .execute(params![u.user_id, u.login, to_doc(u)?])?;
        Self::changed_one(n, "user")
    }

    fn get_user(&mut self, user_id: &str) -> Result<Option<User>, StorageError> {
        self.one_doc("SELECT doc FROM users WHERE user_id = ?1", [user_id])
    }

    fn get_user_by_login(&mut self, login: &str) -> Result<Option<User>, StorageError> {
        self.one_doc("SELECT doc FROM users WHERE login = ?1", [login])
    }

    fn list_users(&mut self) -> Result<Vec<User>, StorageError> {
        self.many_docs("SELECT doc FROM users ORDER BY user_id", [])
    }

    fn insert_account(&mut self, a: &NewAccount) -> Result<Account, StorageError> {
        let id: AccountId = self
            .conn
            .prepare_cached(
                "INSERT INTO accounts (kind, owner_id, currency, flags, created_at) VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
            )?
            .query_row(params![a.kind.as_str(), a.owner_id, a.currency.code(), a.flags, ts(a.created_at)], |r| r.get(0))?;
        Ok(Account {
            id,
            kind: a.kind,
            owner_id: a.owner_id.clone(),
            currency: a.currency,
            flags: a.flags,
            debits_pending: 0,
            debits_posted: 0,
            credits_pending: 0,
            credits_posted: 0,
            created_at: a.created_at,
        })
    }

    fn find_account(
        &mut self,
        kind: AccountKind,
        owner_id: &str,
        cur: Currency,
    ) -> Result<Option<Account>, StorageError> {
        let sql = format!(
            "SELECT {ACCOUNT_COLS} FROM accounts WHERE kind = ?1 AND owner_id = ?2 AND currency = ?3"
        );
        Ok(self
            .accounts(&sql, params![kind.as_str(), owner_id, cur.code()])?
            .pop())
    }

    fn lock_accounts(&mut self, ids: &[AccountId]) -> Result<Vec<Account>, StorageError> {
        // The single writer already serialises every write transaction: no row lock needed.
        let sql = format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE id = ?1");
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.extend(self.accounts(&sql, [id])?);
        }
        Ok(out)
    }

    fn update_account_balances(&mut self, a: &Account) -> Result<(), StorageError> {
        let n = self
            .conn
            .prepare_cached(
                "UPDATE accounts SET debits_pending = ?2, debits_posted = ?3, credits_pending = ?4, credits_posted = ?5 WHERE id = ?1",
            )?
            .execute(params![a.id, a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted])?;
        Self::changed_one(n, "account")
    }

    fn list_accounts(&mut self) -> Result<Vec<Account>, StorageError> {
        self.accounts(&format!("SELECT {ACCOUNT_COLS} FROM accounts ORDER BY id"), [])
    }

    fn list_accounts_of(&mut self, kind: AccountKind, owner_id: &str) -> Result<Vec<Account>, StorageError> {
        let sql = format!(
            "SELECT {ACCOUNT_COLS} FROM accounts WHERE kind = ?1 AND owner_id = ?2 ORDER BY currency"
        );
        self.accounts(&sql, params![kind.as_str(), owner_id])
    }

    fn insert_transfer(&mut self, t: &Transfer) -> Result<TransferId, StorageError> {
        let id = self
            .conn
            .prepare_cached(
                "INSERT INTO transfers (kind, debit_account_id, credit_account_id, amount_minor, currency, pending_id, timeout_at, code, reference, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) RETURNING id",
            )?
            .query_row(
                params![
                    t.kind.as_str(),
                    t.debit_account_id,
                    t.credit_account_id,
                    t.amount_minor,
                    t.currency.code(),
                    t.pending_id,
                    t.timeout_at.map(ts),
                    t.code,
                    t.reference,
                    ts(t.created_at)
                ],
                |r| r.get(0),
            )?;
        Ok(id)
    }

    fn get_transfer(&mut self, id: TransferId) -> Result<Option<Transfer>, StorageError> {
        Ok(self
            .transfers(
                &format!("SELECT {TRANSFER_COLS} FROM transfers WHERE id = ?1"),
                [id],
            )?
            .pop())
    }

    fn find_resolution(&mut self, pending_id: TransferId) -> Result<Option<Transfer>, StorageError> {
        Ok(self
            .transfers(
                &format!("SELECT {TRANSFER_COLS} FROM transfers WHERE pending_id = ?1"),
                [pending_id],
            )?
            .pop())
    }

    fn list_transfers(&mut self, after: TransferId, limit: u32) -> Result<Vec<Transfer>, StorageError> {
        let sql = format!("SELECT {TRANSFER_COLS} FROM transfers WHERE id > ?1 ORDER BY id LIMIT ?2");
        self.transfers(&sql, params![after, limit])
    }

    fn list_transfers_created(
        &mut self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        after: TransferId,
        limit: u32,
    ) -> Result<Vec<Transfer>, StorageError> {
        let sql = format!(
            "SELECT {TRANSFER_COLS} FROM transfers WHERE created_at >= ?1 AND created_at < ?2 AND id > ?3 ORDER BY id LIMIT ?4"
        );
        self.transfers(&sql, params![ts(from), ts(to), after, limit])
    }

    fn outbox_status_summary(
        &mut self,
        status: &str,
        cap: u32,
    ) -> Result<(u64, Option<DateTime<Utc>>), StorageError> {
        let (n, earliest): (i64, Option<String>) = self.conn.prepare_cached(
            "SELECT COUNT(*), MIN(next_attempt_at) FROM (SELECT next_attempt_at FROM outbox WHERE status = ?1 ORDER BY next_attempt_at LIMIT ?2)",
        )?
        .query_row(params![status, cap], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok((
            u64::try_from(n).unwrap_or(0),
            earliest.as_deref().map(parse_ts).transpose()?,
        ))
    }

    fn count_payments_with_status(&mut self, status: &str, cap: u32) -> Result<u64, StorageError> {
        let n: i64 = self
            .conn
            .prepare_cached("SELECT COUNT(*) FROM (SELECT 1 FROM payments WHERE status = ?1 LIMIT ?2)")?
            .query_row(params![status, cap], |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    fn insert_payment(&mut self, p: &Payment) -> Result<(), StorageError> {
        self.conn
            .prepare_cached(
                "INSERT INTO payments (payment_id, client_id, payment_request_id, status, payer_user_id, currency, amount_minor, created_at, expires_at, doc) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?
            .execute(params![
                p.payment_id,
                p.client_id,
                p.payment_request_id,
                p.status.as_str(),
                p.payer_user_id,
                p.currency.code(),
                p.amount_minor,
                ts(p.created_at),
                ts(p.expires_at),
                to_doc(p)?
            ])?;
        Ok(())
    }

    fn update_payment(&mut self, p: &Payment) -> Result<(), StorageError> {
        let n = self
            .conn
            .prepare_cached(
                "UPDATE payments SET status = ?2, payer_user_id = ?3, expires_at = ?4, doc = ?5 WHERE payment_id = ?1",
            )?
            .execute(params![p.payment_id, p.status.as_str(), p.payer_user_id, ts(p.expires_at), to_doc(p)?])?;
        Self::changed_one(n, "payment")
    }

    fn get_payment(&mut self, payment_id: &str) -> Result<Option<Payment>, StorageError> {
        self.one_doc("SELECT doc FROM payments WHERE payment_id = ?1", [payment_id])
    }

    fn get_payment_by_request(
        &mut self,
        client_id: &str,
        request_id: &str,
    ) -> Result<Option<Payment>, StorageError> {
        self.one_doc(
            "SELECT doc FROM payments WHERE client_id = ?1 AND payment_request_id = ?2",
            [client_id, request_id],
        )
    }

    fn list_expired_payments(
        &mut self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Payment>, StorageError> {
        self.many_docs(
            "SELECT doc FROM payments WHERE status = 'PROCESSING' AND expires_at <= ?1 ORDER BY expires_at LIMIT ?2",
            params![ts(now), limit],
        )
    }

    fn daily_total(
        &mut self,
        party: DailyParty,
        party_id: &str,
        cur: Currency,
        day: NaiveDate,
    ) -> Result<i64, StorageError> {
        let total: Option<i64> = self
            .conn
            .prepare_cached(
                "SELECT total_minor FROM daily_totals WHERE party = ?1 AND party_id = ?2 AND currency = ?3 AND day = ?4",
            )?
            .query_row(
                params![party.as_str(), party_id, cur.code(), day.format("%Y-%m-%d").to_string()],
                |r| r.get(0),
            )
            .optional()?;
        Ok(total.unwrap_or(0))
    }

    fn list_payments(&mut self, client_id: Option<&str>, limit: u32) -> Result<Vec<Payment>, StorageError> {
        match client_id {
            Some(c) => self.many_docs(
                "SELECT doc FROM payments WHERE client_id = ?1 ORDER BY created_at DESC, payment_id DESC LIMIT ?2",
                params![c, limit],
            ),
            None => self.many_docs(
                "SELECT doc FROM payments ORDER BY created_at DESC, payment_id DESC LIMIT ?1",
                params![limit],
            ),
        }
    }

    fn list_refunds(&mut self, client_id: Option<&str>, limit: u32) -> Result<Vec<Refund>, StorageError> {
        self.many_docs(
            "SELECT r.doc FROM transfers t JOIN refunds r ON r.refund_id = t.reference \
             WHERE t.code = 'refund' AND (?1 IS NULL OR r.client_id = ?1) ORDER BY t.id DESC LIMIT ?2",
            params![client_id, limit],
        )
    }

    fn insert_refund(&mut self, r: &Refund) -> Result<(), StorageError> {
        self.conn
            .prepare_cached(
                "INSERT INTO refunds (refund_id, client_id, refund_request_id, payment_id, doc) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![r.refund_id, r.client_id, r.refund_request_id, r.payment_id, to_doc(r)?])?;
        Ok(())
    }

    fn get_refund(&mut self, refund_id: &str) -> Result<Option<Refund>, StorageError> {
        self.one_doc("SELECT doc FROM refunds WHERE refund_id = ?1", [refund_id])
    }

    fn get_refund_by_request(
        &mut self,
        client_id: &str,
        request_id: &str,
    ) -> Result<Option<Refund>, StorageError> {
        self.one_doc(
            "SELECT doc FROM refunds WHERE client_id = ?1 AND refund_request_id = ?2",
            [client_id, request_id],
        )
    }

    fn get_idempotency(
        &mut self,
        scope: &str,
        client_id: &str,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StorageError> {
        let mut st = self.conn.prepare_cached(
            "SELECT fingerprint, outcome, created_at FROM idempotency WHERE scope = ?1 AND client_id = ?2 AND key = ?3",
        )?;
        let row: Option<(String, String, String)> = st
            .query_row([scope, client_id, key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        row.map(|(fingerprint, outcome, created)| {
            Ok(IdempotencyRecord {
                scope: scope.to_owned(),
                client_id: client_id.to_owned(),
                key: key.to_owned(),
                fingerprint,
                outcome: from_doc::<StoredOutcome>(&outcome)?,
                created_at: parse_ts(&created)?,
            })
        })
        .transpose()
    }

    fn insert_idempotency(&mut self, r: &IdempotencyRecord) -> Result<(), StorageError> {
        self.conn
            .prepare_cached(
                "INSERT INTO idempotency (scope, client_id, key, fingerprint, outcome, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![r.scope, r.client_id, r.key, r.fingerprint, to_doc(&r.outcome)?, ts(r.created_at)])?;
        Ok(())
    }

    fn insert_outbox(&mut self, e: &OutboxEntry) -> Result<(), StorageError> {
        self.conn
            .prepare_cached(
                "INSERT INTO outbox (id, status, next_attempt_at, lease_until, created_at, doc, subject_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                e.id,
                e.status.as_str(),
                ts(e.next_attempt_at),
                e.lease_until.map(ts),
                ts(e.created_at),
                to_doc(e)?,
                e.subject_id
            ])?;
        Ok(())
    }

    fn update_outbox(&mut self, e: &OutboxEntry) -> Result<(), StorageError> {
        let n = self
            .conn
            .prepare_cached("UPDATE outbox SET status = ?2, next_attempt_at = ?3, lease_until = ?4, doc = ?5 WHERE id = ?1")?
            .execute(params![e.id, e.status.as_str(), ts(e.next_attempt_at), e.lease_until.map(ts), to_doc(e)?])?;
        Self::changed_one(n, "notification")
    }

    fn get_outbox(&mut self, id: &str) -> Result<Option<OutboxEntry>, StorageError> {
        self.one_doc("SELECT doc FROM outbox WHERE id = ?1", [id])
    }

    fn claim_outbox(
        &mut self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<OutboxEntry>, StorageError> {
        let mut due: Vec<OutboxEntry> = self.many_docs(
            "SELECT doc FROM outbox WHERE status = 'PENDING' AND next_attempt_at <= ?1 \
             AND (lease_until IS NULL OR lease_until <= ?1) ORDER BY next_attempt_at LIMIT ?2",
            params![ts(now), limit],
        )?;
        for e in due.iter_mut() {
            e.lease_until = Some(lease_until);
            self.update_outbox(e)?;
        }
        Ok(due)
    }

    fn list_outbox(&mut self, limit: u32) -> Result<Vec<OutboxEntry>, StorageError> {
        self.many_docs(
            "SELECT doc FROM outbox ORDER BY created_at DESC, id DESC LIMIT ?1",
            [limit],
        )
    }

    fn claim_once(
        &mut self,
        scope: &str,
        value: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        self.conn
            .prepare_cached("DELETE FROM once_values WHERE scope = ?1 AND value = ?2 AND expires_at <= ?3")?
            .execute(params![scope, value, ts(now)])?;
        let n = self
            .conn
            .prepare_cached(
                "INSERT OR IGNORE INTO once_values (scope, value, expires_at) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![scope, value, ts(expires_at)])?;
        Ok(n == 1)
    }

    fn purge_once_values(&mut self, now: DateTime<Utc>, limit: u32) -> Result<usize, StorageError> {
        let n = self
            .conn
            .prepare_cached(
                "DELETE FROM once_values WHERE rowid IN \
                 (SELECT rowid FROM once_values WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2)",
            )?
            .execute(params![ts(now), limit])?;
        Ok(n)
    }

    // ---- store API ----

    fn put_store_config(&mut self, c: &crate::model::store::StoreConfig) -> Result<(), StorageError> {
        self.conn
            .prepare_cached(
                "INSERT INTO store_configs (client_id, doc) VALUES (?1, ?2) \
                 ON CONFLICT (client_id) DO UPDATE SET doc = excluded.doc",
            )?
            .execute(params![c.client_id, to_doc(c)?])?;
        Ok(())
    }

    fn get_store_config(
        &mut self,
        client_id: &str,
    ) -> Result<Option<crate::model::store::StoreConfig>, StorageError> {
        self.one_doc("SELECT doc FROM store_configs WHERE client_id = ?1", [client_id])
    }

    fn insert_store_key(&mut self, k: &crate::model::store::StoreKey) -> Result<(), StorageError> {
        self.conn
            .prepare_cached(
                "INSERT INTO store_keys (key_id, client_id, created_at, doc) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![k.key_id, k.client_id, ts(k.created_at), to_doc(k)?])?;
        Ok(())
    }

    fn update_store_key(&mut self, k: &crate::model::store::StoreKey) -> Result<(), StorageError> {
        let n = self
            .conn
            .prepare_cached("UPDATE store_keys SET doc = ?2 WHERE key_id = ?1")?
            .execute(params![k.key_id, to_doc(k)?])?;
        Self::changed_one(n, "store key")
    }

    fn get_store_key(&mut self, key_id: &str) -> Result<Option<crate::model::store::StoreKey>, StorageError> {
        self.one_doc("SELECT doc FROM store_keys WHERE key_id = ?1", [key_id])
    }

    fn list_store_keys(
        &mut self,
        client_id: Option<&str>,
    ) -> Result<Vec<crate::model::store::StoreKey>, StorageError> {
        match client_id {
            Some(c) => self.many_docs(
                "SELECT doc FROM store_keys WHERE client_id = ?1 ORDER BY created_at, key_id",
                [c],
            ),
            None => self.many_docs(
                "SELECT doc FROM store_keys ORDER BY client_id, created_at, key_id",
                [],
            ),
        }
    }

    fn insert_store_product(
        &mut self,
        p: &crate::model::store::StoreProduct,
    ) -> Result<crate::model::store::StoreProduct, StorageError> {
        self.conn
            .prepare_cached("INSERT INTO store_products (client_id, doc) VALUES (?1, '{}')")?
            .execute(params![p.client_id])?;
        let mut stored = p.clone();
        stored.product_id = self.conn.last_insert_rowid();
        let n = self
            .conn
            .prepare_cached("UPDATE store_products SET doc = ?2 WHERE product_id = ?1")?
            .execute(params![stored.product_id, to_doc(&stored)?])?;
        Self::changed_one(n, "store product")?;
        Ok(stored)
    }

    fn get_store_product(
        &mut self,
        client_id: &str,
        product_id: i64,
    ) -> Result<Option<crate::model::store::StoreProduct>, StorageError> {
        self.one_doc(
            "SELECT doc FROM store_products WHERE client_id = ?1 AND product_id = ?2",
            params![client_id, product_id],
        )
    }

    fn list_store_products(
        &mut self,
        client_id: &str,
    ) -> Result<Vec<crate::model::store::StoreProduct>, StorageError> {
        self.many_docs(
            "SELECT doc FROM store_products WHERE client_id = ?1 ORDER BY product_id",
            [client_id],
        )
    }

    fn put_store_user(&mut self, u: &crate::model::store::StoreUser) -> Result<(), StorageError> {
        self.conn
            .prepare_cached(
                "INSERT INTO store_users (client_id, iq, user_id, doc) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (client_id, iq) DO UPDATE SET user_id = excluded.user_id, doc = excluded.doc",
            )?
            .execute(params![u.client_id, u.iq, u.user_id, to_doc(u)?])?;
        Ok(())
    }

    fn get_store_user(
        &mut self,
        client_id: &str,
        iq: i64,
    ) -> Result<Option<crate::model::store::StoreUser>, StorageError> {
        self.one_doc(
            "SELECT doc FROM store_users WHERE client_id = ?1 AND iq = ?2",
            params![client_id, iq],
        )
    }

    fn list_store_users(
        &mut self,
        client_id: &str,
    ) -> Result<Vec<crate::model::store::StoreUser>, StorageError> {
        self.many_docs(
            "SELECT doc FROM store_users WHERE client_id = ?1 ORDER BY iq",
            [client_id],
        )
    }

    fn insert_store_order(
        &mut self,
        o: &crate::model::store::StoreOrder,
    ) -> Result<crate::model::store::StoreOrder, StorageError> {
        self.conn
            .prepare_cached(
                "INSERT INTO store_orders (client_id, iq, status, doc) VALUES (?1, ?2, ?3, '{}')",
            )?
            .execute(params![o.client_id, o.iq, o.status.as_str()])?;
        let mut stored = o.clone();
        stored.order_id = self.conn.last_insert_rowid();
        self.update_store_order(&stored)?;
        Ok(stored)
    }

    fn update_store_order(&mut self, o: &crate::model::store::StoreOrder) -> Result<(), StorageError> {
        let n = self
            .conn
            .prepare_cached("UPDATE store_orders SET status = ?2, doc = ?3 WHERE order_id = ?1")?
            .execute(params![o.order_id, o.status.as_str(), to_doc(o)?])?;
        Self::changed_one(n, "store order")
    }

    fn get_store_order(
        &mut self,
        client_id: &str,
        order_id: i64,
    ) -> Result<Option<crate::model::store::StoreOrder>, StorageError> {
        self.one_doc(
            "SELECT doc FROM store_orders WHERE client_id = ?1 AND order_id = ?2",
            params![client_id, order_id],
        )
    }

    fn find_current_store_order(
        &mut self,
        client_id: &str,
        iq: i64,
    ) -> Result<Option<crate::model::store::StoreOrder>, StorageError> {
        self.one_doc(
            "SELECT doc FROM store_orders WHERE client_id = ?1 AND iq = ?2 AND status = 'current'",
            params![client_id, iq],
        )
    }

    fn list_store_orders(
        &mut self,
        client_id: &str,
        iq: i64,
        limit: u32,
    ) -> Result<Vec<crate::model::store::StoreOrder>, StorageError> {
        self.many_docs(
            "SELECT doc FROM store_orders WHERE client_id = ?1 AND iq = ?2 ORDER BY order_id DESC LIMIT ?3",
            params![client_id, iq, limit],
        )
    }

    // ---- OAuth, payment codes and captures ----

    fn insert_auth_code(&mut self, c: &crate::model::oauth::AuthCode) -> Result<(), StorageError> {
        self.conn
            .prepare_cached("INSERT INTO oauth_codes (code_hash, expires_at, doc) VALUES (?1, ?2, ?3)")?
            .execute(params![c.code_hash, ts(c.expires_at), to_doc(c)?])?;
        Ok(())
    }

    fn get_auth_code(
        &mut self,
        code_hash: &str,
    ) -> Result<Option<crate::model::oauth::AuthCode>, StorageError> {
        self.one_doc("SELECT doc FROM oauth_codes WHERE code_hash = ?1", [code_hash])
    }

    fn update_auth_code(&mut self, c: &crate::model::oauth::AuthCode) -> Result<(), StorageError> {
        let n = self
            .conn
            .prepare_cached("UPDATE oauth_codes SET expires_at = ?2, doc = ?3 WHERE code_hash = ?1")?
            .execute(params![c.code_hash, ts(c.expires_at), to_doc(c)?])?;
        Self::changed_one(n, "auth code")
    }

    fn insert_token(&mut self, t: &crate::model::oauth::TokenRecord) -> Result<(), StorageError> {
        self.conn
            .prepare_cached(
                "INSERT INTO oauth_tokens (token_id, access_hash, refresh_hash, user_id, client_id, created_at, doc) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                t.token_id,
                t.access_hash,
                t.refresh_hash,
                t.grant.user_id,
                t.grant.client_id,
                ts(t.created_at),
                to_doc(t)?
            ])?;
        Ok(())
    }

    fn update_token(&mut self, t: &crate::model::oauth::TokenRecord) -> Result<(), StorageError> {
        let n = self
            .conn
            .prepare_cached("UPDATE oauth_tokens SET doc = ?2 WHERE token_id = ?1")?
            .execute(params![t.token_id, to_doc(t)?])?;
        Self::changed_one(n, "token")
    }

    fn find_token_by_access(
        &mut self,
        access_hash: &str,
    ) -> Result<Option<crate::model::oauth::TokenRecord>, StorageError> {
        self.one_doc(
            "SELECT doc FROM oauth_tokens WHERE access_hash = ?1",
            [access_hash],
        )
    }

    fn find_token_by_refresh(
        &mut self,
        refresh_hash: &str,
    ) -> Result<Option<crate::model::oauth::TokenRecord>, StorageError> {
        self.one_doc(
            "SELECT doc FROM oauth_tokens WHERE refresh_hash = ?1",
            [refresh_hash],
        )
    }

    fn list_newest_tokens_of_user(
        &mut self,
        user_id: &str,
        client_id: &str,
        limit: u32,
    ) -> Result<Vec<crate::model::oauth::TokenRecord>, StorageError> {
        self.many_docs(
            "SELECT doc FROM oauth_tokens WHERE user_id = ?1 AND client_id = ?2 ORDER BY created_at DESC, token_id DESC LIMIT ?3",
            params![user_id, client_id, limit],
        )
    }

    fn list_tokens_of_user(
        &mut self,
        user_id: &str,
        client_id: Option<&str>,
    ) -> Result<Vec<crate::model::oauth::TokenRecord>, StorageError> {
        match client_id {
            Some(c) => self.many_docs(
                "SELECT doc FROM oauth_tokens WHERE user_id = ?1 AND client_id = ?2 ORDER BY created_at, token_id",
                params![user_id, c],
            ),
            None => self.many_docs(
                "SELECT doc FROM oauth_tokens WHERE user_id = ?1 ORDER BY created_at, token_id",
                params![user_id],
            ),
        }
    }

    fn insert_payment_code(&mut self, c: &crate::model::oauth::PaymentCode) -> Result<(), StorageError> {
        self.conn
            .prepare_cached("INSERT INTO payment_codes (code_hash, expires_at, doc) VALUES (?1, ?2, ?3)")?
            .execute(params![c.code_hash, ts(c.expires_at), to_doc(c)?])?;
        Ok(())
    }

    fn get_payment_code(
        &mut self,
        code_hash: &str,
    ) -> Result<Option<crate::model::oauth::PaymentCode>, StorageError> {
        self.one_doc("SELECT doc FROM payment_codes WHERE code_hash = ?1", [code_hash])
    }

    fn update_payment_code(&mut self, c: &crate::model::oauth::PaymentCode) -> Result<(), StorageError> {
        let n = self
            .conn
            .prepare_cached("UPDATE payment_codes SET expires_at = ?2, doc = ?3 WHERE code_hash = ?1")?
            .execute(params![c.code_hash, ts(c.expires_at), to_doc(c)?])?;
        Self::changed_one(n, "payment code")
    }

    fn purge_spent_codes(&mut self, before: DateTime<Utc>, limit: u32) -> Result<usize, StorageError> {
        let mut n = 0;
        for table in ["oauth_codes", "payment_codes"] {
            n += self
                .conn
                .prepare_cached(&format!(
                    "DELETE FROM {table} WHERE code_hash IN \
                     (SELECT code_hash FROM {table} WHERE expires_at < ?1 ORDER BY expires_at LIMIT ?2)"
                ))?
                .execute(params![ts(before), limit])?;
        }
        Ok(n)
    }

    fn insert_capture(&mut self, c: &crate::model::captures::Capture) -> Result<(), StorageError> {
        self.conn
            .prepare_cached(
                "INSERT INTO captures (capture_id, client_id, capture_request_id, payment_id, created_at, doc) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                c.capture_id,
                c.client_id,
                c.capture_request_id,
                c.payment_id,
                ts(c.created_at),
                to_doc(c)?
            ])?;
        Ok(())
    }

    fn get_capture(
        &mut self,
        capture_id: &str,
    ) -> Result<Option<crate::model::captures::Capture>, StorageError> {
        self.one_doc("SELECT doc FROM captures WHERE capture_id = ?1", [capture_id])
    }

    fn list_captures(
        &mut self,
        payment_id: &str,
    ) -> Result<Vec<crate::model::captures::Capture>, StorageError> {
        self.many_docs(
            "SELECT doc FROM captures WHERE payment_id = ?1 ORDER BY created_at, capture_id",
            [payment_id],
        )
    }

    fn insert_agent_grant(&mut self, g: &crate::model::agent::AgentGrant) -> Result<(), StorageError> {
        self.conn
            .prepare_cached(
                "INSERT INTO agent_grants (grant_id, token_hash, isv_client_id, merchant_client_id, created_at, doc) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                g.grant_id,
                g.token_hash,
                g.isv_client_id,
                g.merchant_client_id,
                ts(g.created_at),
                to_doc(g)?
            ])?;
        Ok(())
    }

    fn update_agent_grant(&mut self, g: &crate::model::agent::AgentGrant) -> Result<(), StorageError> {
        let n = self
            .conn
            .prepare_cached("UPDATE agent_grants SET doc = ?2 WHERE grant_id = ?1")?
            .execute(params![g.grant_id, to_doc(g)?])?;
        Self::changed_one(n, "agent grant")
    }

    fn get_agent_grant(
        &mut self,
        grant_id: &str,
    ) -> Result<Option<crate::model::agent::AgentGrant>, StorageError> {
        self.one_doc("SELECT doc FROM agent_grants WHERE grant_id = ?1", [grant_id])
    }

    fn find_agent_grant_by_token(
        &mut self,
        token_hash: &str,
    ) -> Result<Option<crate::model::agent::AgentGrant>, StorageError> {
        self.one_doc("SELECT doc FROM agent_grants WHERE token_hash = ?1", [token_hash])
    }

    fn list_agent_grants(
        &mut self,
        limit: u32,
    ) -> Result<Vec<crate::model::agent::AgentGrant>, StorageError> {
        self.many_docs(
            "SELECT doc FROM agent_grants ORDER BY created_at DESC, grant_id DESC LIMIT ?1",
            [limit],
        )
    }

    // ---- operator console ----
    fn insert_operator(&mut self, o: &crate::model::operators::Operator) -> Result<(), StorageError> {
        self.conn
            .prepare_cached("INSERT INTO operators (name, doc) VALUES (?1, ?2)")?
            .execute(params![o.name, to_doc(o)?])?;
        Ok(())
    }

    fn update_operator(&mut self, o: &crate::model::operators::Operator) -> Result<(), StorageError> {
        let n = self
            .conn
            .prepare_cached("UPDATE operators SET doc = ?2 WHERE name = ?1")?
            .execute(params![o.name, to_doc(o)?])?;
        Self::changed_one(n, "operator")
    }

    fn get_operator(
        &mut self,
        name: &str,
    ) -> Result<Option<crate::model::operators::Operator>, StorageError> {
        self.one_doc("SELECT doc FROM operators WHERE name = ?1", [name])
    }

    fn list_operators(&mut self) -> Result<Vec<crate::model::operators::Operator>, StorageError> {
        self.many_docs("SELECT doc FROM operators ORDER BY name", [])
    }

    fn delete_operator(&mut self, name: &str) -> Result<bool, StorageError> {
        let n = self
            .conn
            .prepare_cached("DELETE FROM operators WHERE name = ?1")?
            .execute([name])?;
        Ok(n > 0)
    }

    fn insert_audit(&mut self, e: &crate::model::operators::AuditEntry) -> Result<i64, StorageError> {
        let id: i64 = self
            .conn
            .prepare_cached(
                "INSERT INTO audit_log (at, operator, action, subject, detail) VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
            )?
            .query_row(params![ts(e.at), e.operator, e.action, e.subject, e.detail], |r| r.get(0))?;
        Ok(id)
    }

    fn list_audit(
        &mut self,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<crate::model::operators::AuditEntry>, StorageError> {
        let mut st = self.conn.prepare_cached(
            "SELECT id, at, operator, action, subject, detail FROM audit_log WHERE id < ?1 ORDER BY id DESC LIMIT ?2",
        )?;
        let rows = st
            .query_map(params![before.unwrap_or(i64::MAX), limit], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(id, at, operator, action, subject, detail)| {
                Ok(crate::model::operators::AuditEntry {
                    id,
                    at: parse_ts(&at)?,
                    operator,
                    action,
                    subject,
                    detail,
                })
            })
            .collect()
    }

    fn search_payments(
        &mut self,
        s: &crate::model::operators::PaymentSearch,
        limit: u32,
    ) -> Result<Vec<Payment>, StorageError> {
        let (sql, args) = payment_search_sql(s, limit);
        self.many_docs(&sql, rusqlite::params_from_iter(args))
    }

    fn list_refunds_of_payment(&mut self, payment_id: &str, limit: u32) -> Result<Vec<Refund>, StorageError> {
        self.many_docs(
            "SELECT doc FROM refunds WHERE payment_id = ?1 ORDER BY refund_id LIMIT ?2",
            params![payment_id, limit],
        )
    }

    fn list_outbox_of_subject(
        &mut self,
        subject_id: &str,
        limit: u32,
    ) -> Result<Vec<OutboxEntry>, StorageError> {
        self.many_docs(
            "SELECT doc FROM outbox WHERE subject_id = ?1 ORDER BY created_at, id LIMIT ?2",
            params![subject_id, limit],
        )
    }

    fn list_transfers_by_reference(
        &mut self,
        reference: &str,
        limit: u32,
    ) -> Result<Vec<Transfer>, StorageError> {
        let sql = format!("SELECT {TRANSFER_COLS} FROM transfers WHERE reference = ?1 ORDER BY id LIMIT ?2");
        self.transfers(&sql, params![reference, limit])
    }

    fn list_clients_page(&mut self, after: &str, limit: u32) -> Result<Vec<Client>, StorageError> {
        self.many_docs(
            "SELECT doc FROM clients WHERE client_id > ?1 ORDER BY client_id LIMIT ?2",
            params![after, limit],
        )
    }

    fn list_users_page(&mut self, after: &str, limit: u32) -> Result<Vec<User>, StorageError> {
        self.many_docs(
            "SELECT doc FROM users WHERE user_id > ?1 ORDER BY user_id LIMIT ?2",
            params![after, limit],
        )
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
