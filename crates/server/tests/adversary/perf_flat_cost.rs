//! A request's cost does not grow with stored history: the daily-limit check of a merchant with
//! tens of thousands of payments today costs what it costs a merchant with none. Cost is counted
//! as CPU time of the storage writer thread (not wall time), measured in interleaved rounds so
//! that a loaded machine slows both merchants alike.

use crate::perf_harness::{spawn_perf_app, BUSY, QUIET};

/// Payments of the busy merchant today; a SUM over them costs tens of milliseconds per pay.
const HISTORY: usize = 30_000;
const ROUNDS: usize = 4;
const PAYS_PER_ROUND: usize = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pay_costs_no_more_after_the_merchants_day_filled_up() {
    let app = spawn_perf_app().await;
    app.fill_day(BUSY, HISTORY).await;
    let (mut busy_ns, mut quiet_ns) = (0u64, 0u64);
    for round in 0..ROUNDS {
        for (merchant, spent) in [(BUSY, &mut busy_ns), (QUIET, &mut quiet_ns)] {
            let before = app.writer_cpu_ns().await;
            for i in 0..PAYS_PER_ROUND {
                let status = app.pay(merchant, &format!("r{round}-{i}")).await;
                assert_eq!(status, "A", "{merchant}'s pay is accepted");
            }
            *spent += app.writer_cpu_ns().await.saturating_sub(before);
        }
    }
    assert!(quiet_ns > 0, "the writer thread's CPU time is readable");
    let pays = (ROUNDS * PAYS_PER_ROUND) as u64;
    // Generous: three times the quiet merchant's cost plus 5 ms per pay. A SUM over the busy
    // merchant's day costs well over that; a running total costs the same for both.
    let bound = 3 * quiet_ns + pays * 5_000_000;
    assert!(
        busy_ns <= bound,
        "the storage writer spent {} µs per pay of the merchant with {HISTORY} payments today, \
         {} µs per pay of the one with none",
        busy_ns / pays / 1000,
        quiet_ns / pays / 1000
    );
}
