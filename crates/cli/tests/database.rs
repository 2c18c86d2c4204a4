//! The `walletd` binary's database commands: `admin migrate`, `admin export`, `admin import`, and
//! `serve --database postgres://…`. The PostgreSQL parts need `WALLETD_TEST_POSTGRES_URL`; without
//! it they print `skipped: WALLETD_TEST_POSTGRES_URL not set` and pass.

mod binary;

use binary::ok;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use walletd_core::storage::postgres::{self, PostgresStorage};
use walletd_testkit::PgSchema;

fn walletd(data_dir: &Path, database: Option<&str>, args: &[&str]) -> Output {
    // Only what the command line says: no configuration from the environment.
    let mut cmd = binary::command(data_dir);
    if let Some(db) = database {
        cmd.arg("--database").arg(db);
    }
    cmd.args(args).output().expect("run walletd")
}

/// A SQLite wallet with two funded users, made through the CLI.
fn sqlite_wallet(dir: &Path) {
    ok(walletd(
        dir,
        None,
        &[
            "admin",
            "user",
            "add",
            "--user-id",
            "ana",
            "--login",
            "+1",
            "--name",
            "Ana",
        ],
    ));
    ok(walletd(
        dir,
        None,
        &[
            "admin",
            "user",
            "add",
            "--user-id",
            "ben",
            "--login",
            "+2",
            "--name",
            "Ben",
        ],
    ));
    ok(walletd(
        dir,
        None,
        &["admin", "user", "top-up", "ana", "120.35", "USD"],
    ));
    ok(walletd(
        dir,
        None,
        &["admin", "user", "top-up", "ben", "0.07", "USD"],
    ));
    ok(walletd(
        dir,
        None,
        &["admin", "user", "top-up", "ana", "5000", "JPY"],
    ));
}

#[test]
fn migrate_export_and_refusals_on_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let migrated = ok(walletd(dir.path(), None, &["admin", "migrate"]));
    assert!(
        migrated.contains(&format!("schema version {}", postgres::schema_version())),
        "{migrated}"
    );
    sqlite_wallet(dir.path());
    let dump = dir.path().join("wallet.jsonl");
    ok(walletd(
        dir.path(),
        None,
        &["admin", "export", "--out", dump.to_str().expect("path")],
    ));
    let text = std::fs::read_to_string(&dump).expect("dump");
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with(r#"{"header":{"format":1,"source":"sqlite""#),
        "{}",
        lines[0]
    );
    assert!(lines.last().expect("lines").starts_with(r#"{"end":"#));
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains(r#""table":"transfers""#))
            .count(),
        3
    );

    let refused = walletd(
        dir.path(),
        None,
        &["admin", "import", dump.to_str().expect("path")],
    );
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("PostgreSQL"), "{err}");
    let bad = walletd(dir.path(), Some("mysql://db/w"), &["admin", "migrate"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("postgres://"));
}

#[test]
fn a_wallet_moves_from_sqlite_to_postgres_through_the_cli() {
    let Some(schema) = PgSchema::fresh("cli_move") else {
        return;
    };
    let url = schema.url();
    let dir = tempfile::tempdir().expect("tempdir");
    sqlite_wallet(dir.path());
    let dump = dir.path().join("wallet.jsonl");
    let dump_arg = dump.to_str().expect("path");
    ok(walletd(dir.path(), None, &["admin", "export", "--out", dump_arg]));

    let imported = ok(walletd(dir.path(), Some(&url), &["admin", "import", dump_arg]));
    assert!(imported.contains("imported 10 rows"), "{imported}");
    assert!(imported.contains("the books balance"), "{imported}");
    let before = ok(walletd(dir.path(), None, &["admin", "balance"]));
    let after = ok(walletd(dir.path(), Some(&url), &["admin", "balance"]));
    assert_eq!(after, before, "the same balances, to the cent");
    assert!(after.contains("120.35") && after.contains("0.07"), "{after}");
    assert!(ok(walletd(dir.path(), Some(&url), &["admin", "verify"])).contains("the books balance"));

    let again = walletd(dir.path(), Some(&url), &["admin", "import", dump_arg]);
    assert!(
        !again.status.success(),
        "a second import into a wallet with data is refused"
    );
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));

    // The moved wallet works: a top-up on PostgreSQL, then a round trip back out.
    ok(walletd(
        dir.path(),
        Some(&url),
        &["admin", "user", "top-up", "ben", "1.00", "USD"],
    ));
    let exported = ok(walletd(dir.path(), Some(&url), &["admin", "export"]));
    assert!(exported.starts_with(r#"{"header":{"format":1,"source":"postgres""#));
    assert_eq!(
        exported
            .lines()
            .filter(|l| l.contains(r#""table":"transfers""#))
            .count(),
        4
    );
}

#[tokio::test]
async fn serve_runs_on_postgres_with_its_schema_migrated() {
    let Some(schema) = PgSchema::fresh("cli_serve") else {
        return;
    };
    let url = schema.url();
    let dir = tempfile::tempdir().expect("tempdir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let listen = format!("127.0.0.1:{port}");
    assert_eq!(
        PostgresStorage::applied_version(&url).expect("version"),
        0,
        "a new schema"
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_walletd"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["--database", &url, "serve", "--listen", &listen])
        .env_remove("WALLETD_DATABASE")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start walletd serve");
    let deadline = Instant::now() + Duration::from_secs(30);
    let health = format!("http://{listen}/healthz");
    let mut up = false;
    while Instant::now() < deadline {
        if let Ok(r) = reqwest::get(&health).await {
            up = r.status().is_success();
            if up {
                break;
            }
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("walletd serve exited early: {status}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(up, "walletd serve --database did not answer /healthz");
    assert_eq!(
        PostgresStorage::applied_version(&url).expect("version"),
        postgres::schema_version(),
        "serve applied the migrations at start"
    );
    let migrated = ok(walletd(dir.path(), Some(&url), &["admin", "migrate"]));
    assert!(
        migrated.contains(&format!(
            "schema version {}, up to date",
            postgres::schema_version()
        )),
        "{migrated}"
    );
}
