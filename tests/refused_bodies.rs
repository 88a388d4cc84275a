#![cfg(not(target_arch = "wasm32"))]
//! A body the collector refuses as a whole (README "Delivery"): a request
//! of several events answered 400 or 413 goes again in two halves, at
//! once, until only the event that caused it is dropped; other 4xx drop
//! the request at once. The bad event here is what a tampered outbox
//! holds: a line that passes the outbox's check (`{"event_id":"` + UUID +
//! `"` ... `}`) but is not JSON, which makes the whole resent body invalid.

mod support;

use proptest::prelude::*;
use sessionmark::config::Config;
use sessionmark::delivery::Outcome;
use sessionmark::ids;
use sessionmark::rand::Rng;
use sessionmark::time::Millis;
use sessionmark::tracker::Page;
use std::collections::HashMap;
use support::{sent_events, Browser, PageShell, Tab, T0};

const PAGE: Page<'static> = Page {
    path: "/pricing",
    title: "Pricing",
    referrer: "",
    search: "",
    hash: "",
    href: "",
};

const REFUSED: &str = "the collector refused a batch; dropped";

fn config() -> Config {
    Config {
        client_id: "demo-site".into(),
        batch_size: 50,
        ..Config::default()
    }
}

/// The outbox an earlier page left: `n` events tracked while the
/// collector could not be reached, kept when the page was hidden. One
/// line per event, oldest first.
fn earlier_outbox(b: &mut Browser, n: usize) -> Vec<String> {
    let mut page = b.open(&Tab::in_session(T0), T0, &config(), "");
    // The beacons' fate is never known: everything stays in the outbox.
    for i in 0..n {
        let props = format!("{{\"i\":{i}}}");
        page.at(T0, |t| t.handle_track(T0, "stored", &props, &PAGE))
            .unwrap();
    }
    page.hide(T0);
    let text = page.outbox_text();
    let lines: Vec<String> = text.lines().map(String::from).collect();
    assert_eq!(lines.len(), n, "the earlier page kept all {n}");
    lines
}

/// A line that passes the outbox's check but is not JSON, with an id of
/// its own.
fn tampered_line(seed: u64) -> (String, String) {
    let id = ids::uuid_v7(T0, &mut Rng::new(seed, 3));
    (id.clone(), format!("{{\"event_id\":\"{id}\",garbage}}"))
}

/// The ids of a request body, found by their prefix (the body may not be
/// JSON).
fn ids_in(body: &str) -> Vec<String> {
    const KEY: &str = "{\"event_id\":\"";
    body.match_indices(KEY)
        .map(|(at, _)| body[at + KEY.len()..at + KEY.len() + 36].to_owned())
        .collect()
}

/// The next page load with `lines` as its stored outbox.
fn load_with(b: &mut Browser, lines: &[String]) -> PageShell {
    b.local.set("did_outbox", &(lines.join("\n") + "\n"));
    b.open(&Tab::new(), T0.plus(Millis(60_000)), &config(), "")
}

/// What a collector did with the requests of one page.
#[derive(Default)]
struct Collector {
    /// How many times each id was stored (a real collector stores it once,
    /// but counting shows whether the tracker sent it twice).
    stored: HashMap<String, usize>,
    requests: usize,
    deepest: usize,
}

impl Collector {
    /// Answers every request of `page` (and the requests those answers
    /// make) until none is left: 200 for a body that is JSON, `refusal`
    /// for one that is not, as the collector does. `pick` chooses which
    /// unanswered request is answered next. A request made by the answer
    /// to one of depth d has depth d + 1; the first ones have depth 1.
    fn serve(&mut self, page: &mut PageShell, refusal: u16, mut pick: impl FnMut(usize) -> usize) {
        let now = T0.plus(Millis(60_000));
        let mut open: Vec<(usize, support::Request)> = page
            .take_requests(now)
            .into_iter()
            .map(|r| (1, r))
            .collect();
        while !open.is_empty() {
            let (depth, r) = open.remove(pick(open.len()) % open.len());
            self.requests += 1;
            self.deepest = self.deepest.max(depth);
            let ids = ids_in(&r.body);
            assert!(!ids.is_empty(), "an empty request: {}", r.body);
            let status = if serde_json::from_str::<serde_json::Value>(&r.body).is_ok() {
                for e in sent_events(&r.body) {
                    let id = e["event_id"].as_str().unwrap().to_owned();
                    *self.stored.entry(id).or_default() += 1;
                }
                200
            } else {
                refusal
            };
            let outcome = page.reply(r.id, status, now);
            let made = page.take_requests(now);
            match outcome {
                Outcome::Split => {
                    assert!(ids.len() > 1, "a request of one event split");
                    let mut halves: Vec<String> =
                        made.iter().flat_map(|m| ids_in(&m.body)).collect();
                    let mut whole = ids.clone();
                    halves.sort();
                    whole.sort();
                    assert_eq!(
                        halves, whole,
                        "the halves hold the events of the refused request, once each"
                    );
                    assert_eq!(made.len(), 2, "two halves");
                }
                _ => assert!(made.is_empty(), "status {status} made requests: {made:?}"),
            }
            open.extend(made.into_iter().map(|m| (depth + 1, m)));
        }
    }
}

fn ceil_log2(n: usize) -> usize {
    (usize::BITS - (n.max(1) - 1).leading_zeros()) as usize
}

/// Nine events of an earlier page and a tampered line among them, as the
/// next page load finds them; the tampered line's id.
fn nine_and_a_tampered_line(b: &mut Browser, seed: u64) -> (Vec<String>, String) {
    let mut lines = earlier_outbox(b, 9);
    let (bad, line) = tampered_line(seed);
    lines.insert(6, line);
    (lines, bad)
}

#[test]
fn a_refused_body_of_several_events_goes_again_at_once_in_two_halves_kept_in_the_outbox() {
    for status in [400u16, 413] {
        let mut b = Browser::default();
        let (lines, _) = nine_and_a_tampered_line(&mut b, 1);
        let mut page = load_with(&mut b, &lines);
        let now = T0.plus(Millis(60_000));
        let first = page.take_requests(now);
        assert_eq!(first.len(), 1, "the outbox goes as one request");
        assert_eq!(page.reply(first[0].id, status, now), Outcome::Split);
        let halves = page.take_requests(now);
        let sizes: Vec<usize> = halves.iter().map(|h| ids_in(&h.body).len()).collect();
        assert_eq!(
            sizes,
            [5, 5],
            "two halves, sent without waiting for a timer"
        );
        assert_eq!(page.tracker.delivery().deadline(), None, "not a retry");
        assert_eq!(page.outbox_ids().len(), 10, "every line kept meanwhile");
        assert!(page.warnings.is_empty(), "no warning for a split");
    }
}

#[test]
fn one_tampered_line_among_ten_costs_only_itself_for_a_400_and_a_413() {
    for (k, status) in [400u16, 413].into_iter().enumerate() {
        let mut b = Browser::default();
        let (lines, bad) = nine_and_a_tampered_line(&mut b, k as u64);
        let mut page = load_with(&mut b, &lines);
        let mut c = Collector::default();
        c.serve(&mut page, status, |_| 0);
        let good: Vec<String> = lines
            .iter()
            .map(|l| ids_in(l).remove(0))
            .filter(|id| *id != bad)
            .collect();
        assert_eq!(good.len(), 9);
        for id in &good {
            assert_eq!(c.stored.get(id), Some(&1), "good event {id} stored once");
        }
        assert_eq!(c.stored.len(), 9, "only the good events stored");
        assert_eq!(
            page.warnings,
            [REFUSED],
            "one warning, for the dropped line"
        );
        assert!(c.deepest <= ceil_log2(10) + 1, "{} deep", c.deepest);
        assert_eq!(
            page.outbox_text(),
            "",
            "delivered and dropped lines leave the outbox"
        );
        assert_eq!(page.tracker.delivery().pending(), 0);
    }
}

#[test]
fn other_4xx_drop_a_request_with_a_tampered_line_at_once() {
    for status in [401u16, 403, 404, 422] {
        let mut b = Browser::default();
        let (lines, _) = nine_and_a_tampered_line(&mut b, 9);
        let mut page = load_with(&mut b, &lines);
        let mut c = Collector::default();
        c.serve(&mut page, status, |_| 0);
        assert_eq!(c.requests, 1, "status {status}: one request, no split");
        assert!(c.stored.is_empty());
        assert_eq!(page.warnings, [REFUSED]);
        assert_eq!(page.outbox_text(), "");
        assert_eq!(page.tracker.delivery().pending(), 0);
    }
}

#[test]
fn a_refused_half_that_then_fails_is_retried_from_the_first_backoff() {
    let mut b = Browser::default();
    let mut lines = earlier_outbox(&mut b, 3);
    lines.push(tampered_line(11).1);
    let mut page = load_with(&mut b, &lines);
    let now = T0.plus(Millis(60_000));
    let first = page.take_requests(now).remove(0);
    assert_eq!(page.reply(first.id, 400, now), Outcome::Split);
    let half = page.take_requests(now).remove(0);
    assert!(matches!(
        page.reply(half.id, 503, now),
        Outcome::Retrying(_)
    ));
    // The first retry waits 0.5 to 1 s: the split was not a failed attempt.
    let due = page.tracker.delivery().deadline().unwrap();
    assert!(
        (500..=1_000).contains(&due.since(now).0),
        "{:?}",
        due.since(now)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn wherever_tampered_lines_stand_every_good_event_is_stored_once_and_each_bad_one_warned(
        good in 1usize..120,
        bad_at in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
        status in prop::sample::select(vec![400u16, 413]),
        order in prop::collection::vec(any::<usize>(), 1..64),
    ) {
        let mut b = Browser::default();
        let mut lines = earlier_outbox(&mut b, good);
        let mut bad = Vec::new();
        for (k, at) in bad_at.iter().enumerate() {
            let (id, line) = tampered_line(100 + k as u64);
            lines.insert(at.index(lines.len() + 1), line);
            bad.push(id);
        }
        let n = lines.len();
        let good_ids: Vec<String> = lines
            .iter()
            .map(|l| ids_in(l).remove(0))
            .filter(|id| !bad.contains(id))
            .collect();
        let mut page = load_with(&mut b, &lines);
        let mut c = Collector::default();
        let mut turn = 0;
        c.serve(&mut page, status, |_| {
            turn += 1;
            order[turn % order.len()]
        });
        for id in &good_ids {
            prop_assert_eq!(c.stored.get(id), Some(&1), "good event {} stored once", id);
        }
        prop_assert_eq!(c.stored.len(), good_ids.len());
        prop_assert_eq!(page.warnings.len(), bad.len(), "one warning per dropped line");
        prop_assert!(c.deepest <= ceil_log2(n) + 1, "{} deep for {} events", c.deepest, n);
        prop_assert_eq!(page.outbox_text(), "");
        prop_assert_eq!(page.tracker.delivery().pending(), 0);
    }
}
