//! `walletd admin …`: the operator's commands. Each opens the data directory's database; the
//! server may be running at the same time.

// ---- store API: crates/cli/src/admin/store.rs ----
mod store;
// ---- OAuth, tokens and payment codes: crates/cli/src/admin/oauth.rs ----
mod oauth;
// ---- migrate, export, import: crates/cli/src/admin/database.rs ----
mod database;
// ---- agent tokens (ISVs acting for merchants): crates/cli/src/admin/agent.rs ----
mod agent;
// ---- operator console: crates/cli/src/admin/operator.rs ----
mod operator;
// ---- operators' output (text tables, JSON) and reports ----
mod output;
mod report;
mod views;

use output::{money_text, print_json, print_table};
use serde_json::json;

use anyhow::{bail, Context as _};
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use walletd_core::clock::{RandomIds, SystemClock};
use walletd_core::ledger::{Account, AccountKind};
use walletd_core::outbox::OutboxEntry;
use walletd_core::parties::{Client, Limits, PartyStatus, User};
use walletd_core::payments::{ApprovalOutcome, Payment};
use walletd_core::Wallet;
use walletd_protocol::crypto::PublicKey;
use walletd_protocol::{Amount, Currency};
use walletd_server::Config;

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Merchant clients.
    Client {
        #[command(subcommand)]
        command: ClientCommand,
    },
    /// Wallet users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// The wallet's own signing key.
    WalletKey {
        #[command(subcommand)]
        command: WalletKeyCommand,
    },
    /// Balances of every account (or of one user or client).
    Balance {
        #[arg(long)]
        user: Option<String>,
        #[arg(long)]
        client: Option<String>,
    },
    /// Check the books: per currency debits equal credits, no wallet overdrawn. Exits 1 if not.
    Verify,
    // ---- database ----
    /// Apply the schema migrations this walletd knows (serve does it too) and print the version.
    Migrate,
    /// Write every row of every table as JSON lines, from one snapshot (the server may run).
    Export {
        /// The file to write (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Load a dump from `walletd admin export` into a new, empty PostgreSQL database (give it with
    /// --database), then check the books.
    Import {
        /// The dump file, or `-` for standard input.
        file: PathBuf,
    },
    /// Payments.
    Payment {
        #[command(subcommand)]
        command: PaymentCommand,
    },
    // ---- notifications ----
    /// Notifications to merchants (the outbox): look and resend.
    Notification {
        #[command(subcommand)]
        command: NotificationCommand,
    },
    // ---- OAuth and payment codes ----
    /// Auth codes for mini programs, issued without the consent page (sandbox, support).
    AuthCode {
        #[command(subcommand)]
        command: oauth::AuthCodeCommand,
    },
    /// Access and refresh tokens users granted to mini programs: list and revoke.
    Token {
        #[command(subcommand)]
        command: oauth::TokenCommand,
    },
    /// One-time payment codes (in-store payments), issued without the user's app.
    PaymentCode {
        #[command(subcommand)]
        command: oauth::PaymentCodeCommand,
    },
    /// Agent tokens: an ISV client acting for a merchant client (issue, list, revoke).
    AgentToken {
        #[command(subcommand)]
        command: agent::AgentTokenCommand,
    },
    // ---- store API ----
    /// Operators of the web console (`console_listen`): add, list, unlock, remove.
    Operator {
        #[command(subcommand)]
        command: operator::OperatorCommand,
    },
    /// Store API keys (key id + shared secret) of store clients.
    StoreKey {
        #[command(subcommand)]
        command: store::StoreKeyCommand,
    },
    /// A store's currency, minimum purchase and gateway.
    StoreConfig {
        #[command(subcommand)]
        command: store::StoreConfigCommand,
    },
    /// A store's products (fixed prices in the store currency).
    StoreProduct {
        #[command(subcommand)]
        command: store::StoreProductCommand,
    },
    /// A store's users (the store's number `iq` → a wallet user).
    StoreUser {
        #[command(subcommand)]
        command: store::StoreUserCommand,
    },
    /// Refunds.
    Refund {
        #[command(subcommand)]
        command: RefundCommand,
    },
    /// Reports for the back office (settlement of a day).
    Report {
        #[command(subcommand)]
        command: report::ReportCommand,
    },
}

#[derive(Subcommand)]
pub enum ClientCommand {
    /// Register a merchant client with its public key (key version 1).
    Add(NewClient),
    /// Change a registered client: its redirect URLs, name or notify URL.
    Update {
        #[arg(long)]
        client_id: String,
        /// Replace the registered OAuth redirect URLs with these (repeatable).
        #[arg(long = "redirect-url")]
        redirect_urls: Vec<String>,
        /// Remove every registered redirect URL.
        #[arg(long, conflicts_with = "redirect_urls")]
        clear_redirect_urls: bool,
        #[arg(long)]
        name: Option<String>,
        /// Where notifications go when a payment names no notify URL.
        #[arg(long)]
        notify_url: Option<String>,
    },
    /// List clients and their key versions, newest first.
    List {
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Show one client: ids, status, limits, notify and redirect URLs, key versions.
    Show { client_id: String },
    /// Add a new key version; older versions stay valid until removed.
    RotateKey {
        #[arg(long)]
        client_id: String,
        #[arg(long)]
        public_key: PathBuf,
    },
    /// Stop accepting one key version.
    RemoveKey {
        #[arg(long)]
        client_id: String,
        #[arg(long)]
        version: u32,
    },
    /// Freeze a client (its payments fail with PARTNER_STATUS_ABNORMAL).
    Freeze { client_id: String },
    /// Make a frozen client active again.
    Unfreeze { client_id: String },
    /// Pay out part of a client's balance to its bank, e.g. `payout demo-merchant 100.00 USD`.
    Payout {
        client_id: String,
        amount: String,
        currency: String,
    },
}

// The options of `client add` (its help text is the variant's doc comment).
#[derive(Args)]
pub struct NewClient {
    #[arg(long)]
    client_id: String,
    #[arg(long)]
    name: String,
    /// The merchant's public key: a PEM file or a file holding the bare base64.
    #[arg(long)]
    public_key: PathBuf,
    /// The v1 partnerId (default: the client id).
    #[arg(long)]
    partner_id: Option<String>,
    /// A v2 appId of this client (repeatable; none means any appId).
    #[arg(long = "app-id")]
    app_ids: Vec<String>,
    /// A currency this client may take (repeatable; none means any).
    #[arg(long = "currency")]
    currencies: Vec<String>,
    /// Where notifications go when a payment names no notify URL.
    #[arg(long)]
    notify_url: Option<String>,
    /// Per-payment limit as CURRENCY:MINOR_UNITS, e.g. USD:500000 (repeatable).
    #[arg(long = "per-payment-limit")]
    per_payment_limits: Vec<String>,
    /// Daily limit as CURRENCY:MINOR_UNITS (repeatable).
    #[arg(long = "daily-limit")]
    daily_limits: Vec<String>,
    /// An OAuth redirect URL the consent page may send auth codes to (repeatable). Matched on
    /// scheme, host, port and path; the query may differ. None: codes are only shown.
    #[arg(long = "redirect-url")]
    redirect_urls: Vec<String>,
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Register a wallet user.
    Add {
        #[arg(long)]
        user_id: String,
        /// Phone number or e-mail the user signs in with.
        #[arg(long)]
        login: String,
        #[arg(long)]
        name: String,
        /// PIN or password for the cashier (stored as an argon2 hash).
        #[arg(long, env = "WALLETD_USER_PIN", hide_env_values = true)]
        pin: Option<String>,
        #[arg(long = "per-payment-limit")]
        per_payment_limits: Vec<String>,
        #[arg(long = "daily-limit")]
        daily_limits: Vec<String>,
    },
    /// List users with their available balances, newest first.
    List {
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Show one user: login, status, limits, sign-in state and balances (never the PIN hash).
    Show { user_id: String },
    /// Freeze a user (payments fail with USER_STATUS_ABNORMAL).
    Freeze { user_id: String },
    /// Make a frozen user active again.
    Unfreeze { user_id: String },
    /// Clear a user's wrong-PIN count (the cashier locks sign-in after too many).
    Unlock { user_id: String },
    /// Add money to a user's wallet from the funding account, e.g. `top-up alice 100.00 USD`.
    TopUp {
        user_id: String,
        amount: String,
        currency: String,
    },
}

#[derive(Subcommand)]
pub enum WalletKeyCommand {
    /// Print the wallet's public key, for merchants to verify our signatures.
    Show {
        #[arg(long, value_parser = ["pem", "base64"], default_value = "pem")]
        format: String,
    },
}

#[derive(Subcommand)]
pub enum PaymentCommand {
    /// The user approves: hold (if not yet held) and settle to the merchant.
    Confirm {
        payment_id: String,
        /// The paying user; needed when nobody signed in at the cashier yet.
        #[arg(long)]
        user: Option<String>,
    },
    /// The user declines: the payment fails.
    Decline { payment_id: String },
    /// Show one payment.
    Show { payment_id: String },
    /// The latest payments, newest first.
    List {
        #[arg(long)]
        client: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
}

#[derive(Subcommand)]
pub enum RefundCommand {
    /// The latest refunds, newest first.
    List {
        #[arg(long)]
        client: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
}

fn open(config: &Config) -> anyhow::Result<Wallet> {
    walletd_server::open_wallet(config, Arc::new(SystemClock), Arc::new(RandomIds::default()))
}

fn parse_limits(
    per_payment: &[String],
    daily: &[String],
) -> anyhow::Result<std::collections::BTreeMap<String, Limits>> {
    let mut out: std::collections::BTreeMap<String, Limits> = Default::default();
    for (list, daily_kind) in [(per_payment, false), (daily, true)] {
        for item in list {
            let (cur, minor) = item
                .split_once(':')
                .context("a limit is CURRENCY:MINOR_UNITS, e.g. USD:500000")?;
            let cur: Currency = cur.parse()?;
            let minor: i64 = minor
                .parse()
                .with_context(|| format!("{minor:?} is not a whole number of minor units"))?;
            let entry = out.entry(cur.code().to_owned()).or_default();
            if daily_kind {
                entry.daily_minor = Some(minor);
            } else {
                entry.per_payment_minor = Some(minor);
            }
        }
    }
    Ok(out)
}

fn read_public_key(path: &Path) -> anyhow::Result<(String, PublicKey)> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let key = PublicKey::from_text(&text)
        .with_context(|| format!("{} is not a usable public key", path.display()))?;
    Ok((text.trim().to_owned(), key))
}

pub async fn run(config: &Config, command: AdminCommand, json: bool) -> anyhow::Result<ExitCode> {
    let ok = ExitCode::SUCCESS;
    if let AdminCommand::WalletKey {
        command: WalletKeyCommand::Show { format },
    } = &command
    {
        print_wallet_key(config, format)?;
        return Ok(ok);
    }
    if let Some(code) = database::run(config, &command).await? {
        return Ok(code); // these commands open the database their own way
    }
    let wallet = open(config)?;
    match command {
        AdminCommand::WalletKey { .. } => {}
        AdminCommand::Client { command } => client(config, &wallet, command, json).await?,
        AdminCommand::User { command } => user(&wallet, command, json).await?,
        AdminCommand::Balance { user, client } => print_balances(&wallet, user, client, json).await?,
        AdminCommand::Verify => return verify_books(&wallet, json).await,
        AdminCommand::Payment { command } => payment(&wallet, command, json).await?,
        AdminCommand::Refund { command } => refund(&wallet, command, json).await?,
        AdminCommand::Notification { command } => notification(&wallet, command, json).await?,
        // ---- OAuth and payment codes ----
        AdminCommand::AuthCode { command } => oauth::auth_code(config, &wallet, command).await?,
        AdminCommand::Token { command } => oauth::token(&wallet, command, json).await?,
        AdminCommand::PaymentCode { command } => oauth::payment_code(config, &wallet, command).await?,
        AdminCommand::AgentToken { command } => agent::agent_token(&wallet, command).await?,
        // ---- store API ----
        AdminCommand::Operator { command } => {
            operator::run(&wallet, config.console.max_password_attempts.max(1), command).await?
        }
        AdminCommand::StoreKey { command } => store::key(&wallet, command, json).await?,
        AdminCommand::StoreConfig { command } => store::config(&wallet, command).await?,
        AdminCommand::StoreProduct { command } => store::product(&wallet, command, json).await?,
        AdminCommand::StoreUser { command } => store::user(&wallet, command, json).await?,
        AdminCommand::Report { command } => report::run(&wallet, command, json).await?,
        // ---- database: handled by database::run above ----
        AdminCommand::Migrate | AdminCommand::Export { .. } | AdminCommand::Import { .. } => {}
    }
    Ok(ok)
}

/// The wallet's public key (created with the data directory's wallet key if there is none yet),
/// as PEM or as bare base64.
fn print_wallet_key(config: &Config, format: &str) -> anyhow::Result<()> {
    let key = walletd_server::wallet_key::load_or_create(&config.data_dir)?;
    let public = key.public_key();
    if format == "base64" {
        println!("{}", public.to_spki_base64());
    } else {
        print!("{}", public.to_spki_pem());
    }
    Ok(())
}

/// The balances of one user's wallet accounts, of one client's merchant accounts, or of every
/// account: posted, held and available, as a table or JSON.
async fn print_balances(
    wallet: &Wallet,
    user: Option<String>,
    client: Option<String>,
    json: bool,
) -> anyhow::Result<()> {
    let accounts = match (user, client) {
        (Some(u), _) => wallet.accounts_of(AccountKind::UserWallet, &u).await?,
        (None, Some(c)) => wallet.accounts_of(AccountKind::Merchant, &c).await?,
        (None, None) => wallet.accounts().await?,
    };
    if json {
        print_json(&json!(views::balances_json(&accounts)))?;
    } else {
        let rows: Vec<Vec<String>> = accounts
            .iter()
            .map(|a| {
                vec![
                    a.kind.as_str().to_owned(),
                    a.owner_id.clone(),
                    money_text(a.currency, a.credits_posted.saturating_sub(a.debits_posted)),
                    money_text(a.currency, a.debits_pending),
                    money_text(a.currency, a.available_balance()),
                ]
            })
            .collect();
        print_table(&["KIND", "OWNER", "POSTED", "HELD", "AVAILABLE"], &rows);
    }
    Ok(())
}

/// Checks the books and prints the totals per currency and any problem, as text or JSON; the
/// exit code is 1 when the books do not balance.
async fn verify_books(wallet: &Wallet, json: bool) -> anyhow::Result<ExitCode> {
    let report = wallet.verify().await?;
    if json {
        let totals: serde_json::Map<String, serde_json::Value> = report
            .totals
            .iter()
            .filter_map(|(cur, (dp, cp, dpe, cpe))| {
                let c = Currency::from_code(cur)?;
                Some((
                    cur.clone(),
                    json!({
                        "posted_debits": output::money_json(c, *dp),
                        "posted_credits": output::money_json(c, *cp),
                        "pending_debits": output::money_json(c, *dpe),
                        "pending_credits": output::money_json(c, *cpe),
                    }),
                ))
            })
            .collect();
        print_json(&json!({
            "sound": report.is_sound(),
            "accounts_checked": report.accounts_checked,
            "transfers_checked": report.transfers_checked,
            "totals": totals,
            "problems": report.problems,
        }))?;
        return Ok(if report.is_sound() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    for (cur, (dp, cp, dpe, cpe)) in &report.totals {
        println!("{cur}: posted debits {dp} credits {cp}; pending debits {dpe} credits {cpe}");
    }
    println!(
        "{} accounts, {} transfers checked",
        report.accounts_checked, report.transfers_checked
    );
    if report.is_sound() {
        println!("the books balance");
        Ok(ExitCode::SUCCESS)
    } else {
        for p in &report.problems {
            println!("PROBLEM: {p}");
        }
        Ok(ExitCode::from(1))
    }
}

/// The redirect URLs as they will be stored, or why one cannot be registered.
fn registrable_redirect_urls(urls: &[String]) -> anyhow::Result<Vec<String>> {
    urls.iter()
        .map(|u| walletd_server::consent::registrable_redirect_url(u).map_err(anyhow::Error::msg))
        .collect()
}

async fn client(config: &Config, wallet: &Wallet, command: ClientCommand, json: bool) -> anyhow::Result<()> {
    match command {
        ClientCommand::Add(new) => add_client(config, wallet, new).await?,
        ClientCommand::Update {
            client_id,
            redirect_urls,
            clear_redirect_urls,
            name,
            notify_url,
        } => {
            let redirect_urls = registrable_redirect_urls(&redirect_urls)?;
            let replace_urls = clear_redirect_urls || !redirect_urls.is_empty();
            let update = ClientUpdate {
                redirect_urls: replace_urls.then_some(redirect_urls),
                name,
                notify_url,
            };
            update_client(wallet, &client_id, update).await?;
        }
        ClientCommand::List { limit } => list_clients(wallet, limit, json).await?,
        ClientCommand::Show { client_id } => show_client(wallet, &client_id, json).await?,
        ClientCommand::RotateKey {
            client_id,
            public_key,
        } => rotate_client_key(wallet, &client_id, &public_key).await?,
        ClientCommand::RemoveKey { client_id, version } => {
            remove_client_key(wallet, &client_id, version).await?;
        }
        ClientCommand::Freeze { client_id } => {
            set_client_status(wallet, &client_id, PartyStatus::Frozen).await?;
        }
        ClientCommand::Unfreeze { client_id } => {
            set_client_status(wallet, &client_id, PartyStatus::Active).await?;
        }
        ClientCommand::Payout {
            client_id,
            amount,
            currency,
        } => pay_out(wallet, &client_id, &amount, &currency).await?,
    }
    Ok(())
}

/// The newest `limit` clients, as a table or JSON.
async fn list_clients(wallet: &Wallet, limit: u32, json: bool) -> anyhow::Result<()> {
    let mut clients = wallet.list_clients().await?;
    clients.sort_by(|a, b| {
        b.created_at
            .cmp(&a.created_at)
            .then(b.client_id.cmp(&a.client_id))
    });
    clients.truncate(limit as usize);
    if json {
        print_json(&json!(clients.iter().map(views::client_json).collect::<Vec<_>>()))?;
    } else {
        print_client_table(&clients);
    }
    Ok(())
}

/// One client with the balances of its merchant accounts, as text or JSON.
async fn show_client(wallet: &Wallet, client_id: &str, json: bool) -> anyhow::Result<()> {
    let c = wallet
        .get_client(client_id)
        .await?
        .with_context(|| format!("no client {client_id}"))?;
    if json {
        let mut v = views::client_json(&c);
        let balances = wallet.accounts_of(AccountKind::Merchant, client_id).await?;
        v["balances"] = json!(views::balances_json(&balances));
        print_json(&v)?;
    } else {
        let balances = wallet.accounts_of(AccountKind::Merchant, client_id).await?;
        print_client(&c, &balances);
    }
    Ok(())
}

/// Pays out `amount` (a decimal in `currency`) of a client's balance to its bank.
async fn pay_out(wallet: &Wallet, client_id: &str, amount: &str, currency: &str) -> anyhow::Result<()> {
    let cur: Currency = currency.to_ascii_uppercase().parse()?;
    let amount = Amount::parse_decimal(cur, amount)?;
    let id = wallet.payout(client_id, amount).await?;
    println!("paid out {amount} to {client_id} (transfer {id})");
    Ok(())
}

/// Registers a merchant client with its public key as key version 1.
async fn add_client(config: &Config, wallet: &Wallet, new: NewClient) -> anyhow::Result<()> {
    let NewClient {
        client_id,
        name,
        public_key,
        partner_id,
        app_ids,
        currencies,
        notify_url,
        per_payment_limits,
        daily_limits,
        redirect_urls,
    } = new;
    let redirect_urls = registrable_redirect_urls(&redirect_urls)?;
    let (text, key) = read_public_key(&public_key)?;
    let mut c = Client::new(&client_id, &name, wallet.now());
    if let Some(p) = partner_id {
        c.partner_id = p;
    }
    c.app_ids = app_ids;
    c.currencies = currencies.iter().map(|s| s.parse()).collect::<Result<_, _>>()?;
    if let Some(url) = &notify_url {
        check_client_notify_url(config, url)?;
    }
    c.default_notify_url = notify_url;
    c.limits = parse_limits(&per_payment_limits, &daily_limits)?;
    c.redirect_urls = redirect_urls;
    c.add_key(key.algorithm().as_str(), &text, wallet.now());
    let c = wallet.add_client(c).await?;
    println!(
        "client {} added (partnerId {}, key version 1, {})",
        c.client_id,
        c.partner_id,
        key.algorithm()
    );
    Ok(())
}

/// Checks a client's default notify URL like a payment's: http(s), and a public host unless
/// the operator allows private targets (`notifier.allow_private_targets`).
fn check_client_notify_url(config: &Config, url: &str) -> anyhow::Result<()> {
    walletd_server::notifier::target::check_notify_url(url, config.notifier.allow_private_targets)
        .map_err(|e| anyhow::anyhow!("PARAM_ILLEGAL: --notify-url: {e}"))?;
    Ok(())
}

/// Adds the next key version to a client; the older versions stay valid until removed.
async fn rotate_client_key(wallet: &Wallet, client_id: &str, public_key: &Path) -> anyhow::Result<()> {
    let (text, key) = read_public_key(public_key)?;
    let alg = key.algorithm().as_str().to_owned();
    let c = wallet
        .update_client(client_id, move |ctx, c| {
            c.add_key(&alg, &text, ctx.now());
            Ok(())
        })
        .await?;
    let v = c.keys.iter().map(|k| k.version).max().unwrap_or(1);
    println!("client {client_id}: key version {v} added; older versions stay valid until removed");
    Ok(())
}

/// Marks one key version of a client removed; NOT_FOUND when the client has no such version.
async fn remove_client_key(wallet: &Wallet, client_id: &str, version: u32) -> anyhow::Result<()> {
    wallet
        .update_client(client_id, move |_, c| {
            let k = c
                .keys
                .iter_mut()
                .find(|k| k.version == version)
                .ok_or_else(|| walletd_core::CoreError::NotFound(format!("key version {version}")))?;
            k.removed = true;
            Ok(())
        })
        .await?;
    println!("client {client_id}: key version {version} removed");
    Ok(())
}

/// What `client update` changes; `None` leaves a field as it is.
struct ClientUpdate {
    redirect_urls: Option<Vec<String>>,
    name: Option<String>,
    notify_url: Option<String>,
}

/// Applies `update` to a registered client and prints its redirect URLs as they now stand.
async fn update_client(wallet: &Wallet, client_id: &str, update: ClientUpdate) -> anyhow::Result<()> {
    let c = wallet
        .update_client(client_id, move |_, c| {
            if let Some(urls) = &update.redirect_urls {
                c.redirect_urls = urls.clone();
            }
            if let Some(n) = &update.name {
                c.name = n.clone();
            }
            if let Some(u) = &update.notify_url {
                c.default_notify_url = Some(u.clone());
            }
            Ok(())
        })
        .await?;
    println!(
        "client {} updated (redirect URLs: {})",
        c.client_id,
        if c.redirect_urls.is_empty() {
            "none".to_owned()
        } else {
            c.redirect_urls.join(" ")
        }
    );
    Ok(())
}

/// Sets a client's status: `freeze` freezes and `unfreeze` reactivates, whatever the status was,
/// so a script that repeats a command gets the same state.
async fn set_client_status(wallet: &Wallet, client_id: &str, status: PartyStatus) -> anyhow::Result<()> {
    wallet
        .update_client(client_id, move |_, c| {
            c.status = status;
            Ok(())
        })
        .await?;
    println!("client {client_id} is {}", status.as_str());
    Ok(())
}

/// The clients as a table, one row each.
fn print_client_table(clients: &[Client]) {
    let rows: Vec<Vec<String>> = clients
        .iter()
        .map(|c| {
            vec![
                c.client_id.clone(),
                c.name.clone(),
                c.partner_id.clone(),
                c.status.as_str().to_owned(),
                views::keys_text(c),
                c.redirect_urls.join(" "),
            ]
        })
        .collect();
    print_table(
        &["CLIENT", "NAME", "PARTNER ID", "STATUS", "KEYS", "REDIRECT URLS"],
        &rows,
    );
}

/// One client and its balances, a field a line.
fn print_client(c: &Client, balances: &[Account]) {
    println!("client:         {}", c.client_id);
    println!("name:           {}", c.name);
    println!("partner id:     {}", c.partner_id);
    println!(
        "app ids:        {}",
        if c.app_ids.is_empty() {
            "any".to_owned()
        } else {
            c.app_ids.join(", ")
        }
    );
    println!("status:         {}", c.status.as_str());
    println!(
        "currencies:     {}",
        if c.currencies.is_empty() {
            "any".to_owned()
        } else {
            c.currencies
                .iter()
                .map(|c| c.code())
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    println!("limits:         {}", views::limits_text(&c.limits));
    println!(
        "notify URL:     {}",
        c.default_notify_url.as_deref().unwrap_or("-")
    );
    println!(
        "redirect URLs:  {}",
        if c.redirect_urls.is_empty() {
            "-".to_owned()
        } else {
            c.redirect_urls.join(" ")
        }
    );
    println!("keys:           {}", views::keys_text(c));
    println!("balance:        {}", views::available_text(balances));
    println!("created at:     {}", views::time(c.created_at));
}

async fn user(wallet: &Wallet, command: UserCommand, json: bool) -> anyhow::Result<()> {
    match command {
        UserCommand::Add {
            user_id,
            login,
            name,
            pin,
            per_payment_limits,
            daily_limits,
        } => {
            let mut u = User::new(&user_id, &login, &name, wallet.now());
            u.limits = parse_limits(&per_payment_limits, &daily_limits)?;
            if let Some(pin) = pin {
                u.pin_hash = Some(walletd_server::pin::hash_pin(&pin).map_err(anyhow::Error::msg)?);
            }
            let u = wallet.add_user(u).await?;
            println!("user {} added (login {})", u.user_id, u.login);
        }
        UserCommand::List { limit } => list_users(wallet, limit, json).await?,
        UserCommand::Show { user_id } => {
            let u = wallet
                .get_user(&user_id)
                .await?
                .with_context(|| format!("no user {user_id}"))?;
            let accounts = wallet.accounts_of(AccountKind::UserWallet, &user_id).await?;
            if json {
                print_json(&views::user_json(&u, &accounts))?;
            } else {
                print_user(&u, &accounts);
            }
        }
        UserCommand::Freeze { user_id } => {
            set_user_status(wallet, &user_id, PartyStatus::Frozen).await?;
        }
        UserCommand::Unfreeze { user_id } => {
            set_user_status(wallet, &user_id, PartyStatus::Active).await?;
        }
        UserCommand::Unlock { user_id } => {
            wallet
                .update_user(&user_id, |u| {
                    u.failed_pin_attempts = 0;
                    Ok(())
                })
                .await?;
            println!("user {user_id} may sign in again");
        }
        UserCommand::TopUp {
            user_id,
            amount,
            currency,
        } => {
            let cur: Currency = currency.to_ascii_uppercase().parse()?;
            let amount = Amount::parse_decimal(cur, &amount)?;
            if amount.is_zero() {
                bail!("a top-up must be greater than zero");
            }
            let id = wallet.top_up(&user_id, amount).await?;
            println!("topped up {user_id} with {amount} (transfer {id})");
        }
    }
    Ok(())
}

/// The newest `limit` users with what they have available, as a table or JSON.
async fn list_users(wallet: &Wallet, limit: u32, json: bool) -> anyhow::Result<()> {
    let mut users = wallet.list_users().await?;
    users.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.user_id.cmp(&a.user_id)));
    users.truncate(limit as usize);
    let mut rows = Vec::new();
    let mut docs = Vec::new();
    for u in &users {
        let accounts = wallet.accounts_of(AccountKind::UserWallet, &u.user_id).await?;
        if json {
            docs.push(views::user_json(u, &accounts));
        } else {
            rows.push(vec![
                u.user_id.clone(),
                u.login.clone(),
                u.display_name.clone(),
                u.status.as_str().to_owned(),
                views::available_text(&accounts),
            ]);
        }
    }
    if json {
        print_json(&json!(docs))?;
    } else {
        print_table(&["USER", "LOGIN", "NAME", "STATUS", "AVAILABLE"], &rows);
    }
    Ok(())
}

/// One user, a field a line, then the balance of each wallet account.
fn print_user(u: &User, accounts: &[Account]) {
    println!("user:                {}", u.user_id);
    println!("login:               {}", u.login);
    println!("name:                {}", u.display_name);
    println!("status:              {}", u.status.as_str());
    println!(
        "PIN set:             {}",
        if u.pin_hash.is_some() { "yes" } else { "no" }
    );
    println!("failed PIN attempts: {}", u.failed_pin_attempts);
    println!("limits:              {}", views::limits_text(&u.limits));
    println!("created at:          {}", views::time(u.created_at));
    let rows: Vec<Vec<String>> = accounts
        .iter()
        .map(|a| {
            vec![
                money_text(a.currency, a.credits_posted.saturating_sub(a.debits_posted)),
                money_text(a.currency, a.debits_pending),
                money_text(a.currency, a.available_balance()),
            ]
        })
        .collect();
    println!();
    print_table(&["POSTED", "HELD", "AVAILABLE"], &rows);
}

/// Sets a user's status: `freeze` freezes and `unfreeze` reactivates, whatever the status was,
/// so a script that repeats a command gets the same state.
async fn set_user_status(wallet: &Wallet, user_id: &str, status: PartyStatus) -> anyhow::Result<()> {
    wallet
        .update_user(user_id, move |u| {
            u.status = status;
            Ok(())
        })
        .await?;
    println!("user {user_id} is {}", status.as_str());
    Ok(())
}

async fn payment(wallet: &Wallet, command: PaymentCommand, json: bool) -> anyhow::Result<()> {
    match command {
        PaymentCommand::Confirm { payment_id, user } => {
            let p = wallet
                .get_payment(&payment_id)
                .await?
                .with_context(|| format!("no payment {payment_id}"))?;
            let user = user
                .or(p.payer_user_id.clone())
                .context("nobody has signed in for this payment yet: name the payer with --user")?;
            report(wallet.confirm_payment(&payment_id, &user).await?)?;
        }
        PaymentCommand::Decline { payment_id } => {
            report(
                wallet
                    .decline_payment(&payment_id, "The user declined the payment.")
                    .await?,
            )?;
        }
        PaymentCommand::Show { payment_id } => show_payment(wallet, &payment_id, json).await?,
        PaymentCommand::List { client, limit } => list_payments(wallet, client, limit, json).await?,
    }
    Ok(())
}

/// One payment, as JSON or a field a line.
async fn show_payment(wallet: &Wallet, payment_id: &str, json: bool) -> anyhow::Result<()> {
    let p = wallet
        .get_payment(payment_id)
        .await?
        .with_context(|| format!("no payment {payment_id}"))?;
    if json {
        print_json(&views::payment_json(&p))?;
    } else {
        print_payment(&p);
    }
    Ok(())
}

/// One payment, a field a line (capture only for authorizations, the fail reason if any).
fn print_payment(p: &Payment) {
    println!("payment:            {}", p.payment_id);
    println!("client:             {}", p.client_id);
    println!("payment request id: {}", p.payment_request_id);
    println!("channel:            {}", p.channel.as_str());
    println!("scenario:           {}", p.scenario.fingerprint_name());
    println!("amount:             {}", money_text(p.currency, p.amount_minor));
    println!("status:             {}", p.status.as_str());
    println!(
        "payer:              {}",
        p.payer_user_id.as_deref().unwrap_or("-")
    );
    println!("refunded:           {}", money_text(p.currency, p.refunded_minor));
    if p.authorization {
        println!("captured:           {}", money_text(p.currency, p.captured_minor));
    }
    println!("order title:        {}", p.order_title);
    println!("notify URL:         {}", p.notify_url.as_deref().unwrap_or("-"));
    println!("created at:         {}", views::time(p.created_at));
    println!("expires at:         {}", views::time(p.expires_at));
    println!("paid at:            {}", views::opt_time(p.paid_at));
    println!("closed at:          {}", views::opt_time(p.closed_at));
    if let Some(r) = &p.fail_reason {
        println!("fail reason:        {r}");
    }
}

/// The latest payments (of one client, or of all), newest first, as a table or JSON.
async fn list_payments(
    wallet: &Wallet,
    client: Option<String>,
    limit: u32,
    json: bool,
) -> anyhow::Result<()> {
    let payments = wallet.list_payments(client, limit).await?;
    if json {
        print_json(&json!(payments
            .iter()
            .map(views::payment_json)
            .collect::<Vec<_>>()))?;
    } else {
        let rows: Vec<Vec<String>> = payments
            .iter()
            .map(|p| {
                vec![
                    p.payment_id.clone(),
                    p.client_id.clone(),
                    p.payment_request_id.clone(),
                    money_text(p.currency, p.amount_minor),
                    p.status.as_str().to_owned(),
                    p.payer_user_id.clone().unwrap_or_else(|| "-".into()),
                    views::time(p.created_at),
                ]
            })
            .collect();
        print_table(
            &[
                "PAYMENT",
                "CLIENT",
                "REQUEST ID",
                "AMOUNT",
                "STATUS",
                "PAYER",
                "CREATED AT",
            ],
            &rows,
        );
    }
    Ok(())
}

async fn refund(wallet: &Wallet, command: RefundCommand, json: bool) -> anyhow::Result<()> {
    match command {
        RefundCommand::List { client, limit } => {
            let refunds = wallet.latest_refunds(client.as_deref(), limit).await?;
            if json {
                print_json(&json!(refunds.iter().map(views::refund_json).collect::<Vec<_>>()))?;
            } else {
                let rows: Vec<Vec<String>> = refunds
                    .iter()
                    .map(|r| {
                        vec![
                            r.refund_id.clone(),
                            r.client_id.clone(),
                            r.refund_request_id.clone(),
                            r.payment_id.clone(),
                            money_text(r.currency, r.amount_minor),
                            views::opt_time(r.refunded_at),
                        ]
                    })
                    .collect();
                print_table(
                    &[
                        "REFUND",
                        "CLIENT",
                        "REQUEST ID",
                        "PAYMENT",
                        "AMOUNT",
                        "REFUNDED AT",
                    ],
                    &rows,
                );
            }
        }
    }
    Ok(())
}

fn report(outcome: ApprovalOutcome) -> anyhow::Result<()> {
    match outcome {
        ApprovalOutcome::Done(p) => {
            println!(
                "payment {} is {}{}",
                p.payment_id,
                p.status.as_str(),
                p.fail_reason.map(|r| format!(" ({r})")).unwrap_or_default()
            );
            Ok(())
        }
        ApprovalOutcome::Refused {
            code,
            message,
            payment,
        } => {
            bail!("payment {} not changed: {code}: {message}", payment.payment_id)
        }
    }
}

// ---- notifications ----

#[derive(Subcommand)]
pub enum NotificationCommand {
    /// The latest notifications with their state and attempts.
    List {
        /// Only PENDING, DELIVERED or FAILED ones.
        #[arg(long, value_parser = ["PENDING", "DELIVERED", "FAILED"])]
        status: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// One notification: where it goes, what it says, every attempt.
    Show { notification_id: String },
    /// Send a notification again now (one more attempt; it does not restart the retry schedule).
    Resend { notification_id: String },
}

async fn notification(wallet: &Wallet, command: NotificationCommand, json: bool) -> anyhow::Result<()> {
    match command {
        NotificationCommand::List { status, limit } => {
            list_notifications(wallet, status.as_deref(), limit, json).await?;
        }
        NotificationCommand::Show { notification_id } => {
            let e = wallet
                .get_notification(&notification_id)
                .await?
                .with_context(|| format!("no notification {notification_id}"))?;
            if json {
                print_json(&views::notification_json(&e))?;
            } else {
                print!("{}", views::notification_text(&e));
            }
        }
        NotificationCommand::Resend { notification_id } => {
            let e = wallet.resend_notification(&notification_id).await?;
            println!(
                "notification {} is due now ({} attempts so far); a running walletd sends it within its poll interval",
                e.id,
                e.attempts.len()
            );
        }
    }
    Ok(())
}

/// The latest `limit` notifications (only those in `status` when given), as JSON or a table
/// with each one's last attempt.
async fn list_notifications(
    wallet: &Wallet,
    status: Option<&str>,
    limit: u32,
    json: bool,
) -> anyhow::Result<()> {
    // Filter after reading: look at up to 10x the limit to find `limit` matching rows.
    let scan = if status.is_some() {
        limit.saturating_mul(10)
    } else {
        limit
    };
    let rows = wallet.list_notifications(scan).await?;
    let rows: Vec<_> = rows
        .into_iter()
        .filter(|e| status.is_none_or(|s| e.status.as_str() == s))
        .take(limit as usize)
        .collect();
    if json {
        print_json(&json!(rows
            .iter()
            .map(views::notification_json)
            .collect::<Vec<_>>()))?;
        return Ok(());
    }
    println!(
        "{:<32} {:<10} {:<15} {:<32} {:>8}  LAST ATTEMPT",
        "ID", "STATUS", "KIND", "SUBJECT", "ATTEMPTS"
    );
    for e in rows {
        println!(
            "{:<32} {:<10} {:<15} {:<32} {:>8}  {}",
            e.id,
            e.status.as_str(),
            format!("{:?}", e.kind),
            e.subject_id,
            e.attempts.len(),
            last_attempt_text(&e)
        );
    }
    Ok(())
}

/// A notification's last attempt: when, the HTTP status (`-` if none came) and how long it
/// took; `-` when it has had none.
fn last_attempt_text(e: &OutboxEntry) -> String {
    e.attempts
        .last()
        .map(|a| {
            format!(
                "{} {} {} ms",
                a.at.format("%Y-%m-%d %H:%M:%S"),
                a.http_status.map_or("-".to_owned(), |s| s.to_string()),
                a.latency_ms
            )
        })
        .unwrap_or_else(|| "-".into())
}
