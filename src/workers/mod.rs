//! The background loops: each leases due rows and hands them on.
//!
//! Owns: the [`Dispatcher`] (queued chat operations and pages to the platforms),
//! the [`Scheduler`] (due reminders to the engine), the [`ActionWorker`] (queued
//! action runs to the runner, their results to the engine), the [`Inbox`] (what
//! platforms sent, kept until applied) with its [`InboxWorker`], the [`Pruner`]
//! (bookkeeping rows past their retention window, deleted in small batches), and
//! the one loop they all run in ([`run_loop`]): a pass, then a pause that a
//! wake-up cuts short, until shutdown.
//! Must not: decide anything (the engine does) or write SQL (the store does).
//!
//! Nothing here is kept only in memory: every loop finds its work in the database,
//! so after a crash the next process simply picks it up when the leases end. Leases
//! are short and a [`Heartbeat`] renews them while the worker lives, so a dead
//! replica's work returns within one lease, and a slow platform call never outlives
//! its lease.

mod action_worker;
mod dispatcher;
mod inbox;
mod pruner;
mod scheduler;

pub use action_worker::{ActionWorker, ActionWorkerSettings};
pub use dispatcher::{Dispatcher, DispatcherSettings};
pub use inbox::{Inbox, InboxWorker, Kept, Replay};
pub use pruner::{Pruned, Pruner, PrunerSettings};
pub use scheduler::{Scheduler, SchedulerSettings};

use crate::clock::SharedClock;
use crate::store::{LeasedWork, Store};
use std::fmt::Display;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// How long a dispatcher's or scheduler's claimed row stays its own without a
/// renewal: how long a dead replica's rows wait before another takes them.
pub const SHORT_LEASE: Duration = Duration::from_secs(5);

/// Renews one worker's leases every third of the lease while it runs, so a lease
/// survives two missed renewals (a slow database) before it can be taken. Stops
/// when dropped.
pub(crate) struct Heartbeat(JoinHandle<()>);

impl Heartbeat {
    pub(crate) fn start(
        store: Store,
        work: LeasedWork,
        owner: String,
        lease: Duration,
        clock: SharedClock,
    ) -> Heartbeat {
        let every = lease / 3;
        Heartbeat(tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                if let Err(error) = store.renew_leases(work, &owner, clock.now(), lease).await {
                    tracing::warn!(%error, %owner, "could not renew leases; retrying");
                }
            }
        }))
    }
}

impl Heartbeat {
    /// Stops renewing, and returns once the renewal task is gone with its
    /// handle on the store: a stopped worker leaves nothing behind.
    pub(crate) async fn stop(mut self) {
        self.0.abort();
        let _ = (&mut self.0).await;
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A name for the leases one worker takes, unique to this process and call
/// (`dispatcher-<pid>-<start>-<n>`), so a lease is never mistaken for another's.
pub fn unique_owner(kind: &str) -> String {
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|since| since.as_nanos())
        .unwrap_or_default();
    format!(
        "{kind}-{}-{started}-{}",
        std::process::id(),
        SEQUENCE.fetch_add(1, Ordering::Relaxed)
    )
}

/// Runs `pass` until `shutdown` completes. Each pass says how long to pause
/// before the next: zero when it had more work than it took, so the loop goes
/// straight on; otherwise a wake-up on `wakeup` ends the pause early. A failed
/// pass is logged and followed by a pause of `on_error`: its rows stay leased
/// and return when the leases end. A pass under way when shutdown comes is
/// finished first, so nothing it already did goes unrecorded.
pub(crate) async fn run_loop<Pass, Passing, Error>(
    name: &str,
    owner: &str,
    wakeup: Arc<Notify>,
    on_error: Duration,
    shutdown: impl Future<Output = ()>,
    pass: Pass,
) where
    Pass: Fn() -> Passing,
    Passing: Future<Output = Result<Duration, Error>>,
    Error: Display,
{
    tokio::pin!(shutdown);
    tracing::info!(%owner, "{name} started");
    loop {
        let pause = match pass().await {
            Ok(pause) => pause,
            Err(error) => {
                tracing::warn!(%error, "{name} pass failed; its rows return when their leases end");
                on_error
            }
        };
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            () = wakeup.notified(), if !pause.is_zero() => {}
            () = tokio::time::sleep(pause) => {}
        }
    }
    tracing::info!(%owner, "{name} stopped");
}

#[cfg(test)]
mod tests {
    use super::unique_owner;

    #[test]
    fn owners_are_unique_and_say_what_they_run() {
        let (first, second) = (unique_owner("dispatcher"), unique_owner("dispatcher"));
        assert_ne!(first, second);
        assert!(first.starts_with("dispatcher-"), "{first}");
    }
}
