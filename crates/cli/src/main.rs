//! `walletd`: the server, its operator commands and the merchant-side tools, in one binary.
// An unwrap is a panic waiting for unexpected input: outside tests, say what failed instead.
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

mod admin;
mod bench;
mod call;
mod demo;
// ---- merchant-side tools ----
mod explain;
mod listen;
mod trigger;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use walletd_protocol::crypto::{Algorithm, PrivateKey};
use walletd_server::Config;

#[derive(Parser)]
#[command(
    name = "walletd",
    version,
    about = "An e-wallet backend: Mini Program OpenAPI, AlphaPay and store API over one payment core"
)]
struct Cli {
    /// A TOML configuration file (environment variables WALLETD_* override it).
    #[arg(long, global = true, env = "WALLETD_CONFIG")]
    config: Option<PathBuf>,
    /// The data directory (database and wallet key); overrides the configuration.
    #[arg(long, global = true, env = "WALLETD_DATA_DIR")]
    data_dir: Option<PathBuf>,
    // ---- PostgreSQL backend ----
    /// The database: a postgres:// URL (many nodes on one database) or sqlite:PATH; default the
    /// SQLite file in the data directory. Overrides the configuration (and WALLETD_DATABASE).
    #[arg(long, global = true)]
    database: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        /// Address to listen on, e.g. 127.0.0.1:8080.
        #[arg(long, env = "WALLETD_LISTEN")]
        listen: Option<String>,
        /// Honour the reserved sandbox amounts (never in production).
        #[arg(long)]
        sandbox: bool,
        /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The certificate's private key (PEM).
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
    },
    /// Start a sandbox wallet with a demo merchant and users, and print a walkthrough.
    /// Without --data-dir the demo runs in a temporary folder that is removed when it stops; with
    /// --data-dir it resumes the demo an earlier run left there (or starts one).
    Demo {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// Keep the temporary data folder when the demo stops.
        #[arg(long)]
        keep: bool,
        /// Address of the operator console (default: the port after --listen's, e.g. 127.0.0.1:8081).
        #[arg(long)]
        console_listen: Option<String>,
        /// Serve HTTPS with a self-signed certificate for localhost made in the data folder (the
        /// demo prints how to make clients trust it).
        #[arg(long)]
        tls: bool,
    },
    /// Key pairs for merchants and for the wallet.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Operator commands (work on the data directory; the server may be running).
    Admin {
        /// Print JSON instead of text (list and show commands, balance, verify, reports); amounts
        /// as `{"currency":"USD","value":"1250"}` in minor units.
        #[arg(long, global = true)]
        json: bool,
        #[command(subcommand)]
        command: admin::AdminCommand,
    },
    /// Send a signed Mini Program (or AlphaPay) request as a merchant and check the signed answer.
    Call(call::CallArgs),
    // ---- merchant-side tools ----
    /// Explain why a signature does not verify: the exact content to sign and the failing step.
    Explain(explain::ExplainArgs),
    /// Receive the wallet's notifications locally: verify, print, forward to your app, acknowledge.
    Listen(listen::ListenArgs),
    /// Helpers of the repository's load bench (`bench/run.sh`): set up, load history, pre-sign.
    #[command(hide = true)]
    Bench {
        #[command(subcommand)]
        command: bench::BenchCommand,
    },
    /// Play a whole flow against a running sandbox (payment.succeeded, refund.failed,
    /// notification.refused, …) as a merchant would meet it, and report what happened.
    Trigger(trigger::TriggerArgs),
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Write a new key pair as private_key.pem (PKCS#8) and public_key.pem (SPKI).
    Generate {
        #[arg(long, value_parser = ["rsa2048", "ecc224"], default_value = "rsa2048")]
        algorithm: String,
        #[arg(long)]
        out_dir: PathBuf,
    },
}

/// Logs to stderr at `RUST_LOG` (default `info`), never with query parameters or secrets
/// (`walletd_server::logging`).
fn init_logging(format: &str) {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let registry = tracing_subscriber::registry()
        .with(walletd_server::logging::env_filter("info"))
        .with(walletd_server::logging::never_log_parameters());
    // Colour codes only for a person at a terminal, never in a file or a log collector.
    let layer = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    if format == "json" {
        registry.with(layer.json()).init();
    } else {
        registry.with(layer).init();
    }
}

/// Loads the configuration and applies the command-line data directory.
fn load_config(cli_config: Option<&Path>, data_dir: Option<&Path>) -> anyhow::Result<Config> {
    let mut config = Config::load(cli_config).context("reading the configuration")?;
    if let Some(d) = data_dir {
        config.data_dir = d.to_path_buf();
    }
    Ok(config)
}

/// Writes a fresh key pair into `dir`.
pub fn generate_keys(algorithm: Algorithm, dir: &Path) -> anyhow::Result<PrivateKey> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let key = PrivateKey::generate(algorithm).context("generating a key pair")?;
    let private = dir.join("private_key.pem");
    walletd_server::wallet_key::write_private(&private, &key.to_pkcs8_pem())?;
    let public = dir.join("public_key.pem");
    std::fs::write(&public, key.public_key().to_spki_pem())
        .with_context(|| format!("writing {}", public.display()))?;
    Ok(key)
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(call::exit::ERROR)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    let ok = std::process::ExitCode::SUCCESS;
    match cli.command {
        Command::Serve {
            listen,
            sandbox,
            tls_cert,
            tls_key,
        } => {
            let mut config =
                load_config_with_database(cli.config.as_deref(), cli.data_dir.as_deref(), cli.database)?;
            if let Some(l) = listen {
                config.listen = l;
            }
            config.sandbox |= sandbox;
            if tls_cert.is_some() {
                config.tls.cert = tls_cert;
                config.tls.key = tls_key;
            }
            serve(config).await?;
            Ok(ok)
        }
        Command::Demo {
            listen,
            keep,
            console_listen,
            tls,
        } => {
            demo::run(
                cli.config.as_deref(),
                cli.data_dir.as_deref(),
                &listen,
                keep,
                console_listen.as_deref(),
                tls,
            )
            .await?;
            Ok(ok)
        }
        Command::Keys {
            command: KeysCommand::Generate { algorithm, out_dir },
        } => {
            write_key_pair(&algorithm, &out_dir)?;
            Ok(ok)
        }
        Command::Admin { json, command } => {
            let config =
                load_config_with_database(cli.config.as_deref(), cli.data_dir.as_deref(), cli.database)?;
            admin::run(&config, command, json).await
        }
        Command::Call(args) => call::run(args).await,
        // ---- merchant-side tools ----
        Command::Explain(args) => explain::run(args),
        Command::Listen(args) => listen::run(args).await,
        Command::Bench { command } => {
            let config =
                load_config_with_database(cli.config.as_deref(), cli.data_dir.as_deref(), cli.database)?;
            bench::run(&config, command).await?;
            Ok(ok)
        }
        Command::Trigger(args) => {
            let config =
                load_config_with_database(cli.config.as_deref(), cli.data_dir.as_deref(), cli.database)?;
            trigger::run(&config, args).await
        }
    }
}

/// Loads the configuration and applies the command-line data directory and database.
fn load_config_with_database(
    cli_config: Option<&Path>,
    data_dir: Option<&Path>,
    database: Option<String>,
) -> anyhow::Result<Config> {
    let mut config = load_config(cli_config, data_dir)?;
    if let Some(d) = database {
        config.database = Some(d);
    }
    Ok(config)
}

/// Runs the server with `config` until a shutdown signal, logging where it listens.
async fn serve(config: Config) -> anyhow::Result<()> {
    init_logging(&config.log_format);
    let app = walletd_server::Application::build(config.clone()).await?;
    let shutdown = walletd_server::shutdown_signal();
    tracing::info!(
        address = %app.local_addr(),
        data_dir = %config.data_dir.display(),
        database = %config.database_choice().map(|d| d.describe()).unwrap_or_default(),
        sandbox = config.sandbox,
        "walletd listening"
    );
    app.run_until_stopped(shutdown).await?;
    Ok(())
}

/// `keys generate`: a key pair of the algorithm named (`ecc224`, else RSA) in `out_dir`, and
/// which files were written.
fn write_key_pair(algorithm: &str, out_dir: &Path) -> anyhow::Result<()> {
    let alg = if algorithm == "ecc224" {
        Algorithm::Ecc224
    } else {
        Algorithm::Rsa256
    };
    let key = generate_keys(alg, out_dir)?;
    println!(
        "wrote {} and {} ({})",
        out_dir.join("private_key.pem").display(),
        out_dir.join("public_key.pem").display(),
        key.algorithm()
    );
    Ok(())
}
