//! Console operators and the audit log on PostgreSQL.

use super::*;
use crate::model::operators::{AuditEntry, Operator};
use crate::storage::OperatorRecords;

impl OperatorRecords for PgTx<'_> {
    fn insert_operator(&mut self, o: &Operator) -> Result<(), StorageError> {
        let n = self.execute(
            "INSERT INTO operators (name, doc) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&o.name, &to_doc(o)?],
        )?;
        Self::inserted_one(n, &format!("operator {}", o.name))
    }

    fn update_operator(&mut self, o: &Operator) -> Result<(), StorageError> {
        let n = self.execute(
            "UPDATE operators SET doc = $2 WHERE name = $1",
            &[&o.name, &to_doc(o)?],
        )?;
        Self::changed_one(n, "operator")
    }

    fn get_operator(&mut self, name: &str) -> Result<Option<Operator>, StorageError> {
        // Locked in a write job: a sign-in counts its attempt on this row.
        let sql = format!("SELECT doc FROM operators WHERE name = $1{}", self.lock_clause());
        self.one_doc(&sql, &[&name])
    }

    fn list_operators(&mut self) -> Result<Vec<Operator>, StorageError> {
        self.many_docs("SELECT doc FROM operators ORDER BY name", &[])
    }

    fn delete_operator(&mut self, name: &str) -> Result<bool, StorageError> {
        Ok(self.execute("DELETE FROM operators WHERE name = $1", &[&name])? > 0)
    }

    fn insert_audit(&mut self, e: &AuditEntry) -> Result<i64, StorageError> {
        let rows = self.query(
            "INSERT INTO audit_log (at, operator, action, subject, detail) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            &[&e.at, &e.operator, &e.action, &e.subject, &e.detail],
        )?;
        rows.first()
            .ok_or_else(|| StorageError::Backend("the audit insert returned no id".into()))?
            .try_get(0)
            .map_err(corrupt)
    }

    fn list_audit(&mut self, before: Option<i64>, n: u32) -> Result<Vec<AuditEntry>, StorageError> {
        let rows = self.query(
            "SELECT id, at, operator, action, subject, detail FROM audit_log WHERE id < $1 ORDER BY id DESC LIMIT $2",
            &[&before.unwrap_or(i64::MAX), &limit(n)],
        )?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    id: r.try_get(0).map_err(corrupt)?,
                    at: r.try_get(1).map_err(corrupt)?,
                    operator: r.try_get(2).map_err(corrupt)?,
                    action: r.try_get(3).map_err(corrupt)?,
                    subject: r.try_get(4).map_err(corrupt)?,
                    detail: r.try_get(5).map_err(corrupt)?,
                })
            })
            .collect()
    }
}
