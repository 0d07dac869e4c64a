//! The one Redis handle every store is given: where Redis is ([`RedisTarget`]), the
//! deployment's keys ([`Keyspace`], behind `GATEWAY_STREAM_PREFIX`), one connection
//! shared by the stores, how long a caller waits for an answer, and one failure,
//! [`Unavailable`].
//!
//! Why one handle: before it, each store (sessions, calls, rate limits, the bots'
//! conversations, the status board, the Open311 index, the idempotency claims…) held its
//! own prefix, built its own keyspace, opened its own connection and said "Redis is
//! away" in its own way (`Option`, `bool`, a string error). The handle is built once by
//! [`crate::app`] and cloned into each; a clone is cheap and shares the connection.
//!
//! **Reset on error.** A command that fails or does not answer within the caller's wait
//! drops the shared connection; the next command opens a new one — for Sentinel, to the
//! primary the sentinels name *now* (see [`crate::redis_target`]).
//!
//! **Waits.** What a caller can afford differs, not the connection: a page answers
//! without Redis after [`PAGE_WAIT`], a webhook waits [`WEBHOOK_WAIT`], a claim whose
//! answer decides between an appeal and a 503 waits [`CLAIM_WAIT`]. A store takes the
//! handle with its wait ([`Redis::waiting`]); blocking reads (`XREADGROUP BLOCK`) open a
//! connection of their own from [`Redis::target`].

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::keyspace::Keyspace;
use crate::redis_target::{RedisConn, RedisTarget, Timeouts};

/// What a page, a rate limit or an agent console waits for Redis before it goes on
/// without it (from memory, or with what this instance knows).
pub(crate) const PAGE_WAIT: Duration = Duration::from_millis(300);
/// What the status page waits, and a request for the agent accounts before the
/// last-known copy (or a 503) answers: a read a person is waiting for.
pub(crate) const STATUS_WAIT: Duration = Duration::from_millis(500);
/// What a provider's webhook waits (its dedupe, a conversation, the Open311 index):
/// under the providers' own timeouts, above a failover's first second.
pub(crate) const WEBHOOK_WAIT: Duration = Duration::from_millis(1500);
/// What a claim waits (an `Idempotency-Key`, a mailed confirmation) before the
/// request gets 503: the answer decides whether an appeal is taken.
pub(crate) const CLAIM_WAIT: Duration = Duration::from_secs(2);

/// Redis could not be asked now: not configured, not reached, or it did not answer in
/// the caller's wait. The one failure every store reports; what to do without Redis is
/// the store's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Redis is unavailable")]
pub(crate) struct Unavailable;

/// What the clones of a handle share.
struct Shared {
    target: Option<RedisTarget>,
    keys: Keyspace,
    slot: tokio::sync::Mutex<Option<RedisConn>>,
}

/// The Redis handle: cheap to clone; every clone shares the connection.
#[derive(Clone)]
pub(crate) struct Redis {
    shared: Arc<Shared>,
    wait: Duration,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redis({:?}, {:?})", self.shared.target, self.shared.keys)
    }
}

impl Redis {
    /// The handle for `target` (`None`: no Redis, every command is [`Unavailable`]) and
    /// the deployment's `prefix`. Connects to nothing yet.
    pub(crate) fn new(target: Option<RedisTarget>, prefix: &str) -> Redis {
        Redis {
            shared: Arc::new(Shared {
                target,
                keys: Keyspace::new(prefix),
                slot: tokio::sync::Mutex::new(None),
            }),
            wait: WEBHOOK_WAIT,
        }
    }

    /// The same handle and connection, waiting `wait` for each command.
    pub(crate) fn waiting(&self, wait: Duration) -> Redis {
        Redis {
            shared: Arc::clone(&self.shared),
            wait,
        }
    }

    /// How long a command of this handle waits.
    pub(crate) fn wait(&self) -> Duration {
        self.wait
    }

    /// The deployment's keys.
    pub(crate) fn keys(&self) -> &Keyspace {
        &self.shared.keys
    }

    /// Where Redis is, for a connection of one's own (blocking reads).
    pub(crate) fn target(&self) -> Option<&RedisTarget> {
        self.shared.target.as_ref()
    }

    /// A connection of the caller's own, outside the handle's wait: a worker's blocking
    /// read (`XREADGROUP BLOCK` would hold every command queued behind it on the shared
    /// one) or a batch with its own retry. An error when no `REDIS_URL` was given.
    pub(crate) async fn connect_own(&self, timeouts: Timeouts) -> redis::RedisResult<RedisConn> {
        match &self.shared.target {
            Some(target) => target.connect(timeouts).await,
            None => Err(redis::RedisError::from(std::io::Error::new(
                std::io::ErrorKind::NotConnected,
                "no REDIS_URL",
            ))),
        }
    }

    /// The shared connection, opened now (within the wait) if there is none.
    pub(crate) async fn conn(&self) -> Result<RedisConn, Unavailable> {
        let target = self.shared.target.as_ref().ok_or(Unavailable)?;
        let open = async {
            let mut slot = self.shared.slot.lock().await;
            if let Some(conn) = slot.as_ref() {
                return Some(conn.clone());
            }
            // The answer's own bound is the caller's wait (below); the connection's is
            // the longest any caller may wait.
            let conn = target
                .connect(Timeouts {
                    connect: self.wait,
                    response: CLAIM_WAIT.max(self.wait),
                })
                .await
                .ok()?;
            *slot = Some(conn.clone());
            Some(conn)
        };
        tokio::time::timeout(self.wait, open)
            .await
            .ok()
            .flatten()
            .ok_or(Unavailable)
    }

    /// Forgets the shared connection (it failed); the next command opens a new one.
    pub(crate) async fn reset(&self) {
        *self.shared.slot.lock().await = None;
    }

    /// Runs `command` on the shared connection within the wait; a failure or no answer
    /// in time resets the connection and is [`Unavailable`].
    pub(crate) async fn run<T, F, Fut>(&self, command: F) -> Result<T, Unavailable>
    where
        F: FnOnce(RedisConn) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let conn = self.conn().await?;
        match tokio::time::timeout(self.wait, command(conn)).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(e)) => {
                tracing::debug!(error = %crate::redis_target::describe(&e), "redis command failed");
                self.reset().await;
                Err(Unavailable)
            }
            Err(_) => {
                self.reset().await;
                Err(Unavailable)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_redis_every_command_is_unavailable_at_once() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        let redis = Redis::new(None, "t:").waiting(PAGE_WAIT);
        assert_eq!(redis.keys().key("x"), "t:x");
        let answer: Result<String, Unavailable> = rt.block_on(
            redis.run(|mut c| async move { redis::cmd("PING").query_async(&mut c).await }),
        );
        assert_eq!(answer, Err(Unavailable));
    }
}
