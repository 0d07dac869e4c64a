//! Rate limits counted across every gateway instance: the citizen forms' POSTs (per
//! form session and per address), the status lookup (per address) and the agent login
//! (per address). Behind a round-robin balancer a limit counted by each instance alone
//! would let N instances take N times the limit.
//!
//! **In Redis** ([`crate::keyspace`]): `gateway:rate:<limit>:<subject>` holds the
//! limit's "theoretical arrival time" of the Generic Cell Rate Algorithm (the one
//! `governor` runs in memory): `n` a minute means a burst of `n`, then one more every
//! `60/n` s. One script reads Redis's own clock (`TIME`, so the instances' clocks do
//! not matter), decides, and moves the time on; the key expires when that time passes.
//! `<subject>` is an HMAC-SHA256 (key derived from `GATEWAY_SUBJECT_KEY_SECRET`) of the
//! client address or the form session: Redis holds no address and no session id.
//! Unlike a fixed window, a burst cannot double at a minute's boundary.
//!
//! **Redis away** (no answer within [`crate::redis_handle::PAGE_WAIT`]): each instance falls back to its own
//! in-memory limit of the same quota (`governor`, MIT; not `actix-governor`, which is
//! GPL), so a flood meets N times the limit at most, and citizens are never refused
//! because Redis is down.
//!
//! The address is the client's, from [`super::client_addr`]: the peer, or the
//! `X-Forwarded-For` entry a trusted proxy (`GATEWAY_TRUSTED_PROXIES`) added.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use crate::mac::hmac;
use governor::clock::DefaultClock;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use crate::keyspace::name;
use crate::redis_handle::{PAGE_WAIT, Redis};

/// GCRA over Redis's clock. `KEYS[1]` the subject's key; ARGV: the emission interval (µs),
/// the burst and the cost (how many units this request takes, e.g. the ids of one
/// lookup). Returns 1 (allowed, counted) or 0 (refused, nothing written).
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local next_tat = tat + interval * tonumber(ARGV[3] or '1')
if next_tat - now > interval * tonumber(ARGV[2]) then return 0 end
redis.call('SET', KEYS[1], string.format('%.0f', next_tat), 'PX', math.ceil((next_tat - now) / 1000))
return 1
";

/// The Redis side every shared limit (and the login throttle) uses: one lazy
/// connection, the keyspace and the key of the subjects' HMAC.
pub(crate) struct SharedCounters {
    redis: Redis,
    key: [u8; 32],
}

impl SharedCounters {
    /// `secret`: the subject key secret, from which the HMAC key is derived.
    pub(crate) fn new(redis: &Redis, secret: &[u8]) -> Arc<Self> {
        Arc::new(SharedCounters {
            redis: redis.waiting(PAGE_WAIT),
            key: hmac(secret, b"open-almaty shared limits v1"),
        })
    }

    /// The HMAC (hex) of a subject, under one limit's label.
    pub(crate) fn subject(&self, label: &str, raw: &str) -> String {
        let mut data = Vec::with_capacity(label.len() + raw.len() + 1);
        data.extend_from_slice(label.as_bytes());
        data.push(0);
        data.extend_from_slice(raw.as_bytes());
        hex::encode(hmac(&self.key, &data))
    }

    /// The full key of a name from [`crate::keyspace::name`].
    pub(crate) fn key(&self, name: &str) -> String {
        self.redis.keys().key(name)
    }

    /// Runs a one-key script with integer arguments; `None` when Redis does not answer
    /// in time.
    pub(crate) async fn eval(
        &self,
        script: &redis::Script,
        key: &str,
        args: &[u64],
    ) -> Option<i64> {
        let mut conn = self.redis.conn().await.ok()?;
        let mut invocation = script.key(key);
        for arg in args {
            invocation.arg(*arg);
        }
        let answer = invocation.invoke_async::<i64>(&mut conn);
        match tokio::time::timeout(self.redis.wait(), answer).await {
            Ok(Ok(n)) => Some(n),
            Ok(Err(e)) => {
                // Redis answered with an error (not an outage): say so, or the fallback
                // would hide it. The error names no key and no subject.
                if !e.is_io_error() && !e.is_timeout() && !e.is_connection_dropped() {
                    tracing::warn!(kind = ?e.kind(), "shared limit refused by Redis: this instance counts alone");
                }
                self.redis.reset().await;
                None
            }
            Err(_) => {
                self.redis.reset().await;
                None
            }
        }
    }

    /// Deletes a key; false when Redis does not answer.
    pub(crate) async fn delete(&self, key: &str) -> bool {
        let Some(mut conn) = self.redis.conn().await.ok() else {
            return false;
        };
        let mut cmd = redis::cmd("DEL");
        cmd.arg(key);
        let done = cmd.query_async::<i64>(&mut conn);
        if matches!(
            tokio::time::timeout(self.redis.wait(), done).await,
            Ok(Ok(_))
        ) {
            true
        } else {
            self.redis.reset().await;
            false
        }
    }
}

/// `n` a minute per subject, with a burst of `n`: in Redis for every instance, else in
/// this instance's memory.
pub(crate) struct Limit {
    /// The limit's name in its keys (`form-session`, `form-address`, …).
    name: &'static str,
    per_minute: u32,
    local: RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock>,
    shared: Option<Arc<SharedCounters>>,
}

impl Limit {
    pub(crate) fn per_minute(
        name: &'static str,
        n: u32,
        shared: Option<Arc<SharedCounters>>,
    ) -> Limit {
        let n = NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
        Limit {
            name,
            per_minute: n.get(),
            local: RateLimiter::keyed(Quota::per_minute(n)),
            shared,
        }
    }

    /// True when `subject` may go on now (and counts it).
    pub(crate) async fn allow(&self, subject: &str) -> bool {
        self.allow_n(subject, 1).await
    }

    /// True when `subject` may go on now with `cost` units at once (and counts them
    /// all): a lookup of ten tracking numbers is ten lookups. A cost beyond the burst is
    /// never allowed.
    pub(crate) async fn allow_n(&self, subject: &str, cost: u32) -> bool {
        let cost = NonZeroU32::new(cost).unwrap_or(NonZeroU32::MIN);
        if let Some(shared) = &self.shared {
            let key = shared.key(&name::rate(self.name, &shared.subject(self.name, subject)));
            let interval_us = 60_000_000 / u64::from(self.per_minute);
            let args = [
                interval_us.max(1),
                u64::from(self.per_minute),
                u64::from(cost.get()),
            ];
            if let Some(allowed) = shared.eval(&redis::Script::new(GCRA), &key, &args).await {
                return allowed == 1;
            }
        }
        let allowed = matches!(
            self.local.check_key_n(&subject.to_owned(), cost),
            Ok(Ok(()))
        );
        if self.local.len() > 100_000 {
            self.local.retain_recent();
        }
        allowed
    }

    /// [`Limit::allow`] for a client address (`None`: one shared bucket).
    pub(crate) async fn allow_address(&self, address: Option<IpAddr>) -> bool {
        self.allow_address_n(address, 1).await
    }

    /// [`Limit::allow_n`] for a client address (`None`: one shared bucket).
    pub(crate) async fn allow_address_n(&self, address: Option<IpAddr>, cost: u32) -> bool {
        let address = address.unwrap_or(IpAddr::from([0, 0, 0, 0]));
        self.allow_n(&address.to_string(), cost).await
    }
}

/// The citizen forms' limits (issue 18, point 9): per form session (the signed
/// `oa_sid`, which only the server issues) and, higher, per address. Ten forms a minute
/// per address blocked a neighbourhood behind one carrier NAT address; now each phone
/// has its own session's quota, and the address's ceiling only stops a flood.
pub(crate) struct FormLimits {
    sessions: Limit,
    addresses: Limit,
}

impl FormLimits {
    /// `per_session` and `per_address` submissions a minute.
    pub(crate) fn per_minute(
        per_session: u32,
        per_address: u32,
        shared: Option<Arc<SharedCounters>>,
    ) -> FormLimits {
        FormLimits {
            sessions: Limit::per_minute("form-session", per_session, shared.clone()),
            addresses: Limit::per_minute("form-address", per_address.max(per_session), shared),
        }
    }

    /// True when this session (if any) and this address may submit now; counts the
    /// submission against both.
    pub(crate) async fn allow(&self, address: Option<IpAddr>, session: Option<&str>) -> bool {
        let session_ok = match session {
            Some(sid) => self.sessions.allow(sid).await,
            None => true,
        };
        // A refused session does not use up its neighbours' address quota.
        session_ok && self.addresses.allow_address(address).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sessions_behind_one_address_each_get_their_quota_under_the_address_ceiling() {
        let limits = FormLimits::per_minute(2, 5, None);
        let nat = Some(IpAddr::from([100, 64, 0, 1]));
        assert!(limits.allow(nat, Some("a")).await);
        assert!(limits.allow(nat, Some("a")).await);
        assert!(!limits.allow(nat, Some("a")).await, "the session's quota");
        assert!(limits.allow(nat, Some("b")).await);
        assert!(limits.allow(nat, Some("b")).await);
        assert!(limits.allow(nat, Some("c")).await);
        assert!(!limits.allow(nat, Some("d")).await, "the address's ceiling");
        assert!(
            limits
                .allow(Some(IpAddr::from([10, 0, 0, 9])), Some("d"))
                .await
        );
    }

    #[tokio::test]
    async fn an_address_gets_its_quota_and_no_more() {
        let limit = Limit::per_minute("t", 2, None);
        let a = Some(IpAddr::from([10, 0, 0, 1]));
        let b = Some(IpAddr::from([10, 0, 0, 2]));
        assert!(limit.allow_address(a).await);
        assert!(limit.allow_address(a).await);
        assert!(!limit.allow_address(a).await);
        assert!(limit.allow_address(b).await);
    }

    #[tokio::test]
    async fn a_lookup_of_many_counts_each() {
        let limit = Limit::per_minute("t", 10, None);
        let a = Some(IpAddr::from([10, 0, 0, 1]));
        assert!(limit.allow_address_n(a, 7).await);
        assert!(!limit.allow_address_n(a, 4).await, "7 + 4 > 10");
        assert!(limit.allow_address_n(a, 3).await);
        assert!(!limit.allow_address(a).await);
        assert!(
            !limit
                .allow_address_n(Some(IpAddr::from([10, 0, 0, 2])), 11)
                .await
        );
    }

    #[tokio::test]
    async fn with_redis_unreachable_each_instance_counts_alone() {
        // Nothing listens on port 1: the shared count does not answer, the local one
        // decides.
        let target = crate::redis_target::RedisTarget::parse("redis://127.0.0.1:1").ok();
        let shared = SharedCounters::new(&Redis::new(target, "t:"), b"secret-of-sixteen-bytes");
        let limit = Limit::per_minute("t", 1, Some(shared));
        assert!(limit.allow("x").await);
        assert!(!limit.allow("x").await);
    }

    #[test]
    fn subjects_are_keyed_hashes_per_limit() {
        let shared = SharedCounters::new(&Redis::new(None, "t:"), b"secret-of-sixteen-bytes");
        let a = shared.subject("form-address", "10.0.0.1");
        assert_eq!(a.len(), 64);
        assert!(!a.contains("10.0.0.1"));
        assert_ne!(a, shared.subject("status-address", "10.0.0.1"));
        let other = SharedCounters::new(&Redis::new(None, "t:"), b"another-secret-of-bytes");
        assert_ne!(a, other.subject("form-address", "10.0.0.1"));
    }
}
