//! `walletd bench …` (hidden): the helpers of `bench/run.sh`. They prepare a data directory and
//! pre-sign requests; the load itself comes from `wrk`, so the figures are the server's.

use anyhow::Context as _;
use clap::{Subcommand, ValueEnum};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use walletd_core::clock::{RandomIds, SystemClock};
use walletd_core::parties::{Client, Limits, User};
use walletd_core::payments::{Channel, PayCommand, PayFactors, PayOutcome, PaymentStatus, Scenario};
use walletd_core::Wallet;
use walletd_protocol::crypto::{Algorithm, PrivateKey};
use walletd_protocol::signature::format_header;
use walletd_protocol::{content, time, Amount, Currency};
use walletd_server::Config;

/// The bench merchant's client id and app id.
pub const CLIENT_ID: &str = "bench";
const APP_ID: &str = "bench-app";
/// The bench payer (a user with a large balance).
const PAYER: &str = "bench-payer";
/// Most payments one history transaction inserts.
const MAX_HISTORY_BATCH: usize = 50_000;
/// Most requests one pre-signed script holds (each is a few hundred bytes of Lua).
const MAX_PRESIGNED: usize = 2_000_000;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Create the bench merchant (key in DATA_DIR/bench-merchant/private_key.pem, a daily limit
    /// so every pay checks it) and a payer with a balance; optionally PAID paid payments
    /// (`paid-<n>`, through the wallet: pay with a known payer, then confirm).
    Setup {
        /// Paid payments to create for the refund and inquiry runs.
        #[arg(long, default_value_t = 0)]
        paid: usize,
        /// The merchant's USD daily limit in minor units (large: it must not refuse, only count).
        #[arg(long, default_value_t = 900_000_000_000_000)]
        daily_limit: i64,
    },
    /// Store PAYMENTS paid payments of the bench merchant, created today, through the storage
    /// API in large transactions (history for the flat-cost run; they have no ledger legs).
    History {
        #[arg(long)]
        payments: usize,
        #[arg(long, default_value_t = 10_000)]
        batch: usize,
    },
    /// Sign REQUESTS distinct requests of one kind now and write a wrk Lua script that sends
    /// them, each wrk thread its own share, and prints one `RESULT` line at the end.
    Presign {
        #[arg(long, value_enum)]
        kind: Kind,
        #[arg(long)]
        requests: usize,
        /// wrk threads (`-t`): thread k sends requests k, k+T, k+2T, …
        #[arg(long, default_value_t = 2)]
        threads: usize,
        /// Milliseconds each connection waits before its next request (fixed-rate runs).
        #[arg(long, default_value_t = 0)]
        delay_ms: u64,
        /// Prefix of the request ids, so several runs on one database stay distinct.
        #[arg(long, default_value = "run")]
        tag: String,
        /// How many paid payments `setup --paid` made (inquiries and refunds cycle through them).
        #[arg(long, default_value_t = 1)]
        paid: usize,
        #[arg(long)]
        out: PathBuf,
    },
    /// Sign answer-sized content with the wallet's key (RSA-2048 by default) on THREADS threads
    /// for SECONDS and print the rate: walletd's own signing ceiling, next to `openssl speed`'s.
    Sign {
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
        #[arg(long, default_value_t = 2)]
        threads: usize,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Kind {
    /// v2 cashier pay, a new paymentRequestId each.
    Pay,
    /// v2 inquiryPayment of the paid payments `paid-<n>`, in turn.
    Inquiry,
    /// v2 refund of 1 minor unit of the paid payments `paid-<n>` in turn, a new
    /// refundRequestId each (a payment of 1000 minor units takes up to 1000 of them).
    Refund,
    /// Store API `get_config`, HMAC-signed, a new salt each: no RSA, but every salt is claimed
    /// in a write transaction (salts are single-use).
    Store,
}

/// Pre-signed requests per Lua chunk (each entry holds up to four string constants).
const LUA_CHUNK: usize = 10_000;
/// Closes a chunk: appends its requests to `reqs`.
const LUA_CHUNK_END: &str = "} for _, r in ipairs(t) do reqs[#reqs + 1] = r end end)()";

/// Where `setup` leaves the bench store key: its id and secret on two lines (mode 0600).
const STORE_KEY_FILE: &str = "store_key";

fn open(config: &Config) -> anyhow::Result<Wallet> {
    walletd_server::open_wallet(config, Arc::new(SystemClock), Arc::new(RandomIds::default()))
}

fn usd(minor: i64) -> anyhow::Result<Amount> {
    Ok(Amount::from_minor(
        Currency::from_code("USD").context("USD")?,
        minor,
    )?)
}

fn cashier_pay(request_id: String, minor: i64, payer: Option<&str>) -> anyhow::Result<PayCommand> {
    Ok(PayCommand {
        client_id: CLIENT_ID.into(),
        channel: Channel::MiniProgramV2,
        partner_id: None,
        app_id: Some(APP_ID.into()),
        payment_request_id: request_id.clone(),
        amount: walletd_protocol::PositiveAmount::new(usd(minor)?)
            .context("a bench payment moves more than zero")?,
        scenario: Scenario::Cashier,
        order_title: "bench".into(),
        reference_order_id: Some(request_id),
        merchant_display_name: None,
        payer_user_id: payer.map(str::to_owned),
        expiry_time: None,
        return_url: None,
        notify_url: None,
        extend_info: None,
        payment_auth_code: None,
        factors: PayFactors::default(),
    })
}

pub async fn run(config: &Config, command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Setup { paid, daily_limit } => setup(config, paid, daily_limit).await,
        BenchCommand::History { payments, batch } => history(config, payments, batch).await,
        BenchCommand::Sign { seconds, threads } => sign_rate(&config.data_dir, seconds, threads),
        BenchCommand::Presign {
            kind,
            requests,
            threads,
            delay_ms,
            tag,
            paid,
            out,
        } => presign(
            &config.data_dir,
            kind,
            Shape {
                requests,
                threads,
                delay_ms,
                paid: paid.max(1),
            },
            &tag,
            &out,
        ),
    }
}

/// Signs a pay answer's worth of content in a loop on `threads` threads for `seconds` with the
/// wallet's key, as the server signs its answers, and prints `SIGN signs_per_s=…`.
fn sign_rate(data_dir: &Path, seconds: f64, threads: usize) -> anyhow::Result<()> {
    anyhow::ensure!(
        seconds > 0.0 && seconds <= 600.0,
        "--seconds must be above 0 and at most 600"
    );
    anyhow::ensure!((1..=256).contains(&threads), "--threads must be 1 to 256");
    let key = walletd_server::wallet_key::load_or_create(data_dir)?.key;
    let content = format!(
        "POST /v2/payments/pay\n{CLIENT_ID}.2026-11-30T12:00:00+08:00.{}",
        r#"{"result":{"resultCode":"ACCEPT","resultStatus":"A","resultMessage":"accepted"},"paymentId":"2026113012345678901234567890","paymentTime":"2026-11-30T12:00:00+08:00","actionForm":"{\"actionFormType\":\"RedirectActionForm\",\"redirectUrl\":\"http://127.0.0.1:8080/cashier/2026113012345678901234567890\"}"}"#
    );
    let until = Instant::now() + std::time::Duration::from_secs_f64(seconds);
    let counts = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| -> anyhow::Result<u64> {
                    let mut n = 0u64;
                    while Instant::now() < until {
                        key.sign(content.as_bytes())
                            .map_err(|e| anyhow::anyhow!("signing: {e}"))?;
                        n += 1;
                    }
                    Ok(n)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .map_err(|_| anyhow::anyhow!("a signing thread panicked"))?
            })
            .collect::<anyhow::Result<Vec<u64>>>()
    })?;
    let total: u64 = counts.iter().sum();
    println!(
        "SIGN algorithm={} threads={threads} seconds={seconds} signs={total} signs_per_s={:.1}",
        key.algorithm().as_str(),
        total as f64 / seconds
    );
    Ok(())
}

async fn setup(config: &Config, paid: usize, daily_limit: i64) -> anyhow::Result<()> {
    let wallet = open(config)?;
    add_bench_merchant(&wallet, &config.data_dir, daily_limit).await?;
    add_bench_payer(&wallet).await?;
    if paid == 0 {
        return Ok(());
    }
    make_paid_payments(&wallet, paid).await
}

/// The bench merchant: a client with an RSA key (written under DATA_DIR/bench-merchant), the
/// bench app id and a USD daily limit, plus a store configuration and an HMAC store key whose
/// id and secret go to the store key file beside the private key.
async fn add_bench_merchant(wallet: &Wallet, data_dir: &Path, daily_limit: i64) -> anyhow::Result<()> {
    let key = crate::generate_keys(Algorithm::Rsa256, &data_dir.join("bench-merchant"))?;
    let mut client = Client::new(CLIENT_ID, "Bench", wallet.now());
    client.app_ids = vec![APP_ID.into()];
    client.limits.insert(
        "USD".into(),
        Limits {
            per_payment_minor: None,
            daily_minor: Some(daily_limit),
        },
    );
    client.add_key("RSA256", &key.public_key().to_spki_pem(), wallet.now());
    wallet.add_client(client).await?;
    wallet
        .store_set_config(walletd_core::store::StoreConfig {
            client_id: CLIENT_ID.into(),
            currency: Currency::from_code("USD").context("USD")?,
            min_purchase_minor: 0,
            gateway_url: None,
            support_email: None,
            updated_at: wallet.now(),
        })
        .await?;
    let store_key = wallet
        .store_add_key(walletd_core::store::NewStoreKey {
            client_id: CLIENT_ID.into(),
            mode: walletd_core::store::StoreKeyMode::Hmac,
            expiration_secs: 3600,
            sections: vec![walletd_core::store::SECTION_STORE.to_owned()],
        })
        .await?;
    walletd_server::wallet_key::write_private(
        &data_dir.join("bench-merchant").join(STORE_KEY_FILE),
        &format!("{}\n{}\n", store_key.key_id, store_key.secret),
    )?;
    Ok(())
}

/// The bench payer: a user with a large USD balance who has granted the bench merchant
/// AGREEMENT_PAY.
async fn add_bench_payer(wallet: &Wallet) -> anyhow::Result<()> {
    wallet
        .add_user(User::new(PAYER, "+15559999999", "Bench Payer", wallet.now()))
        .await?;
    wallet.top_up(PAYER, usd(1_000_000_000_000)?).await?;
    // The payer grants the bench merchant AGREEMENT_PAY, as a merchant that names its payer must
    // hold (the paid payments below name the payer).
    let grant = walletd_core::oauth::Grant {
        client_id: CLIENT_ID.into(),
        app_id: Some(APP_ID.into()),
        user_id: PAYER.into(),
        scopes: vec![walletd_core::oauth::Scope::AgreementPay],
        agreement_limits: [("USD".to_owned(), 1_000_000_000_i64)].into_iter().collect(),
    };
    let code = wallet.issue_auth_code(grant, 300).await?.code;
    let request = walletd_core::oauth::TokenRequest {
        client_id: CLIENT_ID.into(),
        reference_client_id: None,
        grant_type: walletd_core::oauth::TokenGrantType::AuthorizationCode { auth_code: code },
    };
    wallet
        .apply_token(request, walletd_core::oauth::Lifetimes::default())
        .await?
        .map_err(|refused| anyhow::anyhow!("the bench payer's grant was refused: {refused:?}"))?;
    Ok(())
}

/// Payments in flight at once while `setup` makes its paid payments.
const SETUP_IN_FLIGHT: usize = 64;

/// Paid payments `paid-<n>`: a pay naming its payer holds the funds, the confirm posts them.
/// Many in flight at once, so group commit batches them as it does under HTTP load; prints the
/// rate of each step.
async fn make_paid_payments(wallet: &Wallet, paid: usize) -> anyhow::Result<()> {
    let in_flight = SETUP_IN_FLIGHT.min(paid);
    let started = Instant::now();
    let ids = pay_with_payer(wallet, paid, in_flight).await?;
    let paid_at = Instant::now();
    confirm_all(wallet, ids, in_flight).await?;
    let confirm_secs = paid_at.elapsed().as_secs_f64();
    println!(
        "CORE paid={paid} pay_with_payer_per_s={:.0} confirm_per_s={:.0}",
        paid as f64 / (paid_at - started).as_secs_f64(),
        paid as f64 / confirm_secs
    );
    Ok(())
}

/// Pays `paid-0` … `paid-<paid - 1>` (1000 minor units each, naming the bench payer) from
/// `in_flight` workers; the payment ids of the accepted pays.
async fn pay_with_payer(wallet: &Wallet, paid: usize, in_flight: usize) -> anyhow::Result<Vec<String>> {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..in_flight {
        let (wallet, next) = (wallet.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= paid {
                    return Ok::<_, anyhow::Error>(ids);
                }
                match wallet
                    .pay(cashier_pay(format!("paid-{i}"), 1000, Some(PAYER))?)
                    .await?
                {
                    PayOutcome::Accepted(p) => ids.push(p.payment_id),
                    other => anyhow::bail!("bench pay paid-{i}: {other:?}"),
                }
            }
        }));
    }
    let mut ids = Vec::with_capacity(paid);
    for w in workers {
        ids.extend(w.await??);
    }
    Ok(ids)
}

/// Confirms every payment in `ids` as the bench payer, from `in_flight` workers.
async fn confirm_all(wallet: &Wallet, ids: Vec<String>, in_flight: usize) -> anyhow::Result<()> {
    let queue = Arc::new(std::sync::Mutex::new(ids));
    let mut workers = Vec::new();
    for _ in 0..in_flight {
        let (wallet, queue) = (wallet.clone(), queue.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let next = queue.lock().map(|mut q| q.pop()).unwrap_or(None);
                let Some(id) = next else {
                    return Ok::<_, anyhow::Error>(());
                };
                wallet.confirm_payment(&id, PAYER).await?;
            }
        }));
    }
    for w in workers {
        w.await??;
    }
    Ok(())
}

async fn history(config: &Config, payments: usize, batch: usize) -> anyhow::Result<()> {
    let wallet = open(config)?;
    let batch = batch.clamp(1, MAX_HISTORY_BATCH);
    // One real payment of the bench merchant is the template; the copies differ in their ids
    // and are paid by the bench payer, so every one of them counts for the daily limit.
    let template = match wallet
        .pay(cashier_pay("history-template".into(), 500, None)?)
        .await?
    {
        PayOutcome::Accepted(p) => p,
        other => anyhow::bail!("the history template payment: {other:?}"),
    };
    let started = Instant::now();
    let mut done = 0usize;
    while done < payments {
        let n = batch.min(payments - done);
        let (first, template) = (done, template.clone());
        wallet
            .write(move |ctx, tx| {
                let now = ctx.now();
                for i in first..first + n {
                    let mut p = template.clone();
                    p.payment_id = format!("hist-{i:09}");
                    p.payment_request_id = format!("hist-{i}");
                    p.reference_order_id = Some(format!("hist-{i}"));
                    p.status = PaymentStatus::Success;
                    p.payer_user_id = Some(PAYER.into());
                    p.amount_minor = 100 + (i % 900) as i64;
                    p.created_at = now;
                    p.paid_at = Some(now);
                    tx.insert_payment(&p)?;
                }
                Ok(())
            })
            .await?;
        done += n;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "HISTORY payments={payments} seconds={secs:.1} per_s={:.0}",
        payments as f64 / secs
    );
    Ok(())
}

/// A Lua long string that holds `s` whatever it contains.
fn lua_string(s: &str) -> String {
    let mut level = 0;
    loop {
        let close = format!("]{}]", "=".repeat(level));
        if !s.contains(&close) {
            return format!("[{}[{s}{close}", "=".repeat(level));
        }
        level += 1;
    }
}

/// How many requests a script holds and how wrk sends them.
struct Shape {
    requests: usize,
    threads: usize,
    delay_ms: u64,
    paid: usize,
}

fn presign(data_dir: &Path, kind: Kind, shape: Shape, tag: &str, out: &Path) -> anyhow::Result<()> {
    let Shape {
        requests,
        threads,
        delay_ms,
        paid,
    } = shape;
    anyhow::ensure!(
        (1..=MAX_PRESIGNED).contains(&requests),
        "--requests must be 1..={MAX_PRESIGNED}"
    );
    let key = read_merchant_key(data_dir)?;
    let store_key = match kind {
        Kind::Store => Some(read_store_key(data_dir)?),
        _ => None,
    };
    let file = std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?;
    let mut w = std::io::BufWriter::new(file);
    writeln!(w, "-- pre-signed by `walletd bench presign`: {requests} requests")?;
    // Lua allows at most 65,536 constants in one function: the requests go in chunks, each a
    // function of its own that appends its share.
    writeln!(w, "local reqs = {{}}")?;
    let started = Instant::now();
    for i in 0..requests {
        if i % LUA_CHUNK == 0 {
            if i > 0 {
                writeln!(w, "{LUA_CHUNK_END}")?;
            }
            writeln!(w, ";(function() local t = {{")?;
        }
        if let Some((key_id, secret)) = &store_key {
            let path = store_request_path(key_id, secret, tag, i);
            writeln!(w, "{{{}, \"\", \"\", \"\"}},", lua_string(&path))?;
            continue;
        }
        write_signed_request(&mut w, &key, kind, tag, i, paid)?;
    }
    writeln!(w, "{LUA_CHUNK_END}")?;
    let store = if matches!(kind, Kind::Store) {
        "true"
    } else {
        "false"
    };
    // wrk waits `delay()` milliseconds before each request when the script defines it: only the
    // fixed-rate runs do. The waits are exponential with the asked mean, so that the connections
    // send independently, as real clients do: with one fixed wait, every connection that one group
    // commit answered would send again at the same instant, and the run would measure those
    // self-made bursts rather than the rate.
    let delay_fn = if delay_ms > 0 {
        format!(
            "local seeded = false\nfunction delay()\n  if not seeded then math.randomseed(7919 * tid + 1); seeded = true end\n  return math.floor(-math.log(1 - math.random()) * {delay_ms} + 0.5)\nend\n"
        )
    } else {
        String::new()
    };
    write_wrk_functions(&mut w, threads, store, &delay_fn)?;
    w.flush()?;
    eprintln!(
        "presigned {requests} {} requests in {:.1} s",
        kind_name(kind),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The bench merchant's private key (`walletd bench setup` writes it).
fn read_merchant_key(data_dir: &Path) -> anyhow::Result<PrivateKey> {
    let key_path = data_dir.join("bench-merchant").join("private_key.pem");
    let pem = std::fs::read_to_string(&key_path)
        .with_context(|| format!("reading {} (run `walletd bench setup` first)", key_path.display()))?;
    PrivateKey::from_text(&pem).context("the bench merchant key")
}

/// One entry of the request table for the `i`-th Mini Program request: its path, request time,
/// signature header (RSA256, key version 1, signed now) and body.
fn write_signed_request(
    w: &mut impl std::io::Write,
    key: &PrivateKey,
    kind: Kind,
    tag: &str,
    i: usize,
    paid: usize,
) -> anyhow::Result<()> {
    let (path, body) = api_request(kind, tag, i, paid);
    let at = time::format_response_time(chrono::Utc::now().fixed_offset());
    let raw = key.sign(&content::mini_program(
        "POST",
        path,
        CLIENT_ID,
        &at,
        body.as_bytes(),
    ))?;
    let signature = format_header(Algorithm::Rsa256, 1, &raw);
    writeln!(
        w,
        "{{{}, {}, {}, {}}},",
        lua_string(path),
        lua_string(&at),
        lua_string(&signature),
        lua_string(&body)
    )?;
    Ok(())
}

/// The kind of request, as the summary line names it.
fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Pay => "pay",
        Kind::Inquiry => "inquiry",
        Kind::Refund => "refund",
        Kind::Store => "store API",
    }
}

/// The bench store key (`walletd bench setup` writes its id and secret, a line each).
fn read_store_key(data_dir: &Path) -> anyhow::Result<(String, String)> {
    let path = data_dir.join("bench-merchant").join(STORE_KEY_FILE);
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut lines = text.lines();
    match (lines.next(), lines.next()) {
        (Some(id), Some(secret)) => Ok((id.to_owned(), secret.to_owned())),
        _ => anyhow::bail!("{} holds no key id and secret", path.display()),
    }
}

/// The `i`-th signed store API request (`get_config`), as a path with its query. The signature
/// covers only salt and timestamp (the protocol's design); base64 is percent-encoded for the
/// query string.
fn store_request_path(key_id: &str, secret: &str, tag: &str, i: usize) -> String {
    let timestamp = chrono::Utc::now().timestamp().to_string();
    let salt = format!("{tag}{i:024}");
    let signature = walletd_protocol::store_signature::store_sign(
        walletd_protocol::store_signature::StoreSignatureMode::Hmac,
        secret,
        &salt,
        &timestamp,
    )
    .replace('+', "%2B")
    .replace('/', "%2F")
    .replace('=', "%3D");
    format!(
        "/api.php?go=store&do=get_config&key={key_id}&timestamp={timestamp}&salt={salt}&signature={signature}"
    )
}

/// The path and body of the `i`-th Mini Program request of a pay, inquiry or refund run; the
/// inquiries and refunds name the `paid` payments `setup` made.
fn api_request(kind: Kind, tag: &str, i: usize, paid: usize) -> (&'static str, String) {
    match kind {
        Kind::Pay => (
            "/api/v2/payments/pay",
            format!(
                r#"{{"appId":"{APP_ID}","paymentRequestId":"{tag}-{i}","paymentAmount":{{"currency":"USD","value":"{}"}},"order":{{"referenceOrderId":"o-{tag}-{i}","orderDescription":"bench"}}}}"#,
                100 + i % 900
            ),
        ),
        Kind::Inquiry => (
            "/api/v2/payments/inquiryPayment",
            format!(r#"{{"paymentRequestId":"paid-{}"}}"#, i % paid),
        ),
        Kind::Store => unreachable!("store requests are written by store_request_path"),
        Kind::Refund => (
            "/api/v2/payments/refund",
            format!(
                r#"{{"refundRequestId":"{tag}-{i}","paymentRequestId":"paid-{}","refundAmount":{{"currency":"USD","value":"1"}}}}"#,
                i % paid
            ),
        ),
    }
}

/// The wrk script's functions after the request table: each thread formats its share once,
/// sends them round robin, counts bad answers and reports one RESULT line.
fn write_wrk_functions(
    w: &mut impl std::io::Write,
    threads: usize,
    store: &str,
    delay_fn: &str,
) -> std::io::Result<()> {
    write!(
        w,
        r#"
local threads = {{}}
local counter = 0
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
function init(args)
  bad = 0
  sample = ""
  -- Each thread formats its share of the requests once, here, so that sending one costs the
  -- load generator a table read (wrk.format per request would be measured as our own cost).
  mine = {{}}
  for i = tid + 1, #reqs, {threads} do
    local r = reqs[i]
    if {store} then
      mine[#mine + 1] = wrk.format("GET", r[1])
    else
      mine[#mine + 1] = wrk.format("POST", r[1], {{
        ["client-id"] = "{CLIENT_ID}",
        ["request-time"] = r[2],
        ["signature"] = r[3],
        ["content-type"] = "application/json; charset=UTF-8",
      }}, r[4])
    end
  end
  reqs = nil
  collectgarbage()
  next_req = 0
end
request = function()
  next_req = next_req + 1
  if next_req > #mine then next_req = 1 end
  return mine[next_req]
end
{delay_fn}function response(status, headers, body)
  local ok = body:find('"resultStatus":"S"', 1, true) or body:find('"resultStatus":"A"', 1, true)
  if {store} then ok = body:find('"data"', 1, true) end
  if status ~= 200 or not ok then
    bad = bad + 1
    if sample == "" then sample = body end
  end
end
function done(summary, latency, requests)
  local bad, sample = 0, ""
  for _, t in ipairs(threads) do
    bad = bad + t:get("bad")
    if sample == "" then sample = t:get("sample") end
  end
  local secs = summary.duration / 1e6
  io.write(string.format("RESULT requests=%d seconds=%.2f rps=%.1f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f bad=%d errors=%d presigned=%d\n",
    summary.requests, secs, summary.requests / secs, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, bad,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout,
    #reqs))
  if sample ~= "" then io.write("SAMPLE_BAD " .. sample .. "\n") end
end
"#
    )?;
    Ok(())
}
