//! The Open311 channel's index of the requests it took, shared by every instance
//! (issue 26, point 6): GeoReport v2 lets a client list requests by `service_code` and
//! date, which the status hashes (keyed by tracking number only) cannot answer.
//!
//! In Redis (names in [`crate::keyspace`]): a hash per request,
//! `gateway:open311:request:<tracking number>` (`appeal_id`, `service_code`,
//! `requested_datetime`; `address`, `lat`, `long` only when the deployment names
//! private readers), and the sorted set `gateway:open311:requests` of tracking numbers
//! by the time received. Both are written by the forwarder with the appeal itself
//! ([`Index::marks`]: marks of the appeal's outbox record), so a request is listed by
//! every instance once it is on `appeals.v1`, and never before.
//!
//! Personal data: the address and coordinates only for private readers (regulation
//! 6.7: no excess); the hash lives as long as the appeal's status (400 days); the sorted
//! set holds a number and a time per request, trimmed at the same age by the retention
//! sweep. An `open311.redb` of a gateway from before this index is imported once
//! ([`Index::import_legacy`]), then erased.

use std::path::Path;
use std::time::Duration;

use redis::AsyncCommands;
use serde::{Deserialize, Serialize};

use crate::appeal::Appeal;
use crate::keyspace::name;
use crate::pipeline::{Mark, MarkOp};
use crate::redis_handle::{Redis, Unavailable, WEBHOOK_WAIT};
/// Tracking numbers read from the sorted set per round of a listing.
const PAGE: usize = 500;

/// What the channel keeps of one request.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct Indexed {
    pub(crate) tracking_number: String,
    pub(crate) appeal_id: String,
    pub(crate) service_code: String,
    /// When it was received (RFC 3339, UTC).
    pub(crate) requested_datetime: String,
    /// Where the problem is; kept only for private readers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) lat: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) long: Option<f64>,
    /// The district of Almaty (its code), where known: not personal, kept for
    /// `extensions=true` (issue 32, point 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) district: Option<String>,
    /// The SHA-256s of the request's photos (as the appeal's `attachments` name them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) media: Vec<String>,
    /// Whether the case system let the photos be shown (a reply's `media_public`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) media_public: bool,
}

impl Indexed {
    fn from_hash(
        tracking_number: &str,
        mut hash: std::collections::HashMap<String, String>,
    ) -> Option<Indexed> {
        Some(Indexed {
            tracking_number: tracking_number.to_owned(),
            appeal_id: hash.remove("appeal_id")?,
            service_code: hash.remove("service_code")?,
            requested_datetime: hash.remove("requested_datetime")?,
            address: hash.remove("address"),
            lat: hash.get("lat").and_then(|v| v.parse().ok()),
            long: hash.get("long").and_then(|v| v.parse().ok()),
            district: hash.remove("district"),
            media: hash
                .remove("media")
                .map(|m| m.split(',').map(str::to_owned).collect())
                .unwrap_or_default(),
            media_public: hash.get("media_public").is_some_and(|v| v == "1"),
        })
    }

    /// The request as marks of its appeal's record (see the module doc).
    fn marks(&self) -> Vec<Mark> {
        let key = name::open311_request(&self.tracking_number);
        let ttl = Some(crate::status::STATUS_TTL);
        let mut marks = vec![
            Mark::set(key.clone(), "appeal_id", &self.appeal_id, ttl),
            Mark::set(key.clone(), "service_code", &self.service_code, ttl),
            Mark::set(
                key.clone(),
                "requested_datetime",
                &self.requested_datetime,
                ttl,
            ),
        ];
        if let Some(district) = &self.district {
            marks.push(Mark::set(key.clone(), "district", district, ttl));
        }
        if !self.media.is_empty() {
            marks.push(Mark::set(key.clone(), "media", &self.media.join(","), ttl));
        }
        if let Some(address) = &self.address {
            marks.push(Mark::set(key.clone(), "address", address, ttl));
        }
        if let (Some(lat), Some(long)) = (self.lat, self.long) {
            marks.push(Mark::set(key.clone(), "lat", &lat.to_string(), ttl));
            marks.push(Mark::set(key, "long", &long.to_string(), ttl));
        }
        let at_ms = time::OffsetDateTime::parse(
            &self.requested_datetime,
            &time::format_description::well_known::Rfc3339,
        )
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
        .unwrap_or(0);
        marks.push(Mark {
            key: name::OPEN311_REQUESTS.to_owned(),
            op: MarkOp::Index,
            field: self.tracking_number.clone(),
            value: at_ms.to_string(),
            ttl_secs: None,
        });
        marks
    }
}

/// The index, read from Redis.
pub(crate) struct Index {
    redis: Redis,
    /// Whether addresses and coordinates are kept (the deployment names private readers).
    keep_location: bool,
}

impl Index {
    /// Reads through `redis`, waiting as long as a webhook does.
    pub(crate) fn new(redis: &Redis, keep_location: bool) -> Index {
        Index {
            redis: redis.waiting(WEBHOOK_WAIT),
            keep_location,
        }
    }

    /// What the appeal's record sets in Redis for the index.
    pub(crate) fn marks(&self, appeal: &Appeal) -> Vec<Mark> {
        let location = appeal.location.as_ref().filter(|_| self.keep_location);
        Indexed {
            tracking_number: appeal.tracking_number.clone(),
            appeal_id: appeal.id.clone(),
            service_code: appeal.category.clone(),
            requested_datetime: appeal.received_at.clone(),
            address: location.and_then(|l| l.address.clone()),
            lat: location.and_then(|l| l.lat),
            long: location.and_then(|l| l.lon),
            district: appeal
                .location
                .as_ref()
                .and_then(|l| l.district)
                .and_then(|d| serde_json::to_value(d).ok())
                .and_then(|v| v.as_str().map(str::to_owned)),
            media: appeal
                .attachments
                .iter()
                .map(|a| a.sha256.clone())
                .collect(),
            media_public: false,
        }
        .marks()
    }

    /// The request with this tracking number, if an Open311 client sent it.
    pub(crate) async fn get(&self, tracking_number: &str) -> Result<Option<Indexed>, Unavailable> {
        let key = self
            .redis
            .keys()
            .key(&name::open311_request(tracking_number));
        let hash = self
            .redis
            .run(|mut conn| async move { conn.hgetall(key).await })
            .await?;
        Ok(Indexed::from_hash(tracking_number, hash))
    }

    /// The requests received from `start` to `end` (Unix ms), newest first (the same
    /// time: by tracking number, descending), `count` of them after the first `offset`,
    /// and how many there are in all (read in one transaction): one page without
    /// reading the others.
    pub(crate) async fn page(
        &self,
        start_ms: i64,
        end_ms: i64,
        offset: usize,
        count: usize,
    ) -> Result<(Vec<Indexed>, usize), Unavailable> {
        let set = self.redis.keys().key(name::OPEN311_REQUESTS);
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("ZREVRANGEBYSCORE")
            .arg(&set)
            .arg(end_ms)
            .arg(start_ms)
            .arg("LIMIT")
            .arg(offset)
            .arg(count)
            .cmd("ZCOUNT")
            .arg(&set)
            .arg(start_ms)
            .arg(end_ms);
        let (numbers, total): (Vec<String>, usize) = self
            .redis
            .run(|mut conn| async move { pipe.query_async(&mut conn).await })
            .await?;
        Ok((self.records(&numbers, |_| true).await?, total))
    }

    /// The index records of `numbers` that `keep` accepts, in order.
    async fn records(
        &self,
        numbers: &[String],
        keep: impl Fn(&Indexed) -> bool,
    ) -> Result<Vec<Indexed>, Unavailable> {
        if numbers.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for number in numbers {
            pipe.hgetall(self.redis.keys().key(&name::open311_request(number)));
        }
        let hashes: Vec<std::collections::HashMap<String, String>> = self
            .redis
            .run(|mut conn| async move { pipe.query_async(&mut conn).await })
            .await?;
        Ok(numbers
            .iter()
            .zip(hashes)
            .filter_map(|(number, hash)| Indexed::from_hash(number, hash))
            .filter(|record| keep(record))
            .collect())
    }

    /// The requests received from `start` to `end` (Unix ms) that `keep` accepts, newest
    /// first (as [`Index::page`]), at most `limit`.
    pub(crate) async fn scan(
        &self,
        start_ms: i64,
        end_ms: i64,
        limit: usize,
        keep: impl Fn(&Indexed) -> bool,
    ) -> Result<Vec<Indexed>, Unavailable> {
        let set = self.redis.keys().key(name::OPEN311_REQUESTS);
        let mut found = Vec::new();
        let mut offset = 0;
        while found.len() < limit {
            let mut range = redis::cmd("ZREVRANGEBYSCORE");
            range
                .arg(&set)
                .arg(end_ms)
                .arg(start_ms)
                .arg("LIMIT")
                .arg(offset)
                .arg(PAGE);
            let page: Vec<String> = self
                .redis
                .run(|mut conn| async move { range.query_async(&mut conn).await })
                .await?;
            if page.is_empty() {
                break;
            }
            offset += page.len();
            for record in self.records(&page, &keep).await? {
                found.push(record);
                if found.len() == limit {
                    break;
                }
            }
        }
        Ok(found)
    }

    /// Moves the requests of an `open311.redb` left by an earlier gateway into Redis,
    /// then erases the file; retried until Redis answers (the file stays until then).
    pub(crate) async fn import_legacy(&self, data_dir: &Path) {
        let path = data_dir.join("open311.redb");
        if !path.is_file() {
            return;
        }
        let read = {
            let path = path.clone();
            tokio::task::spawn_blocking(move || legacy_records(&path)).await
        };
        let records = match read {
            Ok(Ok(records)) => records,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "open311.redb of an earlier gateway cannot be read; left in place");
                return;
            }
            Err(_) => return,
        };
        loop {
            match self.write_legacy(&records).await {
                Ok(()) => break,
                Err(e) => {
                    tracing::warn!(error = %crate::redis_target::describe(&e), "open311.redb import waits for Redis");
                    tokio::time::sleep(Duration::from_secs(10)).await;
                }
            }
        }
        match crate::outbox::shred(&path) {
            Ok(()) => tracing::info!(
                requests = records.len(),
                "open311.redb of an earlier gateway imported into Redis and erased"
            ),
            Err(e) => tracing::error!(error = %e, "open311.redb imported but not erased"),
        }
    }

    async fn write_legacy(&self, records: &[Indexed]) -> redis::RedisResult<()> {
        let Ok(mut conn) = self.redis.conn().await else {
            return Err(redis::RedisError::from(std::io::Error::other(
                "redis unreachable",
            )));
        };
        for chunk in records.chunks(200) {
            let mut pipe = redis::pipe();
            for record in chunk {
                let mut record = record.clone();
                if !self.keep_location {
                    (record.address, record.lat, record.long) = (None, None, None);
                }
                for mark in record.marks() {
                    let key = self.redis.keys().key(&mark.key);
                    match mark.op {
                        MarkOp::Index => {
                            pipe.cmd("ZADD")
                                .arg(&key)
                                .arg(&mark.value)
                                .arg(&mark.field)
                                .ignore();
                        }
                        _ => {
                            pipe.cmd("HSET")
                                .arg(&key)
                                .arg(&mark.field)
                                .arg(&mark.value)
                                .ignore();
                            if let Some(ttl) = mark.ttl_secs {
                                pipe.cmd("EXPIRE").arg(&key).arg(ttl).ignore();
                            }
                        }
                    }
                }
            }
            pipe.query_async::<()>(&mut conn).await?;
        }
        Ok(())
    }
}

/// Every request of an `open311.redb`.
fn legacy_records(path: &Path) -> Result<Vec<Indexed>, String> {
    use redb::{ReadableDatabase, ReadableTable};
    const REQUESTS: redb::TableDefinition<&str, &[u8]> =
        redb::TableDefinition::new("open311_requests");
    let db = redb::Database::open(path).map_err(|e| e.to_string())?;
    let txn = db.begin_read().map_err(|e| e.to_string())?;
    let table = match txn.open_table(REQUESTS) {
        Ok(table) => table,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
        Err(e) => return Err(e.to_string()),
    };
    let mut out = Vec::new();
    for entry in table.iter().map_err(|e| e.to_string())? {
        let (_, value) = entry.map_err(|e| e.to_string())?;
        if let Ok(record) = serde_json::from_slice::<Indexed>(value.value()) {
            out.push(record);
        }
    }
    Ok(out)
}
