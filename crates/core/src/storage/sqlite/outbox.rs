//! The notification outbox on SQLite.

use super::*;
use crate::storage::OutboxRecords;

impl OutboxRecords for SqliteTx<'_> {
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
}
