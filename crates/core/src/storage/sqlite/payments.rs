//! Payments, their daily totals and the console's payment search on SQLite.

use super::*;
use crate::model::operators::PaymentSearch;
use crate::storage::PaymentRecords;

impl PaymentRecords for SqliteTx<'_> {
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

    fn search_payments(&mut self, s: &PaymentSearch, limit: u32) -> Result<Vec<Payment>, StorageError> {
        let (sql, args) = payment_search_sql(s, limit);
        self.many_docs(&sql, rusqlite::params_from_iter(args))
    }
}
