//! The real binary: start-up line, env settings, and durability across kill -9.

mod common;

use common::process::{exchange, Collector};
use common::*;
use std::time::Duration;

#[test]
fn an_acknowledged_batch_survives_kill_dash_nine_and_a_restart() {
    let dir = TempDir::new("durable");
    // A folder that does not exist yet: the collector creates it.
    let db = dir.0.join("nested/data/sessionmark.db");
    let sent = [
        event(1, "screen_view"),
        event(2, "signup"),
        event(3, "page_exit"),
    ];

    let first = Collector::start(&db, &dir);
    let (status, answer) = first.request("POST", "/v1/batch", &body(&sent));
    assert_eq!(status, 200, "{answer}");
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(answer["accepted"], 3);
    first.kill_hard();

    let second = Collector::start(&db, &dir);
    let (status, stored) = second.request("GET", &format!("/v1/events?session_id={SESSION}"), "");
    assert_eq!(status, 200);
    let stored: Vec<serde_json::Value> = serde_json::from_str(&stored).unwrap();
    let ids: Vec<&str> = stored
        .iter()
        .map(|e| e["event_id"].as_str().unwrap())
        .collect();
    let want: Vec<&str> = sent.iter().map(|e| e.event_id.as_str()).collect();
    assert_eq!(ids, want);

    // The restarted collector still knows them: a retry is all duplicates.
    let (status, retry) = second.request("POST", "/v1/batch", &body(&sent));
    assert_eq!(status, 200);
    let retry: serde_json::Value = serde_json::from_str(&retry).unwrap();
    assert_eq!(retry["duplicates"], 3);
    assert_eq!(retry["accepted"], 0);
}

#[test]
fn the_binary_serves_health_and_has_no_test_hooks_by_default() {
    let dir = TempDir::new("plain");
    let c = Collector::start(&dir.0.join("db.sqlite"), &dir);
    assert_eq!(c.request("GET", "/healthz", ""), (200, "ok".to_owned()));
    let (status, _) = c.request("POST", "/v1/_test/fail", "{\"status\":500,\"count\":1}");
    assert_eq!(status, 404);
    let (status, page) = c.request("GET", "/", "");
    assert_eq!(status, 200);
    assert!(page.contains("<title>demo"));
}

#[test]
fn the_binary_seals_sessions_idle_longer_than_sessionmark_seal_after_ms() {
    let dir = TempDir::new("seal");
    let c = Collector::start_with(
        &dir.0.join("db.sqlite"),
        &dir,
        &[("SESSIONMARK_SEAL_AFTER_MS", "1")],
    );
    let answer = |(status, text): (u16, String)| {
        assert_eq!(status, 200, "{text}");
        serde_json::from_str::<serde_json::Value>(&text).unwrap()
    };
    let first = answer(c.request("POST", "/v1/batch", &body(&[event(1, "a")])));
    assert_eq!(first["sealed"], serde_json::json!([]));
    std::thread::sleep(Duration::from_millis(20));
    let second = answer(c.request("POST", "/v1/batch", &body(&[event(2, "b")])));
    assert_eq!(second["sealed"], serde_json::json!([SESSION]));
    assert_eq!(second["accepted"], 1);
}

#[test]
fn the_default_seal_timeout_leaves_a_busy_session_open() {
    let dir = TempDir::new("noseal");
    let c = Collector::start(&dir.0.join("db.sqlite"), &dir);
    for n in 1..=2 {
        let (status, text) = c.request("POST", "/v1/batch", &body(&[event(n, "a")]));
        assert_eq!(status, 200);
        let a: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(a["sealed"], serde_json::json!([]));
    }
}

#[test]
fn every_batch_acknowledged_before_a_kill_dash_nine_under_load_is_stored_exactly_once() {
    let dir = TempDir::new("load-kill");
    let db = dir.0.join("db.sqlite");
    let collector = Collector::start(&db, &dir);
    let (acked_tx, acked_rx) = std::sync::mpsc::channel::<Vec<String>>();
    let senders: Vec<_> = (0..8u64)
        .map(|t| {
            let addr = collector.addr.clone();
            let acked = acked_tx.clone();
            std::thread::spawn(move || {
                for seq in 0.. {
                    let events: Vec<_> = (0..10)
                        .map(|i| event(t * 1_000_000 + seq * 10 + i + 1, "load"))
                        .collect();
                    match exchange(&addr, "POST", "/v1/batch", &body(&events)) {
                        Ok((200, _, _)) => {
                            let ids = events.into_iter().map(|e| e.event_id).collect();
                            if acked.send(ids).is_err() {
                                return;
                            }
                        }
                        // The collector is gone (or going): stop sending.
                        _ => return,
                    }
                }
            })
        })
        .collect();
    drop(acked_tx);
    // Kill once 200 batches were acknowledged, with the others in flight.
    let mut acked: Vec<String> = Vec::new();
    for _ in 0..200 {
        acked.extend(acked_rx.recv().unwrap());
    }
    collector.kill_hard();
    for s in senders {
        s.join().unwrap();
    }
    acked.extend(acked_rx.try_iter().flatten());

    let again = Collector::start(&db, &dir);
    let stored = again.all_event_ids();
    let mut counts = std::collections::HashMap::new();
    for id in &stored {
        *counts.entry(id.as_str()).or_insert(0) += 1;
    }
    assert!(
        counts.values().all(|&n| n == 1),
        "an event id is stored twice"
    );
    let missing = acked
        .iter()
        .filter(|id| !counts.contains_key(id.as_str()))
        .count();
    assert_eq!(
        missing,
        0,
        "{missing} of {} acknowledged events are missing",
        acked.len()
    );
}
