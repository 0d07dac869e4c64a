//! Receipts that mean what they say. A provider that took a message says so at once
//! (`accepted` on `deliveries.v1`); whether it reached the handset comes later, from the
//! provider's own report (WhatsApp's `statuses[]`, Mobizon's delivery webhook), to
//! whichever instance the provider calls. Each report moves the reply's receipt forward
//! once: `accepted` → `delivered` → `read`, or `accepted` → `failed` with the reason.
//!
//! Shared by every instance in Redis: `<prefix>gateway:receipt:<reply id>` holds the
//! reply's state (and the ids a receipt names), `<prefix>gateway:provider-message:<route>:
//! <provider's id>` points from a provider's message id to the reply; both expire after
//! [`KEPT_FOR`]. One script compares the state, moves it and adds the receipt in one
//! step, so two instances given the same report (a provider's retry, two deliveries of
//! one webhook) write one receipt.
//!
//! A reply reported `failed` goes to the citizen's next contact (the reply's `fallback`
//! after the route that failed, only confirmed ones, see `unconfirmed`): the receipt's
//! hash keeps the reply as it would go there (`retry`, its text included, as
//! `replies.v1` holds it) and the same script puts it back on `replies.v1`.

use std::time::Duration;

use crate::keyspace::{Keyspace, name};
use crate::redis_target::RedisConn;
use crate::reply::{Delivery, DeliveryStatus};

/// How long a reply waits for its provider's report: SMS expire after a day at the
/// latest (Mobizon's longest validity), WhatsApp reports within its 30-day retry.
pub(crate) const KEPT_FOR: Duration = Duration::from_secs(30 * 24 * 3600);

/// What a provider reports of a message it took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Report {
    /// On the handset (SMS), on the citizen's device (WhatsApp).
    Delivered,
    /// Opened by the citizen (WhatsApp).
    Read,
    /// Not delivered, with the reason as a code.
    Failed(&'static str),
}

impl Report {
    fn status(self) -> DeliveryStatus {
        match self {
            Report::Delivered => DeliveryStatus::Delivered,
            Report::Read => DeliveryStatus::Read,
            Report::Failed(_) => DeliveryStatus::Failed,
        }
    }
}

/// The reply a route just gave to a provider, waiting for its reports.
pub(crate) struct Taken<'a> {
    pub(crate) reply_id: &'a str,
    pub(crate) appeal_id: &'a str,
    pub(crate) route: &'a str,
    pub(crate) attempts: u32,
    /// The provider's ids of the messages sent (one per part).
    pub(crate) provider_ids: &'a [String],
    /// The reply as it goes to the citizen's next contact should this route's provider
    /// report it failed (the case system's `data`, `reply_to` the next contact).
    pub(crate) retry: Option<&'a str>,
}

/// A reply a route's provider just took, as the notifier knows it.
pub(crate) struct Sent<'a> {
    pub(crate) reply_id: &'a str,
    pub(crate) reply: &'a crate::reply::Reply,
    pub(crate) route: &'a str,
    pub(crate) attempts: u32,
    pub(crate) provider_ids: &'a [String],
    /// The contacts after the one that took it, in order.
    pub(crate) rest: &'a [&'a crate::appeal::ReplyTo],
}

/// Keeps `sent` for its provider's reports, with the reply as it would go to the next
/// contact should the provider report it failed.
pub(crate) async fn track_sent(
    conn: &mut RedisConn,
    keys: &Keyspace,
    sent: &Sent<'_>,
) -> redis::RedisResult<()> {
    let retry = sent.rest.split_first().map(|(next, rest)| {
        let mut retry = sent.reply.clone();
        retry.reply_to = (*next).clone();
        retry.fallback = rest.iter().map(|to| (*to).clone()).collect();
        serde_json::to_string(&retry).unwrap_or_default()
    });
    let taken = Taken {
        reply_id: sent.reply_id,
        appeal_id: &sent.reply.id,
        route: sent.route,
        attempts: sent.attempts,
        provider_ids: sent.provider_ids,
        retry: retry.as_deref(),
    };
    track(conn, keys, &taken).await
}

/// Keeps `taken` so that its provider's reports find it, from any instance.
pub(crate) async fn track(
    conn: &mut RedisConn,
    keys: &Keyspace,
    taken: &Taken<'_>,
) -> redis::RedisResult<()> {
    if taken.provider_ids.is_empty() {
        return Ok(());
    }
    let receipt = keys.key(&name::receipt(taken.reply_id));
    let mut pipe = redis::pipe();
    pipe.atomic()
        .cmd("HSET")
        .arg(&receipt)
        .arg("state")
        .arg(DeliveryStatus::Accepted.as_str())
        .arg("appeal_id")
        .arg(taken.appeal_id)
        .arg("channel")
        .arg(taken.route)
        .arg("attempts")
        .arg(taken.attempts)
        .ignore()
        .cmd("HDEL")
        .arg(&receipt)
        .arg("retry")
        .ignore()
        .cmd("EXPIRE")
        .arg(&receipt)
        .arg(KEPT_FOR.as_secs())
        .ignore();
    if let Some(retry) = taken.retry {
        pipe.cmd("HSET")
            .arg(&receipt)
            .arg("retry")
            .arg(retry)
            .ignore();
    }
    for id in taken.provider_ids {
        pipe.cmd("SET")
            .arg(keys.key(&name::provider_message(taken.route, id)))
            .arg(taken.reply_id)
            .arg("EX")
            .arg(KEPT_FOR.as_secs())
            .ignore();
    }
    pipe.query_async(conn).await
}

/// Moves the state and adds the receipt, or does nothing when the report brings
/// nothing new (already there, or further). A `failed` report of a reply with another
/// contact puts it back on `replies.v1` for that contact (its lease freed, so the
/// notifier takes it again). `KEYS[1]` the receipt's hash, `KEYS[2]` `deliveries.v1`,
/// `KEYS[3]` `replies.v1`, `KEYS[4]` the reply's lease; `ARGV` the new state, the
/// receipt's id and its JSON, the reply's id.
const ADVANCE: &str = r"
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return 0 end
local rank = {accepted = 1, delivered = 2, read = 3}
local new = ARGV[1]
if state == 'failed' or state == 'read' then return 0 end
if new == 'failed' then
  if state ~= 'accepted' then return 0 end
elseif (rank[new] or 0) <= (rank[state] or 0) then
  return 0
end
redis.call('HSET', KEYS[1], 'state', new)
redis.call('XADD', KEYS[2], '*', 'id', ARGV[2], 'type', 'delivery', 'data', ARGV[3])
if new == 'failed' then
  local retry = redis.call('HGET', KEYS[1], 'retry')
  if retry then
    redis.call('HDEL', KEYS[1], 'retry')
    redis.call('DEL', KEYS[4])
    redis.call('XADD', KEYS[3], '*', 'id', ARGV[4], 'type', 'reply', 'data', retry)
    return 2
  end
end
return 1
";

/// Applies a provider's report on its message `provider_id` sent by `route`: `true`
/// when it moved the receipt (and the case system got a new one), `false` when it
/// brought nothing new or the message is not one the gateway is waiting on.
pub(crate) async fn report(
    conn: &mut RedisConn,
    keys: &Keyspace,
    route: &str,
    provider_id: &str,
    report: Report,
) -> redis::RedisResult<bool> {
    let pointer = keys.key(&name::provider_message(route, provider_id));
    let reply_id: Option<String> = redis::cmd("GET").arg(&pointer).query_async(conn).await?;
    let Some(reply_id) = reply_id else {
        return Ok(false);
    };
    let receipt_key = keys.key(&name::receipt(&reply_id));
    let fields: std::collections::HashMap<String, String> = redis::cmd("HGETALL")
        .arg(&receipt_key)
        .query_async(conn)
        .await?;
    let Some(appeal_id) = fields.get("appeal_id") else {
        return Ok(false);
    };
    let receipt = Delivery {
        schema_version: crate::appeal::SCHEMA_VERSION,
        id: ulid::Ulid::new().to_string(),
        reply_id: reply_id.clone(),
        appeal_id: appeal_id.clone(),
        status: report.status(),
        channel: Some(route.to_owned()),
        attempts: fields
            .get("attempts")
            .and_then(|a| a.parse().ok())
            .unwrap_or(1),
        reason: match report {
            Report::Failed(reason) => Some(reason.to_owned()),
            _ => None,
        },
        at: crate::appeal::now_rfc3339(),
    };
    let moved: i64 = redis::Script::new(ADVANCE)
        .key(&receipt_key)
        .key(keys.key(crate::keyspace::DELIVERIES))
        .key(keys.key(crate::stream::Stream::Replies.name()))
        .key(keys.delivery(&reply_id))
        .arg(receipt.status.as_str())
        .arg(&receipt.id)
        .arg(serde_json::to_string(&receipt).unwrap_or_default())
        .arg(&reply_id)
        .invoke_async(conn)
        .await?;
    if moved == 2 {
        tracing::info!(reply_id = %reply_id, "reported failed; sent again to the next contact");
    }
    Ok(moved >= 1)
}
