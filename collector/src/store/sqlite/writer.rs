//! Group commit. One thread owns the write connection; requests hand it
//! their work through a bounded queue and wait for the answer. The thread
//! takes every request waiting in the queue (up to [`GROUP_ROWS`] rows),
//! runs them in one transaction and commits once: one WAL sync for the
//! whole group. Each request is answered only after that commit, so an
//! answer still means the rows are on disk.
//!
//! No savepoint per request: they cost the writer a statement journal of
//! every page a request touches. Instead, when a request fails (rare: a
//! full disk, a value SQLite refuses), the whole transaction is rolled
//! back, that request is answered with its error, and the group is run
//! again without it; so one failing request still does not take the others
//! down, and none of its writes are kept.
//!
//! No timer gathers the group, and a group is fixed when it begins: the
//! requests that arrive while it is written and synced wait for the next
//! one, which starts as soon as it commits. Letting them join the running
//! group (as this writer once did) made it absorb every client, so after
//! each commit all of them were answered and came back together while the
//! writer had nothing to do: a quarter of its time at 16 clients. A fixed
//! group splits the clients in two halves that take turns, one being
//! written while the other is answered and sends again (README Benchmarks).

use super::checkpointer::{Checkpointer, EVERY_COMMITS};
use crate::store::StoreError;
use rusqlite::Connection;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use tokio::sync::oneshot;

/// Requests waiting for the writer; one more answers "busy".
pub const QUEUE_REQUESTS: usize = 1024;
/// A group stops taking requests once it holds this many rows, so one
/// transaction stays short.
pub const GROUP_ROWS: usize = 5000;
/// What a busy answer asks the sender to wait, in seconds.
pub const RETRY_AFTER_S: u32 = 1;

/// Work for the writer: run inside the group's transaction, answered after
/// its commit.
trait Job: Send {
    /// Rows it writes, to size the group.
    fn rows(&self) -> usize;
    /// Runs the work and keeps the result; false when it failed. It may run
    /// again, in a new transaction, when another request of its group
    /// failed.
    fn run(&mut self, conn: &Connection) -> bool;
    /// Answers the requester: the kept result if the group committed.
    fn answer(self: Box<Self>, committed: Result<(), &StoreError>);
}

type Work<T> = Box<dyn FnMut(&Connection) -> Result<T, StoreError> + Send>;

struct Task<T> {
    rows: usize,
    work: Work<T>,
    result: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Reply<T>>,
}

/// The writer's answer to one request. The work goes back with it, so what
/// it holds (a batch: a few dozen allocations per event) is freed by the
/// requester's thread instead of the writer's, which everyone waits for.
struct Reply<T> {
    result: Result<T, StoreError>,
    work: Work<T>,
}

/// Where the answer to a queued request will come.
pub struct Pending<T> {
    answer: oneshot::Receiver<Reply<T>>,
}

impl<T> Pending<T> {
    /// Waits for the answer (after the commit of its group).
    pub async fn wait(self) -> Result<T, StoreError> {
        let reply = self.answer.await.map_err(|_| stopped())?;
        drop(reply.work);
        reply.result
    }

    /// [`wait`](Self::wait), blocking the thread.
    #[cfg(test)]
    fn blocking_wait(self) -> Result<T, StoreError> {
        let reply = self.answer.blocking_recv().map_err(|_| stopped())?;
        reply.result
    }
}

impl<T: Send> Job for Task<T> {
    fn rows(&self) -> usize {
        self.rows
    }

    fn run(&mut self, conn: &Connection) -> bool {
        let result = (self.work)(conn);
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn answer(self: Box<Self>, committed: Result<(), &StoreError>) {
        let result = match (committed, self.result) {
            (Err(e), _) => Err(e.clone()),
            (Ok(()), Some(result)) => result,
            (Ok(()), None) => Err(StoreError::Failed("the writer skipped this request".into())),
        };
        // The requester may have gone (its client hung up); the rows stay
        // committed and a retry of them is a duplicate.
        let _ = self.reply.send(Reply {
            result,
            work: self.work,
        });
    }
}

/// The handle requests use; cheap to clone. The thread ends when the last
/// handle is dropped.
#[derive(Clone)]
pub struct Writer {
    queue: SyncSender<Box<dyn Job>>,
    commits: Arc<AtomicU64>,
}

impl Writer {
    /// Starts the writer thread on `conn`, with room for `queue` waiting
    /// requests; `checkpoints` (if any) is nudged as the WAL grows.
    pub fn start(
        conn: Connection,
        queue: usize,
        checkpoints: Option<Checkpointer>,
    ) -> Result<Writer, StoreError> {
        let (tx, rx) = mpsc::sync_channel(queue);
        let commits = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&commits);
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run(&conn, &rx, &counter, checkpoints.as_ref()))
            .map_err(|e| StoreError::Failed(format!("cannot start the writer thread: {e}")))?;
        Ok(Writer { queue: tx, commits })
    }

    /// Groups committed so far.
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::SeqCst)
    }

    /// Queues `work` (writing about `rows` rows) and returns where its
    /// answer will come; [`StoreError::Busy`] when the queue is full.
    /// `work` may run more than once (see the module doc): each run must
    /// do the whole request again.
    pub fn enqueue<T: Send + 'static>(
        &self,
        rows: usize,
        work: impl FnMut(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<Pending<T>, StoreError> {
        let (reply, answer) = oneshot::channel();
        let task = Task {
            rows,
            work: Box::new(work),
            result: None,
            reply,
        };
        match self.queue.try_send(Box::new(task)) {
            Ok(()) => Ok(Pending { answer }),
            Err(TrySendError::Full(_)) => Err(StoreError::Busy {
                retry_after_s: RETRY_AFTER_S,
            }),
            Err(TrySendError::Disconnected(_)) => Err(stopped()),
        }
    }

    /// [`enqueue`](Self::enqueue), then waits for the commit.
    pub async fn submit<T: Send + 'static>(
        &self,
        rows: usize,
        work: impl FnMut(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.enqueue(rows, work)?.wait().await
    }
}

fn stopped() -> StoreError {
    StoreError::Failed("the SQLite writer thread stopped".into())
}

fn run(
    conn: &Connection,
    queue: &Receiver<Box<dyn Job>>,
    commits: &AtomicU64,
    checkpoints: Option<&Checkpointer>,
) {
    while let Ok(first) = queue.recv() {
        commit_group(conn, waiting(first, queue), commits);
        if let Some(c) =
            checkpoints.filter(|_| commits.load(Ordering::SeqCst).is_multiple_of(EVERY_COMMITS))
        {
            c.nudge();
        }
    }
}

/// `first` and the requests waiting behind it, up to [`GROUP_ROWS`] rows:
/// the next group.
fn waiting(first: Box<dyn Job>, queue: &Receiver<Box<dyn Job>>) -> Vec<Box<dyn Job>> {
    let mut rows = first.rows();
    let mut group = vec![first];
    while rows < GROUP_ROWS {
        let Ok(job) = queue.try_recv() else { break };
        rows += job.rows();
        group.push(job);
    }
    group
}

fn commit_group(conn: &Connection, group: Vec<Box<dyn Job>>, commits: &AtomicU64) {
    let mut group = group;
    let committed = loop {
        match run_group(conn, &mut group) {
            Attempt::Done(committed) => break committed,
            Attempt::Failed(index) => {
                // Undone with the whole transaction; it keeps its own error
                // as its answer, and the others run again without it.
                let failed = group.remove(index);
                failed.answer(Ok(()));
            }
        }
    };
    match &committed {
        // Counted before the answers go out, so whoever got one sees it.
        Ok(()) => {
            commits.fetch_add(1, Ordering::SeqCst);
        }
        Err(e) => eprintln!("sessionmark collector: a group commit failed: {e}"),
    }
    for job in group {
        job.answer(committed.as_ref().map(|_| ()));
    }
}

/// How one run of a group ended.
enum Attempt {
    /// Committed, or failed as a whole (nothing kept).
    Done(Result<(), StoreError>),
    /// This request failed; the transaction is rolled back.
    Failed(usize),
}

/// Runs the group in one transaction, then commits.
fn run_group(conn: &Connection, group: &mut [Box<dyn Job>]) -> Attempt {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        return Attempt::Done(Err(e.into()));
    }
    for (index, job) in group.iter_mut().enumerate() {
        let ok = job.run(conn);
        // Some errors (a full disk, say) roll the whole transaction back:
        // then nothing of the group is kept, and none of it is answered Ok.
        if conn.is_autocommit() {
            return Attempt::Done(Err(StoreError::Failed(
                "the group's transaction was rolled back".into(),
            )));
        }
        if !ok {
            return match conn.execute_batch("ROLLBACK") {
                Ok(()) => Attempt::Failed(index),
                Err(e) => Attempt::Done(Err(e.into())),
            };
        }
    }
    if let Err(e) = conn.execute_batch("COMMIT") {
        let _ = conn.execute_batch("ROLLBACK");
        return Attempt::Done(Err(e.into()));
    }
    Attempt::Done(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::channel;

    fn writer(queue: usize) -> Writer {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (v INTEGER PRIMARY KEY)")
            .unwrap();
        Writer::start(conn, queue, None).unwrap()
    }

    /// Occupies the writer until the returned sender is dropped or used;
    /// returns once the writer is inside it (so the queue is empty).
    fn hold(w: &Writer) -> (std::sync::mpsc::Sender<()>, Pending<()>) {
        let (inside_tx, inside) = channel();
        let (release, released) = channel::<()>();
        let answer = w
            .enqueue(0, move |_| {
                let _ = inside_tx.send(());
                let _ = released.recv();
                Ok(())
            })
            .unwrap();
        inside.recv().unwrap();
        (release, answer)
    }

    fn insert(v: i64) -> impl FnMut(&Connection) -> Result<i64, StoreError> + Send {
        move |c: &Connection| {
            c.execute("INSERT INTO t (v) VALUES (?1)", [v])?;
            Ok(v)
        }
    }

    fn count(w: &Writer) -> i64 {
        w.enqueue(0, |c| {
            Ok(c.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?)
        })
        .unwrap()
        .blocking_wait()
        .unwrap()
    }

    #[test]
    fn requests_that_queue_while_a_group_runs_are_the_next_group_and_commit_once() {
        let w = writer(16);
        let before = w.commits();
        let (release, held) = hold(&w);
        let answers: Vec<_> = (1..=5).map(|v| w.enqueue(1, insert(v)).unwrap()).collect();
        release.send(()).unwrap();
        held.blocking_wait().unwrap();
        for (v, a) in (1..=5).zip(answers) {
            assert_eq!(a.blocking_wait(), Ok(v));
        }
        // The held request alone (nothing waited when it began), then the
        // five that queued behind it, in one transaction.
        assert_eq!(w.commits(), before + 2);
        assert_eq!(count(&w), 5);
    }

    #[test]
    fn a_group_stops_taking_requests_once_it_holds_enough_rows() {
        let w = writer(16);
        let before = w.commits();
        let (release, held) = hold(&w);
        let big = w.enqueue(GROUP_ROWS, insert(1)).unwrap();
        let next = w.enqueue(1, insert(2)).unwrap();
        release.send(()).unwrap();
        held.blocking_wait().unwrap();
        assert_eq!(big.blocking_wait(), Ok(1));
        assert_eq!(next.blocking_wait(), Ok(2));
        // The held request, then the big one alone: it fills a group, so
        // the next waits for the one after.
        assert_eq!(w.commits(), before + 3);
    }

    #[test]
    fn a_full_queue_answers_busy_and_stores_nothing_of_that_request() {
        let w = writer(2);
        let (release, _held) = hold(&w);
        let queued: Vec<_> = (1..=2).map(|v| w.enqueue(1, insert(v)).unwrap()).collect();
        assert_eq!(
            w.enqueue(1, insert(3)).err(),
            Some(StoreError::Busy {
                retry_after_s: RETRY_AFTER_S
            })
        );
        drop(release);
        for a in queued {
            a.blocking_wait().unwrap();
        }
        assert_eq!(count(&w), 2);
    }

    #[test]
    fn a_failing_request_is_undone_alone_and_its_neighbours_commit() {
        let w = writer(16);
        let (release, _held) = hold(&w);
        let ok = w.enqueue(1, insert(1)).unwrap();
        let failing = w
            .enqueue(2, |c: &Connection| -> Result<(), StoreError> {
                c.execute("INSERT INTO t (v) VALUES (2)", [])?;
                // The primary key refuses it: 2 must be undone with it.
                c.execute("INSERT INTO t (v) VALUES (1)", [])?;
                Ok(())
            })
            .unwrap();
        let after = w.enqueue(1, insert(3)).unwrap();
        drop(release);
        assert_eq!(ok.blocking_wait(), Ok(1));
        assert!(matches!(
            failing.blocking_wait(),
            Err(StoreError::Failed(_))
        ));
        assert_eq!(after.blocking_wait(), Ok(3));
        let kept: Vec<i64> = w
            .enqueue(0, |c| {
                let mut s = c.prepare("SELECT v FROM t ORDER BY v")?;
                let rows = s.query_map([], |r| r.get(0))?;
                Ok(rows.collect::<Result<Vec<i64>, _>>()?)
            })
            .unwrap()
            .blocking_wait()
            .unwrap();
        assert_eq!(kept, [1, 3]);
    }

    #[test]
    fn a_group_whose_transaction_ends_early_answers_every_request_with_an_error() {
        let w = writer(16);
        let (release, _held) = hold(&w);
        let a = w.enqueue(1, insert(1)).unwrap();
        // Ending the group's transaction inside a request.
        let b = w
            .enqueue(0, |c: &Connection| -> Result<(), StoreError> {
                c.execute_batch("COMMIT")?;
                Ok(())
            })
            .unwrap();
        let c = w.enqueue(1, insert(3)).unwrap();
        drop(release);
        // a, b and c are one group, and it ended at b: none is answered Ok.
        for answer in [a.blocking_wait(), c.blocking_wait()] {
            assert!(matches!(answer, Err(StoreError::Failed(_))));
        }
        assert!(matches!(b.blocking_wait(), Err(StoreError::Failed(_))));
        // The writer goes on with the next group.
        assert_eq!(w.enqueue(1, insert(4)).unwrap().blocking_wait(), Ok(4));
    }
}
