//! The walletd HTTP server: one axum router per dialect over one [`walletd_core::Wallet`].
// An unwrap is a panic waiting for unexpected input: outside tests, say what failed instead.
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod alphapay;
pub mod cashier;
pub mod config;
pub mod consent; // consent and payment-code pages
                 // ---- operator console ----
pub mod console;
pub mod data_dir;
pub mod edge;
pub mod home;
pub mod i18n; // the wallet pages in the user's language
pub mod logging;
pub mod metrics;
pub mod miniprogram;
pub mod notifier;
pub mod openapi;
pub mod pin;
pub mod request_id;
pub mod signed_request; // shared by the signed dialects
pub mod store_api;
pub mod store_secret_key;
pub mod tls;
pub mod wallet_key;
pub mod workers;

use anyhow::Context as _;
use axum::handler::Handler as _;
use axum::routing::get;
use axum::Router;
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use tokio::net::TcpListener;
use walletd_core::clock::{Clock, IdSource, RandomIds, SystemClock};
use walletd_core::storage::sqlite::SqliteStorage;
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
    // ---- cashier pages ----
    /// Keys of the cashier's session cookies and CSRF tokens (a secret in the data directory).
    pub cashier_secrets: cashier::CashierSecrets,
    /// Throttles and the PIN checker pool of the wallet sign-in.
    pub sign_in_guard: Arc<pin::SignInGuard>,
    /// Per-client request rate limits (README "Security" → "Network edge").
    pub rate_limits: Arc<edge::RateLimits>,
    /// Where the operator console listens (`http://…`), when it is on; the home page links it.
    pub console_url: Option<Arc<str>>,
    /// The operators' metrics (README "Metrics").
    pub metrics: Arc<metrics::Metrics>,
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
/// its `database` key names (migrations are applied on opening). The data directory is made
/// private (0700, files 0600) and store secrets are sealed under its `store_secret_key`.
pub fn open_wallet(config: &Config, clock: Arc<dyn Clock>, ids: Arc<dyn IdSource>) -> anyhow::Result<Wallet> {
    data_dir::prepare(&config.data_dir)?;
    let database = config.database_choice().map_err(anyhow::Error::msg)?;
    let storage: Arc<dyn walletd_core::storage::Storage> = match &database {
        config::Database::Sqlite(path) => {
            data_dir::create_private_file(path)?;
            let storage = SqliteStorage::open(path, 4)
                .with_context(|| format!("opening database {}", path.display()))?;
            for suffix in ["", "-wal", "-shm", "-journal"] {
                let mut file = path.as_os_str().to_owned();
                file.push(suffix);
                data_dir::restrict(std::path::Path::new(&file), data_dir::FILE_MODE)?;
            }
            Arc::new(storage)
        }
        config::Database::Postgres(url) => Arc::new(
            walletd_core::storage::postgres::PostgresStorage::open(url, config.database_connections)
                .with_context(|| format!("opening database {}", database.describe()))?,
        ),
    };
    let sealer = store_secret_key::StoreSecretKey::load_or_create(&config.data_dir)?;
    data_dir::tighten(&config.data_dir)?;
    Ok(Wallet::new(storage, clock, ids, config.wallet_config()).with_store_sealer(Arc::new(sealer)))
}

/// A built server, bound to its port(s), not yet serving.
pub struct Application {
    listener: TcpListener,
    router: Router,
    /// AlphaPay's own listener (`alphapay.listen`), which writes Title-Case header names.
    alphapay: Option<(TcpListener, Router)>,
    /// The operator console's own listener (`console_listen`).
    console: Option<(TcpListener, Router)>,
    /// The metrics listener (`metrics_listen`), off unless configured.
    metrics: Option<(TcpListener, Router)>,
    state: AppState,
    gate: Arc<edge::ConnectionGate>,
    /// HTTPS on every listener, when a certificate is configured.
    tls: Option<tokio_rustls::TlsAcceptor>,
}

impl Application {
    /// Opens the database and the wallet key, binds the listen address.
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        let wallet = open_wallet(&config, Arc::new(SystemClock), Arc::new(RandomIds::default()))?;
        Self::build_with_wallet(config, wallet).await
    }

    /// Like [`Application::build`] with a wallet made by the caller (tests bring their own clock).
    pub async fn build_with_wallet(config: Config, wallet: Wallet) -> anyhow::Result<Application> {
        config.validate().map_err(anyhow::Error::msg)?;
        data_dir::prepare(&config.data_dir)?;
        let wallet_key = wallet_key::load_or_create(&config.data_dir)?;
        let cashier_secrets = cashier::CashierSecrets::load_or_create(&config.data_dir)?;
        let sign_in_guard = Arc::new(pin::SignInGuard::new(&config.cashier).map_err(anyhow::Error::msg)?);
        let wallet = with_sealed_store_secrets(&config, wallet).await?;
        data_dir::tighten(&config.data_dir)?;
        let listener = TcpListener::bind(&config.listen)
            .await
            .with_context(|| format!("binding {}", config.listen))?;
        let addr = listener.local_addr()?;
        let alphapay_listener =
            bind_optional(config.alphapay.listen.as_deref(), "the AlphaPay listener").await?;
        let console_listener =
            bind_optional(config.console_listen.as_deref(), "the operator console listener").await?;
        let metrics_listener =
            bind_optional(config.metrics_listen.as_deref(), "the metrics listener").await?;
        let metrics = Arc::new(metrics::Metrics::new());
        metrics::watch_store(&metrics, &wallet);
        let max_connections =
            edge::effective_max_connections(config.http.max_connections, edge::raise_open_file_limit());
        let gate = edge::ConnectionGate::new(max_connections, config.http.max_connections_per_address);
        let rate_limits = Arc::new(edge::RateLimits::new(&config.http));
        let tls = tls::acceptor(&config.tls)?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let public_base_url: Arc<str> = match &config.public_base_url {
            Some(u) => u.trim_end_matches('/').into(),
            None => format!("{scheme}://{addr}").into(),
        };
        let state = AppState {
            wallet,
            wallet_key,
            config: Arc::new(config),
            public_base_url,
            key_cache: Arc::new(RwLock::new(HashMap::new())),
            cashier_secrets,
            sign_in_guard,
            rate_limits,
            console_url: console_listener
                .as_ref()
                .and_then(|l| l.local_addr().ok())
                .map(|a| format!("http://{a}").into()),
            metrics,
        };
        let router = router(state.clone());
        let alphapay = alphapay_listener.map(|l| (l, alphapay_router(state.clone())));
        let console = console_listener.map(|l| (l, console::router(state.clone())));
        let metrics = metrics_listener.map(|l| (l, metrics::router(state.clone())));
        Ok(Application {
            listener,
            router,
            alphapay,
            console,
            metrics,
            state,
            gate,
            tls,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// The address of the metrics listener, when `metrics_listen` is set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().and_then(|(l, _)| l.local_addr().ok())
    }

    /// The address of AlphaPay's own listener, when `alphapay.listen` is set.
    pub fn alphapay_addr(&self) -> Option<SocketAddr> {
        self.alphapay.as_ref().and_then(|(l, _)| l.local_addr().ok())
    }

    /// The address of the operator console, when `console_listen` is set.
    pub fn console_addr(&self) -> Option<SocketAddr> {
        self.console.as_ref().and_then(|(l, _)| l.local_addr().ok())
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
        // The metrics listener has a small gate of its own: scrapes neither take the public
        // listeners' connections nor wait for them.
        let metrics_gate = edge::ConnectionGate::new(METRICS_MAX_CONNECTIONS, METRICS_MAX_CONNECTIONS);
        let listener = |router: Router, title_case_headers: bool, name: &'static str| edge::Listener {
            // Scrapers on the operators' network speak plain HTTP; every other listener HTTPS
            // when a certificate is configured.
            tls: if name == "metrics" { None } else { self.tls.clone() },
            router,
            gate: if name == "metrics" {
                Arc::clone(&metrics_gate)
            } else {
                Arc::clone(&self.gate)
            },
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
        if let Some((l, router)) = self.console {
            servers.spawn(edge::serve(
                l,
                listener(router, false, "console"),
                stop_rx.clone(),
            ));
        }
        if let Some((l, router)) = self.metrics {
            servers.spawn(edge::serve(
                l,
                listener(router, false, "metrics"),
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

/// The wallet with its store secret sealer (the data directory's `store_secret_key` unless the
/// caller brought one), after sealing any store secret still stored in clear. Refuses to start
/// when the key does not open every stored secret: every node must share the same key file.
async fn with_sealed_store_secrets(config: &Config, wallet: Wallet) -> anyhow::Result<Wallet> {
    let wallet = match wallet.store_sealer() {
        Some(_) => wallet,
        None => wallet.with_store_sealer(Arc::new(store_secret_key::StoreSecretKey::load_or_create(
            &config.data_dir,
        )?)),
    };
    let sealed = wallet
        .store_seal_clear_secrets()
        .await
        .context("sealing store secrets stored in clear")?;
    if sealed > 0 {
        tracing::warn!(
            sealed,
            "store secrets were stored in clear; sealed them under store_secret_key"
        );
    }
    let unopenable = wallet.store_unopenable_secrets().await?;
    anyhow::ensure!(
        unopenable.is_empty(),
        "{} does not open the secrets of {} store key(s) (first: {}): every node must share the same file",
        store_secret_key::key_path(&config.data_dir).display(),
        unopenable.len(),
        unopenable[0]
    );
    Ok(wallet)
}

/// Binds an optional listener (`what` names it in the error).
async fn bind_optional(listen: Option<&str>, what: &str) -> anyhow::Result<Option<TcpListener>> {
    match listen {
        Some(listen) => Ok(Some(
            TcpListener::bind(listen)
                .await
                .with_context(|| format!("binding {what} {listen}"))?,
        )),
        None => Ok(None),
    }
}

/// Open connections the metrics listener serves at once (a scraper or two, an operator's curl).
const METRICS_MAX_CONNECTIONS: usize = 8;

/// AlphaPay's own listener: the dialect and the health check, nothing else.
pub fn alphapay_router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .merge(alphapay::router(&state))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state.metrics),
            metrics::track,
        ))
        .with_state(state)
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(home::page))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/openapi.json", get(openapi::document))
        .merge(cashier::router())
        .merge(consent::router())
        .merge(i18n::router())
        .merge(alphapay::router(&state)) // prefix from the configuration
        .merge(store_api::router())
        // Every other path: the Mini Program dialect under its prefixes, a 404 elsewhere.
        .fallback(miniprogram::handle.layer(axum::middleware::from_fn_with_state(
            state.clone(),
            signed_request::sign_answers::<miniprogram::MiniProgram>,
        )))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state.metrics),
            metrics::track,
        ))
        .layer(axum::middleware::from_fn(request_id::layer))
        .with_state(state)
}

/// `/readyz`: 200 `ready` when the database answers a query, its schema is current and a write
/// commits; 503 with the reason otherwise (a load balancer then sends traffic elsewhere).
async fn readyz(axum::extract::State(state): axum::extract::State<AppState>) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    match state.wallet.readiness().await {
        Ok(()) => (axum::http::StatusCode::OK, "ready\n").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                format!("not ready: {e}\n"),
            )
                .into_response()
        }
    }
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
