//! What a job is: its identity, state, progress, lease and outcome.

use std::fmt;
use std::time::Duration;

use qore_core::{Error, ErrorKind, Result};
use serde::{Deserialize, Serialize};

/// A job's number in its store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct JobId(pub i64);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::str::FromStr for JobId {
    type Err = Error;
    fn from_str(s: &str) -> Result<JobId> {
        s.trim()
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .map(JobId)
            .ok_or_else(|| Error::invalid(format!("`{s}` is not a job id (a positive number)")))
    }
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Waiting for a worker (new, or retried after a transient error).
    Queued,
    /// A worker holds its lease.
    Running,
    /// Done.
    Succeeded,
    /// Stopped by an error that retrying would not fix, or out of attempts.
    Failed,
    /// Cancelled by the user.
    Cancelled,
}

impl State {
    /// The stored spelling.
    pub fn name(self) -> &'static str {
        match self {
            State::Queued => "queued",
            State::Running => "running",
            State::Succeeded => "succeeded",
            State::Failed => "failed",
            State::Cancelled => "cancelled",
        }
    }

    /// Reads the stored spelling.
    ///
    /// # Error handling
    ///
    /// [`Error::Data`] for anything else (a damaged store).
    pub fn parse(s: &str) -> Result<State> {
        Ok(match s {
            "queued" => State::Queued,
            "running" => State::Running,
            "succeeded" => State::Succeeded,
            "failed" => State::Failed,
            "cancelled" => State::Cancelled,
            other => return Err(Error::data(format!("unknown job state `{other}` in the store"))),
        })
    }

    /// Whether the job is over (succeeded, failed or cancelled).
    pub fn is_final(self) -> bool {
        matches!(self, State::Succeeded | State::Failed | State::Cancelled)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A job to submit.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    /// What runs it: the name a [`Handler`](crate::Handler) registers.
    pub kind: String,
    /// Its parameters, as JSON. Never a password: name a profile instead.
    pub params: serde_json::Value,
    /// How many times it may start (first run included) before a transient
    /// error fails it for good.
    pub max_attempts: u32,
}

impl NewJob {
    /// A job of `kind` with `params` and the default 5 attempts.
    pub fn new(kind: impl Into<String>, params: serde_json::Value) -> NewJob {
        NewJob {
            kind: kind.into(),
            params,
            max_attempts: 5,
        }
    }
}

/// The last error a job met.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobError {
    /// Its kind's stable name ([`ErrorKind::name`]).
    pub kind: String,
    /// Its message.
    pub message: String,
}

impl JobError {
    /// The record of `e`.
    pub fn of(e: &Error) -> JobError {
        JobError {
            kind: e.kind().name().to_string(),
            message: e.to_string(),
        }
    }
}

/// A job as the store has it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// Its number.
    pub id: JobId,
    /// What runs it.
    pub kind: String,
    /// Its parameters.
    pub params: serde_json::Value,
    /// Where it is.
    pub state: State,
    /// Starts so far (a crash of its worker counts as one).
    pub attempts: u32,
    /// Starts allowed.
    pub max_attempts: u32,
    /// The fencing token of the current (or last) lease: grows with every
    /// start, and the store refuses writes carrying an older one.
    pub token: i64,
    /// The worker holding (or that last held) the lease.
    pub worker: Option<String>,
    /// When the lease runs out, ms since the Unix epoch.
    pub lease_until: Option<i64>,
    /// Not started before this time (a retry's backoff), ms since the epoch.
    pub run_after: i64,
    /// The user asked to cancel it.
    pub cancel_requested: bool,
    /// Units done (rows, batches; the handler says which).
    pub done: u64,
    /// Units in all, when known.
    pub total: Option<u64>,
    /// What the handler saved to resume from.
    pub checkpoint: Option<serde_json::Value>,
    /// The last error.
    pub error: Option<JobError>,
    /// Submitted, ms since the epoch.
    pub created: i64,
    /// First started.
    pub started: Option<i64>,
    /// Last changed.
    pub updated: i64,
    /// Ended (succeeded, failed, cancelled).
    pub finished: Option<i64>,
    /// When `done` was last written.
    pub progress_at: Option<i64>,
}

impl Job {
    /// Units per second since the job first started, when it has made progress.
    pub fn rate(&self) -> Option<f64> {
        let (start, at) = (self.started?, self.progress_at?);
        let secs = (at - start) as f64 / 1000.0;
        (secs > 0.0 && self.done > 0).then(|| self.done as f64 / secs)
    }

    /// Time left at the current rate, when the total is known.
    pub fn eta(&self) -> Option<Duration> {
        let rate = self.rate()?;
        let left = self.total?.saturating_sub(self.done) as f64;
        Some(Duration::from_secs_f64(left / rate))
    }
}

/// A worker's hold on a running job: every write it makes carries the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The job.
    pub job: JobId,
    /// The fencing token this start got.
    pub token: i64,
    /// The worker's name.
    pub worker: String,
}

/// What the store answers a heartbeat or a checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Signal {
    /// The user asked to cancel the job: stop at this checkpoint.
    pub cancel: bool,
}

/// How a start of a job ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// It finished.
    Succeeded,
    /// It failed for good.
    Failed(JobError),
    /// A transient error: queued again, not before `at` (ms since the epoch).
    Retry {
        /// The error.
        error: JobError,
        /// The earliest next start.
        at: i64,
    },
    /// Stopped at a checkpoint because the user cancelled it.
    Cancelled,
    /// Stopped at a checkpoint because the worker shuts down: queued again
    /// at once, its attempt given back.
    Released,
}

/// A line of a job's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    /// When, ms since the epoch.
    pub at: i64,
    /// The start it came from (the lease's token).
    pub token: i64,
    /// The text.
    pub line: String,
}

/// Which jobs [`Store::list`](crate::Store::list) returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only these states (all when empty).
    pub states: Vec<State>,
    /// Only this kind.
    pub kind: Option<String>,
    /// At most this many, newest first (all when `None`).
    pub limit: Option<u32>,
}

/// Which jobs a worker may take.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClaimFilter {
    /// The kinds it has handlers for (any when empty).
    pub kinds: Vec<String>,
    /// Only this job (`qore job submit --run`).
    pub only: Option<JobId>,
}

/// The error a store gives a write whose lease is gone.
pub(crate) fn lease_lost(lease: &Lease) -> Error {
    Error::Denied(format!(
        "job {}: the lease with token {} is no longer held by {} (it expired and the job was \
         taken over, cancelled or removed); this write was refused",
        lease.job, lease.token, lease.worker
    ))
}

/// Whether `e` is a store's refusal of a lost lease.
pub fn is_lease_lost(e: &Error) -> bool {
    e.kind() == ErrorKind::Denied && e.to_string().contains("is no longer held by")
}

/// Now, in ms since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip() {
        for s in [State::Queued, State::Running, State::Succeeded, State::Failed, State::Cancelled] {
            assert_eq!(State::parse(s.name()).unwrap(), s);
        }
        assert!(State::parse("sleeping").is_err());
    }

    #[test]
    fn job_ids_parse() {
        assert_eq!("12".parse::<JobId>().unwrap(), JobId(12));
        assert!("0".parse::<JobId>().is_err());
        assert!("x".parse::<JobId>().unwrap_err().to_string().contains("`x`"));
    }
}
