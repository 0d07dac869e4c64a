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
//! **Idempotency-Keys and tracking numbers, settled where every instance sees them.**
//! A record carrying an `Idempotency-Key` (see [`crate::idempotency`]) claims it in the
//! same script, unless it holds it already: a key still free is taken; a key held by
//! another record made of the same request means this record is a repeat spooled while
//! Redis was away — it is not added, its tracking number becomes an alias of the first
//! appeal's (`alias_of` in its status hash), and `deadletter.v1` gets an
//! `idempotent_duplicate`; a key held for another request is noted as an
//! `idempotency_conflict` and the record is added (it was answered 202). A tracking
//! number whose status hash already names another appeal is a collision (never
//! expected, see [`crate::tracking::issuer`]): the first appeal keeps the number, the
//! second is added and a `tracking_collision` is noted. Each is counted in
//! `gateway_forward_reconciled_total{outcome}` and logged.
//!
//! **Cluster.** The script's keys (dedupe key, streams, subject marks) must share a hash
//! slot: the prefix carries a hash tag such as `{oa}` (see [`crate::keyspace`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::clock::now_us;
use crate::metrics::Metrics;
use crate::outbox::{Bundle, Cursor, MarkOp, Outbox, OutboxError};
use crate::redis_target::{RedisConn, Timeouts, describe};

/// Adds a batch of records, each exactly once: for each record it sets the record's
/// dedupe key and, only when the key was new, settles the record's `Idempotency-Key`,
/// adds the record's entries and applies its marks (see the module doc). One call per
/// batch, not per record: the script's fixed cost (lookup, call, reply) is paid once,
/// and Redis runs the whole batch atomically.
///
/// KEYS: `deadletter.v1`, then per record in order: the dedupe key, with a key claim
/// the claim's hash and the status hash of the record's tracking number, one stream per
/// entry, one key per mark. ARGV: the dedupe ttl, the number of records, now (RFC 3339),
/// the status ttl; then per record: its number of entries and of marks, `1` with a key
/// claim (`0` without), its id and tracking number (may be empty), with a claim its
/// fingerprint, answer and the claim's ttl; for each entry the number of its
/// field/value arguments followed by them; per mark its operation (`S` set, `C` count,
/// `F` first, `I` index), field, value and time to live (`0`: none). Returns one code
/// per record: 0 added, 1 sent before (nothing done), 2 a repeat made an alias (not
/// added); plus 4 when added despite a key held for another request, 8 when the
/// tracking number already named another appeal.
const FORWARD_SCRIPT: &str = r"
local ttl, records, now, status_ttl = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local k, at = 2, 5
local codes = {}
-- Counters summed over the batch, and each key's time to live set once: a batch of
-- appeals of one hour touches the same few analytics hashes, and the whole batch is
-- one atomic script, so the end state is the same as key by key.
local counts, count_keys, expiry, expiry_keys = {}, {}, {}, {}
local function expire_once(key, key_ttl)
  if not expiry[key] then
    expiry_keys[#expiry_keys + 1] = key
  end
  if not expiry[key] or key_ttl > expiry[key] then
    expiry[key] = key_ttl
  end
end
local function note(kind, id, data)
  data['schema_version'] = 1
  data['type'] = kind
  data['detected_at'] = now
  redis.call('XADD', KEYS[1], '*', 'id', id, 'type', kind, 'data', cjson.encode(data))
end
for r = 1, records do
  local streams, marks, claimed = tonumber(ARGV[at]), tonumber(ARGV[at + 1]), ARGV[at + 2] == '1'
  local id, tracking = ARGV[at + 3], ARGV[at + 4]
  at = at + 5
  local code = 0
  local add = redis.call('SET', KEYS[k], '1', 'NX', 'EX', ttl)
  if not add then
    code = 1
  end
  k = k + 1
  if claimed then
    local claim_key, status_key = KEYS[k], KEYS[k + 1]
    local fp, answer, claim_ttl = ARGV[at], ARGV[at + 1], ARGV[at + 2]
    k, at = k + 2, at + 3
    if add then
      local held = redis.call('HMGET', claim_key, 'record', 'fp', 'tracking')
      if not held[1] then
        redis.call('HSET', claim_key, 'record', id, 'fp', fp, 'answer', answer, 'tracking', tracking)
        redis.call('EXPIRE', claim_key, claim_ttl)
      elseif held[1] ~= id then
        local first = held[3] or ''
        if held[2] == fp then
          add = false
          code = 2
          if tracking ~= '' and first ~= '' then
            redis.call('HSET', status_key, 'alias_of', first)
            redis.call('EXPIRE', status_key, status_ttl)
          end
          note('idempotent_duplicate', id, {appeal_id = id, tracking_number = tracking, duplicate_of = first})
        else
          code = 4
          note('idempotency_conflict', id, {appeal_id = id, tracking_number = tracking, key_held_by = first})
        end
      end
    end
  end
  for i = 1, streams do
    local n = tonumber(ARGV[at])
    if add then
      redis.call('XADD', KEYS[k], '*', unpack(ARGV, at + 1, at + n))
    end
    at = at + n + 1
    k = k + 1
  end
  for i = 1, marks do
    if add then
      local op, field, value, mark_ttl = ARGV[at], ARGV[at + 1], ARGV[at + 2], tonumber(ARGV[at + 3])
      if op == 'C' then
        local per_key = counts[KEYS[k]]
        if not per_key then
          per_key = {}
          counts[KEYS[k]] = per_key
          count_keys[#count_keys + 1] = KEYS[k]
        end
        per_key[field] = (per_key[field] or 0) + tonumber(value)
      elseif op == 'I' then
        redis.call('ZADD', KEYS[k], value, field)
      elseif op == 'F' then
        if redis.call('HSETNX', KEYS[k], field, value) == 0 then
          local was = redis.call('HGET', KEYS[k], field)
          if was ~= value then
            code = code + 8
            note('tracking_collision', id, {appeal_id = id, tracking_number = tracking, number_held_by = was})
          end
        end
      else
        redis.call('HSET', KEYS[k], field, value)
      end
      if mark_ttl > 0 then
        expire_once(KEYS[k], mark_ttl)
      end
    end
    at = at + 4
    k = k + 1
  end
  codes[r] = code
end
for _, key in ipairs(count_keys) do
  for field, n in pairs(counts[key]) do
    redis.call('HINCRBY', key, field, n)
  end
end
for _, key in ipairs(expiry_keys) do
  redis.call('EXPIRE', key, expiry[key])
end
return codes
";

/// What the forwarder notes on `deadletter.v1` when it does not add a record as it came
/// (`type`: `idempotent_duplicate`, `idempotency_conflict`, `tracking_collision`; see
/// the module doc). Built by [`FORWARD_SCRIPT`] in Redis; this type is its schema. Ids
/// and numbers only: nothing of the appeal's content.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub(crate) struct Reconciliation {
    pub(crate) schema_version: u32,
    #[serde(rename = "type")]
    pub(crate) kind: ReconciliationKind,
    /// The record the note is about: the appeal not added, or added despite the note.
    pub(crate) appeal_id: String,
    /// Its tracking number (empty for a record that is not an appeal).
    pub(crate) tracking_number: String,
    /// `idempotent_duplicate`: the number of the first appeal, which this number now
    /// stands for (its status hash says `alias_of`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) duplicate_of: Option<String>,
    /// `idempotency_conflict`: the number of the appeal the key was claimed for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) key_held_by: Option<String>,
    /// `tracking_collision`: the appeal that holds the number (and keeps it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) number_held_by: Option<String>,
    /// RFC 3339, UTC.
    #[schemars(extend("format" = "date-time"))]
    pub(crate) detected_at: String,
}

/// The kinds of [`Reconciliation`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ReconciliationKind {
    /// A repeat of an `Idempotency-Key` spooled while Redis was away: not added.
    IdempotentDuplicate,
    /// A key held for another request: added, as it was answered 202.
    IdempotencyConflict,
    /// A tracking number that already named another appeal: added, the first keeps it.
    TrackingCollision,
}

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

    /// Whether the forwarder found Redis away the last time it tried (false before it
    /// tried at all): what is not known to be away is worth asking.
    pub(crate) fn known_down(&self) -> bool {
        self.known.load(Ordering::Relaxed) && !self.redis_up()
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
    /// The keys, and where Redis is (single server, Sentinel or Cluster; see
    /// [`crate::redis_target`]): the forwarder opens connections of its own.
    pub(crate) redis: crate::redis_handle::Redis,
    pub(crate) dedupe_ttl: Duration,
    /// How long an `Idempotency-Key` claimed by the forwarder is kept.
    pub(crate) idempotency_ttl: Duration,
    /// Replicas that must hold a record before it leaves the outbox (`WAIT`); 0 trusts
    /// the primary alone (`GATEWAY_REDIS_MIN_REPLICAS`).
    pub(crate) min_replicas: u32,
    pub(crate) status: Arc<QueueStatus>,
    pub(crate) metrics: Metrics,
}

/// A batch read from the outbox.
type Batch = Vec<(u64, Arc<Bundle>)>;

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
    Outbox(#[from] OutboxError),
}

/// What `outbox drain` did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct DrainReport {
    /// Records taken from the outbox (each one now on Redis, once).
    pub(crate) records: u64,
}

impl Forwarder {
    /// Runs until `shutdown` turns true, then returns after the batch in hand.
    pub(crate) async fn run(self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let script = redis::Script::new(FORWARD_SCRIPT);
        let mut conn: Option<RedisConn> = None;
        let mut backoff = Duration::from_millis(100);
        let mut cursor = Some(Cursor::default());
        while !*shutdown.borrow() {
            let Some(c) = conn.as_mut() else {
                match self.connect().await {
                    Ok(c) => {
                        conn = Some(c);
                        self.status.set(true);
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
            let batch = match self.next_batch(&mut cursor).await {
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
        let mut cursor = Some(Cursor::default());
        // Never signalled: `pause` then only sleeps.
        let (_keep, mut never) = tokio::sync::watch::channel(false);
        loop {
            let result = async {
                let c = match conn.as_mut() {
                    Some(c) => c,
                    None => conn.insert(self.connect().await?),
                };
                let batch = self.next_batch(&mut cursor).await?;
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
        let mut conn = self.redis.connect_own(Timeouts::default()).await?;
        // On a cluster, SCRIPT LOAD goes to every primary.
        redis::cmd("SCRIPT")
            .arg("LOAD")
            .arg(FORWARD_SCRIPT)
            .query_async::<String>(&mut conn)
            .await?;
        Ok(conn)
    }

    /// The next records to send, from the first not yet forwarded: from memory when
    /// they are recent, else read from disk off the async thread.
    async fn next_batch(&self, cursor: &mut Option<Cursor>) -> Result<Batch, OutboxError> {
        let mut batch = self.read_batch(cursor).await?;
        // Not past a record whose key is still being claimed: its claim may lose, and
        // then the record must not be added (see `crate::idempotency`).
        batch.truncate(self.outbox.sendable(&batch));
        Ok(batch)
    }

    async fn read_batch(&self, cursor: &mut Option<Cursor>) -> Result<Batch, OutboxError> {
        let from = self.outbox.forwarded_through();
        if let Some(batch) = self.outbox.read_recent(from, BATCH) {
            return Ok(batch);
        }
        let outbox = self.outbox.clone();
        let mut taken = cursor.take().unwrap_or_default();
        let (read, taken) = tokio::task::spawn_blocking(move || {
            let read = outbox.read(from, BATCH, &mut taken);
            (read, taken)
        })
        .await
        .map_err(|e| OutboxError::Storage(e.to_string()))?;
        *cursor = Some(taken);
        read
    }

    /// Sends a batch, waits for the replicas, then marks it forwarded.
    async fn forward(
        &self,
        conn: &mut RedisConn,
        script: &redis::Script,
        batch: &Batch,
    ) -> Result<(), ForwardError> {
        let codes = self.send(conn, script, batch).await?;
        for ((_, bundle), code) in batch.iter().zip(&codes) {
            self.reconciled(bundle, *code);
        }
        self.outbox.ack(batch)?;
        let now = now_us();
        for (_, bundle) in batch {
            let us = now.saturating_sub(bundle.accepted_at_us);
            self.metrics.forward_latency.observe(us as f64 / 1e6);
        }
        self.metrics.forwarded.inc_by(batch.len() as u64);
        self.metrics.outbox_depth.set(self.outbox.depth() as i64);
        tracing::trace!(records = batch.len(), "forwarded");
        Ok(())
    }

    /// Counts and logs what the script reconciled of one record (no value: ids only).
    fn reconciled(&self, bundle: &Bundle, code: i64) {
        let count = |outcome: &str| {
            self.metrics
                .forward_reconciled
                .with_label_values(&[outcome])
                .inc();
        };
        if code & 2 != 0 {
            count("idempotent_duplicate");
            tracing::info!(appeal_id = %bundle.id, "a repeat of an Idempotency-Key spooled while Redis was away: not added, its number is an alias of the first appeal's");
        }
        if code & 4 != 0 {
            count("idempotency_conflict");
            tracing::warn!(appeal_id = %bundle.id, "an Idempotency-Key held for another request: the record was answered 202, so it is added");
        }
        if code & 8 != 0 {
            count("tracking_collision");
            tracing::error!(appeal_id = %bundle.id, "a tracking number already names another appeal: the first keeps it (see deadletter.v1, tracking_collision)");
        }
    }

    /// One pipeline: one `EVALSHA` for the whole batch, then `WAIT` when replicas are
    /// required. On a cluster the whole pipeline goes to the node of the prefix's hash
    /// tag (every key shares it, see [`crate::keyspace`]), `WAIT` included. Returns the
    /// script's code per record.
    async fn send(
        &self,
        conn: &mut RedisConn,
        script: &redis::Script,
        batch: &Batch,
    ) -> Result<Vec<i64>, ForwardError> {
        let keys = self.redis.keys();
        let ttl = self.dedupe_ttl.as_secs().max(1);
        let key_count: usize = 1 + batch
            .iter()
            .map(|(_, b)| {
                1 + if b.claim.is_some() { 2 } else { 0 } + b.messages.len() + b.marks.len()
            })
            .sum::<usize>();
        let mut pipe = redis::pipe();
        let cmd = pipe.cmd("EVALSHA").arg(script.get_hash()).arg(key_count);
        cmd.arg(keys.key(crate::stream::Stream::Deadletter.name()));
        for (_, bundle) in batch {
            cmd.arg(keys.sent(&bundle.id));
            if bundle.claim.is_some() {
                let claim = bundle.claim.as_ref().map_or("", |c| c.key.as_str());
                cmd.arg(keys.key(claim))
                    .arg(keys.status(bundle.tracking.as_deref().unwrap_or("")));
            }
            for envelope in &bundle.messages {
                cmd.arg(keys.key(&envelope.stream));
            }
            for mark in &bundle.marks {
                cmd.arg(keys.key(&mark.key));
            }
        }
        cmd.arg(ttl)
            .arg(batch.len())
            .arg(crate::appeal::now_rfc3339())
            .arg(crate::status::STATUS_TTL.as_secs());
        for (_, bundle) in batch {
            cmd.arg(bundle.messages.len())
                .arg(bundle.marks.len())
                .arg(u8::from(bundle.claim.is_some()))
                .arg(&bundle.id)
                .arg(bundle.tracking.as_deref().unwrap_or(""));
            if let Some(claim) = &bundle.claim {
                cmd.arg(&claim.fingerprint)
                    .arg(&claim.answer)
                    .arg(self.idempotency_ttl.as_secs().max(1));
            }
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
                let op = match mark.op {
                    MarkOp::Set => "S",
                    MarkOp::Count => "C",
                    MarkOp::First => "F",
                    MarkOp::Index => "I",
                };
                cmd.arg(op)
                    .arg(&mark.field)
                    .arg(&mark.value)
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
        let codes = match replies.first() {
            Some(redis::Value::Array(codes)) => codes
                .iter()
                .map(|c| match c {
                    redis::Value::Int(n) => *n,
                    _ => 0,
                })
                .collect(),
            _ => Vec::new(),
        };
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
        Ok(codes)
    }
}

async fn pause(shutdown: &mut tokio::sync::watch::Receiver<bool>, backoff: &mut Duration) {
    tokio::select! {
        () = tokio::time::sleep(*backoff) => {}
        _ = shutdown.changed() => {}
    }
    *backoff = (*backoff * 2).min(MAX_BACKOFF);
}
