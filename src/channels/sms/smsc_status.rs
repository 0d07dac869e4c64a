//! SMSC.kz delivery reports, read by polling its status request, as its HTTP API
//! documentation describes it (smsc.kz/api/http/status_messages/ "Проверка статуса" and
//! its "Ответ сервера и коды ошибок", status_messages/status_answer/; the English
//! edition smscentre.com/api/http/status_messages/ is the same API; SMSC's own PHP
//! library `smsc_api.php`, `get_status`, makes the same call):
//!
//! - `GET {GATEWAY_SMS_API_URL}/sys/status.php?login=…&psw=…&phone=…&id=…&fmt=3`
//!   (`phone` the number the message went to, `id` the `id` `send.php` gave);
//! - the answer `{"status", "last_date", "last_timestamp", "flag", "err"}`, or
//!   `{"error", "error_code"}` (1 parameters, 2 credentials, 4 IP blocked, 9 more than
//!   five requests for one message in a minute: each tried again at the next round).
//!
//! | `status` | SMSC says | the receipt |
//! | --- | --- | --- |
//! | -1, 0 | waiting to be sent, handed to the operator | stays `accepted`, asked again later |
//! | 1 | delivered | `delivered` |
//! | 2 | read (where the message type reports it) | `read` |
//! | 4 | the message's link was followed | `read` |
//! | 3 | expired | `failed`, `expired` |
//! | 20 | impossible to deliver | `failed`, `undeliverable` |
//! | 22 | wrong number | `failed`, `invalid_number` |
//! | 23 | prohibited | `failed`, `rejected_by_operator` |
//! | 24 | insufficient funds | `failed`, `insufficient_funds` |
//! | 25 | unavailable number | `failed`, `undeliverable` |
//!
//! The codes (and -3, "message not found": asked again until [`GIVE_UP_AFTER`]) were
//! checked against independent SMSC client libraries, which list the same table.
//!
//! Why a poll rather than SMSC's callback (the "status" POST to a handler URL set in the
//! account's settings, smsc.kz/api/http/miscellaneous/callback/): the callback is one
//! URL per account, set by hand, and the documents found give it no signature the
//! gateway could check, so any client could post a forged `failed` and send an answer
//! to the citizen's other route; the poll asks SMSC itself with the account's password.
//!
//! Which messages wait: a sorted set `<prefix>gateway:smsc-pending` in Redis, one
//! member per message taken (its id, the number, when it was sent), scored by when to
//! ask next. Every instance polls; one script hands each due member to one instance
//! (it moves the member's score a lease ahead), so a message is asked about once per
//! round whichever instance sent it, and one left by a stopped instance is asked again
//! after the lease. A final status goes through `notify::receipts::report`, the same
//! once-only move the Mobizon webhook uses. A message still waiting is asked again
//! later and later (a quarter of its age, between the poll interval and 30 minutes);
//! after [`GIVE_UP_AFTER`] (SMSC keeps trying a message for a day at most) it is
//! forgotten, its receipt staying `accepted`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::smsc::Smsc;
use crate::notify::receipts::{self, Report};
use crate::redis_handle::Redis;
use crate::supervisor::{Shutdown, every};

/// How long a message is asked about.
pub(crate) const GIVE_UP_AFTER: Duration = Duration::from_secs(2 * 24 * 3600);
/// How long an instance holds a message it is asking about.
const LEASE: Duration = Duration::from_secs(60);
/// Messages asked about per round and instance.
const BATCH: usize = 20;
/// The longest wait between two questions about one message.
const LONGEST_WAIT: Duration = Duration::from_secs(30 * 60);

/// A message SMSC took whose status the gateway waits for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Pending {
    pub(crate) id: String,
    pub(crate) phone: String,
    /// Unix seconds when it was sent.
    pub(crate) sent: u64,
}

/// What a status answer says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Polled {
    /// Final: the receipt moves.
    Final(Report),
    /// Not yet final, or the question failed: asked again later.
    Waiting,
}

/// SMSC's answer to `status.php` with `fmt=3`.
pub(crate) fn read_status(body: &serde_json::Value) -> Polled {
    if body.get("error_code").is_some() {
        return Polled::Waiting;
    }
    let report = match body["status"].as_i64() {
        Some(1) => Report::Delivered,
        // 4: the citizen followed the message's link: they read it.
        Some(2 | 4) => Report::Read,
        Some(3) => Report::Failed("expired"),
        Some(20 | 25) => Report::Failed("undeliverable"),
        Some(22) => Report::Failed("invalid_number"),
        Some(23) => Report::Failed("rejected_by_operator"),
        Some(24) => Report::Failed("insufficient_funds"),
        _ => return Polled::Waiting,
    };
    Polled::Final(report)
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn key(redis: &Redis) -> String {
    redis.keys().key("gateway:smsc-pending")
}

/// The poll: where the messages wait, and how often to ask.
#[derive(Clone)]
pub(crate) struct Poll {
    pub(crate) redis: Redis,
    pub(crate) interval: Duration,
}

impl Poll {
    /// Remembers a message SMSC just took, to ask about it after the interval.
    pub(crate) async fn watch(&self, id: &str, phone: &str) {
        let member = Pending {
            id: id.to_owned(),
            phone: phone.to_owned(),
            sent: now(),
        };
        let Ok(member) = serde_json::to_string(&member) else {
            return;
        };
        let added = match self.redis.conn().await {
            Ok(mut conn) => redis::cmd("ZADD")
                .arg(key(&self.redis))
                .arg(now() + self.interval.as_secs())
                .arg(member)
                .query_async::<i64>(&mut conn)
                .await
                .is_ok(),
            Err(_) => false,
        };
        if !added {
            tracing::warn!("smsc: a sent message will not be asked about (redis unavailable)");
        }
    }

    /// Asks about the due messages until the shutdown.
    pub(crate) async fn run(self, smsc: Smsc, shutdown: Shutdown) {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        every(self.interval, shutdown, || self.round(&smsc, &client)).await;
    }

    /// One round: the due messages, each asked once.
    async fn round(&self, smsc: &Smsc, client: &reqwest::Client) {
        let Ok(mut conn) = self.redis.conn().await else {
            return;
        };
        let now = now();
        let due: Vec<String> = match redis::Script::new(CLAIM)
            .key(key(&self.redis))
            .arg(now)
            .arg(now + LEASE.as_secs())
            .arg(BATCH)
            .invoke_async(&mut conn)
            .await
        {
            Ok(due) => due,
            Err(e) => {
                tracing::debug!(error_kind = ?e.kind(), "smsc: status poll skipped");
                return;
            }
        };
        for member in due {
            let Ok(pending) = serde_json::from_str::<Pending>(&member) else {
                let _: redis::RedisResult<i64> = redis::cmd("ZREM")
                    .arg(key(&self.redis))
                    .arg(&member)
                    .query_async(&mut conn)
                    .await;
                continue;
            };
            let polled = smsc.status(client, &pending.id, &pending.phone).await;
            let age = now.saturating_sub(pending.sent);
            let done = match polled {
                Polled::Final(report) => {
                    receipts::report(&mut conn, self.redis.keys(), "sms", &pending.id, report)
                        .await
                        .is_ok()
                }
                Polled::Waiting => age >= GIVE_UP_AFTER.as_secs(),
            };
            let next = (age / 4).clamp(self.interval.as_secs().max(1), LONGEST_WAIT.as_secs());
            let _: redis::RedisResult<i64> = if done {
                redis::cmd("ZREM")
                    .arg(key(&self.redis))
                    .arg(&member)
                    .query_async(&mut conn)
                    .await
            } else {
                redis::cmd("ZADD")
                    .arg(key(&self.redis))
                    .arg("XX")
                    .arg(now + next)
                    .arg(&member)
                    .query_async(&mut conn)
                    .await
            };
        }
    }
}

/// Hands the due members (`ARGV[1]` now, `ARGV[3]` at most) to the caller, moving each
/// a lease ahead (`ARGV[2]`) so that no other instance asks about it meanwhile.
const CLAIM: &str = r"
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, member in ipairs(due) do
  redis.call('ZADD', KEYS[1], ARGV[2], member)
end
return due
";

impl Smsc {
    /// Asks SMSC how the message `id` sent to `phone` stands.
    pub(crate) async fn status(&self, client: &reqwest::Client, id: &str, phone: &str) -> Polled {
        let url = format!("{}/sys/status.php", self.url.trim_end_matches('/'));
        let answer = client
            .get(url)
            .query(&[
                ("login", self.login.as_str()),
                ("psw", self.password.as_str()),
                ("phone", phone),
                ("id", id),
                ("fmt", "3"),
                ("charset", "utf-8"),
            ])
            .send()
            .await;
        let Ok(response) = answer else {
            return Polled::Waiting;
        };
        if !response.status().is_success() {
            return Polled::Waiting;
        }
        match response.json::<serde_json::Value>().await {
            Ok(body) => {
                if let Some(code) = body.get("error_code").and_then(serde_json::Value::as_i64) {
                    tracing::warn!(error_code = code, "smsc: status request refused");
                }
                read_status(&body)
            }
            Err(_) => Polled::Waiting,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn statuses_are_read_as_documented() {
        let answer = |status: i64| {
            read_status(
                &json!({"status": status, "last_date": "06.12.2026 11:42:08",
                                "last_timestamp": 1796550128, "flag": 0, "err": 0}),
            )
        };
        assert_eq!(answer(-1), Polled::Waiting);
        assert_eq!(answer(0), Polled::Waiting);
        assert_eq!(answer(1), Polled::Final(Report::Delivered));
        assert_eq!(answer(2), Polled::Final(Report::Read));
        assert_eq!(answer(4), Polled::Final(Report::Read));
        assert_eq!(answer(-3), Polled::Waiting);
        assert_eq!(answer(3), Polled::Final(Report::Failed("expired")));
        assert_eq!(answer(20), Polled::Final(Report::Failed("undeliverable")));
        assert_eq!(answer(22), Polled::Final(Report::Failed("invalid_number")));
        assert_eq!(
            answer(24),
            Polled::Final(Report::Failed("insufficient_funds"))
        );
        let busy = json!({"error": "duplicate request, wait a minute", "error_code": 9});
        assert_eq!(read_status(&busy), Polled::Waiting);
    }
}
