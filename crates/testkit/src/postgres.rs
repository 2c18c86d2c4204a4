//! A fresh schema on the test PostgreSQL server for one test, dropped when it ends.

use std::sync::atomic::{AtomicU64, Ordering};
use walletd_core::storage::postgres;

/// The variable naming the PostgreSQL server tests may use.
const TEST_URL_VAR: &str = "WALLETD_TEST_POSTGRES_URL";

/// A schema of its own on the test PostgreSQL server; dropped with this value.
pub struct PgSchema {
    pub base_url: String,
    pub name: String,
}

impl PgSchema {
    /// A fresh schema named after `tag`, or `None` (after saying the test is skipped; a panic
    /// when PostgreSQL is required) without a test server.
    pub fn fresh(tag: &str) -> Option<PgSchema> {
        let base_url = postgres::test_database_url()?;
        Some(Self::create(base_url, tag))
    }

    /// A fresh schema when a test server is named, `None` otherwise: for tests that run on
    /// PostgreSQL when they can and on SQLite when not. When PostgreSQL is required (CI), a
    /// missing server is a panic, not a quiet run on SQLite.
    pub fn if_configured(tag: &str) -> Option<PgSchema> {
        let base_url = std::env::var(TEST_URL_VAR).ok().filter(|u| !u.trim().is_empty());
        let Some(base_url) = base_url else {
            assert!(
                !postgres::postgres_required(),
                "{} is set but {TEST_URL_VAR} is not: this test would run on SQLite instead",
                postgres::REQUIRE_VAR
            );
            return None;
        };
        Some(Self::create(base_url, tag))
    }

    fn create(base_url: String, tag: &str) -> PgSchema {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!(
            "walletd_{tag}_{}_{}_{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        postgres::create_schema(&base_url, &name).expect("create the test schema");
        PgSchema { base_url, name }
    }

    /// The connection URL whose search path is this schema.
    pub fn url(&self) -> String {
        postgres::url_with_schema(&self.base_url, &self.name)
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        if let Err(e) = postgres::drop_schema(&self.base_url, &self.name) {
            eprintln!("could not drop test schema {}: {e}", self.name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs on SQLite (no schema) when no server is named, unless PostgreSQL is required.
    #[test]
    fn a_test_that_may_use_postgres() {
        if let Some(schema) = PgSchema::if_configured("testkit") {
            assert!(schema.name.starts_with("walletd_testkit_"));
        }
    }

    #[test]
    fn requiring_postgres_stops_a_quiet_fallback_to_sqlite() {
        let run = |require: &str| {
            std::process::Command::new(std::env::current_exe().expect("test binary"))
                .args(["--exact", "postgres::tests::a_test_that_may_use_postgres"])
                .env_remove(TEST_URL_VAR)
                .env(postgres::REQUIRE_VAR, require)
                .output()
                .expect("run the test binary")
        };
        assert!(
            run("0").status.success(),
            "without the requirement it runs on SQLite"
        );
        assert!(
            !run("1").status.success(),
            "with PostgreSQL required, a missing server must fail the test"
        );
    }
}
