//! The network edge: the accept loop and everything that keeps slow or greedy clients from taking
//! the server down.
//!
//! - Each connection is served by hyper's HTTP/1.1 connection with a header-read timeout (it also
//!   bounds how long a kept-alive connection may wait for its next request), a deadline for the
//!   whole request body, and an idle timeout: a connection on which no byte moves either way while
//!   no request is being handled (a client that stopped reading its answer) is closed.
//! - Connections are capped in total and per client address; a connection beyond a cap is closed
//!   as soon as it is accepted. The total cap stays below the open-file limit, so the process never
//!   runs out of descriptors and a fresh connection (a health check) gets in once slow ones time out.
//! - Requests are rate limited per authenticated client (see [`RateLimits`]).
//! - Shutdown stops accepting, lets in-flight requests (and their commits) finish, and after
//!   `shutdown_grace_secs` closes whatever is still open, such as a client that is half-way
//!   through sending a request.

use crate::config::HttpConfig;
use axum::extract::ConnectInfo;
use axum::Router;
use bytes::Bytes;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tower::ServiceExt as _;

/// Descriptors kept free of client connections: the database, the notifier's outgoing
/// connections, log files, and the listeners themselves.
pub const RESERVED_FILE_DESCRIPTORS: u64 = 256;

/// Raises the soft open-file limit to the hard limit and returns the limit now in force
/// (`None` where the platform has no such limit or it cannot be read).
pub fn raise_open_file_limit() -> Option<u64> {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => Some(limit),
        Err(e) => {
            tracing::warn!(error = %e, "could not raise the open-file limit");
            rlimit::getrlimit(rlimit::Resource::NOFILE)
                .ok()
                .map(|(soft, _)| soft)
        }
    }
}

/// The connection cap in force: the configured one, lowered to stay below the open-file limit.
pub fn effective_max_connections(configured: usize, open_file_limit: Option<u64>) -> usize {
    let configured = configured.max(1);
    match open_file_limit {
        Some(limit) => {
            let room = usize::try_from(limit.saturating_sub(RESERVED_FILE_DESCRIPTORS))
                .unwrap_or(usize::MAX)
                .max(1);
            if room < configured {
                tracing::warn!(
                    configured,
                    open_file_limit = limit,
                    in_force = room,
                    "http.max_connections lowered to stay below the open-file limit"
                );
            }
            configured.min(room)
        }
        None => configured,
    }
}

/// The open connections, in total and per client address. Shared by every listener.
pub struct ConnectionGate {
    total: Arc<Semaphore>,
    per_address: Mutex<HashMap<IpAddr, usize>>,
    max_per_address: usize,
}

/// A connection let in; dropping it gives its places back.
pub struct Admitted {
    _permit: OwnedSemaphorePermit,
    gate: Arc<ConnectionGate>,
    ip: IpAddr,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        if let Ok(mut map) = self.gate.per_address.lock() {
            if let Some(n) = map.get_mut(&self.ip) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    map.remove(&self.ip);
                }
            }
        }
    }
}

impl ConnectionGate {
    pub fn new(max_total: usize, max_per_address: usize) -> Arc<ConnectionGate> {
        Arc::new(ConnectionGate {
            total: Arc::new(Semaphore::new(max_total.max(1))),
            per_address: Mutex::new(HashMap::new()),
            max_per_address: max_per_address.max(1),
        })
    }

    /// Lets a connection from `ip` in, or `None` when a cap is reached. The map holds one entry per
    /// address with an open connection, so it never outgrows the total cap.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<Admitted> {
        let ip = client_address(ip);
        let permit = Arc::clone(&self.total).try_acquire_owned().ok()?;
        let mut map = self.per_address.lock().ok()?;
        let n = map.entry(ip).or_insert(0);
        if *n >= self.max_per_address {
            return None;
        }
        *n += 1;
        Some(Admitted {
            _permit: permit,
            gate: Arc::clone(self),
            ip,
        })
    }
}

/// The address a connection is counted under: an IPv4 address as it is (also when it arrives
/// IPv4-mapped), an IPv6 address by its /64 network, which one subscriber usually holds whole.
pub fn client_address(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// Per-client request rate limits (a token bucket per client id, `governor`). A request is counted
/// once its signature has verified, so nobody can spend another client's budget.
pub struct RateLimits {
    limiter: Option<DefaultKeyedRateLimiter<String>>,
    max_clients: usize,
}

impl RateLimits {
    pub fn new(config: &HttpConfig) -> RateLimits {
        let limiter = NonZeroU32::new(config.rate_limit_per_second).map(|rate| {
            let burst = NonZeroU32::new(config.rate_limit_burst).unwrap_or(rate);
            RateLimiter::dashmap(Quota::per_second(rate).allow_burst(burst))
        });
        RateLimits {
            limiter,
            max_clients: config.rate_limit_max_clients.max(1),
        }
    }

    /// True if `client_id` may make one more request now.
    pub fn allow(&self, client_id: &str) -> bool {
        let Some(limiter) = &self.limiter else {
            return true;
        };
        // Keys are authenticated client ids, so the set is bounded by the registered clients;
        // buckets that are full again are forgotten when it grows past the configured bound.
        if limiter.len() >= self.max_clients {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        limiter.check_key(&client_id.to_owned()).is_ok()
    }
}

/// The timeouts of one connection.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionTimeouts {
    pub header_read: Duration,
    pub body_read: Duration,
    pub idle: Duration,
}

impl ConnectionTimeouts {
    pub fn from_config(config: &HttpConfig) -> ConnectionTimeouts {
        ConnectionTimeouts {
            header_read: Duration::from_secs(config.header_read_timeout_secs.max(1)),
            body_read: Duration::from_secs(config.body_read_timeout_secs.max(1)),
            idle: Duration::from_secs(config.idle_timeout_secs.max(1)),
        }
    }
}

/// How one listener serves its connections.
#[derive(Clone)]
pub struct Listener {
    pub router: Router,
    pub gate: Arc<ConnectionGate>,
    pub timeouts: ConnectionTimeouts,
    /// Write header names in Title-Case (`Signature`, `Response-Time`) instead of lower case.
    pub title_case_headers: bool,
    pub shutdown_grace: Duration,
    /// A name for the log.
    pub name: &'static str,
    /// Serve HTTPS with this: the handshake must finish within the header-read timeout.
    pub tls: Option<tokio_rustls::TlsAcceptor>,
}

/// Accepts and serves connections until `stop` turns true, then drains them (see the module doc).
pub async fn serve(listener: TcpListener, how: Listener, mut stop: watch::Receiver<bool>) {
    let mut connections: JoinSet<()> = JoinSet::new();
    let mut refused: u64 = 0;
    loop {
        while connections.try_join_next().is_some() {}
        if *stop.borrow() {
            break;
        }
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let Some(admitted) = how.gate.admit(peer.ip()) else {
                        // Over a cap: closed at once, so it holds no descriptor.
                        drop(stream);
                        refused += 1;
                        if refused.is_power_of_two() {
                            tracing::warn!(listener = how.name, peer = %peer.ip(), refused, "connection refused: connection cap reached");
                        }
                        continue;
                    };
                    let _ = stream.set_nodelay(true);
                    connections.spawn(serve_connection(stream, peer, how.clone(), stop.clone(), admitted));
                }
                Err(e) => {
                    // Out of descriptors or memory: the listener stays, we wait a little.
                    tracing::warn!(listener = how.name, error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            changed = stop.changed() => {
                if changed.is_err() {
                    break;
                }
            }
        }
    }
    drop(listener);
    let drained = tokio::time::timeout(how.shutdown_grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            listener = how.name,
            open = connections.len(),
            grace_secs = how.shutdown_grace.as_secs(),
            "closing the connections still open at the end of the shutdown grace"
        );
        connections.abort_all();
        while connections.join_next().await.is_some() {}
    }
}

/// When a connection last moved a byte, and how many of its requests are being handled.
struct Activity {
    started: Instant,
    last_io_ms: AtomicU64,
    in_flight: AtomicUsize,
}

impl Activity {
    fn touch(&self) {
        let ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_io_ms.store(ms, Ordering::Relaxed);
    }

    fn idle_for(&self) -> Duration {
        let now = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(now.saturating_sub(self.last_io_ms.load(Ordering::Relaxed)))
    }
}

/// Counts a request as being handled while it lives.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    how: Listener,
    stop: watch::Receiver<bool>,
    admitted: Admitted,
) {
    let Some(acceptor) = how.tls.clone() else {
        return serve_io(stream, peer, how, stop, admitted).await;
    };
    // A handshake is bounded like a request's headers: a client that starts one and stalls holds
    // its descriptor no longer than one that never finishes its headers.
    match tokio::time::timeout(how.timeouts.header_read, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => serve_io(tls, peer, how, stop, admitted).await,
        Ok(Err(e)) => tracing::debug!(peer = %peer, error = %e, "TLS handshake failed"),
        Err(_) => tracing::debug!(peer = %peer, "TLS handshake did not finish in time"),
    }
}

async fn serve_io<S>(
    stream: S,
    peer: SocketAddr,
    how: Listener,
    mut stop: watch::Receiver<bool>,
    admitted: Admitted,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Arc::new(Activity {
        started: Instant::now(),
        last_io_ms: AtomicU64::new(0),
        in_flight: AtomicUsize::new(0),
    });
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: Arc::clone(&activity),
    });
    let router = how.router.clone();
    let body_read = how.timeouts.body_read;
    let service_activity = Arc::clone(&activity);
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        service_activity.in_flight.fetch_add(1, Ordering::Relaxed);
        let guard = InFlight(Arc::clone(&service_activity));
        let mut req = req.map(|body| axum::body::Body::new(DeadlineBody::new(body, body_read)));
        req.extensions_mut().insert(ConnectInfo(peer));
        let router = router.clone();
        async move {
            let response = router.oneshot(req).await;
            drop(guard);
            response
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(how.timeouts.header_read)
        .title_case_headers(how.title_case_headers)
        .max_buf_size(64 * 1024);
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    let idle_check = (how.timeouts.idle / 4).max(Duration::from_millis(100));
    let mut shutting_down = *stop.borrow();
    if shutting_down {
        conn.as_mut().graceful_shutdown();
    }
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(peer = %peer, error = %e, "connection ended with an error");
                }
                break;
            }
            changed = stop.changed(), if !shutting_down => {
                // Finish the request in hand, take no other; the grace deadline ends the rest.
                shutting_down = true;
                let _ = changed;
                conn.as_mut().graceful_shutdown();
            }
            _ = tokio::time::sleep(idle_check) => {
                if activity.in_flight.load(Ordering::Relaxed) == 0 && activity.idle_for() >= how.timeouts.idle {
                    tracing::debug!(peer = %peer, "closing an idle connection");
                    break;
                }
            }
        }
    }
    drop(admitted);
}

/// A stream that notes when it last moved a byte.
struct Watched<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The request body has not arrived in full within `http.body_read_timeout_secs`.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {0:?}")]
pub struct BodyDeadlineExceeded(Duration);

/// A request body with a deadline for the whole of it (a per-chunk timeout would let a client
/// trickle one byte at a time for ever).
struct DeadlineBody {
    inner: Incoming,
    deadline: Pin<Box<tokio::time::Sleep>>,
    limit: Duration,
}

impl DeadlineBody {
    fn new(inner: Incoming, limit: Duration) -> DeadlineBody {
        DeadlineBody {
            inner,
            deadline: Box::pin(tokio::time::sleep(limit)),
            limit,
        }
    }
}

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if !this.inner.is_end_stream() && this.deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(Box::new(BodyDeadlineExceeded(this.limit)))));
        }
        Pin::new(&mut this.inner)
            .poll_frame(cx)
            .map_err(|e| Box::new(e) as axum::BoxError)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_cap_stays_below_the_open_file_limit() {
        assert_eq!(effective_max_connections(4096, Some(1024)), 1024 - 256);
        assert_eq!(effective_max_connections(4096, Some(1_000_000)), 4096);
        assert_eq!(effective_max_connections(4096, None), 4096);
        assert_eq!(effective_max_connections(4096, Some(10)), 1);
    }

    #[test]
    fn the_gate_counts_per_address_and_in_total() {
        let gate = ConnectionGate::new(3, 2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let a1 = gate.admit(a).expect("first");
        let _a2 = gate.admit(a).expect("second");
        assert!(gate.admit(a).is_none(), "third from one address");
        let _b1 = gate.admit(b).expect("another address");
        assert!(gate.admit(b).is_none(), "total reached");
        drop(a1);
        assert!(gate.admit(b).is_some(), "a place came back");
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64_network() {
        let gate = ConnectionGate::new(10, 2);
        let _first = gate.admit("2001:db8:1:2::1".parse().unwrap()).expect("first");
        let _second = gate
            .admit("2001:db8:1:2:ffff::9".parse().unwrap())
            .expect("second");
        assert!(gate.admit("2001:db8:1:2:1234::1".parse().unwrap()).is_none());
        assert!(gate.admit("2001:db8:1:3::1".parse().unwrap()).is_some());
        assert_eq!(
            client_address("::ffff:10.0.0.1".parse().unwrap()),
            "10.0.0.1".parse::<IpAddr>().unwrap()
        );
    }
}
