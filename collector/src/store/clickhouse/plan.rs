//! What one group commit writes and answers, decided from what ClickHouse
//! held for the group's sessions just before: the store's rules (stored
//! once, sealing first, see `crate::store`) applied to each batch in turn,
//! exactly as if each batch were its own transaction in arrival order.
//!
//! An event is identified by its session and `event_id`: the duplicate check
//! reads ClickHouse by the sorting key, and a session id is in every lookup.

use crate::store::{Batch, Inserted, NewEvent};
use std::collections::{HashMap, HashSet};

/// What ClickHouse holds for the sessions of a group.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Stored {
    /// `(session_id, event_id)` of stored events among the group's.
    pub events: HashSet<(String, String)>,
    /// The latest `received_at` of each session's stored events.
    pub last_received: HashMap<String, u64>,
    /// Sessions that are sealed.
    pub sealed: HashSet<String>,
}

/// The writes of a group and the answer of each batch.
#[derive(Debug, Default)]
pub struct Plan<'a> {
    /// One per batch, in order.
    pub answers: Vec<Inserted>,
    /// The seals to write: `(session_id, sealed_at)`. Written before `rows`,
    /// so whoever sees the events of a batch also sees what it sealed.
    pub seals: Vec<(&'a str, u64)>,
    /// The events to store, in arrival order, with their batch's
    /// `received_at`.
    pub rows: Vec<(&'a NewEvent, u64)>,
    /// Visitor -> user links of the stored events that carry a `user_id`:
    /// per visitor, the latest by event time (the later one among equals).
    pub links: Vec<Link<'a>>,
}

/// A visitor identified as a user by an event at `linked_at` (its timestamp).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link<'a> {
    pub anonymous_id: &'a str,
    pub user_id: &'a str,
    pub linked_at: u64,
}

/// Applies the rules to `batches` in order, starting from `stored`.
pub fn plan<'a>(batches: &'a [Batch], mut stored: Stored) -> Plan<'a> {
    let mut out = Plan::default();
    for batch in batches {
        let mut sessions: Vec<&str> = Vec::new();
        for e in &batch.events {
            if !sessions.contains(&e.event.session_id.as_str()) {
                sessions.push(&e.event.session_id);
            }
        }
        let idle_before = batch.received_at.saturating_sub(batch.seal_after_ms);
        for &s in &sessions {
            let idle = stored
                .last_received
                .get(s)
                .is_some_and(|&last| last < idle_before);
            if idle && stored.sealed.insert(s.to_owned()) {
                out.seals.push((s, batch.received_at));
            }
        }
        let mut answer = Inserted::default();
        for new in &batch.events {
            let key = (new.event.session_id.clone(), new.event.event_id.clone());
            if stored.events.contains(&key) {
                answer.duplicates += 1;
                continue;
            }
            let last = stored.last_received.entry(key.0.clone()).or_insert(0);
            *last = (*last).max(batch.received_at);
            stored.events.insert(key);
            answer.accepted += 1;
            out.rows.push((new, batch.received_at));
            if let Some(user_id) = &new.event.user_id {
                link(
                    &mut out.links,
                    Link {
                        anonymous_id: &new.event.anonymous_id,
                        user_id,
                        linked_at: new.event.timestamp,
                    },
                );
            }
        }
        answer.sealed = sessions
            .iter()
            .filter(|s| stored.sealed.contains(**s))
            .map(|s| (*s).to_owned())
            .collect();
        out.answers.push(answer);
    }
    out
}

/// Keeps `new` unless the visitor already has a later link in `links`.
fn link<'a>(links: &mut Vec<Link<'a>>, new: Link<'a>) {
    match links
        .iter_mut()
        .find(|l| l.anonymous_id == new.anonymous_id)
    {
        Some(held) if new.linked_at >= held.linked_at => *held = new,
        Some(_) => {}
        None => links.push(new),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Source;
    use sessionmark::wire::Event;

    const A: &str = "sess_018e0e5c-5a00-7abc-8def-0123456789ab";
    const B: &str = "sess_018e0e5c-6b00-7abc-8def-0123456789ab";

    fn ev(session: &str, n: u64) -> NewEvent {
        NewEvent {
            event: Event {
                event_id: format!("018e0e5c-5a00-7abc-8def-{n:012x}"),
                session_id: session.into(),
                ..Event::default()
            },
            body: "{}".into(),
            source: Source::Browser,
            referrer_host: String::new(),
        }
    }

    fn batch(at: u64, events: Vec<NewEvent>) -> Batch {
        Batch {
            events,
            received_at: at,
            seal_after_ms: 100,
        }
    }

    fn counts(p: &Plan<'_>) -> Vec<(usize, usize)> {
        p.answers
            .iter()
            .map(|a| (a.accepted, a.duplicates))
            .collect()
    }

    #[test]
    fn an_event_stored_before_or_earlier_in_the_group_is_a_duplicate() {
        let mut stored = Stored::default();
        stored.events.insert((A.into(), ev(A, 1).event.event_id));
        let batches = [
            batch(10, vec![ev(A, 1), ev(A, 2), ev(A, 2)]),
            batch(11, vec![ev(A, 2), ev(A, 3)]),
        ];
        let p = plan(&batches, stored);
        assert_eq!(counts(&p), [(1, 2), (1, 1)]);
        let written: Vec<&str> = p
            .rows
            .iter()
            .map(|(e, _)| e.event.event_id.as_str())
            .collect();
        assert_eq!(written, [ev(A, 2).event.event_id, ev(A, 3).event.event_id]);
        assert_eq!(p.rows[1].1, 11, "each row carries its batch's arrival time");
    }

    #[test]
    fn the_same_event_id_in_another_session_is_another_event() {
        let batches = [batch(10, vec![ev(A, 1), ev(B, 1)])];
        assert_eq!(counts(&plan(&batches, Stored::default())), [(2, 0)]);
    }

    #[test]
    fn an_idle_session_is_sealed_once_by_the_first_batch_that_finds_it_idle() {
        let mut stored = Stored::default();
        stored.last_received.insert(A.into(), 1000);
        let batches = [
            batch(1100, vec![ev(A, 1)]), // exactly the timeout: not idle
            batch(1301, vec![ev(A, 2)]), // 201 ms after the last arrival
            batch(1302, vec![ev(A, 3), ev(B, 4)]),
        ];
        let p = plan(&batches, stored);
        assert_eq!(p.seals, [(A, 1301)]);
        let sealed: Vec<&[String]> = p.answers.iter().map(|a| a.sealed.as_slice()).collect();
        assert_eq!(sealed, [&[][..], &[A.to_owned()][..], &[A.to_owned()][..]]);
    }

    #[test]
    fn events_stored_earlier_in_the_group_keep_their_session_alive() {
        let mut stored = Stored::default();
        stored.last_received.insert(A.into(), 1000);
        // The first batch is within the timeout and refreshes the session,
        // so the second, 140 ms after the stored arrival but 90 ms after the
        // first batch, finds it active.
        let batches = [batch(1050, vec![ev(A, 1)]), batch(1140, vec![ev(A, 2)])];
        assert!(plan(&batches, stored).seals.is_empty());
    }

    #[test]
    fn duplicates_do_not_keep_a_session_alive() {
        let mut stored = Stored::default();
        stored.last_received.insert(A.into(), 1000);
        stored.events.insert((A.into(), ev(A, 1).event.event_id));
        let batches = [batch(1050, vec![ev(A, 1)]), batch(1101, vec![ev(A, 2)])];
        assert_eq!(plan(&batches, stored).seals, [(A, 1101)]);
    }

    #[test]
    fn a_session_sealed_before_is_reported_but_not_sealed_again() {
        let mut stored = Stored::default();
        stored.last_received.insert(A.into(), 0);
        stored.sealed.insert(A.into());
        let batches = [batch(5000, vec![ev(B, 1), ev(A, 2)])];
        let p = plan(&batches, stored);
        assert!(p.seals.is_empty());
        assert_eq!(p.answers[0].sealed, [A]);
    }

    #[test]
    fn each_visitor_keeps_its_latest_link_by_event_time_and_duplicates_link_nothing() {
        let identified = |session: &str, n: u64, visitor: &str, user: &str, at: u64| {
            let mut e = ev(session, n);
            e.event.anonymous_id = visitor.into();
            e.event.user_id = Some(user.into());
            e.event.timestamp = at;
            e
        };
        let mut stored = Stored::default();
        let dup = identified(A, 9, "anon_a", "from-a-duplicate", 999);
        stored.events.insert((A.into(), dup.event.event_id.clone()));
        let batches = [
            batch(1, vec![identified(A, 1, "anon_a", "late", 50), dup]),
            batch(2, vec![identified(A, 2, "anon_a", "early", 10)]),
            batch(
                3,
                vec![
                    identified(B, 3, "anon_b", "b", 5),
                    identified(A, 4, "anon_a", "tie", 50),
                ],
            ),
        ];
        let p = plan(&batches, stored);
        let links: Vec<(&str, &str, u64)> = p
            .links
            .iter()
            .map(|l| (l.anonymous_id, l.user_id, l.linked_at))
            .collect();
        assert_eq!(links, [("anon_a", "tie", 50), ("anon_b", "b", 5)]);
    }

    #[test]
    fn an_empty_batch_is_answered_with_nothing() {
        let batches = [batch(1, vec![])];
        let p = plan(&batches, Stored::default());
        assert_eq!(p.answers, [Inserted::default()]);
        assert!(p.rows.is_empty() && p.seals.is_empty() && p.links.is_empty());
    }
}
