//! Limits that keep one client from starving the others (README "Limits
//! and access"): the connection settings that `serve` applies, and the
//! per-client rate limits of ingest.
//!
//! Rate limits are GCRA quotas (the `governor` crate) per client address:
//! one in requests, one in KiB of request body, charged as the body is
//! read. Past either, ingest answers `429` with `Retry-After`, which the
//! tracker retries.

use crate::error::AppError;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request};
use axum::http::HeaderName;
use axum::middleware::{from_fn, Next};
use axum::response::IntoResponse;
use axum::Router;
use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};
use http_body::Frame;
use sessionmark::wire::MAX_BODY_BYTES;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

/// Every limit, with the defaults documented in the README.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// `SESSIONMARK_HEADER_TIMEOUT_MS` (10000): the time a connection has to
    /// send a whole request head, counted from its opening or from the end
    /// of the previous answer, so it is also the idle keep-alive timeout.
    pub header_timeout: Duration,
    /// `SESSIONMARK_BODY_TIMEOUT_MS` (10000): the time a request has to send
    /// its whole body once its head arrived; past it, `408`.
    pub body_timeout: Duration,
    /// `SESSIONMARK_MAX_CONNECTIONS` (10000): open connections at once;
    /// one more is answered `503` and closed. Lowered at start to what the
    /// open-files limit allows.
    pub max_connections: usize,
    /// The per-client ingest quotas.
    pub rate: Rate,
    /// `SESSIONMARK_CLIENT_IP_HEADER` (unset): a header your reverse proxy
    /// sets to the client's address (its last address counts); unset, the
    /// client is the connection's peer address.
    pub client_ip_header: Option<HeaderName>,
}

/// Per-client quotas of `POST /v1/batch`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    /// `SESSIONMARK_RATE_REQUESTS_PER_SEC` (200).
    pub requests_per_sec: NonZeroU32,
    /// `SESSIONMARK_RATE_REQUESTS_BURST` (2000): requests allowed at once
    /// above the steady rate.
    pub requests_burst: NonZeroU32,
    /// `SESSIONMARK_RATE_KIB_PER_SEC` (4096): KiB of request bodies.
    pub kib_per_sec: NonZeroU32,
    /// `SESSIONMARK_RATE_KIB_BURST` (32768); at least one largest body.
    pub kib_burst: NonZeroU32,
}

/// Smallest `kib_burst`: one body of the largest size must fit.
pub const MIN_KIB_BURST: u32 = (MAX_BODY_BYTES / 1024) as u32;

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            max_connections: 10_000,
            rate: Rate::default(),
            client_ip_header: None,
        }
    }
}

impl Default for Rate {
    // 200 requests/s from one address is ~6,000 busy tabs behind one NAT
    // (a tab sends a batch about every 30 s); the bursts absorb a wave of
    // page-hide beacons.
    fn default() -> Rate {
        Rate {
            requests_per_sec: NonZeroU32::new(200).unwrap_or(NonZeroU32::MIN),
            requests_burst: NonZeroU32::new(2000).unwrap_or(NonZeroU32::MIN),
            kib_per_sec: NonZeroU32::new(4096).unwrap_or(NonZeroU32::MIN),
            kib_burst: NonZeroU32::new(32 * 1024).unwrap_or(NonZeroU32::MIN),
        }
    }
}

/// Who a client is for the quotas: its address, IPv6 cut to its /64 (one
/// host commonly holds a whole /64).
pub type ClientKey = IpAddr;

type Keyed<C> =
    RateLimiter<ClientKey, DashMapStateStore<ClientKey>, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// The quotas of every client, with the clock they are measured by.
pub struct ClientLimiter<C: Clock = DefaultClock> {
    requests: Keyed<C>,
    kib: Keyed<C>,
    /// The configured KiB burst: a body is never charged more.
    kib_burst: NonZeroU32,
    clock: C,
}

impl ClientLimiter {
    pub fn new(rate: Rate) -> ClientLimiter {
        ClientLimiter::with_clock(rate, DefaultClock::default())
    }
}

impl<C: Clock + Clone> ClientLimiter<C> {
    /// Tests pass governor's `FakeRelativeClock` and advance it.
    pub fn with_clock(rate: Rate, clock: C) -> ClientLimiter<C> {
        let quota =
            |per_sec: NonZeroU32, burst: NonZeroU32| Quota::per_second(per_sec).allow_burst(burst);
        ClientLimiter {
            requests: RateLimiter::dashmap_with_clock(
                quota(rate.requests_per_sec, rate.requests_burst),
                clock.clone(),
            ),
            kib: RateLimiter::dashmap_with_clock(
                quota(rate.kib_per_sec, rate.kib_burst),
                clock.clone(),
            ),
            kib_burst: rate.kib_burst,
            clock,
        }
    }

    /// Takes one request from the client's request quota, or says how long
    /// until it would fit.
    pub fn check_request(&self, client: ClientKey) -> Result<(), Duration> {
        let now = self.clock.now();
        self.requests
            .check_key(&client)
            .map_err(|not_until| not_until.wait_time_from(now))
    }

    /// Takes `kib` KiB of body from the client's quota, or says how long
    /// until they would fit. More than the burst is charged the burst (it
    /// could never fit otherwise; the body limit refuses such bodies anyway).
    pub fn charge_kib(&self, client: ClientKey, kib: u64) -> Result<(), Duration> {
        let kib = u32::try_from(kib).unwrap_or(u32::MAX);
        let Some(kib) = NonZeroU32::new(kib) else {
            return Ok(());
        };
        let now = self.clock.now();
        match self.kib.check_key_n(&client, kib.min(self.kib_burst)) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => Err(not_until.wait_time_from(now)),
            Err(_insufficient) => Err(Duration::from_secs(1)),
        }
    }

    /// One request of `body_bytes`: `check_request`, then `charge_kib` of
    /// the bytes rounded up to whole KiB.
    pub fn check(&self, client: ClientKey, body_bytes: u64) -> Result<(), Duration> {
        self.check_request(client)?;
        self.charge_kib(client, body_bytes.div_ceil(1024))
    }

    /// Forgets clients whose quota is full again (their state is the same
    /// as a new client's), so the table does not grow with every address
    /// ever seen.
    pub fn forget_idle(&self) {
        self.requests.retain_recent();
        self.kib.retain_recent();
        self.requests.shrink_to_fit();
        self.kib.shrink_to_fit();
    }

    /// Clients currently remembered.
    pub fn clients(&self) -> usize {
        self.requests.len().max(self.kib.len())
    }
}

/// The quota key of an address.
pub fn client_key(ip: IpAddr) -> ClientKey {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let [a, b, c, d, ..] = v6.segments();
                IpAddr::V6(Ipv6Addr::new(a, b, c, d, 0, 0, 0, 0))
            }
        },
    }
}

/// The client address of a request: the last address in the configured
/// header (what the proxy in front appended), else the connection's peer;
/// the unspecified address when neither is known (in-process tests).
fn client_of(req: &Request, ip_header: Option<&HeaderName>) -> ClientKey {
    let from_header = ip_header
        .and_then(|name| req.headers().get_all(name).iter().next_back())
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .and_then(|v| v.trim().parse::<IpAddr>().ok());
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    client_key(
        from_header
            .or(peer)
            .unwrap_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED)),
    )
}

/// `router` with each request charged to its client's request quota before
/// its body is read, and its body charged to the KiB quota as it is read
/// (whatever its framing: a declared length can lie, a chunked body has
/// none). Past the KiB quota the body read fails with `OverQuota`, which
/// `read_body` answers `429`.
pub fn rate_limited<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    limiter: Arc<ClientLimiter>,
    ip_header: Option<HeaderName>,
) -> Router<S> {
    router.layer(from_fn(move |req: Request, next: Next| {
        let limiter = Arc::clone(&limiter);
        let ip_header = ip_header.clone();
        async move {
            let client = client_of(&req, ip_header.as_ref());
            if let Err(wait) = limiter.check_request(client) {
                return too_many(wait).into_response();
            }
            let req = req.map(|body| {
                Body::new(Metered {
                    inner: body,
                    limiter,
                    client,
                    uncharged: 0,
                })
            });
            next.run(req).await
        }
    }))
}

/// A body read past its client's KiB quota; how long until it would fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverQuota(pub Duration);

impl std::fmt::Display for OverQuota {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "rate limit of this client reached")
    }
}

impl std::error::Error for OverQuota {}

/// The wait of an `OverQuota` anywhere in an error's source chain.
pub fn over_quota(e: &(dyn std::error::Error + 'static)) -> Option<Duration> {
    let mut at = Some(e);
    while let Some(e) = at {
        if let Some(OverQuota(wait)) = e.downcast_ref::<OverQuota>() {
            return Some(*wait);
        }
        at = e.source();
    }
    None
}

/// A request body that charges its client's KiB quota as it is read.
struct Metered {
    inner: Body,
    limiter: Arc<ClientLimiter>,
    client: ClientKey,
    /// Bytes read but not charged yet (less than a KiB between frames).
    uncharged: u64,
}

impl Metered {
    /// Charges the whole KiB read so far, or all of it at the end.
    fn charge(&mut self, at_end: bool) -> Result<(), axum::Error> {
        let kib = if at_end {
            self.uncharged.div_ceil(1024)
        } else {
            self.uncharged / 1024
        };
        self.uncharged -= (kib * 1024).min(self.uncharged);
        self.limiter
            .charge_kib(self.client, kib)
            .map_err(|wait| axum::Error::new(OverQuota(wait)))
    }
}

impl http_body::Body for Metered {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                let len = frame.data_ref().map_or(0, |d| d.len());
                this.uncharged = this.uncharged.saturating_add(len as u64);
                Poll::Ready(Some(this.charge(false).map(|()| frame)))
            }
            Poll::Ready(None) => match this.charge(true) {
                Ok(()) => Poll::Ready(None),
                Err(e) => Poll::Ready(Some(Err(e))),
            },
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        // Never ends early: the last charge happens on the final poll.
        self.inner.is_end_stream() && self.uncharged == 0
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// `429` with `Retry-After` in whole seconds (at least 1).
pub fn too_many(wait: Duration) -> AppError {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    AppError::RateLimited {
        retry_after_s: secs.max(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::header;
    use governor::clock::FakeRelativeClock;

    fn rate(rps: u32, burst: u32, kps: u32, kburst: u32) -> Rate {
        let n = |v| NonZeroU32::new(v).unwrap();
        Rate {
            requests_per_sec: n(rps),
            requests_burst: n(burst),
            kib_per_sec: n(kps),
            kib_burst: n(kburst),
        }
    }

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2));

    #[test]
    fn a_client_past_its_request_burst_waits_one_period_and_others_are_unaffected() {
        let clock = FakeRelativeClock::default();
        let l = ClientLimiter::with_clock(rate(2, 3, 1000, 1000), clock.clone());
        for _ in 0..3 {
            assert_eq!(l.check(A, 100), Ok(()));
        }
        let wait = l.check(A, 100).unwrap_err();
        assert_eq!(wait, Duration::from_millis(500));
        assert_eq!(l.check(B, 100), Ok(()), "another client has its own quota");
        clock.advance(Duration::from_millis(500));
        assert_eq!(l.check(A, 100), Ok(()));
        assert!(l.check(A, 100).is_err());
    }

    #[test]
    fn bodies_are_charged_by_the_kib_and_a_huge_one_costs_the_whole_burst() {
        let clock = FakeRelativeClock::default();
        let l = ClientLimiter::with_clock(rate(1000, 1000, 10, 20), clock.clone());
        assert_eq!(l.check(A, 10 * 1024), Ok(()));
        assert_eq!(l.check(A, 9 * 1024 + 1), Ok(()));
        let wait = l.check(A, 1024).unwrap_err();
        assert_eq!(wait, Duration::from_millis(100));
        clock.advance(Duration::from_secs(2));
        assert_eq!(l.check(A, u64::MAX), Ok(()), "charged the burst, 20 KiB");
        assert!(l.check(A, 1).is_err());
    }

    #[test]
    fn clients_whose_quota_refilled_are_forgotten() {
        let clock = FakeRelativeClock::default();
        let l = ClientLimiter::with_clock(rate(10, 10, 100, 100), clock.clone());
        l.check(A, 1).unwrap();
        l.check(B, 1).unwrap();
        assert_eq!(l.clients(), 2);
        clock.advance(Duration::from_secs(5));
        l.forget_idle();
        assert_eq!(l.clients(), 0);
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64_and_mapped_v4_as_v4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(client_key(mapped), A);
    }

    #[test]
    fn retry_after_is_whole_seconds_rounded_up() {
        let r = too_many(Duration::from_millis(1500)).into_response();
        assert_eq!(r.status(), axum::http::StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()[header::RETRY_AFTER], "2");
        let r = too_many(Duration::ZERO).into_response();
        assert_eq!(r.headers()[header::RETRY_AFTER], "1");
    }
}
