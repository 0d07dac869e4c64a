//! Messages taken *after* the webhook has answered: those with a photo to fetch, and
//! every later message of the same chat until they are done (so that a photo followed
//! by "Done" is still a photo, then "Done").
//!
//! A download can take seconds (Telegram's `getFile` and file server, the Graph API's
//! media URL); Telegram and Meta retry a webhook that does not answer quickly, which
//! would start the download again. So the webhook claims the delivery first (the dedupe
//! comes before any download), makes the message durable here, answers 200, and a worker
//! of whichever instance reads it fetches the media and takes the turn of the
//! conversation.
//!
//! What is stored where (each key behind the prefix, see [`crate::keyspace`]):
//! - `gateway:inbound-pending:<subject key of the chat>`: a list of the chat's waiting
//!   messages, oldest first, each the provider's own payload of that one message (what
//!   the citizen sent, as a conversation holds it); popped as each is taken, so it lives
//!   seconds; a day at most ([`PENDING_TTL`]) if every worker stopped.
//! - `gateway:inbound-media:<channel>`: a stream (field `user`: the subject key) telling
//!   the workers which chat has work; consumer group `gateway`, one consumer per
//!   instance. An entry an instance left pending (it stopped mid-download) is claimed by
//!   another after [`RECLAIM_AFTER`].
//! - `gateway:inbound-pending-lock:<subject key>`: the worker draining a chat's list
//!   (one at a time, in order), for [`DRAIN_LEASE`].
//!
//! Redis away at the webhook: the delivery is refused (503) and the provider retries, as
//! for any other message.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::keyspace::name;
use crate::redis_handle::{Redis, WEBHOOK_WAIT};
use crate::redis_target::{RedisConn, Timeouts};
use crate::supervisor::Shutdown;

use super::store::StoreError;

/// Consumer group of every instance.
const GROUP: &str = "gateway";
/// Entries read at once.
const BATCH: usize = 8;
/// A pending entry idle this long is taken over (longer than any download: the
/// clients give up after 60 s).
const RECLAIM_AFTER: Duration = Duration::from_secs(90);
/// How long a worker may drain one chat before another may.
const DRAIN_LEASE: Duration = Duration::from_secs(80);
/// How long waiting messages are kept if no worker takes them.
const PENDING_TTL: Duration = Duration::from_secs(24 * 3600);

/// The deferred messages of every bot.
pub(crate) struct Deferred {
    redis: Redis,
    consumer: String,
    /// The drain leases' holder: the consumer and this process's life
    /// (`<consumer>#<random>`), so that a lease left by an earlier life is known.
    holder: String,
}

impl Deferred {
    /// Through `redis`, the webhook waiting for it as long as a webhook does; the workers
    /// read with connections of their own.
    pub(crate) fn new(redis: &Redis, consumer: &str) -> Deferred {
        Deferred {
            redis: redis.waiting(WEBHOOK_WAIT),
            consumer: consumer.to_owned(),
            holder: format!("{consumer}#{:016x}", rand::random::<u64>()),
        }
    }

    async fn connection(&self) -> Result<RedisConn, StoreError> {
        Ok(self.redis.conn().await?)
    }

    async fn query<T: redis::FromRedisValue>(
        &self,
        conn: &mut RedisConn,
        pipe: &redis::Pipeline,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.redis.wait(), pipe.query_async::<T>(conn)).await {
            Ok(Ok(v)) => Ok(v),
            _ => {
                self.redis.reset().await;
                Err(StoreError::Unavailable(crate::redis_handle::Unavailable))
            }
        }
    }

    /// Whether messages of the chat `user` wait: a new one must wait behind them.
    pub(crate) async fn waiting(&self, user: &str) -> Result<bool, StoreError> {
        let mut conn = self.connection().await?;
        let mut pipe = redis::pipe();
        pipe.cmd("LLEN")
            .arg(self.redis.keys().key(&name::inbound_pending(user)));
        let (len,): (i64,) = self.query(&mut conn, &pipe).await?;
        Ok(len > 0)
    }

    /// Makes one message of the chat `user` durable, behind the chat's waiting ones.
    pub(crate) async fn push(
        &self,
        channel: &str,
        user: &str,
        payload: &str,
    ) -> Result<(), StoreError> {
        let mut conn = self.connection().await?;
        let list = self.redis.keys().key(&name::inbound_pending(user));
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("RPUSH")
            .arg(&list)
            .arg(payload)
            .ignore()
            .cmd("EXPIRE")
            .arg(&list)
            .arg(PENDING_TTL.as_secs())
            .ignore()
            .cmd("XADD")
            .arg(self.redis.keys().key(&name::inbound_media(channel)))
            .arg("*")
            .arg("user")
            .arg(user)
            .ignore();
        self.query::<()>(&mut conn, &pipe).await
    }

    /// Runs the worker of `channel` until the shutdown: `take` gets each waiting
    /// payload, in the order of its chat, and answers whether it is done with it
    /// (`false`: kept, and taken again later). At the shutdown the payload in hand is
    /// finished and the rest left waiting; at its start the worker first takes what
    /// this instance left pending when it stopped (or was cut at
    /// `GATEWAY_SHUTDOWN_SECS`), so that nothing waits for [`RECLAIM_AFTER`].
    pub(crate) async fn run<F, Fut>(
        self: Arc<Self>,
        channel: &'static str,
        mut shutdown: Shutdown,
        take: F,
    ) where
        F: Fn(String) -> Fut,
        Fut: Future<Output = bool>,
    {
        let Some(target) = self.redis.target().cloned() else {
            return;
        };
        let stream = self.redis.keys().key(&name::inbound_media(channel));
        let mut history = true;
        while !shutdown.is_stopping() {
            let conn = target.connect(Timeouts::default()).await;
            if let Ok(mut conn) = conn
                && crate::redis_target::ensure_group(&mut conn, &stream, GROUP)
                    .await
                    .is_ok()
            {
                // Ends with an error of Redis (connects again) or at the shutdown.
                loop {
                    // Not cut by the shutdown: a payload in hand is finished.
                    let round = self
                        .round(&mut conn, &stream, &take, history, &shutdown)
                        .await;
                    // Its own pending entries are looked at once (a batch); what is
                    // left then waits for RECLAIM_AFTER as any other's.
                    match round {
                        Ok(_) => history = false,
                        Err(_) => break,
                    }
                    if shutdown.is_stopping() {
                        return;
                    }
                }
            }
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
                () = shutdown.stopped() => return,
            }
        }
    }

    /// One batch of entries: this consumer's own pending ones while `history`, else
    /// those idle past [`RECLAIM_AFTER`] or new. The read may be cut by the shutdown;
    /// a payload being taken is not (see [`Deferred::drain`]).
    async fn round<F, Fut>(
        &self,
        conn: &mut RedisConn,
        stream: &str,
        take: &F,
        history: bool,
        shutdown: &Shutdown,
    ) -> redis::RedisResult<()>
    where
        F: Fn(String) -> Fut,
        Fut: Future<Output = bool>,
    {
        let group = crate::redis_target::Group {
            stream,
            group: GROUP,
            consumer: &self.consumer,
        };
        let mut reader = conn.clone();
        let mut stop = shutdown.clone();
        let entries = if history {
            group.own_pending(conn, BATCH).await?
        } else {
            // A blocking read (a second at most) is cut by the shutdown.
            tokio::select! {
                read = group.claim_or_read(conn, &mut reader, RECLAIM_AFTER, BATCH) => read?,
                () = stop.stopped() => return Ok(()),
            }
        };
        for (id, fields) in entries {
            if shutdown.is_stopping() {
                break;
            }
            let user = match fields.get("user") {
                Some(redis::Value::BulkString(b)) => String::from_utf8_lossy(b).into_owned(),
                _ => String::new(),
            };
            if user.is_empty() || self.drain(conn, &user, take, shutdown).await? {
                let _: i64 = redis::cmd("XACK")
                    .arg(stream)
                    .arg(GROUP)
                    .arg(&id)
                    .query_async(conn)
                    .await?;
                let _: i64 = redis::cmd("XDEL")
                    .arg(stream)
                    .arg(&id)
                    .query_async(conn)
                    .await?;
            }
        }
        Ok(())
    }

    /// Takes the chat's waiting messages in order; `false` when one could not be taken
    /// or another worker drains the chat (the entry stays pending and is looked at again
    /// after [`RECLAIM_AFTER`]; by then the other worker has taken what waited, as it
    /// looks at the list again after letting go of it).
    async fn drain<F, Fut>(
        &self,
        conn: &mut RedisConn,
        user: &str,
        take: &F,
        shutdown: &Shutdown,
    ) -> redis::RedisResult<bool>
    where
        F: Fn(String) -> Fut,
        Fut: Future<Output = bool>,
    {
        let lock = self.redis.keys().key(&name::inbound_pending_lock(user));
        let list = self.redis.keys().key(&name::inbound_pending(user));
        loop {
            if !self.lease(conn, &lock).await? {
                return Ok(false);
            }
            let mut done = true;
            loop {
                let next: Option<String> = redis::cmd("LINDEX")
                    .arg(&list)
                    .arg(0)
                    .query_async(conn)
                    .await?;
                let Some(payload) = next else {
                    break;
                };
                if !take(payload).await {
                    done = false;
                    break;
                }
                let _: Option<String> = redis::cmd("LPOP").arg(&list).query_async(conn).await?;
                if shutdown.is_stopping() {
                    // The rest waits for the next start (the entry stays pending).
                    done = false;
                    break;
                }
            }
            let _: i64 = redis::cmd("DEL").arg(&lock).query_async(conn).await?;
            // A message pushed while this worker held the lease was perhaps turned away
            // by another worker: look again.
            let left: i64 = redis::cmd("LLEN").arg(&list).query_async(conn).await?;
            if !done || left == 0 {
                return Ok(done);
            }
        }
    }

    /// Takes the drain lease of a chat: free, or held by this instance in an earlier
    /// life (cut at its shutdown while it drained: no one else drains under its name).
    async fn lease(&self, conn: &mut RedisConn, lock: &str) -> redis::RedisResult<bool> {
        let leased: Option<String> = redis::cmd("SET")
            .arg(lock)
            .arg(&self.holder)
            .arg("NX")
            .arg("PX")
            .arg(DRAIN_LEASE.as_millis() as u64)
            .query_async(conn)
            .await?;
        if leased.is_some() {
            return Ok(true);
        }
        let holder: Option<String> = redis::cmd("GET").arg(lock).query_async(conn).await?;
        let earlier_life = holder.is_some_and(|h| {
            h != self.holder
                && h.strip_prefix(self.consumer.as_str())
                    .is_some_and(|rest| rest.starts_with('#'))
        });
        if !earlier_life {
            return Ok(false);
        }
        let taken: Option<String> = redis::cmd("SET")
            .arg(lock)
            .arg(&self.holder)
            .arg("XX")
            .arg("PX")
            .arg(DRAIN_LEASE.as_millis() as u64)
            .query_async(conn)
            .await?;
        Ok(taken.is_some())
    }
}
