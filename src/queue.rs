//! The Redis streams and the forwarder that moves outbox records onto them.
//!
//! **Exactly once.** Each outbox record (the messages of one accepted request: an appeal
//! with its consent and statistics) is added by one Lua script, atomically: it sets
//! `<prefix>gateway:sent:<record id>` (NX, with a time to live) and runs the record's
//! `XADD`s only when the key was new. A record sent again — after a crash that lost the
//! outbox's removal, or a retry after a connection dropped mid-pipeline, or by
//! `outbox drain` from another machine — is recognised and not added twice. Records are
//! sent in batches, one `EVALSHA` of the script per batch (each record in it still all or
//! nothing, and once).
//!
//! **Replicas before forgetting (`GATEWAY_REDIS_MIN_REPLICAS`).** Redis replication is
//! asynchronous: the primary answers a write before any replica has it, and a primary
//! that dies (and is replaced by a replica, by Sentinel) takes its last writes with it.
//! A record removed from the outbox on the primary's word alone could be lost that way.
//! So with `GATEWAY_REDIS_MIN_REPLICAS = N > 0` each batch ends with `WAIT N 2000`, and
//! the records leave the outbox only once at least N replicas have them; otherwise they
//! are sent again later (the dedupe key, replicated with them, keeps that exactly once).
//! Sentinel promotes the replica with the most data, which then holds every record the
//! outbox forgot. The default 0 trusts the primary alone (a single Redis).
//!
//! **Redis away.** The forwarder retries with backoff (100 ms doubling to 5 s), the
//! outbox grows, `/readyz` says so; intake never stops. When Redis is back every record
//! arrives once, in the order it was accepted. After a failover the next connection goes
//! to the new primary ([`crate::redis_target`]).
//!
//! **Cluster.** The script's keys (dedupe key, streams, subject marks) must share a hash
//! slot: the prefix carries a hash tag such as `{oa}` (see [`crate::keyspace`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::clock::now_us;
use crate::keyspace::Keyspace;
use crate::metrics::Metrics;
use crate::outbox::{Bundle, Outbox};
use crate::redis_target::{RedisConn, RedisTarget, Timeouts};

/// Adds a batch of records, each exactly once: for each record it sets the record's
/// dedupe key and, only when the key was new, adds the record's entries and sets its
/// marks. One call per batch, not per record: the script's fixed cost (lookup, call,
/// reply) is paid once, and Redis runs the whole batch atomically.
///
/// KEYS, per record in order: the dedupe key, one stream per entry, one hash per mark.
/// ARGV: the ttl in seconds, the number of records, then per record: its number of
/// entries and of marks, for each entry the number of its field/value arguments
/// followed by them, then per mark a field name, its value, `1` for a counter (`HINCRBY`
/// by the value) or `0` (`HSET`), and the hash's time to live (`0`: none). Returns the
/// number of records added (a record already sent counts 0).
const FORWARD_SCRIPT: &str = r"
local ttl = ARGV[1]
local records = tonumber(ARGV[2])
local k, at, added = 1, 3, 0
for r = 1, records do
  local streams, marks = tonumber(ARGV[at]), tonumber(ARGV[at + 1])
  at = at + 2
  local fresh = redis.call('SET', KEYS[k], '1', 'NX', 'EX', ttl)
  k = k + 1
  for i = 1, streams do
    local n = tonumber(ARGV[at])
    if fresh then
      redis.call('XADD', KEYS[k], '*', unpack(ARGV, at + 1, at + n))
    end
    at = at + n + 1
    k = k + 1
  end
  for i = 1, marks do
    if fresh then
      if ARGV[at + 2] == '1' then
        redis.call('HINCRBY', KEYS[k], ARGV[at], ARGV[at + 1])
      else
        redis.call('HSET', KEYS[k], ARGV[at], ARGV[at + 1])
      end
      local hash_ttl = tonumber(ARGV[at + 3])
      if hash_ttl > 0 then
        redis.call('EXPIRE', KEYS[k], hash_ttl)
      end
    end
    at = at + 4
    k = k + 1
  end
  if fresh then
    added = added + 1
  end
end
return added
";

/// Most records in one pipeline.
const BATCH: usize = 256;
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Whether Redis answered the last time the forwarder asked; read by `/readyz`.
#[derive(Debug, Default)]
pub(crate) struct QueueStatus {
    redis_up: AtomicBool,
    /// Whether the last batch waited in vain for `GATEWAY_REDIS_MIN_REPLICAS` replicas.
    replicas_short: AtomicBool,
    /// Whether the forwarder has learnt anything yet (so the first failure is told too).
    known: AtomicBool,
}

impl QueueStatus {
    pub(crate) fn redis_up(&self) -> bool {
        self.redis_up.load(Ordering::Relaxed)
    }

    /// False while Redis answers but too few replicas confirm: the outbox does not drain.
    pub(crate) fn replicas_ok(&self) -> bool {
        !self.replicas_short.load(Ordering::Relaxed)
    }

    fn set_replicas_short(&self, short: bool) {
        if self.replicas_short.swap(short, Ordering::Relaxed) != short {
            if short {
                tracing::warn!("too few redis replicas confirm; appeals wait in the outbox");
            } else {
                tracing::info!("redis replicas confirm again");
            }
        }
    }

    /// Records what the forwarder saw; a change (and the first finding) is logged once,
    /// at `info` when Redis comes, at `warn` when it goes.
    fn set(&self, up: bool) {
        let first = !self.known.swap(true, Ordering::Relaxed);
        if self.redis_up.swap(up, Ordering::Relaxed) != up || first {
            if up {
                tracing::info!("redis reachable; forwarding the outbox");
            } else {
                tracing::warn!("redis unreachable; appeals wait in the outbox");
            }
        }
    }
}

/// Moves outbox records to Redis.
pub(crate) struct Forwarder {
    pub(crate) outbox: Outbox,
    /// Where Redis is (single server, Sentinel or Cluster; see [`crate::redis_target`]).
    pub(crate) target: RedisTarget,
    pub(crate) prefix: String,
    pub(crate) dedupe_ttl: Duration,
    /// Replicas that must hold a record before it leaves the outbox (`WAIT`); 0 trusts
    /// the primary alone (`GATEWAY_REDIS_MIN_REPLICAS`).
    pub(crate) min_replicas: u32,
    pub(crate) status: Arc<QueueStatus>,
    pub(crate) metrics: Metrics,
}

/// How long one `WAIT` waits for the replicas before the batch is tried again.
const WAIT_TIMEOUT: Duration = Duration::from_secs(2);

/// Why a batch stays in the outbox.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ForwardError {
    #[error("redis: {}", describe(.0))]
    Redis(#[from] redis::RedisError),
    /// Redis took the batch but too few replicas confirmed it in time: it may still be
    /// lost with the primary, so it is kept (and re-sent, which the dedupe key absorbs).
    #[error("only {acked} of {wanted} replicas confirmed the batch")]
    NotReplicated { acked: i64, wanted: u32 },
    #[error(transparent)]
    Outbox(#[from] crate::outbox::OutboxError),
}

/// What `outbox drain` did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct DrainReport {
    /// Records taken from the outbox (each one now on Redis, once).
    pub(crate) records: u64,
}

/// What may be logged of a Redis error: its kind and code, and the text of connection
/// errors (which are about sockets). A server error's text is left out on principle.
pub(crate) fn describe(e: &redis::RedisError) -> String {
    if e.is_io_error() || e.is_connection_refusal() || e.is_timeout() || e.is_connection_dropped() {
        e.to_string()
    } else {
        format!("{:?} {}", e.kind(), e.code().unwrap_or(""))
    }
}

impl Forwarder {
    /// Runs until `shutdown` turns true, then returns after the batch in hand.
    pub(crate) async fn run(self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let script = redis::Script::new(FORWARD_SCRIPT);
        let mut conn: Option<RedisConn> = None;
        let mut backoff = Duration::from_millis(100);
        while !*shutdown.borrow() {
            let Some(c) = conn.as_mut() else {
                match self.connect().await {
                    Ok(c) => {
                        conn = Some(c);
                        backoff = Duration::from_millis(100);
                    }
                    Err(e) => {
                        self.status.set(false);
                        tracing::debug!(error = %describe(&e), "redis connect failed");
                        pause(&mut shutdown, &mut backoff).await;
                    }
                }
                continue;
            };
            let batch = match self.peek().await {
                Ok(batch) => batch,
                Err(e) => {
                    tracing::error!(error = %e, "outbox read failed");
                    pause(&mut shutdown, &mut backoff).await;
                    continue;
                }
            };
            if batch.is_empty() {
                tokio::select! {
                    () = self.outbox.stored() => {}
                    _ = shutdown.changed() => {}
                    () = tokio::time::sleep(Duration::from_secs(1)) => {
                        match redis::cmd("PING").query_async::<String>(c).await {
                            Ok(_) => self.status.set(true),
                            Err(e) => {
                                tracing::debug!(error = %describe(&e), "redis ping failed");
                                self.status.set(false);
                                conn = None;
                            }
                        }
                    }
                }
                continue;
            }
            match self.forward(c, &script, &batch).await {
                Ok(()) => {
                    self.status.set(true);
                    self.status.set_replicas_short(false);
                    backoff = Duration::from_millis(100);
                }
                Err(ForwardError::NotReplicated { acked, wanted }) => {
                    // Redis answers; its replicas lag or are gone. Same connection, later.
                    self.status.set(true);
                    self.status.set_replicas_short(true);
                    tracing::debug!(
                        acked,
                        wanted,
                        records = batch.len(),
                        "replicas did not confirm; will retry"
                    );
                    pause(&mut shutdown, &mut backoff).await;
                }
                Err(e) => {
                    self.status.set(false);
                    self.metrics.forward_failures.inc();
                    tracing::warn!(error = %e, records = batch.len(), "forwarding failed; will retry");
                    conn = None;
                    pause(&mut shutdown, &mut backoff).await;
                }
            }
        }
    }

    /// Forwards every record of the outbox and returns: `outbox drain`, for the outbox
    /// of an instance that is gone. Gives up after `max_failures` failed tries in a row
    /// (what was forwarded stays forwarded; the rest stays in the outbox).
    pub(crate) async fn drain(self, max_failures: u32) -> Result<DrainReport, ForwardError> {
        let script = redis::Script::new(FORWARD_SCRIPT);
        let mut conn: Option<RedisConn> = None;
        let mut report = DrainReport::default();
        let mut failures = 0;
        let mut backoff = Duration::from_millis(100);
        // Never signalled: `pause` then only sleeps.
        let (_keep, mut never) = tokio::sync::watch::channel(false);
        loop {
            let result = async {
                let c = match conn.as_mut() {
                    Some(c) => c,
                    None => conn.insert(self.connect().await?),
                };
                let batch = self.peek().await?;
                if !batch.is_empty() {
                    self.forward(c, &script, &batch).await?;
                }
                Ok::<usize, ForwardError>(batch.len())
            }
            .await;
            match result {
                Ok(0) => return Ok(report),
                Ok(n) => {
                    report.records += n as u64;
                    failures = 0;
                    backoff = Duration::from_millis(100);
                }
                Err(e) => {
                    failures += 1;
                    if failures >= max_failures {
                        return Err(e);
                    }
                    tracing::warn!(error = %e, "drain: will retry");
                    if matches!(e, ForwardError::Redis(_)) {
                        conn = None;
                    }
                    pause(&mut never, &mut backoff).await;
                }
            }
        }
    }

    async fn connect(&self) -> redis::RedisResult<RedisConn> {
        let mut conn = self.target.connect(Timeouts::default()).await?;
        // On a cluster, SCRIPT LOAD goes to every primary.
        redis::cmd("SCRIPT")
            .arg("LOAD")
            .arg(FORWARD_SCRIPT)
            .query_async::<String>(&mut conn)
            .await?;
        Ok(conn)
    }

    /// The oldest records; redb calls block, so off the async thread.
    async fn peek(&self) -> Result<Vec<(u64, Bundle)>, crate::outbox::OutboxError> {
        let outbox = self.outbox.clone();
        tokio::task::spawn_blocking(move || outbox.peek(BATCH))
            .await
            .unwrap_or_else(|e| Err(crate::outbox::OutboxError::Storage(e.to_string())))
    }

    /// Sends a batch, waits for the replicas, then removes it from the outbox.
    async fn forward(
        &self,
        conn: &mut RedisConn,
        script: &redis::Script,
        batch: &[(u64, Bundle)],
    ) -> Result<(), ForwardError> {
        self.send(conn, script, batch).await?;
        let seqs: Vec<u64> = batch.iter().map(|(seq, _)| *seq).collect();
        let outbox = self.outbox.clone();
        // A removal waits for the writer's fsync: off the async thread.
        let removed = tokio::task::spawn_blocking(move || outbox.remove(&seqs)).await;
        if !matches!(removed, Ok(Ok(()))) {
            tracing::error!("outbox removal failed; the records will be re-sent and deduplicated");
        }
        let now = now_us();
        for (_, bundle) in batch {
            let accepted_us = match bundle.accepted_at_us {
                0 => bundle.accepted_at_ms.saturating_mul(1000),
                us => us,
            };
            let us = now.saturating_sub(accepted_us);
            self.metrics.forward_latency.observe(us as f64 / 1e6);
        }
        self.metrics.forwarded.inc_by(batch.len() as u64);
        self.metrics.outbox_depth.set(self.outbox.depth() as i64);
        tracing::trace!(records = batch.len(), "forwarded");
        Ok(())
    }

    /// One pipeline: one `EVALSHA` for the whole batch, then `WAIT` when replicas are
    /// required. On a cluster the whole pipeline goes to the node of the prefix's hash
    /// tag (every key shares it, see [`crate::keyspace`]), `WAIT` included.
    async fn send(
        &self,
        conn: &mut RedisConn,
        script: &redis::Script,
        batch: &[(u64, Bundle)],
    ) -> Result<(), ForwardError> {
        let keys = Keyspace::new(&self.prefix);
        let ttl = self.dedupe_ttl.as_secs().max(1);
        let key_count: usize = batch
            .iter()
            .map(|(_, b)| 1 + b.messages.len() + b.marks.len())
            .sum();
        let mut pipe = redis::pipe();
        let cmd = pipe.cmd("EVALSHA").arg(script.get_hash()).arg(key_count);
        for (_, bundle) in batch {
            cmd.arg(keys.sent(&bundle.id));
            for envelope in &bundle.messages {
                cmd.arg(keys.key(&envelope.stream));
            }
            for mark in &bundle.marks {
                cmd.arg(keys.key(&mark.key));
            }
        }
        cmd.arg(ttl).arg(batch.len());
        for (_, bundle) in batch {
            cmd.arg(bundle.messages.len()).arg(bundle.marks.len());
            for envelope in &bundle.messages {
                let fields = if envelope.link.is_some() { 12 } else { 6 };
                cmd.arg(fields)
                    .arg("id")
                    .arg(&envelope.id)
                    .arg("type")
                    .arg(&envelope.kind)
                    .arg("data")
                    .arg(&envelope.data);
                if let Some(link) = &envelope.link {
                    cmd.arg("chain")
                        .arg(&link.chain)
                        .arg("prev_hash")
                        .arg(&link.prev_hash)
                        .arg("hash")
                        .arg(&link.hash);
                }
            }
            for mark in &bundle.marks {
                cmd.arg(&mark.field)
                    .arg(mark.value.as_deref().unwrap_or("1"))
                    .arg(u8::from(mark.count))
                    .arg(mark.ttl_secs.unwrap_or(0));
            }
        }
        if self.min_replicas > 0 {
            // WAIT covers every write the primary had taken when it ran, so a record
            // re-sent (and deduplicated: no write of its own) is covered too.
            pipe.cmd("WAIT")
                .arg(self.min_replicas)
                .arg(WAIT_TIMEOUT.as_millis() as u64);
        }
        let replies = pipe.query_async::<Vec<redis::Value>>(conn).await?;
        if self.min_replicas > 0 {
            let acked = match replies.last() {
                Some(redis::Value::Int(n)) => *n,
                _ => 0,
            };
            if acked < i64::from(self.min_replicas) {
                return Err(ForwardError::NotReplicated {
                    acked,
                    wanted: self.min_replicas,
                });
            }
        }
        Ok(())
    }
}

async fn pause(shutdown: &mut tokio::sync::watch::Receiver<bool>, backoff: &mut Duration) {
    tokio::select! {
        () = tokio::time::sleep(*backoff) => {}
        _ = shutdown.changed() => {}
    }
    *backoff = (*backoff * 2).min(MAX_BACKOFF);
}

/// A Redis connection opened on first use and again after a failure, for the parts that
/// must answer quickly with Redis or without it (webhooks, pages): each attempt is
/// bounded by `wait`, and `None` means "go on without Redis".
pub(crate) struct LazyConnection {
    target: Option<RedisTarget>,
    slot: tokio::sync::Mutex<Option<RedisConn>>,
    wait: Duration,
}

impl LazyConnection {
    pub(crate) fn new(target: Option<RedisTarget>, wait: Duration) -> LazyConnection {
        LazyConnection {
            target,
            slot: tokio::sync::Mutex::new(None),
            wait,
        }
    }

    /// The connection, opened now if there is none.
    pub(crate) async fn get(&self) -> Option<RedisConn> {
        let target = self.target.as_ref()?;
        let mut slot = self.slot.lock().await;
        if let Some(conn) = slot.as_ref() {
            return Some(conn.clone());
        }
        let connect = target.connect(Timeouts {
            connect: self.wait,
            response: self.wait,
        });
        let conn = tokio::time::timeout(self.wait, connect).await.ok()?.ok()?;
        *slot = Some(conn.clone());
        Some(conn)
    }

    /// Forgets a connection that failed; the next `get` opens a new one.
    pub(crate) async fn reset(&self) {
        *self.slot.lock().await = None;
    }
}
