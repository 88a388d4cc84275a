//! The embedded store: one SQLite database file (WAL, `synchronous=FULL`).
//!
//! Its blocking work runs off the async workers (`spawn_blocking`).

mod read;
mod schema;
mod seal;
mod write;

use super::{Batch, EventPage, EventQuery, Inserted, SessionRow, Store, StoreError};
use async_trait::async_trait;
use rusqlite::Connection;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

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
    conn: Arc<Mutex<Connection>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database and its folder.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Failed(format!("{}: {e}", dir.display())))?;
        }
        let conn = schema::open_writer(path)?;
        Ok(SqliteStore {
            path: path.to_owned(),
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock dropped its Transaction, which rolled
        // back: the connection is consistent, so a poisoned lock is reusable.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `work` on the connection, off the async workers.
    async fn with_conn<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || work(&mut store.conn()))
            .await
            .map_err(|e| StoreError::Failed(format!("store task: {e}")))?
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn describe(&self) -> String {
        format!("sqlite {}", self.path.display())
    }

    async fn insert(&self, batch: Batch) -> Result<Inserted, StoreError> {
        self.with_conn(move |conn| write::insert(conn, &batch))
            .await
    }

    async fn seal(&self, session_id: &str, now_ms: u64) -> Result<bool, StoreError> {
        let session_id = session_id.to_owned();
        let now = sql_int(now_ms)?;
        self.with_conn(move |conn| Ok(seal::seal(conn, &session_id, now)?))
            .await
    }

    async fn visitors(
        &self,
        session_ids: &[String],
    ) -> Result<HashMap<String, String>, StoreError> {
        let ids = session_ids.to_vec();
        self.with_conn(move |conn| read::visitors(conn, &ids)).await
    }

    async fn events(&self, query: EventQuery) -> Result<EventPage, StoreError> {
        self.with_conn(move |conn| read::events(conn, &query)).await
    }

    async fn sessions(&self, limit: u32) -> Result<Vec<SessionRow>, StoreError> {
        self.with_conn(move |conn| read::sessions(conn, limit))
            .await
    }
}
