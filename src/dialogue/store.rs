//! Where the bot conversations live: in Redis, shared by every gateway instance.
//!
//! Telegram and WhatsApp deliver each update of a chat to whichever instance the load
//! balancer picks, so a conversation kept by one instance would restart on the next
//! message. Redis is the one place of shared state (issue 12); with Redis away a
//! conversation can be neither read nor written, and the webhook answers so that the
//! provider delivers the update again later (both retry), which loses nothing the
//! citizen wrote.
//!
//! | key (after `GATEWAY_STREAM_PREFIX`) | type | TTL | why |
//! | --- | --- | --- | --- |
//! | `gateway:conversation:<user key>` | string: the [`Conversation`] as JSON | [`super::conversation::ABANDONED_AFTER`] (24 h) after the last change | a draft is personal data the citizen has not sent yet: untouched for a day, it is gone (regulation 6.9) |
//! | `gateway:conversation-memory:<user key>` | string: JSON of the language, the tracking numbers and the last banner's fingerprint | [`REMEMBERED_FOR`] (90 days) after the last change | `/status` and the chosen language outlive a draft, not the purpose |
//! | `gateway:conversation-lock:<user key>` | string: a random token | [`LOCK_LEASE`] | two updates of one chat on two instances are applied one after the other |
//!
//! `<user key>` is the HMAC subject key of the messenger id (`telegram:<chat id>`,
//! `whatsapp:<phone>`): a WhatsApp user's phone number never appears in a key name
//! (key names show in `MONITOR`, the slow log and `--bigkeys`), and an erasure by
//! subject key finds the conversation.
//!
//! The lock is a lease: `SET NX PX` with a random token, released by a script that
//! deletes it only while it still holds that token. A lease outlives any turn of the
//! conversation (a turn is a read, an outbox write and a write); should an instance die
//! holding it, the next update waits at most the lease.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::conversation::Conversation;
use crate::appeal::Language;
use crate::keyspace::name;
use crate::redis_handle::{Redis, Unavailable, WEBHOOK_WAIT};

/// How long the language and the tracking numbers are remembered for `/status`.
pub(crate) const REMEMBERED_FOR: Duration = Duration::from_secs(90 * 24 * 3600);
/// How long a conversation's lock is held at most.
pub(crate) const LOCK_LEASE: Duration = Duration::from_secs(30);
/// How long an update waits for another instance to finish the same chat's turn.
const LOCK_WAIT: Duration = Duration::from_secs(5);
/// A storage failure; it never names a record's content.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    /// Redis could not be asked (the one failure of [`crate::redis_handle`]).
    #[error("conversation store: {0}")]
    Unavailable(#[from] Unavailable),
    /// Another instance took a turn of the same chat for longer than [`LOCK_WAIT`].
    #[error("conversation store: another turn of the chat is running")]
    Busy,
    /// A conversation that could not be encoded.
    #[error("conversation store: encode: {0}")]
    Encode(String),
}

/// What outlives a draft.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Memory {
    language: Option<Language>,
    appeals: Vec<String>,
    /// The fingerprint of the last city-wide banner the chat was sent (not personal).
    #[serde(default)]
    banner: Option<String>,
}

/// A held conversation lock; give it back with [`Store::unlock`].
#[derive(Debug)]
pub(crate) struct Lease {
    key: String,
    token: String,
}

/// The store; one per process, shared by both bots.
pub struct Store {
    redis: Redis,
}

impl Store {
    /// Keeps the conversations through `redis`, waiting as long as a webhook does.
    pub(crate) fn new(redis: &Redis) -> Store {
        Store {
            redis: redis.waiting(WEBHOOK_WAIT),
        }
    }

    /// Runs `cmd` within the handle's wait; a failed connection is dropped so that the
    /// next command opens a new one (and finds a promoted primary).
    async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, StoreError> {
        Ok(self
            .redis
            .run(|mut conn| async move { cmd.query_async::<T>(&mut conn).await })
            .await?)
    }

    /// The conversation of the user whose key is `user`, if one is held. An unreadable
    /// record (an older format) starts the conversation afresh.
    pub(crate) async fn load(&self, user: &str) -> Result<Option<Conversation>, StoreError> {
        let mut cmd = redis::cmd("MGET");
        cmd.arg(self.redis.keys().key(&name::conversation(user)))
            .arg(self.redis.keys().key(&name::conversation_memory(user)));
        let (conversation, memory): (Option<Vec<u8>>, Option<Vec<u8>>) = self.query(&cmd).await?;
        if let Some(c) = conversation.and_then(|b| serde_json::from_slice(&b).ok()) {
            return Ok(Some(c));
        }
        Ok(memory
            .and_then(|b| serde_json::from_slice::<Memory>(&b).ok())
            .map(|m| Conversation {
                language: m.language,
                appeals: m.appeals,
                banner: m.banner,
                ..Conversation::default()
            }))
    }

    /// Stores the conversation of `user` or, with `None`, erases it; one transaction.
    pub(crate) async fn save(
        &self,
        user: &str,
        conversation: Option<&Conversation>,
    ) -> Result<(), StoreError> {
        let key = self.redis.keys().key(&name::conversation(user));
        let memory_key = self.redis.keys().key(&name::conversation_memory(user));
        let mut pipe = redis::pipe();
        pipe.atomic();
        match conversation {
            None => {
                pipe.del(&key).ignore().del(&memory_key).ignore();
            }
            Some(c) => {
                if c.has_draft() {
                    let bytes =
                        serde_json::to_vec(c).map_err(|e| StoreError::Encode(e.to_string()))?;
                    pipe.set_ex(&key, bytes, super::conversation::ABANDONED_AFTER.as_secs())
                        .ignore();
                } else {
                    pipe.del(&key).ignore();
                }
                if c.language.is_some() || !c.appeals.is_empty() {
                    let memory = Memory {
                        language: c.language,
                        appeals: c.appeals.clone(),
                        banner: c.banner.clone(),
                    };
                    let bytes = serde_json::to_vec(&memory)
                        .map_err(|e| StoreError::Encode(e.to_string()))?;
                    pipe.set_ex(&memory_key, bytes, REMEMBERED_FOR.as_secs())
                        .ignore();
                } else {
                    pipe.del(&memory_key).ignore();
                }
            }
        }
        Ok(self
            .redis
            .run(|mut conn| async move { pipe.query_async::<()>(&mut conn).await })
            .await?)
    }

    /// Takes the lock of `user`'s conversation, waiting up to [`LOCK_WAIT`] for another
    /// instance's turn to end.
    pub(crate) async fn lock(&self, user: &str) -> Result<Lease, StoreError> {
        let key = self.redis.keys().key(&name::conversation_lock(user));
        let token = ulid::Ulid::new().to_string();
        let deadline = tokio::time::Instant::now() + LOCK_WAIT;
        let mut pause = Duration::from_millis(5);
        loop {
            let mut cmd = redis::cmd("SET");
            cmd.arg(&key)
                .arg(&token)
                .arg("NX")
                .arg("PX")
                .arg(u64::try_from(LOCK_LEASE.as_millis()).unwrap_or(u64::MAX));
            let taken: Option<String> = self.query(&cmd).await?;
            if taken.is_some() {
                return Ok(Lease { key, token });
            }
            if tokio::time::Instant::now() + pause > deadline {
                return Err(StoreError::Busy);
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(100));
        }
    }

    /// Gives the lock back, if it is still ours (an expired lease may be another's now).
    pub(crate) async fn unlock(&self, lease: Lease) {
        let script = redis::Script::new(
            "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end",
        );
        let Ok(mut conn) = self.redis.conn().await else {
            return;
        };
        let mut invocation = script.key(&lease.key);
        invocation.arg(&lease.token);
        let release = invocation.invoke_async::<i64>(&mut conn);
        if !matches!(
            tokio::time::timeout(self.redis.wait(), release).await,
            Ok(Ok(_))
        ) {
            // The lease expires by itself.
            tracing::debug!("conversation lock not released; it expires with its lease");
        }
    }
}
