//! The duplicates hint's index, shared by every instance: the appeals agents entered at
//! one place, so that an agent on any instance is told "this was reported already".
//!
//! In Redis ([`crate::keyspace`]): `gateway:recent:<key>` is a sorted set whose members
//! are tracking numbers scored by the time (ms) they were entered, `<key>` being the
//! SHA-256 of the place and the category ([`duplicate_key`]): no personal data. Entries
//! older than [`RECENT_KEEP`] are dropped at each write and the set expires
//! [`RECENT_KEEP`] after its last write.
//!
//! Redis away: no hint (the agent is not told of a duplicate) and the entry is not
//! written. The hint is a hint; the appeal is accepted all the same.

use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::keyspace::name;
use crate::redis_handle::{PAGE_WAIT, Redis};

/// How far back the duplicates hint looks: an appeal is decided within 15 working days,
/// but a repeated report of one problem comes within days of the first.
pub(crate) const DUPLICATE_WINDOW: Duration = Duration::from_secs(3 * 24 * 3600);
/// How long the duplicates index keeps an entry.
pub(crate) const RECENT_KEEP: Duration = Duration::from_secs(30 * 24 * 3600);

/// The duplicates index in Redis.
pub(crate) struct Recent {
    redis: Redis,
}

impl Recent {
    pub(crate) fn new(redis: &Redis) -> Recent {
        Recent {
            redis: redis.waiting(PAGE_WAIT),
        }
    }

    /// Remembers an appeal entered at `key`.
    pub(crate) async fn remember(&self, key: &str, tracking: &str) {
        let now = crate::clock::now_ms();
        let redis_key = self.redis.keys().key(&name::recent(key));
        let cutoff = now.saturating_sub(RECENT_KEEP.as_millis() as u64);
        let mut pipe = redis::pipe();
        pipe.atomic()
            .zadd(&redis_key, tracking, now)
            .ignore()
            .zrembyscore(&redis_key, 0, cutoff)
            .ignore()
            .pexpire(&redis_key, RECENT_KEEP.as_millis() as i64)
            .ignore();
        let written = self
            .redis
            .run(|mut conn| async move { pipe.query_async::<()>(&mut conn).await })
            .await;
        if written.is_err() {
            tracing::warn!("duplicates index: entry not written, Redis does not answer");
        }
    }

    /// Tracking numbers of appeals entered at `key` within [`DUPLICATE_WINDOW`], newest
    /// first; empty when Redis does not answer.
    pub(crate) async fn recent(&self, key: &str) -> Vec<String> {
        let since = crate::clock::now_ms().saturating_sub(DUPLICATE_WINDOW.as_millis() as u64);
        let mut cmd = redis::cmd("ZREVRANGEBYSCORE");
        cmd.arg(self.redis.keys().key(&name::recent(key)))
            .arg("+inf")
            .arg(since);
        self.redis
            .run(|mut conn| async move { cmd.query_async::<Vec<String>>(&mut conn).await })
            .await
            .unwrap_or_default()
    }
}

/// The key of the duplicates index: SHA-256 of the category and the address reduced to
/// its words, without the words every address has ("улица", "көшесі", "д.").
pub(crate) fn duplicate_key(address: &str, category: &str) -> Option<String> {
    const NOISE: [&str; 16] = [
        "ул",
        "улица",
        "көше",
        "көшесі",
        "пр",
        "просп",
        "проспект",
        "даңғылы",
        "д",
        "дом",
        "үй",
        "г",
        "город",
        "алматы",
        "мкр",
        "кв",
    ];
    let cleaned = crate::normalize::line(address).to_lowercase();
    let words: Vec<&str> = cleaned
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && !NOISE.contains(w))
        .collect();
    if words.is_empty() || category.is_empty() {
        return None;
    }
    let digest = Sha256::digest(format!("{category}\n{}", words.join(" ")).as_bytes());
    Some(hex::encode(digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_duplicates_index_matches_the_same_place_written_differently() {
        let a = duplicate_key("ул. Абая, д. 10", "roads");
        let b = duplicate_key("Абая 10", "roads");
        assert_eq!(a, b);
        assert_ne!(a, duplicate_key("Абая 10", "lighting"));
        assert_eq!(duplicate_key("ул.", "roads"), None);
    }
}
