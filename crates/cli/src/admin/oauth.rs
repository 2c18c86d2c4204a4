//! `walletd admin auth-code|token|payment-code …`: the operator's side of mini-program OAuth and
//! payment codes. A code is printed alone on stdout (so `CODE=$(walletd admin …)`
//! works); what it is good for goes to stderr.

use anyhow::{bail, Context as _};
use clap::Subcommand;
use std::collections::BTreeMap;
use walletd_core::oauth::{parse_scopes, scopes_text, Grant};
use walletd_core::Wallet;
use walletd_protocol::Currency;
use walletd_server::Config;

#[derive(Subcommand)]
pub enum AuthCodeCommand {
    /// Issue a single-use auth code as if the user had allowed the mini program on the consent
    /// page; the merchant exchanges it with applyToken.
    Issue {
        /// The wallet user who grants.
        #[arg(long)]
        user: String,
        /// The merchant client whose server calls applyToken.
        #[arg(long)]
        client: String,
        /// The mini program (v2 appId; v1 referenceClientId names it too).
        #[arg(long)]
        app_id: Option<String>,
        /// Comma-separated, e.g. auth_base,auth_user,USER_NICKNAME,USER_AVATAR,AGREEMENT_PAY.
        #[arg(long)]
        scopes: String,
        /// With AGREEMENT_PAY: the largest single payment as CURRENCY:MINOR_UNITS, e.g. USD:5000
        /// (repeatable, one per currency).
        #[arg(long = "agreement-limit")]
        agreement_limits: Vec<String>,
        /// How long the code is good (default: oauth.auth_code_ttl_secs).
        #[arg(long)]
        ttl_secs: Option<i64>,
    },
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// The token pairs a user granted (never the tokens themselves: only their hashes are kept).
    List {
        #[arg(long)]
        user: String,
        /// At most this many, newest first.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Revoke what a user granted (to one client, or to all), or the pair of one access token.
    Revoke {
        /// Every live token pair of this user.
        #[arg(
            long,
            conflicts_with = "access_token",
            required_unless_present = "access_token"
        )]
        user: Option<String>,
        /// With --user: only the pairs granted to this client.
        #[arg(long, requires = "user")]
        client: Option<String>,
        /// The pair of this access token, whoever holds it.
        #[arg(long)]
        access_token: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum PaymentCodeCommand {
    /// Issue a one-time payment code for a user, as their app would show it.
    Issue {
        #[arg(long)]
        user: String,
        /// How long the code is good (default: oauth.payment_code_ttl_secs).
        #[arg(long)]
        ttl_secs: Option<i64>,
    },
}

fn parse_agreement_limits(items: &[String]) -> anyhow::Result<BTreeMap<String, i64>> {
    let mut out = BTreeMap::new();
    for item in items {
        let (cur, minor) = item
            .split_once(':')
            .context("an agreement limit is CURRENCY:MINOR_UNITS, e.g. USD:5000")?;
        let cur: Currency = cur.to_ascii_uppercase().parse()?;
        let minor: i64 = minor
            .parse()
            .with_context(|| format!("{minor:?} is not a whole number of minor units"))?;
        out.insert(cur.code().to_owned(), minor);
    }
    Ok(out)
}

pub async fn auth_code(config: &Config, wallet: &Wallet, command: AuthCodeCommand) -> anyhow::Result<()> {
    match command {
        AuthCodeCommand::Issue {
            user,
            client,
            app_id,
            scopes,
            agreement_limits,
            ttl_secs,
        } => {
            let scopes = parse_scopes(&scopes).map_err(anyhow::Error::msg)?;
            let grant = Grant {
                client_id: client,
                app_id,
                user_id: user,
                scopes,
                agreement_limits: parse_agreement_limits(&agreement_limits)?,
            };
            grant.check().map_err(anyhow::Error::msg)?;
            let ttl = ttl_secs.unwrap_or(config.oauth.auth_code_ttl_secs);
            let issued = wallet.issue_auth_code(grant.clone(), ttl).await?;
            println!("{}", issued.code);
            eprintln!(
                "auth code for user {} → client {}{} (scopes {}), single use, valid until {}",
                grant.user_id,
                grant.client_id,
                grant
                    .app_id
                    .as_deref()
                    .map(|a| format!(", appId {a}"))
                    .unwrap_or_default(),
                scopes_text(&grant.scopes),
                issued.expires_at.to_rfc3339()
            );
        }
    }
    Ok(())
}

pub async fn token(wallet: &Wallet, command: TokenCommand, json: bool) -> anyhow::Result<()> {
    match command {
        TokenCommand::List { user, limit } => {
            let mut tokens = wallet.tokens_of_user(&user).await?;
            tokens.reverse(); // stored in creation order: newest first
            tokens.truncate(limit as usize);
            let mut docs = Vec::new();
            if !json {
                println!("TOKEN ID\tSTATE\tCLIENT\tAPP\tSCOPES\tACCESS UNTIL\tREFRESH UNTIL");
            }
            for t in tokens {
                let state = if t.revoked_at.is_some() {
                    "revoked"
                } else if t.rotated_at.is_some() {
                    "rotated"
                } else if wallet.now() >= t.refresh_expires_at {
                    "expired"
                } else {
                    "live"
                };
                if json {
                    docs.push(serde_json::json!({
                        "token_id": t.token_id,
                        "state": state,
                        "client_id": t.grant.client_id,
                        "app_id": t.grant.app_id,
                        "scopes": scopes_text(&t.grant.scopes),
                        "access_expires_at": t.access_expires_at.to_rfc3339(),
                        "refresh_expires_at": t.refresh_expires_at.to_rfc3339(),
                    }));
                    continue;
                }
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    t.token_id,
                    state,
                    t.grant.client_id,
                    t.grant.app_id.as_deref().unwrap_or("-"),
                    scopes_text(&t.grant.scopes),
                    t.access_expires_at.to_rfc3339(),
                    t.refresh_expires_at.to_rfc3339()
                );
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&docs)?);
            }
        }
        TokenCommand::Revoke {
            user,
            client,
            access_token,
        } => match (user, access_token) {
            (Some(user), None) => {
                let n = wallet.revoke_user_tokens(&user, client.clone()).await?;
                println!(
                    "revoked {n} token pair(s) of user {user}{}",
                    client.map(|c| format!(" for client {c}")).unwrap_or_default()
                );
            }
            (None, Some(token)) => {
                if !wallet.revoke_access_token(&token).await? {
                    bail!("no such access token");
                }
                println!("the token pair is revoked");
            }
            _ => bail!("name either --user or --access-token"),
        },
    }
    Ok(())
}

pub async fn payment_code(
    config: &Config,
    wallet: &Wallet,
    command: PaymentCodeCommand,
) -> anyhow::Result<()> {
    match command {
        PaymentCodeCommand::Issue { user, ttl_secs } => {
            let ttl = ttl_secs.unwrap_or(config.oauth.payment_code_ttl_secs);
            let issued = wallet.issue_payment_code(&user, ttl).await?;
            println!("{}", issued.code);
            eprintln!(
                "payment code of user {user}, single use, valid until {}",
                issued.expires_at.to_rfc3339()
            );
        }
    }
    Ok(())
}
