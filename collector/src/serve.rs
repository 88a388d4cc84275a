//! The connection loop: accepts connections up to a cap and serves each
//! with hyper's HTTP/1 server under a header read timeout.
//!
//! Not `axum::serve`: it builds hyper's connection without a timer, so
//! hyper's header read timeout (which needs one) never runs, and a client
//! that opens a socket and sends nothing holds it forever. Here each
//! connection gets `TokioTimer`, so `header_read_timeout` closes a
//! connection that has not sent a whole request head in time, counted from
//! its opening or from the end of the previous answer (hyper restarts it
//! when a keep-alive connection goes idle).

use crate::limits::{ClientLimiter, Limits};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower::ServiceExt;

/// Connections past the cap that are answered 503 at once; past these
/// too, a connection is closed without an answer.
const REFUSALS_AT_ONCE: usize = 256;
/// Largest request head (and read buffer) of a connection; a larger head
/// gets `431`. hyper's default is ~400 KiB, which a slow client could make
/// the collector hold for each of its connections.
const MAX_BUF_BYTES: usize = 64 * 1024;
/// How often the housekeeping runs: memory after a flood, then (every
/// `FORGET_EVERY_TICKS`) clients with a refilled quota.
const TICK: Duration = Duration::from_secs(1);
const FORGET_EVERY_TICKS: u32 = 60;
/// A peak of open connections at least this high, then a fall to a quarter
/// of it, hands freed memory back to the OS.
const TRIM_AFTER_PEAK: usize = 256;
/// Open files kept for the database, the site's files and accept itself.
const RESERVED_FILES: u64 = 128;

const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
content-type: application/json\r\n\
x-content-type-options: nosniff\r\n\
retry-after: 1\r\n\
connection: close\r\n\
content-length: 33\r\n\r\n\
{\"error\":\"too many connections\"}\n";

/// Connections the kernel may hold completed but not yet accepted (it caps
/// this at `net.core.somaxconn`). tokio's `bind` asks for 1024; a burst of
/// new connections past that waits for a SYN retry, a second or more.
const BACKLOG: u32 = 4096;

/// Listens on the first address `host:port` resolves to that can be bound.
pub async fn bind(host: &str, port: u16) -> io::Result<TcpListener> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the host resolves to no address");
    for addr in tokio::net::lookup_host((host, port)).await? {
        let socket = match addr {
            SocketAddr::V4(_) => TcpSocket::new_v4()?,
            SocketAddr::V6(_) => TcpSocket::new_v6()?,
        };
        // As std and tokio do: a restart may bind while old sockets linger.
        socket.set_reuseaddr(true)?;
        match socket.bind(addr).and_then(|()| socket.listen(BACKLOG)) {
            Ok(listener) => return Ok(listener),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// The connection cap the open-files limit allows: it is raised to its hard
/// maximum first (as the Go runtime does at start), and the cap lowered to
/// fit under it. Returns the cap and, if it was lowered, why.
pub fn fit_connections(wanted: usize) -> (usize, Option<String>) {
    let limit = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(0);
    if limit == 0 {
        return (wanted, None);
    }
    let room = usize::try_from(limit.saturating_sub(RESERVED_FILES))
        .unwrap_or(usize::MAX)
        .max(1);
    if room >= wanted {
        return (wanted, None);
    }
    let why = format!(
        "SESSIONMARK_MAX_CONNECTIONS lowered from {wanted} to {room}: the open-files limit is {limit}"
    );
    (room, Some(why))
}

/// Serves `app` on `listener` until the process ends.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: &Limits,
    limiter: Arc<ClientLimiter>,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let open = Arc::new(Connections::default());
    tokio::spawn(housekeeping(Arc::clone(&open), limiter));
    let refusals = Arc::new(Semaphore::new(REFUSALS_AT_ONCE));
    let header_timeout = limits.header_timeout;
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                // Out of files or memory: wait instead of spinning; the
                // connection stays in the backlog until then.
                eprintln!("sessionmark collector: accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        match Arc::clone(&slots).try_acquire_owned() {
            Ok(slot) => {
                let app = app.clone();
                let counted = Connections::opened(&open);
                tokio::spawn(async move {
                    serve_connection(stream, peer, app, header_timeout, slot).await;
                    drop(counted);
                });
            }
            Err(_) => {
                if let Ok(permit) = Arc::clone(&refusals).try_acquire_owned() {
                    tokio::spawn(refuse(stream, permit));
                }
                // else: dropped, which closes it; the client sees a reset
                // at once rather than a hang.
            }
        }
    }
}

/// Open connections, and their peak since memory was last handed back.
#[derive(Default)]
struct Connections {
    open: AtomicUsize,
    peak: AtomicUsize,
}

/// One open connection; counted down when dropped.
struct Counted(Arc<Connections>);

impl Connections {
    fn opened(this: &Arc<Connections>) -> Counted {
        let now = this.open.fetch_add(1, Ordering::Relaxed) + 1;
        this.peak.fetch_max(now, Ordering::Relaxed);
        Counted(Arc::clone(this))
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn housekeeping(connections: Arc<Connections>, limiter: Arc<ClientLimiter>) {
    let mut tick = tokio::time::interval(TICK);
    let mut ticks = 0u32;
    loop {
        tick.tick().await;
        let open = connections.open.load(Ordering::Relaxed);
        let peak = connections.peak.load(Ordering::Relaxed);
        if peak >= TRIM_AFTER_PEAK && open <= peak / 4 {
            connections.peak.store(open, Ordering::Relaxed);
            release_freed_memory();
        }
        ticks = ticks.wrapping_add(1);
        if ticks.is_multiple_of(FORGET_EVERY_TICKS) {
            limiter.forget_idle();
        }
    }
}

/// glibc keeps what thousands of closed connections freed in its per-thread
/// arenas (measured: 9 MB before a 3,000-socket flood, 41 MB after it);
/// `malloc_trim` returns the free pages to the OS.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn release_freed_memory() {
    // SAFETY: malloc_trim takes no pointer; it walks glibc's own heaps
    // under their locks and is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_freed_memory() {}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    header_timeout: Duration,
    _slot: OwnedSemaphorePermit,
) {
    let _ = stream.set_nodelay(true);
    let service = app.map_request(move |req: hyper::Request<Incoming>| {
        let mut req = req.map(Body::new);
        req.extensions_mut().insert(ConnectInfo(peer));
        req
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_buf_size(MAX_BUF_BYTES);
    // An error here is the client's doing (timeout, reset, bad framing);
    // hyper has already answered what could be answered.
    let _ = builder
        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
        .await;
}

/// Answers a connection over the cap `503` and closes it.
async fn refuse(mut stream: TcpStream, _permit: OwnedSemaphorePermit) {
    // Read what the client sent first: closing with unread bytes makes the
    // kernel reset the connection, and the client may never see the answer.
    let read_head = async {
        let mut head = [0u8; 4096];
        let mut len = 0;
        while let Some(free) = head.get_mut(len..).filter(|f| !f.is_empty()) {
            match stream.read(free).await {
                Ok(0) | Err(_) => break,
                Ok(n) => len += n,
            }
            if head
                .get(..len)
                .is_some_and(|h| h.windows(4).any(|w| w == b"\r\n\r\n"))
            {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_millis(100), read_head).await;
    let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(REFUSAL)).await;
    let _ = stream.shutdown().await;
}

/// Errors of one connection that do not concern the listener.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusal_is_a_complete_http_answer() {
        let text = std::str::from_utf8(REFUSAL).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 503 "));
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["error"], "too many connections");
    }
}
