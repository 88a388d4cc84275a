//! The send queue: when a batch is due, and how a batch is cut into request
//! bodies that fit a byte budget.
//!
//! README "Delivery": a batch goes out when it holds
//! `batchSize` events or `batchTimeout` ms after its first event, whichever
//! comes first; without batching each event goes out at once. Clamping the
//! options to their ranges is `config`'s job; this module obeys the rule it is
//! given.

use crate::time::Millis;
use crate::wire;

use alloc::vec::Vec;

/// The browser's shared in-flight keepalive budget (`sendBeacon` and `fetch`
/// with `keepalive`), in bytes of request bodies. It is shared by every
/// keepalive request of the page still in flight, so a caller that already has
/// bytes in flight should split with what is left of it.
pub const BEACON_BUDGET: usize = 64 * 1024;

/// One event ready to send: its id and its encoding (`wire::Event::encode`,
/// or kept whole: read back from the outbox).
pub type Queued = wire::Encoded;

/// When a batch is due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchRule {
    /// `enableBatching`; when false every queued event is due at once.
    pub enabled: bool,
    /// `batchSize`, expected in 1..=50. A size of 0 is treated as 1 (a batch
    /// is never empty).
    pub size: usize,
    /// `batchTimeout`, expected in 100..=30000 ms, counted from the first
    /// event of the batch.
    pub timeout: Millis,
}

/// Holds events until the rule says they are due. Oldest first; never
/// reorders, drops or duplicates an event.
#[derive(Clone, Debug)]
pub struct Batcher {
    rule: BatchRule,
    queue: Vec<Queued>,
    /// When the timeout clock started: the first push into an empty queue, or
    /// the last take that left events behind. `None` exactly when empty.
    first_at: Option<Millis>,
}

impl Batcher {
    pub const fn new(rule: BatchRule) -> Self {
        Batcher {
            rule,
            queue: Vec::new(),
            first_at: None,
        }
    }

    /// Replaces the rule (options changed). Queued events and the timeout
    /// clock are kept; the new rule applies from the next `take_due`.
    pub fn set_rule(&mut self, rule: BatchRule) {
        self.rule = rule;
    }

    pub fn rule(&self) -> BatchRule {
        self.rule
    }

    /// Queues an event. The first push into an empty queue starts the timeout
    /// clock at `now`.
    pub fn push(&mut self, ev: Queued, now: Millis) {
        if self.queue.is_empty() {
            self.first_at = Some(now);
        }
        self.queue.push(ev);
    }

    fn size(&self) -> usize {
        self.rule.size.max(1)
    }

    /// The next batch that is due at `now`, oldest events first, or `None`.
    ///
    /// - batching disabled: everything queued;
    /// - the queue holds at least `size` events: exactly the `size` oldest
    ///   (call again: more full batches may be due);
    /// - `now >= first_at + timeout`: everything queued, at most `size`.
    ///
    /// After a take that leaves events behind, the timeout clock restarts at
    /// `now` for them.
    pub fn take_due(&mut self, now: Millis) -> Option<Vec<Queued>> {
        let first_at = self.first_at?;
        let n = if !self.rule.enabled {
            self.queue.len()
        } else if self.queue.len() >= self.size() {
            self.size()
        } else if now >= first_at.plus(self.rule.timeout) {
            self.queue.len().min(self.size())
        } else {
            return None;
        };
        Some(self.take(n, now))
    }

    fn take(&mut self, n: usize, now: Millis) -> Vec<Queued> {
        // Not `drain(..n)`: its range check is a panic path with formatting.
        // A loop, not `take(n).collect()`: less generic code (README "Size").
        let mut out = Vec::new();
        for ev in core::mem::take(&mut self.queue) {
            if out.len() < n {
                out.push(ev);
            } else {
                self.queue.push(ev);
            }
        }
        self.first_at = if self.queue.is_empty() {
            None
        } else {
            Some(now)
        };
        out
    }

    /// When `take_due` next returns a batch by the timeout rule: `first_at +
    /// timeout`, or `first_at` when batching is disabled (due at once).
    /// `None` when empty. A deadline at or before `now` means due now; a full
    /// batch is due before its deadline.
    pub fn deadline(&self) -> Option<Millis> {
        let first_at = self.first_at?;
        Some(if self.rule.enabled {
            first_at.plus(self.rule.timeout)
        } else {
            first_at
        })
    }

    /// Everything queued, oldest first, whatever the rule (page hide,
    /// `flush()`). Leaves the queue empty and the clock stopped.
    pub fn take_all(&mut self) -> Vec<Queued> {
        self.first_at = None;
        core::mem::take(&mut self.queue)
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

/// Splits events, in order, into request bodies, handing each chunk to
/// `each` as it closes: each chunk's body (`wire::batch_body`, its length
/// predicted by `wire::batch_body_len`) is at most `budget` bytes and each
/// chunk holds at most `most` events (`wire::MAX_BATCH_EVENTS`, the
/// collector's bound, or fewer; 0 counts as 1). Never reorders, drops or
/// duplicates; never hands over an empty chunk (no events, no chunks).
///
/// An event that alone does not fit the budget goes alone in its own chunk,
/// which is then over budget: the caller sends it another way (a plain
/// `fetch` without `keepalive`) or keeps it in the outbox.
///
/// Chunks handed over, not returned as a list: a list of lists walked by
/// a consuming loop is code of its own (README "Size").
pub fn split(events: Vec<Queued>, budget: usize, most: usize, mut each: impl FnMut(Vec<Queued>)) {
    let mut chunk: Vec<Queued> = Vec::new();
    for ev in events {
        chunk.push(ev);
        // Grown past a bound with more than one event: the event just
        // added begins the next chunk.
        if chunk.len() > 1 && (chunk.len() > most || wire::batch_body_len(&chunk) > budget) {
            if let Some(last) = chunk.pop() {
                each(core::mem::take(&mut chunk));
                chunk.push(last);
            }
        }
    }
    if !chunk.is_empty() {
        each(chunk);
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
pub(crate) mod test_events {
    use super::Queued;
    use crate::ids;
    use crate::rand::Rng;
    use crate::time::Millis;
    use crate::wire::{Event, Props};

    /// An event with a fresh UUIDv7 and a `properties` object padded with
    /// `pad` bytes, as the tracker queues it: one session and visitor, on
    /// one of three pages (by `now`), with a user id when `now` is even.
    pub(crate) fn event(rng: &mut Rng, now: u64, pad: usize) -> Queued {
        let paths = ["/pricing", "/", "/docs/getting-started"];
        Event::encode(&Event {
            event_id: ids::uuid_v7(Millis(now), rng),
            name: "click \"cta\"".into(),
            session_id: "sess_018e0e5c-5a00-7abc-8def-0123456789ab".into(),
            anonymous_id: "anon_7c9e6679-7425-40de-944b-e07fc1f90ae7".into(),
            timestamp: now,
            path: paths
                .get(usize::try_from(now % 3).unwrap())
                .unwrap()
                .to_string(),
            title: "Pricing – ünï".into(),
            referrer: "https://example.com/".into(),
            client_id: "demo".into(),
            page_count: Some(2),
            properties: Props(format!("{{\"pad\":\"{}\"}}", "x".repeat(pad))),
            user_id: now.is_multiple_of(2).then(|| "user-1".into()),
            ..Event::default()
        })
    }

    /// An event's outbox line (the whole event, one line).
    pub(crate) fn line(q: &Queued) -> String {
        let mut out = String::new();
        q.write_line(&mut out);
        out
    }

    /// The event as read back from an outbox line: whole.
    pub(crate) fn whole(q: &Queued) -> Queued {
        Queued::whole(&q.id, &line(q))
    }

    /// `n` events of one page with distinct ids, timestamps 6 ms apart.
    pub(crate) fn events(seed: u64, n: usize, pad: usize) -> Vec<Queued> {
        let mut rng = Rng::new(seed, 99);
        (0..n)
            .map(|i| event(&mut rng, 1_709_318_400_000 + 6 * i as u64, pad))
            .collect()
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::test_events::events;
    use super::*;
    use proptest::prelude::*;

    fn rule(enabled: bool, size: usize, timeout: u64) -> BatchRule {
        BatchRule {
            enabled,
            size,
            timeout: Millis(timeout),
        }
    }

    /// The chunks [`split`] hands over, in order.
    fn split_all(events: Vec<Queued>, budget: usize, most: usize) -> Vec<Vec<Queued>> {
        let mut out = Vec::new();
        split(events, budget, most, |chunk| out.push(chunk));
        out
    }

    fn ids(v: &[Queued]) -> Vec<&str> {
        v.iter().map(|q| q.id.as_str()).collect()
    }

    #[test]
    fn nine_events_wait_and_the_tenth_sends_all_ten() {
        let mut b = Batcher::new(rule(true, 10, 5000));
        let evs = events(1, 10, 0);
        for (i, e) in evs.iter().take(9).enumerate() {
            b.push(e.clone(), Millis(1000 + i as u64));
            assert_eq!(b.take_due(Millis(1000 + i as u64)), None);
        }
        assert_eq!(b.len(), 9);
        b.push(evs[9].clone(), Millis(1009));
        assert_eq!(b.take_due(Millis(1009)), Some(evs.clone()));
        assert!(b.is_empty());
        assert_eq!(b.deadline(), None);
        assert_eq!(b.take_due(Millis(99_999)), None);
    }

    #[test]
    fn five_events_go_exactly_at_first_at_plus_timeout_and_not_a_millisecond_before() {
        let mut b = Batcher::new(rule(true, 10, 5000));
        let evs = events(2, 5, 0);
        for (i, e) in evs.iter().enumerate() {
            b.push(e.clone(), Millis(1000 + 100 * i as u64));
        }
        // The clock started at the first push, not the last.
        assert_eq!(b.deadline(), Some(Millis(6000)));
        assert_eq!(b.take_due(Millis(5999)), None);
        assert_eq!(b.len(), 5);
        assert_eq!(b.take_due(Millis(6000)), Some(evs));
        assert!(b.is_empty());
        assert_eq!(b.deadline(), None);
    }

    #[test]
    fn a_late_timer_still_sends_everything_that_waited() {
        let mut b = Batcher::new(rule(true, 10, 5000));
        let evs = events(3, 3, 0);
        for e in &evs {
            b.push(e.clone(), Millis(0));
        }
        assert_eq!(b.take_due(Millis(60_000)), Some(evs));
    }

    #[test]
    fn disabled_batching_sends_each_event_at_once() {
        let mut b = Batcher::new(rule(false, 10, 5000));
        for (i, e) in events(4, 5, 0).into_iter().enumerate() {
            let now = Millis(1000 + i as u64);
            b.push(e.clone(), now);
            assert_eq!(b.deadline(), Some(now));
            assert_eq!(b.take_due(now), Some(vec![e]));
            assert!(b.is_empty());
        }
    }

    #[test]
    fn more_than_a_full_batch_comes_out_in_full_batches_oldest_first() {
        let mut b = Batcher::new(rule(true, 10, 5000));
        let evs = events(5, 25, 0);
        for e in &evs {
            b.push(e.clone(), Millis(1000));
        }
        assert_eq!(b.take_due(Millis(2000)), Some(evs[..10].to_vec()));
        assert_eq!(b.take_due(Millis(2000)), Some(evs[10..20].to_vec()));
        assert_eq!(b.take_due(Millis(2000)), None);
        // The clock restarted at the take for the five left behind.
        assert_eq!(b.deadline(), Some(Millis(7000)));
        assert_eq!(b.take_due(Millis(6999)), None);
        assert_eq!(b.take_due(Millis(7000)), Some(evs[20..].to_vec()));
        assert_eq!(b.take_due(Millis(7000)), None);
    }

    #[test]
    fn a_smaller_size_set_later_applies_to_what_is_already_queued() {
        let mut b = Batcher::new(rule(true, 10, 5000));
        let evs = events(6, 4, 0);
        for e in &evs {
            b.push(e.clone(), Millis(0));
        }
        assert_eq!(b.take_due(Millis(1)), None);
        b.set_rule(rule(true, 3, 5000));
        assert_eq!(b.rule().size, 3);
        assert_eq!(b.take_due(Millis(1)), Some(evs[..3].to_vec()));
        assert_eq!(b.take_due(Millis(1)), None);
        b.set_rule(rule(false, 3, 5000));
        assert_eq!(b.take_due(Millis(1)), Some(evs[3..].to_vec()));
    }

    #[test]
    fn a_size_of_zero_behaves_as_one_and_never_yields_an_empty_batch() {
        let mut b = Batcher::new(rule(true, 0, 5000));
        let evs = events(7, 2, 0);
        for e in &evs {
            b.push(e.clone(), Millis(0));
        }
        assert_eq!(b.take_due(Millis(0)), Some(evs[..1].to_vec()));
        assert_eq!(b.take_due(Millis(0)), Some(evs[1..].to_vec()));
        assert_eq!(b.take_due(Millis(0)), None);
    }

    #[test]
    fn take_all_empties_the_queue_whatever_the_rule() {
        let mut b = Batcher::new(rule(true, 10, 5000));
        let evs = events(8, 7, 0);
        for e in &evs {
            b.push(e.clone(), Millis(0));
        }
        assert_eq!(b.take_all(), evs);
        assert!(b.is_empty());
        assert_eq!(b.deadline(), None);
        assert_eq!(b.take_due(Millis(1_000_000)), None);
        assert!(b.take_all().is_empty());
    }

    #[test]
    fn a_push_after_emptying_starts_a_new_clock() {
        let mut b = Batcher::new(rule(true, 10, 5000));
        let evs = events(9, 2, 0);
        b.push(evs[0].clone(), Millis(0));
        assert_eq!(b.take_due(Millis(5000)).map(|v| v.len()), Some(1));
        b.push(evs[1].clone(), Millis(8000));
        assert_eq!(b.deadline(), Some(Millis(13_000)));
        assert_eq!(b.take_due(Millis(12_999)), None);
    }

    #[test]
    fn split_of_nothing_is_no_chunks() {
        assert!(split_all(Vec::new(), BEACON_BUDGET, wire::MAX_BATCH_EVENTS).is_empty());
    }

    #[test]
    fn split_fills_chunks_up_to_exactly_the_budget() {
        let evs = events(10, 6, 100);
        // Exactly three events fit (the next three are alike: their body is
        // as long).
        let budget = wire::batch_body_len(&evs[..3]);
        assert_eq!(wire::batch_body_len(&evs[3..]), budget);
        let chunks = split_all(evs.clone(), budget, wire::MAX_BATCH_EVENTS);
        assert_eq!(chunks.len(), 2);
        assert_eq!(chunks.concat(), evs);
        // One byte less and only two fit.
        assert_eq!(split_all(evs, budget - 1, wire::MAX_BATCH_EVENTS).len(), 3);
    }

    #[test]
    fn split_caps_chunks_at_the_wire_event_limit() {
        let evs = events(11, 2 * wire::MAX_BATCH_EVENTS + 1, 0);
        let chunks = split_all(evs.clone(), usize::MAX, wire::MAX_BATCH_EVENTS);
        let lens: Vec<usize> = chunks.iter().map(Vec::len).collect();
        assert_eq!(
            lens,
            vec![wire::MAX_BATCH_EVENTS, wire::MAX_BATCH_EVENTS, 1]
        );
        assert_eq!(chunks.concat(), evs);
    }

    #[test]
    fn an_event_over_the_budget_goes_alone_between_its_neighbours() {
        let mut evs = events(12, 3, 10);
        evs[1] = super::test_events::event(&mut crate::rand::Rng::new(5, 5), 7, 70_000);
        let chunks = split_all(evs.clone(), BEACON_BUDGET, wire::MAX_BATCH_EVENTS);
        assert_eq!(chunks.len(), 3);
        assert_eq!(ids(&chunks[1]), vec![evs[1].id.as_str()]);
        assert!(wire::batch_body_len(&chunks[1]) > BEACON_BUDGET);
        assert_eq!(chunks.concat(), evs);
    }

    #[test]
    fn predicted_body_length_matches_the_real_body() {
        let mut evs = events(13, 5, 30);
        evs.push(super::test_events::whole(&evs[0]));
        for n in 0..=evs.len() {
            assert_eq!(
                wire::batch_body(&evs[..n]).len(),
                wire::batch_body_len(&evs[..n]),
                "{n} events"
            );
        }
    }

    #[test]
    fn a_batch_of_one_page_sends_what_its_events_share_once() {
        let mut rng = crate::rand::Rng::new(1, 1);
        // One page: the same path and user for all ten.
        let evs: Vec<Queued> = (0..10)
            .map(|i| super::test_events::event(&mut rng, 1_709_318_400_000 + 6 * i, 20))
            .collect();
        let full: usize = evs.iter().map(|q| q.line_len() + 1).sum();
        let compact = wire::batch_body(&evs);
        assert!(
            compact.starts_with("{\"shared\":{\"session_id\""),
            "{compact}"
        );
        assert_eq!(compact.matches("sess_").count(), 1);
        assert!(
            compact.len() * 2 < full,
            "{} of {full} bytes",
            compact.len()
        );
    }

    proptest! {
        #[test]
        fn split_never_exceeds_the_budget_and_keeps_every_event_once_in_order(
            picks in proptest::collection::vec((0usize..3000, 0u64..6, any::<bool>()), 0..250),
            budget in 0usize..20_000,
        ) {
            let mut rng = crate::rand::Rng::new(picks.len() as u64, budget as u64);
            // Pages, users and old outbox lines mixed: what a batch shares
            // changes from chunk to chunk.
            let evs: Vec<Queued> = picks
                .iter()
                .enumerate()
                .map(|(i, &(pad, page, whole))| {
                    let q = super::test_events::event(&mut rng, 6 * i as u64 + page, pad);
                    if whole {
                        super::test_events::whole(&q)
                    } else {
                        q
                    }
                })
                .collect();
            let chunks = split_all(evs.clone(), budget, wire::MAX_BATCH_EVENTS);
            for c in &chunks {
                prop_assert!(!c.is_empty());
                prop_assert!(c.len() <= wire::MAX_BATCH_EVENTS);
                let body = wire::batch_body(c);
                prop_assert_eq!(body.len(), wire::batch_body_len(c));
                prop_assert!(body.len() <= budget || c.len() == 1);
            }
            // Greedy: no chunk could have taken the next chunk's first event.
            for w in chunks.windows(2) {
                let mut grown = w[0].clone();
                grown.push(w[1][0].clone());
                prop_assert!(
                    w[0].len() == wire::MAX_BATCH_EVENTS || wire::batch_body_len(&grown) > budget
                );
            }
            prop_assert_eq!(chunks.concat(), evs);
        }
    }
}
