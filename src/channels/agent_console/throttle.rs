//! Failed agent logins slow down the next try of the same id from the same address, with
//! a delay that doubles at each further failure (issue 17, point 5). It replaces the
//! account lock that anyone who knew an agent's id could trigger from anywhere: here a
//! guesser only slows himself, and the agent at her own desk logs in as usual.
//!
//! The throttle knows nothing of which ids exist: an unknown id is throttled exactly
//! like a known one, so the answers do not tell them apart.
//!
//! **Shared by every instance**: `gateway:login-throttle:<HMAC of id and address>`
//! ([`crate::keyspace`]) is a hash `failures`, `not_before` (ms, Redis's clock), expiring
//! twice [`MAX_DELAY`] after the last failure (a pair quiet that long starts afresh);
//! a guesser spreading his tries over the instances behind the balancer is slowed as
//! one. A successful login deletes it. **Redis away**: each instance counts in its own
//! memory, from zero (the same rule, per instance).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::http::ratelimit::SharedCounters;
use crate::keyspace::name;

/// `KEYS[1]` the pair. Returns the ms to wait before the next try (0: go).
const CHECK: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local nb = tonumber(redis.call('HGET', KEYS[1], 'not_before') or '0')
if nb > now then return nb - now end
return 0
";

/// `KEYS[1]` the pair; ARGV: free failures, first delay, longest delay, keep (ms).
/// Counts a failure; returns the delay (ms) before the next try.
const FAILED: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
local free = tonumber(ARGV[1])
local delay = 0
if failures >= free then
  delay = math.min(tonumber(ARGV[2]) * 2 ^ math.min(failures - free, 20), tonumber(ARGV[3]))
end
redis.call('HSET', KEYS[1], 'not_before', string.format('%.0f', now + delay))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return delay
";

/// The throttle: in Redis for every instance, in memory while Redis is away.
pub(crate) struct SharedThrottle {
    shared: Option<Arc<SharedCounters>>,
    local: LoginThrottle,
}

impl SharedThrottle {
    pub(crate) fn new(shared: Option<Arc<SharedCounters>>) -> SharedThrottle {
        SharedThrottle {
            shared,
            local: LoginThrottle::default(),
        }
    }

    fn pair_key(shared: &SharedCounters, id: &str, address: Option<IpAddr>) -> String {
        let (id, address) = key(id, address);
        let subject = shared.subject("login-throttle", &format!("{id}\n{address}"));
        shared.key(&name::login_throttle(&subject))
    }

    /// `Err(wait)` while this id may not be tried from this address.
    pub(crate) async fn check(&self, id: &str, address: Option<IpAddr>) -> Result<(), Duration> {
        if let Some(shared) = &self.shared {
            let key = Self::pair_key(shared, id, address);
            if let Some(wait) = shared.eval(&redis::Script::new(CHECK), &key, &[]).await {
                return match u64::try_from(wait) {
                    Ok(ms) if ms > 0 => Err(Duration::from_millis(ms)),
                    _ => Ok(()),
                };
            }
        }
        self.local.check(id, address)
    }

    /// Counts a failure; returns the delay before the next try.
    pub(crate) async fn failed(&self, id: &str, address: Option<IpAddr>) -> Duration {
        if let Some(shared) = &self.shared {
            let key = Self::pair_key(shared, id, address);
            let args = [
                u64::from(FREE_FAILURES),
                FIRST_DELAY.as_millis() as u64,
                MAX_DELAY.as_millis() as u64,
                (MAX_DELAY * 2).as_millis() as u64,
            ];
            if let Some(delay) = shared.eval(&redis::Script::new(FAILED), &key, &args).await {
                return Duration::from_millis(u64::try_from(delay).unwrap_or(0));
            }
        }
        self.local.failed(id, address)
    }

    /// A successful login clears the pair (here and in Redis).
    pub(crate) async fn succeeded(&self, id: &str, address: Option<IpAddr>) {
        if let Some(shared) = &self.shared {
            shared.delete(&Self::pair_key(shared, id, address)).await;
        }
        self.local.succeeded(id, address);
    }
}

/// Failures of one id from one address before any delay.
pub(crate) const FREE_FAILURES: u32 = 3;
/// The first delay; each further failure doubles it.
pub(crate) const FIRST_DELAY: Duration = Duration::from_secs(2);
/// The longest delay.
pub(crate) const MAX_DELAY: Duration = Duration::from_secs(15 * 60);
/// Pairs remembered before the forgotten ones are swept.
const SWEEP_ABOVE: usize = 50_000;

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    /// No attempt is checked before this.
    not_before: Instant,
    last: Instant,
}

/// The failed logins of (agent id, client address) pairs.
#[derive(Default)]
pub(crate) struct LoginThrottle {
    entries: Mutex<HashMap<(String, IpAddr), Entry>>,
}

/// The delay after `failures` failures in a row.
pub(crate) fn delay_after(failures: u32) -> Duration {
    if failures < FREE_FAILURES {
        return Duration::ZERO;
    }
    let doublings = (failures - FREE_FAILURES).min(20);
    FIRST_DELAY.saturating_mul(1 << doublings).min(MAX_DELAY)
}

fn key(id: &str, address: Option<IpAddr>) -> (String, IpAddr) {
    (id.to_owned(), address.unwrap_or(IpAddr::from([0, 0, 0, 0])))
}

impl LoginThrottle {
    /// `Err(wait)` while this id may not be tried from this address.
    pub(crate) fn check(&self, id: &str, address: Option<IpAddr>) -> Result<(), Duration> {
        let now = Instant::now();
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        match entries.get(&key(id, address)) {
            Some(e) if e.not_before > now => Err(e.not_before - now),
            _ => Ok(()),
        }
    }

    /// Counts a failure; returns the delay before the next try.
    pub(crate) fn failed(&self, id: &str, address: Option<IpAddr>) -> Duration {
        let now = Instant::now();
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() > SWEEP_ABOVE {
            // A pair quiet for twice the longest delay starts afresh.
            entries.retain(|_, e| now.duration_since(e.last) < MAX_DELAY * 2);
        }
        let entry = entries.entry(key(id, address)).or_insert(Entry {
            failures: 0,
            not_before: now,
            last: now,
        });
        if now.duration_since(entry.last) >= MAX_DELAY * 2 {
            entry.failures = 0;
        }
        entry.failures += 1;
        entry.last = now;
        let delay = delay_after(entry.failures);
        entry.not_before = now + delay;
        delay
    }

    /// A successful login clears the pair.
    pub(crate) fn succeeded(&self, id: &str, address: Option<IpAddr>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.remove(&key(id, address));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_start_after_the_free_failures_and_double_up_to_the_cap() {
        assert_eq!(delay_after(FREE_FAILURES - 1), Duration::ZERO);
        assert_eq!(delay_after(FREE_FAILURES), FIRST_DELAY);
        assert_eq!(delay_after(FREE_FAILURES + 1), FIRST_DELAY * 2);
        assert_eq!(delay_after(FREE_FAILURES + 2), FIRST_DELAY * 4);
        assert_eq!(delay_after(1000), MAX_DELAY);
    }

    #[test]
    fn a_guesser_slows_only_his_own_address_and_ids_alike() {
        let throttle = LoginThrottle::default();
        let guesser = Some(IpAddr::from([10, 0, 0, 66]));
        let desk = Some(IpAddr::from([10, 0, 0, 7]));
        for _ in 0..FREE_FAILURES {
            assert!(throttle.check("aigerim", guesser).is_ok());
            throttle.failed("aigerim", guesser);
        }
        assert!(throttle.check("aigerim", guesser).is_err());
        assert!(
            throttle.check("aigerim", desk).is_ok(),
            "the agent's desk is not locked out"
        );
        for _ in 0..FREE_FAILURES {
            throttle.failed("nobody-such", guesser);
        }
        assert!(
            throttle.check("nobody-such", guesser).is_err(),
            "unknown ids alike"
        );
        throttle.succeeded("aigerim", guesser);
        assert!(throttle.check("aigerim", guesser).is_ok());
    }
}
