//! When a notification is tried again after a failed attempt.

use chrono::{DateTime, Duration, Utc};
use rand::Rng as _;

/// A retry schedule. Attempts are counted from 1; the first attempt is made as soon as the
/// notification is due, so a schedule only says what follows a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// After failed attempt `n`, wait `gaps[n - 1]`; spent when the gaps are (one attempt more than
    /// gaps in all). No gaps: a single attempt.
    Gaps(Vec<Duration>),
    /// `burst` attempts `burst_gap` apart, then one every `every`, as long as the next attempt is
    /// not later than `until` (AlphaPay: 3 at once, then every 30 min until 24 h after payment).
    BurstThenEvery {
        burst: u32,
        burst_gap: Duration,
        every: Duration,
        until: DateTime<Utc>,
    },
}

impl Schedule {
    /// The Mini Program schedule from the configuration (by default the gaps in docs/choices.md).
    pub fn from_gaps_ms(gaps_ms: &[u64]) -> Schedule {
        Schedule::Gaps(
            gaps_ms
                .iter()
                .map(|ms| Duration::milliseconds(i64::try_from(*ms).unwrap_or(i64::MAX / 2)))
                .collect(),
        )
    }

    /// When to make the next attempt after `attempts_made` attempts (the failed one just made
    /// included), or `None` when the schedule is spent. `jitter_percent` moves each wait by up to
    /// that share of itself, either way.
    pub fn next_attempt_at(
        &self,
        attempts_made: usize,
        now: DateTime<Utc>,
        jitter_percent: u8,
    ) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Gaps(gaps) => {
                let gap = *gaps.get(attempts_made.checked_sub(1)?)?;
                Some(now + jittered(gap, jitter_percent))
            }
            Schedule::BurstThenEvery {
                burst,
                burst_gap,
                every,
                until,
            } => {
                let gap = if attempts_made < *burst as usize {
                    *burst_gap
                } else {
                    jittered(*every, jitter_percent)
                };
                let next = now + gap;
                (next <= *until).then_some(next)
            }
        }
    }
}

/// `gap` moved at random by up to `percent`% of itself, either way (never below zero).
fn jittered(gap: Duration, percent: u8) -> Duration {
    let percent = i64::from(percent.min(100));
    let span_ms = gap.num_milliseconds().saturating_mul(percent) / 100;
    if span_ms <= 0 {
        return gap;
    }
    let shift = rand::thread_rng().gen_range(-span_ms..=span_ms);
    (gap + Duration::milliseconds(shift)).max(Duration::zero())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proposal() -> Schedule {
        Schedule::from_gaps_ms(&crate::config::NotifierConfig::default().retry_gaps_ms)
    }

    #[test]
    fn the_default_is_protocol_proposal_of_eight_attempts() {
        let now = Utc::now();
        let expected_min = [4, 10, 15, 60, 120, 360, 900];
        let s = proposal();
        for (i, min) in expected_min.iter().enumerate() {
            assert_eq!(
                s.next_attempt_at(i + 1, now, 0),
                Some(now + Duration::minutes(*min)),
                "after attempt {}",
                i + 1
            );
        }
        assert_eq!(s.next_attempt_at(8, now, 0), None, "eight attempts in all");
        assert_eq!(s.next_attempt_at(0, now, 0), None);
    }

    #[test]
    fn jitter_stays_within_its_share() {
        let now = Utc::now();
        let s = Schedule::from_gaps_ms(&[100_000]);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..200 {
            let t = s.next_attempt_at(1, now, 10).unwrap();
            let ms = (t - now).num_milliseconds();
            assert!((90_000..=110_000).contains(&ms), "{ms}");
            seen.insert(ms);
        }
        assert!(seen.len() > 1, "jitter moves the time");
    }

    #[test]
    fn no_gaps_means_one_attempt() {
        assert_eq!(Schedule::Gaps(vec![]).next_attempt_at(1, Utc::now(), 10), None);
    }

    #[test]
    fn burst_then_every_stops_at_its_end() {
        let now = Utc::now();
        let s = Schedule::BurstThenEvery {
            burst: 3,
            burst_gap: Duration::zero(),
            every: Duration::minutes(30),
            until: now + Duration::hours(24),
        };
        assert_eq!(s.next_attempt_at(1, now, 0), Some(now));
        assert_eq!(s.next_attempt_at(2, now, 0), Some(now));
        assert_eq!(s.next_attempt_at(3, now, 0), Some(now + Duration::minutes(30)));
        let late = now + Duration::hours(23) + Duration::minutes(45);
        assert_eq!(s.next_attempt_at(20, late, 0), None, "past 24 h");
    }
}
