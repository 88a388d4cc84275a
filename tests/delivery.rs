#![cfg(not(target_arch = "wasm32"))]
//! Delivery, driven through the core with a fake clock and a fake shell
//! that carries out its commands (`tests/support`: the stored outbox is
//! whatever the core's storage commands left in localStorage): batch size
//! and timeout, the event envelope, request modes and the keepalive
//! budget, what each answer does, retries, page hide, beacons and the
//! outbox resent on the next page.

mod support;

use proptest::prelude::*;
use serde_json::Value;
use sessionmark::batch::{Queued, BEACON_BUDGET};
use sessionmark::command::Mode;
use sessionmark::config::Config;
use sessionmark::delivery::Outcome;
use sessionmark::ids;
use sessionmark::outbox;
use sessionmark::time::Millis;
use sessionmark::tracker::{Page, Refusal};
use sessionmark::wire;
use std::collections::HashSet;
use support::{sent_events, sent_shared, Browser, PageShell, Request, Tab, T0};

const MIN: u64 = 60_000;

const PAGE: Page<'static> = Page {
    path: "/pricing?plan=pro",
    title: "Pricing \"Pro\" – ünï",
    referrer: "https://example.com/blog",
    search: "",
    hash: "",
    href: "",
};

fn at(ms: u64) -> Millis {
    T0.plus(Millis(ms))
}

fn config(batching: bool, size: u64) -> Config {
    Config {
        client_id: "demo-site".into(),
        enable_batching: batching,
        batch_size: size,
        batch_timeout: Millis(5_000),
        ..Config::default()
    }
}

/// A page started at `T0` in its own browser, prerendered (no page view
/// of its own), in a tab whose session already began with a view: its
/// events go at once and are the only ones counted.
fn start(cfg: Config, _seed: u64) -> PageShell {
    Browser::default().open(&Tab::in_session(T0), T0, &cfg, "")
}

fn batching(seed: u64) -> PageShell {
    start(config(true, 10), seed)
}

fn unbatched(seed: u64) -> PageShell {
    start(config(false, 10), seed)
}

/// Properties naming the event's position, so order can be checked.
fn props(i: usize) -> String {
    format!("{{\"i\":{i}}}")
}

/// Properties of about `pad` bytes.
fn padded(i: usize, pad: usize) -> String {
    format!("{{\"i\":{i},\"pad\":\"{}\"}}", "x".repeat(pad))
}

fn track_with(t: &mut PageShell, now: Millis, name: &str, props: &str) -> Result<(), Refusal> {
    t.at(now, |c| c.handle_track(now, name, props, &PAGE))
}

fn track(t: &mut PageShell, now: Millis, i: usize) {
    track_with(t, now, "signup", &props(i)).unwrap();
}

/// Every request made so far and not yet taken, in order.
fn drain(t: &mut PageShell) -> Vec<Request> {
    t.take_requests(T0)
}

/// The batch timer fires at `now`.
fn poll(t: &mut PageShell, now: Millis) {
    t.tick(now);
}

fn deadline(t: &PageShell) -> Option<Millis> {
    t.tracker.delivery().deadline()
}

fn pending(t: &PageShell) -> usize {
    t.tracker.delivery().pending()
}

fn in_flight(t: &PageShell) -> usize {
    t.tracker.delivery().in_flight()
}

fn unsettled(t: &PageShell) -> Vec<String> {
    t.tracker.delivery().unsettled_ids()
}

/// The events of a request body, each whole.
fn body_events(body: &str) -> Vec<Value> {
    sent_events(body)
}

fn body_ids(body: &str) -> Vec<String> {
    body_events(body)
        .iter()
        .map(|e| e["event_id"].as_str().unwrap().to_owned())
        .collect()
}

/// The `i` property of each event of a request.
fn body_positions(body: &str) -> Vec<u64> {
    body_events(body)
        .iter()
        .map(|e| e["properties"]["i"].as_u64().unwrap())
        .collect()
}

fn queued_ids(v: &[Queued]) -> Vec<String> {
    v.iter().map(|q| q.id.clone()).collect()
}

/// Ids of the stored outbox text, one per line, repeats kept.
fn stored_ids(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            v["event_id"].as_str().unwrap().to_owned()
        })
        .collect()
}

/// Checks each request's mode against the keepalive budget, starting from
/// `in_flight` keepalive bytes; returns the bytes in flight after them.
fn check_modes(sends: &[Request], mut in_flight: usize) -> usize {
    for s in sends {
        let fits = in_flight + s.body.len() <= BEACON_BUDGET;
        let want = if fits { Mode::Keepalive } else { Mode::Fetch };
        assert_eq!(
            s.mode, want,
            "request {} with {in_flight} B in flight",
            s.id
        );
        if fits {
            in_flight += s.body.len();
        }
    }
    in_flight
}

fn retrying_ids(o: &Outcome) -> Vec<String> {
    match o {
        Outcome::Retrying(evs) => queued_ids(evs),
        other => panic!("expected Retrying, got {other:?}"),
    }
}

// ---------------------------------------------------------------- batching

#[test]
fn twenty_five_events_go_out_as_ten_ten_and_five_exactly_at_the_batch_timeout() {
    let mut t = batching(1);
    let mut sent: Vec<(usize, Request)> = Vec::new();
    for i in 0..25 {
        track(&mut t, at(100 * i as u64), i);
        sent.extend(drain(&mut t).into_iter().map(|s| (i, s)));
    }
    // The 10th and 20th events each complete a batch, sent at once.
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].0, 9);
    assert_eq!(sent[1].0, 19);
    assert_eq!(body_positions(&sent[0].1.body), (0..10).collect::<Vec<_>>());
    assert_eq!(
        body_positions(&sent[1].1.body),
        (10..20).collect::<Vec<_>>()
    );
    // The last five wait for 5 s after the first of them (tracked at 2000).
    assert_eq!(deadline(&t), Some(at(7_000)));
    poll(&mut t, at(6_999));
    assert!(drain(&mut t).is_empty(), "not a millisecond early");
    assert_eq!(pending(&t), 25);
    poll(&mut t, at(7_000));
    let last = drain(&mut t);
    assert_eq!(last.len(), 1);
    assert_eq!(body_positions(&last[0].body), (20..25).collect::<Vec<_>>());
    assert_eq!(deadline(&t), None);
    assert_eq!(in_flight(&t), 3);
    // Every event went exactly once.
    let mut all: Vec<String> = sent.iter().flat_map(|(_, s)| body_ids(&s.body)).collect();
    all.extend(body_ids(&last[0].body));
    assert_eq!(all.iter().collect::<HashSet<_>>().len(), 25);
}

#[test]
fn five_events_alone_go_exactly_five_seconds_after_the_first_one() {
    let mut t = batching(2);
    for i in 0..5 {
        track(&mut t, at(1_000 + 700 * i as u64), i);
    }
    assert!(drain(&mut t).is_empty());
    assert_eq!(deadline(&t), Some(at(6_000)));
    poll(&mut t, at(5_999));
    assert!(drain(&mut t).is_empty());
    poll(&mut t, at(6_000));
    let sends = drain(&mut t);
    assert_eq!(sends.len(), 1);
    assert_eq!(body_positions(&sends[0].body), vec![0, 1, 2, 3, 4]);
}

#[test]
fn without_batching_each_event_is_sent_at_once_on_its_own() {
    let mut t = unbatched(3);
    for i in 0..5 {
        track(&mut t, at(i as u64), i);
        let sends = drain(&mut t);
        assert_eq!(sends.len(), 1, "event {i}");
        assert_eq!(body_positions(&sends[0].body), vec![i as u64]);
        assert_eq!(sends[0].mode, Mode::Keepalive);
        assert_eq!(deadline(&t), None);
    }
    assert_eq!(in_flight(&t), 5);
}

// ---------------------------------------------------------------- envelope

#[test]
fn every_event_carries_the_full_envelope_and_its_own_properties() {
    let mut t = unbatched(4);
    let session = t.sid(T0);
    let visitor = t.tracker.visitor_id().to_owned();
    let given = [
        "{\"plan\":\"pro\",\"seats\":3,\"tags\":[\"a\",\"b\"],\"nested\":{\"ok\":true}}",
        "",
        "{}",
    ];
    let mut seen = HashSet::new();
    for (k, p) in given.iter().enumerate() {
        let now = at(1_000 * k as u64 + 17);
        track_with(&mut t, now, "plan_selected", p).unwrap();
        let sends = drain(&mut t);
        assert_eq!(sends.len(), 1);
        let evs = body_events(&sends[0].body);
        assert_eq!(evs.len(), 1);
        let e = &evs[0];
        let keys: HashSet<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
        let want: HashSet<&str> = wire::WHOLE_EVENT_FIELDS.into();
        assert_eq!(keys, want);
        let id = e["event_id"].as_str().unwrap();
        assert!(ids::is_uuid_v7_text(id), "{id}");
        assert_eq!(
            ids::session_start(&format!("sess_{id}")),
            Some(now),
            "the event id's UUIDv7 time is the tracking time"
        );
        assert!(seen.insert(id.to_owned()), "event_id repeated: {id}");
        assert_eq!(e["name"], "plan_selected");
        assert_eq!(e["session_id"], session.as_str());
        assert_eq!(e["anonymous_id"], visitor.as_str());
        assert_eq!(e["timestamp"].as_u64(), Some(now.0));
        assert_eq!(e["path"], PAGE.path);
        assert_eq!(e["title"], PAGE.title);
        assert_eq!(e["referrer"], PAGE.referrer);
        assert_eq!(e["client_id"], "demo-site");
        let want_props: Value = serde_json::from_str(if p.is_empty() { "{}" } else { p }).unwrap();
        assert_eq!(e["properties"], want_props);
    }
}

#[test]
fn event_ids_are_unique_across_many_events_tracked_in_the_same_millisecond() {
    let mut t = start(config(true, 50), 5);
    for i in 0..500 {
        track(&mut t, at(0), i);
    }
    let ids: Vec<String> = drain(&mut t)
        .iter()
        .flat_map(|s| body_ids(&s.body))
        .collect();
    assert_eq!(ids.len(), 500);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 500);
}

#[test]
fn a_name_longer_than_128_bytes_is_cut_on_a_character_boundary() {
    let mut t = unbatched(6);
    // 1 + 2 * 100 bytes: byte 128 falls inside an 'é'.
    let long = format!("a{}", "é".repeat(100));
    track_with(&mut t, at(1), &long, "").unwrap();
    track_with(&mut t, at(2), &"x".repeat(300), "").unwrap();
    track_with(&mut t, at(3), &"y".repeat(128), "").unwrap();
    let names: Vec<String> = drain(&mut t)
        .iter()
        .map(|s| body_events(&s.body)[0]["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names[0], format!("a{}", "é".repeat(63)));
    assert_eq!(names[0].len(), 127);
    assert_eq!(names[1], "x".repeat(128));
    assert_eq!(names[2], "y".repeat(128), "exactly 128 bytes is kept whole");
}

#[test]
fn an_empty_name_or_properties_over_16_kib_are_refused_and_nothing_is_queued() {
    let mut t = batching(7);
    for name in ["", " ", "  \t\n "] {
        assert_eq!(
            track_with(&mut t, at(1), name, "{}"),
            Err(Refusal::EmptyName)
        );
    }
    // `{"p":"…"}` is 8 bytes around the padding.
    let over = format!("{{\"p\":\"{}\"}}", "x".repeat(wire::MAX_PROPS_BYTES - 7));
    assert_eq!(over.len(), wire::MAX_PROPS_BYTES + 1);
    assert_eq!(
        track_with(&mut t, at(2), "ok", &over),
        Err(Refusal::PropsTooLarge)
    );
    assert_eq!(pending(&t), 0);
    assert!(unsettled(&t).is_empty());
    assert_eq!(deadline(&t), None);
    poll(&mut t, at(60_000));
    assert!(drain(&mut t).is_empty());
    assert!(t.hide(at(60_000)).is_empty());
    assert!(drain(&mut t).is_empty());
    assert!(!Refusal::EmptyName.message().is_empty());
    assert_eq!(t.warnings.len(), 4, "one warning per refused event");
}

#[test]
fn properties_of_exactly_16_kib_are_accepted() {
    let mut t = unbatched(8);
    let max = format!("{{\"p\":\"{}\"}}", "x".repeat(wire::MAX_PROPS_BYTES - 8));
    assert_eq!(max.len(), wire::MAX_PROPS_BYTES);
    track_with(&mut t, at(1), "ok", &max).unwrap();
    let sends = drain(&mut t);
    assert_eq!(sends.len(), 1);
    assert_eq!(
        body_events(&sends[0].body)[0]["properties"]["p"]
            .as_str()
            .unwrap()
            .len(),
        wire::MAX_PROPS_BYTES - 8
    );
}

#[test]
fn tracking_an_event_counts_as_activity_and_moves_the_session_timestamp() {
    let mut t = batching(9);
    let id = t.sid(T0);
    track(&mut t, at(25 * MIN), 0);
    assert_eq!(
        t.session.get("did_session_timestamp"),
        Some(at(25 * MIN).0.to_string())
    );
    // 50 minutes after start, but only 25 after the event: same session.
    assert_eq!(t.sid(at(50 * MIN)), id);
    assert_ne!(t.sid(at(55 * MIN)), id);
}

#[test]
fn an_event_tracked_after_30_idle_minutes_carries_the_new_session_after_its_screen_view() {
    let mut t = unbatched(10);
    // The page is shown: the new session can begin with a view of it.
    t.at(T0, |c| c.handle_page_view(T0, &PAGE, "", false, None));
    drain(&mut t);
    let old = t.sid(T0);
    track(&mut t, at(31 * MIN), 0);
    let new = t.sid(at(31 * MIN)).to_owned();
    assert_ne!(new, old);
    let events: Vec<(String, String)> = drain(&mut t)
        .iter()
        .flat_map(|s| body_events(&s.body))
        .map(|e| {
            let field = |k: &str| e[k].as_str().unwrap().to_owned();
            (field("name"), field("session_id"))
        })
        .collect();
    assert_eq!(
        events,
        [
            ("page_exit".into(), old.clone()),
            ("screen_view".into(), new.clone()),
            ("signup".into(), new)
        ]
    );
}

// ------------------------------------------------------------------- modes

#[test]
fn requests_use_keepalive_while_the_64_kib_budget_allows_and_plain_fetch_beyond() {
    let mut t = unbatched(11);
    // About 10 KiB per request: six fit the budget, the seventh does not.
    let mut sends = Vec::new();
    for i in 0..9 {
        track_with(&mut t, at(i as u64), "big", &padded(i, 10_000)).unwrap();
        sends.extend(drain(&mut t));
    }
    let in_flight = check_modes(&sends, 0);
    let modes: Vec<Mode> = sends.iter().map(|s| s.mode).collect();
    assert_eq!(modes[..6], [Mode::Keepalive; 6]);
    assert_eq!(modes[6..], [Mode::Fetch; 3]);
    assert!(in_flight <= BEACON_BUDGET);

    // A plain fetch's answer frees no keepalive budget.
    let o = t.reply(sends[6].id, 200, at(100));
    assert_eq!(o, Outcome::Delivered(vec![]));
    track_with(&mut t, at(101), "big", &padded(9, 10_000)).unwrap();
    assert_eq!(drain(&mut t)[0].mode, Mode::Fetch);

    // A keepalive request's answer frees its bytes.
    t.reply(sends[0].id, 200, at(102));
    track_with(&mut t, at(103), "big", &padded(10, 10_000)).unwrap();
    let next = drain(&mut t);
    assert_eq!(next[0].mode, Mode::Keepalive);
    check_modes(&next, in_flight - sends[0].body.len());
    // A failed one frees them too.
    t.reply(sends[1].id, 503, at(104));
    track_with(&mut t, at(105), "big", &padded(11, 10_000)).unwrap();
    assert_eq!(drain(&mut t)[0].mode, Mode::Keepalive);
}

#[test]
fn on_hide_every_queued_and_retry_waiting_event_goes_by_beacon() {
    let mut t = batching(12);
    // Request A fails and waits for its retry.
    for i in 0..10 {
        track(&mut t, at(0), i);
    }
    let a = drain(&mut t).remove(0);
    t.reply(a.id, 500, at(10));
    // Request B is in flight.
    for i in 10..20 {
        track(&mut t, at(20), i);
    }
    let b = drain(&mut t).remove(0);
    assert_eq!(b.mode, Mode::Keepalive);
    // Three more are queued.
    for i in 20..23 {
        track(&mut t, at(30), i);
    }
    assert!(deadline(&t).is_some());

    t.hide(at(30));
    let beacons = drain(&mut t);
    assert!(!beacons.is_empty());
    assert!(
        beacons.iter().all(|s| s.mode == Mode::Beacon),
        "{beacons:?}"
    );
    let mut beaconed: Vec<u64> = beacons
        .iter()
        .flat_map(|s| body_positions(&s.body))
        .collect();
    beaconed.sort_unstable();
    let mut want: Vec<u64> = (0..10).chain(20..23).collect();
    want.sort_unstable();
    assert_eq!(beaconed, want, "B is in flight and is not sent again");
    assert_eq!(deadline(&t), None, "nothing left waiting");
    // Everything unacknowledged is in the outbox; the beacons the browser
    // took left memory, B (in flight) did not.
    let mut stored = stored_ids(&t.outbox_text());
    stored.sort();
    let mut want = body_ids(&a.body);
    want.extend(body_ids(&b.body));
    for s in &beacons {
        want.extend(body_ids(&s.body));
    }
    want.sort();
    want.dedup();
    assert_eq!(stored, want);
    assert_eq!(stored.len(), 23);
    let mut unsettled = unsettled(&t);
    unsettled.sort();
    assert_eq!(unsettled, {
        let mut b = body_ids(&b.body);
        b.sort();
        b
    });
}

#[test]
fn three_hundred_events_of_a_kilobyte_never_make_a_body_over_64_kib_or_100_events() {
    // batchSize 50 (its maximum): 50 events of ~1.5 KB exceed 64 KiB.
    let mut t = start(config(true, 50), 13);
    let mut sends = Vec::new();
    for i in 0..300 {
        track_with(&mut t, at(i as u64), "big", &padded(i, 1_400)).unwrap();
        sends.extend(drain(&mut t));
    }
    assert!(sends.len() > 6, "full batches were split: {}", sends.len());
    check_modes(&sends, 0);
    let mut positions = Vec::new();
    for s in &sends {
        assert!(s.body.len() <= BEACON_BUDGET, "{} bytes", s.body.len());
        let n = body_events(&s.body).len();
        assert!((1..=wire::MAX_BATCH_EVENTS).contains(&n));
        positions.extend(body_positions(&s.body));
    }
    assert_eq!(
        positions,
        (0..300).collect::<Vec<_>>(),
        "in order, once each"
    );
}

/// `n` encoded events, as an earlier page left them in the outbox.
fn outbox_events(t: &mut PageShell, n: usize, pad: usize) -> Vec<Queued> {
    (0..n)
        .map(|i| {
            let ev = t
                .tracker
                .event(at(i as u64), "stored", &padded(i, pad), &PAGE);
            let mut line = String::new();
            ev.write_line(&mut line);
            Queued::whole(&ev.id, &line)
        })
        .collect()
}

#[test]
fn a_large_outbox_resent_at_start_is_split_by_bytes_and_by_event_count() {
    for (pad, seed) in [(1_000, 14), (0, 15)] {
        let mut page1 = batching(seed);
        let events = outbox_events(&mut page1, 300, pad);
        let (text, _) = outbox::merge("", &events);
        // The next page starts with it in localStorage.
        let mut b = Browser::default();
        b.local.set("did_outbox", &text);
        let mut t = b.open(&Tab::new(), T0, &config(true, 10), "");
        let sends = drain(&mut t);
        check_modes(&sends, 0);
        let mut ids = Vec::new();
        for s in &sends {
            assert!(s.body.len() <= BEACON_BUDGET);
            assert!(body_events(&s.body).len() <= wire::MAX_BATCH_EVENTS);
            ids.extend(body_ids(&s.body));
        }
        assert_eq!(ids, queued_ids(&events));
        if pad == 0 {
            let counts: Vec<usize> = sends.iter().map(|s| body_events(&s.body).len()).collect();
            assert_eq!(counts, vec![100, 100, 100]);
        }
    }
}

#[test]
fn three_hundred_retry_waiting_events_go_by_beacon_within_the_limits_on_hide() {
    let mut t = start(config(true, 50), 16);
    for i in 0..300 {
        track_with(&mut t, at(0), "big", &padded(i, 1_000)).unwrap();
    }
    for s in drain(&mut t) {
        t.reply(s.id, 0, at(1));
    }
    assert_eq!(in_flight(&t), 0);
    t.beacons = None;
    t.hide(at(1));
    let beacons = drain(&mut t);
    let mut positions = Vec::new();
    for s in &beacons {
        assert_eq!(s.mode, Mode::Beacon);
        assert!(s.body.len() <= BEACON_BUDGET);
        assert!(body_events(&s.body).len() <= wire::MAX_BATCH_EVENTS);
        positions.extend(body_positions(&s.body));
    }
    positions.sort_unstable();
    assert_eq!(positions, (0..300).collect::<Vec<_>>());
}

// ----------------------------------------------------------------- answers

#[test]
fn a_2xx_reports_as_delivered_only_the_ids_that_were_outboxed() {
    let mut t = unbatched(17);
    // Never outboxed: nothing to remove.
    track(&mut t, at(0), 0);
    let s = drain(&mut t).remove(0);
    assert_eq!(t.reply(s.id, 200, at(1)), Outcome::Delivered(vec![]));

    // Outboxed by a failure, then delivered by the retry.
    track(&mut t, at(2), 1);
    let s = drain(&mut t).remove(0);
    let ids = body_ids(&s.body);
    assert_eq!(retrying_ids(&t.reply(s.id, 500, at(3))), ids);
    let due = deadline(&t).unwrap();
    poll(&mut t, due);
    let retry = drain(&mut t).remove(0);
    assert_eq!(body_ids(&retry.body), ids);
    assert_eq!(t.reply(retry.id, 204, due), Outcome::Delivered(ids));

    // Outboxed by hide() while in flight.
    track(&mut t, at(MIN), 2);
    let s = drain(&mut t).remove(0);
    let hidden = t.hide(at(MIN));
    assert_eq!(hidden, body_ids(&s.body));
    assert_eq!(
        t.reply(s.id, 299, at(MIN + 1)),
        Outcome::Delivered(body_ids(&s.body))
    );
    assert_eq!(pending(&t), 0);
}

#[test]
fn after_a_hide_only_the_requests_it_outboxed_report_delivered_ids() {
    let mut t = batching(18);
    for i in 0..10 {
        track(&mut t, at(0), i);
    }
    let first = drain(&mut t).remove(0);
    let hidden = t.hide(at(0));
    assert_eq!(hidden, body_ids(&first.body));
    for i in 10..20 {
        track(&mut t, at(1), i);
    }
    let second = drain(&mut t).remove(0);
    assert_eq!(
        t.reply(second.id, 200, at(2)),
        Outcome::Delivered(vec![]),
        "tracked after the hide: never outboxed"
    );
    assert_eq!(
        t.reply(first.id, 200, at(2)),
        Outcome::Delivered(body_ids(&first.body))
    );
}

#[test]
fn server_errors_timeouts_rate_limits_and_network_errors_are_retried_after_a_backoff() {
    for (k, status) in [500u16, 502, 503, 408, 429, 0].into_iter().enumerate() {
        let mut t = unbatched(20 + k as u64);
        track(&mut t, at(0), 0);
        let s = drain(&mut t).remove(0);
        let now = at(40);
        let o = t.reply(s.id, status, now);
        assert_eq!(retrying_ids(&o), body_ids(&s.body), "status {status}");
        assert_eq!(pending(&t), 1);
        assert_eq!(in_flight(&t), 0);
        let due = deadline(&t).unwrap();
        let wait = due.since(now).0;
        assert!(
            (500..=1_000).contains(&wait),
            "{status}: first retry after {wait} ms"
        );
        poll(&mut t, Millis(due.0 - 1));
        assert!(drain(&mut t).is_empty(), "{status}: not before the backoff");
        poll(&mut t, due);
        let retry = drain(&mut t);
        assert_eq!(retry.len(), 1);
        assert_eq!(retry[0].body, s.body, "{status}: the same events again");
        assert_eq!(retry[0].mode, Mode::Keepalive);
        assert_ne!(retry[0].id, s.id);
    }
}

#[test]
fn retry_delays_double_from_about_a_second_and_are_capped_at_a_minute() {
    for seed in 0..20 {
        let mut t = unbatched(100 + seed);
        track(&mut t, at(0), 0);
        let mut s = drain(&mut t).remove(0);
        let mut now = at(10);
        let mut delays = Vec::new();
        for attempt in 1..=12u32 {
            let o = t.reply(s.id, 503, now);
            if attempt == 1 {
                assert_eq!(retrying_ids(&o).len(), 1);
            } else {
                assert_eq!(o, Outcome::Retrying(vec![]), "already in the outbox");
            }
            let due = deadline(&t).unwrap();
            let cap = (1_000u64 << (attempt - 1).min(16)).min(60_000);
            let d = due.since(now).0;
            assert!(
                (cap / 2..=cap).contains(&d),
                "seed {seed} attempt {attempt}: {d} ms not in [{}, {cap}]",
                cap / 2
            );
            delays.push(d);
            poll(&mut t, Millis(due.0 - 1));
            assert!(drain(&mut t).is_empty());
            poll(&mut t, due);
            s = drain(&mut t).remove(0);
            now = due.plus(Millis(5));
        }
        // Growing: each delay at least the one two attempts before it,
        // until the cap.
        for w in delays.windows(3).take(5) {
            assert!(w[2] > w[0], "seed {seed}: {delays:?}");
        }
        assert!(delays.iter().all(|&d| d <= 60_000));
        assert!(delays[8..].iter().all(|&d| d >= 30_000));
    }
}

#[test]
fn other_4xx_answers_drop_the_events_for_good() {
    // 400 and 413 drop a request of one event; one of several is split
    // (tests/refused_bodies.rs).
    let cases = [
        (1usize, 400u16),
        (1, 413),
        (10, 401),
        (10, 403),
        (10, 404),
        (10, 422),
    ];
    for (k, (n, status)) in cases.into_iter().enumerate() {
        let mut t = start(config(true, n as u64), 40 + k as u64);
        for i in 0..n {
            track(&mut t, at(0), i);
        }
        let s = drain(&mut t).remove(0);
        assert_eq!(
            t.reply(s.id, status, at(1)),
            Outcome::Refused {
                n,
                status,
                outboxed: vec![]
            }
        );
        assert_eq!(pending(&t), 0);
        assert_eq!(in_flight(&t), 0);
        assert_eq!(deadline(&t), None);
        poll(&mut t, at(10 * MIN));
        assert!(drain(&mut t).is_empty());
        assert!(t.hide(at(10 * MIN)).is_empty(), "not kept for the outbox");
        assert!(drain(&mut t).is_empty());
    }
}

#[test]
fn an_unknown_or_already_answered_request_id_is_unknown() {
    let mut t = unbatched(50);
    assert_eq!(t.reply(12_345, 200, at(0)), Outcome::Unknown);
    track(&mut t, at(0), 0);
    let s = drain(&mut t).remove(0);
    assert_eq!(t.reply(s.id + 1, 500, at(1)), Outcome::Unknown);
    assert_eq!(pending(&t), 1);
    assert_eq!(t.reply(s.id, 200, at(1)), Outcome::Delivered(vec![]));
    assert_eq!(t.reply(s.id, 200, at(2)), Outcome::Unknown);
    assert_eq!(t.reply(s.id, 500, at(2)), Outcome::Unknown);
    assert_eq!(pending(&t), 0);
    assert_eq!(deadline(&t), None);
}

// ------------------------------------------------------------- outbox flow

#[test]
fn hide_hands_over_every_unacknowledged_event_once_even_when_called_twice() {
    let mut t = batching(60);
    // The browser's verdict on the beacons comes later (never, here).
    t.beacons = None;
    let mut to_outbox: Vec<String> = Vec::new();
    // 10 acknowledged.
    for i in 0..10 {
        track(&mut t, at(0), i);
    }
    let acked = drain(&mut t).remove(0);
    t.reply(acked.id, 200, at(1));
    // 10 waiting for a retry (handed over by their Retrying outcome).
    for i in 10..20 {
        track(&mut t, at(2), i);
    }
    let failed = drain(&mut t).remove(0);
    let o = t.reply(failed.id, 503, at(3));
    to_outbox.extend(retrying_ids(&o));
    // 10 in flight, 4 queued.
    for i in 20..34 {
        track(&mut t, at(4), i);
    }
    let flying = drain(&mut t).remove(0);
    assert_eq!(pending(&t), 24);

    let first = t.hide(at(4));
    to_outbox.extend(first);
    let second = t.hide(at(4));
    assert!(second.is_empty(), "a second hide hands over nothing again");
    assert!(drain(&mut t).iter().all(|s| s.mode == Mode::Beacon));

    // The waiting, in-flight and queued events: each exactly once.
    let mut once = to_outbox.clone();
    once.sort();
    once.dedup();
    assert_eq!(once.len(), to_outbox.len(), "handed over twice");
    assert_eq!(to_outbox.len(), 24);
    let acked_ids: HashSet<String> = body_ids(&acked.body).into_iter().collect();
    assert!(to_outbox.iter().all(|id| !acked_ids.contains(id)));
    let mut unsettled = unsettled(&t);
    unsettled.sort();
    assert_eq!(once, unsettled);
    assert!(body_ids(&flying.body).iter().all(|id| once.contains(id)));
    let mut stored = stored_ids(&t.outbox_text());
    stored.sort();
    assert_eq!(stored, once);

    // An event tracked after the first hide is handed over by the next.
    track(&mut t, at(5), 99);
    let third = t.hide(at(5));
    assert_eq!(third.len(), 1);
    assert!(t.hide(at(5)).is_empty());
}

#[test]
fn a_beacon_the_browser_took_is_forgotten_in_memory_but_stays_in_the_outbox() {
    let mut t = batching(61);
    t.beacons = None;
    for i in 0..7 {
        track(&mut t, at(0), i);
    }
    t.hide(at(0));
    let beacons = drain(&mut t);
    assert_eq!(beacons.len(), 1);
    assert_eq!(beacons[0].mode, Mode::Beacon);
    assert_eq!(in_flight(&t), 1);
    t.beacon(beacons[0].id, true, at(0));
    assert_eq!(in_flight(&t), 0);
    assert_eq!(pending(&t), 0);
    assert!(unsettled(&t).is_empty());
    assert_eq!(t.reply(beacons[0].id, 200, at(1)), Outcome::Unknown);
    assert_eq!(stored_ids(&t.outbox_text()), body_ids(&beacons[0].body));
    // Forgetting an unknown beacon changes nothing.
    track(&mut t, at(2), 7);
    t.beacon(9_999, true, at(2));
    assert_eq!(pending(&t), 1);
}

#[test]
fn a_refused_beacon_falls_back_and_a_later_failure_retries_it() {
    let mut t = batching(62);
    t.beacons = Some(false);
    for i in 0..3 {
        track(&mut t, at(0), i);
    }
    t.hide(at(0));
    let sent = drain(&mut t);
    let (b, fallback) = (&sent[0], &sent[1]);
    assert_eq!(b.mode, Mode::Beacon);
    // sendBeacon refused: the same body as a keepalive fetch, same id.
    assert_eq!(
        (fallback.id, fallback.mode, &fallback.body),
        (b.id, Mode::Keepalive, &b.body)
    );
    // The fetch fallback failed: status 0.
    let o = t.reply(b.id, 0, at(1));
    assert_eq!(o, Outcome::Retrying(vec![]), "already in the outbox");
    let due = deadline(&t).unwrap();
    poll(&mut t, due);
    let retry = drain(&mut t).remove(0);
    assert_eq!(retry.body, b.body);
    let o = t.reply(retry.id, 200, due);
    assert_eq!(o, Outcome::Delivered(body_ids(&b.body)));
    assert_eq!(t.outbox_text(), "");
}

#[test]
fn the_outbox_resent_on_the_next_page_goes_at_once_and_a_2xx_empties_it() {
    // Page 1: three queued events, then the page is hidden for good.
    let mut b = Browser::default();
    let mut page1 = b.open(&Tab::in_session(T0), T0, &config(true, 10), "");
    for i in 0..3 {
        track(&mut page1, at(0), i);
    }
    let hidden = page1.hide(at(0));
    let beacon = drain(&mut page1).remove(0);
    assert_eq!(page1.outbox_ids(), hidden);
    assert_eq!(hidden, body_ids(&beacon.body));

    // Page 2: the outbox is resent at start-up.
    let mut page2 = b.open(&Tab::new(), at(MIN), &config(true, 10), "");
    let sends = drain(&mut page2);
    assert_eq!(sends.len(), 1, "sent at once, without waiting for a timer");
    assert_eq!(sends[0].mode, Mode::Keepalive);
    assert_eq!(
        body_events(&sends[0].body),
        body_events(&beacon.body),
        "the same events"
    );
    // The outbox keeps each event whole, and sends it so: nothing shared.
    assert!(sent_shared(&sends[0].body).is_empty());
    assert!(!sent_shared(&beacon.body).is_empty());
    // A failure keeps them (already stored: nothing new to add) ...
    let o = page2.reply(sends[0].id, 503, at(MIN));
    assert_eq!(o, Outcome::Retrying(vec![]));
    let due = page2.tracker.delivery().deadline().unwrap();
    page2.tick(due);
    let retry = drain(&mut page2).remove(0);
    // ... and the 2xx names them all, so the outbox is emptied.
    let o = page2.reply(retry.id, 200, due);
    assert_eq!(o, Outcome::Delivered(hidden));
    assert_eq!(page2.outbox_text(), "");
    assert!(!b.local.contains("did_outbox"));
    assert_eq!(page2.tracker.delivery().pending(), 0);
}

#[test]
fn resending_an_empty_outbox_sends_nothing() {
    let mut b = Browser::default();
    b.local.set("did_outbox", "garbage\n");
    let mut t = b.open(&Tab::new(), T0, &config(true, 10), "");
    assert!(drain(&mut t).is_empty());
    assert_eq!(pending(&t), 0);
}

#[test]
fn a_refused_event_that_was_outboxed_leaves_the_stored_outbox() {
    let mut t = unbatched(66);
    track(&mut t, at(0), 0);
    let s = drain(&mut t).remove(0);
    let id = body_ids(&s.body).remove(0);
    // 503: retried, and kept in the outbox meanwhile.
    t.reply(s.id, 503, at(1));
    assert_eq!(stored_ids(&t.outbox_text()), vec![id.clone()]);
    let due = deadline(&t).unwrap();
    poll(&mut t, due);
    let retry = drain(&mut t).remove(0);
    // 400: refused for good; the outcome names the outboxed id to remove.
    let o = t.reply(retry.id, 400, due);
    assert!(matches!(
        o,
        Outcome::Refused {
            n: 1,
            status: 400,
            ..
        }
    ));
    assert_eq!(pending(&t), 0);
    assert!(
        !stored_ids(&t.outbox_text()).contains(&id),
        "a refused event is dropped, yet the outbox still holds it: {}",
        t.outbox_text()
    );
    assert!(t.warnings.iter().any(|w| w.contains("refused a batch")));
}

// -------------------------------------------------------- property test

#[derive(Clone, Debug)]
enum Op {
    Track,
    /// Move the clock, then poll (the shell's timer).
    Advance(u64),
    /// Take the next request to make.
    TakeSend,
    /// Answer a taken request (index into the unsettled taken ones).
    Answer(usize, u16),
    Hide,
    /// The browser took a beacon (index into the taken beacons).
    BeaconQueued(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::Track),
        2 => prop_oneof![0u64..200, 500u64..70_000].prop_map(Op::Advance),
        3 => Just(Op::TakeSend),
        3 => (any::<usize>(), prop::sample::select(vec![200u16, 500, 0, 400]))
            .prop_map(|(i, s)| Op::Answer(i, s)),
        1 => Just(Op::Hide),
        2 => any::<usize>().prop_map(Op::BeaconQueued),
    ]
}

/// A fake page (the tracker and its shell, whose localStorage holds the
/// outbox), the clock, and what happened to every event.
struct World {
    t: PageShell,
    now: Millis,
    accepted: Vec<String>,
    acked: HashSet<String>,
    refused: HashSet<String>,
    beaconed: HashSet<String>,
    /// Requests taken by the shell and neither answered nor beacon-queued.
    taken: Vec<(u32, Mode, Vec<String>)>,
}

impl World {
    fn step(&mut self, op: &Op) -> Result<(), TestCaseError> {
        match op {
            Op::Track => {
                let before: HashSet<String> = unsettled(&self.t).into_iter().collect();
                let i = self.accepted.len();
                track_with(&mut self.t, self.now, "step", &props(i)).unwrap();
                let new: Vec<String> = unsettled(&self.t)
                    .into_iter()
                    .filter(|id| !before.contains(id))
                    .collect();
                prop_assert_eq!(new.len(), 1, "one new unsettled event");
                prop_assert!(!self.accepted.contains(&new[0]));
                self.accepted.extend(new);
            }
            Op::Advance(ms) => {
                self.now = self.now.plus(Millis(*ms));
                poll(&mut self.t, self.now);
            }
            Op::TakeSend => {
                if !self.t.requests.is_empty() {
                    let s = self.t.requests.remove(0);
                    prop_assert!(s.body.len() <= BEACON_BUDGET);
                    let ids = body_ids(&s.body);
                    prop_assert!(!ids.is_empty() && ids.len() <= wire::MAX_BATCH_EVENTS);
                    self.taken.push((s.id, s.mode, ids));
                }
            }
            Op::Answer(i, status) => {
                if self.taken.is_empty() {
                    return Ok(());
                }
                let (id, _, ids) = self.taken.remove(i % self.taken.len());
                let o = self.t.reply(id, *status, self.now);
                match (&o, status) {
                    (Outcome::Delivered(d), 200) => {
                        prop_assert!(d.iter().all(|x| ids.contains(x)));
                        self.acked.extend(ids);
                    }
                    (Outcome::Retrying(r), 500 | 0) => {
                        prop_assert!(r.iter().all(|q| ids.contains(&q.id)));
                    }
                    (
                        Outcome::Refused {
                            n: 1, status: 400, ..
                        },
                        400,
                    ) => {
                        prop_assert_eq!(ids.len(), 1);
                        self.refused.extend(ids);
                    }
                    // Several events: each half is a new request, so its
                    // events stay unsettled.
                    (Outcome::Split, 400) => prop_assert!(ids.len() > 1),
                    _ => prop_assert!(false, "status {} gave {:?}", status, o),
                }
            }
            Op::Hide => {
                let ids = self.t.hide(self.now);
                let unique: HashSet<&String> = ids.iter().collect();
                prop_assert_eq!(unique.len(), ids.len());
                // Whatever the page may lose now is stored.
                let stored = self.t.outbox_ids();
                for id in unsettled(&self.t) {
                    prop_assert!(stored.contains(&id), "{} not kept on hide", id);
                }
            }
            Op::BeaconQueued(i) => {
                let beacons: Vec<usize> = (0..self.taken.len())
                    .filter(|&k| self.taken[k].1 == Mode::Beacon)
                    .collect();
                if beacons.is_empty() {
                    return Ok(());
                }
                let (id, _, ids) = self.taken.remove(beacons[i % beacons.len()]);
                self.t.beacon(id, true, self.now);
                self.beaconed.extend(ids);
            }
        }
        Ok(())
    }

    fn check(&mut self) -> Result<(), TestCaseError> {
        let unsettled = unsettled(&self.t);
        let unsettled_set: HashSet<&String> = unsettled.iter().collect();
        prop_assert_eq!(unsettled_set.len(), unsettled.len(), "unsettled twice");
        prop_assert_eq!(pending(&self.t), unsettled.len());
        let text = self.t.outbox_text();
        let stored = stored_ids(&text);
        let stored_set: HashSet<&String> = stored.iter().collect();
        prop_assert_eq!(stored_set.len(), stored.len(), "an id twice in the outbox");
        prop_assert_eq!(outbox::parse(&text).len(), stored.len());
        for id in &self.accepted {
            let only_outboxed = self.beaconed.contains(id)
                && stored_set.contains(id)
                && !unsettled_set.contains(id);
            let places = [
                self.acked.contains(id),
                self.refused.contains(id),
                unsettled_set.contains(id),
                only_outboxed,
            ];
            prop_assert_eq!(
                places.iter().filter(|&&p| p).count(),
                1,
                "event {} in {:?} (acked, refused, unsettled, outbox after beacon)",
                id,
                places
            );
            prop_assert!(
                !(self.beaconed.contains(id) && unsettled_set.contains(id)),
                "event {} still in memory after its beacon was taken",
                id
            );
            prop_assert!(
                !(self.acked.contains(id) && stored_set.contains(id)),
                "event {} acknowledged and still in the outbox",
                id
            );
        }
        for id in unsettled.iter().chain(&stored) {
            prop_assert!(self.accepted.contains(id), "unknown event {}", id);
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn every_event_is_settled_once_and_the_outbox_never_holds_acknowledged_or_repeated_ids(
        ops in prop::collection::vec(op(), 1..40),
        batching in any::<bool>(),
        size in 1u64..5,
        seed in any::<u64>(),
    ) {
        let cfg = Config {
            batch_timeout: Millis(1_000),
            ..config(batching, size)
        };
        let mut t = start(cfg, seed);
        // The test decides when the browser takes a beacon.
        t.beacons = None;
        let mut w = World {
            t,
            now: T0,
            accepted: Vec::new(),
            acked: HashSet::new(),
            refused: HashSet::new(),
            beaconed: HashSet::new(),
            taken: Vec::new(),
        };
        for op in &ops {
            w.step(op)?;
            w.check()?;
        }
    }
}
