//! The settings more than one channel reads, read once: whether cookies carry `Secure`
//! (the web form's session and the agents' consoles) and the limit of tracking-number
//! lookups (the status pages and Open311 test numbers the same way).

use std::sync::Arc;

use crate::http::ratelimit::{Limit, SharedCounters};

/// The channels' shared settings.
#[derive(Debug, Clone, serde::Deserialize)]
pub(crate) struct Settings {
    /// Whether the form session and agent session cookies carry `Secure`
    /// (`GATEWAY_COOKIE_SECURE`, default true; false only for plain-HTTP development).
    /// Not taken from the request's scheme: behind a TLS-terminating proxy every request
    /// arrives as HTTP.
    #[serde(
        default = "default_cookie_secure",
        deserialize_with = "crate::config::flag"
    )]
    pub(crate) cookie_secure: bool,
    /// Status page lookups per client address and minute
    /// (`GATEWAY_STATUS_RATE_PER_MINUTE`).
    #[serde(
        default = "default_status_rate",
        deserialize_with = "crate::config::number"
    )]
    pub(crate) status_rate_per_minute: u32,
}

fn default_cookie_secure() -> bool {
    true
}

fn default_status_rate() -> u32 {
    30
}

impl Settings {
    /// Every problem of these settings goes to `problems`.
    pub(crate) fn check(&self, problems: &mut Vec<String>) {
        if self.status_rate_per_minute == 0 || self.status_rate_per_minute > 100_000 {
            problems.push("GATEWAY_STATUS_RATE_PER_MINUTE: between 1 and 100000".to_owned());
        }
    }

    /// Tracking-number lookups per client (issue 17, point 7; issue 34): numbers are
    /// short, so guessing them must be slow. One limit for every way to test a number —
    /// `/status/…`, `/{lang}/received/…`, Open311 by id and by list.
    pub(crate) fn status_limiter(&self, shared: &Arc<SharedCounters>) -> Arc<Limit> {
        Arc::new(Limit::per_minute(
            "status-address",
            self.status_rate_per_minute,
            Some(Arc::clone(shared)),
        ))
    }
}
