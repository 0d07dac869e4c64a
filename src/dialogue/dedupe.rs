//! Exactly-once intake of provider deliveries. Telegram and WhatsApp both deliver the
//! same update more than once (a retry after a slow or failed answer, or simply twice);
//! each delivery is claimed on (channel, provider message id) with an atomic
//! set-if-absent before it is processed — never a get followed by a set, which lets two
//! concurrent deliveries both through.
//!
//! The claim is made in Redis with `SET key 1 NX EX ttl`, so that the gateway
//! instances behind one webhook URL share it. With Redis away no claim can be made, and
//! no conversation read either ([`super::store`]): the delivery is refused, and the
//! provider's retry taken once Redis is back. If its processing fails, the claim is
//! released so that the retry is taken.

use std::time::Duration;

use super::store::StoreError;
use crate::redis_handle::{Redis, Unavailable, WEBHOOK_WAIT};

/// The dedupe of inbound deliveries.
pub(crate) struct Dedupe {
    redis: Redis,
    ttl: Duration,
}

impl Dedupe {
    /// Claims through `redis`, waiting as long as a webhook does before refusing the
    /// delivery.
    pub(crate) fn new(redis: &Redis, ttl: Duration) -> Dedupe {
        Dedupe {
            redis: redis.waiting(WEBHOOK_WAIT),
            ttl,
        }
    }

    fn redis_key(&self, key: &str) -> String {
        self.redis.keys().inbound(key)
    }

    /// `true` if this delivery (`channel:id`) was not taken before; it is taken now.
    pub(crate) async fn claim(&self, key: &str) -> Result<bool, StoreError> {
        self.redis_set_nx(key)
            .await
            .ok_or(StoreError::Unavailable(Unavailable))
    }

    /// Forgets a claim whose processing failed.
    pub(crate) async fn release(&self, key: &str) {
        if let Some(mut conn) = self.connection().await {
            let mut cmd = redis::cmd("DEL");
            cmd.arg(self.redis_key(key));
            let del = cmd.query_async::<i64>(&mut conn);
            let _ = tokio::time::timeout(self.redis.wait(), del).await;
        }
    }

    /// Sets `<prefix><key>` in Redis for `ttl`, if Redis answers (a hint for other parts
    /// of the gateway, such as the notifier's WhatsApp window; losing it is harmless).
    pub(crate) async fn mark(&self, key: &str, ttl: Duration) {
        let Some(mut conn) = self.connection().await else {
            return;
        };
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.redis.keys().key(key))
            .arg(1)
            .arg("EX")
            .arg(ttl.as_secs().max(1));
        let set = cmd.query_async::<Option<String>>(&mut conn);
        let _ = tokio::time::timeout(self.redis.wait(), set).await;
    }

    /// Sets `<prefix><name>` for `ttl` unless it is set: `true` only the first time
    /// (and never when Redis does not answer: what is done "at most once" is then not
    /// done).
    pub(crate) async fn first_mark(&self, name: &str, ttl: Duration) -> bool {
        let key = self.redis.keys().key(name);
        self.set_nx(&key, ttl).await == Some(true)
    }

    /// `Some(true)` if Redis set the key, `Some(false)` if it existed, `None` if Redis
    /// did not answer in time.
    async fn redis_set_nx(&self, key: &str) -> Option<bool> {
        self.set_nx(&self.redis_key(key), self.ttl).await
    }

    async fn set_nx(&self, full_key: &str, ttl: Duration) -> Option<bool> {
        let mut conn = self.connection().await?;
        let mut cmd = redis::cmd("SET");
        cmd.arg(full_key)
            .arg(1)
            .arg("NX")
            .arg("EX")
            .arg(ttl.as_secs().max(1));
        let set = cmd.query_async::<Option<String>>(&mut conn);
        match tokio::time::timeout(self.redis.wait(), set).await {
            Ok(Ok(reply)) => Some(reply.is_some()),
            _ => {
                self.redis.reset().await;
                None
            }
        }
    }

    async fn connection(&self) -> Option<crate::redis_target::RedisConn> {
        self.redis.conn().await.ok()
    }
}
