//! The WAL's sync, off the writer's thread. The write connection runs with
//! `synchronous=NORMAL`, so its `COMMIT` writes the group's WAL frames
//! without waiting for the disk; the writer then hands the group's answers
//! to this thread and goes on with the next group. This thread syncs the
//! WAL file (`fdatasync`) and only then sends the answers: every answer
//! still waits for a sync that started after its rows were written, so an
//! answered request's rows are on disk, as with `synchronous=FULL`. What
//! changes is that the next group is written while the last one syncs, and
//! that the groups that committed during one sync share the next one.

use crate::store::StoreError;
use std::fs::File;
use std::path::Path;
use std::sync::mpsc::{self, Receiver, Sender};

/// Sends one committed group's answers, with the outcome of the sync.
pub type Answers = Box<dyn FnOnce(Result<(), &StoreError>) + Send>;

/// The writer's side: hands over committed groups; the thread ends when
/// it is dropped, after answering what it was given.
pub struct WalSync {
    committed: Sender<Answers>,
}

impl WalSync {
    /// Starts the thread on the WAL of the database at `database` (its
    /// `-wal` file, which the open write connection keeps in place).
    pub fn start(database: &Path) -> Result<WalSync, StoreError> {
        let mut name = database.as_os_str().to_owned();
        name.push("-wal");
        let wal = File::open(&name)
            .map_err(|e| StoreError::Failed(format!("{}: {e}", Path::new(&name).display())))?;
        // Unbounded: each group holds requests already admitted by the
        // writer's bounded queue, whose senders are waiting for them.
        let (committed, groups) = mpsc::channel();
        std::thread::Builder::new()
            .name("sqlite-wal-sync".into())
            .spawn(move || run(&wal, &groups))
            .map_err(|e| StoreError::Failed(format!("cannot start the WAL sync thread: {e}")))?;
        Ok(WalSync { committed })
    }

    /// Sends `answers` once the WAL, as written so far, is on disk. Call it
    /// after the group's `COMMIT` returned.
    pub fn after_sync(&self, answers: Answers) {
        if let Err(mpsc::SendError(answers)) = self.committed.send(answers) {
            answers(Err(&StoreError::Failed(
                "the WAL sync thread stopped".into(),
            )));
        }
    }
}

fn run(wal: &File, groups: &Receiver<Answers>) {
    while let Ok(first) = groups.recv() {
        // Every group received so far committed before this sync starts,
        // so one sync covers them all.
        let mut waiting = vec![first];
        waiting.extend(groups.try_iter());
        let synced = wal
            .sync_data()
            .map_err(|e| StoreError::Failed(format!("syncing the WAL: {e}")));
        if let Err(e) = &synced {
            eprintln!("sessionmark collector: {e}");
        }
        for answers in waiting {
            answers(synced.as_ref().map(|_| ()));
        }
    }
}
