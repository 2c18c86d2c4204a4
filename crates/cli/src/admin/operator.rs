//! `walletd admin operator …`: the people who may sign in to the operator console. Each change is
//! written to the console's audit log (as `admin-cli`) in the same transaction.

use anyhow::{bail, Context as _};
use clap::Subcommand;
use std::io::BufRead as _;
use walletd_core::operators::{valid_operator_name, AuditEntry, Operator};
use walletd_core::{CoreError, Wallet};

/// The audit log's name for changes made with `walletd admin`.
const CLI_OPERATOR: &str = "admin-cli";
/// The shortest password accepted for an operator.
const MIN_PASSWORD_CHARS: usize = 12;

#[derive(Subcommand)]
pub enum OperatorCommand {
    /// Add an operator. The password is read from the first line of standard input (not from the
    /// command line, where other users of the machine could see it).
    Add {
        /// Letters, digits, `.`, `-`, `_`, `@`; at most 64.
        name: String,
    },
    /// List the operators, and which are locked after wrong passwords.
    List,
    /// Let a locked operator sign in again (clears the count of wrong passwords).
    Unlock { name: String },
    /// Remove an operator: their sign-in ends at their next request.
    Remove { name: String },
}

fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        bail!("the password must have at least {MIN_PASSWORD_CHARS} characters (read from standard input)");
    }
    if chars > walletd_server::pin::MAX_PIN_CHARS {
        bail!(
            "the password must have at most {} characters",
            walletd_server::pin::MAX_PIN_CHARS
        );
    }
    Ok(password)
}

pub async fn run(wallet: &Wallet, max_attempts: u32, command: OperatorCommand) -> anyhow::Result<()> {
    match command {
        OperatorCommand::Add { name } => add_operator(wallet, name).await,
        OperatorCommand::List => list_operators(wallet, max_attempts).await,
        OperatorCommand::Unlock { name } => unlock_operator(wallet, name).await,
        OperatorCommand::Remove { name } => remove_operator(wallet, name).await,
    }
}

/// Adds an operator with the password read from standard input (stored as an argon2 hash);
/// refuses a malformed name or one already taken.
async fn add_operator(wallet: &Wallet, name: String) -> anyhow::Result<()> {
    if !valid_operator_name(&name) {
        bail!("operator names are 1 to 64 letters, digits, '.', '-', '_' or '@'");
    }
    let password = read_password()?;
    let hash = walletd_server::pin::hash_pin(&password).map_err(anyhow::Error::msg)?;
    let n = name.clone();
    wallet
        .write(move |ctx, tx| {
            if tx.get_operator(&n)?.is_some() {
                return Err(CoreError::Invalid(format!("operator {n} exists already")));
            }
            tx.insert_operator(&Operator {
                name: n.clone(),
                password_hash: hash.clone(),
                failed_attempts: 0,
                created_at: ctx.now(),
            })?;
            tx.insert_audit(&AuditEntry::new(ctx.now(), CLI_OPERATOR, "add_operator", &n, ""))?;
            Ok(())
        })
        .await?;
    println!("operator {name} added");
    Ok(())
}

/// Every operator, a line each: locked once their wrong passwords reach `max_attempts`.
async fn list_operators(wallet: &Wallet, max_attempts: u32) -> anyhow::Result<()> {
    let operators = wallet.read(|_, tx| Ok(tx.list_operators()?)).await?;
    for o in operators {
        let state = if o.failed_attempts >= max_attempts {
            "LOCKED"
        } else {
            "ACTIVE"
        };
        println!(
            "{}\t{}\t{} wrong password(s)\tadded {}",
            o.name,
            state,
            o.failed_attempts,
            o.created_at.format("%Y-%m-%d %H:%M UTC")
        );
    }
    Ok(())
}

/// Clears an operator's count of wrong passwords, so a locked operator may sign in again.
async fn unlock_operator(wallet: &Wallet, name: String) -> anyhow::Result<()> {
    let n = name.clone();
    wallet
        .write(move |ctx, tx| {
            let mut o = tx
                .get_operator(&n)?
                .ok_or_else(|| CoreError::NotFound(format!("operator {n}")))?;
            o.failed_attempts = 0;
            tx.update_operator(&o)?;
            tx.insert_audit(&AuditEntry::new(
                ctx.now(),
                CLI_OPERATOR,
                "unlock_operator",
                &n,
                "",
            ))?;
            Ok(())
        })
        .await?;
    println!("operator {name} may sign in again");
    Ok(())
}

/// Removes an operator; their console session ends at their next request.
async fn remove_operator(wallet: &Wallet, name: String) -> anyhow::Result<()> {
    let n = name.clone();
    wallet
        .write(move |ctx, tx| {
            if !tx.delete_operator(&n)? {
                return Err(CoreError::NotFound(format!("operator {n}")));
            }
            tx.insert_audit(&AuditEntry::new(
                ctx.now(),
                CLI_OPERATOR,
                "remove_operator",
                &n,
                "",
            ))?;
            Ok(())
        })
        .await?;
    println!("operator {name} removed");
    Ok(())
}
