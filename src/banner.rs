//! The city-wide banner (issue 29, point 4): a time-bounded notice an operator sets —
//! "the water is off in Bostandyk district until 18:00, no need to report it" — shown at
//! the top of the forms and the status page, sent once to a bot conversation that starts
//! while it is up, and given to integrators (`GET /api/v1/banner`, Open311's
//! `service_notice`).
//!
//! It lives in Redis (`gateway:banner`, expiring at its end), so every instance shows
//! the one an operator set anywhere (`appeal-gateway banner set|clear|show`). Each
//! instance reads it at most every [`REFRESH`] and keeps the last one it read while Redis
//! is away, up to its end.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::appeal::Language;
use crate::redis_handle::{Redis, Unavailable};

/// How long an instance shows the banner it read before asking Redis again.
pub(crate) const REFRESH: Duration = Duration::from_secs(5);
/// Longest banner text, in characters, per language.
pub const MAX_CHARS: usize = 500;

/// The banner as stored and published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Banner {
    /// Until when it is shown (RFC 3339, UTC).
    pub until: String,
    /// The text in Kazakh.
    pub kk: String,
    /// The text in Russian.
    pub ru: String,
    /// The text in English.
    pub en: String,
}

impl Banner {
    /// A banner from an operator's input; `Err` says what is wrong (one line).
    pub fn new(
        until: &str,
        kk: &str,
        ru: &str,
        en: &str,
        now: time::OffsetDateTime,
    ) -> Result<Banner, String> {
        let end = time::OffsetDateTime::parse(
            until.trim(),
            &time::format_description::well_known::Rfc3339,
        )
        .map_err(|_| "--until is not an RFC 3339 time (e.g. 2026-12-06T18:00:00+05:00)")?;
        if end <= now {
            return Err("--until is in the past".into());
        }
        let mut texts = [kk, ru, en].map(crate::normalize::line);
        for (text, flag) in texts.iter().zip(["--kk", "--ru", "--en"]) {
            if text.is_empty() {
                return Err(format!(
                    "{flag} is empty: the banner is shown in all three languages"
                ));
            }
            if text.chars().count() > MAX_CHARS {
                return Err(format!("{flag} is longer than {MAX_CHARS} characters"));
            }
        }
        let [kk, ru, en] = std::mem::take(&mut texts);
        Ok(Banner {
            until: crate::appeal::rfc3339(end),
            kk,
            ru,
            en,
        })
    }

    /// Its end.
    fn end(&self) -> Option<time::OffsetDateTime> {
        time::OffsetDateTime::parse(&self.until, &time::format_description::well_known::Rfc3339)
            .ok()
    }

    /// Whether it is still to be shown at `now`.
    pub(crate) fn shown_at(&self, now: time::OffsetDateTime) -> bool {
        self.end().is_some_and(|end| now < end)
    }

    /// The text in a language.
    pub(crate) fn text(&self, language: Language) -> &str {
        match language {
            Language::Kk => &self.kk,
            Language::Ru => &self.ru,
            Language::En => &self.en,
        }
    }

    /// A fingerprint of this banner (its end and texts): a bot conversation remembers it,
    /// so the same banner is sent to it once.
    pub(crate) fn fingerprint(&self) -> String {
        use sha2::Digest;
        let text = format!("{}\n{}\n{}\n{}", self.until, self.kk, self.ru, self.en);
        hex::encode(&sha2::Sha256::digest(text.as_bytes())[..8])
    }
}

/// `GET /api/v1/banner`'s answer: the banner shown now, or `null`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub(crate) struct Published {
    pub(crate) banner: Option<Banner>,
}

/// The key's name behind the prefix.
const KEY: &str = "gateway:banner";

/// The banner as every instance reads it.
pub(crate) struct Board {
    redis: Redis,
    cached: Mutex<Option<(Instant, Option<Banner>)>>,
}

impl Board {
    pub(crate) fn new(redis: &Redis) -> Board {
        Board {
            redis: redis.waiting(crate::redis_handle::PAGE_WAIT),
            cached: Mutex::new(None),
        }
    }

    /// The banner shown now, if any: from Redis at most every [`REFRESH`]; while Redis
    /// is away, the last one read (until its end).
    pub(crate) async fn current(&self) -> Option<Banner> {
        let now = time::OffsetDateTime::now_utc();
        let fresh = self
            .cached
            .lock()
            .ok()
            .and_then(|c| c.as_ref().map(|(at, _)| at.elapsed() < REFRESH))
            .unwrap_or(false);
        let banner = if fresh {
            self.last()
        } else {
            self.refresh().await
        };
        banner.filter(|b| b.shown_at(now))
    }

    /// Reads the banner from Redis now; while Redis is away, keeps the last one read.
    pub(crate) async fn refresh(&self) -> Option<Banner> {
        let banner = match read(&self.redis).await {
            Ok(banner) => banner,
            Err(Unavailable) => self.last(),
        };
        if let Ok(mut slot) = self.cached.lock() {
            *slot = Some((Instant::now(), banner.clone()));
        }
        banner
    }
}

impl Board {
    /// The banner as last read (by [`Board::current`], which a background task calls
    /// every [`REFRESH`]), for pages rendered without waiting on Redis.
    pub(crate) fn shown(&self) -> Option<Banner> {
        let now = time::OffsetDateTime::now_utc();
        self.last().filter(|b| b.shown_at(now))
    }

    /// The banner as last read, whatever its age or end.
    fn last(&self) -> Option<Banner> {
        self.cached
            .lock()
            .ok()
            .and_then(|c| c.as_ref().and_then(|(_, b)| b.clone()))
    }
}

async fn read(redis: &Redis) -> Result<Option<Banner>, Unavailable> {
    let key = redis.keys().key(KEY);
    let stored: Option<String> = redis
        .run(|mut c| async move { redis::cmd("GET").arg(key).query_async(&mut c).await })
        .await?;
    Ok(stored.and_then(|s| serde_json::from_str(&s).ok()))
}

/// What a command says when Redis did not answer.
fn unanswered(_: Unavailable) -> String {
    "Redis did not answer (REDIS_URL)".to_owned()
}

/// Sets the banner for every instance; it expires at its end.
pub(crate) async fn set(redis: &Redis, banner: &Banner) -> Result<(), String> {
    let end = banner.end().ok_or("the banner's end is unreadable")?;
    let key = redis.keys().key(KEY);
    let json = serde_json::to_string(banner).map_err(|e| e.to_string())?;
    let at_ms = i64::try_from(end.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
    redis
        .run(|mut c| async move {
            redis::cmd("SET")
                .arg(key)
                .arg(json)
                .arg("PXAT")
                .arg(at_ms)
                .query_async::<()>(&mut c)
                .await
        })
        .await
        .map_err(unanswered)
}

/// Clears the banner for every instance.
pub(crate) async fn clear(redis: &Redis) -> Result<(), String> {
    let key = redis.keys().key(KEY);
    redis
        .run(|mut c| async move { redis::cmd("DEL").arg(key).query_async::<()>(&mut c).await })
        .await
        .map_err(unanswered)
}

/// The banner set now, if any (for `banner show`).
pub(crate) async fn show(redis: &Redis) -> Result<Option<Banner>, String> {
    read(redis).await.map_err(unanswered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_operator_is_told_what_is_wrong_with_a_banner() {
        let now = time::macros::datetime!(2026-12-06 10:00 UTC);
        let banner =
            Banner::new("2026-12-06T18:00:00+05:00", "су", "вода", "water", now).expect("a banner");
        assert_eq!(banner.until, "2026-12-06T13:00:00Z");
        assert!(banner.shown_at(now));
        assert!(!banner.shown_at(time::macros::datetime!(2026-12-06 13:00 UTC)));
        assert!(Banner::new("18:00", "a", "b", "c", now).is_err());
        assert!(Banner::new("2026-12-06T09:00:00Z", "a", "b", "c", now).is_err());
        let empty = Banner::new("2026-12-06T18:00:00+05:00", "a", " ", "c", now);
        assert!(empty.expect_err("empty ru").contains("--ru"));
        let long = "а".repeat(MAX_CHARS + 1);
        assert!(Banner::new("2026-12-06T18:00:00+05:00", "a", &long, "c", now).is_err());
    }
}
