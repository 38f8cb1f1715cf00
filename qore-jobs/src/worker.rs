//! Workers: claim, run with a heartbeat, record the outcome, retry what a
//! retry can fix.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use qore_core::{Error, Result};
use tokio::sync::{Semaphore, mpsc, oneshot, watch};

use crate::model::{ClaimFilter, Job, JobError, Lease, Outcome, is_lease_lost, now_ms};
use crate::store::{StoreRef, backoff};

/// Runs the jobs of one kind.
#[async_trait]
pub trait Handler: Send + Sync {
    /// The kind it runs (`export`, ...).
    fn kind(&self) -> &str;

    /// Runs (or resumes, from `ctx.job().checkpoint`) one job. Long work
    /// calls [`JobContext::checkpoint`] regularly: that is where a cancel or
    /// a shutdown stops it (with [`Error::Cancelled`]) and where a lost
    /// lease is noticed.
    async fn run(&self, ctx: &mut JobContext) -> Result<()>;
}

/// What a running job sees of its worker and store.
#[derive(Debug)]
pub struct JobContext {
    job: Job,
    lease: Lease,
    store: StoreRef,
    lease_len: Duration,
    cancel: Arc<AtomicBool>,
    stop: watch::Receiver<bool>,
    stopping: bool,
}

impl JobContext {
    /// The job as it was claimed (its parameters, its last checkpoint).
    pub fn job(&self) -> &Job {
        &self.job
    }

    /// This start's lease.
    pub fn lease(&self) -> &Lease {
        &self.lease
    }

    /// Saves a checkpoint with progress `done` of `total`.
    ///
    /// # Error handling
    ///
    /// [`Error::Cancelled`] when the user cancelled the job or the worker is
    /// shutting down (the checkpoint is saved first: stop here and return
    /// the error); the store's refusal when the lease was lost (stop
    /// without writing anything more).
    pub async fn checkpoint(
        &mut self,
        checkpoint: &serde_json::Value,
        done: u64,
        total: Option<u64>,
    ) -> Result<()> {
        let signal = self
            .store
            .checkpoint(&self.lease, Some(checkpoint), done, total, self.lease_len)
            .await?;
        self.job.checkpoint = Some(checkpoint.clone());
        self.job.done = done;
        self.job.total = total;
        self.check(signal.cancel)
    }

    /// Reports progress without a checkpoint.
    ///
    /// # Error handling
    ///
    /// As [`checkpoint`](Self::checkpoint).
    pub async fn progress(&mut self, done: u64, total: Option<u64>) -> Result<()> {
        let signal = self
            .store
            .checkpoint(&self.lease, None, done, total, self.lease_len)
            .await?;
        self.job.done = done;
        self.job.total = total;
        self.check(signal.cancel)
    }

    /// Appends a line to the job's log.
    ///
    /// # Error handling
    ///
    /// The store's refusal when the lease was lost.
    pub async fn log(&self, line: impl AsRef<str>) -> Result<()> {
        self.store.log(&self.lease, line.as_ref()).await
    }

    /// Whether the job should stop at its next checkpoint.
    pub fn should_stop(&self) -> bool {
        self.cancel.load(Ordering::Relaxed) || *self.stop.borrow()
    }

    fn check(&mut self, cancel: bool) -> Result<()> {
        if cancel {
            self.cancel.store(true, Ordering::Relaxed);
        }
        if self.cancel.load(Ordering::Relaxed) {
            return Err(Error::Cancelled);
        }
        if *self.stop.borrow() {
            self.stopping = true;
            return Err(Error::Cancelled);
        }
        Ok(())
    }
}

/// What a worker did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ran {
    /// Starts that succeeded.
    pub succeeded: u64,
    /// Starts that failed for good.
    pub failed: u64,
    /// Starts queued again after a transient error.
    pub retried: u64,
    /// Starts stopped by a cancel.
    pub cancelled: u64,
    /// Starts given back at shutdown.
    pub released: u64,
    /// Starts whose lease was lost (another worker took the job over).
    pub lost: u64,
}

#[derive(Debug, Default)]
struct Counters {
    succeeded: AtomicU64,
    failed: AtomicU64,
    retried: AtomicU64,
    cancelled: AtomicU64,
    released: AtomicU64,
    lost: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> Ran {
        Ran {
            succeeded: self.succeeded.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            retried: self.retried.load(Ordering::Relaxed),
            cancelled: self.cancelled.load(Ordering::Relaxed),
            released: self.released.load(Ordering::Relaxed),
            lost: self.lost.load(Ordering::Relaxed),
        }
    }
}

/// A worker: takes jobs of the kinds it has handlers for, `concurrency` at
/// a time.
#[derive(Clone)]
pub struct Worker {
    store: StoreRef,
    handlers: HashMap<String, Arc<dyn Handler>>,
    name: String,
    concurrency: usize,
    lease: Duration,
    poll: Duration,
    counters: Arc<Counters>,
    /// Set while [`Worker::run`] runs: ends are recorded in batches.
    completer: Option<Completer>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("store", &self.store.describe())
            .field("name", &self.name)
            .field("kinds", &self.handlers.keys().collect::<Vec<_>>())
            .field("concurrency", &self.concurrency)
            .field("lease", &self.lease)
            .finish()
    }
}

impl Worker {
    /// A worker on `store` named after this host and process, one job at a
    /// time, 30 s leases.
    pub fn new(store: StoreRef) -> Worker {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "host".into());
        Worker {
            store,
            handlers: HashMap::new(),
            name: format!("{host}:{}:{:x}", std::process::id(), now_ms() & 0xffff_ffff),
            concurrency: 1,
            lease: Duration::from_secs(30),
            poll: Duration::from_millis(500),
            counters: Arc::default(),
            completer: None,
        }
    }

    /// Adds a handler for its kind.
    pub fn handler(mut self, h: Arc<dyn Handler>) -> Worker {
        self.handlers.insert(h.kind().to_string(), h);
        self
    }

    /// Jobs run at once (at least 1).
    pub fn concurrency(mut self, n: usize) -> Worker {
        self.concurrency = n.max(1);
        self
    }

    /// The lease length: heartbeats go every third of it, and a job whose
    /// worker stops answering is taken over once it runs out (at least 300 ms).
    pub fn lease(mut self, d: Duration) -> Worker {
        self.lease = d.max(Duration::from_millis(300));
        self.poll = self.poll.min(self.lease / 4);
        self
    }

    /// How often an idle worker looks for work.
    pub fn poll(mut self, d: Duration) -> Worker {
        self.poll = d.max(Duration::from_millis(5));
        self
    }

    /// Its name in the store.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Renames it (tests, several workers in one process).
    pub fn named(mut self, name: impl Into<String>) -> Worker {
        self.name = name.into();
        self
    }

    /// What it did so far.
    pub fn ran(&self) -> Ran {
        self.counters.snapshot()
    }

    fn filter(&self, only: Option<crate::JobId>) -> ClaimFilter {
        let mut kinds: Vec<String> = self.handlers.keys().cloned().collect();
        kinds.sort();
        ClaimFilter { kinds, only }
    }

    /// Runs until `stop` turns true: then claims nothing more, and waits for
    /// the running jobs, which stop at their next checkpoint and go back to
    /// the queue.
    ///
    /// # Error handling
    ///
    /// Store errors while claiming are retried (with backoff) a few times,
    /// then returned.
    pub async fn run(&self, mut stop: watch::Receiver<bool>) -> Result<Ran> {
        let slots = Arc::new(Semaphore::new(self.concurrency));
        let mut tasks = tokio::task::JoinSet::new();
        let filter = self.filter(None);
        let mut failures = 0u32;
        let (completer, ends) = Completer::start(self.store.clone());
        let me = Worker {
            completer: Some(completer),
            ..self.clone()
        };
        let result = loop {
            if *stop.borrow() {
                break Ok(());
            }
            let first = tokio::select! {
                p = slots.clone().acquire_owned() => match p {
                    Ok(p) => p,
                    Err(_) => break Err(Error::Internal("worker slots closed".into())),
                },
                _ = stop.changed() => break Ok(()),
            };
            // Every free slot is filled from one claim.
            let mut permits = vec![first];
            while let Ok(p) = slots.clone().try_acquire_owned() {
                permits.push(p);
            }
            while tasks.try_join_next().is_some() {}
            match me.store.claim_many(&me.name, &filter, me.lease, permits.len()).await {
                Ok(jobs) if !jobs.is_empty() => {
                    failures = 0;
                    for (job, lease) in jobs {
                        let Some(permit) = permits.pop() else { break };
                        let me = me.clone();
                        let stop = stop.clone();
                        tasks.spawn(async move {
                            me.run_claimed(job, lease, stop).await;
                            drop(permit);
                        });
                    }
                }
                Ok(_) => {
                    drop(permits);
                    tokio::select! {
                        _ = tokio::time::sleep(me.poll) => {}
                        _ = stop.changed() => {}
                    }
                }
                Err(e) => {
                    drop(permits);
                    failures += 1;
                    if failures > 5 {
                        break Err(e.context(format!("worker {} cannot claim jobs", me.name)));
                    }
                    tokio::time::sleep(backoff(failures, random())).await;
                }
            }
        };
        while tasks.join_next().await.is_some() {}
        // The last handle on the completer goes: it records what is left
        // and ends.
        drop(me);
        let mut ends = ends;
        let _ = (&mut ends.0).await;
        result.map(|()| self.ran())
    }

    /// Runs jobs until none is due, then returns (tests, `qore job submit --run`).
    ///
    /// # Error handling
    ///
    /// Store errors while claiming.
    pub async fn run_until_idle(&self) -> Result<Ran> {
        let (_tx, stop) = watch::channel(false);
        let filter = self.filter(None);
        while let Some((job, lease)) = self.store.claim(&self.name, &filter, self.lease).await? {
            self.run_claimed(job, lease, stop.clone()).await;
        }
        Ok(self.ran())
    }

    /// Runs the one job `id` in this task, if it can start now; returns the
    /// job as it ended. `stop` stops it at its next checkpoint.
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] when the job is not due to start (running
    /// elsewhere, finished, waiting for its backoff); store errors.
    pub async fn run_one(&self, id: crate::JobId, stop: watch::Receiver<bool>) -> Result<Job> {
        let Some((job, lease)) = self.store.claim(&self.name, &self.filter(Some(id)), self.lease).await? else {
            let job = self.store.get(id).await?;
            return Err(Error::invalid(format!(
                "job {id} cannot start here now: it is {}{}",
                job.state,
                if self.handlers.contains_key(&job.kind) { "" } else { " and of a kind this worker does not run" }
            )));
        };
        self.run_claimed(job, lease, stop).await;
        self.store.get(id).await
    }

    async fn run_claimed(&self, job: Job, lease: Lease, stop: watch::Receiver<bool>) {
        let Some(handler) = self.handlers.get(&job.kind).cloned() else {
            let e = JobError {
                kind: "not_supported".into(),
                message: format!("no handler for job kind `{}`", job.kind),
            };
            let _ = self.store.complete(&lease, &Outcome::Failed(e)).await;
            self.counters.failed.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let cancel = Arc::new(AtomicBool::new(job.cancel_requested));
        let lost = Arc::new(AtomicBool::new(false));
        let attempts = (job.attempts, job.max_attempts);
        let mut ctx = JobContext {
            job,
            lease: lease.clone(),
            store: self.store.clone(),
            lease_len: self.lease,
            cancel: cancel.clone(),
            stop,
            stopping: false,
        };
        // The heartbeat keeps the lease while the job works between
        // checkpoints, and brings a cancel in without waiting for one.
        let heartbeat = AbortOnDrop({
            let (store, lease, len) = (self.store.clone(), lease.clone(), self.lease);
            let (cancel, lost) = (cancel.clone(), lost.clone());
            #[allow(clippy::disallowed_methods)] // held by AbortOnDrop
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(len / 3).await;
                    match store.heartbeat(&lease, len).await {
                        Ok(s) if s.cancel => cancel.store(true, Ordering::Relaxed),
                        Ok(_) => {}
                        Err(e) if is_lease_lost(&e) => {
                            lost.store(true, Ordering::Relaxed);
                            return;
                        }
                        Err(_) => {}
                    }
                }
            })
        });
        let result = std::panic::AssertUnwindSafe(handler.run(&mut ctx));
        let result = futures::FutureExt::catch_unwind(result)
            .await
            .unwrap_or_else(|p| Err(Error::from_panic(&*p)));
        drop(heartbeat);
        let outcome = match &result {
            Ok(()) => Outcome::Succeeded,
            Err(e) if is_lease_lost(e) => {
                self.counters.lost.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Err(Error::Cancelled) if ctx.stopping && !cancel.load(Ordering::Relaxed) => Outcome::Released,
            Err(Error::Cancelled) => Outcome::Cancelled,
            Err(e) if e.is_transient() && attempts.0 < attempts.1 => Outcome::Retry {
                error: JobError::of(e),
                at: now_ms() + crate::sqlite::ms(backoff(attempts.0, random())),
            },
            Err(e) => Outcome::Failed(JobError::of(e)),
        };
        if let Err(e) = &result {
            let _ = ctx.log(format!("attempt {}: {e}", attempts.0)).await;
        }
        let recorded = match &self.completer {
            Some(c) => c.complete(lease, outcome.clone()).await,
            None => self.store.complete(&lease, &outcome).await,
        };
        match recorded {
            Ok(()) => {
                let c = match outcome {
                    Outcome::Succeeded => &self.counters.succeeded,
                    Outcome::Failed(_) => &self.counters.failed,
                    Outcome::Retry { .. } => &self.counters.retried,
                    Outcome::Cancelled => &self.counters.cancelled,
                    Outcome::Released => &self.counters.released,
                };
                c.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => {
                self.counters.lost.fetch_add(1, Ordering::Relaxed);
            }
        }
        let _ = lost;
    }
}

/// An end waiting to be recorded, and where its result goes.
type End = (Lease, Outcome, oneshot::Sender<Result<()>>);

/// Records the ends of a worker's jobs: whatever ends while the store is
/// busy with the previous batch goes in the next one, so short jobs share
/// transactions and a lone job is recorded at once.
#[derive(Debug, Clone)]
struct Completer(mpsc::Sender<End>);

impl Completer {
    const BATCH: usize = 256;

    /// The completer and its task. The task ends once every sender is gone
    /// (await it to record what is left); dropping the handle aborts it.
    fn start(store: StoreRef) -> (Completer, AbortOnDrop) {
        let (tx, mut rx) = mpsc::channel::<End>(Self::BATCH * 4);
        #[allow(clippy::disallowed_methods)] // held by AbortOnDrop
        let task = tokio::spawn(async move {
            let mut batch = Vec::with_capacity(Self::BATCH);
            while rx.recv_many(&mut batch, Self::BATCH).await > 0 {
                let items: Vec<(Lease, Outcome)> = batch.iter().map(|(l, o, _)| (l.clone(), o.clone())).collect();
                match store.complete_many(&items).await {
                    Ok(results) if results.len() == batch.len() => {
                        for ((_, _, reply), r) in batch.drain(..).zip(results) {
                            let _ = reply.send(r);
                        }
                    }
                    // The batch failed as a whole: each end on its own, so
                    // that each gets its own answer.
                    _ => {
                        for (lease, outcome, reply) in batch.drain(..) {
                            let _ = reply.send(store.complete(&lease, &outcome).await);
                        }
                    }
                }
            }
        });
        (Completer(tx), AbortOnDrop(task))
    }

    async fn complete(&self, lease: Lease, outcome: Outcome) -> Result<()> {
        let (reply, answer) = oneshot::channel();
        self.0
            .send((lease, outcome, reply))
            .await
            .map_err(|_| Error::Internal("the worker's completer stopped".into()))?;
        answer
            .await
            .map_err(|_| Error::Internal("the worker's completer stopped".into()))?
    }
}

/// Stops the heartbeat when its job ends, however it ends (a worker task
/// aborted mid-job must not keep the lease alive).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A random number for jitter.
fn random() -> u64 {
    let mut b = [0u8; 8];
    if getrandom::fill(&mut b).is_err() {
        return now_ms() as u64;
    }
    u64::from_le_bytes(b)
}
