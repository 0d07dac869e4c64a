//! The dialogue engine: one event of a chat at a time (a lock striped per instance and
//! one in Redis shared by all), the conversation loaded before and stored after, and a
//! provider's delivery taken exactly once.

use std::hash::{Hash, Hasher};

use crate::appeal::Channel;
use crate::pipeline::Gateway;

use super::conversation::{Conversation, unix_now};
use super::dedupe;
use super::error::EngineError;
use super::event::Inbound;
use super::reply::Reply;
use super::steps::advance;
use super::store::Store;

/// Stripes of the per-user lock: two messages of one user are handled one at a time.
const LOCK_STRIPES: usize = 64;

/// The dialogue engine.
pub(crate) struct Engine {
    store: Store,
    locks: Vec<tokio::sync::Mutex<()>>,
}

impl Engine {
    pub(crate) fn new(store: Store) -> Engine {
        Engine {
            store,
            locks: (0..LOCK_STRIPES)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
        }
    }

    /// Handles one event under the chat's lock (shared by every instance): the
    /// conversation's new state is stored (and an appeal made durable) before the
    /// replies are returned.
    pub(crate) async fn handle(
        &self,
        gw: &Gateway,
        inbound: Inbound,
    ) -> Result<Vec<Reply>, EngineError> {
        let user = user_key(gw, inbound.channel, &inbound.user);
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        user.hash(&mut hasher);
        let stripe = usize::try_from(hasher.finish() % LOCK_STRIPES as u64).unwrap_or(0);
        // The local stripe spares Redis the waits of this instance's own updates.
        let _turn = self.locks[stripe].lock().await;
        let lease = self.store.lock(&user).await?;
        let result = self.turn_stored(gw, &user, inbound).await;
        self.store.unlock(lease).await;
        result
    }

    async fn turn_stored(
        &self,
        gw: &Gateway,
        user: &str,
        inbound: Inbound,
    ) -> Result<Vec<Reply>, EngineError> {
        let loaded = self.store.load(user).await?;
        let (kept, replies) = turn(gw, &inbound, loaded).await?;
        self.store.save(user, kept.as_ref()).await?;
        Ok(replies)
    }

    /// Takes one provider delivery exactly once: claims `delivery` (`channel:id`),
    /// handles the event, and releases the claim if handling failed so that the
    /// provider's retry is taken. `Ok(None)`: a duplicate, nothing done.
    pub(crate) async fn take(
        &self,
        gw: &Gateway,
        dedupe: &dedupe::Dedupe,
        delivery: &str,
        inbound: Inbound,
    ) -> Result<Option<Vec<Reply>>, EngineError> {
        if !first_time(gw, dedupe, delivery, inbound.channel).await? {
            return Ok(None);
        }
        match self.handle(gw, inbound).await {
            Ok(replies) => Ok(Some(replies)),
            Err(e) => {
                dedupe.release(delivery).await;
                Err(e)
            }
        }
    }
}

/// The key a chat is stored under: the subject key of its messenger id (no chat id or
/// phone in a Redis key).
pub(crate) fn user_key(gw: &Gateway, channel: Channel, user: &str) -> String {
    let messenger_id = format!("{}:{user}", channel.as_str());
    gw.subject_key("messenger_id", &messenger_id)
}

/// Claims a provider delivery (`channel:id`); `false` for a duplicate, counted. Comes
/// before anything is downloaded.
pub(crate) async fn first_time(
    gw: &Gateway,
    dedupe: &dedupe::Dedupe,
    delivery: &str,
    channel: Channel,
) -> Result<bool, EngineError> {
    if dedupe.claim(delivery).await? {
        return Ok(true);
    }
    tracing::debug!(channel = channel.as_str(), "duplicate delivery ignored");
    gw.metrics()
        .webhook_duplicates
        .with_label_values(&[channel.as_str()])
        .inc();
    Ok(false)
}

/// One turn of a conversation, without storage: the conversation as loaded (`None`: a
/// new one) and the event give the conversation to keep (`None`: erase it) and the
/// replies.
pub(crate) async fn turn(
    gw: &Gateway,
    inbound: &Inbound,
    loaded: Option<Conversation>,
) -> Result<(Option<Conversation>, Vec<Reply>), EngineError> {
    let mut conversation = loaded.unwrap_or_default();
    let mut replies = Vec::new();
    let keep = advance(gw, inbound, &mut conversation, &mut replies).await?;
    conversation.updated_at = unix_now();
    Ok((keep.then_some(conversation), replies))
}
