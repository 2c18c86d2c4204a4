//! Idempotency keys on SQLite.

use super::*;
use crate::storage::IdempotencyRecords;

impl IdempotencyRecords for SqliteTx<'_> {
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
}
