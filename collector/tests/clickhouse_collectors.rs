//! Several collector processes on one ClickHouse agree: what one stored or
//! sealed, the others see, and an event is stored once whichever collector
//! (or both) took it. And `kill -9` of a collector under load loses no
//! acknowledged event: each is checked in ClickHouse itself.

mod common;

use common::clickhouse::{fresh_database, host_port};
use common::process::{exchange, Collector};
use common::*;
use serde_json::Value;
use sessionmark::wire::Event;
use sessionmark_collector::store::clickhouse::{Address, Client};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Two collectors on one fresh ClickHouse database.
struct Pair {
    a: Collector,
    b: Collector,
    database: String,
    _site: TempDir,
}

impl Pair {
    fn start(tag: &str) -> Pair {
        let site = TempDir::new(tag);
        let database = fresh_database(tag);
        let url = format!("clickhouse://{}/{database}", host_port());
        let env = [("SESSIONMARK_STORE", url.as_str())];
        let (a, a_store) = Collector::launch(&site, &env);
        let (b, b_store) = Collector::launch(&site, &env);
        for line in [a_store, b_store] {
            let want = format!("sessionmark collector store: clickhouse {url} (ClickHouse ");
            assert!(line.starts_with(&want), "{line}");
        }
        Pair {
            a,
            b,
            database,
            _site: site,
        }
    }

    fn stored(&self) -> (u64, u64, HashSet<String>) {
        stored(&self.database)
    }
}

/// What ClickHouse holds in `database`, read directly: `(rows FINAL,
/// distinct event ids)`, and every stored event id.
fn stored(db: &str) -> (u64, u64, HashSet<String>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let url = format!("clickhouse://{}/{db}", host_port());
    let ch = Client::new(&Address::parse(&url, |_| None).unwrap()).unwrap();
    runtime.block_on(async {
        #[derive(serde::Deserialize)]
        struct Counts {
            rows: u64,
            ids: u64,
        }
        #[derive(serde::Deserialize)]
        struct Id {
            event_id: String,
        }
        let counts: Vec<Counts> = ch
            .rows(&format!(
                "SELECT count() AS rows, uniqExact(event_id) AS ids FROM {db}.events FINAL"
            ))
            .await
            .unwrap();
        let ids: Vec<Id> = ch
            .rows(&format!("SELECT event_id FROM {db}.events"))
            .await
            .unwrap();
        (
            counts[0].rows,
            counts[0].ids,
            ids.into_iter().map(|i| i.event_id).collect(),
        )
    })
}

fn post(c: &Collector, events: &[Event]) -> Value {
    let (status, text) = c.request("POST", "/v1/batch", &body(events));
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).unwrap()
}

/// Every event id `GET /v1/events?session_id=` lists, 37 a page.
fn listed(c: &Collector, session: &str) -> Vec<String> {
    c.listed_event_ids(&format!("session_id={session}&"), 37)
}

fn ids(events: &[Event]) -> Vec<String> {
    events.iter().map(|e| e.event_id.clone()).collect()
}

#[test]
fn the_same_batch_posted_to_two_collectors_is_stored_once_and_answered_consistently() {
    let pair = Pair::start("same_batch");
    let sent: Vec<Event> = (1..=10).map(|n| event(n, "e")).collect();
    let first = post(&pair.a, &sent);
    assert_eq!(
        (first["accepted"].as_u64(), first["duplicates"].as_u64()),
        (Some(10), Some(0))
    );
    let second = post(&pair.b, &sent);
    assert_eq!(
        (second["accepted"].as_u64(), second["duplicates"].as_u64()),
        (Some(0), Some(10))
    );

    // The same new batch to both at the same moment: each answer accounts
    // for every event, at least one collector took each, and ClickHouse
    // ends with one row per event.
    let again: Vec<Event> = (11..=20).map(|n| event(n, "e")).collect();
    let answers: Vec<Value> = std::thread::scope(|s| {
        let both = [&pair.a, &pair.b].map(|c| {
            let again = &again;
            s.spawn(move || post(c, again))
        });
        both.map(|h| h.join().unwrap()).into()
    });
    let mut accepted = 0;
    for a in &answers {
        assert_eq!(
            a["accepted"].as_u64().unwrap() + a["duplicates"].as_u64().unwrap(),
            10
        );
        accepted += a["accepted"].as_u64().unwrap();
    }
    assert!(accepted >= 10, "{answers:?}");

    let want: Vec<String> = (1..=20).map(|n| event(n, "e").event_id).collect();
    assert_eq!(listed(&pair.a, SESSION), want);
    assert_eq!(listed(&pair.b, SESSION), want);
    let (rows, distinct, _) = pair.stored();
    assert_eq!((rows, distinct), (20, 20));
}

#[test]
fn interleaved_batches_of_one_session_to_either_collector_are_stored_once() {
    let pair = Pair::start("interleaved");
    let mut all = Vec::new();
    let mut previous: Vec<Event> = Vec::new();
    for round in 0..20u64 {
        let fresh: Vec<Event> = (1..=5).map(|k| event(round * 5 + k, "e")).collect();
        // Each batch also retries the one before, which went to the other
        // collector.
        let batch: Vec<Event> = previous.iter().chain(&fresh).cloned().collect();
        let to = if round % 2 == 0 { &pair.a } else { &pair.b };
        let answer = post(to, &batch);
        assert_eq!(answer["accepted"], 5, "round {round}: {answer}");
        assert_eq!(answer["duplicates"].as_u64(), Some(previous.len() as u64));
        all.extend(fresh.iter().cloned());
        previous = fresh;
    }
    assert_eq!(listed(&pair.a, SESSION), ids(&all));
    assert_eq!(listed(&pair.b, SESSION), ids(&all));
    let (rows, distinct, _) = pair.stored();
    assert_eq!((rows, distinct), (100, 100));
    // Both list the session the same way.
    let sessions = |c: &Collector| {
        let (status, text) = c.request("GET", "/v1/sessions", "");
        assert_eq!(status, 200);
        serde_json::from_str::<Value>(&text).unwrap()
    };
    let (a, b) = (sessions(&pair.a), sessions(&pair.b));
    assert_eq!(a, b);
    assert_eq!(a[0]["event_count"], 100);
}

#[test]
fn a_session_sealed_through_one_collector_is_sealed_for_the_other() {
    let pair = Pair::start("sealing");
    post(&pair.a, &[event(1, "a")]);
    let (status, _) = pair
        .b
        .request("POST", &format!("/v1/sessions/{SESSION}/seal"), "");
    assert_eq!(status, 200);
    let answer = post(&pair.a, &[event(2, "b")]);
    assert_eq!(answer["sealed"], serde_json::json!([SESSION]));
    assert_eq!(
        answer["accepted"], 1,
        "a sealed session's events are still stored"
    );
    // Sealing again through the first collector keeps the first sealed_at.
    let sealed_at = |c: &Collector| {
        let (_, text) = c.request("GET", "/v1/sessions", "");
        serde_json::from_str::<Value>(&text).unwrap()[0]["sealed_at"].clone()
    };
    let first = sealed_at(&pair.b);
    assert!(first.is_u64(), "{first}");
    let (status, _) = pair
        .a
        .request("POST", &format!("/v1/sessions/{SESSION}/seal"), "");
    assert_eq!(status, 200);
    assert_eq!(sealed_at(&pair.a), first);
    assert_eq!(sealed_at(&pair.b), first);
}

/// One client of the load: its own session, batches of 10 new events.
fn client_events(client: u64, round: u64) -> Vec<Event> {
    let session = format!("sess_018e0e5c-5a00-7abc-8def-{client:012x}");
    (0..10)
        .map(|k| {
            let n = client * 1_000_000 + round * 10 + k;
            Event {
                session_id: session.clone(),
                ..event(n, "load")
            }
        })
        .collect()
}

#[test]
fn kill_dash_nine_of_a_collector_under_load_loses_no_acknowledged_event() {
    const CLIENTS: u64 = 16;
    // Bounded: the kill comes after this many acknowledged events or this
    // long, whichever is first.
    const KILL_AFTER_EVENTS: usize = 3_000;
    const KILL_AFTER: Duration = Duration::from_secs(15);

    let Pair {
        a: victim_process,
        b: survivor_process,
        database,
        _site,
    } = Pair::start("kill9");
    let (victim, survivor) = (victim_process.addr.clone(), survivor_process.addr.clone());
    let acknowledged: Arc<Mutex<Vec<String>>> = Arc::default();
    let by_victim = Arc::new(AtomicUsize::new(0));
    let failed_over = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let (victim, survivor) = (victim.clone(), survivor.clone());
            let (acknowledged, by_victim, failed_over, stop) = (
                Arc::clone(&acknowledged),
                Arc::clone(&by_victim),
                Arc::clone(&failed_over),
                Arc::clone(&stop),
            );
            std::thread::spawn(move || {
                let mut round = 0;
                while !stop.load(Ordering::SeqCst) {
                    let batch = client_events(client, round);
                    let text = body(&batch);
                    // The load balancer's way: a batch the victim did not
                    // acknowledge goes to the survivor until it does.
                    let ok =
                        |r: &std::io::Result<(u16, String, String)>| matches!(r, Ok((200, _, _)));
                    if ok(&exchange(&victim, "POST", "/v1/batch", &text)) {
                        by_victim.fetch_add(batch.len(), Ordering::SeqCst);
                    } else {
                        failed_over.fetch_add(1, Ordering::SeqCst);
                        while !ok(&exchange(&survivor, "POST", "/v1/batch", &text)) {
                            std::thread::sleep(Duration::from_millis(50));
                        }
                    }
                    acknowledged.lock().unwrap().extend(ids(&batch));
                    round += 1;
                }
            })
        })
        .collect();
    let started = Instant::now();
    while by_victim.load(Ordering::SeqCst) < KILL_AFTER_EVENTS && started.elapsed() < KILL_AFTER {
        std::thread::sleep(Duration::from_millis(20));
    }
    // kill -9 while the clients are still sending.
    let acked_before_kill = by_victim.load(Ordering::SeqCst);
    victim_process.kill_hard();
    // Every client sees the victim gone and fails over at least once.
    while failed_over.load(Ordering::SeqCst) < CLIENTS as usize
        && started.elapsed() < KILL_AFTER * 2
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, Ordering::SeqCst);
    for c in clients {
        c.join().unwrap();
    }

    let acknowledged = acknowledged.lock().unwrap().clone();
    let (rows, distinct, stored) = stored(&database);
    drop(survivor_process);
    let missing: Vec<&String> = acknowledged
        .iter()
        .filter(|id| !stored.contains(*id))
        .collect();
    eprintln!(
        "kill -9 under load: {acked_before_kill} events acknowledged by the killed collector, \
         {} batches failed over, {} acknowledged in all, {rows} rows (FINAL), {} missing",
        failed_over.load(Ordering::SeqCst),
        acknowledged.len(),
        missing.len()
    );
    assert!(acked_before_kill >= 100, "too little load before the kill");
    assert!(
        missing.is_empty(),
        "acknowledged but not stored: {missing:?}"
    );
    assert_eq!(rows, distinct, "an event stored twice");
    assert_eq!(rows, acknowledged.len() as u64, "stored but never sent");
}
