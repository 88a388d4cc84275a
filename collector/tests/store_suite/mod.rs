//! The behaviour suite every store passes: the rules of the store boundary
//! (`sessionmark_collector::store`), checked through the `Store` trait only.
//!
//! A store's test binary opens a fresh, empty store per test and hands it to
//! `store_suite!`, which expands one `#[tokio::test]` per case below:
//!
//! ```ignore
//! async fn open() -> store_suite::Fixture { ... }
//! store_suite!(open);
//! ```
#![allow(dead_code)]

pub mod cases;
pub mod metrics_cases;

use sessionmark::wire::Event;
use sessionmark_collector::store::{
    Batch, EventPage, EventQuery, Inserted, NewEvent, SharedStore, Source,
};

/// A fresh store, and whatever must live as long as it (a temp folder).
pub struct Fixture {
    pub store: SharedStore,
    _keep: Box<dyn std::any::Any + Send>,
}

impl Fixture {
    pub fn new(store: SharedStore, keep: impl std::any::Any + Send) -> Fixture {
        Fixture {
            store,
            _keep: Box::new(keep),
        }
    }
}

/// The server clock of the first batch of each case.
pub const NOW: u64 = 1_800_000_000_000;
/// The seal timeout of the cases.
pub const SEAL_AFTER: u64 = 60_000;

/// A browser event to store, with the JSON the tracker would send.
pub fn new_event(e: &Event) -> NewEvent {
    NewEvent::new(e.clone(), crate::common::encode(e), Source::Browser, None)
}

/// Stores `events` as one batch received at `now`; panics on a store error.
pub async fn insert_at(store: &SharedStore, now: u64, events: &[Event]) -> Inserted {
    store
        .insert(Batch {
            events: events.iter().map(new_event).collect(),
            received_at: now,
            seal_after_ms: SEAL_AFTER,
        })
        .await
        .unwrap()
}

/// Every page of a query, following the cursors; the pages as listed.
pub async fn all_pages(store: &SharedStore, mut query: EventQuery) -> Vec<EventPage> {
    let mut pages = Vec::new();
    loop {
        let page = store.events(query.clone()).await.unwrap();
        let next = page.next_cursor.clone();
        pages.push(page);
        match next {
            Some(c) => query.cursor = Some(c),
            None => return pages,
        }
        assert!(pages.len() < 10_000, "the cursors never end");
    }
}

/// The `event_id`s of listed events, in order.
pub fn ids_of_listed(events: &[String]) -> Vec<String> {
    events
        .iter()
        .map(|text| {
            let v: serde_json::Value = serde_json::from_str(text).unwrap();
            v["event_id"].as_str().unwrap().to_owned()
        })
        .collect()
}

pub fn ids(events: &[Event]) -> Vec<String> {
    events.iter().map(|e| e.event_id.clone()).collect()
}

/// Expands one `#[tokio::test]` per case of `cases`, each on a fresh store
/// from `$open` (an async fn returning a `Fixture`).
#[macro_export]
macro_rules! store_suite {
    ($open:path) => {
        $crate::store_suite!(@cases $open;
            a_new_event_is_stored_and_listed_as_the_json_it_arrived_as,
            an_event_id_already_stored_is_a_duplicate_and_the_first_copy_stays,
            an_event_id_repeated_within_one_batch_is_stored_once,
            an_empty_batch_stores_nothing,
            events_are_listed_in_timestamp_order_then_arrival_order,
            events_are_listed_by_session_by_client_or_both,
            pages_cover_every_event_once_in_order_and_the_last_has_no_cursor,
            an_event_stored_between_two_pages_with_a_later_timestamp_is_on_a_later_page,
            a_cursor_the_store_never_gave_is_refused_as_invalid,
            the_visitor_of_a_session_is_the_one_its_first_stored_event_named,
            sessions_are_listed_most_recently_active_first_with_their_counts,
            the_session_list_is_cut_at_the_limit,
            a_session_idle_longer_than_the_timeout_is_sealed_by_its_next_batch,
            idleness_is_measured_by_arrival_not_by_event_timestamps,
            retried_duplicates_do_not_keep_a_session_alive,
            sealing_keeps_the_first_sealed_at_and_an_unknown_session_is_not_sealed,
            the_answer_lists_the_sealed_sessions_of_the_batch_in_order_of_appearance,
            an_event_with_a_user_id_links_its_visitor_in_earlier_and_later_sessions,
            the_latest_identification_by_event_time_wins_whatever_the_arrival_order,
            a_server_event_with_a_user_id_links_too,
        );
        $crate::store_suite!(@metrics $open;
            the_metrics_of_a_day_are_the_hand_worked_ones,
            a_visit_spanning_midnight_counts_on_the_day_it_started,
            a_range_with_no_data_answers_zeros_and_empty_lists,
            a_visitor_identifying_mid_visit_and_a_user_on_two_devices_are_one_person,
            a_conversion_by_a_server_event_only_counts_for_the_visit_s_site,
            one_site_or_all_sites_are_counted,
            other_goals_count_other_events_as_conversions,
            retried_events_change_no_figure,
            sites_are_listed_with_their_events_most_recent_first,
        );
    };
    (@cases $open:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                let fixture = $open().await;
                store_suite::cases::$case(&fixture.store).await;
            }
        )*
    };
    (@metrics $open:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                let fixture = $open().await;
                store_suite::metrics_cases::$case(&fixture.store).await;
            }
        )*
    };
}
