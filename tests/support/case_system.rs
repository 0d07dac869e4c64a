//! The case system's side of the streams: what it writes for the gateway to carry back to
//! the citizen. One `reply` entry on `replies.v1`, as the case system would `XADD` it.

use serde_json::Value;

use super::{RedisServer, redis_conn, stream_key};

/// Adds one `reply` entry with `data` (a reply document as JSON text) to the stream `key`
/// over `conn`; returns the entry's `id` field (a fresh ULID). For a cluster, whose keys
/// carry another prefix than [`stream_key`]'s.
pub async fn add_reply_to(
    conn: &mut redis::aio::MultiplexedConnection,
    key: &str,
    data: &str,
) -> String {
    let id = ulid::Ulid::new().to_string();
    redis::cmd("XADD")
        .arg(key)
        .arg("*")
        .arg("id")
        .arg(&id)
        .arg("type")
        .arg("reply")
        .arg("data")
        .arg(data)
        .query_async::<String>(conn)
        .await
        .expect("XADD reply");
    id
}

/// Adds `data` as a `reply` entry to the test prefix's `replies.v1`; returns its `id`.
pub async fn add_reply(redis: &RedisServer, data: &str) -> String {
    let mut conn = redis_conn(&redis.url()).await.expect("redis");
    add_reply_to(&mut conn, &stream_key("replies.v1"), data).await
}

/// Sends `reply` as the case system would; returns the entry's `id`.
pub async fn send_reply(redis: &RedisServer, reply: &Value) -> String {
    add_reply(redis, &reply.to_string()).await
}
