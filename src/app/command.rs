//! What the operators' one-shot commands (`analytics publish`, `retention sweep`,
//! `outbox drain`, `agents …`) share: reading `--at`, `REDIS_URL` and a runtime of their
//! own, each failure said in one line on stderr naming the command.

use crate::config::Config;
use crate::redis_target::RedisTarget;

/// `--at` (RFC 3339) or now; `None` (said on stderr) when it cannot be read.
pub(crate) fn at_time(command: &str, at: Option<&str>) -> Option<time::OffsetDateTime> {
    let Some(text) = at else {
        return Some(time::OffsetDateTime::now_utc());
    };
    let at = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339);
    if at.is_err() {
        eprintln!("appeal-gateway: {command}: --at is not an RFC 3339 time");
    }
    at.ok()
}

/// Where `REDIS_URL` points; `None` (said on stderr) when it cannot be read.
pub(crate) fn redis_target(config: &Config) -> Option<RedisTarget> {
    RedisTarget::parse(&config.redis_url)
        .map_err(|e| eprintln!("appeal-gateway: REDIS_URL: {e}"))
        .ok()
}

/// The Redis handle of a command: `REDIS_URL` and the prefix; `None` (said on stderr)
/// when the URL cannot be read.
pub(crate) fn redis(config: &Config) -> Option<crate::redis_handle::Redis> {
    let target = redis_target(config)?;
    Some(crate::redis_handle::Redis::new(
        Some(target),
        &config.stream_prefix,
    ))
}

/// A single-threaded runtime for one command; `None` (said on stderr) when it cannot be
/// built.
pub(crate) fn runtime(command: &str) -> Option<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| eprintln!("appeal-gateway: {command}: {e}"))
        .ok()
}
