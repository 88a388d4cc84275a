//! WAL checkpoints mostly off the commit path. SQLite's automatic
//! checkpoint runs inside the commit that crosses its threshold, so that
//! group of requests waits for the pages to be copied and the database file
//! synced. Instead the writer nudges this thread every few commits, whose
//! own connection copies what it can without blocking anyone (`PASSIVE`);
//! the writer's own automatic checkpoint stays, at a higher threshold, to
//! finish the job so the WAL can start over (`schema::WAL_PAGES`).

use crate::store::StoreError;
use rusqlite::Connection;
use std::path::Path;
use std::sync::mpsc::{self, Receiver, SyncSender};

/// Commits between two nudges.
pub const EVERY_COMMITS: u64 = 32;

/// The writer's side: nudges the checkpoint thread; it ends when dropped.
pub struct Checkpointer {
    nudge: SyncSender<()>,
}

impl Checkpointer {
    /// Starts the thread on its own connection to `path`.
    pub fn start(path: &Path) -> Result<Checkpointer, StoreError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // One pending nudge is enough: a checkpoint copies everything so far.
        let (nudge, nudged) = mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || run(&conn, &nudged))
            .map_err(|e| StoreError::Failed(format!("cannot start the checkpoint thread: {e}")))?;
        Ok(Checkpointer { nudge })
    }

    /// Asks for a checkpoint soon; never waits.
    pub fn nudge(&self) {
        let _ = self.nudge.try_send(());
    }
}

fn run(conn: &Connection, nudged: &Receiver<()>) {
    while nudged.recv().is_ok() {
        let done = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
        });
        if let Err(e) = done {
            eprintln!("sessionmark collector: WAL checkpoint: {e}");
        }
    }
}
