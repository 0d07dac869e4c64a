//! Subject requests by mail that wait for their sender's confirmation (issue 34, point 1).
//!
//! A withdrawal, an opt-out or an update asked for by a mail the city's MTA did not vouch
//! for ([`super::sender_proof`]) is not carried out: the gateway mails the From address a
//! confirmation whose Message-ID holds a token (128 bits of an HMAC under the
//! deployment's secret: nobody without it can compute one), and keeps the request
//! in Redis under the token's SHA-256 for [`CONFIRM_TTL`]. Only the owner of the mailbox
//! reads the token; a reply in that thread from the same address carries the request out,
//! once (the entry is deleted when done; a second reply finds nothing). Until then
//! nothing is erased, suppressed or recorded on `subject.v1`: the request is
//! `pending_confirmation` (counted in `gateway_email_messages_total`).
//!
//! What is kept meanwhile holds no address: the sender's email subject key (the reply
//! must give the same), the kind, the language and, for `update_data`, the request's
//! text — the same text the request itself would carry to `subject.v1`.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::appeal::Language;
use crate::keyspace::name;
use crate::redis_handle::{CLAIM_WAIT, Redis, Unavailable};
use crate::subject::SubjectRequestKind;

/// How long a confirmation can be answered: three days covers a weekend.
pub(crate) const CONFIRM_TTL: Duration = Duration::from_secs(72 * 3600);

/// A request waiting for its sender.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Pending {
    pub(crate) kind: SubjectRequestKind,
    pub(crate) language: Language,
    /// The subject key of the sender's address: the confirming reply must come from it.
    pub(crate) email_key: String,
    /// The request's own words (only the kinds that keep them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) text: Option<String>,
}

/// Where pending requests wait (Redis, shared by every instance).
pub(crate) struct Confirmations {
    redis: Redis,
}

impl std::fmt::Debug for Confirmations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Confirmations(..)")
    }
}

/// The token in one of our confirmations' Message-IDs (`<confirm.TOKEN@domain>`) among
/// `ids` (a reply's `In-Reply-To` and `References`).
pub(crate) fn token_in<'a>(ids: impl Iterator<Item = &'a String>, domain: &str) -> Option<String> {
    ids.filter_map(|id| {
        let id = id.trim().trim_start_matches('<').trim_end_matches('>');
        let (local, at) = id.rsplit_once('@')?;
        let token = local.strip_prefix("confirm.")?;
        (at.eq_ignore_ascii_case(domain)
            && token.len() == 32
            && token.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| token.to_ascii_lowercase())
    })
    .next()
}

fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl Confirmations {
    /// Through `redis`; a command waits as long as a claim before the mail is left to
    /// be tried again.
    pub(crate) fn new(redis: &Redis) -> Confirmations {
        Confirmations {
            redis: redis.waiting(CLAIM_WAIT),
        }
    }

    fn key(&self, token: &str) -> String {
        self.redis.keys().key(&name::mail_confirm(&digest(token)))
    }

    async fn run<T: redis::FromRedisValue>(&self, cmd: redis::Cmd) -> Result<T, Unavailable> {
        self.redis
            .run(|mut conn| async move { cmd.query_async::<T>(&mut conn).await })
            .await
    }

    /// Keeps `pending` under `token` for [`CONFIRM_TTL`].
    pub(crate) async fn put(&self, token: &str, pending: &Pending) -> Result<(), Unavailable> {
        let value = serde_json::to_string(pending).map_err(|_| Unavailable)?;
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key(token))
            .arg(value)
            .arg("EX")
            .arg(CONFIRM_TTL.as_secs());
        self.run::<()>(cmd).await
    }

    /// The request waiting under `token`, if it has not expired or been carried out.
    pub(crate) async fn get(&self, token: &str) -> Result<Option<Pending>, Unavailable> {
        let mut cmd = redis::cmd("GET");
        cmd.arg(self.key(token));
        let value: Option<String> = self.run(cmd).await?;
        Ok(value.and_then(|v| serde_json::from_str(&v).ok()))
    }

    /// Forgets the request under `token`: it was carried out.
    pub(crate) async fn done(&self, token: &str) -> Result<(), Unavailable> {
        let mut cmd = redis::cmd("DEL");
        cmd.arg(self.key(token));
        self.run::<i64>(cmd).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_confirmations_tokens_are_read_from_a_reply() {
        let token = "0123456789abcdef0123456789abcdef".to_owned();
        let ids = [
            "<cafe@mail.kz>".to_owned(),
            format!("<confirm.{token}@almatydc.kz>"),
        ];
        assert_eq!(token_in(ids.iter(), "almatydc.kz"), Some(token.clone()));
        let other_domain = [format!("<confirm.{token}@evil.example>")];
        assert_eq!(token_in(other_domain.iter(), "almatydc.kz"), None);
        let short = ["<confirm.abc@almatydc.kz>".to_owned()];
        assert_eq!(token_in(short.iter(), "almatydc.kz"), None);
    }
}
