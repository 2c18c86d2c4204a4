//! Agent grants: an independent software vendor (ISV, e.g. a mini program platform) calls the APIs
//! on behalf of a merchant that authorised it.
//!
//! The ISV signs with its own `Client-Id` and key and names the merchant with an `Agent-Token`
//! header. An operator issues the token for one (ISV, merchant) pair, with a scope (which APIs) and
//! an expiry. The token is 32 random bytes, shown once and stored only as its SHA-256
//! ([`crate::oauth::hash_secret`]). Every request looks the grant up in the database (no cache), so
//! a revocation stops the token at once on every node.

use crate::error::CoreError;
pub use crate::model::agent::{AgentApi, AgentGrant};
use crate::model::parties::{Client, PartyStatus};
use crate::oauth::hash_secret;
use crate::storage::Tx;
use chrono::{DateTime, Utc};

/// The longest lifetime an agent token may have (two years).
pub const MAX_AGENT_TOKEN_TTL_SECS: i64 = 2 * 366 * 24 * 3600;
/// The lifetime of an agent token when the operator names none (one year).
pub const DEFAULT_AGENT_TOKEN_TTL_SECS: i64 = 365 * 24 * 3600;
/// The most grants `walletd admin agent-token list` shows.
pub const MAX_LISTED_GRANTS: u32 = 1000;

/// Parses a comma-separated scope (`pay,inquiryPayment`); an empty text is refused.
pub fn parse_agent_scope(text: &str) -> Result<Vec<AgentApi>, String> {
    let mut scope = Vec::new();
    for name in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let api = AgentApi::parse(name).ok_or_else(|| {
            let known: Vec<&str> = AgentApi::ALL.iter().map(|a| a.as_str()).collect();
            format!("unknown API {name:?} in the scope; known: {}", known.join(","))
        })?;
        if !scope.contains(&api) {
            scope.push(api);
        }
    }
    if scope.is_empty() {
        return Err("the scope names no API".into());
    }
    scope.sort();
    Ok(scope)
}

/// The scope as the CLI prints it, comma-separated.
pub fn agent_scope_text(scope: &[AgentApi]) -> String {
    scope.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(",")
}

/// What an operator asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentGrantRequest {
    pub isv_client_id: String,
    pub merchant_client_id: String,
    pub scope: Vec<AgentApi>,
    pub ttl_secs: i64,
}

/// A freshly issued token. The secret exists only in this value.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedAgentToken {
    pub token: String,
    pub grant: AgentGrant,
}

impl std::fmt::Debug for IssuedAgentToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedAgentToken")
            .field("token", &"<redacted>")
            .field("grant", &self.grant)
            .finish()
    }
}

/// Why an `Agent-Token` was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentRefusal {
    /// Unknown, revoked, or issued to another ISV (one answer for all three, so a caller learns
    /// nothing about tokens that are not its own).
    Invalid,
    /// Past its expiry.
    Expired,
    /// The ISV itself may not act (frozen or inactive).
    IsvNotActive { status: PartyStatus },
}

/// The merchant `isv_client_id` acts for with `token`, and the grant, at `now`.
pub(crate) fn check_agent_token(
    tx: &mut dyn Tx,
    now: DateTime<Utc>,
    isv: &Client,
    token: &str,
) -> Result<Result<(Client, AgentGrant), AgentRefusal>, CoreError> {
    let Some(grant) = tx.find_agent_grant_by_token(&hash_secret(token))? else {
        return Ok(Err(AgentRefusal::Invalid));
    };
    if grant.isv_client_id != isv.client_id || grant.revoked_at.is_some() {
        return Ok(Err(AgentRefusal::Invalid));
    }
    if now >= grant.expires_at {
        return Ok(Err(AgentRefusal::Expired));
    }
    // The ISV's status as stored now: the caller's copy may be one kept to authenticate.
    let Some(status) = tx.get_client(&isv.client_id)?.map(|c| c.status) else {
        return Ok(Err(AgentRefusal::Invalid));
    };
    if status != PartyStatus::Active {
        return Ok(Err(AgentRefusal::IsvNotActive { status }));
    }
    let Some(merchant) = tx.get_client(&grant.merchant_client_id)? else {
        return Ok(Err(AgentRefusal::Invalid));
    };
    Ok(Ok((merchant, grant)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_by_api_name_and_reject_unknown_names() {
        assert_eq!(
            parse_agent_scope("refund, pay,pay").unwrap(),
            vec![AgentApi::Pay, AgentApi::Refund]
        );
        assert!(parse_agent_scope("pay,transfer").is_err());
        assert!(parse_agent_scope(" , ").is_err());
        for api in AgentApi::ALL {
            assert_eq!(AgentApi::parse(api.as_str()), Some(api));
            assert_eq!(
                serde_json::to_string(&api).unwrap(),
                format!("\"{}\"", api.as_str())
            );
        }
    }
}
