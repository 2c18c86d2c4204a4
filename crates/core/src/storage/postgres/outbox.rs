//! The notification outbox on PostgreSQL.

use super::*;
use crate::storage::OutboxRecords;

impl OutboxRecords for PgTx<'_> {
    fn outbox_status_summary(
        &mut self,
        status: &str,
        cap: u32,
    ) -> Result<(u64, Option<DateTime<Utc>>), StorageError> {
        let rows = self.query(
            "SELECT COUNT(*)::BIGINT, MIN(next_attempt_at) FROM (SELECT next_attempt_at FROM outbox WHERE status = $1 ORDER BY next_attempt_at LIMIT $2) AS capped",
            &[&status, &limit(cap)],
        )?;
        let row = rows
            .first()
            .ok_or_else(|| StorageError::Backend("COUNT returned no row".into()))?;
        let n: i64 = row.try_get(0).map_err(corrupt)?;
        let earliest: Option<DateTime<Utc>> = row.try_get(1).map_err(corrupt)?;
        Ok((u64::try_from(n).unwrap_or(0), earliest))
    }

    fn insert_outbox(&mut self, e: &OutboxEntry) -> Result<(), StorageError> {
        let n = self.execute(
            "INSERT INTO outbox (id, status, next_attempt_at, lease_until, created_at, doc, subject_id) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT DO NOTHING",
            &[&e.id, &e.status.as_str(), &e.next_attempt_at, &e.lease_until, &e.created_at, &to_doc(e)?, &e.subject_id],
        )?;
        Self::inserted_one(n, &format!("notification {}", e.id))
    }

    fn update_outbox(&mut self, e: &OutboxEntry) -> Result<(), StorageError> {
        let n = self.execute(
            "UPDATE outbox SET status = $2, next_attempt_at = $3, lease_until = $4, doc = $5 WHERE id = $1",
            &[
                &e.id,
                &e.status.as_str(),
                &e.next_attempt_at,
                &e.lease_until,
                &to_doc(e)?,
            ],
        )?;
        Self::changed_one(n, "notification")
    }

    fn get_outbox(&mut self, id: &str) -> Result<Option<OutboxEntry>, StorageError> {
        let sql = format!("SELECT doc FROM outbox WHERE id = $1{}", self.lock_clause());
        self.one_doc(&sql, &[&id])
    }

    fn claim_outbox(
        &mut self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        n: u32,
    ) -> Result<Vec<OutboxEntry>, StorageError> {
        // SKIP LOCKED: rows another node is claiming right now are left to it; the lease written
        // here commits with this transaction, before anyone sends anything.
        let mut due: Vec<OutboxEntry> = self.many_docs(
            "SELECT doc FROM outbox WHERE status = 'PENDING' AND next_attempt_at <= $1 \
             AND (lease_until IS NULL OR lease_until <= $1) ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED",
            &[&now, &limit(n)],
        )?;
        for e in due.iter_mut() {
            e.lease_until = Some(lease_until);
            self.update_outbox(e)?;
        }
        Ok(due)
    }

    fn list_outbox(&mut self, n: u32) -> Result<Vec<OutboxEntry>, StorageError> {
        self.many_docs(
            "SELECT doc FROM outbox ORDER BY created_at DESC, id DESC LIMIT $1",
            &[&limit(n)],
        )
    }

    fn list_outbox_of_subject(&mut self, subject_id: &str, n: u32) -> Result<Vec<OutboxEntry>, StorageError> {
        self.many_docs(
            "SELECT doc FROM outbox WHERE subject_id = $1 ORDER BY created_at, id LIMIT $2",
            &[&subject_id, &limit(n)],
        )
    }
}
