//! The ClickHouse tables, created when missing. Every statement here is
//! accepted by ClickHouse 18.16 (Debian's) and by current releases.
//!
//! - `events`: one row per stored event. Typed columns for what queries
//!   filter and count, and `body`, the event's JSON exactly as stored (what
//!   `GET /v1/events` answers). `ReplacingMergeTree(precedence)` keyed by
//!   `(client_id, session_id, event_id)`: two copies of one event (a retry
//!   that raced past the duplicate check, from two collectors at once)
//!   become one row when ClickHouse merges, the first arrival kept (highest
//!   `precedence`). Reads that count use `FINAL`, which applies the same
//!   rule before merges.
//!   Partitioned by the event's month (UTC): a retried event is always in
//!   the partition of its first copy, and a time range reads only its
//!   months. Sorted by site, then session: a session id is `sess_` + UUIDv7,
//!   so within a site sessions are in start-time order, a site's time range
//!   is a contiguous run of each month, and one session's events sit
//!   together.
//! - `seals`: one row per sealing of a session; the earliest `sealed_at`
//!   counts (reads take `min`, merges keep the highest `precedence`).
//! - `links`: visitor -> user, a row per visitor and group commit that
//!   stored an event with a `user_id`; the latest by event time
//!   (`linked_at`) counts, the later arrival among equals (reads pick it,
//!   merges keep the highest `linked_at`).

use super::address::is_identifier;

/// Table names, unqualified.
pub const EVENTS: &str = "events";
pub const SEALS: &str = "seals";
pub const LINKS: &str = "links";

/// `precedence` of a row written at `arrival`: earlier arrivals rank
/// higher, so `ReplacingMergeTree(precedence)` keeps the first copy.
pub fn precedence(arrival: u64) -> u64 {
    u64::MAX - arrival
}

/// The statements that create the database and its tables, in order; each
/// is a no-op when its object exists. `None` when `database` is not a bare
/// identifier.
pub fn create_statements(database: &str) -> Option<Vec<String>> {
    if !is_identifier(database) {
        return None;
    }
    Some(vec![
        format!("CREATE DATABASE IF NOT EXISTS {database}"),
        format!(
            "CREATE TABLE IF NOT EXISTS {database}.{EVENTS} (
                event_id String,
                session_id String,
                anonymous_id String,
                user_id String,
                name String,
                timestamp UInt64,
                client_id String,
                source String,
                path String,
                referrer_host String,
                page_count UInt64,
                engaged_time UInt64,
                amount Float64,
                navigation_type String,
                received_at UInt64,
                arrival UInt64,
                precedence UInt64,
                body String
            ) ENGINE = ReplacingMergeTree(precedence)
            PARTITION BY toYYYYMM(toDateTime(intDiv(timestamp, 1000), 'UTC'))
            ORDER BY (client_id, session_id, event_id)"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {database}.{SEALS} (
                session_id String,
                sealed_at UInt64,
                precedence UInt64
            ) ENGINE = ReplacingMergeTree(precedence)
            ORDER BY session_id"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {database}.{LINKS} (
                anonymous_id String,
                user_id String,
                linked_at UInt64,
                arrival UInt64
            ) ENGINE = ReplacingMergeTree(linked_at)
            ORDER BY anonymous_id"
        ),
    ])
}

/// The partition (`YYYYMM`, UTC) of an event at `timestamp_ms`: the same
/// value as the table's `PARTITION BY` expression, so one insert can be
/// split per partition.
pub fn partition_of(timestamp_ms: u64) -> u32 {
    // Days since 1970-01-01 to a civil date (the inverse of H. Hinnant's
    // days_from_civil). Agrees with ClickHouse up to 2105, past any
    // timestamp ingest accepts; beyond, it is only a grouping key.
    let seconds = timestamp_ms / 1000;
    let days = seconds / 86_400;
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    u32::try_from(year * 100 + month).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_name_that_is_not_an_identifier_gets_no_statements() {
        assert!(create_statements("sessionmark").is_some());
        assert!(create_statements("x; DROP DATABASE system").is_none());
        assert!(create_statements("").is_none());
    }

    #[test]
    fn partitions_are_utc_months() {
        assert_eq!(partition_of(0), 197001);
        assert_eq!(partition_of(1_709_318_400_000), 202403); // 2024-03-01T18:40Z
        assert_eq!(partition_of(1_709_251_199_999), 202402); // 2024-02-29T23:59:59.999Z
        assert_eq!(partition_of(1_709_251_200_000), 202403);
        assert_eq!(partition_of(1_798_761_599_000), 202612); // 2026-12-31T23:59:59Z
        assert_eq!(partition_of(1_798_761_600_000), 202701);
    }

    #[test]
    fn earlier_arrivals_take_precedence() {
        assert!(precedence(1) > precedence(2));
        assert_eq!(precedence(0), u64::MAX);
    }
}
