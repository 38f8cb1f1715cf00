//! Clean-up work that must finish before the process exits.
//!
//! Dropping a result stream asks the server to stop its statement
//! (`pg_cancel_backend`, `KILL QUERY`) from a task that outlives the stream,
//! and an interrupted writer removes its temporary files from its own
//! thread. A program that is about to exit (after Ctrl-C, say) calls
//! [`settle`] so that this work is not cut off with the runtime: otherwise
//! the server goes on running a statement nobody will read.
//!
//! # Example
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use std::time::Duration;
//! let guard = qore_core::cleanup::guard();
//! let worker = tokio::spawn(async move {
//!     let _guard = guard; // released when the clean-up ends, even if aborted
//!     tokio::time::sleep(Duration::from_millis(20)).await;
//! });
//! assert!(qore_core::cleanup::settle(Duration::from_secs(5)).await);
//! assert_eq!(qore_core::cleanup::pending(), 0);
//! # worker.await.unwrap();
//! # });
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

static PENDING: AtomicUsize = AtomicUsize::new(0);

/// Counts one piece of clean-up work as pending until it is dropped.
///
/// Hold it in the task or thread doing the work: dropping it (normally, by
/// a panic, or because the task was aborted) marks the work done.
#[derive(Debug)]
#[must_use = "the clean-up counts as pending only while the guard lives"]
pub struct CleanupGuard(());

impl Drop for CleanupGuard {
    fn drop(&mut self) {
        PENDING.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Marks one piece of clean-up work as pending; see [`CleanupGuard`].
pub fn guard() -> CleanupGuard {
    PENDING.fetch_add(1, Ordering::AcqRel);
    CleanupGuard(())
}

/// How many pieces of clean-up work are pending now.
pub fn pending() -> usize {
    PENDING.load(Ordering::Acquire)
}

/// Waits until no clean-up work is pending, or `timeout` has passed.
/// Returns whether everything finished.
pub async fn settle(timeout: Duration) -> bool {
    let start = Instant::now();
    loop {
        if pending() == 0 {
            return true;
        }
        if start.elapsed() >= timeout {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_aborted_task_releases_its_guard() {
        let before = pending();
        let g = guard();
        #[allow(clippy::disallowed_methods)] // the test aborts it itself
        let t = tokio::spawn(async move {
            let _g = g;
            tokio::time::sleep(Duration::from_secs(3600)).await;
        });
        assert_eq!(pending(), before + 1);
        t.abort();
        let _ = t.await;
        assert_eq!(pending(), before);
    }
}
