//! The walletd HTTP server: one axum router per dialect over one [`walletd_core::Wallet`].

pub mod alphapay;
pub mod cashier;
pub mod config;
pub mod consent; // consent and payment-code pages (issue 5)
pub mod edge;
pub mod miniprogram;
pub mod notifier;
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
    /// Per-client request rate limits (README "Security" → "Network edge").
    pub rate_limits: Arc<edge::RateLimits>,
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

/// A built server, bound to its port(s), not yet serving.
pub struct Application {
    listener: TcpListener,
    router: Router,
    /// AlphaPay's own listener (`alphapay.listen`), which writes Title-Case header names.
    alphapay: Option<(TcpListener, Router)>,
    state: AppState,
    gate: Arc<edge::ConnectionGate>,
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
        let alphapay_listener = match &config.alphapay.listen {
            Some(listen) => Some(
                TcpListener::bind(listen)
                    .await
                    .with_context(|| format!("binding the AlphaPay listener {listen}"))?,
            ),
            None => None,
        };
        let max_connections =
            edge::effective_max_connections(config.http.max_connections, edge::raise_open_file_limit());
        let gate = edge::ConnectionGate::new(max_connections, config.http.max_connections_per_address);
        let rate_limits = Arc::new(edge::RateLimits::new(&config.http));
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
            rate_limits,
        };
        let router = router(state.clone());
        let alphapay = alphapay_listener.map(|l| (l, alphapay_router(state.clone())));
        Ok(Application {
            listener,
            router,
            alphapay,
            state,
            gate,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// The address of AlphaPay's own listener, when `alphapay.listen` is set.
    pub fn alphapay_addr(&self) -> Option<SocketAddr> {
        self.alphapay.as_ref().and_then(|(l, _)| l.local_addr().ok())
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then stops taking connections, lets the requests in
    /// flight finish (their commits included) and, after `http.shutdown_grace_secs`, closes what is
    /// still open. Background workers (expiry sweep, notifier) run alongside and stop with it.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let workers = workers::spawn(self.state.clone(), stop_rx.clone());
        let http = &self.state.config.http;
        let listener = |router: Router, title_case_headers: bool, name: &'static str| edge::Listener {
            router,
            gate: Arc::clone(&self.gate),
            timeouts: edge::ConnectionTimeouts::from_config(http),
            title_case_headers,
            shutdown_grace: std::time::Duration::from_secs(http.shutdown_grace_secs),
            name,
        };
        let mut servers = tokio::task::JoinSet::new();
        servers.spawn(edge::serve(
            self.listener,
            listener(self.router.clone(), false, "main"),
            stop_rx.clone(),
        ));
        if let Some((l, router)) = self.alphapay {
            servers.spawn(edge::serve(
                l,
                listener(router, true, "alphapay"),
                stop_rx.clone(),
            ));
        }
        shutdown.await;
        let _ = stop_tx.send(true);
        while let Some(done) = servers.join_next().await {
            done.context("serving HTTP")?;
        }
        for w in workers {
            let _ = w.await;
        }
        Ok(())
    }
}

/// AlphaPay's own listener: the dialect and the health check, nothing else.
pub fn alphapay_router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .merge(alphapay::router(&state.config.alphapay))
        .with_state(state)
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .merge(cashier::router())
        .merge(consent::router()) // issue 5
        .merge(alphapay::router(&state.config.alphapay)) // issue 6: prefix from the configuration
        .merge(store_api::router())
        .fallback(miniprogram::handle)
        .with_state(state)
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
