//! Console operators and the audit log on SQLite.

use super::*;
use crate::model::operators::{AuditEntry, Operator};
use crate::storage::OperatorRecords;

impl OperatorRecords for SqliteTx<'_> {
    fn insert_operator(&mut self, o: &Operator) -> Result<(), StorageError> {
        self.conn
            .prepare_cached("INSERT INTO operators (name, doc) VALUES (?1, ?2)")?
            .execute(params![o.name, to_doc(o)?])?;
        Ok(())
    }

    fn update_operator(&mut self, o: &Operator) -> Result<(), StorageError> {
        let n = self
            .conn
            .prepare_cached("UPDATE operators SET doc = ?2 WHERE name = ?1")?
            .execute(params![o.name, to_doc(o)?])?;
        Self::changed_one(n, "operator")
    }

    fn get_operator(&mut self, name: &str) -> Result<Option<Operator>, StorageError> {
        self.one_doc("SELECT doc FROM operators WHERE name = ?1", [name])
    }

    fn list_operators(&mut self) -> Result<Vec<Operator>, StorageError> {
        self.many_docs("SELECT doc FROM operators ORDER BY name", [])
    }

    fn delete_operator(&mut self, name: &str) -> Result<bool, StorageError> {
        let n = self
            .conn
            .prepare_cached("DELETE FROM operators WHERE name = ?1")?
            .execute([name])?;
        Ok(n > 0)
    }

    fn insert_audit(&mut self, e: &AuditEntry) -> Result<i64, StorageError> {
        let id: i64 = self
            .conn
            .prepare_cached(
                "INSERT INTO audit_log (at, operator, action, subject, detail) VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
            )?
            .query_row(params![ts(e.at), e.operator, e.action, e.subject, e.detail], |r| r.get(0))?;
        Ok(id)
    }

    fn list_audit(&mut self, before: Option<i64>, limit: u32) -> Result<Vec<AuditEntry>, StorageError> {
        let mut st = self.conn.prepare_cached(
            "SELECT id, at, operator, action, subject, detail FROM audit_log WHERE id < ?1 ORDER BY id DESC LIMIT ?2",
        )?;
        let rows = st
            .query_map(params![before.unwrap_or(i64::MAX), limit], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(id, at, operator, action, subject, detail)| {
                Ok(AuditEntry {
                    id,
                    at: parse_ts(&at)?,
                    operator,
                    action,
                    subject,
                    detail,
                })
            })
            .collect()
    }
}
