//! Captures of authorizations on SQLite.

use super::*;
use crate::model::captures::Capture;
use crate::storage::CaptureRecords;

impl CaptureRecords for SqliteTx<'_> {
    fn insert_capture(&mut self, c: &Capture) -> Result<(), StorageError> {
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

    fn get_capture(&mut self, capture_id: &str) -> Result<Option<Capture>, StorageError> {
        self.one_doc("SELECT doc FROM captures WHERE capture_id = ?1", [capture_id])
    }

    fn list_captures(&mut self, payment_id: &str) -> Result<Vec<Capture>, StorageError> {
        self.many_docs(
            "SELECT doc FROM captures WHERE payment_id = ?1 ORDER BY created_at, capture_id",
            [payment_id],
        )
    }
}
