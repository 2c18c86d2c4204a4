//! One-time values (AlphaPay nonces, store salts) on PostgreSQL.

use super::*;
use crate::storage::OnceValues;

impl OnceValues for PgTx<'_> {
    fn claim_once(
        &mut self,
        scope: &str,
        value: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        // One statement: a new value is inserted, an expired one is taken over, a live one is
        // left alone (no row comes back). A concurrent claim of the same value on another node
        // waits on the primary key and then sees this one.
        let rows = self.query(
            "INSERT INTO once_values (scope, value, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (scope, value) DO UPDATE SET expires_at = EXCLUDED.expires_at \
             WHERE once_values.expires_at <= $4 RETURNING 1",
            &[&scope, &value, &expires_at, &now],
        )?;
        Ok(!rows.is_empty())
    }

    fn purge_once_values(&mut self, now: DateTime<Utc>, n: u32) -> Result<usize, StorageError> {
        // SKIP LOCKED: a value another node is claiming right now is left for the next sweep.
        let gone = self.execute(
            "DELETE FROM once_values WHERE (scope, value) IN \
             (SELECT scope, value FROM once_values WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)",
            &[&now, &limit(n)],
        )?;
        Ok(usize::try_from(gone).unwrap_or(usize::MAX))
    }
}
