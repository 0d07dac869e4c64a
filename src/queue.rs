//! The Redis streams and the forwarder that moves outbox records onto them.
//!
//! **Exactly once.** Each outbox record (the messages of one accepted request: an appeal
//! with its consent and statistics) is added by one Lua script, atomically: it sets
//! `<prefix>gateway:sent:<record id>` (NX, with a time to live) and runs the record's
//! `XADD`s only when the key was new. A record sent again — after a crash that lost the
//! outbox's removal, or a retry after a connection dropped mid-pipeline — is recognised
//! and not added twice. Records are sent in batches, one pipeline of `EVALSHA` per batch.
//!
//! **Redis away.** The forwarder retries with backoff (100 ms doubling to 5 s), the
//! outbox grows, `/readyz` says so; intake never stops. When Redis is back every record
//! arrives once, in the order it was accepted.
//!
//! The streams are plain keys; under Redis Cluster each stream and its dedupe keys would
//! need one hash tag, which the `prefix` can carry (e.g. `{oa}:`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use redis::aio::MultiplexedConnection;

use crate::clock::now_ms;
use crate::metrics::Metrics;
use crate::outbox::{Bundle, Outbox};

/// Sets the dedupe key and adds every entry of the record, or does nothing if the key
/// exists. KEYS: the dedupe key, one stream per entry, then one hash per mark. ARGV: the
/// ttl in seconds, the number of entries, for each entry the number of its field/value
/// arguments followed by them, then one field name per mark. Returns the number of
/// entries added (0 for a record already sent).
const FORWARD_SCRIPT: &str = r"
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  return 0
end
local streams = tonumber(ARGV[2])
local at = 3
for i = 2, streams + 1 do
  local n = tonumber(ARGV[at])
  redis.call('XADD', KEYS[i], '*', unpack(ARGV, at + 1, at + n))
  at = at + n + 1
end
for i = streams + 2, #KEYS do
  redis.call('HSET', KEYS[i], ARGV[at], '1')
  at = at + 1
end
return streams
";

/// Most records in one pipeline.
const BATCH: usize = 256;
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Whether Redis answered the last time the forwarder asked; read by `/readyz`.
#[derive(Debug, Default)]
pub(crate) struct QueueStatus {
    redis_up: AtomicBool,
    /// Whether the forwarder has learnt anything yet (so the first failure is told too).
    known: AtomicBool,
}

impl QueueStatus {
    pub(crate) fn redis_up(&self) -> bool {
        self.redis_up.load(Ordering::Relaxed)
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
    pub(crate) client: redis::Client,
    pub(crate) prefix: String,
    pub(crate) dedupe_ttl: Duration,
    pub(crate) status: Arc<QueueStatus>,
    pub(crate) metrics: Metrics,
}

/// What may be logged of a Redis error: its kind and code, and the text of connection
/// errors (which are about sockets). A server error's text is left out on principle.
fn describe(e: &redis::RedisError) -> String {
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
        let mut conn: Option<MultiplexedConnection> = None;
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
            // redb calls block (a removal waits for the writer's fsync): off the async thread.
            let outbox = self.outbox.clone();
            let peeked = tokio::task::spawn_blocking(move || outbox.peek(BATCH)).await;
            let batch = match peeked
                .unwrap_or_else(|e| Err(crate::outbox::OutboxError::Storage(e.to_string())))
            {
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
            match self.send(c, &script, &batch).await {
                Ok(()) => {
                    self.status.set(true);
                    backoff = Duration::from_millis(100);
                    let seqs: Vec<u64> = batch.iter().map(|(seq, _)| *seq).collect();
                    let outbox = self.outbox.clone();
                    let removed = tokio::task::spawn_blocking(move || outbox.remove(&seqs)).await;
                    if !matches!(removed, Ok(Ok(()))) {
                        tracing::error!(
                            "outbox removal failed; the records will be re-sent and deduplicated"
                        );
                    }
                    let now = now_ms();
                    for (_, bundle) in &batch {
                        let ms = now.saturating_sub(bundle.accepted_at_ms);
                        self.metrics.forward_latency.observe(ms as f64 / 1000.0);
                    }
                    self.metrics.outbox_depth.set(self.outbox.depth() as i64);
                    tracing::trace!(records = batch.len(), "forwarded");
                }
                Err(e) => {
                    self.status.set(false);
                    tracing::warn!(error = %describe(&e), records = batch.len(), "forwarding failed; will retry");
                    conn = None;
                    pause(&mut shutdown, &mut backoff).await;
                }
            }
        }
    }

    async fn connect(&self) -> redis::RedisResult<MultiplexedConnection> {
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(10)));
        let mut conn = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        redis::cmd("SCRIPT")
            .arg("LOAD")
            .arg(FORWARD_SCRIPT)
            .query_async::<String>(&mut conn)
            .await?;
        Ok(conn)
    }

    async fn send(
        &self,
        conn: &mut MultiplexedConnection,
        script: &redis::Script,
        batch: &[(u64, Bundle)],
    ) -> redis::RedisResult<()> {
        let ttl = self.dedupe_ttl.as_secs().max(1);
        let mut pipe = redis::pipe();
        for (_, bundle) in batch {
            let cmd = pipe
                .cmd("EVALSHA")
                .arg(script.get_hash())
                .arg(1 + bundle.messages.len() + bundle.marks.len())
                .arg(format!("{}gateway:sent:{}", self.prefix, bundle.id));
            for envelope in &bundle.messages {
                cmd.arg(format!("{}{}", self.prefix, envelope.stream));
            }
            for mark in &bundle.marks {
                cmd.arg(format!("{}{}", self.prefix, mark.key));
            }
            cmd.arg(ttl).arg(bundle.messages.len());
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
                cmd.arg(&mark.field);
            }
        }
        pipe.query_async::<Vec<redis::Value>>(conn).await?;
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
    client: Option<redis::Client>,
    slot: tokio::sync::Mutex<Option<MultiplexedConnection>>,
    wait: Duration,
}

impl LazyConnection {
    pub(crate) fn new(client: Option<redis::Client>, wait: Duration) -> LazyConnection {
        LazyConnection {
            client,
            slot: tokio::sync::Mutex::new(None),
            wait,
        }
    }

    /// The connection, opened now if there is none.
    pub(crate) async fn get(&self) -> Option<MultiplexedConnection> {
        let client = self.client.as_ref()?;
        let mut slot = self.slot.lock().await;
        if let Some(conn) = slot.as_ref() {
            return Some(conn.clone());
        }
        let connect = client.get_multiplexed_async_connection();
        let conn = tokio::time::timeout(self.wait, connect).await.ok()?.ok()?;
        *slot = Some(conn.clone());
        Some(conn)
    }

    /// Forgets a connection that failed; the next `get` opens a new one.
    pub(crate) async fn reset(&self) {
        *self.slot.lock().await = None;
    }
}
