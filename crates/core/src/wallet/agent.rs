//! The wallet's agent-grant commands: issue, list and revoke an ISV's grants for a merchant.

use super::Wallet;
use crate::agent::{
    check_agent_token, AgentGrantRequest, AgentRefusal, IssuedAgentToken, MAX_AGENT_TOKEN_TTL_SECS,
    MAX_LISTED_GRANTS,
};
use crate::error::CoreError;
use crate::model::agent::AgentGrant;
use crate::model::parties::Client;
use crate::oauth::hash_secret;
use chrono::Duration;

impl Wallet {
    /// Issues an agent token letting one ISV client act for one merchant client.
    pub async fn issue_agent_token(&self, req: AgentGrantRequest) -> Result<IssuedAgentToken, CoreError> {
        if req.isv_client_id == req.merchant_client_id {
            return Err(CoreError::Invalid(
                "an agent token names two different clients; a client acts for itself without one".into(),
            ));
        }
        if !(1..=MAX_AGENT_TOKEN_TTL_SECS).contains(&req.ttl_secs) {
            return Err(CoreError::Invalid(format!(
                "the lifetime must be between 1 and {MAX_AGENT_TOKEN_TTL_SECS} seconds"
            )));
        }
        if req.scope.is_empty() {
            return Err(CoreError::Invalid("the scope names no API".into()));
        }
        self.write(move |ctx, tx| {
            for id in [&req.isv_client_id, &req.merchant_client_id] {
                if tx.get_client(id)?.is_none() {
                    return Err(CoreError::NotFound(format!("client {id}")));
                }
            }
            let now = ctx.now();
            let token = ctx.ids.random_hex(32);
            let grant = AgentGrant {
                grant_id: ctx.ids.new_id("agent", now),
                token_hash: hash_secret(&token),
                isv_client_id: req.isv_client_id.clone(),
                merchant_client_id: req.merchant_client_id.clone(),
                scope: req.scope.clone(),
                created_at: now,
                expires_at: now + Duration::seconds(req.ttl_secs),
                revoked_at: None,
            };
            tx.insert_agent_grant(&grant)?;
            Ok(IssuedAgentToken { token, grant })
        })
        .await
    }

    /// The newest agent grants, at most [`MAX_LISTED_GRANTS`].
    pub async fn list_agent_grants(&self) -> Result<Vec<AgentGrant>, CoreError> {
        self.read(|_, tx| Ok(tx.list_agent_grants(MAX_LISTED_GRANTS)?))
            .await
    }

    /// Revokes the grant with this id or this token; returns it, or `None` if there is none.
    pub async fn revoke_agent_grant(&self, token_or_id: &str) -> Result<Option<AgentGrant>, CoreError> {
        let key = token_or_id.trim().to_owned();
        self.write(move |ctx, tx| {
            let found = match tx.get_agent_grant(&key)? {
                Some(g) => Some(g),
                None => tx.find_agent_grant_by_token(&hash_secret(&key))?,
            };
            let Some(mut grant) = found else {
                return Ok(None);
            };
            if grant.revoked_at.is_none() {
                grant.revoked_at = Some(ctx.now());
                tx.update_agent_grant(&grant)?;
            }
            Ok(Some(grant))
        })
        .await
    }

    /// The merchant that `isv` acts for with `token` (read on every request; nothing is cached).
    pub async fn agent_merchant(
        &self,
        isv: &Client,
        token: &str,
    ) -> Result<Result<(Client, AgentGrant), AgentRefusal>, CoreError> {
        let (isv, token) = (isv.clone(), token.to_owned());
        self.read(move |ctx, tx| check_agent_token(tx, ctx.now(), &isv, &token))
            .await
    }
}
