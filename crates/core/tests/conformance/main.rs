//! The storage conformance suite: one set of tests, run against every backend. Each test is an
//! `async fn(Fixture)`; [`for_each_backend!`] declares it once for SQLite (a fresh temp file) and
//! once for PostgreSQL (a fresh schema in the database named by `WALLETD_TEST_POSTGRES_URL`).
//! A behaviour one backend has and the other lacks is a bug in that backend.
//!
//! * `records`: every storage operation of the `Tx` trait, one record kind at a time.
//! * `rules`: the idempotency and ledger rules through the `Wallet` (pay, confirm, decline,
//!   cancel, expire, refund, notifications, one-time values).
//! * `concurrency`: the same rules under concurrent calls on two nodes of one database.
//! * `daily_totals`: the running totals of the daily limits equal the SUM they replace.
//! * `moving`: a wallet moved from SQLite to PostgreSQL with `export`/`import` keeps every cent.
//! * `console`: the operator console's records: operators, audit log, payment search.
//! * `resilience`: PostgreSQL only: a pool whose connections are cut goes on.

/// Declares each named test function once per backend: `<module>::sqlite::<name>` and
/// `<module>::postgres::<name>`.
macro_rules! for_each_backend {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::backend::Fixture::sqlite().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(f) = crate::backend::Fixture::postgres().await {
                        super::$name(f).await;
                    }
                }
            )*
        }
    };
}

mod backend;
mod concurrency;
mod console;
mod daily_totals;
mod moving;
mod records;
mod reports;
mod resilience;
mod rules;
