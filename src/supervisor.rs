//! The owner of every background task, and the one shutdown signal they all watch.
//!
//! As tokio's mini-redis does in its `server.rs`: a task is spawned into one `JoinSet`
//! and handed a [`Shutdown`]; on SIGTERM (or SIGINT) the signal turns true once, each
//! task finishes what it holds — the forwarder its batch, the notifier the reply it is
//! sending, a bot's worker the photo it is fetching and the turn it is taking, a bot's
//! sender the replies already queued — and returns. What a task did not finish in time
//! is left where it is redone from: a record in the outbox, a pending entry of a
//! consumer group (read again by the same instance at its next start), a message in a
//! chat's waiting list. [`Supervisor::stop`] waits for every task until
//! `GATEWAY_SHUTDOWN_SECS` after the signal and aborts the rest, naming them in the log,
//! so that the process always exits within that time.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::{Id, JoinSet};

/// The shutdown signal as a task sees it: cheap to clone, true once the service stops.
#[derive(Clone)]
pub(crate) struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    /// Whether the service is stopping: a task checks this before it takes new work.
    pub(crate) fn is_stopping(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once the service is stopping (at once if it is already).
    pub(crate) async fn stopped(&mut self) {
        while !*self.0.borrow_and_update() {
            if self.0.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    /// The signal as the `watch` receiver the older workers take.
    pub(crate) fn receiver(&self) -> watch::Receiver<bool> {
        self.0.clone()
    }
}

/// Every background task of the service, and the signal that stops them.
pub(crate) struct Supervisor {
    tasks: JoinSet<()>,
    names: HashMap<Id, &'static str>,
    stop: watch::Sender<bool>,
}

impl Default for Supervisor {
    fn default() -> Self {
        Supervisor::new()
    }
}

impl Supervisor {
    /// No task yet; the signal false.
    pub(crate) fn new() -> Supervisor {
        let (stop, _) = watch::channel(false);
        Supervisor {
            tasks: JoinSet::new(),
            names: HashMap::new(),
            stop,
        }
    }

    /// The signal, for a task about to be spawned.
    pub(crate) fn shutdown(&self) -> Shutdown {
        Shutdown(self.stop.subscribe())
    }

    /// Runs `task` on this thread's runtime (the service's tasks need not be `Send`),
    /// under `name` in the log when it is cut at the deadline.
    pub(crate) fn spawn(&mut self, name: &'static str, task: impl Future<Output = ()> + 'static) {
        let handle = self.tasks.spawn_local(task);
        self.names.insert(handle.id(), name);
    }

    /// Tells every task to stop and waits for them until `within` has passed; a task
    /// still running then is aborted (its work is redone at the next start).
    pub(crate) async fn stop(mut self, within: Duration) {
        let _ = self.stop.send(true);
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.tasks.join_next_with_id()).await {
                Ok(None) => return,
                Ok(Some(Ok((id, ())))) => {
                    self.names.remove(&id);
                }
                Ok(Some(Err(e))) => {
                    let name = self.names.remove(&e.id()).unwrap_or("task");
                    if e.is_panic() {
                        tracing::error!(task = name, "background task panicked");
                    }
                }
                Err(_) => {
                    let mut cut: Vec<&str> = self.names.values().copied().collect();
                    cut.sort_unstable();
                    tracing::warn!(
                        tasks = ?cut,
                        "GATEWAY_SHUTDOWN_SECS passed: these tasks are cut; their work is redone at the next start"
                    );
                    self.tasks.abort_all();
                    while self.tasks.join_next().await.is_some() {}
                    return;
                }
            }
        }
    }
}

/// Runs `round` at once and then every `period`, until the shutdown: the loop of every
/// periodic worker (aggregates, retention, the photo sweep). A round in progress is
/// finished; the wait between rounds is not.
pub(crate) async fn every<F, Fut>(period: Duration, mut shutdown: Shutdown, mut round: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    while !shutdown.is_stopping() {
        round().await;
        tokio::select! {
            () = tokio::time::sleep(period) => {}
            () = shutdown.stopped() => return,
        }
    }
}

/// Takes what `queue` delivers until the shutdown, then what is already queued, and
/// returns: a bot's replies, accepted and answered in memory, are sent before the
/// process exits (within `GATEWAY_SHUTDOWN_SECS`).
pub(crate) async fn drain<T, F, Fut>(
    mut queue: tokio::sync::mpsc::UnboundedReceiver<T>,
    mut shutdown: Shutdown,
    mut send: F,
) where
    F: FnMut(T) -> Fut,
    Fut: Future<Output = ()>,
{
    loop {
        tokio::select! {
            next = queue.recv() => match next {
                Some(item) => send(item).await,
                None => return,
            },
            () = shutdown.stopped() => break,
        }
    }
    while let Ok(item) = queue.try_recv() {
        send(item).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn local<F: Future>(f: F) -> F::Output {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        tokio::task::LocalSet::new().block_on(&rt, f)
    }

    #[test]
    fn a_task_that_sees_the_signal_finishes_and_one_that_does_not_is_cut() {
        local(async {
            let mut tasks = Supervisor::new();
            let finished = Arc::new(AtomicUsize::new(0));
            let (mut shutdown, done) = (tasks.shutdown(), Arc::clone(&finished));
            tasks.spawn("polite", async move {
                shutdown.stopped().await;
                done.fetch_add(1, Ordering::SeqCst);
            });
            let done = Arc::clone(&finished);
            tasks.spawn("deaf", async move {
                std::future::pending::<()>().await;
                done.fetch_add(10, Ordering::SeqCst);
            });
            let started = std::time::Instant::now();
            tasks.stop(Duration::from_millis(200)).await;
            assert!(started.elapsed() < Duration::from_secs(2));
            assert_eq!(finished.load(Ordering::SeqCst), 1);
        });
    }

    #[test]
    fn a_periodic_worker_runs_until_the_signal() {
        local(async {
            let mut tasks = Supervisor::new();
            let rounds = Arc::new(AtomicUsize::new(0));
            let counted = Arc::clone(&rounds);
            tasks.spawn(
                "periodic",
                every(Duration::from_millis(10), tasks.shutdown(), move || {
                    let counted = Arc::clone(&counted);
                    async move {
                        counted.fetch_add(1, Ordering::SeqCst);
                    }
                }),
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
            tasks.stop(Duration::from_secs(1)).await;
            let seen = rounds.load(Ordering::SeqCst);
            assert!(seen >= 2, "{seen}");
            tokio::time::sleep(Duration::from_millis(50)).await;
            assert_eq!(rounds.load(Ordering::SeqCst), seen);
        });
    }
}
