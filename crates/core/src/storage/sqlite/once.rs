//! One-time values (AlphaPay nonces, store salts) on SQLite.

use super::*;
use crate::storage::OnceValues;

impl OnceValues for SqliteTx<'_> {
    fn claim_once(
        &mut self,
        scope: &str,
        value: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        self.conn
            .prepare_cached("DELETE FROM once_values WHERE scope = ?1 AND value = ?2 AND expires_at <= ?3")?
            .execute(params![scope, value, ts(now)])?;
        let n = self
            .conn
            .prepare_cached(
                "INSERT OR IGNORE INTO once_values (scope, value, expires_at) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![scope, value, ts(expires_at)])?;
        Ok(n == 1)
    }

    fn purge_once_values(&mut self, now: DateTime<Utc>, limit: u32) -> Result<usize, StorageError> {
        let n = self
            .conn
            .prepare_cached(
                "DELETE FROM once_values WHERE rowid IN \
                 (SELECT rowid FROM once_values WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2)",
            )?
            .execute(params![ts(now), limit])?;
        Ok(n)
    }
}
