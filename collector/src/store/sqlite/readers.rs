//! Read connections, separate from the writer's: in WAL mode readers see
//! the last commit and neither wait for the writer nor hold it up, so a
//! long read (a big page, a metrics query) never stalls ingest.

use crate::store::StoreError;
use rusqlite::{Connection, OpenFlags};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Idle read connections kept for reuse; more are opened when needed.
const KEEP_IDLE: usize = 4;

/// A pool of read-only connections to one database; cheap to clone.
#[derive(Clone)]
pub struct Readers {
    path: PathBuf,
    idle: Arc<Mutex<Vec<Connection>>>,
}

impl Readers {
    pub fn new(path: PathBuf) -> Readers {
        Readers {
            path,
            idle: Arc::new(Mutex::new(Vec::new())),
        }
    }

    fn open(&self) -> Result<Connection, StoreError> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // Metrics read many pages: a larger cache, and their temporary
        // table in memory.
        conn.pragma_update(None, "cache_size", -16 * 1024)?;
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        Ok(conn)
    }

    /// Runs `work` on a read connection, off the async workers.
    pub async fn read<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let pool = self.clone();
        tokio::task::spawn_blocking(move || {
            // A poisoned lock guards only a list of connections: reusable.
            let reused = pool.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let conn = match reused {
                Some(c) => c,
                None => pool.open()?,
            };
            let result = work(&conn);
            let mut idle = pool.idle.lock().unwrap_or_else(|p| p.into_inner());
            if idle.len() < KEEP_IDLE {
                idle.push(conn);
            }
            result
        })
        .await
        .map_err(|e| StoreError::Failed(format!("read task: {e}")))?
    }
}
