//! The store boundary: everything the HTTP layer needs of a store, as one
//! trait, [`Store`]. SQLite ([`sqlite::SqliteStore`]) is the embedded
//! default; another store plugs in by implementing the trait, and the
//! behaviour suite (`collector/tests/store_suite/`) holds every store to the
//! same rules.
//!
//! The trait speaks in plain Rust values (no database types), and every
//! method is async, so a store over HTTP implements it as directly as an
//! embedded one. A store never reads a clock: the server time comes in as an
//! argument (`received_at`, `now_ms`).
//!
//! The rules every store keeps:
//! - **Stored once.** An event is stored only if its `event_id` is not stored
//!   yet (an id repeated inside one batch counts once); the rest are
//!   duplicates, acknowledged and left as they were.
//! - **Durable before answered.** `insert` returns `Ok` only once its events
//!   would survive a crash of the collector (`kill -9`, power loss within what
//!   the store promises); an `Err` means nothing is acknowledged and the
//!   sender retries.
//! - **Sealing.** Before a batch is stored, each of its sessions whose last
//!   stored event was received more than `seal_after_ms` before the batch's
//!   `received_at` is sealed (retried duplicates do not count as activity);
//!   a sealed session keeps its first `sealed_at` and its later events are
//!   still stored.
//! - **Order.** Events are listed in timestamp order, then arrival order.
//! - **Links.** Each stored event with a `user_id` links its visitor
//!   (`anonymous_id`) to that user; a visitor's latest link by event
//!   timestamp wins. All of the visitor's sessions, earlier ones included,
//!   count under that user.

pub mod clickhouse;
pub mod columns;
pub mod config;
pub mod sqlite;

pub use config::StoreConfig;

use crate::metrics::{Metrics, MetricsQuery, Site};
use async_trait::async_trait;
use sessionmark::wire::Event;
use std::collections::HashMap;
use std::sync::Arc;

/// `SESSIONMARK_SEAL_AFTER_MS` default: 30 minutes, the tracker's own
/// session timeout.
pub const DEFAULT_SEAL_AFTER_MS: u64 = 30 * 60 * 1000;
/// Most events in one page of [`Store::events`] unless asked otherwise.
pub const DEFAULT_PAGE_EVENTS: u32 = 1000;
/// Most events one page may be asked for.
pub const MAX_PAGE_EVENTS: u32 = 5000;
/// Most sessions `GET /v1/sessions` lists.
pub const SESSION_LIST_LIMIT: u32 = 1000;

/// What the collector needs of a store. Shared by every request as a
/// [`SharedStore`].
#[async_trait]
pub trait Store: Send + Sync {
    /// Which store this is and where its data lives, for the start-up line
    /// (`sqlite .data/sessionmark.db`).
    fn describe(&self) -> String;

    /// Stores a batch under the rules of this module (stored once, durable
    /// before answered, sealing first).
    async fn insert(&self, batch: Batch) -> Result<Inserted, StoreError>;

    /// Seals a session now, keeping an earlier `sealed_at`; `false` when no
    /// event of it is stored.
    async fn seal(&self, session_id: &str, now_ms: u64) -> Result<bool, StoreError>;

    /// The visitor (`anonymous_id`) of each of these sessions that has a
    /// stored event: the one its first stored event named. Unknown sessions
    /// are absent from the map.
    async fn visitors(&self, session_ids: &[String])
        -> Result<HashMap<String, String>, StoreError>;

    /// One page of stored events, each the JSON object text it was stored
    /// as, in timestamp then arrival order. A page holds at most
    /// `query.limit` events and may hold fewer (a store bounds a page's
    /// bytes too); `next_cursor` is `Some` exactly when more events follow.
    async fn events(&self, query: EventQuery) -> Result<EventPage, StoreError>;

    /// The `limit` most recently active sessions (by their latest event
    /// timestamp), most recent first.
    async fn sessions(&self, limit: u32) -> Result<Vec<SessionRow>, StoreError>;

    /// The figures of `GET /v1/metrics`, each computed by the store, by the
    /// definitions of [`crate::metrics::Metrics`] (README "Metrics
    /// definitions").
    async fn metrics(&self, query: MetricsQuery) -> Result<Metrics, StoreError>;

    /// Every site (client_id of a session's first browser event), most
    /// recently seen first.
    async fn sites(&self) -> Result<Vec<Site>, StoreError>;
}

/// The store every handler shares.
pub type SharedStore = Arc<dyn Store>;

/// Where a stored event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `POST /v1/batch`: a tracker in a browser.
    Browser,
    /// `POST /v1/server-events`: the site's own backend.
    Server,
}

impl Source {
    /// The name stored and shown (`"source":"server"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Browser => "browser",
            Source::Server => "server",
        }
    }
}

/// One event to store: the checked wire event and the exact JSON object text
/// to keep for it (fields this collector does not know included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub event: Event,
    pub body: String,
    pub source: Source,
    /// The referrer's host for the metrics ([`columns::referrer_host`]):
    /// empty when there is none or it is the site itself.
    pub referrer_host: String,
}

impl NewEvent {
    /// `page_host`: the host of the page that sent it (the request's
    /// `Origin`), when known, to tell a site's own pages from referrers.
    pub fn new(event: Event, body: String, source: Source, page_host: Option<&str>) -> NewEvent {
        let referrer_host = columns::referrer_host(&event.referrer, page_host);
        NewEvent {
            event,
            body,
            source,
            referrer_host,
        }
    }
}

/// Events that arrived together, with the server's clock when they did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub events: Vec<NewEvent>,
    /// Server clock (ms) of the arrival; kept as each new event's
    /// `received_at` and used for sealing.
    pub received_at: u64,
    /// A session idle longer than this (by `received_at`) is sealed.
    pub seal_after_ms: u64,
}

/// What an insert did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inserted {
    /// Events newly stored.
    pub accepted: usize,
    /// Events whose `event_id` was already stored (or repeated in the batch).
    pub duplicates: usize,
    /// The sessions of the batch that are sealed after it (including any
    /// sealed by it), in order of first appearance in the batch.
    pub sealed: Vec<String>,
}

/// Which stored events to list, and where to continue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventQuery {
    pub session_id: Option<String>,
    pub client_id: Option<String>,
    /// 1 to [`MAX_PAGE_EVENTS`].
    pub limit: u32,
    /// A `next_cursor` of an earlier page of the same query; `None` starts
    /// at the first event. Its text is the store's own business.
    pub cursor: Option<String>,
}

impl Default for EventQuery {
    fn default() -> EventQuery {
        EventQuery {
            session_id: None,
            client_id: None,
            limit: DEFAULT_PAGE_EVENTS,
            cursor: None,
        }
    }
}

/// One page of [`Store::events`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventPage {
    /// Each a JSON object text, as stored.
    pub events: Vec<String>,
    /// Where the next page starts; `None` on the last page.
    pub next_cursor: Option<String>,
}

impl EventPage {
    /// The page as one JSON array text (each event is an object that parsed
    /// on the way in, so joining them is valid JSON).
    pub fn json_array(&self) -> String {
        let mut out =
            String::with_capacity(self.events.iter().map(|e| e.len() + 1).sum::<usize>() + 2);
        out.push('[');
        for (i, e) in self.events.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(e);
        }
        out.push(']');
        out
    }
}

/// One row of `GET /v1/sessions`. `first_seen` and `last_seen` are event
/// timestamps (ms); `sealed_at` is the server clock (ms) when it was sealed;
/// `user_id` is the user the session's visitor is linked to (the `user_id`
/// of the visitor's latest event, by timestamp, that carried one), whether
/// it identified in this session, an earlier or a later one.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SessionRow {
    pub session_id: String,
    pub anonymous_id: String,
    pub first_seen: i64,
    pub last_seen: i64,
    pub event_count: i64,
    pub sealed_at: Option<i64>,
    pub user_id: Option<String>,
}

/// Why a store could not do what was asked. Nothing of a failed insert is
/// acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// The store cannot take more work now (its write buffer is full); the
    /// sender should retry after this many seconds.
    Busy { retry_after_s: u32 },
    /// The request itself is wrong for this store (a cursor it never gave).
    Invalid(String),
    /// Anything else: a failed query, I/O, a lost connection.
    Failed(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Busy { retry_after_s } => {
                write!(f, "store busy, retry after {retry_after_s} s")
            }
            StoreError::Invalid(why) | StoreError::Failed(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for StoreError {}

/// Opens the store the settings name. For ClickHouse, credentials the URL
/// does not carry come from `SESSIONMARK_CLICKHOUSE_USER` and
/// `SESSIONMARK_CLICKHOUSE_PASSWORD`; its database and tables are created
/// when missing.
pub async fn open(config: &StoreConfig) -> Result<SharedStore, StoreError> {
    match config {
        StoreConfig::Sqlite(path) => Ok(Arc::new(sqlite::SqliteStore::open(path)?)),
        StoreConfig::ClickHouse(url) => {
            let address = clickhouse::Address::parse(url, |k| std::env::var(k).ok())
                .map_err(StoreError::Failed)?;
            let store =
                clickhouse::ClickHouseStore::open(address, clickhouse::Limits::default()).await?;
            Ok(Arc::new(store))
        }
    }
}
