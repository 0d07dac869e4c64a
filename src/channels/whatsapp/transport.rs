//! The transport ([`Whatsapp`]): a message of a webhook into the dialogue (an image
//! claimed, then fetched after the webhook has answered), the dialogue's replies out
//! through the Graph API by one sender task, in order, and answers held for a closed
//! session window delivered when the citizen writes again.

use std::sync::Arc;

use serde_json::Value;
use tokio::sync::mpsc;

use crate::appeal::{Channel, ReplyChannel};
use crate::dialogue::dedupe::Dedupe;
use crate::dialogue::deferred::Deferred;
use crate::dialogue::{
    Engine, EngineError, Event, Inbound, PhotoResult, Reply, Unsupported, first_time, photo,
    user_key,
};
use crate::notify::held;
use crate::notify::route::session_window_key;
use crate::pipeline::Gateway;
use crate::supervisor::Supervisor;

use super::body::message_body;
use super::route::{self, MAX_TEXT};
use super::settings::WhatsappConfig;

/// Largest photo taken (the Cloud API's own limit for images is 5 MB).
pub(crate) const MAX_PHOTO_BYTES: u64 = 5 * 1024 * 1024;

/// One batch of replies to one WhatsApp user.
struct Outgoing {
    to: String,
    replies: Vec<Reply>,
}

/// The WhatsApp transport.
pub(crate) struct Whatsapp {
    pub(super) config: WhatsappConfig,
    client: reqwest::Client,
    engine: Arc<Engine>,
    dedupe: Arc<Dedupe>,
    deferred: Arc<Deferred>,
    pub(super) gateway: Arc<Gateway>,
    /// Redis, for the answers held for citizens outside the window (`notify::held`).
    pub(super) redis: crate::redis_handle::Redis,
    outgoing: mpsc::UnboundedSender<Outgoing>,
    queued: std::sync::Mutex<Option<mpsc::UnboundedReceiver<Outgoing>>>,
}

impl Whatsapp {
    pub(crate) fn new(
        config: WhatsappConfig,
        engine: Arc<Engine>,
        dedupe: Arc<Dedupe>,
        deferred: Arc<Deferred>,
        gateway: Arc<Gateway>,
        redis: &crate::redis_handle::Redis,
    ) -> Whatsapp {
        let (outgoing, queued) = mpsc::unbounded_channel();
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .unwrap_or_default();
        Whatsapp {
            config,
            client,
            engine,
            dedupe,
            deferred,
            gateway,
            redis: redis.waiting(crate::redis_handle::WEBHOOK_WAIT),
            outgoing,
            queued: std::sync::Mutex::new(Some(queued)),
        }
    }

    /// Starts the sender task and the worker of deferred messages (once; inside the
    /// runtime), owned by `tasks`: at the shutdown the sender sends what is queued and
    /// the worker finishes the message it holds.
    pub(crate) fn start(self: &Arc<Self>, tasks: &mut Supervisor) {
        let queued = self.queued.lock().ok().and_then(|mut q| q.take());
        if let Some(queued) = queued {
            let this = Arc::clone(self);
            tasks.spawn(
                "whatsapp-sender",
                crate::supervisor::drain(queued, tasks.shutdown(), move |out| {
                    let this = Arc::clone(&this);
                    async move {
                        for reply in &out.replies {
                            this.send(&out.to, reply).await;
                        }
                    }
                }),
            );
        }
        let this = Arc::clone(self);
        tasks.spawn(
            "whatsapp-deferred",
            Arc::clone(&self.deferred).run("whatsapp", tasks.shutdown(), move |payload| {
                let this = Arc::clone(&this);
                async move { this.take_deferred(payload).await }
            }),
        );
        tracing::info!("whatsapp channel on (webhook)");
    }

    fn messages_url(&self) -> String {
        self.config.messages_url()
    }

    /// Sends one reply; a failure is logged (with the provider's status, never the
    /// text) and retried a few times.
    async fn send(&self, to: &str, reply: &Reply) -> bool {
        self.send_for_id(to, reply).await.is_some()
    }

    /// Sends a message; `Some` when the Cloud API took it, with its `wamid` when the
    /// answer names one (the key of its `statuses[]`).
    async fn send_for_id(&self, to: &str, reply: &Reply) -> Option<Option<String>> {
        let body = message_body(to, reply);
        for attempt in 1..=3u64 {
            let sent = self
                .client
                .post(self.messages_url())
                .bearer_auth(&self.config.access_token)
                .json(&body)
                .send()
                .await;
            match sent {
                Ok(r) if r.status().is_success() => {
                    let answer = r.json::<Value>().await.unwrap_or_default();
                    return Some(answer["messages"][0]["id"].as_str().map(str::to_owned));
                }
                Ok(r) => {
                    tracing::warn!(
                        status = r.status().as_u16(),
                        attempt,
                        "whatsapp send refused"
                    );
                    if r.status().is_client_error() {
                        return None;
                    }
                }
                Err(e) => tracing::warn!(error = %e.without_url(), attempt, "whatsapp send failed"),
            }
            tokio::time::sleep(std::time::Duration::from_millis(500 * attempt)).await;
        }
        None
    }

    /// Describes an image: its metadata from `GET /{media-id}`, then its bytes from the
    /// URL given there (hashed, not kept).
    async fn fetch_image(&self, media_id: &str, mime_type: &str) -> PhotoResult {
        if media_id.is_empty() || !media_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return PhotoResult::Unavailable;
        }
        let meta = self
            .client
            .get(format!("{}/{media_id}", self.config.api_url))
            .bearer_auth(&self.config.access_token)
            .send()
            .await;
        let meta: Value = match meta {
            Ok(r) if r.status().is_success() => r.json().await.unwrap_or_default(),
            Ok(r) => {
                tracing::warn!(
                    status = r.status().as_u16(),
                    "whatsapp media lookup refused"
                );
                return PhotoResult::Unavailable;
            }
            Err(e) => {
                tracing::warn!(error = %e.without_url(), "whatsapp media lookup failed");
                return PhotoResult::Unavailable;
            }
        };
        if meta["file_size"]
            .as_u64()
            .is_some_and(|n| n > MAX_PHOTO_BYTES)
        {
            return PhotoResult::TooLarge {
                limit_mb: MAX_PHOTO_BYTES / (1024 * 1024),
            };
        }
        let Some(url) = meta["url"].as_str() else {
            return PhotoResult::Unavailable;
        };
        let content_type = meta["mime_type"].as_str().unwrap_or(mime_type);
        photo::fetch(
            &self.client,
            url,
            Some(&self.config.access_token),
            content_type,
            MAX_PHOTO_BYTES,
        )
        .await
    }

    /// The event a message stands for, when no media has to be fetched for it.
    fn event_of(message: &Value) -> Event {
        let kind = message["type"].as_str().unwrap_or_default();
        match kind {
            "text" => Event::Text(
                message["text"]["body"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            ),
            "interactive" => {
                let interactive = &message["interactive"];
                let reply = match interactive["type"].as_str() {
                    Some("button_reply") => &interactive["button_reply"],
                    Some("list_reply") => &interactive["list_reply"],
                    _ => return Event::Other,
                };
                match reply["id"].as_str() {
                    Some(id) => Event::Button(id.to_owned()),
                    None => Event::Other,
                }
            }
            "button" => match message["button"]["payload"].as_str() {
                Some(payload) => Event::Button(payload.to_owned()),
                None => Event::Other,
            },
            "location" => {
                let l = &message["location"];
                match (l["latitude"].as_f64(), l["longitude"].as_f64()) {
                    (Some(lat), Some(lon)) => Event::Location {
                        lat,
                        lon,
                        address: l["address"]
                            .as_str()
                            .or_else(|| l["name"].as_str())
                            .map(str::to_owned),
                    },
                    _ => Event::Other,
                }
            }
            // Regulation 5.1: a voice or a face is not on the allowlist.
            "audio" | "video" => Event::Unsupported(Unsupported::VoiceOrVideo),
            // Stickers, documents, contacts, polls and what the Cloud API itself cannot
            // render (`unsupported`, formerly `unknown`).
            _ => Event::Unsupported(Unsupported::Other),
        }
    }

    /// Takes a deferred message (its image fetched now); `false` when the
    /// conversation could not be stored (taken again later).
    async fn take_deferred(&self, payload: String) -> bool {
        let Ok(message) = serde_json::from_str::<Value>(&payload) else {
            return true;
        };
        let Some(from) = sender_of(&message).map(str::to_owned) else {
            return true;
        };
        let event = match image_of(&message) {
            Some((media_id, mime_type)) => Event::Photo {
                photo: self.fetch_image(media_id, mime_type).await,
                caption: message[message["type"].as_str().unwrap_or("image")]["caption"]
                    .as_str()
                    .map(str::to_owned),
            },
            None => Self::event_of(&message),
        };
        match self
            .engine
            .handle(&self.gateway, inbound(&from, event))
            .await
        {
            Ok(replies) => {
                let _ = self.outgoing.send(Outgoing { to: from, replies });
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "whatsapp photo not handled; taken again later");
                false
            }
        }
    }

    /// Takes one message of a notification. Only messages a citizen wrote reach the
    /// dialogue; reactions, system notices (a number change is not answered at the old
    /// number) and edits are counted by kind and never answered.
    pub(super) async fn take_message(&self, message: &Value) -> Result<(), EngineError> {
        let kind = message["type"].as_str().unwrap_or("none");
        let id = message["id"].as_str();
        let (Some(id), Some(from)) = (id, sender_of(message)) else {
            // Kind and id only: the rest is the citizen's.
            tracing::warn!(
                kind = crate::metrics::label(kind),
                id = id.unwrap_or_default(),
                "whatsapp message without an id or a usable sender; not taken"
            );
            self.gateway.bot_ignored(Channel::Whatsapp, "no_sender");
            return Ok(());
        };
        if matches!(
            kind,
            "reaction" | "system" | "edit" | "revoke" | "request_welcome"
        ) {
            self.gateway.bot_ignored(Channel::Whatsapp, kind);
            return Ok(());
        }
        // A message is as old as its own `timestamp` says (the signature covers it):
        // one past the bound, or with no time at all, is a replay or a backlog, not a
        // conversation to go on with (issue 34).
        let sent = message["timestamp"]
            .as_str()
            .and_then(|t| t.parse::<u64>().ok());
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if sent.is_none_or(|at| now.saturating_sub(at) > self.config.max_message_age.as_secs()) {
            tracing::info!(
                kind = crate::metrics::label(kind),
                id,
                "whatsapp message too old to answer; not taken"
            );
            self.gateway.bot_ignored(Channel::Whatsapp, "stale");
            return Ok(());
        }
        // The citizen's 24-hour customer-service window is open (the notifier sends
        // free-form replies inside it, an approved template outside it).
        let subject = crate::normalize::phone(&format!("+{from}"))
            .ok()
            .map(|phone| self.gateway.subject_key("phone", &phone));
        if let Some(key) = &subject {
            self.dedupe
                .mark(
                    &session_window_key(ReplyChannel::Whatsapp, key),
                    std::time::Duration::from_secs(24 * 3600),
                )
                .await;
        }
        let delivery = format!("whatsapp:{id}");
        if let Some(key) = &subject
            && self.deliver_held(&delivery, from, key, message).await?
        {
            return Ok(());
        }
        let user = user_key(&self.gateway, Channel::Whatsapp, from);
        if image_of(message).is_some() || self.deferred.waiting(&user).await? {
            // Claimed before any download; taken once the webhook has answered, in the
            // order of the chat.
            if !first_time(&self.gateway, &self.dedupe, &delivery, Channel::Whatsapp).await? {
                return Ok(());
            }
            let payload = message.to_string();
            if let Err(e) = self
                .deferred
                .push(Channel::Whatsapp.as_str(), &user, &payload)
                .await
            {
                self.dedupe.release(&delivery).await;
                return Err(e.into());
            }
            return Ok(());
        }
        let inbound = inbound(from, Self::event_of(message));
        if let Some(replies) = self
            .engine
            .take(&self.gateway, &self.dedupe, &delivery, inbound)
            .await?
        {
            let _ = self.outgoing.send(Outgoing {
                to: from.to_owned(),
                replies,
            });
        }
        Ok(())
    }
}

impl Whatsapp {
    /// Answers held for the citizen (outside the window, too long for a template) go
    /// out as session messages before anything else, whatever the citizen sent: the tap
    /// on "Show answer" or any message (which does not start a conversation then).
    /// `true` when the message was taken this way.
    async fn deliver_held(
        &self,
        delivery: &str,
        from: &str,
        subject: &str,
        message: &Value,
    ) -> Result<bool, EngineError> {
        let unavailable = || EngineError::Store(crate::redis_handle::Unavailable.into());
        let mut conn = self.redis.conn().await.map_err(|_| unavailable())?;
        let Ok(held) = held::held(&mut conn, self.redis.keys(), subject).await else {
            self.redis.reset().await;
            return Err(unavailable());
        };
        let tapped =
            message["type"] == "button" && message["button"]["payload"] == route::SHOW_ANSWER;
        if held.is_empty() {
            if tapped {
                // Tapped again after the answer came: nothing more to send.
                self.gateway
                    .bot_ignored(Channel::Whatsapp, "show_answer_again");
                return Ok(true);
            }
            return Ok(false);
        }
        if !first_time(&self.gateway, &self.dedupe, delivery, Channel::Whatsapp).await? {
            return Ok(true);
        }
        // Sent before the answers are forgotten: a crash in between sends them again at
        // the citizen's next message; they are never lost. Each answer's wamids are
        // kept for its `statuses[]` (its receipt says `accepted` until they come).
        let mut wamids = Vec::with_capacity(held.len());
        for answer in &held {
            let mut ids = Vec::new();
            for text in answer.messages(MAX_TEXT - 512) {
                let reply = Reply {
                    text,
                    ..Reply::default()
                };
                let Some(id) = self.send_for_id(from, &reply).await else {
                    tracing::warn!("whatsapp held answer not sent; kept for the next message");
                    return Ok(true);
                };
                ids.extend(id);
            }
            wamids.push(ids);
        }
        if held::sent(&mut conn, self.redis.keys(), subject, &held, &wamids)
            .await
            .is_err()
        {
            self.redis.reset().await;
            tracing::warn!("whatsapp held answer sent but not yet forgotten");
        }
        Ok(true)
    }
}

/// The sender's WhatsApp id (digits), when the message has a usable one.
fn sender_of(message: &Value) -> Option<&str> {
    message["from"]
        .as_str()
        .filter(|f| !f.is_empty() && f.len() <= 32 && f.bytes().all(|b| b.is_ascii_digit()))
}

/// The media id and type of an image, sent as a photo or as a document of an image
/// type.
fn image_of(message: &Value) -> Option<(&str, &str)> {
    let media = match message["type"].as_str()? {
        "image" => &message["image"],
        "document" => &message["document"],
        _ => return None,
    };
    let mime = media["mime_type"].as_str().unwrap_or("image/jpeg");
    if !mime.starts_with("image/") {
        return None;
    }
    Some((media["id"].as_str()?, mime))
}

fn inbound(from: &str, event: Event) -> Inbound {
    Inbound {
        channel: Channel::Whatsapp,
        user: from.to_owned(),
        language_hint: None,
        sender_phone: Some(format!("+{from}")),
        event,
    }
}
