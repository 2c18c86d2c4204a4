//! The notifier: sends the outbox's notifications to merchants as signed POSTs and retries them on
//! a schedule until they are acknowledged or the schedule is spent.
//!
//! Everything it knows is in the outbox, so a restart loses nothing: a worker claims due rows
//! with a lease (committed before any HTTP call), sends each, and records the attempt (time, HTTP
//! status, latency, the start of the answer) together with the next attempt time, or DELIVERED,
//! or FAILED when the schedule is spent. A process that dies mid-send leaves a leased row that
//! becomes due again when the lease runs out, so delivery is at least once: merchants dedupe by
//! `paymentId`.
//!
//! Each dialect decides its own notifications through [`NotificationFormat`]: the body, the
//! signed headers, the retry schedule and what counts as an acknowledgement. See [`format_for`].

pub mod miniprogram;
pub mod schedule;
pub mod target;

use crate::config::NotifierConfig;
use crate::AppState;
use chrono::{DateTime, Utc};
use schedule::Schedule;
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use walletd_core::outbox::{Attempt, OutboxEntry};
use walletd_core::payments::Channel;

/// How much of a merchant's answer an attempt keeps.
pub const ANSWER_MAX_CHARS: usize = 512;

/// How much of a merchant's answer is read at most; the rest is never downloaded. An
/// acknowledgement is a small JSON `result`, so this is plenty.
pub const ANSWER_READ_MAX_BYTES: usize = 4 * 1024;

/// Notifications claimed and waiting for a free slot, per merchant, as a multiple of
/// `max_in_flight_per_client`. A merchant's rows beyond it are given back to the outbox at once,
/// due now, so they queue behind the other merchants' due rows: one merchant's backlog cannot fill
/// the queue nor keep the others' rows from being claimed.
const WAITING_PER_CLIENT_FACTOR: usize = 4;

/// A notification ready to send: its body and headers (signature included).
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

/// What a dialect decides about its notifications.
pub trait NotificationFormat: Send + Sync {
    /// The body and signed headers of `entry`, sent at `now`. An `Err` is a notification that can
    /// never be sent (it is marked FAILED with this text as the answer).
    fn render(&self, state: &AppState, entry: &OutboxEntry, now: DateTime<Utc>) -> Result<Outgoing, String>;
    /// When to retry `entry` after a failed attempt.
    fn schedule(&self, config: &NotifierConfig, entry: &OutboxEntry) -> Schedule;
    /// True if the merchant's answer means "received, stop".
    fn is_acknowledged(&self, http_status: u16, body: &[u8]) -> bool;
    /// True if the dialect's document spells header names in Title-Case (`Merchant-Code`) and they
    /// must be written so on the wire; false for lower case.
    fn title_case_headers(&self) -> bool {
        false
    }
}

/// The channel (dialect) a notification's record was created by.
fn channel_of(entry: &OutboxEntry) -> Option<Channel> {
    entry
        .snapshot
        .get("channel")
        .and_then(|c| serde_json::from_value(c.clone()).ok())
}

/// The notification format of `entry`'s dialect, if walletd has one.
pub fn format_for(entry: &OutboxEntry) -> Option<&'static dyn NotificationFormat> {
    match channel_of(entry)? {
        Channel::MiniProgramV1 | Channel::MiniProgramV2 => Some(&miniprogram::MiniProgram),
        // body, signature and schedule live in the AlphaPay dialect.
        Channel::AlphaPay => Some(&crate::alphapay::AlphaPayNotifications),
        Channel::Store => None,
    }
}

/// The request-target of a notify URL (`/path?query`), which is what gets signed.
pub fn request_target(url: &str) -> Result<String, String> {
    let u = reqwest::Url::parse(url).map_err(|e| format!("notify URL {url:?} is not a URL: {e}"))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(format!("notify URL {url:?} is not http(s)"));
    }
    Ok(match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_owned(),
    })
}

/// Starts the notifier's worker (unless disabled); it stops when `stop` turns true, after the
/// sends in flight finish (each is bounded by `timeout_ms`).
pub fn spawn(state: AppState, stop: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    if !state.config.notifier.enabled {
        return Vec::new();
    }
    vec![tokio::spawn(run(state, stop))]
}

/// The HTTP clients of the notifier: redirects never followed, no proxy from the environment,
/// names resolved by [`target::CheckedResolver`].
#[derive(Clone)]
struct HttpClients {
    lower_case: reqwest::Client,
    title_case: reqwest::Client,
}

fn http_client(config: &NotifierConfig, title_case: bool) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .timeout(Duration::from_millis(config.timeout_ms.max(1)))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(std::sync::Arc::new(target::CheckedResolver {
            allow_private: config.allow_private_targets,
        }))
        .pool_max_idle_per_host(config.max_in_flight_per_client.max(1))
        .user_agent(concat!("walletd-notifier/", env!("CARGO_PKG_VERSION")));
    if title_case {
        b = b.http1_title_case_headers();
    }
    b.build().unwrap_or_else(|e| {
        tracing::error!(error = %e, "building the notifier's HTTP client");
        reqwest::Client::new()
    })
}

/// A claimed notification waiting for a free slot of its merchant.
struct Waiting {
    entry: OutboxEntry,
    claimed: Instant,
}

/// How much the notifier sends and holds at once, and how long its leases and pauses are.
struct Limits {
    max_in_flight: usize,
    per_client: usize,
    max_waiting_per_client: usize,
    max_waiting: usize,
    /// How long a claim holds a row.
    lease_secs: i64,
    /// How long after its claim a waiting row may still start.
    start_by: Duration,
    poll: Duration,
}

impl Limits {
    fn of(config: &NotifierConfig) -> Limits {
        let max_in_flight = config.max_in_flight.max(1);
        let per_client = config.max_in_flight_per_client.clamp(1, max_in_flight);
        Limits {
            max_in_flight,
            per_client,
            max_waiting_per_client: per_client * WAITING_PER_CLIENT_FACTOR,
            max_waiting: max_in_flight * WAITING_PER_CLIENT_FACTOR,
            // A lease outlives the longest send, so no other worker takes a row that is being sent.
            lease_secs: i64::try_from(config.timeout_ms / 1000).unwrap_or(i64::MAX / 2) + 60,
            // A waiting row must start while its lease still covers a whole send; later, it is left
            // to be claimed again.
            start_by: Duration::from_secs(60 - 5),
            poll: Duration::from_millis(config.poll_interval_ms.max(10)),
        }
    }
}

/// The send loop's rows: those claimed and waiting per merchant, and the sends in flight.
#[derive(Default)]
struct Sends {
    in_flight: JoinSet<()>,
    /// Whose each send is, so that its slot comes back even if the send panicked.
    sending_for: HashMap<tokio::task::Id, String>,
    busy: HashMap<String, usize>,
    waiting: HashMap<String, VecDeque<Waiting>>,
    waiting_total: usize,
}

impl Sends {
    /// Claims as many due rows as there is room for and queues them per merchant; a merchant's
    /// rows beyond its share go back to the outbox.
    async fn claim(&mut self, state: &AppState, limits: &Limits) {
        let free = limits.max_waiting.saturating_sub(self.waiting_total);
        if free == 0 {
            return;
        }
        match state
            .wallet
            .claim_notifications(limits.lease_secs, u32::try_from(free).unwrap_or(u32::MAX))
            .await
        {
            Ok(batch) => {
                let overflow = queue_claimed(
                    batch,
                    &mut self.waiting,
                    &mut self.waiting_total,
                    limits.max_waiting_per_client,
                );
                give_back(state, overflow).await;
            }
            Err(e) => tracing::error!(error = %e, "claiming notifications failed"),
        }
    }

    /// Starts sends round robin over the merchants with waiting rows, each up to its own cap and
    /// all up to the total; a row whose lease no longer covers a whole send goes back instead.
    async fn start(&mut self, state: &AppState, http: &HttpClients, limits: &Limits) {
        let mut progressed = true;
        while progressed && self.in_flight.len() < limits.max_in_flight {
            progressed = false;
            for (client, queue) in self.waiting.iter_mut() {
                if self.in_flight.len() >= limits.max_in_flight {
                    break;
                }
                let n = self.busy.entry(client.clone()).or_insert(0);
                if *n >= limits.per_client {
                    continue;
                }
                while let Some(w) = queue.pop_front() {
                    self.waiting_total -= 1;
                    if w.claimed.elapsed() > limits.start_by {
                        // Its lease no longer covers a whole send: back to the outbox.
                        give_back(state, vec![w.entry.id]).await;
                        continue;
                    }
                    *n += 1;
                    progressed = true;
                    let task = self
                        .in_flight
                        .spawn(deliver(state.clone(), http.clone(), w.entry));
                    self.sending_for.insert(task.id(), client.clone());
                    break;
                }
            }
        }
        self.waiting.retain(|_, q| !q.is_empty());
    }
}

async fn run(state: AppState, mut stop: watch::Receiver<bool>) {
    let config = state.config.notifier.clone();
    let http = HttpClients {
        lower_case: http_client(&config, false),
        title_case: http_client(&config, true),
    };
    let limits = Limits::of(&config);
    let mut sends = Sends::default();
    loop {
        if *stop.borrow() {
            break;
        }
        sends.claim(&state, &limits).await;
        sends.start(&state, &http, &limits).await;
        tokio::select! {
            _ = tokio::time::sleep(limits.poll) => {}
            Some(done) = sends.in_flight.join_next_with_id(), if !sends.in_flight.is_empty() => {
                finished(done, &mut sends.sending_for, &mut sends.busy);
                while let Some(done) = sends.in_flight.try_join_next_with_id() {
                    finished(done, &mut sends.sending_for, &mut sends.busy);
                }
            }
            changed = stop.changed() => {
                if changed.is_err() {
                    break;
                }
            }
        }
    }
    // Stopping: what waits here is given back (due now) for this or another node to send; what is
    // in flight finishes (each send is bounded by `timeout_ms`).
    let rest = sends
        .waiting
        .into_values()
        .flatten()
        .map(|w| w.entry.id)
        .collect::<Vec<_>>();
    give_back(&state, rest).await;
    while sends.in_flight.join_next().await.is_some() {}
}

/// Queues freshly claimed rows per merchant, each queue up to `max_per_client`; returns the ids
/// that did not fit, to give back.
fn queue_claimed(
    batch: Vec<OutboxEntry>,
    waiting: &mut HashMap<String, VecDeque<Waiting>>,
    waiting_total: &mut usize,
    max_per_client: usize,
) -> Vec<String> {
    let mut overflow = Vec::new();
    for entry in batch {
        let queue = waiting.entry(entry.client_id.clone()).or_default();
        // Claimed again while still waiting here (its lease ran out): the lease is fresh again.
        // A row whose send just finished and is due again is queued anew.
        if let Some(w) = queue.iter_mut().find(|w| w.entry.id == entry.id) {
            w.entry = entry;
            w.claimed = Instant::now();
            continue;
        }
        if queue.len() >= max_per_client {
            overflow.push(entry.id);
            continue;
        }
        queue.push_back(Waiting {
            entry,
            claimed: Instant::now(),
        });
        *waiting_total += 1;
    }
    overflow
}

/// Returns claimed notifications to the outbox unsent: lease cleared, due now.
async fn give_back(state: &AppState, ids: Vec<String>) {
    for id in ids {
        if let Err(e) = state.wallet.resend_notification(&id).await {
            tracing::warn!(notification = %id, error = %e, "giving a claimed notification back failed; it is sent when its lease runs out");
        }
    }
}

/// Gives a finished send's slot back to its merchant.
fn finished(
    done: Result<(tokio::task::Id, ()), tokio::task::JoinError>,
    sending_for: &mut HashMap<tokio::task::Id, String>,
    busy: &mut HashMap<String, usize>,
) {
    let id = match done {
        Ok((id, ())) => id,
        Err(e) => {
            tracing::error!(error = %e, "a notification send ended abnormally");
            e.id()
        }
    };
    let Some(client) = sending_for.remove(&id) else {
        return;
    };
    if let Some(n) = busy.get_mut(&client) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            busy.remove(&client);
        }
    }
}

/// Sends one notification once and records the attempt.
async fn deliver(state: AppState, http: HttpClients, entry: OutboxEntry) {
    let at = state.wallet.now();
    let (format, url, outgoing) = match prepare(&state, &entry, at) {
        Ok(prepared) => prepared,
        Err(why) => {
            record(&state, &entry, unsendable(at, why), None).await;
            return;
        }
    };
    let config = &state.config.notifier;
    let client = if format.title_case_headers() {
        &http.title_case
    } else {
        &http.lower_case
    };
    let sent = walletd_core::outbox::SentRequest::post(url.as_str(), &outgoing.headers, &outgoing.body);
    let mut request = client.post(url).body(outgoing.body);
    for (name, value) in outgoing.headers {
        request = request.header(name, value);
    }
    let started = Instant::now();
    let (http_status, answer, delivered) = match request.send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            match read_answer(resp).await {
                Ok(body) => (
                    Some(status),
                    truncate(&String::from_utf8_lossy(&body)),
                    format.is_acknowledged(status, &body),
                ),
                Err(e) => (Some(status), truncate(&transport_error(&e, config)), false),
            }
        }
        Err(e) => (None, truncate(&transport_error(&e, config)), false),
    };
    let attempt = Attempt {
        at,
        http_status,
        latency_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        answer,
        delivered,
        sent: Some(sent),
    };
    let next = if delivered {
        None
    } else {
        format.schedule(config, &entry).next_attempt_at(
            entry.attempts.len() + 1,
            state.wallet.now(),
            config.jitter_percent,
        )
    };
    record(&state, &entry, attempt, next).await;
}

/// What sending `entry` at `at` takes: its dialect's format, its notify URL (checked again) and
/// the rendered body and headers; or why it can never be sent.
fn prepare(
    state: &AppState,
    entry: &OutboxEntry,
    at: DateTime<Utc>,
) -> Result<(&'static dyn NotificationFormat, reqwest::Url, Outgoing), String> {
    let Some(format) = format_for(entry) else {
        return Err(format!(
            "walletd has no notification format for channel {}",
            channel_of(entry).map_or("unknown", |c| c.as_str())
        ));
    };
    // Checked again at send time: the rules may have changed since the payment, and a row may
    // come from an older version that did not check.
    let url = target::check_notify_url(&entry.url, state.config.notifier.allow_private_targets)?;
    let outgoing = format.render(state, entry, at)?;
    Ok((format, url, outgoing))
}

/// Reads at most [`ANSWER_READ_MAX_BYTES`] of an answer and stops there (the connection is then
/// dropped), however much the merchant sends.
async fn read_answer(mut resp: reqwest::Response) -> Result<Vec<u8>, reqwest::Error> {
    let mut body = Vec::new();
    while body.len() < ANSWER_READ_MAX_BYTES {
        match resp.chunk().await? {
            Some(chunk) => {
                let room = ANSWER_READ_MAX_BYTES - body.len();
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            None => break,
        }
    }
    Ok(body)
}

fn unsendable(at: DateTime<Utc>, why: String) -> Attempt {
    Attempt {
        at,
        http_status: None,
        latency_ms: 0,
        answer: truncate(&why),
        delivered: false,
        sent: None,
    }
}

fn transport_error(e: &reqwest::Error, config: &NotifierConfig) -> String {
    if e.is_timeout() {
        format!("no answer within {} ms", config.timeout_ms)
    } else if e.is_connect() {
        // The resolver's refusal of a private address is the innermost cause; name it.
        let mut cause: &dyn std::error::Error = e;
        while let Some(inner) = cause.source() {
            if let Some(p) = inner.downcast_ref::<target::PrivateTarget>() {
                return format!("refused: {p}");
            }
            cause = inner;
        }
        format!("cannot connect: {e}")
    } else {
        e.to_string()
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(ANSWER_MAX_CHARS).collect()
}

async fn record(state: &AppState, entry: &OutboxEntry, attempt: Attempt, next: Option<DateTime<Utc>>) {
    let number = entry.attempts.len() + 1;
    let (delivered, status, answer) = (attempt.delivered, attempt.http_status, attempt.answer.clone());
    state.metrics.observe_notification(delivered, status);
    match state.wallet.record_attempt(&entry.id, attempt, next).await {
        Ok(_) if delivered => tracing::info!(
            notification = %entry.id, subject = %entry.subject_id, attempt = number, "notification delivered"
        ),
        Ok(_) => match next {
            Some(t) => tracing::warn!(
                notification = %entry.id, subject = %entry.subject_id, attempt = number, http_status = ?status,
                answer = %answer, next_attempt_at = %t, "notification not acknowledged; will retry"
            ),
            None => tracing::error!(
                notification = %entry.id, subject = %entry.subject_id, attempt = number, http_status = ?status,
                answer = %answer, "notification FAILED: retry schedule spent"
            ),
        },
        Err(e) => {
            tracing::error!(notification = %entry.id, error = %e, "recording a notification attempt failed")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signed_path_is_the_request_target() {
        assert_eq!(request_target("https://m.example/notify").unwrap(), "/notify");
        assert_eq!(
            request_target("http://127.0.0.1:9/a/b?x=1&y=2").unwrap(),
            "/a/b?x=1&y=2"
        );
        assert_eq!(request_target("https://m.example").unwrap(), "/");
        assert!(request_target("ftp://m.example/x").is_err());
        assert!(request_target("not a url").is_err());
    }

    #[test]
    fn answers_are_cut_to_512_characters() {
        let long = "é".repeat(600);
        assert_eq!(truncate(&long).chars().count(), 512);
        assert_eq!(truncate("short"), "short");
    }
}
