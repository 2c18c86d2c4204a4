//! `walletd admin agent-token issue|list|revoke`: the operator's side of agent grants, which let an
//! ISV client (a mini program platform) act for a merchant client with an `Agent-Token` header.
//! The token is printed alone on stdout, once (so `TOKEN=$(walletd admin agent-token issue …)`
//! works); only its SHA-256 is stored, so `list` never shows it.

use anyhow::bail;
use clap::Subcommand;
use serde_json::json;
use walletd_core::agent::{
    agent_scope_text, parse_agent_scope, AgentApi, AgentGrantRequest, DEFAULT_AGENT_TOKEN_TTL_SECS,
    MAX_AGENT_TOKEN_TTL_SECS,
};
use walletd_core::Wallet;

#[derive(Subcommand)]
pub enum AgentTokenCommand {
    /// Issue a token that lets the ISV client act for the merchant client; printed once.
    Issue {
        /// The ISV's client id: it signs the requests with its own key.
        #[arg(long)]
        isv: String,
        /// The merchant's client id: the requests act for it (its payments, limits, keys).
        #[arg(long)]
        merchant: String,
        /// How long the token is good, in seconds (default one year, at most two).
        #[arg(long, default_value_t = DEFAULT_AGENT_TOKEN_TTL_SECS)]
        ttl_secs: i64,
        /// Comma-separated API names: pay, inquiryPayment, cancel, refund, inquiryRefund, capture,
        /// applyToken, cancelToken, inquiryUserInfo. Default: the payment APIs (the first six).
        #[arg(long)]
        scope: Option<String>,
    },
    /// The grants, newest first: id, ISV, merchant, scope, expiry, status (never the token).
    List {
        /// One JSON object a line instead of tab-separated columns.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a grant, named by its id (from `list`) or by the token itself; effective at once.
    Revoke {
        /// The grant id or the token.
        token_or_id: String,
    },
}

pub async fn agent_token(wallet: &Wallet, command: AgentTokenCommand) -> anyhow::Result<()> {
    match command {
        AgentTokenCommand::Issue {
            isv,
            merchant,
            ttl_secs,
            scope,
        } => issue(wallet, isv, merchant, ttl_secs, scope).await?,
        AgentTokenCommand::List { json } => list(wallet, json).await?,
        AgentTokenCommand::Revoke { token_or_id } => match wallet.revoke_agent_grant(&token_or_id).await? {
            Some(g) => println!(
                "agent token {} (client {} for client {}) is revoked",
                g.grant_id, g.isv_client_id, g.merchant_client_id
            ),
            None => bail!("no agent token with this id or token"),
        },
    }
    Ok(())
}

/// Issues an agent token for the ISV to act for the merchant (the payment APIs when no scope
/// is given): the token alone on stdout, what it grants on stderr.
async fn issue(
    wallet: &Wallet,
    isv: String,
    merchant: String,
    ttl_secs: i64,
    scope: Option<String>,
) -> anyhow::Result<()> {
    if !(1..=MAX_AGENT_TOKEN_TTL_SECS).contains(&ttl_secs) {
        bail!("--ttl-secs must be between 1 and {MAX_AGENT_TOKEN_TTL_SECS}");
    }
    let scope = match scope {
        Some(text) => parse_agent_scope(&text).map_err(anyhow::Error::msg)?,
        None => AgentApi::PAYMENT_APIS.to_vec(),
    };
    let issued = wallet
        .issue_agent_token(AgentGrantRequest {
            isv_client_id: isv,
            merchant_client_id: merchant,
            scope,
            ttl_secs,
        })
        .await?;
    println!("{}", issued.token);
    let g = &issued.grant;
    eprintln!(
        "agent token {}: client {} acts for client {} (scope {}), valid until {}; it is shown only now",
        g.grant_id,
        g.isv_client_id,
        g.merchant_client_id,
        agent_scope_text(&g.scope),
        g.expires_at.to_rfc3339()
    );
    Ok(())
}

/// Every agent grant with its status now, a JSON object or a tab-separated line each.
async fn list(wallet: &Wallet, json: bool) -> anyhow::Result<()> {
    let now = wallet.now();
    for g in wallet.list_agent_grants().await? {
        if json {
            let line = json!({
                "id": g.grant_id,
                "isv": g.isv_client_id,
                "merchant": g.merchant_client_id,
                "scope": g.scope,
                "createdAt": g.created_at.to_rfc3339(),
                "expiresAt": g.expires_at.to_rfc3339(),
                "revokedAt": g.revoked_at.map(|t| t.to_rfc3339()),
                "status": g.status(now),
            });
            println!("{line}");
        } else {
            println!(
                "{}\t{}\t{}\t{}\t{}\t{}",
                g.grant_id,
                g.isv_client_id,
                g.merchant_client_id,
                agent_scope_text(&g.scope),
                g.expires_at.to_rfc3339(),
                g.status(now)
            );
        }
    }
    Ok(())
}
