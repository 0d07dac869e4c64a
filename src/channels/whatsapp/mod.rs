//! WhatsApp, over the WhatsApp Business Cloud API: a thin transport of the bot dialogue
//! ([`crate::dialogue`]).
//!
//! - `GET /whatsapp/webhook`: the verification handshake (`hub.mode=subscribe`,
//!   `hub.verify_token`, `hub.challenge` echoed back).
//! - `POST /whatsapp/webhook`: `X-Hub-Signature-256: sha256=<hex>` is the HMAC-SHA256 of
//!   the raw body under the app secret, checked in constant time before anything is
//!   parsed; unsigned or wrongly signed: 401 and nothing processed. Messages
//!   (`entry[].changes[].value.messages[]`: text, image, location, interactive button
//!   and list replies) go to the dialogue; voice notes, videos, stickers, documents and
//!   contacts get one short answer saying why they cannot be taken, and the question
//!   again. Reactions, system notices (a number change is never answered at the old
//!   number), edits and status webhooks (`statuses[]`) are counted by kind
//!   (`gateway_bot_ignored_total`) and never answered; a message without a usable
//!   sender is logged by kind and id only.
//! - An image is claimed (dedupe) before anything is downloaded and fetched after the
//!   webhook has answered, with whatever the chat sends meanwhile waiting behind it
//!   ([`crate::dialogue::deferred`]).
//! - A long choice (the catalogue) is an interactive list: up to ten rows, else the
//!   first nine and "Other…" (`more:<index>`) bringing the rest; rows are numbered as
//!   the choices, so typing a number keeps working.
//! - Replies and buttons go out through `POST /{phone-number-id}/messages` on the Graph
//!   API, in order, by one sender task, after the webhook has been answered.
//!
//! The webhook answers 200 only once every message in it is handled (an appeal durable
//! in the outbox); a failure answers 500 so that Meta retries, and the dedupe lets only
//! the messages not yet taken through.

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use hmac::{KeyInit, Mac};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::mpsc;

pub(crate) mod component;
pub(crate) mod route;
pub(crate) mod settings;

use self::route::MAX_TEXT;
use self::settings::WhatsappConfig;

type HmacSha256 = hmac::Hmac<Sha256>;

/// Largest photo taken (the Cloud API's own limit for images is 5 MB).
pub(crate) const MAX_PHOTO_BYTES: u64 = 5 * 1024 * 1024;
/// Reply buttons per interactive message (Cloud API limit).
const MAX_BUTTONS: usize = 3;
/// Characters of a reply button's title (Cloud API limit).
const MAX_BUTTON_TITLE: usize = 20;
/// Characters of an interactive message's body (Cloud API limit).
const MAX_INTERACTIVE_BODY: usize = 1024;

use crate::appeal::{Channel, ReplyChannel};
use crate::dialogue::dedupe::Dedupe;
use crate::dialogue::deferred::Deferred;
use crate::dialogue::{
    Ask, Button, Engine, EngineError, Event, Inbound, ListLabels, PhotoResult, Reply, Unsupported,
    first_time, photo, user_key,
};
use crate::http::error::Problem;
use crate::notify::held;
use crate::notify::route::session_window_key;
use crate::pipeline::Gateway;
use crate::supervisor::Supervisor;

/// One batch of replies to one WhatsApp user.
struct Outgoing {
    to: String,
    replies: Vec<Reply>,
}

/// The WhatsApp transport.
pub(crate) struct Whatsapp {
    config: WhatsappConfig,
    client: reqwest::Client,
    engine: Arc<Engine>,
    dedupe: Arc<Dedupe>,
    deferred: Arc<Deferred>,
    gateway: Arc<Gateway>,
    /// Redis, for the answers held for citizens outside the window (`notify::held`).
    redis: crate::redis_handle::Redis,
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
                Ok(r) if r.status().is_success() => return true,
                Ok(r) => {
                    tracing::warn!(
                        status = r.status().as_u16(),
                        attempt,
                        "whatsapp send refused"
                    );
                    if r.status().is_client_error() {
                        return false;
                    }
                }
                Err(e) => tracing::warn!(error = %e.without_url(), attempt, "whatsapp send failed"),
            }
            tokio::time::sleep(std::time::Duration::from_millis(500 * attempt)).await;
        }
        false
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
    async fn take_message(&self, message: &Value) -> Result<(), EngineError> {
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
        let replies: Vec<Reply> = held
            .iter()
            .flat_map(|answer| answer.messages(MAX_TEXT - 512))
            .map(|text| Reply {
                text,
                ..Reply::default()
            })
            .collect();
        // Sent before the answers are forgotten: a crash in between sends them again at
        // the citizen's next message; they are never lost.
        for reply in &replies {
            if !self.send(from, reply).await {
                tracing::warn!("whatsapp held answer not sent; kept for the next message");
                return Ok(true);
            }
        }
        if held::delivered(&mut conn, self.redis.keys(), subject, &held)
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

/// The Graph API body of one reply.
fn message_body(to: &str, reply: &Reply) -> Value {
    let base = |kind: &str| json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": kind});
    let mut body;
    if let Ask::Location(_) = reply.ask {
        body = base("interactive");
        body["interactive"] = json!({
            "type": "location_request_message",
            "body": {"text": truncate(&reply.text, MAX_INTERACTIVE_BODY)},
            "action": {"name": "send_location"}
        });
    } else if !reply.buttons.is_empty() && reply.buttons.len() <= MAX_BUTTONS {
        body = base("interactive");
        let buttons: Vec<Value> = reply
            .buttons
            .iter()
            .map(|b| json!({"type": "reply", "reply": {"id": b.id, "title": truncate(&b.title, MAX_BUTTON_TITLE)}}))
            .collect();
        body["interactive"] = json!({
            "type": "button",
            "body": {"text": truncate(&reply.text, MAX_INTERACTIVE_BODY)},
            "action": {"buttons": buttons}
        });
    } else if let Some(list) = reply.list.as_ref().filter(|_| !reply.buttons.is_empty()) {
        body = base("interactive");
        body["interactive"] = list_message(&reply.text, &reply.buttons, list);
    } else {
        // More choices than reply buttons allow: a numbered list, answered by number.
        let mut text = reply.text.clone();
        for (i, b) in reply.buttons.iter().enumerate() {
            text.push_str(&format!("\n{}. {}", i + 1, b.title));
        }
        body = base("text");
        body["text"] = json!({"preview_url": true, "body": truncate(&text, MAX_TEXT)});
    }
    body
}

/// Rows of an interactive list (Cloud API limit, over all sections).
const MAX_ROWS: usize = 10;
/// Characters of a row's title, of its description, of the list's button (Cloud API
/// limits).
const MAX_ROW_TITLE: usize = 24;
const MAX_ROW_DESCRIPTION: usize = 72;
const MAX_LIST_BUTTON: usize = 20;

/// An interactive list of the choices: up to ten rows; with more, the first nine and
/// "Other…" (`more:<index>`, which brings the rest). Rows are numbered as the choices
/// are, so that typing the number works as well; a title cut to the row's 24
/// characters is given whole in the description.
fn list_message(text: &str, buttons: &[Button], list: &ListLabels) -> Value {
    let first = list.first_number.max(1);
    let shown = if buttons.len() > MAX_ROWS {
        MAX_ROWS - 1
    } else {
        buttons.len()
    };
    let mut rows: Vec<Value> = buttons[..shown]
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let title = format!("{}. {}", first + i, b.title);
            let mut row = json!({"id": b.id, "title": shorten(&title, MAX_ROW_TITLE)});
            if title.chars().count() > MAX_ROW_TITLE {
                row["description"] = json!(truncate(&b.title, MAX_ROW_DESCRIPTION));
            }
            row
        })
        .collect();
    if shown < buttons.len() {
        rows.push(json!({
            "id": format!("more:{}", first - 1 + shown),
            "title": truncate(&list.more, MAX_ROW_TITLE),
        }));
    }
    json!({
        "type": "list",
        "body": {"text": truncate(text, MAX_INTERACTIVE_BODY)},
        "action": {
            "button": truncate(&list.open, MAX_LIST_BUTTON),
            "sections": [{"title": truncate(&list.open, MAX_ROW_TITLE), "rows": rows}],
        }
    })
}

/// `text` within `max` characters, an ellipsis marking a cut.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut short: String = text.chars().take(max.saturating_sub(1)).collect();
    short.truncate(short.trim_end().len());
    short.push('…');
    short
}

fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// Constant-time check of `X-Hub-Signature-256` over the raw body.
pub(crate) fn signature_valid(app_secret: &[u8], body: &[u8], header: Option<&str>) -> bool {
    let Some(hex_sig) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(signature) = hex::decode(hex_sig) else {
        return false;
    };
    let Ok(mut mac) = HmacSha256::new_from_slice(app_secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&signature).is_ok()
}

/// Equal strings, compared in constant time (as digests, so the length does not show).
fn same_secret(a: &str, b: &str) -> bool {
    let a: [u8; 32] = Sha256::digest(a.as_bytes()).into();
    let b: [u8; 32] = Sha256::digest(b.as_bytes()).into();
    bool::from(a.ct_eq(&b))
}

/// Registers `GET` and `POST /whatsapp/webhook` when the line is on.
pub(crate) fn configure(cfg: &mut web::ServiceConfig, whatsapp: Option<web::Data<Whatsapp>>) {
    if let Some(whatsapp) = whatsapp {
        cfg.app_data(whatsapp)
            .route("/whatsapp/webhook", web::get().to(verify))
            .route("/whatsapp/webhook", web::post().to(webhook));
    }
}

/// `GET /whatsapp/webhook`: the verification handshake.
async fn verify(
    whatsapp: web::Data<Whatsapp>,
    query: web::Query<Vec<(String, String)>>,
) -> HttpResponse {
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let token_ok =
        param("hub.verify_token").is_some_and(|t| same_secret(t, &whatsapp.config.verify_token));
    match (param("hub.mode"), token_ok, param("hub.challenge")) {
        (Some("subscribe"), true, Some(challenge)) if challenge.len() <= 256 => HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            // The echo is the caller's text: never let a browser sniff it into HTML.
            .insert_header(("X-Content-Type-Options", "nosniff"))
            .body(challenge.to_owned()),
        _ => {
            tracing::warn!("whatsapp verification refused");
            HttpResponse::Forbidden().finish()
        }
    }
}

/// `POST /whatsapp/webhook`: signed notifications of messages and statuses.
async fn webhook(
    whatsapp: web::Data<Whatsapp>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let header = req
        .headers()
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    if !signature_valid(whatsapp.config.app_secret.as_bytes(), &body, header) {
        // Logged without the payload: it is unauthenticated and may hold anything.
        tracing::warn!(
            signed = header.is_some(),
            "whatsapp webhook refused: bad signature"
        );
        whatsapp.gateway.refused(Channel::Whatsapp, "bad_signature");
        return actix_web::ResponseError::error_response(&Problem::bad_signature(
            "X-Hub-Signature-256",
            crate::http::language_of(&req),
        ));
    }
    let Ok(payload) = serde_json::from_slice::<Value>(&body) else {
        tracing::warn!("whatsapp webhook: body is not JSON");
        return HttpResponse::BadRequest().finish();
    };
    let mut statuses = 0usize;
    for change in payload["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|e| e["changes"].as_array().into_iter().flatten())
    {
        let value = &change["value"];
        if value["metadata"]["phone_number_id"]
            .as_str()
            .is_some_and(|id| id != whatsapp.config.phone_number_id)
        {
            continue;
        }
        // Delivery receipts of what the gateway sent: counted, never taken for messages.
        for status in value["statuses"].as_array().into_iter().flatten() {
            statuses += 1;
            whatsapp.gateway.bot_ignored(Channel::Whatsapp, "status");
            if status["status"] == "failed" {
                tracing::warn!("whatsapp reports a reply as failed");
            }
        }
        for message in value["messages"].as_array().into_iter().flatten() {
            if let Err(e) = whatsapp.take_message(message).await {
                tracing::error!(error = %e, "whatsapp message not handled; the provider will retry");
                return HttpResponse::ServiceUnavailable()
                    .insert_header(("Retry-After", "5"))
                    .finish();
            }
        }
    }
    if statuses > 0 {
        tracing::debug!(statuses, "whatsapp statuses received");
    }
    HttpResponse::Ok().finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_checked_over_the_raw_body() {
        let body = br#"{"object":"whatsapp_business_account"}"#;
        let mut mac = HmacSha256::new_from_slice(b"app-secret").expect("key");
        mac.update(body);
        let good = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        assert!(signature_valid(b"app-secret", body, Some(&good)));
        assert!(!signature_valid(b"other-secret", body, Some(&good)));
        assert!(!signature_valid(b"app-secret", b"{}", Some(&good)));
        assert!(!signature_valid(b"app-secret", body, None));
        assert!(!signature_valid(b"app-secret", body, Some("sha256=zz")));
    }

    #[test]
    fn a_long_choice_is_a_list_of_nine_rows_and_other() {
        let labels = ListLabels {
            open: "Categories".into(),
            more: "Other…".into(),
            first_number: 1,
        };
        let buttons: Vec<Button> = (1..=14)
            .map(|i| Button {
                id: format!("cat:{i}"),
                title: format!("Construction quality and safety {i}"),
            })
            .collect();
        let list = list_message("Choose", &buttons, &labels);
        let rows = list["action"]["sections"][0]["rows"]
            .as_array()
            .expect("rows");
        assert_eq!(rows.len(), 10);
        assert_eq!(rows[0]["title"], "1. Construction quality…");
        assert_eq!(rows[0]["description"], "Construction quality and safety 1");
        assert_eq!(rows[9]["id"], "more:9");
        let rest = ListLabels {
            first_number: 10,
            ..labels
        };
        let page = list_message("Choose", &buttons[9..], &rest);
        let rows = page["action"]["sections"][0]["rows"]
            .as_array()
            .expect("rows");
        assert_eq!(rows.len(), 5);
        assert!(
            rows[4]["title"]
                .as_str()
                .unwrap_or_default()
                .starts_with("14.")
        );
    }

    #[test]
    fn more_choices_than_buttons_become_a_numbered_list() {
        let reply = Reply {
            text: "Choose".into(),
            buttons: (1..=5)
                .map(|i| crate::dialogue::Button {
                    id: format!("cat:{i}"),
                    title: format!("Category {i}"),
                })
                .collect(),
            ask: Ask::Nothing,
            list: None,
        };
        let body = message_body("77011234567", &reply);
        assert_eq!(body["type"], "text");
        assert!(
            body["text"]["body"]
                .as_str()
                .unwrap_or_default()
                .contains("\n5. Category 5")
        );
    }
}
