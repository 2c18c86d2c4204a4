//! Agent grants on PostgreSQL.

use super::*;
use crate::model::agent::AgentGrant;
use crate::storage::AgentGrantRecords;

impl AgentGrantRecords for PgTx<'_> {
    fn insert_agent_grant(&mut self, g: &AgentGrant) -> Result<(), StorageError> {
        let n = self.execute(
            "INSERT INTO agent_grants (grant_id, token_hash, isv_client_id, merchant_client_id, created_at, doc) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            &[
                &g.grant_id,
                &g.token_hash,
                &g.isv_client_id,
                &g.merchant_client_id,
                &g.created_at,
                &to_doc(g)?,
            ],
        )?;
        Self::inserted_one(n, "agent grant")
    }

    fn update_agent_grant(&mut self, g: &AgentGrant) -> Result<(), StorageError> {
        let n = self.execute(
            "UPDATE agent_grants SET doc = $2 WHERE grant_id = $1",
            &[&g.grant_id, &to_doc(g)?],
        )?;
        Self::changed_one(n, "agent grant")
    }

    fn get_agent_grant(&mut self, grant_id: &str) -> Result<Option<AgentGrant>, StorageError> {
        let sql = format!(
            "SELECT doc FROM agent_grants WHERE grant_id = $1{}",
            self.lock_clause()
        );
        self.one_doc(&sql, &[&grant_id])
    }

    fn find_agent_grant_by_token(&mut self, token_hash: &str) -> Result<Option<AgentGrant>, StorageError> {
        let sql = format!(
            "SELECT doc FROM agent_grants WHERE token_hash = $1{}",
            self.lock_clause()
        );
        self.one_doc(&sql, &[&token_hash])
    }

    fn list_agent_grants(&mut self, n: u32) -> Result<Vec<AgentGrant>, StorageError> {
        self.many_docs(
            "SELECT doc FROM agent_grants ORDER BY created_at DESC, grant_id DESC LIMIT $1",
            &[&limit(n)],
        )
    }
}
