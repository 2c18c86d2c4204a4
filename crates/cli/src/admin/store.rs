//! `walletd admin store-key|store-config|store-product|store-user …`: the operator's side of the
//! WS.WebTV store API.

use anyhow::{bail, Context as _};
use clap::Subcommand;
use walletd_core::store::{NewStoreKey, StoreConfig, StoreKeyMode, SECTION_STORE};
use walletd_core::Wallet;
use walletd_protocol::{Amount, Currency};

#[derive(Subcommand)]
pub enum StoreKeyCommand {
    /// Make a key (key id + shared secret) for a store client. The secret is printed once.
    Add {
        #[arg(long)]
        client_id: String,
        /// `hmac` (base64 HMAC-SHA256, the default) or `md5` (WebTV's simplified mode).
        #[arg(long, value_parser = ["hmac", "md5"], default_value = "hmac")]
        mode: String,
        /// How old a request's timestamp may be, in seconds.
        #[arg(long, default_value_t = 300)]
        expiration_secs: i64,
        /// An API section the key may call (repeatable; default: store).
        #[arg(long = "section")]
        sections: Vec<String>,
    },
    /// List keys (never their secrets).
    List {
        #[arg(long)]
        client_id: Option<String>,
        /// At most this many, newest first.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Stop accepting a key.
    Revoke { key_id: String },
}

#[derive(Subcommand)]
pub enum StoreConfigCommand {
    /// Set a store's currency, minimum purchase and what `get_config` reports.
    Set {
        #[arg(long)]
        client_id: String,
        /// ISO 4217 code; every amount of the store is in it.
        #[arg(long)]
        currency: String,
        /// Orders below this total cannot be placed, e.g. 4.00 (default 0: no minimum).
        #[arg(long, default_value = "0")]
        min_purchase: String,
        /// The store's own payment gateway, reported as EXTERNAL_GATEWAY.
        #[arg(long)]
        gateway_url: Option<String>,
        #[arg(long)]
        support_email: Option<String>,
    },
    /// Show a store's settings.
    Show {
        #[arg(long)]
        client_id: String,
    },
}

#[derive(Subcommand)]
pub enum StoreProductCommand {
    /// Add a product at a fixed price in the store currency; prints its product id.
    Add {
        #[arg(long)]
        client_id: String,
        #[arg(long)]
        name: String,
        /// A decimal in the store currency, e.g. 4.50.
        #[arg(long)]
        price: String,
    },
    /// List a store's products.
    List {
        #[arg(long)]
        client_id: String,
        /// At most this many, newest first.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
}

#[derive(Subcommand)]
pub enum StoreUserCommand {
    /// Make the store's user number IQ an existing wallet user (before the store first uses it;
    /// otherwise a wallet user is created for it on first use).
    Link {
        #[arg(long)]
        client_id: String,
        #[arg(long)]
        iq: i64,
        #[arg(long)]
        user: String,
    },
    /// List a store's users and the wallet users behind them.
    List {
        #[arg(long)]
        client_id: String,
        /// At most this many, newest first.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
}

async fn currency_of(wallet: &Wallet, client_id: &str) -> anyhow::Result<Currency> {
    Ok(wallet
        .store_config(client_id)
        .await?
        .with_context(|| {
            format!("client {client_id} has no store configuration: run `walletd admin store-config set`")
        })?
        .currency)
}

pub async fn key(wallet: &Wallet, command: StoreKeyCommand, json: bool) -> anyhow::Result<()> {
    match command {
        StoreKeyCommand::Add {
            client_id,
            mode,
            expiration_secs,
            sections,
        } => add_key(wallet, client_id, &mode, expiration_secs, sections).await?,
        StoreKeyCommand::List { client_id, limit } => list_keys(wallet, client_id, limit, json).await?,
        StoreKeyCommand::Revoke { key_id } => {
            let k = wallet.store_revoke_key(&key_id).await?;
            println!("store key {} of client {} is revoked", k.key_id, k.client_id);
        }
    }
    Ok(())
}

/// Makes a store key for a client (the store section when no section is named) and prints its
/// id and shared secret, the one time the secret is shown.
async fn add_key(
    wallet: &Wallet,
    client_id: String,
    mode: &str,
    expiration_secs: i64,
    sections: Vec<String>,
) -> anyhow::Result<()> {
    let mode = StoreKeyMode::parse(mode).context("mode is hmac or md5")?;
    let sections = if sections.is_empty() {
        vec![SECTION_STORE.to_owned()]
    } else {
        sections
    };
    let key = wallet
        .store_add_key(NewStoreKey {
            client_id,
            mode,
            expiration_secs,
            sections,
        })
        .await?;
    println!("store key added for client {}", key.client_id);
    println!("key id:        {}", key.key_id);
    println!("shared secret: {}", key.secret);
    println!(
        "mode {}, requests valid for {} s, sections {}",
        key.mode.as_str(),
        key.expiration_secs,
        key.sections.join(",")
    );
    println!("Keep the secret safe: it is shown only now.");
    Ok(())
}

/// The newest `limit` store keys (of one client, or of all), never their secrets, as a table or
/// JSON.
async fn list_keys(wallet: &Wallet, client_id: Option<String>, limit: u32, json: bool) -> anyhow::Result<()> {
    let mut keys = wallet.store_list_keys(client_id).await?;
    keys.reverse(); // stored oldest first: newest first
    keys.truncate(limit as usize);
    if json {
        let docs: Vec<serde_json::Value> = keys
            .iter()
            .map(|k| {
                serde_json::json!({
                    "key_id": k.key_id,
                    "client_id": k.client_id,
                    "mode": k.mode.as_str(),
                    "expiration_secs": k.expiration_secs,
                    "sections": k.sections,
                    "revoked": k.revoked,
                    "created_at": k.created_at.to_rfc3339(),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&docs)?);
        return Ok(());
    }
    println!(
        "{:<32} {:<20} {:<5} {:>8} {:<12} {:<8} CREATED",
        "KEY ID", "CLIENT", "MODE", "WINDOW", "SECTIONS", "STATE"
    );
    for k in keys {
        println!(
            "{:<32} {:<20} {:<5} {:>7}s {:<12} {:<8} {}",
            k.key_id,
            k.client_id,
            k.mode.as_str(),
            k.expiration_secs,
            k.sections.join(","),
            if k.revoked { "revoked" } else { "active" },
            k.created_at.format("%Y-%m-%d %H:%M:%S")
        );
    }
    Ok(())
}

pub async fn config(wallet: &Wallet, command: StoreConfigCommand) -> anyhow::Result<()> {
    match command {
        StoreConfigCommand::Set {
            client_id,
            currency,
            min_purchase,
            gateway_url,
            support_email,
        } => {
            let currency: Currency = currency.to_ascii_uppercase().parse()?;
            let min = Amount::parse_decimal(currency, &min_purchase)?;
            let c = wallet
                .store_set_config(StoreConfig {
                    client_id,
                    currency,
                    min_purchase_minor: min.value_minor(),
                    gateway_url,
                    support_email,
                    updated_at: wallet.now(),
                })
                .await?;
            println!(
                "store {}: currency {}, minimum purchase {}",
                c.client_id, c.currency, min
            );
        }
        StoreConfigCommand::Show { client_id } => {
            let c = wallet
                .store_config(&client_id)
                .await?
                .with_context(|| format!("client {client_id} has no store configuration"))?;
            println!("{}", serde_json::to_string_pretty(&c)?);
        }
    }
    Ok(())
}

pub async fn product(wallet: &Wallet, command: StoreProductCommand, json: bool) -> anyhow::Result<()> {
    match command {
        StoreProductCommand::Add {
            client_id,
            name,
            price,
        } => {
            let currency = currency_of(wallet, &client_id).await?;
            let price = Amount::parse_decimal(currency, &price)?;
            let p = wallet.store_add_product(&client_id, &name, price).await?;
            println!("product {} added: {} at {price}", p.product_id, p.name);
        }
        StoreProductCommand::List { client_id, limit } => {
            let currency = currency_of(wallet, &client_id).await?;
            let mut products = wallet.store_list_products(&client_id).await?;
            products.sort_by_key(|p| std::cmp::Reverse(p.product_id));
            products.truncate(limit as usize);
            if json {
                let docs: Vec<serde_json::Value> = products
                    .iter()
                    .map(|p| {
                        serde_json::json!({
                            "product_id": p.product_id,
                            "name": p.name,
                            "price": {"currency": currency.code(), "value": p.price_minor.to_string()},
                            "created_at": p.created_at.to_rfc3339(),
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&docs)?);
                return Ok(());
            }
            println!("PRODUCT\tNAME\tPRICE");
            for p in products {
                let price = Amount::from_minor(currency, p.price_minor)?;
                println!("{}\t{}\t{price}", p.product_id, p.name);
            }
        }
    }
    Ok(())
}

pub async fn user(wallet: &Wallet, command: StoreUserCommand, json: bool) -> anyhow::Result<()> {
    match command {
        StoreUserCommand::Link { client_id, iq, user } => {
            if iq < 1 {
                bail!("a store user id is a number of at least 1");
            }
            let su = wallet.store_link_user(&client_id, iq, &user).await?;
            println!(
                "store user {} of {} is wallet user {}",
                su.iq, su.client_id, su.user_id
            );
        }
        StoreUserCommand::List { client_id, limit } => {
            let mut users = wallet.store_list_users(&client_id).await?;
            users.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.iq.cmp(&a.iq)));
            users.truncate(limit as usize);
            if json {
                let docs: Vec<serde_json::Value> = users
                    .iter()
                    .map(|su| {
                        serde_json::json!({
                            "iq": su.iq,
                            "user_id": su.user_id,
                            "cart_lines": su.cart.len(),
                            "created_at": su.created_at.to_rfc3339(),
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&docs)?);
                return Ok(());
            }
            println!("IQ\tUSER\tCART");
            for su in users {
                println!("{}\t{}\t{} product(s) in cart", su.iq, su.user_id, su.cart.len());
            }
        }
    }
    Ok(())
}
