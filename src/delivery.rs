//! Delivery: from queued events to requests, and what each answer means.
//!
//! Every accepted event is at all times in exactly one of: the batch queue,
//! a request in flight, the retry wait list; or it is acknowledged (gone).
//! Independently, an event may also be in the persisted outbox: it is put
//! there when it could be lost with the page (a failed send, page hide) and
//! taken out when the collector acknowledges it. The collector drops
//! repeated `event_id`s, so sending an outboxed event again is harmless.

use crate::batch::{split, BatchRule, Batcher, Queued, BEACON_BUDGET};
use crate::outbox::{backoff, is_retryable};
use crate::rand::Rng;
use crate::time::Millis;
use crate::wire::{batch_body, MAX_BATCH_EVENTS};
use alloc::string::String;
use alloc::vec::Vec;

pub use crate::command::Mode;

/// One request to make.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Send {
    pub id: u32,
    pub mode: Mode,
    pub body: String,
}

/// What an answer (or a refused beacon) did to the events of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Acknowledged: these ids should leave the outbox.
    Delivered(Vec<String>),
    /// Failed, will be retried: keep these in the outbox meanwhile.
    Retrying(Vec<Queued>),
    /// A body of several events refused as a whole (400 or 413: one of
    /// them may be the cause): its halves went out again as new requests.
    Split,
    /// Refused for good (a 4xx other than 408/429; a 400 or 413 only for a
    /// request of one event): `n` events dropped; those of them that were
    /// outboxed must leave the outbox too.
    Refused {
        n: usize,
        status: u16,
        outboxed: Vec<String>,
    },
    /// Unknown request id (already settled).
    Unknown,
}

struct Flight {
    id: u32,
    events: Vec<Queued>,
    /// Bytes this request holds of the keepalive budget (0 for plain fetch).
    keepalive: usize,
    attempt: u32,
}

struct Waiting {
    due: Millis,
    attempt: u32,
    events: Vec<Queued>,
}

pub struct Delivery {
    batcher: Batcher,
    flights: Vec<Flight>,
    waiting: Vec<Waiting>,
    ready: Vec<Send>,
    next_id: u32,
    /// Ids this page has put in (or found in) the outbox and not yet seen
    /// acknowledged.
    /// A Vec, not a set: at most the outbox bound (500), and set types cost
    /// kilobytes of wasm.
    outboxed: Vec<String>,
}

/// Marks `events` as outboxed; those that were not yet go into `fresh`.
fn mark_into(outboxed: &mut Vec<String>, events: &[Queued], fresh: &mut Vec<Queued>) {
    for e in events {
        let mut known = false;
        for o in outboxed.iter() {
            if *o == e.id {
                known = true;
            }
        }
        if !known {
            outboxed.push(e.id.clone());
            fresh.push(e.clone());
        }
    }
}

fn ids(events: &[Queued]) -> Vec<String> {
    events.iter().map(|e| e.id.clone()).collect()
}

impl Delivery {
    pub const fn new(rule: BatchRule) -> Delivery {
        Delivery {
            batcher: Batcher::new(rule),
            flights: Vec::new(),
            waiting: Vec::new(),
            ready: Vec::new(),
            next_id: 1,
            outboxed: Vec::new(),
        }
    }

    /// Keepalive bytes of requests in flight.
    fn keepalive_in_flight(&self) -> usize {
        // Plain loops here and below, not iterator chains (`sum`, `min`,
        // `collect`, `flat_map`): each chain is its own generic code in
        // the wasm (README "Size").
        let mut sum = 0usize;
        for f in &self.flights {
            sum = sum.saturating_add(f.keepalive);
        }
        sum
    }

    /// Queues requests for `events`, split so each body fits the beacon
    /// budget and holds at most `most` events; keepalive while the shared
    /// budget allows, else plain fetch (or beacons, when `hidden`).
    fn dispatch(&mut self, events: Vec<Queued>, attempt: u32, hidden: bool, most: usize) {
        split(events, BEACON_BUDGET, most, |chunk| {
            let body = batch_body(&chunk);
            let fits = self.keepalive_in_flight().saturating_add(body.len()) <= BEACON_BUDGET;
            let mode = match (hidden, fits) {
                (true, _) => Mode::Beacon,
                (false, true) => Mode::Keepalive,
                (false, false) => Mode::Fetch,
            };
            let id = self.next_id;
            self.next_id = self.next_id.wrapping_add(1);
            // A beacon's budget use is unknown once handed over; only
            // keepalive fetches are counted.
            let keepalive = if mode == Mode::Keepalive {
                body.len()
            } else {
                0
            };
            self.flights.push(Flight {
                id,
                events: chunk,
                keepalive,
                attempt,
            });
            self.ready.push(Send { id, mode, body });
        });
    }

    /// Accepts one event.
    pub fn push(&mut self, ev: Queued, now: Millis) {
        self.batcher.push(ev, now);
        self.poll(now, false);
    }

    /// Events found in the outbox at start-up: sent at once.
    pub fn resend(&mut self, events: Vec<Queued>) {
        if events.is_empty() {
            return;
        }
        // Marked as outboxed, by id only (the outbox keeps them already):
        // each once, as `outbox::parse` keeps one line per id and nothing
        // is marked before the start.
        for e in &events {
            self.outboxed.push(e.id.clone());
        }
        self.dispatch(events, 0, false, MAX_BATCH_EVENTS);
    }

    /// Moves due batches and due retries into requests.
    pub fn poll(&mut self, now: Millis, hidden: bool) {
        while let Some(batch) = self.batcher.take_due(now) {
            self.dispatch(batch, 0, hidden, MAX_BATCH_EVENTS);
        }
        self.retry_due(now, hidden);
    }

    /// Moves the retries due at `now` into requests.
    fn retry_due(&mut self, now: Millis, hidden: bool) {
        // Not `swap_remove`: its index check is a panic path with formatting.
        for w in core::mem::take(&mut self.waiting) {
            if w.due <= now {
                self.dispatch(w.events, w.attempt, hidden, MAX_BATCH_EVENTS);
            } else {
                self.waiting.push(w);
            }
        }
    }

    /// The requests to make, in order; [`Delivery::sent`] once they are
    /// handed over.
    pub fn sends(&self) -> &[Send] {
        &self.ready
    }

    /// The requests of [`Delivery::sends`] were handed over.
    pub fn sent(&mut self) {
        self.ready.clear();
    }

    /// Forgets these events as outboxed; the ids of those that were (in
    /// the order they were outboxed: one pass over the outboxed ids, each
    /// moved, not copied).
    fn unmark_all(&mut self, events: &[Queued]) -> Vec<String> {
        let mut ids = Vec::new();
        for o in core::mem::take(&mut self.outboxed) {
            let mut hit = false;
            for e in events {
                if o == e.id {
                    hit = true;
                }
            }
            if hit {
                ids.push(o);
            } else {
                self.outboxed.push(o);
            }
        }
        ids
    }

    /// Marks these events as outboxed; those that were not yet.
    fn mark_all(&mut self, events: &[Queued]) -> Vec<Queued> {
        let mut fresh = Vec::new();
        mark_into(&mut self.outboxed, events, &mut fresh);
        fresh
    }

    /// When [`Delivery::poll`] should next run: the batch timeout or the
    /// earliest retry.
    pub fn deadline(&self) -> Option<Millis> {
        let mut retry: Option<Millis> = None;
        for w in &self.waiting {
            if retry.is_none_or(|r| w.due < r) {
                retry = Some(w.due);
            }
        }
        match (self.batcher.deadline(), retry) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// `flush()`: everything queued or waiting goes now.
    pub fn flush(&mut self, hidden: bool) {
        let queued = self.batcher.take_all();
        if !queued.is_empty() {
            self.dispatch(queued, 0, hidden, MAX_BATCH_EVENTS);
        }
        // Every retry, whenever due.
        self.retry_due(Millis(u64::MAX), hidden);
    }

    /// The page is hidden (maybe for good): everything queued or waiting
    /// goes by beacon. Returns every event not yet acknowledged (in flight
    /// included): the shell keeps them all in the outbox, since a beacon's
    /// fate is never known.
    pub fn hide(&mut self) -> Vec<Queued> {
        self.flush(true);
        let mut fresh = Vec::new();
        for f in &self.flights {
            mark_into(&mut self.outboxed, &f.events, &mut fresh);
        }
        fresh
    }

    /// The browser took beacon `id`: its fate is unknown, so its events stay
    /// in the outbox (put there by [`Delivery::hide`]) and leave memory.
    pub fn beacon_queued(&mut self, id: u32) {
        self.take_flight(id);
    }

    /// Takes request `id` out of the flights.
    fn take_flight(&mut self, id: u32) -> Option<Flight> {
        // Not `swap_remove`: its index check is a panic path with formatting.
        let mut found = None;
        for f in core::mem::take(&mut self.flights) {
            if f.id == id && found.is_none() {
                found = Some(f);
            } else {
                self.flights.push(f);
            }
        }
        found
    }

    /// The browser refused beacon `id` (its queue was full, or the body too
    /// large): the same body goes as a `fetch` with `keepalive`, under the
    /// same id, whose answer then settles it.
    pub fn beacon_refused(&mut self, id: u32) {
        for f in &self.flights {
            if f.id == id {
                let body = batch_body(&f.events);
                self.ready.push(Send {
                    id,
                    mode: Mode::Keepalive,
                    body,
                });
            }
        }
    }

    /// The answer to request `id`: HTTP status, or 0 for a network error
    /// (or a refused beacon whose fetch fallback failed).
    pub fn on_result(&mut self, id: u32, status: u16, now: Millis, rng: &mut Rng) -> Outcome {
        let Some(f) = self.take_flight(id) else {
            return Outcome::Unknown;
        };
        if (200..300).contains(&status) {
            return Outcome::Delivered(self.unmark_all(&f.events));
        }
        if is_retryable(status) {
            let attempt = f.attempt.saturating_add(1);
            let fresh = self.mark_all(&f.events);
            self.waiting.push(Waiting {
                due: now.plus(backoff(attempt, rng)),
                attempt,
                events: f.events,
            });
            return Outcome::Retrying(fresh);
        }
        // One bad event (a tampered outbox line that is not JSON, say)
        // gets its whole body refused: halving the request, again and
        // again, drops only that event, not its neighbours (README
        // "Delivery"). At once, and not a failed attempt: the halves are
        // new requests. Other 4xx would refuse the halves too.
        if matches!(status, 400 | 413) && f.events.len() > 1 {
            let half = f.events.len().div_ceil(2);
            self.dispatch(f.events, f.attempt, false, half);
            return Outcome::Split;
        }
        let outboxed = self.unmark_all(&f.events);
        Outcome::Refused {
            n: f.events.len(),
            status,
            outboxed,
        }
    }

    /// Events accepted and not yet settled (queued, in flight, waiting).
    pub fn pending(&self) -> usize {
        self.batcher.len()
            + self.flights.iter().map(|f| f.events.len()).sum::<usize>()
            + self.waiting.iter().map(|w| w.events.len()).sum::<usize>()
    }

    /// Requests made but not answered.
    pub fn in_flight(&self) -> usize {
        self.flights.len()
    }

    pub fn set_rule(&mut self, rule: BatchRule) {
        self.batcher.set_rule(rule);
    }

    /// Every id known to be in flight, queued or waiting (for tests).
    pub fn unsettled_ids(&self) -> Vec<String> {
        let mut out: Vec<String> = self.batcher_ids();
        for f in &self.flights {
            out.extend(ids(&f.events));
        }
        for w in &self.waiting {
            out.extend(ids(&w.events));
        }
        out
    }

    fn batcher_ids(&self) -> Vec<String> {
        let mut probe = self.batcher.clone();
        ids(&probe.take_all())
    }
}
