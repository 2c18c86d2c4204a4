//! Time and identifiers, injected so that tests can drive a day of payments in a second.

use chrono::{DateTime, Utc};
use rand::{Rng, SeedableRng};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;

/// Where the core gets "now" from.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to (tests, simulations).
#[derive(Debug)]
pub struct ManualClock {
    now_ms: AtomicI64,
}

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        ManualClock {
            now_ms: AtomicI64::new(start.timestamp_millis()),
        }
    }

    /// Moves the clock forward by `ms` milliseconds.
    pub fn advance_ms(&self, ms: i64) {
        self.now_ms.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.now_ms.load(Ordering::SeqCst)).unwrap_or_default()
    }
}

/// Where identifiers and secrets come from.
pub trait IdSource: Send + Sync + 'static {
    /// A new identifier for a record of kind `prefix` at time `now`, unique and at most 64 chars.
    fn new_id(&self, prefix: &str, now: DateTime<Utc>) -> String;
    /// `len` random bytes as lower-case hex (tokens, codes, nonces).
    fn random_hex(&self, len: usize) -> String;
}

/// Identifiers like wallets print them: a date-time stamp, then random digits, e.g.
/// `2026112214301220010123456789012`. Unguessable, sortable by creation time.
#[derive(Debug)]
pub struct RandomIds {
    rng: Mutex<rand::rngs::StdRng>,
}

impl Default for RandomIds {
    fn default() -> Self {
        RandomIds {
            rng: Mutex::new(rand::rngs::StdRng::from_entropy()),
        }
    }
}

impl RandomIds {
    /// Deterministic ids from a seed (simulations that must replay).
    pub fn seeded(seed: u64) -> Self {
        RandomIds {
            rng: Mutex::new(rand::rngs::StdRng::seed_from_u64(seed)),
        }
    }
}

impl IdSource for RandomIds {
    fn new_id(&self, prefix: &str, now: DateTime<Utc>) -> String {
        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        let kind = match prefix {
            "payment" => "11",
            "refund" => "12",
            "capture" => "13",
            _ => "19",
        };
        format!(
            "{}{}{:016}",
            now.format("%Y%m%d%H%M%S"),
            kind,
            rng.gen_range(0..10_000_000_000_000_000u64)
        )
    }

    fn random_hex(&self, len: usize) -> String {
        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        (0..len).map(|_| format!("{:02x}", rng.gen::<u8>())).collect()
    }
}

/// Counting ids (`payment-1`, `payment-2`, …) for readable test output.
#[derive(Debug, Default)]
pub struct SequentialIds {
    next: AtomicU64,
}

impl IdSource for SequentialIds {
    fn new_id(&self, prefix: &str, _now: DateTime<Utc>) -> String {
        format!("{prefix}-{}", self.next.fetch_add(1, Ordering::SeqCst) + 1)
    }

    fn random_hex(&self, len: usize) -> String {
        format!(
            "{:0width$x}",
            self.next.fetch_add(1, Ordering::SeqCst) + 1,
            width = len * 2
        )
    }
}
