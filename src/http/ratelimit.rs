//! A per-address rate limit of the citizen forms' POSTs (`governor`, MIT; not
//! `actix-governor`, which is GPL). The key is the connection's peer address: a
//! forwarded-for header is not trusted, since anyone can send one; behind a proxy the
//! limit is the proxy's job or needs a list of trusted proxies.

use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::clock::DefaultClock;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

/// Form submissions allowed per address and minute, with a burst of the same size.
pub(crate) struct FormLimiter {
    limiter: RateLimiter<IpAddr, DefaultKeyedStateStore<IpAddr>, DefaultClock>,
}

impl FormLimiter {
    pub(crate) fn per_minute(n: u32) -> FormLimiter {
        let n = NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
        FormLimiter {
            limiter: RateLimiter::keyed(Quota::per_minute(n)),
        }
    }

    /// True when this address may submit now (and counts the submission).
    pub(crate) fn allow(&self, address: Option<IpAddr>) -> bool {
        let key = address.unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let allowed = self.limiter.check_key(&key).is_ok();
        if self.limiter.len() > 100_000 {
            self.limiter.retain_recent();
        }
        allowed
    }
}

/// The citizen forms' limits (issue 18, point 9): per form session (the signed
/// `oa_sid`, which only the server issues) and, higher, per address. Ten forms a minute
/// per address blocked a neighbourhood behind one carrier NAT address; now each phone
/// has its own session's quota, and the address's ceiling only stops a flood.
pub(crate) struct FormLimits {
    sessions: RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock>,
    addresses: FormLimiter,
}

impl FormLimits {
    /// `per_session` and `per_address` submissions a minute.
    pub(crate) fn per_minute(per_session: u32, per_address: u32) -> FormLimits {
        let n = NonZeroU32::new(per_session).unwrap_or(NonZeroU32::MIN);
        FormLimits {
            sessions: RateLimiter::keyed(Quota::per_minute(n)),
            addresses: FormLimiter::per_minute(per_address.max(per_session)),
        }
    }

    /// True when this session (if any) and this address may submit now; counts the
    /// submission against both.
    pub(crate) fn allow(&self, address: Option<IpAddr>, session: Option<&str>) -> bool {
        let session_ok = match session {
            Some(sid) => {
                let ok = self.sessions.check_key(&sid.to_owned()).is_ok();
                if self.sessions.len() > 100_000 {
                    self.sessions.retain_recent();
                }
                ok
            }
            None => true,
        };
        // A refused session does not use up its neighbours' address quota.
        session_ok && self.addresses.allow(address)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_behind_one_address_each_get_their_quota_under_the_address_ceiling() {
        let limits = FormLimits::per_minute(2, 5);
        let nat = Some(IpAddr::from([100, 64, 0, 1]));
        assert!(limits.allow(nat, Some("a")));
        assert!(limits.allow(nat, Some("a")));
        assert!(!limits.allow(nat, Some("a")), "the session's quota");
        assert!(limits.allow(nat, Some("b")));
        assert!(limits.allow(nat, Some("b")));
        assert!(limits.allow(nat, Some("c")));
        assert!(!limits.allow(nat, Some("d")), "the address's ceiling");
        assert!(limits.allow(Some(IpAddr::from([10, 0, 0, 9])), Some("d")));
    }

    #[test]
    fn an_address_gets_its_quota_and_no_more() {
        let limiter = FormLimiter::per_minute(2);
        let a = Some(IpAddr::from([10, 0, 0, 1]));
        let b = Some(IpAddr::from([10, 0, 0, 2]));
        assert!(limiter.allow(a));
        assert!(limiter.allow(a));
        assert!(!limiter.allow(a));
        assert!(limiter.allow(b));
    }
}
