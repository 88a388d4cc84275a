//! Retry schedule and the persisted outbox.
//!
//! Events not yet delivered survive the page in localStorage (key
//! [`STORAGE_KEY`], written by the shell) and are sent on the next page load
//! of the site. This module only computes the stored text: one event per
//! line as a whole JSON object (`wire::Encoded::write_line`: every field of
//! the event, none left to a batch's `shared`), each line ended by `'\n'`,
//! oldest first. Lines read back are sent as they are, whole, so the lines
//! of an earlier release (which wrote the same one event per line, with
//! `timestamp` and `properties` always written out) go as well.

use crate::batch::Queued;
use crate::ids;
use crate::rand::Rng;
use crate::text::pieces;
use crate::time::Millis;
use crate::wire::Encoded;
use alloc::string::String;
use alloc::vec::Vec;

/// The localStorage key the shell stores the outbox text under.
pub const STORAGE_KEY: &str = "did_outbox";
/// Most events kept in the outbox.
pub const MAX_EVENTS: usize = 500;
/// Most bytes of stored text (UTF-8, newlines included). localStorage counts
/// UTF-16 code units, never more than UTF-8 bytes, so this bounds the quota
/// used too.
pub const MAX_BYTES: usize = 512 * 1024;

/// First retry delay, doubled for each further attempt.
const BACKOFF_BASE: Millis = Millis::SECOND;
/// Longest retry delay.
pub const BACKOFF_CAP: Millis = Millis::MINUTE;

/// Whether a send result is worth retrying: status 0 (network error, refused
/// beacon), 408, 429 and every 5xx. Other statuses (2xx delivered, other 4xx
/// refused for good) are not.
pub fn is_retryable(status: u16) -> bool {
    matches!(status, 0 | 408 | 429 | 500..=599)
}

/// The delay before retry number `attempt` (1-based; 0 counts as 1): capped
/// exponential backoff with jitter. The capped value is 1 s doubled per
/// attempt, at most 60 s; the delay is drawn uniformly in [half, full] of it.
/// Never 0, never above 60 s.
pub fn backoff(attempt: u32, rng: &mut Rng) -> Millis {
    let full = backoff_cap_for(attempt).0;
    let half = full / 2;
    Millis(half.saturating_add(rng.below_or_eq(full.saturating_sub(half))))
}

/// The capped value for retry number `attempt` before jitter.
fn backoff_cap_for(attempt: u32) -> Millis {
    // Past 2^16 s the cap has long won; bounding the shift avoids overflow.
    let doublings = attempt.saturating_sub(1).min(16);
    Millis(
        BACKOFF_BASE
            .0
            .saturating_mul(1u64 << doublings)
            .min(BACKOFF_CAP.0),
    )
}

const ID_PREFIX: &str = "\"event_id\":\"";
const UUID_LEN: usize = 36;

/// The event id of one stored line, if the line is a well-formed outbox entry:
/// `{"event_id":"` + a lowercase hyphenated UUID + `"` ... `}`.
fn line_id(line: &str) -> Option<&str> {
    members_id(line.strip_prefix('{')?.strip_suffix('}')?)
}

/// The event id of an event's members (a line without its braces), if they
/// begin `"event_id":"` + a lowercase hyphenated UUID + `"`.
fn members_id(members: &str) -> Option<&str> {
    let rest = members.strip_prefix(ID_PREFIX)?;
    let id = rest.get(..UUID_LEN)?;
    let after = rest.get(UUID_LEN..)?;
    (ids::is_uuid_text(id) && after.starts_with('"')).then_some(id)
}

/// Parses stored outbox text: one encoded event per line. A line is kept only
/// if it starts with `{"event_id":"` followed by a lowercase hyphenated UUID
/// and a `"`, and ends with `}`; anything else (garbage, a truncated line,
/// blank lines) is skipped. A repeated id keeps only its first line, so a
/// tampered outbox never sends an event twice. A `"\r\n"` line end is
/// accepted. The rest of a line is not checked: one that is not JSON gets
/// its request refused, and delivery halves that request until only the
/// line is dropped (README "Delivery").
pub fn parse(text: &str) -> Vec<Queued> {
    let mut out: Vec<Queued> = Vec::new();
    for line in pieces(text, b'\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if let Some(id) = line_id(line) {
            // A linear scan: the outbox holds at most 500 events, and a set
            // type would add kilobytes of wasm for no measurable gain.
            if !out.iter().any(|q| q.id == id) {
                out.push(Encoded::whole(id, line));
            }
        }
    }
    out
}

/// Whether `ev` can be stored as one outbox line that parses back to itself.
/// Its shareable members hold no line break (the encoder escapes them);
/// its own members are checked.
fn storable(ev: &Queued) -> bool {
    !ev.own.bytes().any(|b| b == b'\n' || b == b'\r') && members_id(&ev.own) == Some(ev.id.as_str())
}

fn stored_len(ev: &Queued) -> usize {
    ev.line_len().saturating_add(1)
}

fn render(events: &[Queued]) -> String {
    let mut out = String::new();
    for ev in events {
        ev.write_line(&mut out);
        out.push('\n');
    }
    out
}

/// Merges events into stored outbox text: union by id (an id already present
/// is not added twice, and the stored line wins), order kept (existing first,
/// then new), then the bound applied by dropping the OLDEST events until both
/// [`MAX_EVENTS`] and [`MAX_BYTES`] hold. Malformed existing lines are
/// dropped silently (as [`parse`] does).
///
/// Returns the new text and the number of events of the merged set that are
/// not in it: those dropped by the bound, plus any added event that cannot be
/// stored as one line (its line has a line break, or does not start with
/// its own `id` as `wire::Event::encode` writes it). An event larger than
/// `MAX_BYTES` on its own is dropped by the bound.
pub fn merge(existing: &str, add: &[Queued]) -> (String, usize) {
    let mut all = parse(existing);
    let mut unstorable = 0usize;
    for ev in add {
        if !storable(ev) {
            unstorable = unstorable.saturating_add(1);
        } else if !all.iter().any(|q| q.id == ev.id) {
            all.push(ev.clone());
        }
    }
    let start = bound_start(&all);
    let kept = all.get(start..).unwrap_or_default();
    (render(kept), start.saturating_add(unstorable))
}

/// The index of the oldest event kept so that the events from it on hold
/// both bounds.
fn bound_start(events: &[Queued]) -> usize {
    let mut count = events.len();
    let mut bytes: usize = events.iter().map(stored_len).sum();
    let mut start = 0;
    for ev in events {
        if count <= MAX_EVENTS && bytes <= MAX_BYTES {
            break;
        }
        count -= 1;
        bytes = bytes.saturating_sub(stored_len(ev));
        start += 1;
    }
    start
}

/// Removes the given ids from stored text (after they were acknowledged) and
/// returns the new text. Ids not present are ignored; malformed lines are
/// dropped as [`parse`] does.
pub fn remove(existing: &str, ids: &[String]) -> String {
    // The kept lines written by reference from the parsed list: a second
    // list moved into, or a consuming loop, is code of its own (README
    // "Size").
    let mut out = String::new();
    for q in &parse(existing) {
        if !ids.contains(&q.id) {
            q.write_line(&mut out);
            out.push('\n');
        }
    }
    out
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::batch::test_events::{event, events, line, whole};
    use crate::rand::Rng;
    use proptest::prelude::*;

    fn ids_of(v: &[Queued]) -> Vec<String> {
        v.iter().map(|q| q.id.clone()).collect()
    }

    /// Events as the outbox gives them back: each whole, as its line.
    fn kept(v: &[Queued]) -> Vec<Queued> {
        v.iter().map(whole).collect()
    }

    #[test]
    fn network_errors_timeouts_rate_limits_and_server_errors_are_retried() {
        for s in [0, 408, 429, 500, 502, 503, 504, 599] {
            assert!(is_retryable(s), "{s}");
        }
        for s in [200, 204, 301, 400, 401, 403, 404, 413, 422, 600, 999] {
            assert!(!is_retryable(s), "{s}");
        }
    }

    #[test]
    fn backoff_caps_double_from_one_second_to_sixty() {
        let caps: Vec<u64> = (1..=9).map(|a| backoff_cap_for(a).0).collect();
        assert_eq!(
            caps,
            [1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000]
        );
        assert_eq!(backoff_cap_for(0), Millis(1000));
        assert_eq!(backoff_cap_for(u32::MAX), Millis(60_000));
    }

    #[test]
    fn backoff_jitter_reaches_both_ends_of_its_range_only() {
        let mut rng = Rng::new(1, 2);
        let draws: Vec<u64> = (0..5000).map(|_| backoff(1, &mut rng).0).collect();
        assert!(draws.iter().all(|d| (500..=1000).contains(d)));
        assert!(draws.iter().any(|&d| d < 550));
        assert!(draws.iter().any(|&d| d > 950));
    }

    #[test]
    fn parse_keeps_well_formed_lines_and_skips_everything_else() {
        let evs = events(1, 3, 5);
        let lines: Vec<String> = evs.iter().map(line).collect();
        let good = "{\"event_id\":\"018e0e5c-5a00-7abc-8def-0123456789ab\",\"name\":\"x\"}";
        let text = [
            lines[0].as_str(),
            "",
            "garbage",
            "{\"event_id\":\"018E0E5C-5A00-7ABC-8DEF-0123456789AB\",\"name\":\"x\"}",
            "{\"event_id\":\"018e0e5c-5a00-7abc-8def-0123456789ab\",\"name\":\"trunc",
            "{\"event_id\":\"018e0e5c-5a00-7abc-8def-0123456789abc\",\"x\":1}",
            "{\"event_id\":\"018e0e5c\"}",
            " {\"event_id\":\"018e0e5c-5a00-7abc-8def-0123456789ab\"}",
            "{\"event_id\":\"",
            "{\"event_id\":\"é18e0e5c-5a00-7abc-8def-0123456789ab\"}",
            lines[1].as_str(),
            good,
            // Cut mid-write: it no longer ends with `}`.
            &lines[2][..lines[2].len() / 2],
        ]
        .join("\n");
        let parsed = parse(&text);
        assert_eq!(
            ids_of(&parsed),
            vec![
                evs[0].id.clone(),
                evs[1].id.clone(),
                "018e0e5c-5a00-7abc-8def-0123456789ab".to_owned()
            ]
        );
        assert_eq!(parsed[0], kept(&evs)[0]);
        assert_eq!(line(&parsed[2]), good);
        assert!(parse("").is_empty());
        assert!(parse("\n\n\r\n").is_empty());
    }

    #[test]
    fn parse_accepts_crlf_line_ends_and_keeps_the_first_of_a_repeated_id() {
        let evs = events(2, 2, 0);
        let (a, b) = (line(&evs[0]), line(&evs[1]));
        let text = format!("{a}\r\n{b}\r\n{a}\r\n");
        assert_eq!(parse(&text), kept(&evs));
    }

    #[test]
    fn merged_text_parses_back_to_the_union_in_order() {
        let evs = events(3, 6, 20);
        let (text, dropped) = merge("", &evs[..4]);
        assert_eq!(dropped, 0);
        assert_eq!(parse(&text), kept(&evs[..4]));
        assert!(text.ends_with('\n'));
        assert_eq!(text.lines().count(), 4);
        let (text, dropped) = merge(&text, &evs[2..]);
        assert_eq!(dropped, 0);
        assert_eq!(parse(&text), kept(&evs));
    }

    #[test]
    fn merging_an_id_already_stored_does_not_add_it_twice() {
        let evs = events(4, 3, 0);
        let (text, _) = merge("", &evs);
        let (again, dropped) = merge(&text, &evs);
        assert_eq!(dropped, 0);
        assert_eq!(again, text);
        let (twice_in_one_call, _) = merge("", &[evs[0].clone(), evs[0].clone()]);
        assert_eq!(parse(&twice_in_one_call), kept(&evs[..1]));
    }

    #[test]
    fn an_event_that_is_not_one_storable_line_is_counted_and_not_stored() {
        let evs = events(5, 3, 0);
        let mut newline = evs[0].clone();
        newline.own.push('\n');
        let mut wrong_id = evs[1].clone();
        wrong_id.id = evs[2].id.clone();
        let (text, dropped) = merge("", &[newline, wrong_id, evs[2].clone()]);
        assert_eq!(dropped, 2);
        assert_eq!(parse(&text), kept(&evs[2..]));
    }

    #[test]
    fn the_outbox_keeps_the_newest_five_hundred_events() {
        let evs = events(6, MAX_EVENTS + 20, 0);
        let (text, dropped) = merge("", &evs[..300]);
        assert_eq!(dropped, 0);
        let (text, dropped) = merge(&text, &evs[300..]);
        assert_eq!(dropped, 20);
        assert_eq!(parse(&text), kept(&evs[20..]));
    }

    #[test]
    fn the_outbox_keeps_under_512_kib_by_dropping_the_oldest() {
        // About 10 KiB each: 60 events are well over 512 KiB.
        let evs = events(7, 60, 10 * 1024);
        let (text, dropped) = merge("", &evs);
        assert!(text.len() <= MAX_BYTES);
        assert!(dropped > 0);
        let stored = parse(&text);
        assert_eq!(stored, kept(&evs[dropped..]));
        // One more (the oldest dropped) would not have fit.
        assert!(text.len() + line(&evs[dropped - 1]).len() + 1 > MAX_BYTES);
    }

    #[test]
    fn an_event_larger_than_the_whole_outbox_is_dropped() {
        let mut rng = Rng::new(8, 8);
        let huge = event(&mut rng, 1, MAX_BYTES);
        let small = events(8, 2, 0);
        let (text, dropped) = merge("", &[small[0].clone(), huge, small[1].clone()]);
        // Dropping the oldest until the bound holds takes the small one too.
        assert_eq!(dropped, 2);
        assert_eq!(parse(&text), kept(&small[1..]));
    }

    #[test]
    fn remove_deletes_acknowledged_ids_and_ignores_unknown_ones() {
        let evs = events(9, 4, 0);
        let (text, _) = merge("", &evs);
        let text = remove(
            &text,
            &[
                evs[1].id.clone(),
                evs[3].id.clone(),
                "018e0e5c-5a00-7abc-8def-0123456789ab".into(),
            ],
        );
        assert_eq!(parse(&text), kept(&[evs[0].clone(), evs[2].clone()]));
        assert_eq!(remove(&text, &[]), text);
        assert_eq!(remove(&text, &[evs[0].id.clone(), evs[2].id.clone()]), "");
        assert_eq!(remove("garbage\n", &[]), "");
    }

    #[derive(Clone, Debug)]
    enum Op {
        /// Add `n` fresh events with this padding, plus the given earlier
        /// events again (indices into everything added so far).
        Merge {
            n: usize,
            pad: usize,
            again: Vec<usize>,
        },
        /// Remove these earlier events (indices into everything added).
        Remove(Vec<usize>),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (
                0usize..200,
                prop_oneof![3 => 0usize..200, 1 => 0usize..6000],
                proptest::collection::vec(any::<usize>(), 0..10)
            )
                .prop_map(|(n, pad, again)| Op::Merge { n, pad, again }),
            proptest::collection::vec(any::<usize>(), 0..60).prop_map(Op::Remove),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn backoff_stays_within_half_to_full_of_a_non_decreasing_cap(
            seed in any::<u64>(),
            attempt in 0u32..100,
        ) {
            let mut rng = Rng::new(seed, 1);
            let cap = backoff_cap_for(attempt);
            let d = backoff(attempt, &mut rng);
            prop_assert!(d.0 >= cap.0 / 2 && d <= cap);
            prop_assert!(d.0 > 0 && d <= BACKOFF_CAP);
            prop_assert!(backoff_cap_for(attempt + 1) >= cap);
        }

        #[test]
        fn the_stored_set_is_added_minus_removed_bounded_without_duplicates(
            ops in proptest::collection::vec(op(), 1..16),
            seed in any::<u64>(),
        ) {
            let mut rng = Rng::new(seed, 7);
            let mut history: Vec<Queued> = Vec::new();
            let mut text = String::new();
            // The reference: ids in stored order, with their stored sizes.
            let mut model: Vec<(String, usize)> = Vec::new();
            let mut now = 1_709_318_400_000u64;
            for op in ops {
                match op {
                    Op::Merge { n, pad, again } => {
                        let mut add = Vec::new();
                        for _ in 0..n {
                            now += 1;
                            let e = event(&mut rng, now, pad);
                            history.push(e.clone());
                            add.push(e);
                        }
                        for i in again {
                            if let Some(e) = history.get(i % history.len().max(1)) {
                                add.push(e.clone());
                            }
                        }
                        for e in &add {
                            if !model.iter().any(|(id, _)| *id == e.id) {
                                model.push((e.id.clone(), line(e).len() + 1));
                            }
                        }
                        let mut dropped_model = 0;
                        while model.len() > MAX_EVENTS
                            || model.iter().map(|m| m.1).sum::<usize>() > MAX_BYTES
                        {
                            model.remove(0);
                            dropped_model += 1;
                        }
                        let (t, dropped) = merge(&text, &add);
                        prop_assert_eq!(dropped, dropped_model);
                        text = t;
                    }
                    Op::Remove(idx) => {
                        let gone: Vec<String> = idx
                            .iter()
                            .filter_map(|i| history.get(i % history.len().max(1)))
                            .map(|e| e.id.clone())
                            .collect();
                        model.retain(|(id, _)| !gone.contains(id));
                        text = remove(&text, &gone);
                    }
                }
                let stored = parse(&text);
                let stored_ids = ids_of(&stored);
                let model_ids: Vec<String> = model.iter().map(|m| m.0.clone()).collect();
                prop_assert_eq!(&stored_ids, &model_ids);
                let unique: std::collections::BTreeSet<&String> = stored_ids.iter().collect();
                prop_assert_eq!(unique.len(), stored_ids.len());
                prop_assert!(stored.len() <= MAX_EVENTS);
                prop_assert!(text.len() <= MAX_BYTES);
                prop_assert_eq!(text.lines().count(), stored.len());
                // Every stored line is exactly an event that was added.
                let history_kept = kept(&history);
                for q in &stored {
                    prop_assert!(history_kept.contains(q));
                }
            }
        }
    }
}
