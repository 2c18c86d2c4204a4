//! What may reach a log. Whatever `RUST_LOG` asks for, the PostgreSQL client crates are held to
//! `info`: at `debug` they print every statement's parameters, which carry users' PIN hashes,
//! token hashes, sealed secrets and whole records. walletd's own events never carry a secret, a
//! PIN hash, a token or a signature; records that hold one redact it in their `Debug` output.

use tracing_subscriber::filter::{LevelFilter, Targets};

/// Log targets that print query parameters below `info`, each capped at `info`.
pub const PARAMETER_LOGGING_TARGETS: &[&str] = &["tokio_postgres", "postgres"];

/// A filter that lets everything through except the parameter-printing levels of
/// [`PARAMETER_LOGGING_TARGETS`]. It is layered beside the `RUST_LOG` filter, so an event must
/// pass both: no `RUST_LOG` value can switch them back on.
pub fn never_log_parameters() -> Targets {
    PARAMETER_LOGGING_TARGETS
        .iter()
        .fold(Targets::new().with_default(LevelFilter::TRACE), |t, target| {
            t.with_target(*target, LevelFilter::INFO)
        })
}

/// The `RUST_LOG` filter, `default` when it is unset or does not parse.
pub fn env_filter(default: &str) -> tracing_subscriber::EnvFilter {
    tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default))
}
