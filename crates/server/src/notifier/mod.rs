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

use crate::config::NotifierConfig;
use crate::AppState;
use chrono::{DateTime, Utc};
use schedule::Schedule;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use walletd_core::outbox::{Attempt, OutboxEntry};
use walletd_core::payments::Channel;

/// How much of a merchant's answer an attempt keeps.
pub const ANSWER_MAX_CHARS: usize = 512;

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
        // issue 6: body, signature and schedule live in the AlphaPay dialect.
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

fn http_client(config: &NotifierConfig) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_millis(config.timeout_ms.max(1)))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("walletd-notifier/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

async fn run(state: AppState, mut stop: watch::Receiver<bool>) {
    let config = state.config.notifier.clone();
    let http = http_client(&config);
    let max_in_flight = config.max_in_flight.max(1);
    // A lease outlives the longest send, so no other worker takes a row that is being sent.
    let lease_secs = i64::try_from(config.timeout_ms / 1000).unwrap_or(i64::MAX / 2) + 60;
    let poll = Duration::from_millis(config.poll_interval_ms.max(10));
    let mut in_flight: JoinSet<()> = JoinSet::new();
    loop {
        if *stop.borrow() {
            break;
        }
        let free = max_in_flight.saturating_sub(in_flight.len());
        if free > 0 {
            match state
                .wallet
                .claim_notifications(lease_secs, u32::try_from(free).unwrap_or(u32::MAX))
                .await
            {
                Ok(batch) => {
                    for entry in batch {
                        in_flight.spawn(deliver(state.clone(), http.clone(), entry));
                    }
                }
                Err(e) => tracing::error!(error = %e, "claiming notifications failed"),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(poll) => {}
            Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
            changed = stop.changed() => {
                if changed.is_err() {
                    break;
                }
            }
        }
    }
    while in_flight.join_next().await.is_some() {}
}

/// Sends one notification once and records the attempt.
async fn deliver(state: AppState, http: reqwest::Client, entry: OutboxEntry) {
    let at = state.wallet.now();
    let Some(format) = format_for(&entry) else {
        let why = format!(
            "walletd has no notification format for channel {}",
            channel_of(&entry).map_or("unknown", |c| c.as_str())
        );
        record(&state, &entry, unsendable(at, why), None).await;
        return;
    };
    let outgoing = match format.render(&state, &entry, at) {
        Ok(o) => o,
        Err(why) => {
            record(&state, &entry, unsendable(at, why), None).await;
            return;
        }
    };
    let mut request = http.post(&entry.url).body(outgoing.body);
    for (name, value) in outgoing.headers {
        request = request.header(name, value);
    }
    let started = Instant::now();
    let (http_status, answer, delivered) = match request.send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            match resp.bytes().await {
                Ok(body) => (
                    Some(status),
                    truncate(&String::from_utf8_lossy(&body)),
                    format.is_acknowledged(status, &body),
                ),
                Err(e) => (
                    Some(status),
                    truncate(&transport_error(&e, &state.config.notifier)),
                    false,
                ),
            }
        }
        Err(e) => (
            None,
            truncate(&transport_error(&e, &state.config.notifier)),
            false,
        ),
    };
    let attempt = Attempt {
        at,
        http_status,
        latency_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        answer,
        delivered,
    };
    let next = if delivered {
        None
    } else {
        format.schedule(&state.config.notifier, &entry).next_attempt_at(
            entry.attempts.len() + 1,
            state.wallet.now(),
            state.config.notifier.jitter_percent,
        )
    };
    record(&state, &entry, attempt, next).await;
}

fn unsendable(at: DateTime<Utc>, why: String) -> Attempt {
    Attempt {
        at,
        http_status: None,
        latency_ms: 0,
        answer: truncate(&why),
        delivered: false,
    }
}

fn transport_error(e: &reqwest::Error, config: &NotifierConfig) -> String {
    if e.is_timeout() {
        format!("no answer within {} ms", config.timeout_ms)
    } else if e.is_connect() {
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
