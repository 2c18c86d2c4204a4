//! Wallet users' PINs and passwords: argon2id hashes, never stored or logged in clear; and the one
//! wallet sign-in that the cashier, the consent page and the payment-code page share.
//!
//! A sign-in is guarded in this order, cheapest first:
//! 1. throttles per client address and per login (`governor` keyed limiters with bounded key sets);
//! 2. a place in the hashing pool (a few threads, each with its own argon2 memory, and a short wait
//!    queue; beyond it the page says "try again shortly");
//! 3. the attempt is *claimed* in the storage transaction that checks the lock-out, before any PIN
//!    is hashed, so that concurrent guesses check at most `cashier.max_pin_attempts` PINs;
//! 4. the PIN is checked in the pool; a right PIN resets the count.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};
use walletd_core::parties::{PartyStatus, User};
use walletd_core::CoreError;

use crate::config::CashierConfig;
use crate::AppState;

/// The longest PIN or password looked at; longer input is wrong without hashing it.
pub const MAX_PIN_CHARS: usize = 128;
/// The longest login looked up.
const MAX_LOGIN_BYTES: usize = 128;
/// The most argon2 memory one stored hash may ask for (64 MiB); a hash that asks for more is
/// treated as not matching rather than letting a record make us allocate without bound.
const MAX_HASH_MEMORY_BLOCKS: usize = 64 * 1024;
/// The least a checker's argon2 memory reserves: above glibc's largest `mmap` threshold (32 MiB),
/// so the block is always a mapping of its own and freeing it gives the memory back to the
/// system (a smaller block would land in a malloc arena and stay resident). Only the part argon2
/// touches (19 MiB for our hashes) is resident.
const MIN_RESERVED_BLOCKS: usize = 33 * 1024;
/// How long the "try again shortly" answers ask the browser to wait.
pub const RETRY_AFTER_SECS: u64 = 5;

/// Hashes a PIN into a PHC string.
pub fn hash_pin(pin: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(pin.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// True if `pin` matches the stored PHC string.
pub fn verify_pin(phc: &str, pin: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| Argon2::default().verify_password(pin.as_bytes(), &h).is_ok())
        .unwrap_or(false)
}

/// Like [`verify_pin`], with argon2's working memory taken from `memory` (grown once to what the
/// hash needs, then reused), so that a busy sign-in page does not allocate 19 MiB per attempt.
fn verify_pin_in(memory: &mut Vec<Block>, phc: &str, pin: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(hash.algorithm) else {
        return false;
    };
    let version = match hash.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let Ok(params) = Params::try_from(&hash) else {
        return false;
    };
    let blocks = params.block_count();
    if blocks > MAX_HASH_MEMORY_BLOCKS {
        tracing::warn!(
            blocks,
            "a stored PIN hash asks for more memory than allowed; refused"
        );
        return false;
    }
    reserve(memory, blocks);
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let mut out = [0u8; 64];
    let Some(out) = out.get_mut(..expected.len()) else {
        return false;
    };
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(pin.as_bytes(), salt, out, &mut memory[..blocks])
        .is_ok()
        && argon2::password_hash::Output::new(out).is_ok_and(|o| o == expected)
}

/// Makes `memory` at least `blocks` long, reserving at least [`MIN_RESERVED_BLOCKS`] at once.
fn reserve(memory: &mut Vec<Block>, blocks: usize) {
    if memory.len() >= blocks {
        return;
    }
    if memory.capacity() < blocks {
        *memory = Vec::with_capacity(blocks.max(MIN_RESERVED_BLOCKS));
    }
    memory.resize(blocks, Block::new());
}

/// Costs what checking a PIN against a default hash costs, and matches nothing: what unknown
/// logins are "checked" with, so that they take as long as known ones.
fn decoy_check(memory: &mut Vec<Block>, pin: &str) {
    let params = Params::default();
    let blocks = params.block_count();
    reserve(memory, blocks);
    let mut out = [0u8; 32];
    let _ = Argon2::default().hash_password_into_with_memory(
        pin.as_bytes(),
        b"walletd-decoy-salt",
        &mut out,
        &mut memory[..blocks],
    );
}

/// Why a wallet sign-in (cashier, consent or payment-code page) was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInRefusal {
    /// Unknown login, no PIN set, or a wrong PIN (one answer for all, so nothing leaks).
    WrongPin,
    /// Too many wrong PINs in a row (`cashier.max_pin_attempts`); `admin user unlock` clears it.
    Locked,
    /// The user is frozen or inactive.
    Frozen,
    /// Too many sign-ins from this address or for this login in the last minute (HTTP 429).
    Throttled,
    /// Every PIN checker is busy and the wait queue is full (HTTP 503).
    Busy,
}

impl SignInRefusal {
    /// The notice key the pages show.
    pub fn code(self) -> &'static str {
        match self {
            SignInRefusal::WrongPin => "wrong_pin",
            SignInRefusal::Locked => "locked",
            SignInRefusal::Frozen => "frozen",
            SignInRefusal::Throttled => "throttled",
            SignInRefusal::Busy => "busy",
        }
    }

    /// For the refusals that are about load rather than the user: the HTTP status of the "try
    /// again shortly" page.
    pub fn try_again_status(self) -> Option<axum::http::StatusCode> {
        match self {
            SignInRefusal::Throttled => Some(axum::http::StatusCode::TOO_MANY_REQUESTS),
            SignInRefusal::Busy => Some(axum::http::StatusCode::SERVICE_UNAVAILABLE),
            _ => None,
        }
    }
}

// ---- the client address ----

/// The address a wallet page request came from, as far as we can tell: the TCP peer, or, when the
/// peer is one of `cashier.trusted_proxies`, the nearest address in `X-Forwarded-For` that is not a
/// trusted proxy. `None` when the server runs without connection info.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_canonical());
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(",");
        Ok(ClientAddress(
            peer.map(|p| state.sign_in_guard.proxies.client_of(p, &forwarded)),
        ))
    }
}

/// One trusted proxy: an address or a network (`10.0.0.0/8`, `2001:db8::/32`).
#[derive(Debug, Clone, Copy)]
struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    fn parse(text: &str) -> Result<Network, String> {
        let text = text.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("cashier.trusted_proxies: {text:?} is not an IP address or network"))?;
        let addr = addr.to_canonical();
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("cashier.trusted_proxies: bad prefix length in {text:?}"))?,
        };
        Ok(Network { addr, prefix })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

#[derive(Debug, Default)]
struct TrustedProxies(Vec<Network>);

impl TrustedProxies {
    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|n| n.contains(ip))
    }

    /// The client behind `peer`: `X-Forwarded-For` is read right to left (each proxy appends the
    /// address it saw), only while the hop that wrote it is trusted.
    fn client_of(&self, peer: IpAddr, forwarded_for: &str) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let mut client = peer;
        // Bounded: a header of a thousand hops says nothing more than its last few.
        for hop in forwarded_for.rsplit(',').take(32) {
            let Ok(ip) = hop.trim().parse::<IpAddr>() else {
                break;
            };
            client = ip.to_canonical();
            if !self.trusts(client) {
                break;
            }
        }
        client
    }
}

/// The throttle key of an address: IPv6 clients are counted per /64 (one customer's network),
/// since a single host can use any address in it.
fn address_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & (u128::MAX << 64))),
        v4 => v4,
    }
}

// ---- throttles ----

/// A keyed rate limiter whose key set cannot grow without bound.
struct Throttle<K: Hash + Eq + Clone> {
    limiter: Option<DefaultKeyedRateLimiter<K>>,
    max_keys: usize,
}

impl<K: Hash + Eq + Clone> Throttle<K> {
    fn per_minute(n: u32, max_keys: usize) -> Self {
        Throttle {
            limiter: NonZeroU32::new(n).map(|n| RateLimiter::keyed(Quota::per_minute(n))),
            max_keys: max_keys.max(1),
        }
    }

    /// True if `key` may go on. When the key set is full, keys whose bucket is back to full are
    /// forgotten; if it is still full, new sign-ins are refused (fail closed) until it drains.
    fn allows(&self, key: &K) -> bool {
        let Some(limiter) = &self.limiter else {
            return true;
        };
        if limiter.len() >= self.max_keys {
            limiter.retain_recent();
            limiter.shrink_to_fit();
            if limiter.len() >= self.max_keys {
                tracing::warn!(
                    keys = limiter.len(),
                    "sign-in throttle key set full; refusing new sign-ins"
                );
                return false;
            }
        }
        limiter.check_key(key).is_ok()
    }
}

// ---- the hashing pool ----

/// What a PIN checker thread is asked to do.
struct HashJob {
    /// The stored hash, or `None` for an unknown login (the decoy check).
    phc: Option<String>,
    pin: String,
    reply: oneshot::Sender<bool>,
    /// Held until the check is done, even if the page request was dropped meanwhile.
    _place: OwnedSemaphorePermit,
}

/// A fixed number of threads, each with its own argon2 memory, fed by a bounded queue. Memory for
/// hashing is therefore `threads × 19 MiB`, allocated once, whatever the load.
struct PinCheckers {
    /// Places: one per thread plus the wait queue. A request without a place is turned away.
    places: Arc<Semaphore>,
    queue: Arc<JobQueue>,
}

/// The checkers' queue. Each thread waits on the condition variable with its own timeout, so that
/// every idle thread (not only the one that last held the lock) gives its memory back.
struct JobQueue {
    state: Mutex<QueueState>,
    ready: Condvar,
}

struct QueueState {
    jobs: VecDeque<HashJob>,
    /// Never longer than this (the number of places): a full queue answers "busy".
    capacity: usize,
    closed: bool,
}

impl PinCheckers {
    fn start(threads: usize, queue: usize, idle: Duration) -> std::io::Result<PinCheckers> {
        let places = threads.saturating_add(queue);
        let queue = Arc::new(JobQueue {
            state: Mutex::new(QueueState {
                jobs: VecDeque::new(),
                capacity: places,
                closed: false,
            }),
            ready: Condvar::new(),
        });
        for i in 0..threads {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("walletd-pin-{i}"))
                .spawn(move || check_pins(&queue, idle))?;
        }
        Ok(PinCheckers {
            places: Arc::new(Semaphore::new(places)),
            queue,
        })
    }

    /// A place in the pool, or `None` when every checker is busy and the queue is full.
    fn place(&self) -> Option<OwnedSemaphorePermit> {
        Arc::clone(&self.places).try_acquire_owned().ok()
    }

    /// Checks `pin` against `phc` (or the decoy) on a checker thread; `None` if the pool is gone.
    async fn check(&self, place: OwnedSemaphorePermit, phc: Option<String>, pin: String) -> Option<bool> {
        let (reply, answer) = oneshot::channel();
        let job = HashJob {
            phc,
            pin,
            reply,
            _place: place,
        };
        {
            let mut q = self.queue.state.lock().ok()?;
            // Cannot be full while places ≤ capacity; answered as "busy" all the same.
            if q.closed || q.jobs.len() >= q.capacity {
                return None;
            }
            q.jobs.push_back(job);
        }
        self.queue.ready.notify_one();
        answer.await.ok()
    }
}

impl Drop for PinCheckers {
    fn drop(&mut self) {
        if let Ok(mut q) = self.queue.state.lock() {
            q.closed = true;
        }
        self.queue.ready.notify_all();
    }
}

/// The next job, or `None` after `idle` without one; `Err` when the pool is closed.
fn next_job(queue: &JobQueue, idle: Duration) -> Result<Option<HashJob>, ()> {
    let mut q = queue.state.lock().map_err(|_| ())?;
    loop {
        if let Some(job) = q.jobs.pop_front() {
            return Ok(Some(job));
        }
        if q.closed {
            return Err(());
        }
        let (guard, waited) = queue.ready.wait_timeout(q, idle).map_err(|_| ())?;
        q = guard;
        if waited.timed_out() && q.jobs.is_empty() && !q.closed {
            return Ok(None);
        }
    }
}

/// A checker thread: one argon2 memory block, reused for every PIN and given back after `idle`
/// without work; ends when the pool is dropped.
fn check_pins(queue: &JobQueue, idle: Duration) {
    let mut memory: Vec<Block> = Vec::new();
    loop {
        let job = match next_job(queue, idle) {
            Ok(Some(job)) => job,
            Ok(None) => {
                memory = Vec::new();
                continue;
            }
            Err(()) => return,
        };
        let matched = match &job.phc {
            Some(phc) => verify_pin_in(&mut memory, phc, &job.pin),
            None => {
                decoy_check(&mut memory, &job.pin);
                false
            }
        };
        let _ = job.reply.send(matched);
    }
}

/// Everything that keeps wallet sign-ins cheap to refuse: throttles, the hashing pool, and which
/// proxies may name the client address.
pub struct SignInGuard {
    per_address: Throttle<IpAddr>,
    per_login: Throttle<String>,
    checkers: PinCheckers,
    proxies: TrustedProxies,
    /// PINs of known users checked against their hash since start (decoy checks not included).
    pins_checked: AtomicU64,
}

impl SignInGuard {
    /// Starts the PIN checker threads and sets up the throttles from `config`.
    pub fn new(config: &CashierConfig) -> Result<SignInGuard, String> {
        let proxies = config
            .trusted_proxies
            .iter()
            .map(|t| Network::parse(t))
            .collect::<Result<Vec<_>, _>>()?;
        let threads = config.hash_threads();
        let idle = Duration::from_secs(config.hash_memory_idle_secs.max(1));
        let checkers = PinCheckers::start(threads, config.hash_queue, idle)
            .map_err(|e| format!("starting the PIN checker threads: {e}"))?;
        Ok(SignInGuard {
            per_address: Throttle::per_minute(
                config.sign_in_per_address_per_minute,
                config.sign_in_throttle_max_keys,
            ),
            per_login: Throttle::per_minute(
                config.sign_in_per_login_per_minute,
                config.sign_in_throttle_max_keys,
            ),
            checkers,
            proxies: TrustedProxies(proxies),
            pins_checked: AtomicU64::new(0),
        })
    }

    /// How many PINs of known users were checked against their hash since start: what the
    /// lock-out bounds (at most `cashier.max_pin_attempts` between two right PINs).
    pub fn pins_checked(&self) -> u64 {
        self.pins_checked.load(Ordering::Relaxed)
    }
}

// ---- the sign-in ----

/// Login + PIN → the active user. The attempt is counted before the PIN is checked, in the same
/// transaction that checks the lock-out; a right PIN resets the count. The same rules serve the
/// cashier, the consent page and the payment-code page.
pub async fn sign_in(
    state: &AppState,
    from: ClientAddress,
    login: &str,
    pin: String,
) -> Result<Result<User, SignInRefusal>, CoreError> {
    let max = state.config.cashier.max_pin_attempts.max(1);
    let trimmed = login.trim().to_owned();
    let checked = guarded_check(state, from, login.trim(), "", pin, |s: &AppState| {
        let s = s.clone();
        async move { claim_attempt(&s, &trimmed, max).await }
    })
    .await?;
    let user = match checked {
        Ok(Checked::Matched(user)) => user,
        Ok(Checked::Wrong(user, failed_after)) => {
            let locked = failed_after >= max;
            tracing::warn!(user_id = %user.user_id, failed_pin_attempts = failed_after, locked, "wallet sign-in: wrong PIN");
            return Ok(Err(if locked {
                SignInRefusal::Locked
            } else {
                SignInRefusal::WrongPin
            }));
        }
        Err(refusal) => return Ok(Err(refusal)),
    };
    let user = state
        .wallet
        .update_user(&user.user_id, |u| {
            u.failed_pin_attempts = 0;
            Ok(())
        })
        .await?;
    if user.status != PartyStatus::Active {
        return Ok(Err(SignInRefusal::Frozen));
    }
    Ok(Ok(user))
}

/// The outcome of claiming one attempt for a record `R` (a wallet user, a console operator).
pub enum Claim<R> {
    /// No such login or no secret set: only the decoy check runs.
    Unknown,
    /// The sign-in is locked; nothing is hashed.
    Locked,
    /// One attempt is counted; `failed_after` is the count including it.
    Claimed {
        record: Box<R>,
        phc: String,
        failed_after: u32,
    },
}

/// What a guarded check found, once the attempt was claimed and hashed.
pub enum Checked<R> {
    Matched(Box<R>),
    /// A wrong secret; the number of wrong ones in a row, this one included.
    Wrong(Box<R>, u32),
}

/// The sign-in guard's steps, cheapest first, for any kind of login: throttles (per address, per
/// `throttle_scope` + login), a place in the hashing pool, the attempt claimed by `claim` (which
/// must count it in the transaction that checks the lock-out), then the secret checked on a pool
/// thread. Unknown logins cost a decoy check.
pub async fn guarded_check<R, F, Fut>(
    state: &AppState,
    from: ClientAddress,
    login: &str,
    throttle_scope: &str,
    secret: String,
    claim: F,
) -> Result<Result<Checked<R>, SignInRefusal>, CoreError>
where
    F: FnOnce(&AppState) -> Fut,
    Fut: std::future::Future<Output = Result<Claim<R>, CoreError>>,
{
    let guard = &state.sign_in_guard;
    if let Some(ip) = from.0 {
        if !guard.per_address.allows(&address_key(ip)) {
            tracing::warn!(client_address = %ip, "sign-in throttled (address)");
            return Ok(Err(SignInRefusal::Throttled));
        }
    }
    // At most MAX_LOGIN_BYTES of the login (longer logins exist nowhere): the throttle's key
    // set stays bounded in bytes too.
    let mut cut = login.len().min(MAX_LOGIN_BYTES);
    while !login.is_char_boundary(cut) {
        cut -= 1;
    }
    let login_key = format!("{throttle_scope}{}", &login[..cut]);
    if !guard.per_login.allows(&login_key) {
        tracing::warn!("sign-in throttled (login)");
        return Ok(Err(SignInRefusal::Throttled));
    }
    let Some(place) = guard.checkers.place() else {
        tracing::warn!("sign-in refused: every PIN checker busy and the queue full");
        return Ok(Err(SignInRefusal::Busy));
    };
    let claim = if login.is_empty() || login.len() > MAX_LOGIN_BYTES || secret.chars().count() > MAX_PIN_CHARS
    {
        Claim::Unknown
    } else {
        claim(state).await?
    };
    let (record, phc, failed_after) = match claim {
        Claim::Locked => return Ok(Err(SignInRefusal::Locked)),
        Claim::Unknown => {
            let secret: String = secret.chars().take(MAX_PIN_CHARS).collect();
            let _ = guard.checkers.check(place, None, secret).await;
            return Ok(Err(SignInRefusal::WrongPin));
        }
        Claim::Claimed {
            record,
            phc,
            failed_after,
        } => (record, phc, failed_after),
    };
    let Some(matched) = guard.checkers.check(place, Some(phc), secret).await else {
        return Ok(Err(SignInRefusal::Busy));
    };
    guard.pins_checked.fetch_add(1, Ordering::Relaxed);
    Ok(Ok(if matched {
        Checked::Matched(record)
    } else {
        Checked::Wrong(record, failed_after)
    }))
}

/// Counts one PIN attempt for `login` unless the sign-in is already locked: the check and the
/// count are one write transaction (the user row is locked on PostgreSQL), so that concurrent
/// attempts cannot all read the same old count.
async fn claim_attempt(state: &AppState, login: &str, max: u32) -> Result<Claim<User>, CoreError> {
    let login = login.to_owned();
    state
        .wallet
        .write(move |_, tx| {
            let Some(mut user) = tx.get_user_by_login(&login)? else {
                return Ok(Claim::Unknown);
            };
            let Some(phc) = user.pin_hash.clone() else {
                return Ok(Claim::Unknown);
            };
            if user.failed_pin_attempts >= max {
                return Ok(Claim::Locked);
            }
            user.failed_pin_attempts = user.failed_pin_attempts.saturating_add(1);
            tx.update_user(&user)?;
            let failed_after = user.failed_pin_attempts;
            Ok(Claim::Claimed {
                record: Box::new(user),
                phc,
                failed_after,
            })
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_accepts_its_pin_only() {
        let h = hash_pin("123456").unwrap();
        assert!(h.starts_with("$argon2"));
        assert!(!h.contains("123456"));
        assert!(verify_pin(&h, "123456"));
        assert!(!verify_pin(&h, "654321"));
        assert!(!verify_pin("not a hash", "123456"));
    }

    #[test]
    fn the_pooled_check_agrees_with_the_plain_one_and_reuses_its_memory() {
        let h = hash_pin("123456").unwrap();
        let mut memory = Vec::new();
        assert!(verify_pin_in(&mut memory, &h, "123456"));
        let first = memory.as_ptr();
        assert!(!verify_pin_in(&mut memory, &h, "654321"));
        assert!(!verify_pin_in(&mut memory, "not a hash", "123456"));
        decoy_check(&mut memory, "123456");
        assert_eq!(memory.as_ptr(), first, "the memory block is reused");
        assert_eq!(memory.len(), Params::default().block_count());
        assert!(memory.capacity() >= MIN_RESERVED_BLOCKS);
    }

    #[test]
    fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
        let none = TrustedProxies::default();
        let peer: IpAddr = "10.0.0.7".parse().unwrap();
        assert_eq!(none.client_of(peer, "203.0.113.9"), peer);
        let trusted = TrustedProxies(vec![Network::parse("10.0.0.0/8").unwrap()]);
        assert_eq!(
            trusted.client_of(peer, "198.51.100.1, 203.0.113.9, 10.0.0.3"),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        assert_eq!(trusted.client_of(peer, ""), peer);
        let outside: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(trusted.client_of(outside, "203.0.113.9"), outside);
        assert!(Network::parse("10.0.0.0/33").is_err());
        assert!(Network::parse("proxy.example").is_err());
        assert!(Network::parse("2001:db8::/32")
            .unwrap()
            .contains("2001:db8:1::1".parse().unwrap()));
    }

    #[test]
    fn ipv6_clients_are_throttled_per_64() {
        let a = address_key("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = address_key("2001:db8:1:2:bbbb::9".parse().unwrap());
        let c = address_key("2001:db8:1:3::1".parse().unwrap());
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(
            address_key("::ffff:192.0.2.1".parse().unwrap()),
            "192.0.2.1".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn a_full_throttle_key_set_refuses_new_keys() {
        let t = Throttle::<u32>::per_minute(1, 2);
        assert!(t.allows(&1));
        assert!(!t.allows(&1), "one a minute");
        assert!(t.allows(&2));
        assert!(!t.allows(&3), "key set full of recent keys");
        let off = Throttle::<u32>::per_minute(0, 1);
        assert!((0..100).all(|k| off.allows(&k)));
    }
}
