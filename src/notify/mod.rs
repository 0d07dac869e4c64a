//! The notifier: the way back from the case system to the citizen.
//!
//! A consumer group `gateway` on `replies.v1`, shared by every gateway instance. Each
//! reply is delivered on the route the appeal named (`reply_to`), then on its fallback
//! contacts, with retries (exponential backoff with jitter); `XACK` only once a provider
//! accepted it or it is parked on `deadletter.v1`. The case system learns the outcome
//! from a receipt on `deliveries.v1`.
//!
//! **Acknowledgements.** The same group reads `gateway:acknowledgements`, where the
//! forwarder puts, with an appeal whose contact the citizen typed, the acknowledgement
//! that carries the tracking number and the code to confirm the contact
//! ([`acknowledgement`]); its receipt is `type: acknowledgement` on `deliveries.v1`.
//!
//! **Once per citizen.** A lease `<prefix>gateway:delivery:<reply id>` (SET NX with an
//! expiry) is taken before a send and turned into `done` after it, so two instances
//! never send the same reply, and one that claims a reply a dead instance left pending
//! (`XAUTOCLAIM` after `claim_timeout`) sends it only if it was not sent. The one window
//! left — a crash after the provider accepted and before `done` is written — can repeat
//! one message; nothing is ever lost.
//!
//! **The citizen's wishes.** Subject requests leave marks in
//! `<prefix>gateway:subject:<subject key>` (written with the request, see the outbox's
//! `Mark`): a withdrawal of consent stops everything; an opt-out stops informational
//! updates but not the answer to the appeal (see [`crate::reply::Reply::is_informational`]).
//! SMS waits out quiet hours (Almaty time) unless the reply is urgent.
//!
//! **Where Redis is.** Connections come from [`crate::redis_target`] (single server,
//! Sentinel, Cluster); the blocking `XREADGROUP` has a connection of its own. After a
//! failover the round fails, and the next connection reaches the new primary. Every key
//! is built by [`crate::keyspace`], so on a cluster they share the prefix's hash slot.

pub(crate) mod acknowledgement;
pub(crate) mod held;
pub(crate) mod lag;
pub(crate) mod receipts;
pub(crate) mod route;
pub(crate) mod split;
pub(crate) mod unconfirmed;

/// The working calendar, where the tests and the status page look for it.
pub use crate::deadline;

use std::time::Duration;

use rand::Rng;
use redis::AsyncCommands;

use crate::appeal::{self, ReplyChannel, ReplyTo};
use crate::normalize;
use crate::redis_target::{RedisConn, Timeouts};
use crate::reply::{Delivery, DeliveryStatus, Reply, Undeliverable};
use crate::stream::Stream;
use crate::subject::SubjectKeyer;
use route::{RouteError, Routes};

/// The consumer group of every gateway instance.
pub(crate) const GROUP: &str = "gateway";
/// Replies read at once.
const BATCH: usize = 16;
/// How long `done` markers and leases are remembered after delivery.
const DONE_TTL_SECS: u64 = 7 * 24 * 3600;

/// The notifier's settings.
#[derive(Debug, Clone)]
pub(crate) struct NotifierConfig {
    /// This instance's consumer name (stable across restarts, so it finds its own
    /// pending replies again).
    pub(crate) consumer: String,
    /// Idle time after which another instance takes over a pending reply.
    pub(crate) claim_timeout: Duration,
    /// Tries per route before falling back.
    pub(crate) max_attempts: u32,
    /// First retry delay; doubled each time, with up to 50 % jitter.
    pub(crate) retry_base: Duration,
    /// Base of the status page links, e.g. `https://open-almaty.kz`.
    pub(crate) public_url: String,
}

/// Delivers replies.
pub(crate) struct Notifier {
    /// The keys, and where the notifier's own connections go.
    pub(crate) redis: crate::redis_handle::Redis,
    pub(crate) routes: Routes,
    pub(crate) keyer: SubjectKeyer,
    pub(crate) config: NotifierConfig,
    /// Replies by route and outcome, dead letters, the group's lag.
    pub(crate) metrics: crate::metrics::Metrics,
}

use crate::redis_target::Fields;

fn field(fields: &Fields, name: &str) -> Option<String> {
    match fields.get(name)? {
        redis::Value::BulkString(bytes) => String::from_utf8(bytes.clone()).ok(),
        redis::Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    }
}

/// Whether `now` falls in the quiet hours `(from, to)`, Almaty time.
pub(crate) fn is_quiet(now: time::OffsetDateTime, quiet: Option<(u8, u8)>) -> bool {
    let Some((from, to)) = quiet else {
        return false;
    };
    let hour = now.to_offset(crate::clock::ALMATY).hour();
    if from <= to {
        (from..to).contains(&hour)
    } else {
        hour >= from || hour < to
    }
}

impl Notifier {
    fn key(&self, name: &str) -> String {
        self.keys().key(name)
    }

    fn keys(&self) -> &crate::keyspace::Keyspace {
        self.redis.keys()
    }

    /// Runs until `shutdown` turns true: the case system's replies, and the
    /// acknowledgements of appeals whose contact the citizen typed.
    pub(crate) async fn run(self, shutdown: tokio::sync::watch::Receiver<bool>) {
        let replies = self.key(Stream::Replies.name());
        let acknowledgements = self.key(Stream::Acknowledgements.name());
        tokio::spawn(lag::watch(
            self.redis.clone(),
            replies.clone(),
            GROUP,
            self.metrics.clone(),
            shutdown.clone(),
        ));
        tokio::join!(
            self.consume(&replies, Work::Replies, shutdown.clone()),
            self.consume(&acknowledgements, Work::Acknowledgements, shutdown),
        );
    }

    /// Reads `stream` in the group until `shutdown` turns true, reconnecting with
    /// backoff while Redis is away.
    async fn consume(
        &self,
        stream: &str,
        work: Work,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut backoff = Duration::from_millis(200);
        while !*shutdown.borrow() {
            let (mut reader, mut conn) = match self.connect(stream).await {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::debug!(error_kind = ?e.kind(), "notifier: redis unavailable");
                    tokio::select! {
                        () = tokio::time::sleep(backoff) => {}
                        _ = shutdown.changed() => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    continue;
                }
            };
            backoff = Duration::from_millis(200);
            loop {
                if *shutdown.borrow() {
                    return;
                }
                match self.round(stream, work, &mut reader, &mut conn).await {
                    Ok(()) => {}
                    Err(e) => {
                        tracing::warn!(error_kind = ?e.kind(), "notifier: redis error; reconnecting");
                        break;
                    }
                }
            }
        }
    }

    /// A connection for blocking reads and one for everything else (a blocking read
    /// would hold up commands queued behind it), and the group.
    async fn connect(&self, stream: &str) -> redis::RedisResult<(RedisConn, RedisConn)> {
        let reader = self.redis.connect_own(Timeouts::default()).await?;
        let mut conn = self.redis.connect_own(Timeouts::default()).await?;
        crate::redis_target::ensure_group(&mut conn, stream, GROUP).await?;
        Ok((reader, conn))
    }

    /// One round: entries a dead instance left, then new ones.
    async fn round(
        &self,
        stream: &str,
        work: Work,
        reader: &mut RedisConn,
        conn: &mut RedisConn,
    ) -> redis::RedisResult<()> {
        let group = crate::redis_target::Group {
            stream,
            group: GROUP,
            consumer: &self.config.consumer,
        };
        let entries = group
            .claim_or_read(conn, reader, self.config.claim_timeout, BATCH)
            .await?;
        let work = entries.into_iter().map(|(entry_id, fields)| {
            let mut conn = conn.clone();
            async move {
                match work {
                    Work::Replies => self.process(stream, &mut conn, &entry_id, &fields).await,
                    Work::Acknowledgements => {
                        self.acknowledge(stream, &mut conn, &entry_id, &fields)
                            .await
                    }
                }
            }
        });
        for result in futures_util::future::join_all(work).await {
            result?;
        }
        Ok(())
    }

    async fn process(
        &self,
        stream: &str,
        conn: &mut RedisConn,
        entry_id: &str,
        fields: &Fields,
    ) -> redis::RedisResult<()> {
        let reply_id = field(fields, "id").unwrap_or_else(|| entry_id.to_owned());
        let parsed = crate::reply::parse(
            field(fields, "type").as_deref(),
            field(fields, "data").as_deref(),
        );
        let reply = match parsed {
            Ok(reply) => reply,
            Err(detail) => {
                // The detail names a field and a rule, never a value: safe to log.
                tracing::warn!(reply_id = %reply_id, detail = %detail, "notifier: malformed reply parked");
                self.metrics
                    .replies_dead_lettered
                    .with_label_values(&["none", "malformed"])
                    .inc();
                self.park(conn, &reply_id, None, "malformed", Some(detail), 0)
                    .await?;
                return self.ack(conn, stream, entry_id).await;
            }
        };
        let lease_key = self.keys().delivery(&reply_id);
        let state: Option<String> = conn.get(&lease_key).await?;
        if state.as_deref() == Some("done") {
            return self.ack(conn, stream, entry_id).await;
        }
        if let Some(status) = reply.status {
            // What the status page and the bots' /status show (see `crate::status`).
            let key = self.key(&crate::status::key(&reply.tracking_number));
            let at = appeal::now_rfc3339();
            // `at:{status}`: the status page's history (see `crate::status`).
            let said = crate::status::history_field(status);
            let mut fields = vec![
                ("status", status.as_str().to_owned()),
                ("at", at.clone()),
                ("appeal_id", reply.id.clone()),
                (said.as_str(), at),
            ];
            if status == crate::reply::CaseStatus::Extended {
                fields.push(("extended", "1".to_owned()));
            }
            let _: () = conn.hset_multiple(&key, &fields).await?;
            let ttl = i64::try_from(crate::status::STATUS_TTL.as_secs()).unwrap_or(i64::MAX);
            let _: () = conn.expire(&key, ttl).await?;
        }
        if reply.notify == Some(false) {
            return self
                .finish(
                    conn,
                    stream,
                    entry_id,
                    &reply_id,
                    &reply,
                    Outcome::without_route(DeliveryStatus::Recorded),
                )
                .await;
        }
        if self.suppressed(conn, &reply).await? {
            tracing::info!(reply_id = %reply_id, "notifier: suppressed by the citizen's wish");
            return self
                .finish(
                    conn,
                    stream,
                    entry_id,
                    &reply_id,
                    &reply,
                    Outcome::without_route(DeliveryStatus::Suppressed),
                )
                .await;
        }
        let quiet_hours = self
            .routes
            .get(reply.reply_to.channel)
            .and_then(|route| route.quiet_hours());
        let quiet =
            reply.urgent != Some(true) && is_quiet(time::OffsetDateTime::now_utc(), quiet_hours);
        if quiet {
            // Left pending: taken up again after the claim timeout.
            return Ok(());
        }
        if !self.lease(conn, &lease_key, state.as_deref()).await? {
            // Another instance holds it.
            return Ok(());
        }
        let data = field(fields, "data").unwrap_or_default();
        let held = unconfirmed::Held {
            routes: &self.routes,
            public_url: &self.config.public_url,
            reply_id: &reply_id,
            data: &data,
        };
        let Some(reply) = unconfirmed::route_or_hold(conn, self.keys(), &held, &reply).await?
        else {
            let held = Outcome {
                status: DeliveryStatus::HeldUnconfirmed,
                channel: Some(route::name(reply.reply_to.channel)),
                attempts: 1,
                reason: None,
            };
            return self
                .finish(conn, stream, entry_id, &reply_id, &reply, held)
                .await;
        };
        let (outcome, channel, attempts) = self.deliver(conn, &reply_id, &reply).await;
        match outcome {
            Ok(status) => {
                tracing::info!(reply_id = %reply_id, channel, attempts, outcome = status.as_str(), "reply delivered");
                self.finish(
                    conn,
                    stream,
                    entry_id,
                    &reply_id,
                    &reply,
                    Outcome {
                        status,
                        channel: Some(channel),
                        attempts,
                        reason: None,
                    },
                )
                .await
            }
            Err(error) => {
                tracing::warn!(reply_id = %reply_id, channel, attempts, reason = error.reason(), "reply undeliverable");
                self.metrics
                    .replies_dead_lettered
                    .with_label_values(&[channel, crate::metrics::label(error.reason())])
                    .inc();
                self.park(
                    conn,
                    &reply_id,
                    Some(&reply.id),
                    error.reason(),
                    None,
                    attempts,
                )
                .await?;
                self.finish(
                    conn,
                    stream,
                    entry_id,
                    &reply_id,
                    &reply,
                    Outcome {
                        status: DeliveryStatus::Failed,
                        channel: Some(channel),
                        attempts,
                        reason: Some(error.reason()),
                    },
                )
                .await
            }
        }
    }

    /// Whether the citizen's wishes stop this reply.
    async fn suppressed(&self, conn: &mut RedisConn, reply: &Reply) -> redis::RedisResult<bool> {
        let Some(key) = subject_key(&self.keyer, &reply.reply_to) else {
            return Ok(false);
        };
        let marks: std::collections::HashMap<String, String> =
            conn.hgetall(self.keys().subject(&key)).await?;
        Ok(marks.contains_key("withdrawn")
            || (marks.contains_key("opted_out") && reply.is_informational()))
    }

    /// Tries the reply's route, then its fallbacks; returns the outcome, the last route
    /// tried and the number of attempts.
    async fn deliver(
        &self,
        conn: &mut RedisConn,
        reply_id: &str,
        reply: &Reply,
    ) -> (Result<DeliveryStatus, RouteError>, &'static str, u32) {
        let link = format!(
            "{}/status/{}",
            self.config.public_url.trim_end_matches('/'),
            reply.tracking_number
        );
        let session_open = self.session_window_open(conn, reply).await;
        let mut ctx = route::Context {
            status: reply.status,
            session_open,
            ..route::Context::new(
                reply_id,
                &reply.id,
                &reply.tracking_number,
                reply.language.unwrap_or(crate::appeal::Language::Kk),
                &link,
            )
        };
        let Some(text) = reply.text_for() else {
            return (
                Err(RouteError::Permanent("malformed")),
                route::name(reply.reply_to.channel),
                0,
            );
        };
        let mut attempts = 0;
        let mut last = Err(RouteError::Permanent("route_unavailable"));
        let mut channel = route::name(reply.reply_to.channel);
        let progress_key = self
            .keys()
            .key(&crate::keyspace::name::delivery_parts(reply_id));
        let targets: Vec<&ReplyTo> = std::iter::once(&reply.reply_to)
            .chain(&reply.fallback)
            .collect();
        'targets: for (index, target) in targets.iter().copied().enumerate() {
            channel = route::name(target.channel);
            let parts = match self.routes.get(target.channel).and_then(|r| r.max_text()) {
                Some(limit) => split::split(text, limit),
                None => vec![text.to_owned()],
            };
            // Parts this route already took (an instance stopped mid-answer): each
            // part is sent once.
            let done: Option<String> = conn.get(&progress_key).await.unwrap_or(None);
            let mut next = done
                .as_deref()
                .and_then(|d| d.strip_prefix(channel)?.strip_prefix(':')?.parse().ok())
                .unwrap_or(0usize);
            while next < parts.len() {
                ctx.part = (next + 1, parts.len());
                let (sent, tries) = self.send_retrying(target, &parts[next], &ctx).await;
                attempts += tries;
                last = sent;
                if last.is_err() {
                    continue 'targets;
                }
                next += 1;
                if parts.len() > 1 {
                    let _: redis::RedisResult<()> = conn
                        .set_ex(&progress_key, format!("{channel}:{next}"), DONE_TTL_SECS)
                        .await;
                }
            }
            if ctx.withheld.load(std::sync::atomic::Ordering::Relaxed) {
                let answer = held::HeldAnswer {
                    reply_id: reply_id.to_owned(),
                    appeal_id: reply.id.clone(),
                    tracking_number: reply.tracking_number.clone(),
                    status_name: ctx.status_name(),
                    text: text.to_owned(),
                    status_link: link.clone(),
                };
                let Some(subject) = subject_key(&self.keyer, target) else {
                    continue 'targets;
                };
                if held::hold(conn, self.keys(), &subject, &answer)
                    .await
                    .is_err()
                {
                    // Held nowhere: retried with the reply (the notice may repeat).
                    return (
                        Err(RouteError::Temporary("redis_unavailable")),
                        channel,
                        attempts,
                    );
                }
                return (Ok(DeliveryStatus::Notified), channel, attempts);
            }
            if self
                .routes
                .get(target.channel)
                .is_some_and(|route| route.delivered_on_send())
            {
                return (Ok(DeliveryStatus::Delivered), channel, attempts);
            }
            let provider_ids = ctx
                .provider_ids
                .lock()
                .map(|ids| ids.clone())
                .unwrap_or_default();
            let sent = receipts::Sent {
                reply_id,
                reply,
                route: channel,
                attempts,
                provider_ids: &provider_ids,
                rest: targets.get(index + 1..).unwrap_or_default(),
            };
            if let Err(e) = receipts::track_sent(conn, self.keys(), &sent).await {
                // The answer went out; only its later report will find nothing.
                tracing::warn!(reply_id = %reply_id, error_kind = ?e.kind(), "notifier: receipt not kept for the provider's report");
            }
            return (Ok(DeliveryStatus::Accepted), channel, attempts);
        }
        let last = match last {
            Err(RouteError::Temporary(_)) => Err(RouteError::Permanent("retries_exhausted")),
            other => other.map(|()| DeliveryStatus::Delivered),
        };
        (last, channel, attempts)
    }

    /// Whether the citizen wrote on the reply's channel recently (the mark a channel
    /// leaves, see [`route::session_window_key`]).
    async fn session_window_open(&self, conn: &mut RedisConn, reply: &Reply) -> bool {
        let Some(key) = subject_key(&self.keyer, &reply.reply_to) else {
            return false;
        };
        let window = route::session_window_key(reply.reply_to.channel, &key);
        let exists: redis::RedisResult<bool> = conn.exists(self.key(&window)).await;
        exists.unwrap_or(false)
    }

    /// Takes the lease `key` (its value `state` before) for this instance, for the claim
    /// timeout: whether this instance may send — the lease was free or is its own.
    async fn lease(
        &self,
        conn: &mut RedisConn,
        key: &str,
        state: Option<&str>,
    ) -> redis::RedisResult<bool> {
        let taken: Option<String> = redis::cmd("SET")
            .arg(key)
            .arg(&self.config.consumer)
            .arg("NX")
            .arg("PX")
            .arg(self.config.claim_timeout.as_millis() as u64)
            .query_async(conn)
            .await?;
        Ok(taken.is_some() || state == Some(self.config.consumer.as_str()))
    }

    /// Sends `text` to `to`, retrying a temporary failure up to `max_attempts` times
    /// with backoff; returns the last outcome and the attempts made.
    async fn send_retrying(
        &self,
        to: &ReplyTo,
        text: &str,
        ctx: &route::Context<'_>,
    ) -> (Result<(), RouteError>, u32) {
        let mut attempt = 0;
        loop {
            let sent = self.routes.send(to, text, ctx).await;
            attempt += 1;
            match sent {
                Err(RouteError::Temporary(_)) if attempt < self.config.max_attempts => {
                    tokio::time::sleep(self.retry_delay(attempt - 1)).await;
                }
                other => return (other, attempt),
            }
        }
    }

    fn retry_delay(&self, attempt: u32) -> Duration {
        let base = self.config.retry_base * 2u32.saturating_pow(attempt);
        let jitter = rand::rng().random_range(0.0..0.5);
        base.mul_f64(1.0 + jitter)
    }

    async fn park(
        &self,
        conn: &mut RedisConn,
        reply_id: &str,
        appeal_id: Option<&str>,
        reason: &str,
        detail: Option<String>,
        attempts: u32,
    ) -> redis::RedisResult<()> {
        let message = Undeliverable {
            schema_version: appeal::SCHEMA_VERSION,
            id: ulid::Ulid::new().to_string(),
            reply_id: reply_id.to_owned(),
            appeal_id: appeal_id.map(str::to_owned),
            reason: reason.to_owned(),
            detail,
            attempts,
            at: appeal::now_rfc3339(),
        };
        self.add(
            conn,
            Stream::Deadletter.name(),
            &message.id,
            "undeliverable",
            &message,
        )
        .await
    }

    async fn finish(
        &self,
        conn: &mut RedisConn,
        stream: &str,
        entry_id: &str,
        reply_id: &str,
        reply: &Reply,
        outcome: Outcome,
    ) -> redis::RedisResult<()> {
        let Outcome {
            status,
            channel,
            attempts,
            reason,
        } = outcome;
        let receipt = Delivery {
            schema_version: appeal::SCHEMA_VERSION,
            id: ulid::Ulid::new().to_string(),
            reply_id: reply_id.to_owned(),
            appeal_id: reply.id.clone(),
            status,
            channel: channel.map(str::to_owned),
            attempts,
            reason: reason.map(str::to_owned),
            at: appeal::now_rfc3339(),
        };
        self.add(conn, DELIVERIES, &receipt.id, "delivery", &receipt)
            .await?;
        let route = channel.unwrap_or(route::name(reply.reply_to.channel));
        self.metrics
            .replies
            .with_label_values(&[route, status.as_str()])
            .inc();
        if status == DeliveryStatus::HeldUnconfirmed {
            // Sent again, under the same id, once the contact is confirmed.
            let _: () = conn.del(self.keys().delivery(reply_id)).await?;
        } else {
            let _: () = conn
                .set_ex(self.keys().delivery(reply_id), "done", DONE_TTL_SECS)
                .await?;
        }
        self.ack(conn, stream, entry_id).await
    }

    async fn add<T: serde::Serialize>(
        &self,
        conn: &mut RedisConn,
        stream: &str,
        id: &str,
        kind: &str,
        message: &T,
    ) -> redis::RedisResult<()> {
        let data = serde_json::to_string(message).unwrap_or_default();
        redis::cmd("XADD")
            .arg(self.key(stream))
            .arg("*")
            .arg("id")
            .arg(id)
            .arg("type")
            .arg(kind)
            .arg("data")
            .arg(data)
            .query_async::<String>(conn)
            .await?;
        Ok(())
    }

    async fn ack(
        &self,
        conn: &mut RedisConn,
        stream: &str,
        entry_id: &str,
    ) -> redis::RedisResult<()> {
        let _: i64 = conn.xack(stream, GROUP, &[entry_id]).await?;
        Ok(())
    }
}

/// What a stream the notifier reads carries.
#[derive(Debug, Clone, Copy)]
enum Work {
    /// `replies.v1`: the case system's answers.
    Replies,
    /// `gateway:acknowledgements`: appeals to acknowledge ([`acknowledgement`]).
    Acknowledgements,
}

/// What the notifier did with a reply, as its receipt says it.
struct Outcome {
    status: DeliveryStatus,
    /// The route that carried it or was tried last.
    channel: Option<&'static str>,
    attempts: u32,
    /// Why it failed, a code (`failed` only).
    reason: Option<&'static str>,
}

impl Outcome {
    /// Nothing was sent: no route, no attempt.
    fn without_route(status: DeliveryStatus) -> Outcome {
        Outcome {
            status,
            channel: None,
            attempts: 0,
            reason: None,
        }
    }
}

/// The stream of delivery receipts (an addition to the contract).
pub(crate) const DELIVERIES: &str = crate::keyspace::DELIVERIES;

/// The subject key of a reply address, as subject requests compute it.
pub(crate) fn subject_key(keyer: &SubjectKeyer, to: &ReplyTo) -> Option<String> {
    let (kind, value) = match to.channel {
        ReplyChannel::Email => ("email", normalize::email(&to.address).ok()?),
        ReplyChannel::Sms | ReplyChannel::Whatsapp => {
            ("phone", normalize::phone(&to.address).ok()?)
        }
        ReplyChannel::Telegram => ("messenger_id", format!("telegram:{}", to.address)),
    };
    let ids = crate::subject::Identifiers {
        phone: (kind == "phone").then(|| value.clone()),
        email: (kind == "email").then(|| value.clone()),
        messenger_id: (kind == "messenger_id").then(|| value.clone()),
        iin: None,
    };
    keyer.keys(&ids).remove(kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_hours_are_almaty_time() {
        let quiet = Some((22, 8));
        // 17:30 UTC is 22:30 in Almaty.
        assert!(is_quiet(
            time::macros::datetime!(2026-11-25 17:30 UTC),
            quiet
        ));
        // 03:00 UTC is 08:00 in Almaty: quiet hours are over.
        assert!(!is_quiet(
            time::macros::datetime!(2026-11-25 03:00 UTC),
            quiet
        ));
        assert!(is_quiet(
            time::macros::datetime!(2026-11-25 02:59 UTC),
            quiet
        ));
        assert!(!is_quiet(
            time::macros::datetime!(2026-11-25 17:30 UTC),
            None
        ));
    }
}
