//! The limits against the real binary on loopback (README "Limits and
//! access"): header and body timeouts, the idle keep-alive timeout, the
//! connection cap, rate limits, keys (the flood is in flood.rs). Each test is bounded
//! in time: the timeouts are set to about a second through the environment.

mod common;

use common::process::Collector;
use common::*;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// The short timeouts these tests run with.
const TIMEOUT_MS: &str = "1000";
const TIMEOUT: Duration = Duration::from_millis(1000);
/// How late after its timeout a connection may still be closed (a loaded
/// machine runs other test binaries at the same time).
const SLACK: Duration = Duration::from_millis(1500);

fn connect(c: &Collector) -> TcpStream {
    let s = TcpStream::connect(&c.addr).unwrap();
    s.set_read_timeout(Some(TIMEOUT + SLACK + Duration::from_secs(2)))
        .unwrap();
    s
}

/// Reads until the collector closes the connection; what it sent, and when
/// it closed. Fails the test when the connection is still open past the
/// read timeout.
fn read_until_closed(s: &mut TcpStream) -> (String, Instant) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
            Err(e) => panic!(
                "connection still open: {e}; got {:?}",
                String::from_utf8_lossy(&got)
            ),
        }
    }
    (String::from_utf8_lossy(&got).into_owned(), Instant::now())
}

fn assert_closed_in_time(opened: Instant, closed: Instant, what: &str) {
    let took = closed - opened;
    assert!(
        took + Duration::from_millis(100) >= TIMEOUT && took <= TIMEOUT + SLACK,
        "{what}: closed after {took:?}, timeout {TIMEOUT:?}"
    );
}

#[test]
fn a_connection_that_sends_nothing_is_closed_at_the_header_timeout() {
    let (c, _dir) = Collector::in_temp("idle", &[("SESSIONMARK_HEADER_TIMEOUT_MS", TIMEOUT_MS)]);
    let opened = Instant::now();
    let mut s = connect(&c);
    let (_, closed) = read_until_closed(&mut s);
    assert_closed_in_time(opened, closed, "idle connection");
}

#[test]
fn headers_sent_a_byte_at_a_time_are_cut_off_at_the_header_timeout() {
    let (c, _dir) =
        Collector::in_temp("slowhead", &[("SESSIONMARK_HEADER_TIMEOUT_MS", TIMEOUT_MS)]);
    let opened = Instant::now();
    let mut s = connect(&c);
    s.write_all(b"GET /healthz HTTP/1.1\r\nX-Slow: ").unwrap();
    // A byte every 200 ms: each read makes progress, only the whole head
    // is late.
    let mut writer = s.try_clone().unwrap();
    let drip = std::thread::spawn(move || {
        for _ in 0..40 {
            std::thread::sleep(Duration::from_millis(200));
            if writer.write_all(b"a").is_err() {
                return;
            }
        }
    });
    let (got, closed) = read_until_closed(&mut s);
    assert_closed_in_time(opened, closed, "slow header");
    assert!(!got.contains("200 OK"), "{got}");
    drip.join().unwrap();
}

#[test]
fn an_idle_keep_alive_connection_is_closed_at_the_header_timeout() {
    let (c, _dir) = Collector::in_temp(
        "keepalive",
        &[("SESSIONMARK_HEADER_TIMEOUT_MS", TIMEOUT_MS)],
    );
    let mut s = connect(&c);
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 4096];
    let mut got = String::new();
    while !got.ends_with("ok") {
        let n = s.read(&mut buf).unwrap();
        assert_ne!(n, 0, "closed before the answer: {got}");
        got.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
    let answered = Instant::now();
    let (rest, closed) = read_until_closed(&mut s);
    assert_eq!(rest, "");
    assert_closed_in_time(answered, closed, "idle keep-alive connection");
}

#[test]
fn a_body_sent_a_byte_at_a_time_is_answered_408_at_the_body_timeout_and_not_stored() {
    let (c, _dir) = Collector::in_temp("slowbody", &[("SESSIONMARK_BODY_TIMEOUT_MS", TIMEOUT_MS)]);
    let batch = body(&[event(1, "a")]);
    let mut s = connect(&c);
    write!(
        s,
        "POST /v1/batch HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        batch.len()
    )
    .unwrap();
    let opened = Instant::now();
    let mut writer = s.try_clone().unwrap();
    let bytes = batch.into_bytes();
    let drip = std::thread::spawn(move || {
        for b in bytes.iter().take(40) {
            std::thread::sleep(Duration::from_millis(200));
            if writer.write_all(&[*b]).is_err() {
                return;
            }
        }
    });
    let (got, closed) = read_until_closed(&mut s);
    assert!(got.starts_with("HTTP/1.1 408"), "{got}");
    assert!(got.contains("\"error\""), "{got}");
    assert_closed_in_time(opened, closed, "slow body");
    drip.join().unwrap();
    let (_, stored) = c.request("GET", "/v1/events", "");
    assert_eq!(stored, "[]");
}

#[test]
fn past_the_connection_cap_a_connection_is_answered_503_at_once_until_slots_free_up() {
    let (c, _dir) = Collector::in_temp(
        "cap",
        &[
            ("SESSIONMARK_MAX_CONNECTIONS", "20"),
            ("SESSIONMARK_HEADER_TIMEOUT_MS", TIMEOUT_MS),
        ],
    );
    let idle: Vec<TcpStream> = (0..20).map(|_| connect(&c)).collect();
    std::thread::sleep(Duration::from_millis(200));
    let asked = Instant::now();
    let (status, answer) = c.request("GET", "/healthz", "");
    let took = asked.elapsed();
    assert_eq!(status, 503, "{answer}");
    assert!(answer.contains("too many connections"), "{answer}");
    assert!(took < Duration::from_millis(500), "503 took {took:?}");
    // The idle ones are closed at the header timeout; their slots serve again.
    std::thread::sleep(TIMEOUT + Duration::from_millis(500));
    assert_eq!(c.request("GET", "/healthz", ""), (200, "ok".to_owned()));
    drop(idle);
}

#[test]
fn batches_past_a_clients_quota_are_answered_429_with_retry_after() {
    let (c, _dir) = Collector::in_temp(
        "rate",
        &[
            ("SESSIONMARK_RATE_REQUESTS_PER_SEC", "1"),
            ("SESSIONMARK_RATE_REQUESTS_BURST", "2"),
        ],
    );
    for n in 1..=2 {
        assert_eq!(
            c.request("POST", "/v1/batch", &body(&[event(n, "a")])).0,
            200
        );
    }
    let mut s = connect(&c);
    write!(
        s,
        "POST /v1/batch HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
    )
    .unwrap();
    let (got, _) = read_until_closed(&mut s);
    assert!(got.starts_with("HTTP/1.1 429"), "{got}");
    assert!(
        got.to_ascii_lowercase().contains("retry-after: 1\r\n"),
        "{got}"
    );
    // Reads are not ingest: they are not charged.
    assert_eq!(c.request("GET", "/v1/sessions", "").0, 200);
}

const READ_KEY: &str = "read-key-for-process-tests";
const SERVER_KEY: &str = "server-key-for-process-tests";

#[test]
fn with_keys_unauthenticated_reads_seals_and_server_events_get_401_and_forged_or_deep_events_are_refused(
) {
    let (c, _dir) = Collector::in_temp(
        "keys",
        &[
            ("SESSIONMARK_READ_KEY", READ_KEY),
            ("SESSIONMARK_SERVER_KEY", SERVER_KEY),
        ],
    );
    assert_eq!(
        c.request("POST", "/v1/batch", &body(&[event(1, "a")])).0,
        200
    );
    for (method, path) in [
        ("GET", "/v1/events".to_owned()),
        ("GET", format!("/v1/events?session_id={SESSION}")),
        ("GET", "/v1/sessions".to_owned()),
        ("POST", format!("/v1/sessions/{SESSION}/seal")),
    ] {
        let (status, text) = c.request(method, &path, "");
        assert_eq!(status, 401, "{method} {path}: {text}");
    }
    let session = format!("X-Session-ID: {SESSION}\r\n");
    let (status, _) = c.request_with("POST", "/v1/server-events", &session, r#"{"name":"x"}"#);
    assert_eq!(status, 401);
    let read = format!("Authorization: Bearer {READ_KEY}\r\n");
    let (status, _) = c.request_with(
        "POST",
        "/v1/server-events",
        &(session.clone() + &read),
        r#"{"name":"x"}"#,
    );
    assert_eq!(status, 401, "the read key is not the server key");

    let mut forged = encode(&event(2, "purchase"));
    forged.insert_str(1, "\"source\":\"server\",");
    let mut deep = encode(&event(3, "deep"));
    deep.insert_str(
        1,
        &format!("\"x\":{}{},", "[".repeat(1000), "]".repeat(1000)),
    );
    let (status, answer) = c.request(
        "POST",
        "/v1/batch",
        &format!("{{\"events\":[{forged},{deep}]}}"),
    );
    assert_eq!(status, 200);
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(answer["accepted"], 0);
    assert_eq!(answer["rejected"].as_array().unwrap().len(), 2);
    // An oversize body is refused by its declared length, before it is sent.
    let mut s = connect(&c);
    write!(
        s,
        "POST /v1/batch HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        2 * 1024 * 1024
    )
    .unwrap();
    let mut head = [0u8; 512];
    let n = s.read(&mut head).unwrap();
    assert!(
        head[..n].starts_with(b"HTTP/1.1 413"),
        "{:?}",
        String::from_utf8_lossy(&head[..n])
    );

    let (status, stored) = c.request_with(
        "GET",
        &format!("/v1/events?session_id={SESSION}"),
        &read,
        "",
    );
    assert_eq!(status, 200);
    let stored: Vec<serde_json::Value> = serde_json::from_str(&stored).unwrap();
    let names: Vec<&str> = stored.iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["a"]);
}

#[test]
fn without_keys_the_collector_refuses_to_listen_beyond_loopback() {
    let dir = TempDir::new("bind");
    let (www, dist) = site(&dir);
    let out = std::process::Command::new(common::process::binary())
        .env("PORT", "0")
        .env("HOST", "0.0.0.0")
        .env_remove("SESSIONMARK_READ_KEY")
        .env_remove("SESSIONMARK_SERVER_KEY")
        .env("SESSIONMARK_DB", dir.0.join("db.sqlite"))
        .env("SESSIONMARK_WWW", www)
        .env("SESSIONMARK_DIST", dist)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).is_empty(),
        "it never said it listens"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("SESSIONMARK_READ_KEY") && err.contains("refused"),
        "{err}"
    );
}

#[test]
fn a_request_head_over_64_kib_is_answered_431() {
    let (c, _dir) = Collector::in_temp("bighead", &[]);
    let mut s = connect(&c);
    let filler = "a".repeat(70 * 1024);
    // The collector may answer before it has read all of it.
    let _ = write!(
        s,
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {filler}\r\n\r\n"
    );
    let (got, _) = read_until_closed(&mut s);
    assert!(got.starts_with("HTTP/1.1 431"), "{got}");
}
