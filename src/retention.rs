//! Retention of the Redis streams (issue 16, point 1; regulation 6.9: data is kept no
//! longer than its purpose needs). What it removes, and what it never removes:
//!
//! - An entry of a stream is removed once it is older than the stream's retention
//!   (`GATEWAY_STREAM_RETENTION_DAYS`, `consent.v1`: `GATEWAY_CONSENT_RETENTION_DAYS`)
//!   **and** every consumer group of the stream has read and acknowledged it: the trim
//!   point is the oldest of the retention cut-off and, per group, its first pending
//!   entry (`XPENDING`) or, with nothing pending, the entry after its last delivered one
//!   (`XINFO GROUPS`). `XTRIM MINID` then removes only what lies before it. An entry a
//!   group has not read, or read and not acknowledged, stays, however old.
//! - A stream without any consumer group is never trimmed: whoever reads it (with
//!   `XREAD`, no group) leaves no trace the gateway could go by.
//! - `consent.v1` is a hash chain per instance (`chain`, `prev_hash`, `hash`). Before its
//!   entries go, the last removed entry of each chain is written to
//!   `gateway:consent-checkpoint:<chain>` (`entry_id`, `hash`, `at`): an auditor checks
//!   that the first remaining entry's `prev_hash` equals the checkpoint's `hash`, and the
//!   chain stays verifiable from there.
//!
//! Photos of accepted appeals (`GATEWAY_DATA_DIR/attachments/<xx>/<sha256>`) are erased
//! `GATEWAY_ATTACHMENT_RETENTION_DAYS` after their last appeal was accepted, or
//! `GATEWAY_ATTACHMENT_FETCHED_RETENTION_HOURS` after the case system first fetched them
//! (its copy is its own), whichever comes first. Mail kept whole (`quarantine/`,
//! `automatic/`) is erased at the streams' retention, with the `deadletter.v1` record
//! that points to it. Each instance sweeps its own data directory, lease or not.
//!
//! Each round `serve` also compacts its outbox ([`crate::outbox::Outbox::compact`]): a
//! forwarded record leaves the disk with its segment, and the compaction seals the
//! segment being written and rewrites the first one with its waiting records only, so
//! that no forwarded record stays in a file of the data directory for longer than a
//! round.
//!
//! One instance at a time: the sweep runs only while it holds the lease
//! `gateway:retention-lease` (`SET NX PX`, [`LEASE`], given back when done); the others
//! skip that round. What
//! it removed is counted in `gateway_retention_removed_total{store}`.

use std::collections::BTreeMap;
use std::time::Duration;

use redis::streams::{StreamInfoGroupsReply, StreamPendingReply};
use time::OffsetDateTime;

use crate::keyspace::Keyspace;
use crate::redis_target::{RedisConn, StreamPager, Timeouts};
use crate::stream::Stream;

/// How long one instance holds the sweep.
const LEASE: Duration = Duration::from_secs(300);
/// Gives the lease back if this instance still holds it.
const RELEASE_SCRIPT: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";
/// Entries read per page when the consent ledger's checkpoint is taken.
const PAGE: usize = 500;
/// The streams the sweep looks after, with the retention of each.
#[derive(Debug, Clone)]
pub(crate) struct Retention {
    /// The keys, and where this worker's own connections go ([`crate::redis_handle`]).
    pub(crate) redis: crate::redis_handle::Redis,
    /// Every stream but `consent.v1`.
    pub(crate) streams: Duration,
    /// `consent.v1`: the legal term of the consent evidence.
    pub(crate) consent: Duration,
    /// This instance's name, the lease's value.
    pub(crate) instance: String,
    /// This instance's data directory (its photos).
    pub(crate) data_dir: std::path::PathBuf,
    /// Photos of accepted appeals.
    pub(crate) attachments: Duration,
    /// Photos of accepted appeals, after the case system first fetched them.
    pub(crate) fetched_attachments: Duration,
    /// This instance's outbox, rewritten each round (`serve`; `None` from the command
    /// line, where the running gateway holds it).
    pub(crate) outbox: Option<crate::outbox::Outbox>,
}

/// What one sweep removed, by store (the stream's name).
pub(crate) type Removed = BTreeMap<String, u64>;

/// Deletes the files of `dir` last written before `cutoff`; returns how many. A missing
/// directory (no mail kept yet) is nothing to do; a file that cannot be read or deleted
/// is left for the next round, with a warning that names no file (its name is a hash of
/// the mail, its directory says what it is).
fn erase_older(dir: &std::path::Path, cutoff: std::time::SystemTime) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut erased = 0;
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|at| at < cutoff);
        if !old {
            continue;
        }
        match std::fs::remove_file(entry.path()) {
            Ok(()) => erased += 1,
            Err(e) => tracing::warn!(error_kind = ?e.kind(), "kept mail not erased"),
        }
    }
    erased
}

/// A stream entry id `ms-seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct EntryId(u64, u64);

impl EntryId {
    fn parse(text: &str) -> Option<EntryId> {
        let (ms, seq) = text.split_once('-')?;
        Some(EntryId(ms.parse().ok()?, seq.parse().ok()?))
    }

    /// The smallest id after this one.
    fn next(self) -> EntryId {
        match self.1.checked_add(1) {
            Some(seq) => EntryId(self.0, seq),
            None => EntryId(self.0 + 1, 0),
        }
    }

    fn render(self) -> String {
        format!("{}-{}", self.0, self.1)
    }
}

impl Retention {
    fn streams(&self) -> Vec<(Stream, Duration)> {
        [
            Stream::Appeals,
            Stream::Consent,
            Stream::Subject,
            Stream::Analytics,
            Stream::AnalyticsV2,
            Stream::Replies,
            Stream::Deadletter,
            Stream::Deliveries,
        ]
        .into_iter()
        .map(|s| {
            let keep = if s == Stream::Consent {
                self.consent
            } else {
                self.streams
            };
            (s, keep)
        })
        .collect()
    }

    /// One sweep as if it were `now`: this instance's photos always (they are its own,
    /// in its data directory), the streams only if this instance gets the lease.
    pub(crate) async fn sweep(&self, now: OffsetDateTime) -> redis::RedisResult<Removed> {
        let mut removed = Removed::new();
        let photos = self.sweep_photos(now).await;
        if photos > 0 {
            tracing::info!(erased = photos, "photos past their retention erased");
            removed.insert("attachments".to_owned(), photos);
        }
        for (store, n) in self.sweep_kept_mail(now).await {
            tracing::info!(store, erased = n, "kept mail past its retention erased");
            removed.insert(store.to_owned(), n);
        }
        let keys = self.redis.keys();
        let mut conn = self.redis.connect_own(Timeouts::default()).await?;
        let lease: Option<String> = redis::cmd("SET")
            .arg(keys.key("gateway:retention-lease"))
            .arg(&self.instance)
            .arg("NX")
            .arg("PX")
            .arg(LEASE.as_millis() as u64)
            .query_async(&mut conn)
            .await?;
        if lease.is_none() {
            return Ok(removed);
        }
        for (stream, keep) in self.streams() {
            let name = keys.key(stream.name());
            let cutoff_ms = (now - keep).unix_timestamp_nanos() / 1_000_000;
            let cutoff = EntryId(u64::try_from(cutoff_ms).unwrap_or(0), 0);
            let Some(until) = trim_point(&mut conn, &name, cutoff).await? else {
                continue;
            };
            if stream == Stream::Consent {
                checkpoint(&mut conn, keys, &name, until, now).await?;
            }
            let n: u64 = redis::cmd("XTRIM")
                .arg(&name)
                .arg("MINID")
                .arg(until.render())
                .query_async(&mut conn)
                .await?;
            if n > 0 {
                removed.insert(stream.name().to_owned(), n);
            }
        }
        // The Open311 index's members past the status's life: their hashes expired
        // with it (see the Open311 channel's `index`).
        let cutoff_ms = (now - crate::status::STATUS_TTL).unix_timestamp_nanos() / 1_000_000;
        let n: u64 = redis::cmd("ZREMRANGEBYSCORE")
            .arg(keys.key(crate::keyspace::name::OPEN311_REQUESTS))
            .arg("-inf")
            .arg(format!("({cutoff_ms}"))
            .query_async(&mut conn)
            .await?;
        if n > 0 {
            removed.insert("open311_index".to_owned(), n);
        }
        redis::Script::new(RELEASE_SCRIPT)
            .key(keys.key("gateway:retention-lease"))
            .arg(&self.instance)
            .invoke_async::<i64>(&mut conn)
            .await?;
        Ok(removed)
    }

    /// Erases this instance's kept photos past their retention; returns how many.
    async fn sweep_photos(&self, now: OffsetDateTime) -> u64 {
        let store = crate::attachments::AttachmentStore::new(&self.data_dir);
        let cutoff = std::time::SystemTime::from(now - self.attachments);
        let fetched_cutoff = std::time::SystemTime::from(now - self.fetched_attachments);
        match tokio::task::spawn_blocking(move || store.sweep_kept(cutoff, fetched_cutoff)).await {
            Ok(Ok(n)) => n as u64,
            Ok(Err(e)) => {
                tracing::warn!(error_kind = ?e.kind(), "photo retention sweep failed");
                0
            }
            Err(_) => 0,
        }
    }

    /// Erases this instance's mail kept whole (`quarantine/`, `automatic/`) once older
    /// than the streams' retention: the `deadletter.v1` record that points to a file,
    /// and says why it was kept, goes at that age too. Returns the count per store
    /// (`mail_quarantine`, `mail_automatic`), only those with something erased.
    async fn sweep_kept_mail(&self, now: OffsetDateTime) -> Vec<(&'static str, u64)> {
        let data_dir = self.data_dir.clone();
        let cutoff = std::time::SystemTime::from(now - self.streams);
        let swept = tokio::task::spawn_blocking(move || {
            [
                ("mail_quarantine", "quarantine"),
                ("mail_automatic", "automatic"),
            ]
            .into_iter()
            .map(|(store, dir)| (store, erase_older(&data_dir.join(dir), cutoff)))
            .filter(|(_, n)| *n > 0)
            .collect()
        })
        .await;
        swept.unwrap_or_default()
    }

    /// Sweeps every `every` until the shutdown, counting what went.
    pub(crate) async fn run(
        self,
        every: Duration,
        metrics: crate::metrics::Metrics,
        shutdown: crate::supervisor::Shutdown,
    ) {
        crate::supervisor::every(every, shutdown, || async {
            match self.sweep(OffsetDateTime::now_utc()).await {
                Ok(removed) => {
                    for (store, n) in removed {
                        metrics
                            .retention_removed
                            .with_label_values(&[crate::metrics::label(&store)])
                            .inc_by(n);
                    }
                }
                Err(e) => tracing::warn!(
                    error = %crate::redis_target::describe(&e),
                    "retention sweep: redis unavailable; will try again"
                ),
            }
            // No forwarded record stays in a file of the outbox: the segment being
            // written is sealed, the first one rewritten with its waiting records only
            // (at most a segment's copy, whatever the backlog).
            if let Some(outbox) = &self.outbox {
                match outbox.compact().await {
                    Ok(done) => {
                        metrics.store_rewrites.with_label_values(&["sweep"]).inc();
                        tracing::debug!(
                            pause_ms = done.pause.as_millis() as u64,
                            bytes_before = done.bytes_before,
                            bytes_after = done.bytes_after,
                            "outbox compacted"
                        );
                    }
                    Err(e) => tracing::warn!(error = %e, "outbox compaction failed"),
                }
            }
        })
        .await;
    }
}

/// The id before which every entry of `stream` may go: `cutoff`, or earlier where a
/// group has not read or not acknowledged. `None` when nothing may go (no stream, no
/// group).
async fn trim_point(
    conn: &mut RedisConn,
    stream: &str,
    cutoff: EntryId,
) -> redis::RedisResult<Option<EntryId>> {
    let exists: bool = redis::cmd("EXISTS").arg(stream).query_async(conn).await?;
    if !exists {
        return Ok(None);
    }
    let info: StreamInfoGroupsReply = redis::cmd("XINFO")
        .arg("GROUPS")
        .arg(stream)
        .query_async(conn)
        .await?;
    if info.groups.is_empty() {
        return Ok(None);
    }
    let mut until = cutoff;
    for group in &info.groups {
        let read_up_to =
            EntryId::parse(&group.last_delivered_id).map_or(EntryId(0, 0), EntryId::next);
        until = until.min(read_up_to);
        if group.pending > 0 {
            let pending: StreamPendingReply = redis::cmd("XPENDING")
                .arg(stream)
                .arg(&group.name)
                .query_async(conn)
                .await?;
            if let StreamPendingReply::Data(data) = pending {
                let first = EntryId::parse(&data.start_id).unwrap_or(EntryId(0, 0));
                until = until.min(first);
            }
        }
    }
    Ok((until > EntryId(0, 0)).then_some(until))
}

/// Records, per chain, the last `consent.v1` entry before `until`.
async fn checkpoint(
    conn: &mut RedisConn,
    keys: &Keyspace,
    stream: &str,
    until: EntryId,
    now: OffsetDateTime,
) -> redis::RedisResult<()> {
    let mut last: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut pages = StreamPager::new(stream, format!("({}", until.render()), PAGE);
    while let Some(page) = pages.next(conn).await? {
        for entry in &page {
            let chain: Option<String> = entry.get("chain");
            let hash: Option<String> = entry.get("hash");
            if let (Some(chain), Some(hash)) = (chain, hash) {
                last.insert(chain, (entry.id.clone(), hash));
            }
        }
    }
    for (chain, (entry_id, hash)) in last {
        redis::cmd("HSET")
            .arg(keys.key(&format!("gateway:consent-checkpoint:{chain}")))
            .arg("entry_id")
            .arg(entry_id)
            .arg("hash")
            .arg(hash)
            .arg("at")
            .arg(crate::appeal::rfc3339(now))
            .query_async::<()>(conn)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_ids_order_and_follow() {
        let a = EntryId::parse("1700000000000-5").expect("id");
        assert_eq!(a.next().render(), "1700000000000-6");
        assert!(EntryId::parse("1700000000000-6") > Some(a));
        assert!(EntryId::parse("1699999999999-99") < Some(a));
        assert_eq!(EntryId(1, u64::MAX).next(), EntryId(2, 0));
        assert_eq!(EntryId::parse("0-0"), Some(EntryId(0, 0)));
        assert_eq!(EntryId::parse("x"), None);
    }
}
