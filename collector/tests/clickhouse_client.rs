//! The ClickHouse client and schema against a real server (the test run's,
//! see `common::clickhouse`): what the store builds on.

mod common;

use common::clickhouse::{fresh_database, server_url};
use serde_json::{json, Value};
use sessionmark_collector::store::clickhouse::schema::{
    create_statements, partition_of, precedence,
};
use sessionmark_collector::store::clickhouse::{sql, Address, ClickHouseError, Client};

fn client() -> Client {
    let url = format!(
        "clickhouse://{}/x",
        server_url().trim_start_matches("http://")
    );
    Client::new(&Address::parse(&url, |_| None).unwrap()).unwrap()
}

/// A fresh database with the store's tables.
async fn fresh_schema(tag: &str) -> (Client, String) {
    let ch = client();
    let db = fresh_database(tag);
    for statement in create_statements(&db).unwrap() {
        ch.execute(&statement).await.unwrap();
    }
    (ch, db)
}

fn event_row(event_id: &str, name: &str, arrival: u64, body: &str) -> Value {
    json!({
        "event_id": event_id,
        "session_id": "sess_018e0e5c-5a00-7abc-8def-0123456789ab",
        "anonymous_id": "anon_7c9e6679-7425-40de-944b-e07fc1f90ae7",
        "user_id": "",
        "name": name,
        "timestamp": 1_709_318_400_000u64,
        "client_id": "demo",
        "source": "browser",
        "path": "/",
        "referrer_host": "",
        "page_count": 1,
        "engaged_time": 0,
        "amount": 0.0,
        "navigation_type": "",
        "received_at": arrival,
        "arrival": arrival,
        "precedence": precedence(arrival),
        "body": body,
    })
}

fn json_each_row(rows: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for r in rows {
        serde_json::to_writer(&mut out, r).unwrap();
        out.push(b'\n');
    }
    out
}

#[tokio::test]
async fn the_server_answers_ok_on_its_root() {
    client().ping().await.unwrap();
}

#[tokio::test]
async fn the_schema_is_created_on_an_empty_server_and_creating_it_again_changes_nothing() {
    let (ch, db) = fresh_schema("schema").await;
    for statement in create_statements(&db).unwrap() {
        ch.execute(&statement).await.unwrap();
    }
    #[derive(serde::Deserialize)]
    struct Table {
        name: String,
        engine: String,
    }
    let tables: Vec<Table> = ch
        .rows(&format!(
            "SELECT name, engine FROM system.tables WHERE database = {} ORDER BY name",
            sql::string(&db)
        ))
        .await
        .unwrap();
    let got: Vec<(&str, &str)> = tables
        .iter()
        .map(|t| (t.name.as_str(), t.engine.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("events", "ReplacingMergeTree"),
            ("links", "ReplacingMergeTree"),
            ("seals", "ReplacingMergeTree")
        ]
    );
}

#[tokio::test]
async fn rows_go_in_and_come_out_as_json_each_row_with_every_character_kept() {
    let (ch, db) = fresh_schema("roundtrip").await;
    // Every ASCII character (controls included), and beyond the BMP.
    let all_ascii: String = (0u8..=127).map(char::from).collect();
    let body = format!("{{\"title\":{}}}", json!(format!("{all_ascii}é✓😀\\'")));
    let row = event_row("018e0e5c-5a00-7abc-8def-000000000001", "x", 1, &body);
    ch.insert(&format!("{db}.events"), &json_each_row(&[row]))
        .await
        .unwrap();
    #[derive(serde::Deserialize)]
    struct Stored {
        body: String,
        timestamp: u64,
        precedence: u64,
    }
    let rows: Vec<Stored> = ch
        .rows(&format!(
            "SELECT body, timestamp, precedence FROM {db}.events"
        ))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].body, body);
    assert_eq!(rows[0].timestamp, 1_709_318_400_000);
    // 64-bit integers come back as numbers, not strings, and exact.
    assert_eq!(rows[0].precedence, u64::MAX - 1);
}

#[tokio::test]
async fn a_quoted_string_reads_back_exactly() {
    let ch = client();
    let all_ascii: String = (0u8..=127).map(char::from).collect();
    for s in [
        all_ascii.as_str(),
        "",
        "'",
        "\\",
        "\\'",
        "'; DROP TABLE events; --",
        "é✓😀",
    ] {
        #[derive(serde::Deserialize)]
        struct One {
            s: String,
        }
        let got: Vec<One> = ch
            .rows(&format!("SELECT {} AS s", sql::string(s)))
            .await
            .unwrap();
        assert_eq!(got[0].s, s);
    }
}

#[tokio::test]
async fn two_copies_of_one_event_read_as_the_first_with_final_before_and_after_merges() {
    let (ch, db) = fresh_schema("replacing").await;
    let id = "018e0e5c-5a00-7abc-8def-000000000002";
    // Two inserts: two parts, so nothing is merged yet.
    for (name, arrival) in [("first", 10), ("second", 20)] {
        let row = event_row(id, name, arrival, "{}");
        ch.insert(&format!("{db}.events"), &json_each_row(&[row]))
            .await
            .unwrap();
    }
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Named {
        name: String,
    }
    let read = |q: String| {
        let ch = ch.clone();
        async move { ch.rows::<Named>(&q).await.unwrap() }
    };
    let all = format!("SELECT name FROM {db}.events ORDER BY arrival");
    let fin = format!("SELECT name FROM {db}.events FINAL");
    assert_eq!(read(all.clone()).await.len(), 2, "not merged yet");
    let first = vec![Named {
        name: "first".into(),
    }];
    assert_eq!(read(fin.clone()).await, first);
    ch.execute(&format!("OPTIMIZE TABLE {db}.events FINAL"))
        .await
        .unwrap();
    assert_eq!(read(all).await, first, "merged into the first copy");
    assert_eq!(read(fin).await, first);
}

#[tokio::test]
async fn partitions_computed_here_are_the_ones_clickhouse_computes() {
    let ch = client();
    // Up to 2100: ingest refuses timestamps more than a day ahead, and past
    // 2105 ClickHouse versions disagree among themselves.
    let stamps: [u64; 8] = [
        1,
        951_782_399_999,   // 2000-02-28T23:59:59.999Z
        951_868_800_000,   // 2000-03-01
        1_709_251_199_999, // 2024-02-29T23:59:59.999Z
        1_709_251_200_000,
        1_798_761_599_999,
        1_798_761_600_000,
        4_102_444_800_000, // 2100-01-01
    ];
    #[derive(serde::Deserialize)]
    struct Month {
        m: u32,
    }
    for ts in stamps {
        let got: Vec<Month> = ch
            .rows(&format!(
                "SELECT toYYYYMM(toDateTime(intDiv(toUInt64({ts}), 1000), 'UTC')) AS m"
            ))
            .await
            .unwrap();
        assert_eq!(got[0].m, partition_of(ts), "{ts}");
    }
}

#[tokio::test]
async fn a_server_error_carries_clickhouse_s_code() {
    let err = client()
        .execute("SELECT * FROM no_such_database.no_such_table")
        .await
        .unwrap_err();
    match err {
        ClickHouseError::Server { code, .. } => assert_eq!(code, Some(81), "unknown database"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_wrong_password_is_refused_by_the_server() {
    let url = format!(
        "clickhouse://default:wrong@{}/x",
        server_url().trim_start_matches("http://")
    );
    let ch = Client::new(&Address::parse(&url, |_| None).unwrap()).unwrap();
    match ch.execute("SELECT 1").await.unwrap_err() {
        ClickHouseError::Server { code, .. } => {
            // 193 on 18.16 (wrong password), 516 on current releases.
            assert!(matches!(code, Some(193 | 516)), "{code:?}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_server_that_is_not_there_is_unreachable() {
    // A port that was free a moment ago: nothing listens on it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("clickhouse://127.0.0.1:{port}/x");
    let ch = Client::new(&Address::parse(&url, |_| None).unwrap()).unwrap();
    assert!(matches!(
        ch.ping().await,
        Err(ClickHouseError::Unreachable(_))
    ));
}
