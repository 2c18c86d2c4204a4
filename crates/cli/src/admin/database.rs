//! `walletd admin migrate | export | import`: the schema, and moving a wallet between
//! databases (SQLite to PostgreSQL) as a dump of JSON lines.

use super::AdminCommand;
use anyhow::{bail, Context as _};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::process::ExitCode;
use std::sync::Arc;
use walletd_core::clock::{RandomIds, SystemClock};
use walletd_core::storage::dump::{self, DumpSummary};
use walletd_core::storage::postgres::{self, PostgresStorage};
use walletd_core::storage::sqlite::SqliteStorage;
use walletd_server::config::Database;
use walletd_server::Config;

/// Runs `command` if it is one of ours; `None` leaves it to the caller.
pub async fn run(config: &Config, command: &AdminCommand) -> anyhow::Result<Option<ExitCode>> {
    let code = match command {
        AdminCommand::Migrate => migrate(config)?,
        AdminCommand::Export { out } => export(config, out.as_deref())?,
        AdminCommand::Import { file } => import(config, file).await?,
        _ => return Ok(None),
    };
    Ok(Some(code))
}

fn database(config: &Config) -> anyhow::Result<Database> {
    config.database_choice().map_err(anyhow::Error::msg)
}

fn migrate(config: &Config) -> anyhow::Result<ExitCode> {
    let db = database(config)?;
    let version = match &db {
        Database::Sqlite(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            }
            drop(SqliteStorage::open(path, 1).with_context(|| format!("migrating {}", db.describe()))?);
            dump::sqlite_schema_version(path)?
        }
        Database::Postgres(url) => {
            PostgresStorage::migrate(url).with_context(|| format!("migrating {}", db.describe()))?
        }
    };
    println!("{}: schema version {version}, up to date", db.describe());
    Ok(ExitCode::SUCCESS)
}

fn export(config: &Config, out: Option<&std::path::Path>) -> anyhow::Result<ExitCode> {
    let db = database(config)?;
    let mut sink: Box<dyn Write + Send> = match out {
        Some(path) => Box::new(BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        )),
        None => Box::new(BufWriter::new(std::io::stdout())),
    };
    let summary = match &db {
        Database::Sqlite(path) => {
            // Opening the store first brings an older file up to this walletd's schema.
            drop(SqliteStorage::open(path, 1).with_context(|| format!("opening {}", db.describe()))?);
            dump::export_sqlite(path, &mut sink)?
        }
        Database::Postgres(url) => postgres::export(url, &mut sink)?,
    };
    sink.flush().context("writing the dump")?;
    eprintln!("exported {}", describe(&summary));
    Ok(ExitCode::SUCCESS)
}

async fn import(config: &Config, file: &std::path::Path) -> anyhow::Result<ExitCode> {
    let db = database(config)?;
    let Database::Postgres(url) = &db else {
        bail!(
            "import loads a dump into a new PostgreSQL database: name it with --database postgres://… \
             (the SQLite file in the data directory is what export reads)"
        );
    };
    let mut input: Box<dyn BufRead + Send> = if file.as_os_str() == "-" {
        Box::new(BufReader::new(std::io::stdin()))
    } else {
        Box::new(BufReader::new(
            std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?,
        ))
    };
    let summary =
        postgres::import(url, &mut input).with_context(|| format!("importing into {}", db.describe()))?;
    println!("imported {}", describe(&summary));
    let wallet = walletd_server::open_wallet(config, Arc::new(SystemClock), Arc::new(RandomIds::default()))?;
    let report = wallet.verify().await?;
    for (cur, (dp, cp, dpe, cpe)) in &report.totals {
        println!("{cur}: posted debits {dp} credits {cp}; pending debits {dpe} credits {cpe}");
    }
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

fn describe(summary: &DumpSummary) -> String {
    let tables: Vec<String> = summary
        .rows
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(t, n)| format!("{t} {n}"))
        .collect();
    format!(
        "{} rows (schema version {}, from {}): {}",
        summary.total_rows(),
        summary.schema_version,
        summary.source,
        tables.join(", ")
    )
}
