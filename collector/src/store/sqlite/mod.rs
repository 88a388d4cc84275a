//! The embedded store: one SQLite database file (WAL, `synchronous=FULL`).
//!
//! Writes (inserts, seals) go through one writer thread that commits the
//! requests arriving together in one transaction (`writer`); reads use their
//! own connections (`readers`), so they never wait for the writer's lock.

mod checkpointer;
mod metrics;
mod migrations;
mod read;
mod readers;
mod schema;
mod seal;
mod visit;
mod wal_writes;
mod write;
mod writer;

pub use writer::{GROUP_ROWS, QUEUE_REQUESTS};

use super::{Batch, EventPage, EventQuery, Inserted, SessionRow, Store, StoreError};
use crate::metrics::{Metrics, MetricsQuery, Site};
use async_trait::async_trait;
use readers::Readers;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use writer::Writer;

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        StoreError::Failed(format!("sqlite: {e}"))
    }
}

/// SQLite integers are signed; ingest never lets a larger value through.
fn sql_int(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Failed(format!("{v} does not fit a SQLite integer")))
}

/// A shared handle on one database file; cheap to clone.
#[derive(Clone)]
pub struct SqliteStore {
    path: PathBuf,
    writer: Writer,
    readers: Readers,
}

impl SqliteStore {
    /// Opens (creating if needed) the database and its folder, with room
    /// for [`QUEUE_REQUESTS`] writes waiting.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_with_queue(path, QUEUE_REQUESTS)
    }

    /// [`open`](Self::open) with room for `queue` waiting writes; one more
    /// is answered [`StoreError::Busy`].
    pub fn open_with_queue(path: &Path, queue: usize) -> Result<SqliteStore, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Failed(format!("{}: {e}", dir.display())))?;
        }
        let conn = schema::open_writer(path)?;
        let checkpoints = checkpointer::Checkpointer::start(path)?;
        Ok(SqliteStore {
            path: path.to_owned(),
            writer: Writer::start(conn, queue, Some(checkpoints))?,
            readers: Readers::new(path.to_owned()),
        })
    }

    /// Transactions the writer has committed so far (each holds every
    /// write that queued while the one before it synced).
    pub fn commits(&self) -> u64 {
        self.writer.commits()
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn describe(&self) -> String {
        format!("sqlite {}", self.path.display())
    }

    async fn insert(&self, batch: Batch) -> Result<Inserted, StoreError> {
        let rows = batch.events.len();
        self.writer
            .submit(rows, move |conn| write::insert(conn, &batch))
            .await
    }

    async fn seal(&self, session_id: &str, now_ms: u64) -> Result<bool, StoreError> {
        let session_id = session_id.to_owned();
        let now = sql_int(now_ms)?;
        self.writer
            .submit(1, move |conn| Ok(seal::seal(conn, &session_id, now)?))
            .await
    }

    async fn visitors(
        &self,
        session_ids: &[String],
    ) -> Result<HashMap<String, String>, StoreError> {
        let ids = session_ids.to_vec();
        self.readers
            .read(move |conn| read::visitors(conn, &ids))
            .await
    }

    async fn events(&self, query: EventQuery) -> Result<EventPage, StoreError> {
        self.readers
            .read(move |conn| read::events(conn, &query))
            .await
    }

    async fn sessions(&self, limit: u32) -> Result<Vec<SessionRow>, StoreError> {
        self.readers
            .read(move |conn| read::sessions(conn, limit))
            .await
    }

    async fn metrics(&self, query: MetricsQuery) -> Result<Metrics, StoreError> {
        self.readers
            .read(move |conn| metrics::metrics(conn, &query))
            .await
    }

    async fn sites(&self) -> Result<Vec<Site>, StoreError> {
        self.readers.read(metrics::sites).await
    }
}
