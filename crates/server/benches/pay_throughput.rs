//! Pay throughput of a real walletd on loopback: requests per second and latency percentiles.
//!
//! `cargo bench -p walletd-server --bench pay_throughput` (env `BENCH_REQUESTS`, default 4000, and
//! `BENCH_CONCURRENCY`, default 64). Requests are signed before the clock starts, so the figures are
//! the server's: verify, parse, one transaction (group commit), sign the answer.

use std::sync::Arc;
use std::time::{Duration, Instant};
use walletd_core::clock::{RandomIds, SystemClock};
use walletd_core::parties::Client;
use walletd_protocol::crypto::{Algorithm, PrivateKey};
use walletd_protocol::signature::format_header;
use walletd_protocol::{content, time};
use walletd_server::{Application, Config};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

struct Signed {
    body: Vec<u8>,
    time: String,
    signature: String,
}

/// What the load run measured: each request's latency, sorted, how many pays were accepted, and
/// how long the whole run took.
struct Measured {
    latencies: Vec<Duration>,
    accepted: usize,
    elapsed: Duration,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let requests = env_usize("BENCH_REQUESTS", 4000);
    let concurrency = env_usize("BENCH_CONCURRENCY", 64).max(1);
    let dir = tempfile::tempdir()?;
    let mut config = Config {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.path().to_path_buf(),
        ..Config::default()
    };
    // One client measures the server's ceiling: its request rate limit would cap the figure.
    config.http.rate_limit_per_second = 0;
    let wallet = walletd_server::open_wallet(&config, Arc::new(SystemClock), Arc::new(RandomIds::default()))?;
    let key = PrivateKey::generate(Algorithm::Rsa256)?;
    let mut client = Client::new("bench", "Bench", wallet.now());
    client.add_key("RSA256", &key.public_key().to_spki_pem(), wallet.now());
    wallet.add_client(client).await?;
    let app = Application::build_with_wallet(config, wallet.clone()).await?;
    let base = format!("http://{}", app.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));

    let path = "/api/v2/payments/pay";
    let signed = sign_pays(&key, path, requests);
    let measured = send_all(&format!("{base}{path}"), signed, concurrency).await?;
    print_figures(requests, concurrency, &measured);
    let report = wallet.verify().await?;
    println!("  books sound     {}", report.is_sound());
    let _ = stop.send(());
    let _ = server.await;
    let accepted = measured.accepted;
    anyhow::ensure!(
        accepted == requests,
        "only {accepted} of {requests} pays were accepted"
    );
    Ok(())
}

/// `requests` distinct v2 pay requests of the bench client, signed now with its key (before the
/// clock starts).
fn sign_pays(key: &PrivateKey, path: &str, requests: usize) -> Vec<Signed> {
    (0..requests)
        .map(|i| {
            let body = format!(
                r#"{{"appId":"bench-app","paymentRequestId":"bench-{i}","paymentAmount":{{"currency":"USD","value":"{}"}},"order":{{"referenceOrderId":"o-{i}","orderDescription":"bench"}}}}"#,
                100 + i % 900
            )
            .into_bytes();
            let at = time::format_response_time(chrono::Utc::now().fixed_offset());
            let raw = key.sign(&content::mini_program("POST", path, "bench", &at, &body)).expect("sign");
            Signed { body, time: at, signature: format_header(Algorithm::Rsa256, 1, &raw) }
        })
        .collect()
}

/// Sends every signed request to `url` from `concurrency` connections at once, timing each.
async fn send_all(url: &str, signed: Vec<Signed>, concurrency: usize) -> anyhow::Result<Measured> {
    let requests = signed.len();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()?;
    let queue = Arc::new(std::sync::Mutex::new(signed));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (http, queue, url) = (http.clone(), queue.clone(), url.to_owned());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut accepted = 0usize;
            loop {
                let next = queue.lock().map(|mut q| q.pop()).unwrap_or(None);
                let Some(s) = next else { break };
                let t0 = Instant::now();
                let resp = http
                    .post(&url)
                    .header("client-id", "bench")
                    .header("request-time", &s.time)
                    .header("signature", &s.signature)
                    .header("content-type", "application/json; charset=UTF-8")
                    .body(s.body)
                    .send()
                    .await
                    .expect("send");
                let body = resp.bytes().await.expect("body");
                latencies.push(t0.elapsed());
                if body.windows(8).any(|w| w == b"\"ACCEPT\"") {
                    accepted += 1;
                }
            }
            (latencies, accepted)
        }));
    }
    let mut latencies = Vec::with_capacity(requests);
    let mut accepted = 0;
    for w in workers {
        let (l, a) = w.await?;
        latencies.extend(l);
        accepted += a;
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    Ok(Measured {
        latencies,
        accepted,
        elapsed,
    })
}

/// The figures: accepted pays, elapsed time, throughput and the latency percentiles.
fn print_figures(requests: usize, concurrency: usize, measured: &Measured) {
    let Measured {
        latencies,
        accepted,
        elapsed,
    } = measured;
    println!(
        "pay_throughput: {requests} signed v2 pay requests, concurrency {concurrency}, SQLite group commit"
    );
    println!("  accepted        {accepted}/{requests}");
    println!("  elapsed         {:.2} s", elapsed.as_secs_f64());
    println!(
        "  throughput      {:.0} requests/s",
        requests as f64 / elapsed.as_secs_f64()
    );
    println!(
        "  latency p50     {:.1} ms",
        percentile(latencies, 50.0).as_secs_f64() * 1000.0
    );
    println!(
        "  latency p99     {:.1} ms",
        percentile(latencies, 99.0).as_secs_f64() * 1000.0
    );
    println!(
        "  latency max     {:.1} ms",
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1000.0
    );
}
