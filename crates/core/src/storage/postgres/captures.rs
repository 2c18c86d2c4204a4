//! Captures of authorizations on PostgreSQL.

use super::*;
use crate::model::captures::Capture;
use crate::storage::CaptureRecords;

impl CaptureRecords for PgTx<'_> {
    fn insert_capture(&mut self, c: &Capture) -> Result<(), StorageError> {
        let n = self.execute(
            "INSERT INTO captures (capture_id, client_id, capture_request_id, payment_id, created_at, doc) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            &[
                &c.capture_id,
                &c.client_id,
                &c.capture_request_id,
                &c.payment_id,
                &c.created_at,
                &to_doc(c)?,
            ],
        )?;
        Self::inserted_one(
            n,
            &format!(
                "capture {} or captureRequestId {}",
                c.capture_id, c.capture_request_id
            ),
        )
    }

    fn get_capture(&mut self, capture_id: &str) -> Result<Option<Capture>, StorageError> {
        self.one_doc("SELECT doc FROM captures WHERE capture_id = $1", &[&capture_id])
    }

    fn list_captures(&mut self, payment_id: &str) -> Result<Vec<Capture>, StorageError> {
        self.many_docs(
            "SELECT doc FROM captures WHERE payment_id = $1 ORDER BY created_at, capture_id",
            &[&payment_id],
        )
    }
}
