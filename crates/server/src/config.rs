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

/// Payment rules (PROTOCOL §2.7, §2.8, §2.14 proposals).
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
];

impl Config {
    /// Defaults, overlaid by `file` (if given) and then by `WALLETD_*` variables.
    pub fn load(file: Option<&Path>) -> Result<Config, figment::Error> {
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
        fig.merge(env).extract()
    }

    /// The wallet rules derived from this configuration.
    pub fn wallet_config(&self) -> walletd_core::WalletConfig {
        walletd_core::WalletConfig {
            payment_expiry_secs: self.payments.expiry_secs,
            max_payment_expiry_secs: self.payments.max_expiry_secs,
            cancel_window_secs: self.payments.cancel_window_secs,
            refund_window_secs: self.payments.refund_window_secs,
            sandbox: self.sandbox,
        }
    }

    /// Where the SQLite database lives.
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("walletd.sqlite3")
    }
}
