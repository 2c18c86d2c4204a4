//! Idempotency keys on PostgreSQL.

use super::*;
use crate::storage::IdempotencyRecords;

impl IdempotencyRecords for PgTx<'_> {
    fn get_idempotency(
        &mut self,
        scope: &str,
        client_id: &str,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StorageError> {
        let rows = match self.take_ahead(IDEMPOTENCY_SQL, &[scope, client_id, key]) {
            Some(rows) => rows,
            None => self.query(IDEMPOTENCY_SQL, &[&scope, &client_id, &key])?,
        };
        let Some(r) = rows.first() else { return Ok(None) };
        let outcome: String = r.try_get(1).map_err(corrupt)?;
        Ok(Some(IdempotencyRecord {
            scope: scope.to_owned(),
            client_id: client_id.to_owned(),
            key: key.to_owned(),
            fingerprint: r.try_get(0).map_err(corrupt)?,
            outcome: from_doc::<StoredOutcome>(&outcome)?,
            created_at: r.try_get(2).map_err(corrupt)?,
        }))
    }

    fn insert_idempotency(&mut self, r: &IdempotencyRecord) -> Result<(), StorageError> {
        // Goes out with the COMMIT. A second node inserting the same key waits on the unique
        // index until the first commits, then fails on it: its transaction aborts, its job answers
        // Duplicate and is run again, reading the stored outcome.
        self.insert_deferred(
            "INSERT INTO idempotency (scope, client_id, key, fingerprint, outcome, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            &[&r.scope, &r.client_id, &r.key, &r.fingerprint, &to_doc(&r.outcome)?, &r.created_at],
        )
    }
}
