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

#[cfg(test)]
mod tests {
    use super::*;

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
