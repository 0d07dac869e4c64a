//! The duplicates hint's index, shared by every instance: the appeals agents entered at
//! one place, so that an agent on any instance is told "this was reported already".
//!
//! In Redis ([`crate::keyspace`]): `gateway:recent:<key>` is a sorted set whose members
//! are appeals scored by the time (ms) they were entered, `<key>` being the SHA-256 of
//! the place and the category ([`duplicate_key`]). A member is the tracking number, then
//! (issue 28, point 1: the hint shows what the earlier appeal was) a tab, the appeal's
//! id, a tab and the first words of its text, as the free-text guard left them (card
//! numbers, IINs masked); members written before are the number alone. Entries older
//! than [`RECENT_KEEP`] are dropped at each write and the set expires [`RECENT_KEEP`]
//! after its last write.
//!
//! Redis away: no hint (the agent is not told of a duplicate) and the entry is not
//! written. The hint is a hint; the appeal is accepted all the same.

use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::keyspace::name;
use crate::redis_handle::{PAGE_WAIT, Redis};

/// How far back the duplicates hint looks: an appeal is decided within 15 working days,
/// but a repeated report of one problem comes within days of the first.
pub(crate) const DUPLICATE_WINDOW: Duration = Duration::from_secs(3 * 24 * 3600);
/// How long the duplicates index keeps an entry.
pub(crate) const RECENT_KEEP: Duration = Duration::from_secs(30 * 24 * 3600);

/// The duplicates index in Redis.
pub(crate) struct Recent {
    redis: Redis,
}

impl Recent {
    pub(crate) fn new(redis: &Redis) -> Recent {
        Recent {
            redis: redis.waiting(PAGE_WAIT),
        }
    }

    /// Remembers an appeal entered at `key`: its number, its id and its text's first
    /// words.
    pub(crate) async fn remember(&self, key: &str, tracking: &str, appeal_id: &str, text: &str) {
        let now = crate::clock::now_ms();
        let tracking = format!("{tracking}\t{appeal_id}\t{}", first_words(text));
        let redis_key = self.redis.keys().key(&name::recent(key));
        let cutoff = now.saturating_sub(RECENT_KEEP.as_millis() as u64);
        let mut pipe = redis::pipe();
        pipe.atomic()
            .zadd(&redis_key, tracking, now)
            .ignore()
            .zrembyscore(&redis_key, 0, cutoff)
            .ignore()
            .pexpire(&redis_key, RECENT_KEEP.as_millis() as i64)
            .ignore();
        let written = self
            .redis
            .run(|mut conn| async move { pipe.query_async::<()>(&mut conn).await })
            .await;
        if written.is_err() {
            tracing::warn!("duplicates index: entry not written, Redis does not answer");
        }
    }

    /// Tracking numbers of appeals entered at `key` within [`DUPLICATE_WINDOW`], newest
    /// first; empty when Redis does not answer.
    pub(crate) async fn recent(&self, key: &str) -> Vec<String> {
        self.earlier(key)
            .await
            .into_iter()
            .map(|e| e.tracking)
            .collect()
    }

    /// The appeals entered at `key` within [`DUPLICATE_WINDOW`], newest first, with what
    /// the hint shows of them; empty when Redis does not answer.
    pub(crate) async fn earlier(&self, key: &str) -> Vec<Earlier> {
        let since = crate::clock::now_ms().saturating_sub(DUPLICATE_WINDOW.as_millis() as u64);
        let mut cmd = redis::cmd("ZREVRANGEBYSCORE");
        cmd.arg(self.redis.keys().key(&name::recent(key)))
            .arg("+inf")
            .arg(since)
            .arg("WITHSCORES");
        self.redis
            .run(|mut conn| async move { cmd.query_async::<Vec<(String, f64)>>(&mut conn).await })
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|(member, at)| Earlier::read(&member, at as u64))
            .collect()
    }
}

/// An appeal entered at the same place in the same category, as the hint shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Earlier {
    pub(crate) tracking: String,
    /// The appeal's id (absent for entries written before it was kept).
    pub(crate) appeal_id: Option<String>,
    /// When it was entered (Unix ms).
    pub(crate) at_ms: u64,
    /// The first words of its text (empty for entries written before they were kept).
    pub(crate) first_words: String,
}

impl Earlier {
    fn read(member: &str, at_ms: u64) -> Earlier {
        let mut parts = member.splitn(3, '\t');
        let tracking = parts.next().unwrap_or_default().to_owned();
        let appeal_id = parts.next().filter(|id| !id.is_empty()).map(str::to_owned);
        let first_words = parts.next().unwrap_or_default().to_owned();
        Earlier {
            tracking,
            appeal_id,
            at_ms,
            first_words,
        }
    }
}

/// The words of a text the hint shows: the first eight (at most 80 characters), with
/// card numbers, IBANs and IINs masked by the free-text guard, on one line.
pub(crate) fn first_words(text: &str) -> String {
    let mut findings = crate::free_text_guard::Findings::default();
    let guarded = crate::free_text_guard::guard(&crate::normalize::text(text), None, &mut findings);
    let words: Vec<&str> = guarded.split_whitespace().take(8).collect();
    let mut out: String = words.join(" ").chars().take(80).collect();
    if guarded.split_whitespace().count() > words.len() || out.chars().count() == 80 {
        out.push('…');
    }
    out
}

/// The key of the duplicates index: SHA-256 of the category and the address reduced to
/// its words, without the words every address has ("улица", "көшесі", "д.").
pub(crate) fn duplicate_key(address: &str, category: &str) -> Option<String> {
    const NOISE: [&str; 16] = [
        "ул",
        "улица",
        "көше",
        "көшесі",
        "пр",
        "просп",
        "проспект",
        "даңғылы",
        "д",
        "дом",
        "үй",
        "г",
        "город",
        "алматы",
        "мкр",
        "кв",
    ];
    let cleaned = crate::normalize::line(address).to_lowercase();
    let words: Vec<&str> = cleaned
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && !NOISE.contains(w))
        .collect();
    if words.is_empty() || category.is_empty() {
        return None;
    }
    let digest = Sha256::digest(format!("{category}\n{}", words.join(" ")).as_bytes());
    Some(hex::encode(digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_duplicates_index_matches_the_same_place_written_differently() {
        let a = duplicate_key("ул. Абая, д. 10", "roads");
        let b = duplicate_key("Абая 10", "roads");
        assert_eq!(a, b);
        assert_ne!(a, duplicate_key("Абая 10", "lighting"));
        assert_eq!(duplicate_key("ул.", "roads"), None);
    }

    #[test]
    fn an_entry_reads_back_with_its_first_words_and_an_old_one_alone() {
        let words =
            first_words("Яма на дороге у остановки, машины объезжают её по встречной полосе.");
        assert_eq!(words, "Яма на дороге у остановки, машины объезжают её…");
        let member = format!("OA-7K3M-9QX8-5\t01K\t{words}");
        let entry = Earlier::read(&member, 7);
        assert_eq!(entry.tracking, "OA-7K3M-9QX8-5");
        assert_eq!(entry.appeal_id.as_deref(), Some("01K"));
        assert_eq!(entry.first_words, words);
        let old = Earlier::read("OA-7K3M-9QX2", 7);
        assert_eq!(
            (old.tracking.as_str(), old.appeal_id),
            ("OA-7K3M-9QX2", None)
        );
        // An IIN in the text is not kept in the hint.
        assert!(!first_words("ИИН 850501300011 яма").contains("850501300011"));
    }
}
