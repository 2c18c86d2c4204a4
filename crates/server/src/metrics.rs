//! Operators' metrics in the Prometheus text format, served on their own listener
//! (`metrics_listen`, off by default) so that the public listener never shows them.
//!
//! Two kinds of figures:
//! * running values, kept as they happen: requests by dialect, API and result code, request
//!   latency, the SQLite writer's group-commit batch size and commit latency (through the core's
//!   [`StorageObserver`]), notification attempts by outcome;
//! * figures of the moment, computed on each scrape: database connections in use (a running value
//!   of the store), and payments and outbox entries by status, read in one read transaction with
//!   index range counts capped at `metrics_count_cap` rows each (the cost of a scrape is bounded
//!   whatever the history; a figure at the cap means "at least that many"). The outbox's oldest
//!   age is that of its most overdue entry by due time (`next_attempt_at`), which the
//!   `(status, next_attempt_at)` index answers without a scan.
//!
//! Label values are bounded: APIs are named from a fixed list (anything else is `unknown`),
//! result codes come from the protocol's table, and routes from the router's patterns.

use crate::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Instant;
use walletd_core::storage::StorageObserver;

/// The labels of one request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// `mini_program`, `alphapay`, or `http` for everything else (pages, store API, probes).
    pub dialect: String,
    /// The API (`/payments/pay`) or the route pattern (`/cashier/{payment_id}`).
    pub api: String,
    /// The dialect's result code (`SUCCESS`, `INVALID_SIGNATURE`, …) or the HTTP status.
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    dialect: String,
    api: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: String,
}

/// Set by a dialect handler on its response: the labels the request is counted under.
#[derive(Clone, Debug)]
pub struct RequestLabel(pub RequestLabels);

impl RequestLabel {
    pub fn new(dialect: &str, api: &str, result: &str) -> RequestLabel {
        RequestLabel(RequestLabels {
            dialect: dialect.to_owned(),
            api: api.to_owned(),
            result: result.to_owned(),
        })
    }
}

/// The APIs of the signed dialects below their version, the only values of the `api` label.
const KNOWN_APIS: &[&str] = &[
    "/payments/pay",
    "/payments/inquiryPayment",
    "/payments/cancel",
    "/payments/refund",
    "/payments/inquiryRefund",
    "/payments/capture",
    "/authorizations/applyToken",
    "/authorizations/cancelToken",
    "/customers/user/inquiryUserInfoByAccessToken",
    "/users/inquiryUserInfo",
];

/// The API that `path` ends with, from [`KNOWN_APIS`], or `unknown`: a caller cannot make up
/// label values.
pub fn api_label(path: &str) -> &'static str {
    KNOWN_APIS
        .iter()
        .find(|api| path.ends_with(*api))
        .copied()
        .unwrap_or("unknown")
}

/// Every figure walletd exports.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    commit_batch: Histogram,
    commit_seconds: Histogram,
    notifications: Family<OutcomeLabels, Counter>,
    payments: Family<StatusLabels, Gauge>,
    outbox_depth: Family<StatusLabels, Gauge>,
    outbox_oldest: Family<StatusLabels, Gauge<f64, AtomicU64>>,
    connections_in_use: Gauge,
    /// One scrape at a time computes the figures of the moment.
    scrape: tokio::sync::Mutex<()>,
}

fn latency_histogram() -> Histogram {
    // 1 ms … about 16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut metrics = Metrics {
            registry: Registry::with_prefix("walletd"),
            requests: Family::default(),
            latency: Family::new_with_constructor(latency_histogram as fn() -> Histogram),
            commit_batch: Histogram::new([1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0]),
            commit_seconds: Histogram::new(exponential_buckets(0.0001, 2.0, 16)),
            notifications: Family::default(),
            payments: Family::default(),
            outbox_depth: Family::default(),
            outbox_oldest: Family::default(),
            connections_in_use: Gauge::default(),
            scrape: tokio::sync::Mutex::new(()),
        };
        metrics.register_traffic();
        metrics.register_scrape_figures();
        metrics
    }

    /// Registers what is counted as it happens: requests and their latency, the SQLite writer's
    /// commits, and notification attempts.
    fn register_traffic(&mut self) {
        self.registry.register(
            "requests",
            "Requests answered, by dialect, API and result code",
            self.requests.clone(),
        );
        self.registry.register(
            "request_duration_seconds",
            "Time from a request's arrival to its answer, by dialect and API",
            self.latency.clone(),
        );
        self.registry.register(
            "db_commit_batch_jobs",
            "Jobs committed together by one durable commit of the SQLite writer (group commit)",
            self.commit_batch.clone(),
        );
        self.registry.register(
            "db_commit_duration_seconds",
            "Duration of the SQLite writer's durable COMMIT of one batch",
            self.commit_seconds.clone(),
        );
        self.registry.register(
            "notification_attempts",
            "Notification delivery attempts, by outcome (delivered, not_acknowledged, no_answer)",
            self.notifications.clone(),
        );
    }

    /// Registers the figures computed at each scrape: payments and outbox entries by status, the
    /// most overdue outbox entry, and the database connections in use.
    fn register_scrape_figures(&mut self) {
        self.registry.register(
            "payments",
            "Payments by status (counted on scrape, capped at metrics_count_cap)",
            self.payments.clone(),
        );
        self.registry.register(
            "outbox_entries",
            "Notification outbox entries by status (counted on scrape, capped at metrics_count_cap)",
            self.outbox_depth.clone(),
        );
        self.registry.register(
            "outbox_oldest_due_age_seconds",
            "Seconds since the most overdue outbox entry of a status was due (0 when none is due)",
            self.outbox_oldest.clone(),
        );
        self.registry.register(
            "db_connections_in_use",
            "Database connections running a transaction at the moment of the scrape",
            self.connections_in_use.clone(),
        );
    }

    /// Counts one answered request.
    pub fn observe_request(&self, labels: &RequestLabels, seconds: f64) {
        self.requests.get_or_create(labels).inc();
        self.latency
            .get_or_create(&RouteLabels {
                dialect: labels.dialect.clone(),
                api: labels.api.clone(),
            })
            .observe(seconds);
    }

    /// Counts one notification attempt.
    pub fn observe_notification(&self, delivered: bool, http_status: Option<u16>) {
        let outcome = match (delivered, http_status) {
            (true, _) => "delivered",
            (false, Some(_)) => "not_acknowledged",
            (false, None) => "no_answer",
        };
        self.notifications
            .get_or_create(&OutcomeLabels {
                outcome: outcome.into(),
            })
            .inc();
    }

    /// Computes the figures of the moment and renders everything in the Prometheus text format.
    pub async fn render(&self, state: &AppState) -> Result<String, String> {
        let _one_at_a_time = self.scrape.lock().await;
        if let Some(stats) = state.wallet.storage().stats() {
            self.connections_in_use
                .set(i64::try_from(stats.connections_in_use()).unwrap_or(i64::MAX));
        }
        let figures = state
            .wallet
            .live_figures(state.config.metrics_count_cap)
            .await
            .map_err(|e| e.to_string())?;
        for (status, n) in figures.payments {
            self.payments
                .get_or_create(&StatusLabels {
                    status: status.into(),
                })
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        let now = state.wallet.now();
        for (status, n, earliest) in figures.outbox {
            let labels = StatusLabels {
                status: status.into(),
            };
            self.outbox_depth
                .get_or_create(&labels)
                .set(i64::try_from(n).unwrap_or(i64::MAX));
            let age = earliest
                .map(|t| (now - t).num_milliseconds().max(0) as f64 / 1000.0)
                .unwrap_or(0.0);
            self.outbox_oldest.get_or_create(&labels).set(age);
        }
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry).map_err(|e| e.to_string())?;
        Ok(out)
    }
}

/// Times the SQLite writer's commits for [`Metrics`].
struct CommitTimer {
    metrics: Arc<Metrics>,
}

struct RunningCommit {
    metrics: Arc<Metrics>,
    started: Instant,
}

impl Drop for RunningCommit {
    fn drop(&mut self) {
        self.metrics
            .commit_seconds
            .observe(self.started.elapsed().as_secs_f64());
    }
}

impl StorageObserver for CommitTimer {
    fn commit_started(&self, jobs: usize) -> Box<dyn Send> {
        self.metrics.commit_batch.observe(jobs as f64);
        Box::new(RunningCommit {
            metrics: Arc::clone(&self.metrics),
            started: Instant::now(),
        })
    }
}

/// Makes the store report its commits to `metrics`.
pub fn watch_store(metrics: &Arc<Metrics>, wallet: &walletd_core::Wallet) {
    if let Some(stats) = wallet.storage().stats() {
        stats.observe(Arc::new(CommitTimer {
            metrics: Arc::clone(metrics),
        }));
    }
}

/// Middleware: counts and times every request. A dialect handler names its API and result code
/// with a [`RequestLabel`] on the response; anything else counts under its route pattern and
/// HTTP status.
pub async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let mut response = next.run(request).await;
    let labels = match response.extensions_mut().remove::<RequestLabel>() {
        Some(RequestLabel(l)) => l,
        None => RequestLabels {
            dialect: "http".into(),
            api: route.unwrap_or_else(|| "unmatched".into()),
            result: response.status().as_u16().to_string(),
        },
    };
    metrics.observe_request(&labels, started.elapsed().as_secs_f64());
    response
}

/// The metrics listener's router: `GET /metrics`.
pub fn router(state: AppState) -> axum::Router {
    axum::Router::new()
        .route("/metrics", axum::routing::get(scrape))
        .with_state(state)
}

async fn scrape(State(state): State<AppState>) -> Response {
    match state.metrics.render(&state).await {
        Ok(text) => (
            [(
                http::header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "computing metrics failed");
            (
                http::StatusCode::SERVICE_UNAVAILABLE,
                format!("metrics unavailable: {e}\n"),
            )
                .into_response()
        }
    }
}
