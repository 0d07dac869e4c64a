//! Exactly-once intake of provider deliveries. Telegram and WhatsApp both deliver the
//! same update more than once (a retry after a slow or failed answer, or simply twice);
//! each delivery is claimed on (channel, provider message id) with an atomic
//! set-if-absent before it is processed — never a get followed by a set, which lets two
//! concurrent deliveries both through.
//!
//! The claim is made in the embedded store (always: it survives Redis being away) and
//! then in Redis with `SET key 1 NX EX ttl` when Redis answers (so several gateway
//! instances behind one webhook URL share it). A delivery is new only if every store
//! that answered says so. If its processing fails, the claim is released so that the
//! provider's retry is taken.

use std::time::Duration;

use super::store::{Store, StoreError};

/// How long to wait for Redis before going on with the embedded store alone.
const REDIS_WAIT: Duration = Duration::from_millis(300);

/// The dedupe of inbound deliveries.
pub(crate) struct Dedupe {
    store: Store,
    conn: crate::queue::LazyConnection,
    prefix: String,
    ttl: Duration,
}

impl Dedupe {
    pub(crate) fn new(
        store: Store,
        redis: Option<crate::redis_target::RedisTarget>,
        prefix: &str,
        ttl: Duration,
    ) -> Dedupe {
        Dedupe {
            store,
            conn: crate::queue::LazyConnection::new(redis, REDIS_WAIT),
            prefix: prefix.to_owned(),
            ttl,
        }
    }

    fn redis_key(&self, key: &str) -> String {
        crate::keyspace::Keyspace::new(&self.prefix).inbound(key)
    }

    /// `true` if this delivery (`channel:id`) was not taken before; it is taken now.
    pub(crate) async fn claim(&self, key: &str) -> Result<bool, StoreError> {
        let store = self.store.clone();
        let owned = key.to_owned();
        let now = super::unix_now();
        let fresh = tokio::task::spawn_blocking(move || store.claim(&owned, now))
            .await
            .map_err(|_| StoreError::from_join())??;
        if !fresh {
            return Ok(false);
        }
        match self.redis_set_nx(key).await {
            Some(false) => Ok(false),
            // New in Redis, or Redis away: the embedded claim stands.
            Some(true) | None => Ok(true),
        }
    }

    /// Forgets a claim whose processing failed.
    pub(crate) async fn release(&self, key: &str) {
        let store = self.store.clone();
        let owned = key.to_owned();
        let _ = tokio::task::spawn_blocking(move || store.release(&owned)).await;
        if let Some(mut conn) = self.connection().await {
            let mut cmd = redis::cmd("DEL");
            cmd.arg(self.redis_key(key));
            let del = cmd.query_async::<i64>(&mut conn);
            let _ = tokio::time::timeout(REDIS_WAIT, del).await;
        }
    }

    /// Sets `<prefix><key>` in Redis for `ttl`, if Redis answers (a hint for other parts
    /// of the gateway, such as the notifier's WhatsApp window; losing it is harmless).
    pub(crate) async fn mark(&self, key: &str, ttl: Duration) {
        let Some(mut conn) = self.connection().await else {
            return;
        };
        let mut cmd = redis::cmd("SET");
        cmd.arg(format!("{}{key}", self.prefix))
            .arg(1)
            .arg("EX")
            .arg(ttl.as_secs().max(1));
        let set = cmd.query_async::<Option<String>>(&mut conn);
        let _ = tokio::time::timeout(REDIS_WAIT, set).await;
    }

    /// `Some(true)` if Redis set the key, `Some(false)` if it existed, `None` if Redis
    /// did not answer in time.
    async fn redis_set_nx(&self, key: &str) -> Option<bool> {
        let mut conn = self.connection().await?;
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.redis_key(key))
            .arg(1)
            .arg("NX")
            .arg("EX")
            .arg(self.ttl.as_secs().max(1));
        let set = cmd.query_async::<Option<String>>(&mut conn);
        match tokio::time::timeout(REDIS_WAIT, set).await {
            Ok(Ok(reply)) => Some(reply.is_some()),
            _ => {
                self.conn.reset().await;
                None
            }
        }
    }

    async fn connection(&self) -> Option<crate::redis_target::RedisConn> {
        self.conn.get().await
    }
}

impl StoreError {
    pub(crate) fn from_join() -> StoreError {
        StoreError::new("a storage task stopped")
    }
}
