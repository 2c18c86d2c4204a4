//! Ledger accounts and transfers on SQLite.

use super::*;
use crate::storage::LedgerRecords;

impl LedgerRecords for SqliteTx<'_> {
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

    fn list_transfers_by_reference(
        &mut self,
        reference: &str,
        limit: u32,
    ) -> Result<Vec<Transfer>, StorageError> {
        let sql = format!("SELECT {TRANSFER_COLS} FROM transfers WHERE reference = ?1 ORDER BY id LIMIT ?2");
        self.transfers(&sql, params![reference, limit])
    }
}
