//! One `events` row per stored event, as a `JSONEachRow` line: the typed
//! columns the queries use, taken from the checked event, and the event's
//! JSON as it arrived.

use super::schema::precedence;
use crate::store::{columns, NewEvent};

/// The columns of `events` (see `schema`), borrowed from the event.
#[derive(Debug, serde::Serialize)]
pub struct EventRow<'a> {
    pub event_id: &'a str,
    pub session_id: &'a str,
    pub anonymous_id: &'a str,
    /// The event's `user_id` (identify), else empty.
    pub user_id: &'a str,
    pub name: &'a str,
    pub timestamp: u64,
    pub client_id: &'a str,
    /// `browser` or `server`.
    pub source: &'static str,
    pub path: &'a str,
    /// The referrer's host as the metrics count it (`NewEvent::referrer_host`).
    pub referrer_host: &'a str,
    pub page_count: u64,
    pub engaged_time: u64,
    /// The numeric `amount` property (goal events), else 0.
    pub amount: f64,
    pub navigation_type: &'a str,
    /// The collector's clock when the batch arrived (ms).
    pub received_at: u64,
    /// Listing order among equal timestamps (see `Arrivals`).
    pub arrival: u64,
    pub precedence: u64,
    /// The event's JSON object text, as stored and listed.
    pub body: &'a str,
}

impl<'a> EventRow<'a> {
    pub fn new(new: &'a NewEvent, received_at: u64, arrival: u64) -> EventRow<'a> {
        let e = &new.event;
        EventRow {
            event_id: &e.event_id,
            session_id: &e.session_id,
            anonymous_id: &e.anonymous_id,
            user_id: e.user_id.as_deref().unwrap_or(""),
            name: &e.name,
            timestamp: e.timestamp,
            client_id: &e.client_id,
            source: new.source.as_str(),
            path: &e.path,
            referrer_host: &new.referrer_host,
            page_count: e.page_count.unwrap_or(0),
            engaged_time: e.engaged_time.unwrap_or(0),
            amount: columns::amount(&e.properties.0).unwrap_or(0.0),
            navigation_type: e.navigation_type.as_deref().unwrap_or(""),
            received_at,
            arrival,
            precedence: precedence(arrival),
            body: &new.body,
        }
    }

    /// Appends this row and its line break to a `JSONEachRow` body.
    pub fn write_line(&self, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        serde_json::to_writer(&mut *out, self)?;
        out.push(b'\n');
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Source;
    use sessionmark::wire::{Event, Props};

    fn new_event(body: &str, props: &str, referrer: &str) -> NewEvent {
        NewEvent {
            event: Event {
                event_id: "018e0e5c-5a00-7abc-8def-000000000001".into(),
                name: "purchase".into(),
                session_id: "sess_018e0e5c-5a00-7abc-8def-0123456789ab".into(),
                anonymous_id: "anon_7c9e6679-7425-40de-944b-e07fc1f90ae7".into(),
                timestamp: 1_709_318_400_000,
                referrer: referrer.into(),
                client_id: "demo".into(),
                engaged_time: Some(1500),
                properties: Props(props.into()),
                ..Event::default()
            },
            body: body.into(),
            source: Source::Server,
            referrer_host: referrer.into(),
        }
    }

    #[test]
    fn a_row_holds_the_typed_columns_and_the_body_as_it_arrived() {
        let body = r#"{"event_id":"x","user_id":"u-42","properties":{"amount":12.5}}"#;
        let mut e = new_event(body, r#"{"amount":12.5}"#, "news.example.com");
        e.event.user_id = Some("u-42".into());
        let row = EventRow::new(&e, 7, 9);
        let mut line = Vec::new();
        row.write_line(&mut line).unwrap();
        assert_eq!(line.last(), Some(&b'\n'));
        let v: serde_json::Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(v["user_id"], "u-42");
        assert_eq!(v["amount"], 12.5);
        assert_eq!(v["referrer_host"], "news.example.com");
        assert_eq!(v["source"], "server");
        assert_eq!(v["engaged_time"], 1500);
        assert_eq!(v["page_count"], 0);
        assert_eq!(v["navigation_type"], "");
        assert_eq!(v["received_at"], 7);
        assert_eq!(v["arrival"], 9);
        assert_eq!(v["precedence"], u64::MAX - 9);
        assert_eq!(v["body"], body);
    }
}
