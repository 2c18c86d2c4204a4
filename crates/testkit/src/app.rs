//! [`TestApp`]: walletd in-process on port 0, built the way a test needs it.

use crate::PgSchema;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use walletd_client::{AlphaPayClient, MiniProgramClient};
use walletd_core::clock::{Clock, IdSource, ManualClock, RandomIds, SystemClock};
use walletd_core::Wallet;
use walletd_protocol::crypto::{PrivateKey, PublicKey};
use walletd_server::{AppState, Application, Config};

/// How a [`TestApp`] is made: configuration, clock, ids, data directory and database.
pub struct TestAppBuilder {
    config: Config,
    data_dir: Option<TempDir>,
    clock: Arc<dyn Clock>,
    manual_clock: Option<Arc<ManualClock>>,
    ids: Arc<dyn IdSource>,
    schema: Option<PgSchema>,
}

/// A wallet opened on the test's store but not yet served: seed it, then [`Opened::start`].
pub struct Opened {
    pub wallet: Wallet,
    pub config: Config,
    data_dir: Option<TempDir>,
    manual_clock: Option<Arc<ManualClock>>,
    schema: Option<PgSchema>,
}

/// A running walletd. Dropping it tells the server to stop; [`TestApp::stop`] also waits.
pub struct TestApp {
    /// `http://127.0.0.1:PORT` of the main listener.
    pub base_url: String,
    pub addr: SocketAddr,
    pub port: u16,
    pub state: AppState,
    pub wallet: Wallet,
    pub wallet_public_key: PublicKey,
    /// The configuration the server was built with.
    pub config: Config,
    /// Where the data directory is (kept by the app unless the caller owns it).
    pub data_path: PathBuf,
    /// The console's, the metrics' and AlphaPay's own listeners, when configured.
    pub console_addr: Option<SocketAddr>,
    pub metrics_addr: Option<SocketAddr>,
    pub alphapay_addr: Option<SocketAddr>,
    /// A plain HTTP client (follows redirects, no cookies).
    pub http: reqwest::Client,
    manual_clock: Option<Arc<ManualClock>>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<anyhow::Result<()>>>,
    data_dir: Option<TempDir>,
    /// Dropped after the server was told to stop (fields drop after `Drop::drop`).
    _schema: Option<PgSchema>,
}

impl TestApp {
    /// A walletd on port 0 with a fresh data directory, SQLite, the system clock, random ids and
    /// otherwise the default configuration.
    pub fn builder() -> TestAppBuilder {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = Config {
            listen: "127.0.0.1:0".into(),
            data_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        TestAppBuilder {
            config,
            data_dir: Some(dir),
            clock: Arc::new(SystemClock),
            manual_clock: None,
            ids: Arc::new(RandomIds::default()),
            schema: None,
        }
    }

    /// Another node of this wallet: the same configuration (so the same database and data
    /// directory, which this app keeps) and clock, its own listeners on port 0. Keep this app
    /// alive while the node runs.
    pub fn second_node(&self) -> TestAppBuilder {
        let mut config = self.config.clone();
        config.listen = "127.0.0.1:0".into();
        TestAppBuilder {
            config,
            data_dir: None,
            clock: match &self.manual_clock {
                Some(clock) => clock.clone(),
                None => Arc::new(SystemClock),
            },
            manual_clock: self.manual_clock.clone(),
            ids: Arc::new(RandomIds::default()),
            schema: None,
        }
    }

    /// A URL of this walletd's main listener.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// The clock the test moves; panics unless the app was built with one.
    pub fn clock(&self) -> &Arc<ManualClock> {
        self.manual_clock
            .as_ref()
            .expect("this app runs on the system clock")
    }

    /// A Mini Program client of `client_id` signing with `key`, verifying with the wallet's key.
    pub fn mini_program(&self, client_id: &str, key: &PrivateKey) -> MiniProgramClient {
        MiniProgramClient::new(
            &self.base_url,
            client_id,
            key.clone(),
            self.wallet_public_key.clone(),
        )
    }

    /// An AlphaPay client of `merchant_code` on the main listener.
    pub fn alphapay(&self, merchant_code: &str, key: &PrivateKey) -> AlphaPayClient {
        AlphaPayClient::new(
            &self.base_url,
            merchant_code,
            key.clone(),
            self.wallet_public_key.clone(),
        )
    }

    pub async fn assert_books_sound(&self) {
        crate::assert_books_sound(&self.wallet).await;
    }

    /// Asks the server to stop and returns its task, which ends when the server has stopped.
    pub fn stop_server(&mut self) -> JoinHandle<anyhow::Result<()>> {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
        self.server.take().expect("the server was started")
    }

    /// Stops the server and its workers, waits for them, and hands back the data directory
    /// (`None` when the caller owns it).
    pub async fn stop(mut self) -> Option<TempDir> {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
        if let Some(h) = self.server.take() {
            let _ = h.await;
        }
        self.data_dir.take()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
    }
}

impl TestAppBuilder {
    /// Changes the configuration (applied now, in call order).
    pub fn configure(mut self, f: impl FnOnce(&mut Config)) -> Self {
        f(&mut self.config);
        self
    }

    /// A clock the test moves, starting now.
    pub fn manual_clock(self) -> Self {
        self.clock(Arc::new(ManualClock::new(chrono::Utc::now())))
    }

    /// This clock the test moves (e.g. the one of the app this one restarts).
    pub fn clock(mut self, clock: Arc<ManualClock>) -> Self {
        self.clock = clock.clone();
        self.manual_clock = Some(clock);
        self
    }

    /// Where payment ids and secrets come from.
    pub fn ids(mut self, ids: Arc<dyn IdSource>) -> Self {
        self.ids = ids;
        self
    }

    /// Runs on this data directory, which the app keeps (a restart on an earlier app's files).
    pub fn data_dir(mut self, dir: TempDir) -> Self {
        self.config.data_dir = dir.path().to_path_buf();
        self.data_dir = Some(dir);
        self
    }

    /// Runs on a data directory the caller owns.
    pub fn data_dir_at(mut self, path: &Path) -> Self {
        self.config.data_dir = path.to_path_buf();
        self.data_dir = None;
        self
    }

    /// Runs on `name` inside the fresh directory, which walletd creates itself.
    pub fn data_subdir(mut self, name: &str) -> Self {
        let dir = self.data_dir.as_ref().expect("a fresh data directory");
        self.config.data_dir = dir.path().join(name);
        self
    }

    /// Stores in `schema` of the test PostgreSQL server (dropped with the app).
    pub fn postgres(mut self, schema: PgSchema) -> Self {
        self.config.database = Some(schema.url());
        self.schema = Some(schema);
        self
    }

    /// Stores in the database `url` names (one several nodes share; the caller owns it).
    pub fn database_url(mut self, url: &str) -> Self {
        self.config.database = Some(url.to_owned());
        self
    }

    /// Opens the wallet on its store; nothing listens yet.
    pub fn open(self) -> Opened {
        let wallet = walletd_server::open_wallet(&self.config, self.clock, self.ids).expect("wallet");
        Opened {
            wallet,
            config: self.config,
            data_dir: self.data_dir,
            manual_clock: self.manual_clock,
            schema: self.schema,
        }
    }

    /// Opens and starts a walletd with nothing in it.
    pub async fn spawn(self) -> TestApp {
        self.open().start().await
    }
}

impl Opened {
    /// Builds the application on the opened wallet and serves it until the app is dropped.
    pub async fn start(self) -> TestApp {
        let app = Application::build_with_wallet(self.config.clone(), self.wallet.clone())
            .await
            .expect("build");
        let addr = app.local_addr();
        let state = app.state().clone();
        let wallet_public_key = state.wallet_key.public_key();
        let console_addr = app.console_addr();
        let metrics_addr = app.metrics_addr();
        let alphapay_addr = app.alphapay_addr();
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until_stopped(async {
            let _ = rx.await;
        }));
        TestApp {
            base_url: format!("http://127.0.0.1:{}", addr.port()),
            addr,
            port: addr.port(),
            state,
            wallet: self.wallet,
            wallet_public_key,
            data_path: self.config.data_dir.clone(),
            config: self.config,
            console_addr,
            metrics_addr,
            alphapay_addr,
            http: reqwest::Client::new(),
            manual_clock: self.manual_clock,
            shutdown: Some(tx),
            server: Some(server),
            data_dir: self.data_dir,
            _schema: self.schema,
        }
    }
}
