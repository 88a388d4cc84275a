//! Group commit: the batches of concurrent requests go to the store in one
//! write, and each request is answered when that write is acknowledged.
//!
//! One task owns the writer ([`Commit`]) and takes groups in turn: it waits
//! for a first batch, lingers a few milliseconds for more (taking at once
//! whatever is already queued, up to [`Limits::max_group_events`]), commits
//! them, answers each, and starts over. While a group is being written the
//! next one gathers, so under load groups grow by themselves and the linger
//! only matters to the first request after a quiet spell. Groups never
//! overlap: each one is planned against everything the earlier ones stored.
//!
//! Bounded: at most [`Limits::max_buffered_events`] events wait or are being
//! written; a batch that does not fit is refused at once with
//! `StoreError::Busy` (503 + `Retry-After`), and nothing of it is taken.
//! Nothing is acknowledged before its write is: a failed write fails every
//! request of its group, and their senders retry.

use crate::store::{Batch, Inserted, StoreError};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::runtime::Handle;
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore, TryAcquireError};

/// The `Retry-After` of a full buffer, in seconds.
pub const BUSY_RETRY_AFTER_S: u32 = 1;

/// Writes a group of batches, each under the store's rules, and answers
/// each (one [`Inserted`] per batch, in order) once all of it is durable.
pub trait Commit: Send + 'static {
    fn commit(
        &mut self,
        batches: &[Batch],
    ) -> impl Future<Output = Result<Vec<Inserted>, StoreError>> + Send;
}

/// How groups are formed and how much may wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Events waiting or being written, at most.
    pub max_buffered_events: u32,
    /// A group stops taking batches once it holds this many events.
    pub max_group_events: usize,
    /// How long a group waits for more batches after its first.
    pub linger: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            // 200 full batches of the tracker: seconds of ClickHouse inserts.
            max_buffered_events: 20_000,
            // Keeps the duplicate check's IN lists well under ClickHouse's
            // query size limit.
            max_group_events: 5_000,
            linger: Duration::from_millis(2),
        }
    }
}

struct Pending {
    batch: Batch,
    reply: oneshot::Sender<Result<Inserted, StoreError>>,
    // Room in the buffer, given back when the request is answered.
    _room: OwnedSemaphorePermit,
}

/// Starts the writer task on a runtime (once).
type Starter = Box<dyn FnOnce(&Handle) + Send>;

/// The queue in front of one writer task; cheap to clone.
#[derive(Clone)]
pub struct GroupCommit {
    queue: mpsc::UnboundedSender<Pending>,
    room: Arc<Semaphore>,
    /// The writer, until the first batch starts it on the tokio runtime it
    /// is submitted from (so a store can be built outside any runtime).
    starter: Arc<Mutex<Option<Starter>>>,
}

impl GroupCommit {
    /// The queue and its writer, which starts with the first batch. The
    /// writer ends when every handle is dropped and the queue is drained.
    pub fn start(commit: impl Commit, limits: Limits) -> GroupCommit {
        let (queue, rx) = mpsc::unbounded_channel();
        let capacity = usize::try_from(limits.max_buffered_events).unwrap_or(usize::MAX);
        let starter: Starter = Box::new(move |runtime: &Handle| {
            runtime.spawn(run(commit, rx, limits));
        });
        GroupCommit {
            queue,
            room: Arc::new(Semaphore::new(capacity)),
            starter: Arc::new(Mutex::new(Some(starter))),
        }
    }

    /// Stores `batch` in the next group; returns its answer once the group
    /// is written, or `Busy` at once when the buffer has no room for it.
    pub async fn submit(&self, batch: Batch) -> Result<Inserted, StoreError> {
        self.start_writer()?;
        // An empty batch still takes a place: it is answered in order.
        let need = u32::try_from(batch.events.len().max(1)).unwrap_or(u32::MAX);
        let room = match Arc::clone(&self.room).try_acquire_many_owned(need) {
            Ok(permit) => permit,
            Err(TryAcquireError::NoPermits) => {
                return Err(StoreError::Busy {
                    retry_after_s: BUSY_RETRY_AFTER_S,
                })
            }
            Err(TryAcquireError::Closed) => return Err(stopped()),
        };
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Pending {
                batch,
                reply,
                _room: room,
            })
            .map_err(|_| stopped())?;
        answer.await.unwrap_or_else(|_| Err(stopped()))
    }

    fn start_writer(&self) -> Result<(), StoreError> {
        // The starter is taken whole or not at all: a poisoned lock holds
        // either state intact.
        let mut starter = self.starter.lock().unwrap_or_else(|p| p.into_inner());
        if starter.is_none() {
            return Ok(());
        }
        // Kept until there is a runtime to start it on.
        let runtime = Handle::try_current()
            .map_err(|_| StoreError::Failed("the store's writer needs a tokio runtime".into()))?;
        if let Some(start) = starter.take() {
            start(&runtime);
        }
        Ok(())
    }
}

fn stopped() -> StoreError {
    StoreError::Failed("the store's writer has stopped".into())
}

async fn run(mut commit: impl Commit, mut rx: mpsc::UnboundedReceiver<Pending>, limits: Limits) {
    // A batch that would have made the last group too big starts the next.
    let mut carried: Option<Pending> = None;
    loop {
        let first = match carried.take() {
            Some(p) => p,
            None => match rx.recv().await {
                Some(p) => p,
                None => return,
            },
        };
        let mut events = first.batch.events.len();
        let mut group = vec![first];
        let until = tokio::time::Instant::now() + limits.linger;
        while events < limits.max_group_events {
            let next = match rx.try_recv() {
                Ok(p) => Some(p),
                Err(mpsc::error::TryRecvError::Disconnected) => None,
                Err(mpsc::error::TryRecvError::Empty) => tokio::time::timeout_at(until, rx.recv())
                    .await
                    .ok()
                    .flatten(),
            };
            let Some(p) = next else { break };
            if events + p.batch.events.len() > limits.max_group_events {
                carried = Some(p);
                break;
            }
            events += p.batch.events.len();
            group.push(p);
        }
        let (batches, replies): (Vec<Batch>, Vec<_>) = group
            .into_iter()
            .map(|p| (p.batch, (p.reply, p._room)))
            .unzip();
        match commit.commit(&batches).await {
            Ok(answers) if answers.len() == batches.len() => {
                for ((reply, _room), answer) in replies.into_iter().zip(answers) {
                    // The requester may have gone (its connection closed);
                    // its rows are stored all the same.
                    let _ = reply.send(Ok(answer));
                }
            }
            Ok(answers) => {
                let e = StoreError::Failed(format!(
                    "the writer answered {} of {} batches",
                    answers.len(),
                    batches.len()
                ));
                for (reply, _room) in replies {
                    let _ = reply.send(Err(e.clone()));
                }
            }
            Err(e) => {
                for (reply, _room) in replies {
                    let _ = reply.send(Err(e.clone()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{NewEvent, Source};
    use sessionmark::wire::Event;
    use tokio::sync::Notify;

    /// Accepts every event; records the size of each group (in batches);
    /// fails while `fail` is set; waits for `gate` when one is given.
    #[derive(Clone, Default)]
    struct Fake {
        groups: Arc<Mutex<Vec<usize>>>,
        fail: Arc<Mutex<bool>>,
        gate: Option<Arc<Notify>>,
    }

    impl Commit for Fake {
        async fn commit(&mut self, batches: &[Batch]) -> Result<Vec<Inserted>, StoreError> {
            if let Some(gate) = &self.gate {
                gate.notified().await;
            }
            self.groups.lock().unwrap().push(batches.len());
            if *self.fail.lock().unwrap() {
                return Err(StoreError::Failed("injected".into()));
            }
            Ok(batches
                .iter()
                .map(|b| Inserted {
                    accepted: b.events.len(),
                    ..Inserted::default()
                })
                .collect())
        }
    }

    fn batch(n: usize) -> Batch {
        let event = NewEvent {
            event: Event::default(),
            body: "{}".into(),
            source: Source::Browser,
            referrer_host: String::new(),
        };
        Batch {
            events: vec![event; n],
            received_at: 1,
            seal_after_ms: 1,
        }
    }

    fn limits(buffered: u32, group: usize) -> Limits {
        Limits {
            max_buffered_events: buffered,
            max_group_events: group,
            linger: Duration::from_millis(5),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn batches_submitted_together_are_written_in_one_group_and_each_gets_its_answer() {
        let fake = Fake::default();
        let gc = GroupCommit::start(fake.clone(), limits(1000, 1000));
        let answers = futures_join(&gc, [batch(1), batch(2), batch(3), batch(4)].into_iter()).await;
        let accepted: Vec<usize> = answers
            .iter()
            .map(|a| a.as_ref().unwrap().accepted)
            .collect();
        assert_eq!(accepted, [1, 2, 3, 4]);
        assert_eq!(*fake.groups.lock().unwrap(), [4]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_batch_after_the_linger_goes_in_the_next_group() {
        let fake = Fake::default();
        let gc = GroupCommit::start(fake.clone(), limits(1000, 1000));
        gc.submit(batch(1)).await.unwrap();
        gc.submit(batch(1)).await.unwrap();
        assert_eq!(*fake.groups.lock().unwrap(), [1, 1]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_group_stops_at_its_event_limit_and_the_rest_goes_in_the_next() {
        let fake = Fake::default();
        let gc = GroupCommit::start(fake.clone(), limits(1000, 10));
        let answers = futures_join(&gc, [batch(6), batch(4), batch(3)].into_iter()).await;
        assert!(answers.iter().all(Result::is_ok));
        assert_eq!(*fake.groups.lock().unwrap(), [2, 1]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_buffer_refuses_a_batch_at_once_as_busy_and_has_room_again_once_answered() {
        let gate = Arc::new(Notify::new());
        let fake = Fake {
            gate: Some(Arc::clone(&gate)),
            ..Fake::default()
        };
        let gc = GroupCommit::start(fake.clone(), limits(10, 100));
        let held = tokio::spawn({
            let gc = gc.clone();
            async move { gc.submit(batch(8)).await }
        });
        tokio::task::yield_now().await;
        // 8 of 10 places are taken while the write waits.
        assert_eq!(
            gc.submit(batch(3)).await,
            Err(StoreError::Busy {
                retry_after_s: BUSY_RETRY_AFTER_S
            })
        );
        gate.notify_one();
        assert_eq!(held.await.unwrap().unwrap().accepted, 8);
        assert_eq!(
            *fake.groups.lock().unwrap(),
            [1],
            "the refused batch was never written"
        );
        let again = tokio::spawn({
            let gc = gc.clone();
            async move { gc.submit(batch(10)).await }
        });
        tokio::task::yield_now().await;
        gate.notify_one();
        assert_eq!(again.await.unwrap().unwrap().accepted, 10);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_write_fails_every_request_of_its_group_and_the_next_group_is_written() {
        let fake = Fake::default();
        *fake.fail.lock().unwrap() = true;
        let gc = GroupCommit::start(fake.clone(), limits(1000, 1000));
        let answers = futures_join(&gc, [batch(1), batch(1)].into_iter()).await;
        assert!(answers
            .iter()
            .all(|a| matches!(a, Err(StoreError::Failed(_)))));
        *fake.fail.lock().unwrap() = false;
        assert_eq!(gc.submit(batch(2)).await.unwrap().accepted, 2);
    }

    /// Submits every batch concurrently; the answers in submission order.
    async fn futures_join(
        gc: &GroupCommit,
        batches: impl Iterator<Item = Batch>,
    ) -> Vec<Result<Inserted, StoreError>> {
        let tasks: Vec<_> = batches
            .map(|b| {
                let gc = gc.clone();
                tokio::spawn(async move { gc.submit(b).await })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    }
}
