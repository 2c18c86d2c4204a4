//! Configuration: built-in defaults, then an optional TOML file, then `WALLETD_*` environment
//! variables (nested keys with `__`, e.g. `WALLETD_MINI_PROGRAM__REQUEST_TIME_WINDOW_SECS=300`).

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Everything walletd can be told.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on, e.g. `127.0.0.1:8080` (port 0 picks a free port).
    pub listen: String,
    /// Where the database and the wallet's key pair live.
    pub data_dir: PathBuf,
    /// The address merchants' users reach us at (cashier links). Default: `http://<listen>`.
    pub public_base_url: Option<String>,
    /// Honour the reserved sandbox amounts (README "Sandbox"). Never on in production.
    pub sandbox: bool,
    /// `text` or `json` log lines.
    pub log_format: String,
    pub mini_program: MiniProgramConfig,
    pub payments: PaymentsConfig,
    /// How often the expiry sweep runs, in milliseconds.
    pub sweep_interval_ms: u64,
    // ---- cashier pages and notifier ----
    pub cashier: CashierConfig,
    pub notifier: NotifierConfig,
    // ---- AlphaPay dialect ----
    pub alphapay: AlphaPayConfig,
    // ---- OAuth and payment codes ----
    pub oauth: OAuthConfig,
    // ---- PostgreSQL backend ----
    /// The database: unset for the SQLite file in the data directory, `sqlite:PATH` for another
    /// SQLite file, or a `postgres://user@host:port/db` URL to run as one of many nodes on it.
    pub database: Option<String>,
    /// PostgreSQL only: connections (and worker threads) of this node's pool.
    pub database_connections: usize,
    /// The network edge: timeouts, connection caps, request rate limits, shutdown.
    pub http: HttpConfig,
    /// HTTPS on walletd's own listeners.
    pub tls: TlsConfig,
    // ---- operator console ----
    /// Address of the operator console's own listener, e.g. `127.0.0.1:8081`. Unset (the
    /// default): no console. Keep it on a private address; it is for the wallet's operators.
    pub console_listen: Option<String>,
    pub console: ConsoleConfig,
    /// Address of the Prometheus metrics listener (`GET /metrics`), e.g. `127.0.0.1:9464`.
    /// Unset (the default): no metrics listener; the public listener never serves metrics.
    pub metrics_listen: Option<String>,
    /// A scrape counts payments and outbox entries per status up to this many rows each, so its
    /// cost stays bounded however long the history (a figure at the cap means "at least").
    pub metrics_count_cap: u32,
}

/// HTTPS on walletd's own listeners (the main one and the AlphaPay one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// The certificate chain, PEM (leaf first). Set with `key` to serve HTTPS.
    pub cert: Option<PathBuf>,
    /// The certificate's private key, PEM (PKCS#8, PKCS#1 or SEC1).
    pub key: Option<PathBuf>,
    /// Protocol versions offered: `"1.2"`, `"1.3"`.
    pub versions: Vec<String>,
}

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig {
            cert: None,
            key: None,
            versions: vec!["1.2".into(), "1.3".into()],
        }
    }
}

/// The operator console (README "Security" → "Operator console").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsoleConfig {
    /// How long a console sign-in lasts; then the operator signs in again.
    pub session_ttl_secs: i64,
    /// Wrong passwords in a row after which an operator's sign-in is locked
    /// (`walletd admin operator unlock` opens it).
    pub max_password_attempts: u32,
    /// Payments (and audit lines) per page; capped at 100.
    pub page_size: u32,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            session_ttl_secs: 15 * 60,
            max_password_attempts: 5,
            page_size: 50,
        }
    }
}

/// The network edge (README "Security" → "Network edge").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// A request's headers must arrive in full within this, counted from when the connection is
    /// ready for it (so it also bounds how long a kept-alive connection waits for its next request).
    pub header_read_timeout_secs: u64,
    /// A request's whole body must arrive within this, counted from the end of its headers.
    pub body_read_timeout_secs: u64,
    /// A connection on which no byte moves either way while no request is being handled is
    /// closed after this (e.g. a client that stopped reading its answer).
    pub idle_timeout_secs: u64,
    /// Open connections in all, over every listener; lowered to stay below the open-file limit.
    pub max_connections: usize,
    /// Open connections from one client address.
    pub max_connections_per_address: usize,
    /// Requests per second one authenticated client may make, on average; 0 turns the limit off.
    pub rate_limit_per_second: u32,
    /// Requests one client may make at once above the average.
    pub rate_limit_burst: u32,
    /// Clients whose request rate is tracked before idle ones are forgotten.
    pub rate_limit_max_clients: usize,
    /// On shutdown, how long requests in flight may take to finish before every connection still
    /// open is closed.
    pub shutdown_grace_secs: u64,
    /// How long a client read to check a request's signature may serve the next requests, in
    /// milliseconds (0: read it every time). A key removed by another node or by `walletd admin`
    /// is still accepted for at most this long; a new key works at once.
    pub client_cache_ms: u64,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            header_read_timeout_secs: 10,
            body_read_timeout_secs: 30,
            idle_timeout_secs: 60,
            max_connections: 4096,
            max_connections_per_address: 256,
            rate_limit_per_second: 600,
            rate_limit_burst: 1200,
            rate_limit_max_clients: 100_000,
            shutdown_grace_secs: 30,
            client_cache_ms: 1_000,
        }
    }
}

// ---- OAuth and payment codes ----
/// How long auth codes, tokens and payment codes live (docs/mini-program.md §16; docs/choices.md, OAuth).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OAuthConfig {
    /// An auth code from the consent page must be exchanged (applyToken) within this time.
    pub auth_code_ttl_secs: i64,
    pub access_token_ttl_secs: i64,
    pub refresh_token_ttl_secs: i64,
    /// A payment code the user's app shows is good for this long (and once).
    pub payment_code_ttl_secs: i64,
}

impl Default for OAuthConfig {
    fn default() -> Self {
        let l = walletd_core::oauth::Lifetimes::default();
        OAuthConfig {
            auth_code_ttl_secs: l.auth_code_secs,
            access_token_ttl_secs: l.access_token_secs,
            refresh_token_ttl_secs: l.refresh_token_secs,
            payment_code_ttl_secs: l.payment_code_secs,
        }
    }
}

impl OAuthConfig {
    /// The lifetimes the core works with.
    pub fn lifetimes(&self) -> walletd_core::oauth::Lifetimes {
        walletd_core::oauth::Lifetimes {
            auth_code_secs: self.auth_code_ttl_secs,
            access_token_secs: self.access_token_ttl_secs,
            refresh_token_secs: self.refresh_token_ttl_secs,
            payment_code_secs: self.payment_code_ttl_secs,
        }
    }
}
// ---- end OAuth and payment codes ----

// ---- AlphaPay dialect ----
/// The AlphaPay Open API dialect (docs/alphapay.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlphaPayConfig {
    /// The path prefix the API is served under: `<prefix>/v1.0/...` and `<prefix>/v2.0/...`.
    pub prefix: String,
    /// Currencies an order may be in.
    pub currencies: Vec<walletd_protocol::Currency>,
    /// How long an unpaid order stays payable.
    pub unpaid_expiry_secs: i64,
    /// How far `Request-Time` may be from our clock, either way; a `Nonce` is remembered for
    /// twice this long, so a replay inside the window is always recognised.
    pub request_time_window_secs: u64,
    /// The largest request body accepted.
    pub body_limit_bytes: usize,
    /// A listener of its own for AlphaPay (e.g. `0.0.0.0:8081`), off by default. Its answers spell
    /// header names as the AlphaPay document does (`Signature`, `Merchant-Code`, `Response-Time`),
    /// which the shared listener cannot: it writes lower-case names for the Mini Program SDKs.
    pub listen: Option<String>,
}

impl Default for AlphaPayConfig {
    fn default() -> Self {
        AlphaPayConfig {
            prefix: "/api".into(),
            currencies: ["CAD", "USD", "CNY"]
                .iter()
                .filter_map(|c| walletd_protocol::Currency::from_code(c))
                .collect(),
            unpaid_expiry_secs: 5 * 60,
            request_time_window_secs: 15 * 60,
            body_limit_bytes: 1024 * 1024,
            listen: None,
        }
    }
}
// ---- end AlphaPay dialect ----

/// The cashier pages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CashierConfig {
    /// Wrong PINs in a row after which the user's sign-in is locked (an operator unlocks it).
    pub max_pin_attempts: u32,
    /// How long a cashier sign-in lasts. A sign-in is for one payment only.
    pub session_ttl_secs: i64,
    /// Threads that check PINs (argon2id, 19 MiB each); 0 means one per core, at most 4.
    pub hash_concurrency: usize,
    /// Sign-ins that may wait for a PIN checker; beyond them the page says "try again shortly".
    pub hash_queue: usize,
    /// A PIN checker idle this long gives its argon2 memory back to the system.
    pub hash_memory_idle_secs: u64,
    /// Sign-ins per login per minute (0: no limit), whatever the login and whether it exists.
    pub sign_in_per_login_per_minute: u32,
    /// Sign-ins per client address per minute (0: no limit); IPv6 counts per /64.
    pub sign_in_per_address_per_minute: u32,
    /// Most logins (and, separately, addresses) the throttles remember at once.
    pub sign_in_throttle_max_keys: usize,
    /// Reverse proxies (addresses or networks like `10.0.0.0/8`) whose `X-Forwarded-For` names
    /// the client address. Empty: the TCP peer is the client.
    pub trusted_proxies: Vec<String>,
}

impl Default for CashierConfig {
    fn default() -> Self {
        CashierConfig {
            max_pin_attempts: 5,
            session_ttl_secs: 15 * 60,
            hash_concurrency: 0,
            hash_queue: 16,
            hash_memory_idle_secs: 60,
            sign_in_per_login_per_minute: 10,
            sign_in_per_address_per_minute: 60,
            sign_in_throttle_max_keys: 100_000,
            trusted_proxies: Vec::new(),
        }
    }
}

impl CashierConfig {
    /// The number of PIN checker threads: `hash_concurrency`, or one per core (at most 4).
    pub fn hash_threads(&self) -> usize {
        match self.hash_concurrency {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get().min(4)),
            n => n,
        }
    }
}

/// The notifier: how notifications are sent and retried (docs/mini-program.md §15, docs/choices.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifierConfig {
    /// Run the notifier in this process.
    pub enabled: bool,
    /// How often the outbox is polled for due notifications.
    pub poll_interval_ms: u64,
    /// How long one POST may take before it counts as a failed attempt.
    pub timeout_ms: u64,
    /// Notifications being sent at the same time, at most.
    pub max_in_flight: usize,
    /// Notifications to one merchant being sent at the same time, at most, so that one merchant's
    /// slow endpoint cannot hold every slot.
    pub max_in_flight_per_client: usize,
    /// Send to loopback, private, link-local and other non-public addresses. Off in production,
    /// so a notify URL cannot reach the wallet's own network; on in the demo and the tests.
    pub allow_private_targets: bool,
    /// Mini Program: the wait after each failed attempt; one attempt more than gaps in all.
    pub retry_gaps_ms: Vec<u64>,
    /// Each wait is moved by up to this share of itself, either way, so that retries to a merchant
    /// that was down do not all arrive at once.
    pub jitter_percent: u8,
}

impl Default for NotifierConfig {
    fn default() -> Self {
        const MIN: u64 = 60_000;
        NotifierConfig {
            enabled: true,
            poll_interval_ms: 1000,
            timeout_ms: 10_000,
            max_in_flight: 16,
            max_in_flight_per_client: 4,
            allow_private_targets: false,
            retry_gaps_ms: vec![
                4 * MIN,
                10 * MIN,
                15 * MIN,
                60 * MIN,
                120 * MIN,
                360 * MIN,
                900 * MIN,
            ],
            jitter_percent: 10,
        }
    }
}

/// The Mini Program OpenAPI dialect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MiniProgramConfig {
    /// Path prefixes the API is served under; each appears in the docs or the SDKs.
    pub prefixes: Vec<String>,
    /// How far `Request-Time` may be from our clock, either way.
    pub request_time_window_secs: u64,
    /// The largest request body accepted.
    pub body_limit_bytes: usize,
}

/// Payment rules (docs/mini-program.md §9, §11, §12; docs/choices.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PaymentsConfig {
    pub expiry_secs: i64,
    pub max_expiry_secs: i64,
    pub cancel_window_secs: i64,
    pub refund_window_secs: i64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("walletd-data"),
            public_base_url: None,
            sandbox: false,
            log_format: "text".into(),
            mini_program: MiniProgramConfig::default(),
            payments: PaymentsConfig::default(),
            sweep_interval_ms: 1000,
            cashier: CashierConfig::default(),
            notifier: NotifierConfig::default(),
            alphapay: AlphaPayConfig::default(),
            oauth: OAuthConfig::default(),
            // ---- PostgreSQL backend ----
            database: None,
            database_connections: walletd_core::storage::postgres::DEFAULT_CONNECTIONS,
            http: HttpConfig::default(),
            tls: TlsConfig::default(),
            console_listen: None,
            console: ConsoleConfig::default(),
            metrics_listen: None,
            metrics_count_cap: 100_000,
        }
    }
}

impl Default for MiniProgramConfig {
    fn default() -> Self {
        MiniProgramConfig {
            prefixes: ["/api", "/api/open", "/miniprogram/api", "/ams/api"]
                .map(String::from)
                .to_vec(),
            request_time_window_secs: 15 * 60,
            body_limit_bytes: 1024 * 1024,
        }
    }
}

impl Default for PaymentsConfig {
    fn default() -> Self {
        let w = walletd_core::WalletConfig::default();
        PaymentsConfig {
            expiry_secs: w.payment_expiry_secs,
            max_expiry_secs: w.max_payment_expiry_secs,
            cancel_window_secs: w.cancel_window_secs,
            refund_window_secs: w.refund_window_secs,
        }
    }
}

/// The top-level keys of [`Config`], as environment variables spell them after `WALLETD_`.
const CONFIG_KEYS: &[&str] = &[
    "listen",
    "data_dir",
    "public_base_url",
    "sandbox",
    "log_format",
    "mini_program",
    "payments",
    "sweep_interval_ms",
    "cashier",
    "notifier",
    "alphapay",
    "oauth",
    // ---- PostgreSQL backend ----
    "database",
    "database_connections",
    "http",
];

impl Config {
    /// Defaults, overlaid by `file` (if given) and then by `WALLETD_*` variables.
    pub fn load(file: Option<&Path>) -> Result<Config, Box<figment::Error>> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(f) = file {
            fig = fig.merge(Toml::file_exact(f));
        }
        // Only our own keys: other WALLETD_* variables belong to the merchant-side commands.
        let env = Env::prefixed("WALLETD_")
            .filter(|k| {
                let k = k.as_str().to_ascii_lowercase();
                CONFIG_KEYS
                    .iter()
                    .any(|f| k == *f || k.starts_with(&format!("{f}__")))
            })
            .split("__");
        let config: Config = fig.merge(env).extract().map_err(Box::new)?;
        config.validate().map_err(|e| Box::new(figment::Error::from(e)))?;
        Ok(config)
    }

    /// Checks every duration, size and count against the bounds the code can work with, so that
    /// a value out of range is a clear message at start rather than an overflow (a panic) on the
    /// first request that adds it to a time. All problems are listed at once.
    pub fn validate(&self) -> Result<(), String> {
        let mut b = Bounds::default();
        b.check("sweep_interval_ms", self.sweep_interval_ms, 10, 3_600_000);
        b.check("database_connections", self.database_connections, 1, 1024);
        self.http.check_bounds(&mut b);
        self.oauth.check_bounds(&mut b);
        self.alphapay.check_bounds(&mut b);
        self.cashier.check_bounds(&mut b);
        self.console.check_bounds(&mut b);
        self.notifier.check_bounds(&mut b);
        self.mini_program.check_bounds(&mut b);
        self.payments.check_bounds(&mut b);
        let mut problems = b.0;
        for prefix in &self.mini_program.prefixes {
            if !prefix.starts_with('/') || prefix.len() > 64 {
                problems.push(format!(
                    "mini_program.prefixes: {prefix:?} must start with / (at most 64 characters)"
                ));
            }
        }
        let a = &self.alphapay;
        if !a.prefix.is_empty() && (!a.prefix.starts_with('/') || a.prefix.len() > 64) {
            problems.push(format!(
                "alphapay.prefix: {:?} must be empty or start with / (at most 64 characters)",
                a.prefix
            ));
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            problems.push(format!(
                "log_format = {:?}: use \"text\" or \"json\"",
                self.log_format
            ));
        }
        if self.tls.versions.is_empty() {
            problems.push("tls.versions is empty: name \"1.2\", \"1.3\" or both".into());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "the configuration is out of bounds:\n  {}",
                problems.join("\n  ")
            ))
        }
    }

    /// The wallet rules derived from this configuration.
    pub fn wallet_config(&self) -> walletd_core::WalletConfig {
        walletd_core::WalletConfig {
            payment_expiry_secs: self.payments.expiry_secs,
            max_payment_expiry_secs: self.payments.max_expiry_secs,
            cancel_window_secs: self.payments.cancel_window_secs,
            refund_window_secs: self.payments.refund_window_secs,
            sandbox: self.sandbox,
            client_cache_ms: self.http.client_cache_ms,
        }
    }

    /// Where the SQLite database lives.
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("walletd.sqlite3")
    }

    // ---- PostgreSQL backend ----
    /// Which database to run on, from [`Config::database`].
    pub fn database_choice(&self) -> Result<Database, String> {
        match self.database.as_deref().map(str::trim) {
            None | Some("") => Ok(Database::Sqlite(self.database_path())),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(Database::Postgres(url.to_owned()))
            }
            Some(other) => match other.strip_prefix("sqlite:") {
                Some(path) if !path.is_empty() => Ok(Database::Sqlite(PathBuf::from(path))),
                _ => Err(format!(
                    "database must be a postgres:// URL or sqlite:PATH, not {:?}",
                    redact(other)
                )),
            },
        }
    }
}

const DAY: i128 = 24 * 3600;
const YEAR: i128 = 366 * DAY;

/// The values found out of range while checking a configuration, in the order checked.
#[derive(Default)]
struct Bounds(Vec<String>);

impl Bounds {
    /// Notes `key = value` when the value lies outside `min..=max` (a count too large for the
    /// comparison counts as the largest).
    fn check(&mut self, key: &str, value: impl TryInto<i128>, min: i128, max: i128) {
        let value = value.try_into().unwrap_or(i128::MAX);
        if value < min || value > max {
            self.0
                .push(format!("{key} = {value} is out of range ({min} to {max})"));
        }
    }
}

impl HttpConfig {
    /// Timeouts, connection counts and rate limits of the HTTP server.
    fn check_bounds(&self, b: &mut Bounds) {
        b.check(
            "http.header_read_timeout_secs",
            self.header_read_timeout_secs,
            1,
            3600,
        );
        b.check(
            "http.body_read_timeout_secs",
            self.body_read_timeout_secs,
            1,
            3600,
        );
        b.check("http.idle_timeout_secs", self.idle_timeout_secs, 1, 86_400);
        b.check("http.client_cache_ms", self.client_cache_ms, 0, 60_000);
        b.check("http.max_connections", self.max_connections, 1, 1_000_000);
        b.check(
            "http.max_connections_per_address",
            self.max_connections_per_address,
            1,
            1_000_000,
        );
        b.check(
            "http.rate_limit_per_second",
            self.rate_limit_per_second,
            0,
            1_000_000,
        );
        b.check("http.rate_limit_burst", self.rate_limit_burst, 1, 10_000_000);
        b.check(
            "http.rate_limit_max_clients",
            self.rate_limit_max_clients,
            1,
            10_000_000,
        );
        b.check("http.shutdown_grace_secs", self.shutdown_grace_secs, 0, 3600);
    }
}

impl OAuthConfig {
    /// Lifetimes of auth codes, tokens and payment codes.
    fn check_bounds(&self, b: &mut Bounds) {
        b.check("oauth.auth_code_ttl_secs", self.auth_code_ttl_secs, 1, DAY);
        b.check(
            "oauth.access_token_ttl_secs",
            self.access_token_ttl_secs,
            1,
            10 * YEAR,
        );
        b.check(
            "oauth.refresh_token_ttl_secs",
            self.refresh_token_ttl_secs,
            1,
            10 * YEAR,
        );
        b.check("oauth.payment_code_ttl_secs", self.payment_code_ttl_secs, 1, DAY);
    }
}

impl AlphaPayConfig {
    /// Unpaid expiry, request time window and body limit of the AlphaPay API.
    fn check_bounds(&self, b: &mut Bounds) {
        b.check(
            "alphapay.unpaid_expiry_secs",
            self.unpaid_expiry_secs,
            1,
            30 * DAY,
        );
        b.check(
            "alphapay.request_time_window_secs",
            self.request_time_window_secs,
            1,
            10 * YEAR,
        );
        b.check("alphapay.body_limit_bytes", self.body_limit_bytes, 1024, 64 << 20);
    }
}

impl CashierConfig {
    /// PIN attempts, sessions, PIN hashing and sign-in throttling of the cashier.
    fn check_bounds(&self, b: &mut Bounds) {
        b.check("cashier.max_pin_attempts", self.max_pin_attempts, 1, 100);
        b.check("cashier.session_ttl_secs", self.session_ttl_secs, 1, DAY);
        b.check("cashier.hash_concurrency", self.hash_concurrency, 0, 256);
        b.check("cashier.hash_queue", self.hash_queue, 0, 100_000);
        b.check(
            "cashier.hash_memory_idle_secs",
            self.hash_memory_idle_secs,
            0,
            86_400,
        );
        b.check(
            "cashier.sign_in_per_login_per_minute",
            self.sign_in_per_login_per_minute,
            0,
            1_000_000,
        );
        b.check(
            "cashier.sign_in_per_address_per_minute",
            self.sign_in_per_address_per_minute,
            0,
            1_000_000,
        );
        b.check(
            "cashier.sign_in_throttle_max_keys",
            self.sign_in_throttle_max_keys,
            1,
            10_000_000,
        );
    }
}

impl ConsoleConfig {
    /// Sessions, password attempts and page size of the operator console.
    fn check_bounds(&self, b: &mut Bounds) {
        b.check("console.session_ttl_secs", self.session_ttl_secs, 1, DAY);
        b.check(
            "console.max_password_attempts",
            self.max_password_attempts,
            1,
            100,
        );
        b.check("console.page_size", self.page_size, 1, 100);
    }
}

impl NotifierConfig {
    /// Polling, timeouts, concurrency and the retry schedule of the notifier.
    fn check_bounds(&self, b: &mut Bounds) {
        b.check("notifier.poll_interval_ms", self.poll_interval_ms, 10, 3_600_000);
        b.check("notifier.timeout_ms", self.timeout_ms, 100, 600_000);
        b.check("notifier.max_in_flight", self.max_in_flight, 1, 10_000);
        b.check(
            "notifier.max_in_flight_per_client",
            self.max_in_flight_per_client,
            1,
            10_000,
        );
        b.check("notifier.jitter_percent", self.jitter_percent, 0, 100);
        b.check(
            "notifier.retry_gaps_ms (how many)",
            self.retry_gaps_ms.len(),
            0,
            64,
        );
        for (k, gap) in self.retry_gaps_ms.iter().enumerate() {
            b.check(&format!("notifier.retry_gaps_ms[{k}]"), *gap, 1, 7 * 86_400_000);
        }
    }
}

impl MiniProgramConfig {
    /// Request time window and body limit of the Mini Program API.
    fn check_bounds(&self, b: &mut Bounds) {
        b.check(
            "mini_program.request_time_window_secs",
            self.request_time_window_secs,
            1,
            10 * YEAR,
        );
        b.check(
            "mini_program.body_limit_bytes",
            self.body_limit_bytes,
            1024,
            64 << 20,
        );
    }
}

impl PaymentsConfig {
    /// Expiry and the cancel and refund windows of payments; the default expiry within the
    /// longest.
    fn check_bounds(&self, b: &mut Bounds) {
        b.check("payments.max_expiry_secs", self.max_expiry_secs, 1, YEAR);
        b.check(
            "payments.expiry_secs",
            self.expiry_secs,
            1,
            i128::from(self.max_expiry_secs.max(1)),
        );
        b.check(
            "payments.cancel_window_secs",
            self.cancel_window_secs,
            0,
            10 * YEAR,
        );
        b.check(
            "payments.refund_window_secs",
            self.refund_window_secs,
            0,
            10 * YEAR,
        );
    }
}

// ---- PostgreSQL backend ----
/// Where walletd keeps its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// One SQLite file (the default, under the data directory).
    Sqlite(PathBuf),
    /// A PostgreSQL URL; many nodes may share it.
    Postgres(String),
}

impl Database {
    /// A description for logs and messages, without a password.
    pub fn describe(&self) -> String {
        match self {
            Database::Sqlite(p) => format!("sqlite {}", p.display()),
            Database::Postgres(url) => format!("postgres {}", redact(url)),
        }
    }
}

/// `url` with the password (if any) replaced by `***`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod validate_tests {
    use super::*;

    #[test]
    fn the_defaults_are_within_bounds() {
        assert_eq!(Config::default().validate(), Ok(()));
    }

    #[test]
    fn a_value_that_would_overflow_a_time_is_refused_at_load_with_its_key() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("walletd.toml");
        std::fs::write(
            &file,
            "[payments]\nmax_expiry_secs = 9223372036854775807\n[notifier]\nretry_gaps_ms = [60000, 9223372036854775807]\n",
        )
        .expect("write");
        let err = Config::load(Some(&file)).expect_err("out of bounds").to_string();
        assert!(err.contains("payments.max_expiry_secs"), "{err}");
        assert!(err.contains("notifier.retry_gaps_ms[1]"), "{err}");
    }

    #[test]
    fn every_problem_is_listed_at_once() {
        let mut c = Config::default();
        c.http.header_read_timeout_secs = 0;
        c.notifier.jitter_percent = 101;
        c.log_format = "xml".into();
        let err = c.validate().expect_err("three problems");
        for key in [
            "http.header_read_timeout_secs",
            "notifier.jitter_percent",
            "log_format",
        ] {
            assert!(err.contains(key), "{err}");
        }
    }
}

#[cfg(test)]
mod database_tests {
    use super::*;

    #[test]
    fn the_database_key_picks_the_backend() {
        let mut c = Config::default();
        assert_eq!(c.database_choice(), Ok(Database::Sqlite(c.database_path())));
        c.database = Some("postgres://walletd@db:5432/wallet".into());
        assert_eq!(
            c.database_choice(),
            Ok(Database::Postgres("postgres://walletd@db:5432/wallet".into()))
        );
        c.database = Some("sqlite:/var/lib/w.sqlite3".into());
        assert_eq!(
            c.database_choice(),
            Ok(Database::Sqlite("/var/lib/w.sqlite3".into()))
        );
        c.database = Some("mysql://root:hunter2@db/w".into());
        let e = c.database_choice().expect_err("not a database we run on");
        assert!(e.contains("postgres://") && !e.contains("hunter2"), "{e}");
    }

    #[test]
    fn passwords_never_reach_the_log() {
        assert_eq!(
            redact("postgres://u:secret@h:5432/d?x=1"),
            "postgres://u:***@h:5432/d?x=1"
        );
        assert_eq!(redact("postgres://u@h/d"), "postgres://u@h/d");
        assert_eq!(
            Database::Postgres("postgresql://a:b@c/d".into()).describe(),
            "postgres postgresql://a:***@c/d"
        );
    }
}
