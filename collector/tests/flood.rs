//! A bounded flood against the real binary on loopback: 3,000 sockets, idle
//! and slow, while `/healthz` is timed; then every socket must be closed by
//! the collector and its memory handed back. Its own test binary, so no
//! other test of this crate runs beside it.

mod common;

use common::process::Collector;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How late after its timeout a connection may still be closed.
const SLACK: Duration = Duration::from_millis(1500);

/// `GET /healthz` on a fresh connection: how long the whole exchange took.
fn time_healthz(c: &Collector) -> Duration {
    let asked = Instant::now();
    let (status, text) = c.request("GET", "/healthz", "");
    assert_eq!((status, text.as_str()), (200, "ok"));
    asked.elapsed()
}

#[test]
fn healthz_answers_within_100_ms_during_a_flood_of_idle_and_slow_connections_and_memory_comes_back()
{
    const IDLE: usize = 2500;
    const SLOW: usize = 500;
    // The flood must outlive the measurements: a longer header timeout.
    let hold = Duration::from_secs(6);
    let (c, _dir) = Collector::in_temp("flood", &[("SESSIONMARK_HEADER_TIMEOUT_MS", "6000")]);
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    for _ in 0..5 {
        time_healthz(&c);
    }
    let before = c.rss_kib();
    let opened = Arc::new(AtomicUsize::new(0));
    let measured = Arc::new(AtomicBool::new(false));
    let addr = c.addr.clone();
    let (counter, done) = (Arc::clone(&opened), Arc::clone(&measured));
    // One thread opens the flood and drips a header byte a second into
    // the slow part of it, while this thread measures.
    let flood = std::thread::spawn(move || {
        let started = Instant::now();
        let mut socks: Vec<TcpStream> = Vec::with_capacity(IDLE + SLOW);
        for i in 0..IDLE + SLOW {
            let mut s = TcpStream::connect(&addr).unwrap();
            if i % 6 == 5 {
                s.write_all(b"POST /v1/batch HTTP/1.1\r\nX-Slow: ").unwrap();
            }
            socks.push(s);
            counter.fetch_add(1, Ordering::SeqCst);
        }
        let took = started.elapsed();
        while !done.load(Ordering::SeqCst) {
            for s in socks.iter_mut().skip(5).step_by(6) {
                let _ = s.write_all(b"a");
            }
            std::thread::sleep(Duration::from_millis(1000));
        }
        // Every socket of the flood is closed by the collector itself.
        let mut still_open = 0;
        for s in &mut socks {
            s.set_read_timeout(Some(hold + SLACK + Duration::from_secs(2)))
                .unwrap();
            let mut buf = [0u8; 256];
            loop {
                match s.read(&mut buf) {
                    Ok(0) => break,
                    Ok(_) => continue,
                    Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
                    Err(_) => {
                        still_open += 1;
                        break;
                    }
                }
            }
        }
        (took, still_open)
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    // Timed once the whole flood is open and held: while it is still
    // connecting, a new connection waits behind it in the accept queue.
    while opened.load(Ordering::SeqCst) < IDLE + SLOW && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut times = Vec::new();
    for _ in 0..40 {
        times.push(time_healthz(&c));
        std::thread::sleep(Duration::from_millis(25));
    }
    let open_at_end = opened.load(Ordering::SeqCst);
    let peak = c.rss_kib();
    measured.store(true, Ordering::SeqCst);
    let (took, still_open) = flood.join().unwrap();
    // The housekeeping ticks once a second.
    std::thread::sleep(Duration::from_millis(2500));
    let after = c.rss_kib();
    times.sort();
    let median = times[times.len() / 2];
    let p90 = times[times.len() * 9 / 10];
    let max = times[times.len() - 1];
    eprintln!(
        "flood of {} sockets ({SLOW} slow) opened in {took:?}, {open_at_end} open when the \
         last /healthz was timed: /healthz median {median:?}, 90th percentile {p90:?}, max \
         {max:?}; RSS before \
         {before} KiB, during {peak} KiB, after {after} KiB",
        IDLE + SLOW
    );
    assert_eq!(still_open, 0, "sockets the collector did not close");
    // The machine is shared (other test binaries, other builds): nine
    // answers in ten within 100 ms, and none may take half a second.
    assert!(p90 < Duration::from_millis(100), "/healthz times {times:?}");
    assert!(max < Duration::from_millis(500), "/healthz times {times:?}");
    assert!(
        after <= before + 16 * 1024,
        "RSS before {before} KiB, after {after} KiB"
    );
    assert_eq!(c.request("GET", "/healthz", ""), (200, "ok".to_owned()));
}
