//! The fixture every conformance test gets: an empty wallet on one backend, a manual clock, counting
//! ids, and the means to open a second "node" (another store) on the same database.
//!
//! * SQLite: a fresh file in a temp dir; a second node is a second store on the same file.
//! * PostgreSQL: a fresh schema (named after the process and a counter) in the database that
//!   `WALLETD_TEST_POSTGRES_URL` names, dropped when the fixture goes; a second node is a second
//!   connection pool on that schema. Without the variable the PostgreSQL tests pass after printing
//!   `skipped: WALLETD_TEST_POSTGRES_URL not set`.

use chrono::{DateTime, TimeZone, Utc};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tempfile::TempDir;
use walletd_core::clock::{ManualClock, SequentialIds};
use walletd_core::ledger::AccountKind;
use walletd_core::parties::{Client, User};
use walletd_core::payments::{Channel, PayCommand, PayOutcome, Payment, PaymentRef, Scenario};
use walletd_core::refunds::RefundCommand;
use walletd_core::storage::postgres::{self, PostgresStorage};
use walletd_core::storage::sqlite::SqliteStorage;
use walletd_core::storage::{transact, Access, Storage, Tx};
use walletd_core::{CoreError, StorageError, Wallet, WalletConfig};
use walletd_protocol::{Amount, Currency, PositiveAmount};

/// The variable that names the PostgreSQL database of the tests.
pub const POSTGRES_URL_VAR: &str = "WALLETD_TEST_POSTGRES_URL";

/// Connections of each PostgreSQL test store: enough for real concurrency, few enough that many
/// tests at once stay far below the server's connection limit.
const PG_CONNECTIONS: usize = 4;

pub const CLIENT: &str = "client-demo";
pub const PARTNER: &str = "partner-demo";
pub const NOTIFY_URL: &str = "https://merchant.example/notify";
pub const ALICE: &str = "alice";
pub const BOB: &str = "bob";
/// What `seeded()` tops the users up with, in USD minor units.
pub const ALICE_USD: i64 = 10_000;
pub const BOB_USD: i64 = 5_000;

/// 10:00 UTC: tests can move hours without crossing midnight (daily limits).
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0)
        .single()
        .expect("valid time")
}

pub fn usd() -> Currency {
    Currency::from_code("USD").expect("USD")
}

pub fn eur() -> Currency {
    Currency::from_code("EUR").expect("EUR")
}

pub fn usd_minor(minor: i64) -> Amount {
    Amount::from_minor(usd(), minor).expect("non-negative amount")
}

/// An amount a payment or a refund may move (greater than zero).
pub fn positive_usd(minor: i64) -> PositiveAmount {
    PositiveAmount::new(usd_minor(minor)).expect("an amount greater than zero")
}

pub fn test_config() -> WalletConfig {
    WalletConfig {
        payment_expiry_secs: 15 * 60,
        max_payment_expiry_secs: 24 * 3600,
        cancel_window_secs: 3600,
        refund_window_secs: 30 * 24 * 3600,
        sandbox: false,
        ..WalletConfig::default()
    }
}

/// Where the fixture's database lives.
enum Database {
    Sqlite {
        path: PathBuf,
        _dir: TempDir,
    },
    Postgres {
        base_url: String,
        url: String,
        schema: String,
    },
}

/// One backend, empty, with the means to open more nodes on it.
pub struct Fixture {
    pub wallet: Wallet,
    pub clock: Arc<ManualClock>,
    pub ids: Arc<SequentialIds>,
    database: Database,
}

static SCHEMA_COUNTER: AtomicU64 = AtomicU64::new(0);

impl Fixture {
    pub async fn sqlite() -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("walletd.sqlite3");
        let database = Database::Sqlite { path, _dir: dir };
        Fixture::with(database)
    }

    /// `None` (after printing why) when no test database is configured.
    pub async fn postgres() -> Option<Fixture> {
        let base_url = postgres::test_database_url()?;
        let n = SCHEMA_COUNTER.fetch_add(1, Ordering::SeqCst);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let schema = format!("walletd_conformance_{}_{n}_{nanos}", std::process::id());
        postgres::create_schema(&base_url, &schema).expect("create the test schema");
        // Its own application name, so a test can find (and cut) exactly its own connections.
        let url = format!(
            "{}&application_name={schema}",
            postgres::url_with_schema(&base_url, &schema)
        );
        Some(Fixture::with(Database::Postgres {
            base_url,
            url,
            schema,
        }))
    }

    fn with(database: Database) -> Fixture {
        let clock = Arc::new(ManualClock::new(t0()));
        let ids = Arc::new(SequentialIds::default());
        let store = open_store(&database);
        let wallet = Wallet::new(store, clock.clone(), ids.clone(), test_config());
        Fixture {
            wallet,
            clock,
            ids,
            database,
        }
    }

    /// The SQLite file, for a SQLite fixture.
    pub fn sqlite_path(&self) -> Option<&std::path::Path> {
        match &self.database {
            Database::Sqlite { path, .. } => Some(path),
            Database::Postgres { .. } => None,
        }
    }

    /// The URL (with the fixture's schema), for a PostgreSQL fixture.
    pub fn postgres_url(&self) -> Option<&str> {
        match &self.database {
            Database::Postgres { url, .. } => Some(url),
            Database::Sqlite { .. } => None,
        }
    }

    /// The schema (and application name) of a PostgreSQL fixture.
    pub fn postgres_schema(&self) -> Option<&str> {
        match &self.database {
            Database::Postgres { schema, .. } => Some(schema),
            Database::Sqlite { .. } => None,
        }
    }

    pub fn backend(&self) -> &'static str {
        self.wallet.storage().backend_name()
    }

    /// Another node on the same database: its own store (file handle or connection pool), the
    /// same clock and id source.
    pub fn another_node(&self) -> Wallet {
        Wallet::new(
            open_store(&self.database),
            self.clock.clone(),
            self.ids.clone(),
            test_config(),
        )
    }

    pub fn advance_secs(&self, secs: i64) {
        self.clock.advance_ms(secs * 1000);
    }

    /// Runs `f` in one write transaction.
    pub async fn write<R, F>(&self, f: F) -> Result<R, CoreError>
    where
        R: Send + 'static,
        F: FnMut(&mut dyn Tx) -> Result<R, CoreError> + Send + 'static,
    {
        transact(self.wallet.storage().as_ref(), Access::Write, f).await
    }

    /// Runs `f` in one read-only transaction.
    pub async fn read<R, F>(&self, f: F) -> Result<R, CoreError>
    where
        R: Send + 'static,
        F: FnMut(&mut dyn Tx) -> Result<R, CoreError> + Send + 'static,
    {
        transact(self.wallet.storage().as_ref(), Access::Read, f).await
    }

    /// The demo client (with a notify URL) and two funded users: alice 100.00 USD, bob 50.00 USD,
    /// each of whom granted the client `AGREEMENT_PAY` (so a cashier payment may name them).
    pub async fn seeded(self) -> Fixture {
        let mut client = Client::new(CLIENT, "Demo Shop", t0());
        client.partner_id = PARTNER.into();
        client.default_notify_url = Some(NOTIFY_URL.into());
        self.wallet.add_client(client).await.expect("add client");
        for (user, login, minor) in [(ALICE, "+10000000001", ALICE_USD), (BOB, "+10000000002", BOB_USD)] {
            self.wallet
                .add_user(User::new(user, login, user, t0()))
                .await
                .expect("add user");
            self.wallet.top_up(user, usd_minor(minor)).await.expect("top up");
            self.grant_agreement(user).await;
        }
        self
    }

    /// `user` grants the demo client `AGREEMENT_PAY` (up to 10,000.00 USD a payment) through an
    /// auth code and applyToken; the access token lives a day from the wallet's clock.
    pub async fn grant_agreement(&self, user: &str) {
        let grant = walletd_core::oauth::Grant {
            client_id: CLIENT.into(),
            app_id: None,
            user_id: user.into(),
            scopes: vec![walletd_core::oauth::Scope::AgreementPay],
            agreement_limits: [("USD".to_owned(), 1_000_000)].into_iter().collect(),
        };
        let code = self
            .wallet
            .issue_auth_code(grant, 300)
            .await
            .expect("auth code")
            .code;
        let request = walletd_core::oauth::TokenRequest {
            client_id: CLIENT.into(),
            reference_client_id: None,
            grant_type: walletd_core::oauth::TokenGrantType::AuthorizationCode { auth_code: code },
        };
        self.wallet
            .apply_token(request, walletd_core::oauth::Lifetimes::default())
            .await
            .expect("apply token")
            .expect("token pair");
    }

    /// A USD cashier payment request of the demo client; `payer` makes it hold funds at once.
    pub fn pay_cmd(&self, payment_request_id: &str, minor: i64, payer: Option<&str>) -> PayCommand {
        PayCommand {
            client_id: CLIENT.into(),
            channel: Channel::MiniProgramV2,
            partner_id: None,
            app_id: None,
            payment_request_id: payment_request_id.into(),
            amount: positive_usd(minor),
            scenario: Scenario::Cashier,
            order_title: "Coffee".into(),
            reference_order_id: None,
            merchant_display_name: None,
            payer_user_id: payer.map(String::from),
            expiry_time: None,
            return_url: None,
            notify_url: None,
            extend_info: None,
            payment_auth_code: None,
            factors: Default::default(),
        }
    }

    pub fn refund_cmd(&self, refund_request_id: &str, payment_id: &str, minor: i64) -> RefundCommand {
        RefundCommand {
            client_id: CLIENT.into(),
            channel: Channel::MiniProgramV2,
            partner_id: None,
            refund_request_id: refund_request_id.into(),
            payment: PaymentRef {
                payment_id: Some(payment_id.into()),
                payment_request_id: None,
            },
            amount: positive_usd(minor),
            reason: None,
            notify_url: None,
        }
    }

    /// Pays and expects A/ACCEPT.
    pub async fn accepted(&self, payment_request_id: &str, minor: i64, payer: Option<&str>) -> Payment {
        match self
            .wallet
            .pay(self.pay_cmd(payment_request_id, minor, payer))
            .await
            .expect("pay")
        {
            PayOutcome::Accepted(p) => p,
            other => panic!("expected Accepted, got {other:?}"),
        }
    }

    /// (posted, available) of a user's USD wallet.
    pub async fn balance(&self, user: &str) -> (i64, i64) {
        let accounts = self
            .wallet
            .accounts_of(AccountKind::UserWallet, user)
            .await
            .expect("accounts");
        let a = accounts
            .iter()
            .find(|a| a.currency == usd())
            .expect("a USD wallet");
        (a.posted_balance(), a.available_balance())
    }

    /// The merchant's posted USD balance (0 without an account).
    pub async fn merchant_balance(&self) -> i64 {
        let accounts = self
            .wallet
            .accounts_of(AccountKind::Merchant, CLIENT)
            .await
            .expect("accounts");
        accounts
            .iter()
            .find(|a| a.currency == usd())
            .map_or(0, |a| a.posted_balance())
    }

    /// Fails the test unless the books balance.
    pub async fn assert_sound(&self) {
        let report = self.wallet.verify().await.expect("verify");
        assert!(
            report.is_sound(),
            "{}: the books do not balance: {:?}",
            self.backend(),
            report.problems
        );
    }
}

fn open_store(database: &Database) -> Arc<dyn Storage> {
    match database {
        Database::Sqlite { path, .. } => Arc::new(SqliteStorage::open(path, 2).expect("open sqlite store")),
        Database::Postgres { url, .. } => {
            Arc::new(PostgresStorage::open(url, PG_CONNECTIONS).expect("open postgres store"))
        }
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Database::Postgres { base_url, schema, .. } = &self.database {
            if let Err(e) = postgres::drop_schema(base_url, schema) {
                eprintln!("could not drop test schema {schema}: {e}");
            }
        }
    }
}

/// True if `e` is the store's "this key is taken".
pub fn is_duplicate(e: &CoreError) -> bool {
    matches!(e, CoreError::Storage(StorageError::Duplicate(_)))
}
