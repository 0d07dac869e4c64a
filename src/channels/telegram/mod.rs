//! Telegram, over the Bot API with `teloxide`: a thin transport of the bot dialogue
//! ([`crate::dialogue`]).
//!
//! Two modes (`GATEWAY_TELEGRAM_MODE`):
//! - `webhook` (default): `POST /telegram/webhook`. Telegram sends the secret given at
//!   `setWebhook` in `X-Telegram-Bot-Api-Secret-Token`; it is compared in constant time
//!   before the body is read as an `Update`, and a webhook configured without a secret
//!   refuses to start (an unauthenticated webhook lets anyone inject messages).
//!   teloxide's own webhook server is axum-only, so the update is received here, in
//!   actix-web, and parsed with teloxide's types.
//! - `polling`: `getUpdates` in a loop, for small deployments without a public URL.
//!
//! Only private chats are conversations: in a group the bot says once that appeals are
//! taken privately and keeps nothing (a draft keyed to a group would be moved on by any
//! member, in front of everyone). Voice notes, videos and other kinds it cannot take get
//! one short answer and the question again; edits, reactions, service messages and
//! commands addressed to another bot (`/cmd@other_bot`; our name from `getMe`) are
//! counted by kind (`gateway_bot_ignored_total`) and never answered, and an update
//! teloxide cannot read is logged by kind and id only.
//!
//! Photos are claimed (dedupe) before any download and fetched after the webhook has
//! answered ([`crate::dialogue::deferred`]). They are fetched with `getFile` and hashed, never kept; the Bot API serves files up
//! to 20 MB, and a larger one is refused politely while the message's text is kept.
//! Replies go out through teloxide's `Bot` (its API URL set by
//! `GATEWAY_TELEGRAM_API_URL`), in order, by one sender task.

use std::sync::Arc;
use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, web};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use teloxide::prelude::*;
use teloxide::types::{
    ButtonRequest, CallbackQueryId, FileMeta, InlineKeyboardButton, InlineKeyboardMarkup,
    KeyboardButton, KeyboardMarkup, MediaKind, Message, MessageKind, ReplyMarkup, Update,
    UpdateKind,
};
use tokio::sync::mpsc;

pub(crate) mod component;
pub(crate) mod route;
pub(crate) mod settings;

use self::settings::{Mode, TelegramConfig};

/// Largest file the Bot API lets a bot download (`getFile`).
pub(crate) const MAX_PHOTO_BYTES: u64 = 20 * 1024 * 1024;
/// Long-polling wait, in seconds (below teloxide's client timeout).
const POLL_TIMEOUT_SECS: u32 = 10;

use crate::appeal::{Channel, Language};
use crate::dialogue::dedupe::Dedupe;
use crate::dialogue::deferred::Deferred;
use crate::dialogue::{
    Ask, Engine, EngineError, Event, Inbound, PhotoResult, Reply, Unsupported, first_time, photo,
    user_key,
};
use crate::http::error::Problem;
use crate::pipeline::Gateway;
use crate::supervisor::Supervisor;

enum Outgoing {
    Replies { chat: i64, replies: Vec<Reply> },
    AnswerCallback(CallbackQueryId),
}

/// The Telegram transport.
pub(crate) struct Telegram {
    config: TelegramConfig,
    bot: Bot,
    client: reqwest::Client,
    engine: Arc<Engine>,
    dedupe: Arc<Dedupe>,
    deferred: Arc<Deferred>,
    gateway: Arc<Gateway>,
    /// The bot's own username (`getMe`), to tell commands addressed to other bots.
    username: tokio::sync::OnceCell<String>,
    outgoing: mpsc::UnboundedSender<Outgoing>,
    queued: std::sync::Mutex<Option<mpsc::UnboundedReceiver<Outgoing>>>,
}

impl Telegram {
    pub(crate) fn new(
        config: TelegramConfig,
        engine: Arc<Engine>,
        dedupe: Arc<Dedupe>,
        deferred: Arc<Deferred>,
        gateway: Arc<Gateway>,
    ) -> Telegram {
        let bot = Bot::new(config.token.clone()).set_api_url(config.api_url.clone());
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap_or_default();
        let (outgoing, queued) = mpsc::unbounded_channel();
        Telegram {
            config,
            bot,
            client,
            engine,
            dedupe,
            deferred,
            gateway,
            username: tokio::sync::OnceCell::new(),
            outgoing,
            queued: std::sync::Mutex::new(Some(queued)),
        }
    }

    /// Starts the sender task, the worker of deferred messages and, in polling mode,
    /// the poller (once; inside the runtime), each owned by `tasks`: at the shutdown
    /// the sender sends what is queued, the worker finishes the message it holds, the
    /// poller stops between updates.
    pub(crate) fn start(self: &Arc<Self>, tasks: &mut Supervisor) {
        let queued = self.queued.lock().ok().and_then(|mut q| q.take());
        let Some(queued) = queued else {
            return;
        };
        let this = Arc::clone(self);
        tasks.spawn(
            "telegram-sender",
            crate::supervisor::drain(queued, tasks.shutdown(), move |out| {
                let this = Arc::clone(&this);
                async move {
                    match out {
                        Outgoing::AnswerCallback(id) => {
                            if let Err(e) = this.bot.answer_callback_query(id).await {
                                tracing::debug!(error = describe(&e), "answerCallbackQuery failed");
                            }
                        }
                        Outgoing::Replies { chat, replies } => {
                            for reply in &replies {
                                this.send(chat, reply).await;
                            }
                        }
                    }
                }
            }),
        );
        let this = Arc::clone(self);
        tasks.spawn(
            "telegram-deferred",
            Arc::clone(&self.deferred).run("telegram", tasks.shutdown(), move |payload| {
                let this = Arc::clone(&this);
                async move { this.take_deferred(payload).await }
            }),
        );
        match self.config.mode {
            Mode::Webhook => tracing::info!("telegram channel on (webhook)"),
            Mode::Polling => {
                tracing::info!("telegram channel on (long polling)");
                let this = Arc::clone(self);
                let mut shutdown = tasks.shutdown();
                tasks.spawn("telegram-poller", async move {
                    tokio::select! {
                        () = this.poll() => {}
                        () = shutdown.stopped() => {}
                    }
                });
            }
        }
    }

    /// Long polling: `getUpdates` with the offset of the last update taken.
    async fn poll(&self) {
        // getUpdates is refused while a webhook is set.
        if let Err(e) = self.bot.delete_webhook().await {
            tracing::warn!(error = describe(&e), "deleteWebhook failed");
        }
        let mut offset: i32 = 0;
        loop {
            let updates = self
                .bot
                .get_updates()
                .offset(offset)
                .timeout(POLL_TIMEOUT_SECS)
                .await;
            match updates {
                Ok(updates) => {
                    for update in updates {
                        let next = i32::try_from(update.id.0)
                            .unwrap_or(i32::MAX)
                            .saturating_add(1);
                        // A failed update is fetched again (the offset stays) after a pause.
                        if self.take(update).await.is_err() {
                            tokio::time::sleep(Duration::from_secs(1)).await;
                            break;
                        }
                        offset = next;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = describe(&e), "telegram getUpdates failed");
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
            }
        }
    }

    /// Takes one update exactly once and queues its replies. Only messages and button
    /// presses of private chats reach the dialogue; every other kind is counted by kind
    /// (`gateway_bot_ignored_total`) and left unanswered. A photo, and whatever of the
    /// same chat follows it while it waits, is taken after the webhook has answered
    /// ([`crate::dialogue::deferred`]).
    async fn take(&self, update: Update) -> Result<(), EngineError> {
        let delivery = format!("telegram:{}", update.id.0);
        let Some(chat) = self.private_chat(&update).await else {
            return Ok(());
        };
        let user = user_key(&self.gateway, Channel::Telegram, &chat.to_string());
        let photo = matches!(&update.kind, UpdateKind::Message(m) if photo_of(m).is_some());
        if photo || self.deferred.waiting(&user).await? {
            // Claimed before any download.
            if !first_time(&self.gateway, &self.dedupe, &delivery, Channel::Telegram).await? {
                return Ok(());
            }
            let payload = serde_json::to_string(&update).unwrap_or_default();
            if let Err(e) = self
                .deferred
                .push(Channel::Telegram.as_str(), &user, &payload)
                .await
            {
                self.dedupe.release(&delivery).await;
                return Err(e.into());
            }
            if let UpdateKind::CallbackQuery(query) = update.kind {
                let _ = self.outgoing.send(Outgoing::AnswerCallback(query.id));
            }
            return Ok(());
        }
        let Some((chat, inbound, callback)) = self.inbound_of(update).await else {
            return Ok(());
        };
        let replies = self
            .engine
            .take(&self.gateway, &self.dedupe, &delivery, inbound)
            .await?;
        if let Some(id) = callback {
            let _ = self.outgoing.send(Outgoing::AnswerCallback(id));
        }
        if let Some(replies) = replies {
            let _ = self.outgoing.send(Outgoing::Replies { chat, replies });
        }
        Ok(())
    }

    /// The private chat an update belongs to; `None` for everything the dialogue does
    /// not take (counted by kind; a group is invited once to write privately).
    async fn private_chat(&self, update: &Update) -> Option<i64> {
        let update_id = update.id.0;
        match &update.kind {
            UpdateKind::Message(message) => {
                if let Some(text) = message.text()
                    && self.for_another_bot(text).await
                {
                    self.gateway
                        .bot_ignored(Channel::Telegram, "command_for_other_bot");
                    return None;
                }
                if !message.chat.is_private() {
                    self.invite_group(message).await;
                    return None;
                }
                if !matches!(message.kind, MessageKind::Common(_)) {
                    self.gateway
                        .bot_ignored(Channel::Telegram, "service_message");
                    return None;
                }
                Some(message.chat.id.0)
            }
            UpdateKind::CallbackQuery(query) => {
                let private = query.message.as_ref().is_none_or(|m| m.chat().is_private());
                let chat = query
                    .message
                    .as_ref()
                    .map(|m| m.chat().id.0)
                    .or_else(|| i64::try_from(query.from.id.0).ok())
                    .filter(|_| private);
                if chat.is_none() {
                    // A button under a message in a group: the spinner stops, nothing
                    // is kept.
                    let _ = self
                        .outgoing
                        .send(Outgoing::AnswerCallback(query.id.clone()));
                    self.gateway.bot_ignored(Channel::Telegram, "group_chat");
                }
                chat
            }
            UpdateKind::Error(raw) => {
                let kind = kind_of(raw);
                tracing::warn!(
                    kind = crate::metrics::label(&kind),
                    update_id,
                    "telegram update not understood"
                );
                self.gateway.bot_ignored(Channel::Telegram, "unparsable");
                None
            }
            other => {
                let kind = serde_json::to_value(other)
                    .map(|v| kind_of(&v))
                    .unwrap_or_default();
                tracing::debug!(
                    kind = crate::metrics::label(&kind),
                    update_id,
                    "telegram update ignored"
                );
                self.gateway.bot_ignored(Channel::Telegram, &kind);
                None
            }
        }
    }

    /// The chat, the event (a photo fetched) and the callback query to answer.
    async fn inbound_of(&self, update: Update) -> Option<(i64, Inbound, Option<CallbackQueryId>)> {
        match update.kind {
            UpdateKind::Message(message) => {
                let chat = message.chat.id.0;
                let event = match (photo_of(&message), &message.kind) {
                    (Some((file, content_type)), _) => Event::Photo {
                        photo: self.fetch(&file, &content_type).await,
                        caption: message.caption().map(str::to_owned),
                    },
                    (None, MessageKind::Common(common)) => event_of(&message, &common.media_kind),
                    (None, _) => return None,
                };
                Some((chat, inbound(chat, hint_of(&message), event), None))
            }
            UpdateKind::CallbackQuery(query) => {
                let chat = query
                    .message
                    .as_ref()
                    .map(|m| m.chat().id.0)
                    .or_else(|| i64::try_from(query.from.id.0).ok())?;
                let hint = query.from.language_code.as_deref().and_then(language_of);
                let event = match query.data {
                    Some(data) => Event::Button(data),
                    None => Event::Other,
                };
                Some((chat, inbound(chat, hint, event), Some(query.id)))
            }
            _ => None,
        }
    }

    /// A message in a group: appeals are taken only in private chats (a draft keyed to
    /// the group would be moved on by any member, and phones and names typed in front
    /// of everyone). The group is told so once, and nothing of the message is kept.
    async fn invite_group(&self, message: &Message) {
        self.gateway.bot_ignored(Channel::Telegram, "group_chat");
        if message.chat.is_channel() {
            return;
        }
        let chat = message.chat.id.0;
        let group = self
            .gateway
            .subject_key("messenger_id", &format!("telegram-group:{chat}"));
        let first = self
            .dedupe
            .first_mark(
                &crate::keyspace::name::group_invited(&group),
                GROUP_INVITE_TTL,
            )
            .await;
        if first {
            let lang = hint_of(message).unwrap_or(Language::Ru);
            let text = crate::i18n::MESSAGES.text(lang, "bot-group-invite", &[]);
            let _ = self.outgoing.send(Outgoing::Replies {
                chat,
                replies: vec![Reply {
                    text,
                    ..Reply::default()
                }],
            });
        }
    }

    /// Whether `text` is a command addressed to another bot (`/test@other_bot`, as in
    /// a group with several bots). Our own name comes from `getMe`, asked once; while
    /// it is unknown every addressed command is taken for ours.
    async fn for_another_bot(&self, text: &str) -> bool {
        let Some(word) = text
            .split_whitespace()
            .next()
            .filter(|w| w.starts_with('/'))
        else {
            return false;
        };
        let Some((_, addressee)) = word.split_once('@') else {
            return false;
        };
        let me = self
            .username
            .get_or_try_init(|| async {
                self.bot.get_me().await.map(|me| me.username().to_owned())
            })
            .await;
        match me {
            Ok(name) => !addressee.eq_ignore_ascii_case(name),
            Err(e) => {
                tracing::warn!(error = describe(&e), "telegram getMe failed");
                false
            }
        }
    }

    /// Takes a deferred update (a photo fetched now); `false` when the conversation
    /// could not be stored (taken again later).
    async fn take_deferred(&self, payload: String) -> bool {
        let Ok(update) = serde_json::from_str::<Update>(&payload) else {
            tracing::warn!("telegram deferred update not understood");
            self.gateway.bot_ignored(Channel::Telegram, "unparsable");
            return true;
        };
        let Some((chat, inbound, _)) = self.inbound_of(update).await else {
            return true;
        };
        match self.engine.handle(&self.gateway, inbound).await {
            Ok(replies) => {
                let _ = self.outgoing.send(Outgoing::Replies { chat, replies });
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "telegram update not handled; taken again later");
                false
            }
        }
    }

    /// `getFile`, then the download, both under the Bot API's 20 MB limit.
    async fn fetch(&self, file: &FileMeta, content_type: &str) -> PhotoResult {
        let too_large = PhotoResult::TooLarge {
            limit_mb: MAX_PHOTO_BYTES / (1024 * 1024),
        };
        if u64::from(file.size) > MAX_PHOTO_BYTES {
            return too_large;
        }
        let found = match self.bot.get_file(file.id.clone()).await {
            Ok(found) => found,
            Err(e) if e.to_string().to_lowercase().contains("too big") => return too_large,
            Err(e) => {
                tracing::warn!(error = describe(&e), "telegram getFile failed");
                return PhotoResult::Unavailable;
            }
        };
        if u64::from(found.meta.size) > MAX_PHOTO_BYTES {
            return too_large;
        }
        let mut url = self.config.api_url.clone();
        let base = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!(
            "{base}/file/bot{}/{}",
            self.config.token, found.path
        ));
        photo::fetch(
            &self.client,
            url.as_str(),
            None,
            content_type,
            MAX_PHOTO_BYTES,
        )
        .await
    }

    /// Sends one reply. A failure is logged without the text.
    async fn send(&self, chat: i64, reply: &Reply) {
        let mut request = self.bot.send_message(ChatId(chat), reply.text.clone());
        let markup = match &reply.ask {
            Ask::Location(title) => Some(ReplyMarkup::Keyboard(
                KeyboardMarkup::new(vec![vec![
                    KeyboardButton::new(title.clone()).request(ButtonRequest::Location),
                ]])
                .resize_keyboard()
                .one_time_keyboard(),
            )),
            Ask::Contact(title) => Some(ReplyMarkup::Keyboard(
                KeyboardMarkup::new(vec![vec![
                    KeyboardButton::new(title.clone()).request(ButtonRequest::Contact),
                ]])
                .resize_keyboard()
                .one_time_keyboard(),
            )),
            Ask::Nothing if reply.buttons.is_empty() => None,
            Ask::Nothing => {
                let button = |b: &crate::dialogue::Button| {
                    InlineKeyboardButton::callback(b.title.clone(), b.id.clone())
                };
                // A few short choices side by side; a long list one per row.
                let rows: Vec<Vec<InlineKeyboardButton>> = if reply.buttons.len() <= 3 {
                    vec![reply.buttons.iter().map(button).collect()]
                } else {
                    reply.buttons.iter().map(|b| vec![button(b)]).collect()
                };
                Some(ReplyMarkup::InlineKeyboard(InlineKeyboardMarkup::new(rows)))
            }
        };
        if let Some(markup) = markup {
            request = request.reply_markup(markup);
        }
        if let Err(e) = request.await {
            tracing::warn!(error = describe(&e), "telegram sendMessage failed");
        }
    }
}

/// How long a group remembers that it was told to write privately.
const GROUP_INVITE_TTL: Duration = Duration::from_secs(90 * 24 * 3600);

fn inbound(chat: i64, hint: Option<Language>, event: Event) -> Inbound {
    Inbound {
        channel: Channel::Telegram,
        user: chat.to_string(),
        language_hint: hint,
        sender_phone: None,
        event,
    }
}

/// The language the sender's Telegram app is set to.
fn hint_of(message: &Message) -> Option<Language> {
    message
        .from
        .as_ref()
        .and_then(|u| u.language_code.as_deref())
        .and_then(language_of)
}

/// The kind of an update or message as the Bot API names it: its first field other than
/// `update_id` (`edited_message`, `message_reaction`, …).
fn kind_of(raw: &serde_json::Value) -> String {
    raw.as_object()
        .and_then(|o| o.keys().find(|k| k.as_str() != "update_id").cloned())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The photo of a message, if it has one: the largest size of a compressed photo (the
/// Bot API lists them smallest first), or a document of an image type (a photo sent
/// "as a file" keeps its full size).
fn photo_of(message: &Message) -> Option<(FileMeta, String)> {
    if let Some(largest) = message
        .photo()
        .and_then(|sizes| sizes.iter().max_by_key(|p| p.file.size))
    {
        return Some((largest.file.clone(), "image/jpeg".to_owned()));
    }
    let document = message.document()?;
    let mime = document
        .mime_type
        .as_ref()
        .filter(|m| m.type_() == "image")?;
    Some((document.file.clone(), mime.essence_str().to_owned()))
}

/// The event of a message without media to fetch.
fn event_of(message: &Message, media: &MediaKind) -> Event {
    if let Some(text) = message.text() {
        return Event::Text(text.to_owned());
    }
    match media {
        MediaKind::Location(l) => Event::Location {
            lat: l.location.latitude,
            lon: l.location.longitude,
            address: None,
        },
        MediaKind::Venue(v) => Event::Location {
            lat: v.venue.location.latitude,
            lon: v.venue.location.longitude,
            address: Some(v.venue.address.clone()),
        },
        MediaKind::Contact(c) => Event::Contact(c.contact.phone_number.clone()),
        // Regulation 5.1: a voice or a face is not on the allowlist.
        MediaKind::Voice(_)
        | MediaKind::VideoNote(_)
        | MediaKind::Video(_)
        | MediaKind::Audio(_) => Event::Unsupported(Unsupported::VoiceOrVideo),
        _ => Event::Unsupported(Unsupported::Other),
    }
}

fn language_of(code: &str) -> Option<Language> {
    Language::parse(code.split(['-', '_']).next().unwrap_or(code))
}

/// Registers `POST /telegram/webhook` when the bot is on.
pub(crate) fn configure(cfg: &mut web::ServiceConfig, telegram: Option<web::Data<Telegram>>) {
    if let Some(telegram) = telegram {
        cfg.app_data(telegram)
            .route("/telegram/webhook", web::post().to(webhook));
    }
}

/// `POST /telegram/webhook`.
async fn webhook(
    telegram: web::Data<Telegram>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let Some(secret) = telegram.config.webhook_secret.as_deref() else {
        return HttpResponse::NotFound().finish();
    };
    let presented = req
        .headers()
        .get("x-telegram-bot-api-secret-token")
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    let presented: [u8; 32] = Sha256::digest(presented).into();
    let expected: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
    if !bool::from(presented.ct_eq(&expected)) {
        // Logged without the payload: it is unauthenticated and may hold anything.
        tracing::warn!("telegram webhook refused: wrong or missing secret token");
        telegram.gateway.refused(Channel::Telegram, "bad_secret");
        return actix_web::ResponseError::error_response(&Problem::bad_signature(
            "X-Telegram-Bot-Api-Secret-Token",
            crate::http::language_of(&req),
        ));
    }
    let Ok(raw) = serde_json::from_slice::<serde_json::Value>(&body) else {
        tracing::warn!("telegram webhook: body is not JSON");
        return HttpResponse::BadRequest().finish();
    };
    // Parsed from the bytes: teloxide's `Update` does not read from a `Value`.
    let mut update: Update = match serde_json::from_slice(&body) {
        Ok(update) => update,
        Err(_) => {
            let update_id = raw["update_id"].as_i64();
            let kind = kind_of(&raw);
            // Answered 200 (a retry would not parse better), but never silently: the
            // kind and the id only, the content may be anyone's.
            tracing::warn!(
                kind = crate::metrics::label(&kind),
                update_id,
                "telegram update not understood"
            );
            telegram
                .gateway
                .bot_ignored(Channel::Telegram, "unparsable");
            return HttpResponse::Ok().finish();
        }
    };
    // An update teloxide could not type keeps what is needed to log its kind.
    if let UpdateKind::Error(unread) = &mut update.kind {
        *unread = raw;
    }
    match telegram.take(update).await {
        Ok(()) => HttpResponse::Ok().finish(),
        Err(e) => {
            tracing::error!(error = %e, "telegram update not handled; the provider will retry");
            HttpResponse::ServiceUnavailable()
                .insert_header(("Retry-After", "5"))
                .finish()
        }
    }
}

/// What may be logged of a Bot API error: its kind. A network error's text names the
/// request URL, which holds the bot token; an API error can quote the chat.
fn describe(e: &teloxide::RequestError) -> &'static str {
    match e {
        teloxide::RequestError::Api(_) => "api_error",
        teloxide::RequestError::MigrateToChatId(_) => "migrate_to_chat_id",
        teloxide::RequestError::RetryAfter(_) => "retry_after",
        teloxide::RequestError::Network(_) => "network",
        teloxide::RequestError::InvalidJson { .. } => "invalid_json",
        teloxide::RequestError::Io(_) => "io",
    }
}
