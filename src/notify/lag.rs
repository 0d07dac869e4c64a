//! How far the notifiers are behind the case system: `XINFO GROUPS` on `replies.v1`
//! every few seconds, into `gateway_notifier_lag` (entries the group has not read yet)
//! and `gateway_notifier_pending` (read, not yet acknowledged).
//!
//! A task of its own rather than a step of the notifier's loop: a notifier stuck on a
//! slow provider is exactly when the figure matters, and its loop would not get round to
//! measuring. Every instance reports the same group-wide figures; the alert takes the
//! maximum.

use std::time::Duration;

use redis::streams::StreamInfoGroupsReply;

use crate::metrics::Metrics;
use crate::redis_handle::Redis;
use crate::redis_target::{RedisConn, Timeouts};

/// How often the group is looked at.
const EVERY: Duration = Duration::from_secs(5);

/// Measures `group` on `stream` until `shutdown` turns true. Redis errors leave the last
/// figures in place (Redis being away has its own metric and alert).
pub(crate) async fn watch(
    redis: Redis,
    stream: String,
    group: &'static str,
    metrics: Metrics,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let timeouts = Timeouts {
        connect: Duration::from_secs(2),
        response: Duration::from_secs(2),
    };
    let mut conn: Option<RedisConn> = None;
    while !*shutdown.borrow() {
        if conn.is_none() {
            conn = redis.connect_own(timeouts).await.ok();
        }
        if let Some(c) = conn.as_mut() {
            let info: redis::RedisResult<StreamInfoGroupsReply> = redis::cmd("XINFO")
                .arg("GROUPS")
                .arg(&stream)
                .query_async(c)
                .await;
            match info {
                Ok(info) => {
                    let group = info.groups.iter().find(|g| g.name == group);
                    // No group yet: nobody has read, and nobody is behind either (the
                    // notifier creates it on its first connection).
                    let (lag, pending) = group.map_or((0, 0), |g| (g.lag.unwrap_or(0), g.pending));
                    metrics
                        .notifier_lag
                        .set(i64::try_from(lag).unwrap_or(i64::MAX));
                    metrics
                        .notifier_pending
                        .set(i64::try_from(pending).unwrap_or(i64::MAX));
                }
                // A server's answer rather than a broken connection: in practice "no
                // such key", the stream does not exist yet and there is nothing to do.
                Err(e)
                    if !(e.is_io_error()
                        || e.is_timeout()
                        || e.is_connection_dropped()
                        || e.is_connection_refusal()) =>
                {
                    metrics.notifier_lag.set(0);
                    metrics.notifier_pending.set(0);
                }
                Err(e) => {
                    tracing::debug!(error_kind = ?e.kind(), "notifier lag: redis error");
                    conn = None;
                }
            }
        }
        tokio::select! {
            () = tokio::time::sleep(EVERY) => {}
            _ = shutdown.changed() => {}
        }
    }
}
