//! Payments, their daily totals and the console's payment search on PostgreSQL.

use super::*;
use crate::model::operators::PaymentSearch;
use crate::storage::PaymentRecords;

impl PaymentRecords for PgTx<'_> {
    fn count_payments_with_status(&mut self, status: &str, cap: u32) -> Result<u64, StorageError> {
        let rows = self.query(
            "SELECT COUNT(*)::BIGINT FROM (SELECT 1 FROM payments WHERE status = $1 LIMIT $2) AS capped",
            &[&status, &limit(cap)],
        )?;
        let n: i64 = rows
            .first()
            .ok_or_else(|| StorageError::Backend("COUNT returned no row".into()))?
            .try_get(0)
            .map_err(corrupt)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    fn insert_payment(&mut self, p: &Payment) -> Result<(), StorageError> {
        // Nothing in a job waits for this insert's answer: it goes out with the next statement or
        // the COMMIT. A payment id or paymentRequestId another transaction holds fails it, which
        // aborts the transaction; the job answers Duplicate and is run again.
        self.insert_deferred(
            "INSERT INTO payments (payment_id, client_id, payment_request_id, status, payer_user_id, currency, amount_minor, created_at, expires_at, doc) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &[
                &p.payment_id,
                &p.client_id,
                &p.payment_request_id,
                &p.status.as_str(),
                &p.payer_user_id,
                &p.currency.code(),
                &p.amount_minor,
                &p.created_at,
                &p.expires_at,
                &to_doc(p)?,
            ],
        )
    }

    fn update_payment(&mut self, p: &Payment) -> Result<(), StorageError> {
        let n = self.execute(
            "UPDATE payments SET status = $2, payer_user_id = $3, expires_at = $4, doc = $5 WHERE payment_id = $1",
            &[&p.payment_id, &p.status.as_str(), &p.payer_user_id, &p.expires_at, &to_doc(p)?],
        )?;
        Self::changed_one(n, "payment")
    }

    fn get_payment(&mut self, payment_id: &str) -> Result<Option<Payment>, StorageError> {
        let sql = format!(
            "SELECT doc FROM payments WHERE payment_id = $1{}",
            self.lock_clause()
        );
        self.one_doc(&sql, &[&payment_id])
    }

    fn get_payment_by_request(
        &mut self,
        client_id: &str,
        request_id: &str,
    ) -> Result<Option<Payment>, StorageError> {
        let sql = format!(
            "SELECT doc FROM payments WHERE client_id = $1 AND payment_request_id = $2{}",
            self.lock_clause()
        );
        self.one_doc(&sql, &[&client_id, &request_id])
    }

    fn list_expired_payments(&mut self, now: DateTime<Utc>, n: u32) -> Result<Vec<Payment>, StorageError> {
        // SKIP LOCKED: a payment another node is expiring (or a user is confirming) right now is
        // left to that node; no payment is expired twice.
        let lock = match self.access {
            Access::Write => " FOR UPDATE SKIP LOCKED",
            Access::Read => "",
        };
        let sql = format!(
            "SELECT doc FROM payments WHERE status = 'PROCESSING' AND expires_at <= $1 ORDER BY expires_at LIMIT $2{lock}"
        );
        self.many_docs(&sql, &[&now, &limit(n)])
    }

    fn daily_total(
        &mut self,
        party: DailyParty,
        party_id: &str,
        cur: Currency,
        day: NaiveDate,
    ) -> Result<i64, StorageError> {
        let day = day_key(day);
        let rows = match self.take_ahead(DAILY_TOTAL_SQL, &[party.as_str(), party_id, cur.code(), &day]) {
            Some(rows) => rows,
            None => self.query(DAILY_TOTAL_SQL, &[&party.as_str(), &party_id, &cur.code(), &day])?,
        };
        rows.first()
            .map(|r| r.try_get(0).map_err(corrupt))
            .unwrap_or(Ok(0))
    }

    fn lock_daily_total(&mut self, party: DailyParty, party_id: &str) -> Result<(), StorageError> {
        if self.access == Access::Write {
            // The party's row: a sibling payment of this payer or merchant on another node
            // commits its total before this one reads it.
            let lock = match party {
                DailyParty::User => "SELECT 1 FROM users WHERE user_id = $1 FOR UPDATE",
                DailyParty::Client => "SELECT 1 FROM clients WHERE client_id = $1 FOR UPDATE",
            };
            self.query(lock, &[&party_id])?;
        }
        Ok(())
    }

    fn list_payments(&mut self, client_id: Option<&str>, n: u32) -> Result<Vec<Payment>, StorageError> {
        match client_id {
            Some(c) => self.many_docs(
                "SELECT doc FROM payments WHERE client_id = $1 ORDER BY created_at DESC, payment_id DESC LIMIT $2",
                &[&c, &limit(n)],
            ),
            None => self.many_docs(
                "SELECT doc FROM payments ORDER BY created_at DESC, payment_id DESC LIMIT $1",
                &[&limit(n)],
            ),
        }
    }

    fn search_payments(&mut self, s: &PaymentSearch, n: u32) -> Result<Vec<Payment>, StorageError> {
        let mut sql = String::from("SELECT doc FROM payments WHERE 1 = 1");
        let mut args: Vec<Box<dyn ToSql + Sync>> = Vec::new();
        let mut arg = |sql: &mut String, cond: &str, v: Box<dyn ToSql + Sync>| {
            args.push(v);
            sql.push_str(&cond.replace('?', &format!("${}", args.len())));
        };
        if let Some(c) = &s.client_id {
            arg(&mut sql, " AND client_id = ?", Box::new(c.clone()));
        }
        if let Some(r) = &s.payment_request_id {
            arg(&mut sql, " AND payment_request_id = ?", Box::new(r.clone()));
        }
        if let Some(u) = &s.payer_user_id {
            arg(&mut sql, " AND payer_user_id = ?", Box::new(u.clone()));
        }
        if let Some(st) = &s.status {
            arg(&mut sql, " AND status = ?", Box::new(st.clone()));
        }
        if let Some(f) = s.from {
            arg(&mut sql, " AND created_at >= ?", Box::new(f));
        }
        if let Some(u) = s.until {
            arg(&mut sql, " AND created_at < ?", Box::new(u));
        }
        if let Some((at, id)) = &s.before {
            arg(&mut sql, " AND (created_at, payment_id) < (?", Box::new(*at));
            arg(&mut sql, ", ?)", Box::new(id.clone()));
        }
        arg(
            &mut sql,
            " ORDER BY created_at DESC, payment_id DESC LIMIT ?",
            Box::new(limit(n)),
        );
        let refs: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a.as_ref()).collect();
        self.many_docs(&sql, &refs)
    }
}
