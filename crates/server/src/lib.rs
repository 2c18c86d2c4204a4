//! The walletd HTTP server: one axum router per dialect over one [`walletd_core::Wallet`].

pub mod alphapay;
pub mod cashier;
pub mod config;
pub mod consent; // consent and payment-code pages (issue 5)
pub mod home;
pub mod miniprogram;
pub mod notifier;
pub mod openapi;
pub mod pin;
pub mod signed_request; // shared by the signed dialects (issue 6)
pub mod store_api;
pub mod wallet_key;
pub mod workers;

use anyhow::Context as _;
use axum::routing::get;
use axum::Router;
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use tokio::net::TcpListener;
use walletd_core::clock::{Clock, IdSource, RandomIds, SystemClock};
use walletd_core::storage::sqlite::SqliteStore;
use walletd_core::Wallet;
use walletd_protocol::crypto::PublicKey;

pub use config::Config;
pub use wallet_key::WalletKey;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub wallet: Wallet,
    pub wallet_key: WalletKey,
    pub config: Arc<Config>,
    /// Base of links we hand out (cashier pages), without a trailing slash.
    pub public_base_url: Arc<str>,
    /// Parsed merchant public keys, by the key text they were parsed from.
    key_cache: Arc<RwLock<HashMap<String, PublicKey>>>,
    // ---- cashier pages (issue 4) ----
    /// Keys of the cashier's session cookies and CSRF tokens (a secret in the data directory).
    pub cashier_secrets: cashier::CashierSecrets,
}

impl AppState {
    /// Parses a stored public key once and keeps it.
    pub fn public_key(&self, text: &str) -> Result<PublicKey, walletd_protocol::crypto::KeyError> {
        if let Some(k) = self.key_cache.read().ok().and_then(|c| c.get(text).cloned()) {
            return Ok(k);
        }
        let key = PublicKey::from_text(text)?;
        if let Ok(mut c) = self.key_cache.write() {
            c.insert(text.to_owned(), key.clone());
        }
        Ok(key)
    }

    /// The cashier page of a payment.
    pub fn cashier_url(&self, payment_id: &str) -> String {
        format!("{}/cashier/{payment_id}", self.public_base_url)
    }
}

/// Opens the wallet described by `config`: the SQLite file in its data directory, or the database
/// its `database` key names (migrations are applied on opening).
pub fn open_wallet(config: &Config, clock: Arc<dyn Clock>, ids: Arc<dyn IdSource>) -> anyhow::Result<Wallet> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;
    // ---- PostgreSQL backend (issue 9) ----
    let database = config.database_choice().map_err(anyhow::Error::msg)?;
    let store: Arc<dyn walletd_core::storage::Store> = match &database {
        config::Database::Sqlite(path) => Arc::new(
            SqliteStore::open(path, 4).with_context(|| format!("opening database {}", path.display()))?,
        ),
        config::Database::Postgres(url) => Arc::new(
            walletd_core::storage::postgres::PostgresStore::open(url, config.database_connections)
                .with_context(|| format!("opening database {}", database.describe()))?,
        ),
    };
    Ok(Wallet::new(store, clock, ids, config.wallet_config()))
}

/// A built server, bound to its port, not yet serving.
pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
}

impl Application {
    /// Opens the database and the wallet key, binds the listen address.
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        let wallet = open_wallet(&config, Arc::new(SystemClock), Arc::new(RandomIds::default()))?;
        Self::build_with_wallet(config, wallet).await
    }

    /// Like [`Application::build`] with a wallet made by the caller (tests bring their own clock).
    pub async fn build_with_wallet(config: Config, wallet: Wallet) -> anyhow::Result<Application> {
        let wallet_key = wallet_key::load_or_create(&config.data_dir)?;
        let cashier_secrets = cashier::CashierSecrets::load_or_create(&config.data_dir)?; // issue 4
        let listener = TcpListener::bind(&config.listen)
            .await
            .with_context(|| format!("binding {}", config.listen))?;
        let addr = listener.local_addr()?;
        let public_base_url: Arc<str> = match &config.public_base_url {
            Some(u) => u.trim_end_matches('/').into(),
            None => format!("http://{addr}").into(),
        };
        let state = AppState {
            wallet,
            wallet_key,
            config: Arc::new(config),
            public_base_url,
            key_cache: Arc::new(RwLock::new(HashMap::new())),
            cashier_secrets,
        };
        let router = router(state.clone());
        Ok(Application {
            listener,
            router,
            state,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then stops taking connections and lets the open ones
    /// finish. Background workers (expiry sweep) run alongside and stop with it.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let workers = workers::spawn(self.state.clone(), stop_rx);
        let app = self.router.into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(self.listener, app)
            .with_graceful_shutdown(async move {
                shutdown.await;
                let _ = stop_tx.send(true);
            })
            .await
            .context("serving HTTP")?;
        for w in workers {
            let _ = w.await;
        }
        Ok(())
    }
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(home::page))
        .route("/healthz", get(|| async { "ok" }))
        .route("/openapi.json", get(openapi::document))
        .merge(cashier::router())
        .merge(consent::router()) // issue 5
        .merge(alphapay::router(&state.config.alphapay)) // issue 6: prefix from the configuration
        .merge(store_api::router())
        .fallback(miniprogram::handle)
        .with_state(state)
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM. The handlers are installed when this is called, not
/// when the future is first polled, so a signal that arrives while the server is still starting
/// stops it gracefully instead of killing it.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let handlers = {
        use tokio::signal::unix::{signal, SignalKind};
        (
            signal(SignalKind::interrupt()).ok(),
            signal(SignalKind::terminate()).ok(),
        )
    };
    async move {
        #[cfg(unix)]
        {
            let (mut int, mut term) = handlers;
            let int = async {
                match int.as_mut() {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => {
                        let _ = tokio::signal::ctrl_c().await;
                    }
                }
            };
            let term = async {
                match term.as_mut() {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = int => {},
                _ = term => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        tracing::info!("shutting down");
    }
}
