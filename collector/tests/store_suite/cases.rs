//! One async fn per rule, each on a fresh, empty store.

use super::*;
use crate::common::{event, OTHER_SESSION, SESSION, T0, VISITOR};
use sessionmark_collector::store::{Inserted, StoreError};

const OTHER_VISITOR: &str = "anon_0f8fad5b-d9cb-469f-a165-70867728950e";

fn in_session(session: &str, n: u64, name: &str) -> Event {
    Event {
        session_id: session.into(),
        ..event(n, name)
    }
}

async fn listed(store: &SharedStore, query: EventQuery) -> Vec<String> {
    let pages = all_pages(store, query).await;
    let all: Vec<String> = pages.into_iter().flat_map(|p| p.events).collect();
    ids_of_listed(&all)
}

fn of_session(session: &str) -> EventQuery {
    EventQuery {
        session_id: Some(session.into()),
        ..EventQuery::default()
    }
}

pub async fn a_new_event_is_stored_and_listed_as_the_json_it_arrived_as(store: &SharedStore) {
    let e = event(1, "screen_view");
    let mut sent = new_event(&e);
    // A field this collector does not know is kept.
    sent.body.insert_str(1, "\"added_later\":{\"x\":[1,2]},");
    let done = store
        .insert(Batch {
            events: vec![sent.clone()],
            received_at: NOW,
            seal_after_ms: SEAL_AFTER,
        })
        .await
        .unwrap();
    assert_eq!(
        done,
        Inserted {
            accepted: 1,
            ..Inserted::default()
        }
    );
    let page = store.events(of_session(SESSION)).await.unwrap();
    assert_eq!(page.next_cursor, None);
    assert_eq!(page.events.len(), 1);
    let stored: serde_json::Value = serde_json::from_str(&page.events[0]).unwrap();
    let want: serde_json::Value = serde_json::from_str(&sent.body).unwrap();
    assert_eq!(stored, want);
}

pub async fn an_event_id_already_stored_is_a_duplicate_and_the_first_copy_stays(
    store: &SharedStore,
) {
    let first = insert_at(store, NOW, &[event(1, "a"), event(2, "b")]).await;
    assert_eq!((first.accepted, first.duplicates), (2, 0));
    // A retry with one new event; the retried copy of 1 is renamed, and
    // must not replace what was stored.
    let retry = insert_at(
        store,
        NOW + 1,
        &[event(1, "renamed"), event(2, "b"), event(3, "c")],
    )
    .await;
    assert_eq!((retry.accepted, retry.duplicates), (1, 2));
    let page = store.events(of_session(SESSION)).await.unwrap();
    assert_eq!(
        ids_of_listed(&page.events),
        ids(&[event(1, "a"), event(2, "b"), event(3, "c")])
    );
    assert!(
        page.events[0].contains("\"name\":\"a\""),
        "{}",
        page.events[0]
    );
}

pub async fn an_event_id_repeated_within_one_batch_is_stored_once(store: &SharedStore) {
    let done = insert_at(store, NOW, &[event(7, "a"), event(7, "a"), event(8, "b")]).await;
    assert_eq!((done.accepted, done.duplicates), (2, 1));
    assert_eq!(
        listed(store, of_session(SESSION)).await,
        ids(&[event(7, "a"), event(8, "b")])
    );
    let sessions = store.sessions(10).await.unwrap();
    assert_eq!(sessions[0].event_count, 2);
}

pub async fn an_empty_batch_stores_nothing(store: &SharedStore) {
    assert_eq!(insert_at(store, NOW, &[]).await, Inserted::default());
    assert!(store
        .events(EventQuery::default())
        .await
        .unwrap()
        .events
        .is_empty());
    assert!(store.sessions(10).await.unwrap().is_empty());
}

pub async fn events_are_listed_in_timestamp_order_then_arrival_order(store: &SharedStore) {
    let mut same_time = event(9, "second");
    same_time.timestamp = T0 + 2000;
    insert_at(store, NOW, &[event(3, "c"), event(2, "first")]).await;
    insert_at(store, NOW, &[same_time.clone(), event(1, "a")]).await;
    let want = ids(&[event(1, "a"), event(2, "first"), same_time, event(3, "c")]);
    assert_eq!(listed(store, of_session(SESSION)).await, want);
    assert_eq!(listed(store, EventQuery::default()).await, want);
}

pub async fn events_are_listed_by_session_by_client_or_both(store: &SharedStore) {
    let mut other_site = event(2, "b");
    other_site.client_id = "other".into();
    let elsewhere = in_session(OTHER_SESSION, 4, "d");
    insert_at(
        store,
        NOW,
        &[
            event(3, "c"),
            other_site.clone(),
            event(1, "a"),
            elsewhere.clone(),
        ],
    )
    .await;
    let by_client = |c: &str| EventQuery {
        client_id: Some(c.into()),
        ..EventQuery::default()
    };
    assert_eq!(
        listed(store, EventQuery::default()).await,
        ids(&[
            event(1, "a"),
            other_site.clone(),
            event(3, "c"),
            elsewhere.clone()
        ])
    );
    assert_eq!(
        listed(store, by_client("demo")).await,
        ids(&[event(1, "a"), event(3, "c"), elsewhere.clone()])
    );
    assert_eq!(
        listed(store, of_session(SESSION)).await,
        ids(&[event(1, "a"), other_site.clone(), event(3, "c")])
    );
    let both = EventQuery {
        client_id: Some("other".into()),
        ..of_session(SESSION)
    };
    assert_eq!(listed(store, both).await, ids(&[other_site]));
    assert!(listed(store, by_client("nobody")).await.is_empty());
}

pub async fn pages_cover_every_event_once_in_order_and_the_last_has_no_cursor(store: &SharedStore) {
    let sent: Vec<Event> = (1..=5).map(|n| event(n, "e")).collect();
    insert_at(store, NOW, &sent).await;
    for (limit, sizes) in [
        (2, vec![2, 2, 1]),
        (5, vec![5]),
        (1, vec![1; 5]),
        (4, vec![4, 1]),
    ] {
        let pages = all_pages(
            store,
            EventQuery {
                limit,
                ..of_session(SESSION)
            },
        )
        .await;
        let got: Vec<usize> = pages.iter().map(|p| p.events.len()).collect();
        assert_eq!(got, sizes, "limit {limit}");
        let all: Vec<String> = pages.into_iter().flat_map(|p| p.events).collect();
        assert_eq!(ids_of_listed(&all), ids(&sent), "limit {limit}");
    }
    // Exactly a multiple of the limit: the second page ends it.
    let pages = all_pages(
        store,
        EventQuery {
            limit: 5,
            ..EventQuery::default()
        },
    )
    .await;
    assert_eq!(pages.len(), 1);
}

pub async fn an_event_stored_between_two_pages_with_a_later_timestamp_is_on_a_later_page(
    store: &SharedStore,
) {
    insert_at(store, NOW, &[event(1, "a"), event(2, "b"), event(3, "c")]).await;
    let first = store
        .events(EventQuery {
            limit: 2,
            ..of_session(SESSION)
        })
        .await
        .unwrap();
    assert_eq!(
        ids_of_listed(&first.events),
        ids(&[event(1, "a"), event(2, "b")])
    );
    insert_at(store, NOW + 1, &[event(4, "d")]).await;
    let rest = all_pages(
        store,
        EventQuery {
            limit: 2,
            cursor: first.next_cursor,
            ..of_session(SESSION)
        },
    )
    .await;
    let rest: Vec<String> = rest.into_iter().flat_map(|p| p.events).collect();
    assert_eq!(ids_of_listed(&rest), ids(&[event(3, "c"), event(4, "d")]));
}

pub async fn a_cursor_the_store_never_gave_is_refused_as_invalid(store: &SharedStore) {
    insert_at(store, NOW, &[event(1, "a")]).await;
    for bad in ["", "nonsense", "'; DROP TABLE events; --", "\u{0}"] {
        let got = store
            .events(EventQuery {
                cursor: Some(bad.into()),
                ..EventQuery::default()
            })
            .await;
        assert!(
            matches!(got, Err(StoreError::Invalid(_))),
            "{bad:?}: {got:?}"
        );
    }
}

pub async fn the_visitor_of_a_session_is_the_one_its_first_stored_event_named(store: &SharedStore) {
    insert_at(store, NOW, &[event(1, "a")]).await;
    let mut later = event(2, "b");
    later.anonymous_id = OTHER_VISITOR.into();
    insert_at(store, NOW, &[later]).await;
    let asked = [SESSION.to_owned(), OTHER_SESSION.to_owned()];
    let found = store.visitors(&asked).await.unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[SESSION], VISITOR);
    assert!(store.visitors(&[]).await.unwrap().is_empty());
}

pub async fn sessions_are_listed_most_recently_active_first_with_their_counts(store: &SharedStore) {
    insert_at(
        store,
        NOW,
        &[
            event(5, "a"),
            event(1, "b"),
            in_session(OTHER_SESSION, 100, "x"),
        ],
    )
    .await;
    // Duplicates are not counted.
    insert_at(store, NOW, &[event(5, "a")]).await;
    let list = store.sessions(10).await.unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].session_id, OTHER_SESSION);
    let s = &list[1];
    assert_eq!(s.session_id, SESSION);
    assert_eq!(s.anonymous_id, VISITOR);
    assert_eq!(s.first_seen, i64::try_from(T0 + 1000).unwrap());
    assert_eq!(s.last_seen, i64::try_from(T0 + 5000).unwrap());
    assert_eq!(s.event_count, 2);
    assert_eq!(s.sealed_at, None);
}

pub async fn the_session_list_is_cut_at_the_limit(store: &SharedStore) {
    insert_at(
        store,
        NOW,
        &[event(1, "a"), in_session(OTHER_SESSION, 2, "b")],
    )
    .await;
    let list = store.sessions(1).await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].session_id, OTHER_SESSION);
}

pub async fn a_session_idle_longer_than_the_timeout_is_sealed_by_its_next_batch(
    store: &SharedStore,
) {
    assert!(insert_at(store, NOW, &[event(1, "a")])
        .await
        .sealed
        .is_empty());
    // Exactly the timeout is not longer than it.
    let at = NOW + SEAL_AFTER;
    assert!(insert_at(store, at, &[event(2, "b")])
        .await
        .sealed
        .is_empty());
    let sealed_at = at + SEAL_AFTER + 1;
    let done = insert_at(store, sealed_at, &[event(3, "c")]).await;
    assert_eq!(done.sealed, [SESSION]);
    assert_eq!(done.accepted, 1, "a sealed session's events are stored");
    // It stays sealed, however busy it is afterwards, keeping its sealed_at.
    assert_eq!(
        insert_at(store, sealed_at + 1, &[event(4, "d")])
            .await
            .sealed,
        [SESSION]
    );
    let row = &store.sessions(10).await.unwrap()[0];
    assert_eq!(row.sealed_at, Some(i64::try_from(sealed_at).unwrap()));
    assert_eq!(row.event_count, 4);
    assert_eq!(listed(store, of_session(SESSION)).await.len(), 4);
}

pub async fn idleness_is_measured_by_arrival_not_by_event_timestamps(store: &SharedStore) {
    // Event timestamps hours apart, arriving moments apart: not idle.
    let mut late = event(2, "b");
    late.timestamp = T0 + 10 * 3_600_000;
    insert_at(store, NOW, &[event(1, "a")]).await;
    assert!(insert_at(store, NOW + 1, &[late]).await.sealed.is_empty());
}

pub async fn retried_duplicates_do_not_keep_a_session_alive(store: &SharedStore) {
    insert_at(store, NOW, &[event(1, "a")]).await;
    insert_at(store, NOW + SEAL_AFTER / 2, &[event(1, "a")]).await;
    let done = insert_at(store, NOW + SEAL_AFTER + 1, &[event(2, "b")]).await;
    assert_eq!(done.sealed, [SESSION]);
}

pub async fn sealing_keeps_the_first_sealed_at_and_an_unknown_session_is_not_sealed(
    store: &SharedStore,
) {
    insert_at(store, NOW, &[event(1, "a")]).await;
    assert!(store.seal(SESSION, NOW + 5).await.unwrap());
    assert!(store.seal(SESSION, NOW + 1000).await.unwrap());
    let row = &store.sessions(10).await.unwrap()[0];
    assert_eq!(row.sealed_at, Some(i64::try_from(NOW + 5).unwrap()));
    assert!(!store.seal(OTHER_SESSION, NOW).await.unwrap());
    assert!(!store.seal("'; DROP TABLE sessions; --", NOW).await.unwrap());
    // A retry of a sealed session's event still says sealed.
    let retry = insert_at(store, NOW + 6, &[event(1, "a")]).await;
    assert_eq!(
        (retry.duplicates, retry.sealed.as_slice()),
        (1, [SESSION.to_owned()].as_slice())
    );
}

pub async fn the_answer_lists_the_sealed_sessions_of_the_batch_in_order_of_appearance(
    store: &SharedStore,
) {
    insert_at(store, NOW, &[event(1, "a")]).await;
    let t = NOW + SEAL_AFTER + 1;
    // OTHER_SESSION is new; SESSION has been idle.
    let done = insert_at(
        store,
        t,
        &[
            in_session(OTHER_SESSION, 2, "x"),
            event(3, "b"),
            event(4, "c"),
        ],
    )
    .await;
    assert_eq!(done.sealed, [SESSION]);
    store.seal(OTHER_SESSION, t).await.unwrap();
    let done = insert_at(
        store,
        t + 1,
        &[in_session(OTHER_SESSION, 5, "y"), event(6, "d")],
    )
    .await;
    assert_eq!(done.sealed, [OTHER_SESSION, SESSION]);
    // A sealed session not in this batch is not mentioned.
    let third = in_session("sess_018e0e5c-7c00-7abc-8def-0123456789ab", 7, "z");
    assert!(insert_at(store, t + 2, &[third]).await.sealed.is_empty());
}

fn identified(mut e: Event, user: &str) -> Event {
    e.user_id = Some(user.into());
    e
}

pub async fn an_event_with_a_user_id_links_its_visitor_in_earlier_and_later_sessions(
    store: &SharedStore,
) {
    // An earlier session of the visitor, before it identified.
    insert_at(store, NOW, &[in_session(OTHER_SESSION, 1, "screen_view")]).await;
    insert_at(
        store,
        NOW,
        &[
            event(2, "screen_view"),
            identified(event(3, "login"), "user-1"),
        ],
    )
    .await;
    let list = store.sessions(10).await.unwrap();
    assert_eq!(list.len(), 2);
    for s in &list {
        assert_eq!(s.user_id.as_deref(), Some("user-1"), "{}", s.session_id);
    }
    // Another visitor stays anonymous.
    let mut stranger = in_session("sess_018e0e5c-7c00-7abc-8def-0123456789ab", 4, "x");
    stranger.anonymous_id = OTHER_VISITOR.into();
    insert_at(store, NOW, &[stranger]).await;
    let list = store.sessions(10).await.unwrap();
    assert_eq!(list.iter().filter(|s| s.user_id.is_none()).count(), 1);
}

pub async fn the_latest_identification_by_event_time_wins_whatever_the_arrival_order(
    store: &SharedStore,
) {
    insert_at(store, NOW, &[identified(event(5, "login"), "later")]).await;
    // Arrives after, but happened before (an outbox sent late).
    insert_at(store, NOW + 1, &[identified(event(2, "login"), "earlier")]).await;
    assert_eq!(
        store.sessions(10).await.unwrap()[0].user_id.as_deref(),
        Some("later")
    );
    insert_at(store, NOW + 2, &[identified(event(9, "login"), "latest")]).await;
    assert_eq!(
        store.sessions(10).await.unwrap()[0].user_id.as_deref(),
        Some("latest")
    );
}

pub async fn a_server_event_with_a_user_id_links_too(store: &SharedStore) {
    insert_at(store, NOW, &[event(1, "screen_view")]).await;
    let server = identified(event(2, "identify"), "user-9");
    let mut sent = new_event(&server);
    sent.source = Source::Server;
    store
        .insert(Batch {
            events: vec![sent],
            received_at: NOW,
            seal_after_ms: SEAL_AFTER,
        })
        .await
        .unwrap();
    assert_eq!(
        store.sessions(10).await.unwrap()[0].user_id.as_deref(),
        Some("user-9")
    );
}
