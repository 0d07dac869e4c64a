//! The duplicates hint's index, shared by every instance: the appeals agents entered at
//! one place, so that an agent on any instance is told "this was reported already".
//!
//! In Redis ([`crate::keyspace`]): `gateway:recent:<key>` is a sorted set whose members
//! are tracking numbers scored by the time (ms) they were entered, `<key>` being the
//! SHA-256 of the place and the category ([`super::accounts::duplicate_key`]): no
//! personal data. Entries older than [`RECENT_KEEP`] are dropped at each write and the
//! set expires [`RECENT_KEEP`] after its last write.
//!
//! Every entry is also written to `agents.redb` (as before there were several
//! instances), which answers when Redis does not: the hint is a hint, and an instance
//! without Redis still knows what was entered through it.

use std::time::Duration;

use actix_web::web;

use super::accounts::{AgentStore, DUPLICATE_WINDOW, RECENT_KEEP};
use crate::keyspace::{Keyspace, name};
use crate::queue::LazyConnection;
use crate::redis_target::RedisTarget;

/// How long a request waits for Redis before going on without it.
const REDIS_WAIT: Duration = Duration::from_millis(300);

/// The duplicates index: Redis first, `agents.redb` when Redis is away.
pub(crate) struct Recent {
    conn: LazyConnection,
    keyspace: Keyspace,
    local: AgentStore,
}

impl Recent {
    pub(crate) fn new(local: AgentStore, redis: Option<RedisTarget>, prefix: &str) -> Recent {
        Recent {
            conn: LazyConnection::new(redis, REDIS_WAIT),
            keyspace: Keyspace::new(prefix),
            local,
        }
    }

    /// Remembers an appeal entered at `key`, in Redis and in the local index.
    pub(crate) async fn remember(&self, key: &str, tracking: &str) {
        let now = crate::clock::now_ms();
        if let Some(mut conn) = self.conn.get().await {
            let redis_key = self.keyspace.key(&name::recent(key));
            let cutoff = now.saturating_sub(RECENT_KEEP.as_millis() as u64);
            let mut pipe = redis::pipe();
            pipe.atomic()
                .zadd(&redis_key, tracking, now)
                .ignore()
                .zrembyscore(&redis_key, 0, cutoff)
                .ignore()
                .pexpire(&redis_key, RECENT_KEEP.as_millis() as i64)
                .ignore();
            let written = pipe.query_async::<()>(&mut conn);
            if !matches!(tokio::time::timeout(REDIS_WAIT, written).await, Ok(Ok(()))) {
                self.conn.reset().await;
            }
        }
        let store = self.local.clone();
        let (key, tracking) = (key.to_owned(), tracking.to_owned());
        if let Ok(Err(e)) = web::block(move || store.remember(&key, &tracking)).await {
            tracing::warn!(error = %e, "duplicates index: local entry not written");
        }
    }

    /// Tracking numbers of appeals entered at `key` within [`DUPLICATE_WINDOW`], newest
    /// first; empty when no index answers.
    pub(crate) async fn recent(&self, key: &str) -> Vec<String> {
        if let Some(found) = self.redis_recent(key).await {
            return found;
        }
        let store = self.local.clone();
        let key = key.to_owned();
        web::block(move || store.recent(&key))
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default()
    }

    async fn redis_recent(&self, key: &str) -> Option<Vec<String>> {
        let mut conn = self.conn.get().await?;
        let since = crate::clock::now_ms().saturating_sub(DUPLICATE_WINDOW.as_millis() as u64);
        let mut cmd = redis::cmd("ZREVRANGEBYSCORE");
        cmd.arg(self.keyspace.key(&name::recent(key)))
            .arg("+inf")
            .arg(since);
        let read = cmd.query_async::<Vec<String>>(&mut conn);
        match tokio::time::timeout(REDIS_WAIT, read).await {
            Ok(Ok(found)) => Some(found),
            _ => {
                self.conn.reset().await;
                None
            }
        }
    }
}
