//! The status history of Open311 requests, for `GET servicerequestupdates` (issue 32,
//! point 1): FixMyStreet-style clients poll for the status changes since a time instead
//! of reading every request again.
//!
//! **Where it comes from.** The status board (`crate::status`) keeps only a request's
//! last status. The history is read from where every status comes from, `replies.v1`,
//! through a consumer group of the channel's own, `gateway-open311` (one consumer per
//! instance; an entry a dead instance held is claimed by another after [`CLAIM_IDLE`]).
//! A reply with a `status` for a tracking number the Open311 index knows becomes one
//! update (and its `media_public` lets the request's photos be shown, or no longer); replies for appeals of other channels are acknowledged and left alone (the
//! same split as `GET requests`, which lists Open311 requests only). The group starts
//! at the stream's beginning, so a deployment that had replies before this release
//! gets the history of what `replies.v1` still holds.
//!
//! **What is kept.** A member `<entry id>|<tracking number>|<case status>` scored by
//! the entry's time (ms), in `gateway:open311:updates` (every request) and in
//! `gateway:open311:request-updates:<tracking number>` (one request): a number, a
//! status and a time, nothing of the citizen and nothing of the reply's text. The
//! `replies.v1` entry id is the update's `update_id`: stable (the same on every
//! instance, after any restart) and unique, and writing the same entry twice (a
//! redelivery) adds nothing. Kept 400 days, as the status itself.

use std::time::Duration;

use crate::keyspace::name;
use crate::redis_handle::{Redis, Unavailable, WEBHOOK_WAIT};
use crate::redis_target::{Fields, Group, RedisConn, Timeouts};
use crate::reply::CaseStatus;
use crate::stream::Stream;
use crate::supervisor::{Shutdown, every};

/// The channel's consumer group on `replies.v1`.
pub(crate) const GROUP: &str = "gateway-open311";
/// Entries read per round.
const BATCH: usize = 64;
/// How long an entry read by another consumer stays unacknowledged before this one
/// takes it over (that consumer's instance is taken to be gone).
const CLAIM_IDLE: Duration = Duration::from_secs(60);
/// Wait before connecting again after a Redis error.
const RETRY_AFTER: Duration = Duration::from_secs(2);
/// How long an update is kept: as long as the status it tells of.
const KEEP: Duration = crate::status::STATUS_TTL;

/// One status change of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Change {
    /// The `replies.v1` entry id that said it.
    pub(crate) update_id: String,
    pub(crate) tracking_number: String,
    pub(crate) status: CaseStatus,
    /// When the case system wrote it (Unix ms, from the entry id).
    pub(crate) at_ms: i64,
}

impl Change {
    fn member(&self) -> String {
        format!(
            "{}|{}|{}",
            self.update_id,
            self.tracking_number,
            self.status.as_str()
        )
    }

    fn parse(member: &str, score: f64) -> Option<Change> {
        let mut parts = member.splitn(3, '|');
        let (update_id, tracking_number, status) = (parts.next()?, parts.next()?, parts.next()?);
        let status =
            serde_json::from_value::<CaseStatus>(serde_json::Value::String(status.to_owned()))
                .ok()?;
        Some(Change {
            update_id: update_id.to_owned(),
            tracking_number: tracking_number.to_owned(),
            status,
            at_ms: score as i64,
        })
    }
}

/// The time of a stream entry id (`<ms>-<seq>`).
fn entry_ms(entry_id: &str) -> Option<i64> {
    entry_id.split('-').next()?.parse().ok()
}

/// A string field of a stream entry.
fn field(fields: &Fields, name: &str) -> Option<String> {
    match fields.get(name)? {
        redis::Value::BulkString(bytes) => String::from_utf8(bytes.clone()).ok(),
        redis::Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    }
}

/// The history, read and written in Redis.
#[derive(Clone)]
pub(crate) struct History {
    redis: Redis,
    /// This instance's consumer name in [`GROUP`].
    consumer: String,
}

impl History {
    /// Reads through `redis`, waiting as long as a webhook does.
    pub(crate) fn new(redis: &Redis, consumer: &str) -> History {
        History {
            redis: redis.waiting(WEBHOOK_WAIT),
            consumer: consumer.to_owned(),
        }
    }

    /// Follows `replies.v1` until the shutdown; on a Redis error, connects again after
    /// [`RETRY_AFTER`].
    pub(crate) async fn run(self, shutdown: Shutdown) {
        let this = &self;
        let stop = shutdown.receiver();
        every(RETRY_AFTER, shutdown, move || {
            let stop = stop.clone();
            async move {
                if let Err(e) = this.follow(&stop).await {
                    tracing::warn!(
                        error = %crate::redis_target::describe(&e),
                        "open311 updates: redis unavailable; will try again"
                    );
                }
            }
        })
        .await;
    }

    async fn follow(&self, stop: &tokio::sync::watch::Receiver<bool>) -> redis::RedisResult<()> {
        let keys = self.redis.keys();
        let stream = keys.key(Stream::Replies.name());
        let timeouts = Timeouts {
            connect: Duration::from_secs(2),
            response: Duration::from_secs(5),
        };
        let mut reader = self.redis.connect_own(timeouts).await?;
        let mut conn = self.redis.connect_own(timeouts).await?;
        crate::redis_target::ensure_group(&mut conn, &stream, GROUP).await?;
        let group = Group {
            stream: &stream,
            group: GROUP,
            consumer: &self.consumer,
        };
        // What this consumer held when it last stopped, then new entries.
        let mut entries = group.own_pending(&mut conn, BATCH).await?;
        while !*stop.borrow() {
            for (entry_id, fields) in &entries {
                self.record(&mut conn, entry_id, fields).await?;
                redis::cmd("XACK")
                    .arg(&stream)
                    .arg(GROUP)
                    .arg(entry_id)
                    .query_async::<()>(&mut conn)
                    .await?;
            }
            entries = group
                .claim_or_read(&mut conn, &mut reader, CLAIM_IDLE, BATCH)
                .await?;
        }
        Ok(())
    }

    /// Records the entry as an update when it is a status of an Open311 request.
    async fn record(
        &self,
        conn: &mut RedisConn,
        entry_id: &str,
        fields: &Fields,
    ) -> redis::RedisResult<()> {
        let kind = field(fields, "type");
        let data = field(fields, "data");
        // A malformed reply is the notifier's to park; nothing to record here.
        let Ok(reply) = crate::reply::parse(kind.as_deref(), data.as_deref()) else {
            return Ok(());
        };
        if reply.status.is_none() && reply.media_public.is_none() {
            return Ok(());
        }
        let keys = self.redis.keys();
        let request = keys.key(&name::open311_request(&reply.tracking_number));
        let known: bool = redis::cmd("EXISTS").arg(&request).query_async(conn).await?;
        if !known {
            return Ok(());
        }
        // The case system lets the request's photos be shown, or no longer.
        match reply.media_public {
            Some(true) => {
                redis::cmd("HSET")
                    .arg(&request)
                    .arg("media_public")
                    .arg("1")
                    .query_async::<()>(conn)
                    .await?
            }
            Some(false) => {
                redis::cmd("HDEL")
                    .arg(&request)
                    .arg("media_public")
                    .query_async::<()>(conn)
                    .await?
            }
            None => {}
        }
        let (Some(status), Some(at_ms)) = (reply.status, entry_ms(entry_id)) else {
            return Ok(());
        };
        let change = Change {
            update_id: entry_id.to_owned(),
            tracking_number: reply.tracking_number.clone(),
            status,
            at_ms,
        };
        let member = change.member();
        let one = keys.key(&name::open311_request_updates(&change.tracking_number));
        let all = keys.key(name::OPEN311_UPDATES);
        let oldest = at_ms - i64::try_from(KEEP.as_millis()).unwrap_or(i64::MAX);
        redis::pipe()
            .cmd("ZADD")
            .arg(&all)
            .arg(at_ms)
            .arg(&member)
            .ignore()
            .cmd("ZADD")
            .arg(&one)
            .arg(at_ms)
            .arg(&member)
            .ignore()
            .cmd("EXPIRE")
            .arg(&one)
            .arg(KEEP.as_secs())
            .ignore()
            .cmd("ZREMRANGEBYSCORE")
            .arg(&all)
            .arg("-inf")
            .arg(format!("({oldest}"))
            .ignore()
            .query_async::<()>(conn)
            .await
    }

    /// The updates of every request from `start_ms` to `end_ms`, oldest first, `count`
    /// of them after the first `offset`, and how many there are in all (read together,
    /// in one transaction: the total is that of the list the page is cut from).
    pub(crate) async fn page(
        &self,
        start_ms: i64,
        end_ms: i64,
        offset: usize,
        count: usize,
    ) -> Result<(Vec<Change>, usize), Unavailable> {
        let key = self.redis.keys().key(name::OPEN311_UPDATES);
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("ZRANGEBYSCORE")
            .arg(&key)
            .arg(start_ms)
            .arg(end_ms)
            .arg("WITHSCORES")
            .arg("LIMIT")
            .arg(offset)
            .arg(count)
            .cmd("ZCOUNT")
            .arg(&key)
            .arg(start_ms)
            .arg(end_ms);
        let (found, total): (Vec<(String, f64)>, usize) = self
            .redis
            .run(|mut conn| async move { pipe.query_async(&mut conn).await })
            .await?;
        Ok((changes(&found), total))
    }

    /// Every update of one request from `start_ms` to `end_ms`, oldest first.
    pub(crate) async fn of_request(
        &self,
        tracking_number: &str,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<Change>, Unavailable> {
        let key = self
            .redis
            .keys()
            .key(&name::open311_request_updates(tracking_number));
        let mut command = redis::cmd("ZRANGEBYSCORE");
        command.arg(key).arg(start_ms).arg(end_ms).arg("WITHSCORES");
        let found: Vec<(String, f64)> = self
            .redis
            .run(|mut conn| async move { command.query_async(&mut conn).await })
            .await?;
        Ok(changes(&found))
    }
}

/// The changes of a range read `WITHSCORES`.
fn changes(found: &[(String, f64)]) -> Vec<Change> {
    found
        .iter()
        .filter_map(|(member, score)| Change::parse(member, *score))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_reads_back_as_it_was_written() {
        let change = Change {
            update_id: "1765015200000-3".to_owned(),
            tracking_number: "OA-7K3M-9QX2-5".to_owned(),
            status: CaseStatus::InProgress,
            at_ms: 1_765_015_200_000,
        };
        assert_eq!(
            Change::parse(&change.member(), 1_765_015_200_000.0),
            Some(change)
        );
        assert_eq!(entry_ms("1765015200000-3"), Some(1_765_015_200_000));
        assert_eq!(Change::parse("1-0|OA-1|on_fire", 1.0), None);
    }
}
