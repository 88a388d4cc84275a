//! The store behaviour suite on SQLite, and what only SQLite promises.

mod common;
mod store_suite;

use common::TempDir;
use sessionmark_collector::store::sqlite::SqliteStore;
use std::sync::Arc;
use store_suite::Fixture;

async fn open() -> Fixture {
    let dir = TempDir::new("store");
    let store = SqliteStore::open(&dir.0.join("data/store.db")).unwrap();
    Fixture::new(Arc::new(store), dir)
}

store_suite!(open);

use common::{event, SESSION, T0};
use sessionmark::wire::Event;
use sessionmark_collector::metrics::{Interval, MetricsQuery};
use sessionmark_collector::store::{EventQuery, Store};
use store_suite::{ids, ids_of_listed, insert_at, NOW};

/// The first schema, as databases written before versioning have it.
const SCHEMA_0: &str = "
CREATE TABLE events (
    event_id TEXT PRIMARY KEY, session_id TEXT NOT NULL, anonymous_id TEXT NOT NULL,
    name TEXT NOT NULL, timestamp INTEGER NOT NULL, received_at INTEGER NOT NULL,
    client_id TEXT NOT NULL, body TEXT NOT NULL);
CREATE INDEX events_by_session ON events (session_id, timestamp);
CREATE INDEX events_by_client ON events (client_id, timestamp);
CREATE INDEX events_by_time ON events (timestamp);
CREATE INDEX events_by_session_arrival ON events (session_id, received_at);
CREATE TABLE sessions (
    session_id TEXT PRIMARY KEY, anonymous_id TEXT NOT NULL, first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL, event_count INTEGER NOT NULL, sealed_at INTEGER NULL);
CREATE INDEX sessions_by_last_seen ON sessions (last_seen);
";

/// Tables with their columns, and indexes with theirs (and whether partial),
/// of a database file.
fn shape(path: &std::path::Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT m.type, m.name, group_concat(p.name || ' ' || p.type || ' ' || p.\"notnull\" || ' ' || coalesce(p.dflt_value, ''), ', ')
             FROM sqlite_master m LEFT JOIN pragma_table_info(m.name) p
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' GROUP BY m.name
             UNION ALL
             SELECT m.type, m.name, group_concat(i.name, ', ')
                 || CASE WHEN m.sql LIKE '% WHERE %' THEN ' (partial)' ELSE '' END
             FROM sqlite_master m JOIN pragma_index_info(m.name) i
             WHERE m.type = 'index' AND m.name NOT LIKE 'sqlite_%' GROUP BY m.name
             ORDER BY 1, 2",
        )
        .unwrap();
    let rows = stmt
        .query_map([], |r| {
            Ok(format!(
                "{} {}: {}",
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?.unwrap_or_default()
            ))
        })
        .unwrap();
    rows.collect::<Result<_, _>>().unwrap()
}

#[tokio::test]
async fn a_database_of_the_first_schema_is_migrated_on_open_and_keeps_its_events() {
    let dir = TempDir::new("migrate");
    let old = dir.0.join("old.db");
    {
        let conn = rusqlite::Connection::open(&old).unwrap();
        conn.execute_batch(SCHEMA_0).unwrap();
        let e = Event {
            // A field the first schema did not know, kept in the JSON.
            user_id: Some("user-0".into()),
            ..event(1, "screen_view")
        };
        conn.execute(
            "INSERT INTO events VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            rusqlite::params![
                e.event_id,
                e.session_id,
                e.anonymous_id,
                e.name,
                i64::try_from(e.timestamp).unwrap(),
                i64::try_from(NOW).unwrap(),
                e.client_id,
                serde_json::to_string(&e).unwrap()
            ],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO sessions VALUES (?1, ?2, ?3, ?3, 1, NULL)",
            rusqlite::params![
                e.session_id,
                e.anonymous_id,
                i64::try_from(e.timestamp).unwrap()
            ],
        )
        .unwrap();
    }
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&old).unwrap());
    let fresh = dir.0.join("fresh.db");
    drop(SqliteStore::open(&fresh).unwrap());
    assert_eq!(
        shape(&old),
        shape(&fresh),
        "the migrated schema is the current one"
    );

    let page = store
        .events(EventQuery {
            session_id: Some(SESSION.into()),
            ..EventQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(ids_of_listed(&page.events), ids(&[event(1, "screen_view")]));
    assert_eq!(
        store.sessions(10).await.unwrap()[0].user_id.as_deref(),
        Some("user-0"),
        "the link is found in the stored JSON"
    );
    // The visit's sums are found too.
    let m = store
        .metrics(MetricsQuery {
            client_id: Some("demo".into()),
            from: T0,
            to: T0 + 86_400_000,
            interval: Interval::Hour,
            now: NOW,
            goals: vec!["purchase".into()],
        })
        .await
        .unwrap();
    assert_eq!((m.visits, m.pageviews, m.unique_visitors), (1, 1, 1));
    assert_eq!(m.entry_pages[0].value, "/page/1");
    assert_eq!(m.bounce_rate, 1.0);
    // The old event's arrival still counts for sealing.
    let seal_after = store_suite::SEAL_AFTER;
    assert!(insert_at(&store, NOW + seal_after, &[event(2, "a")])
        .await
        .sealed
        .is_empty());
    assert_eq!(
        insert_at(&store, NOW + 2 * seal_after + 1, &[event(3, "b")])
            .await
            .sealed,
        [SESSION]
    );
    // Opening again changes nothing.
    drop(store);
    let again = SqliteStore::open(&old).unwrap();
    assert_eq!(shape(&old), shape(&fresh));
    assert_eq!(again.sessions(10).await.unwrap()[0].event_count, 3);
}

/// What version 3 (the schema before the time-led metrics indexes) had
/// instead of version 4's.
const INDEXES_3: &str = "
DROP INDEX events_by_name;
DROP INDEX events_pageviews;
CREATE INDEX events_by_name ON events (name, session_id, source, path);
PRAGMA user_version = 3;
";

#[tokio::test]
async fn a_database_of_version_3_is_migrated_on_open_and_its_metrics_stay_the_same() {
    let dir = TempDir::new("migrate3");
    let old = dir.0.join("old.db");
    let visit = || {
        let shop = |e: Event| Event {
            client_id: "shop".into(),
            ..e
        };
        vec![
            shop(Event {
                path: "/home".into(),
                ..event(1, "screen_view")
            }),
            shop(Event {
                path: "/product".into(),
                ..event(2, "screen_view")
            }),
            shop(Event {
                properties: sessionmark::wire::Props(r#"{"amount":30}"#.into()),
                ..event(3, "purchase")
            }),
        ]
    };
    let query = MetricsQuery {
        client_id: Some("shop".into()),
        from: T0,
        to: T0 + 86_400_000,
        interval: Interval::Hour,
        now: NOW,
        goals: vec!["purchase".into()],
    };
    let before = {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&old).unwrap());
        insert_at(&store, NOW, &visit()).await;
        store.metrics(query.clone()).await.unwrap()
    };
    rusqlite::Connection::open(&old)
        .unwrap()
        .execute_batch(INDEXES_3)
        .unwrap();
    let fresh = dir.0.join("fresh.db");
    drop(SqliteStore::open(&fresh).unwrap());
    assert_ne!(shape(&old), shape(&fresh));

    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&old).unwrap());
    assert_eq!(
        shape(&old),
        shape(&fresh),
        "the migrated schema is the current one"
    );
    let after = store.metrics(query).await.unwrap();
    assert_eq!(after, before);
    assert_eq!((after.pageviews, after.conversions), (2, 1));
    assert_eq!(after.top_pages.len(), 2);
    assert_eq!(after.revenue, 30.0);
    // And it goes on storing.
    assert_eq!(insert_at(&store, NOW, &[event(4, "a")]).await.accepted, 1);
}

#[tokio::test]
async fn reads_answer_while_another_connection_holds_the_write_lock() {
    let dir = TempDir::new("readlock");
    let path = dir.0.join("db.sqlite");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).unwrap());
    insert_at(&store, NOW, &[event(1, "a")]).await;
    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let page = store.events(EventQuery::default()).await.unwrap();
    assert_eq!(page.events.len(), 1);
    assert_eq!(store.sessions(10).await.unwrap().len(), 1);
    other.execute_batch("ROLLBACK").unwrap();
}

#[tokio::test]
async fn two_hundred_concurrent_batches_are_all_stored_once() {
    let dir = TempDir::new("group");
    let sqlite = SqliteStore::open(&dir.0.join("db.sqlite")).unwrap();
    let store: Arc<dyn Store> = Arc::new(sqlite.clone());
    let before = sqlite.commits();
    let batches: Vec<_> = (0..200u64)
        .map(|b| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let events: Vec<_> = (0..10).map(|i| event(b * 10 + i + 1, "e")).collect();
                insert_at(&store, NOW, &events).await.accepted
            })
        })
        .collect();
    let mut accepted = 0;
    for b in batches {
        accepted += b.await.unwrap();
    }
    assert_eq!(accepted, 2000);
    let listed = store_suite::all_pages(&store, EventQuery::default()).await;
    assert_eq!(listed.iter().map(|p| p.events.len()).sum::<usize>(), 2000);
    // How many groups they formed depends on timing; never more than one each.
    let commits = sqlite.commits() - before;
    assert!((1..=200).contains(&commits), "{commits} commits");
}
