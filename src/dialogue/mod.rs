//! The bot dialogue: one conversation that takes an appeal in a few messages, shared by
//! the Telegram and WhatsApp transports (`crate::channels::telegram`,
//! `crate::channels::whatsapp`), which only turn their provider's payloads into
//! [`Inbound`] events and [`Reply`]s into provider calls.
//!
//! The conversation is a state machine ([`Step`]): language → consent (regulation one tap
//! away, "I agree" / "No"; `method: bot_button`) → category (the catalogue as buttons) →
//! text → location (shared or typed) → optional photos → contact (Telegram's "share
//! phone"; WhatsApp's sender number) → name → summary ("Send" / "Edit" / "Cancel") →
//! tracking number. Commands work at any step: `/start`, `/cancel`, `/status`,
//! `/language`, `/revoke` (withdraw consent, regulation 4.1 and 9.2), `/stop` (no more
//! notifications, regulation 6.2).
//!
//! Every change is stored in Redis ([`store`]) before the transport answers, so the
//! next update of the chat continues the conversation on whichever instance it lands,
//! and two updates of one chat are applied one after the other. A draft untouched for
//! 24 hours expires ([`ABANDONED_AFTER`]; regulation 6.9: keep nothing longer than the
//! purpose needs), and "No" to consent keeps nothing at all.

pub(crate) mod dedupe;
pub(crate) mod deferred;
pub(crate) mod photo;
pub mod store;

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::appeal::{Channel, ConsentMethod, Language, Location, Purpose, ReplyChannel};
use crate::i18n::MESSAGES;
use crate::intake::{Intake, RawAttachment, RawConsent};
use crate::normalize;
use crate::pipeline::IdempotencyClaim;
use crate::pipeline::{Gateway, SubmitError};
use crate::subject::{RawIdentifiers, SubjectIntake, SubjectRequestKind, VerifiedBy};

use store::{Store, StoreError};

/// A draft untouched this long is erased.
pub(crate) const ABANDONED_AFTER: Duration = Duration::from_secs(24 * 3600);
/// Photos a conversation takes: the smaller of the two bots' `attachments.max_count`
/// (`channels/telegram.toml`, `channels/whatsapp.toml`), so it reads the same on both.
fn max_photos(gw: &Gateway) -> usize {
    let limit = |channel| gw.policy(channel).max_attachments;
    limit(Channel::Telegram).min(limit(Channel::Whatsapp))
}
/// Stripes of the per-user lock: two messages of one user are handled one at a time.
const LOCK_STRIPES: usize = 64;
/// Tracking numbers remembered per user for `/status`.
const REMEMBERED_APPEALS: usize = 10;

/// Seconds since the epoch.
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Where a conversation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Step {
    #[default]
    Idle,
    Language,
    Consent,
    Category,
    Text,
    Location,
    Photos,
    Contact,
    Name,
    Summary,
}

/// A photo as the transport described it (the bytes are not kept).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Photo {
    pub(crate) content_type: String,
    pub(crate) size: u64,
    pub(crate) sha256: String,
}

/// What the citizen has said so far; exists only after "I agree".
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Draft {
    /// A ULID: the appeal's idempotency key, so a double "Send" makes one appeal.
    pub(crate) id: String,
    /// When "I agree" was pressed (RFC 3339).
    pub(crate) consent_at: String,
    pub(crate) category: Option<String>,
    pub(crate) text: Option<String>,
    pub(crate) location: Option<Location>,
    pub(crate) photos: Vec<Photo>,
    pub(crate) phone: Option<String>,
    pub(crate) name: Option<String>,
}

/// One user's conversation, as stored.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Conversation {
    pub(crate) language: Option<Language>,
    pub(crate) step: Step,
    /// The step to go back to after `/language`.
    #[serde(default)]
    pub(crate) resume: Option<Step>,
    pub(crate) draft: Option<Draft>,
    /// Tracking numbers of the user's appeals, newest last (for `/status`).
    pub(crate) appeals: Vec<String>,
    /// Seconds since the epoch of the last change.
    pub(crate) updated_at: u64,
}

impl Conversation {
    /// Whether an unfinished conversation (personal data in a draft) is held.
    pub(crate) fn has_draft(&self) -> bool {
        self.draft.is_some() || self.step != Step::Idle
    }
}

/// What a photo came to.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PhotoResult {
    Fetched(Photo),
    /// Over the provider's limit (in MB): the citizen is told, the text is kept.
    TooLarge {
        limit_mb: u64,
    },
    Unavailable,
}

/// One thing the citizen did.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Event {
    Text(String),
    /// A button's id (Telegram callback data, WhatsApp button reply id).
    Button(String),
    Location {
        lat: f64,
        lon: f64,
        address: Option<String>,
    },
    Photo {
        photo: PhotoResult,
        caption: Option<String>,
    },
    /// A shared contact's phone number.
    Contact(String),
    /// A kind of message the dialogue cannot take (a voice note, a sticker, a poll): the
    /// citizen is told once why, and the step is asked again.
    Unsupported(Unsupported),
    /// Anything else (a button press without data): the step is asked again.
    Other,
}

/// Why a message cannot be taken, as the citizen is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unsupported {
    /// Voice notes, round videos, videos, audio: a voice or a face is not on the
    /// regulation's allowlist (5.1), so it is refused, not stored.
    VoiceOrVideo,
    /// Stickers, documents, polls, contacts, anything else.
    Other,
}

/// An event from a transport.
#[derive(Debug, Clone)]
pub(crate) struct Inbound {
    pub(crate) channel: Channel,
    /// The chat id (Telegram) or WhatsApp id, as the provider gives it.
    pub(crate) user: String,
    /// The language the messenger reports for the user, if any.
    pub(crate) language_hint: Option<Language>,
    /// The sender's own number when the messenger gives it (WhatsApp).
    pub(crate) sender_phone: Option<String>,
    pub(crate) event: Event,
}

/// A button of a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Button {
    pub(crate) id: String,
    pub(crate) title: String,
}

/// A special request the transport renders its own way.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) enum Ask {
    #[default]
    Nothing,
    /// Ask for a location (Telegram: a "share location" keyboard button, titled).
    Location(String),
    /// Ask for the phone (Telegram: a "share contact" keyboard button, titled).
    Contact(String),
}

/// The labels of a long choice shown as a list (WhatsApp's interactive list: up to ten
/// rows behind a menu button).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct ListLabels {
    /// The button that opens the list.
    pub(crate) open: String,
    /// The last row when there are more choices than rows ("Other…"); pressing it sends
    /// `more:<index of the next choice>`.
    pub(crate) more: String,
    /// The number of the first button (the choices are numbered across pages, so that
    /// typing a number keeps working).
    pub(crate) first_number: usize,
}

/// One message to the citizen.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Reply {
    pub(crate) text: String,
    pub(crate) buttons: Vec<Button>,
    pub(crate) ask: Ask,
    /// Set for a long choice a transport may show as a list.
    pub(crate) list: Option<ListLabels>,
}

impl Reply {
    fn text(text: String) -> Reply {
        Reply {
            text,
            ..Reply::default()
        }
    }
}

/// Why an event could not be handled; the transport answers so that the provider
/// retries.
#[derive(Debug, thiserror::Error)]
pub(crate) enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the outbox is unavailable")]
    Unavailable,
}

/// The dialogue engine.
pub(crate) struct Engine {
    store: Store,
    locks: Vec<tokio::sync::Mutex<()>>,
}

fn t(language: Language, id: &str) -> String {
    MESSAGES.text(language, id, &[])
}

fn ta(language: Language, id: &str, args: &[(&str, String)]) -> String {
    MESSAGES.text(language, id, args)
}

fn button(id: &str, title: String) -> Button {
    Button {
        id: id.to_owned(),
        title,
    }
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

/// Moves the conversation on by one event. Returns whether the conversation is kept
/// (`false`: erased from the store).
async fn advance(
    gw: &Gateway,
    inbound: &Inbound,
    c: &mut Conversation,
    replies: &mut Vec<Reply>,
) -> Result<bool, EngineError> {
    let lang = c.language.or(inbound.language_hint).unwrap_or(Language::Ru);

    if let Event::Text(text) = &inbound.event
        && let Some(command) = command_of(text)
    {
        match command.as_str() {
            "/start" => {
                c.draft = None;
                c.resume = None;
                c.step = Step::Language;
                replies.push(prompt(gw, Step::Language, lang, c));
                return Ok(true);
            }
            "/cancel" => {
                c.draft = None;
                c.resume = None;
                c.step = Step::Idle;
                replies.push(Reply::text(t(lang, "bot-cancelled")));
                return Ok(!c.appeals.is_empty() || c.language.is_some());
            }
            "/status" => {
                replies.push(Reply::text(status_text(gw, lang, c).await));
                return Ok(true);
            }
            "/language" => {
                if c.step != Step::Language {
                    c.resume = Some(c.step);
                }
                c.step = Step::Language;
                replies.push(prompt(gw, Step::Language, lang, c));
                return Ok(true);
            }
            "/revoke" => {
                subject_request(gw, inbound, SubjectRequestKind::WithdrawConsent).await?;
                replies.push(Reply::text(t(lang, "bot-revoked")));
                // Regulation 4.1: the dialogue's data goes with the consent.
                return Ok(false);
            }
            "/stop" => {
                subject_request(gw, inbound, SubjectRequestKind::OptOutNotifications).await?;
                replies.push(Reply::text(t(lang, "bot-stopped")));
                return Ok(true);
            }
            // `/register HR John Doe` is no complaint's text: it is not taken as an answer.
            _ => {
                replies.push(Reply::text(t(lang, "bot-unknown-command")));
                ask_again(gw, c, lang, replies);
                return Ok(true);
            }
        }
    }

    if let Event::Unsupported(kind) = &inbound.event {
        let id = match kind {
            Unsupported::VoiceOrVideo => "bot-voice-not-accepted",
            Unsupported::Other => "bot-kind-not-accepted",
        };
        replies.push(Reply::text(t(lang, id)));
        ask_again(gw, c, lang, replies);
        return Ok(true);
    }

    match c.step {
        Step::Idle => {
            c.step = Step::Language;
            replies.push(prompt(gw, Step::Language, lang, c));
        }
        Step::Language => match choice(&inbound.event, &language_buttons()) {
            Some(id) => {
                let chosen = id
                    .strip_prefix("lang:")
                    .and_then(Language::parse)
                    .unwrap_or(lang);
                c.language = Some(chosen);
                let next = match c.resume.take() {
                    Some(step) if step != Step::Idle && step != Step::Language => step,
                    _ => Step::Consent,
                };
                go(gw, c, next, replies);
            }
            None => replies.push(prompt(gw, Step::Language, lang, c)),
        },
        Step::Consent => match choice(&inbound.event, &consent_buttons(lang)).as_deref() {
            Some("consent:yes") => {
                c.draft = Some(Draft {
                    id: ulid::Ulid::new().to_string(),
                    consent_at: crate::appeal::rfc3339(time::OffsetDateTime::now_utc()),
                    ..Draft::default()
                });
                go(gw, c, Step::Category, replies);
            }
            Some(_) => {
                // "No": end politely and keep nothing of this conversation.
                c.draft = None;
                c.step = Step::Idle;
                replies.push(Reply::text(t(lang, "bot-declined")));
                return Ok(!c.appeals.is_empty());
            }
            None => replies.push(prompt(gw, Step::Consent, lang, c)),
        },
        Step::Category => {
            let buttons = category_buttons(gw, lang);
            if let Event::Button(id) = &inbound.event
                && let Some(from) = id
                    .strip_prefix("more:")
                    .and_then(|n| n.parse::<usize>().ok())
            {
                // "Other…" of a list: the rest of the catalogue, numbered on.
                let mut reply = prompt(gw, Step::Category, lang, c);
                reply.buttons = buttons.get(from..).unwrap_or_default().to_vec();
                if let Some(list) = reply.list.as_mut() {
                    list.first_number = from + 1;
                }
                replies.push(reply);
                return Ok(true);
            }
            match choice(&inbound.event, &buttons) {
                Some(id) => {
                    let code = id.strip_prefix("cat:").unwrap_or("other").to_owned();
                    draft(c).category = Some(code);
                    go(gw, c, Step::Text, replies);
                }
                None => replies.push(prompt(gw, Step::Category, lang, c)),
            }
        }
        Step::Text => match &inbound.event {
            Event::Text(text) if !normalize::text(text).is_empty() => {
                draft(c).text = Some(text.clone());
                go(gw, c, Step::Location, replies);
            }
            Event::Photo { photo, caption } => {
                add_photo(draft(c), photo, max_photos(gw), lang, replies);
                match caption
                    .as_deref()
                    .filter(|t| !normalize::text(t).is_empty())
                {
                    // The caption is the text, kept whatever became of the photo.
                    Some(text) => {
                        draft(c).text = Some(text.to_owned());
                        go(gw, c, Step::Location, replies);
                    }
                    None => replies.push(prompt(gw, Step::Text, lang, c)),
                }
            }
            _ => replies.push(Reply::text(t(lang, "bot-need-text"))),
        },
        Step::Location => match &inbound.event {
            Event::Location { lat, lon, address } => {
                draft(c).location = Some(Location {
                    address: address.clone(),
                    lat: Some(*lat),
                    lon: Some(*lon),
                    district: None,
                });
                go(gw, c, Step::Photos, replies);
            }
            Event::Text(text) if !normalize::line(text).is_empty() => {
                draft(c).location = Some(Location {
                    address: Some(text.clone()),
                    lat: None,
                    lon: None,
                    district: None,
                });
                go(gw, c, Step::Photos, replies);
            }
            Event::Photo { photo, .. } => {
                add_photo(draft(c), photo, max_photos(gw), lang, replies);
                replies.push(prompt(gw, Step::Location, lang, c));
            }
            _ => replies.push(prompt(gw, Step::Location, lang, c)),
        },
        Step::Photos => match &inbound.event {
            Event::Photo { photo, .. } => {
                add_photo(draft(c), photo, max_photos(gw), lang, replies);
                if draft(c).photos.len() >= max_photos(gw) {
                    after_photos(gw, inbound, c, replies);
                }
            }
            _ => match choice(&inbound.event, &photos_buttons(lang)) {
                Some(_) => after_photos(gw, inbound, c, replies),
                None => replies.push(prompt(gw, Step::Photos, lang, c)),
            },
        },
        Step::Contact => {
            let typed = match &inbound.event {
                Event::Contact(phone) | Event::Text(phone) => Some(phone),
                _ => None,
            };
            match typed.map(|p| normalize::phone(p)) {
                Some(Ok(phone)) => {
                    draft(c).phone = Some(phone);
                    go(gw, c, Step::Name, replies);
                }
                Some(Err(_)) => {
                    let mut reply = prompt(gw, Step::Contact, lang, c);
                    reply.text = t(lang, "bot-invalid-phone");
                    replies.push(reply);
                }
                None => replies.push(prompt(gw, Step::Contact, lang, c)),
            }
        }
        Step::Name => match &inbound.event {
            Event::Text(name) if !normalize::line(name).is_empty() => {
                draft(c).name = Some(normalize::line(name));
                go(gw, c, Step::Summary, replies);
            }
            _ => replies.push(prompt(gw, Step::Name, lang, c)),
        },
        Step::Summary => match choice(&inbound.event, &summary_buttons(lang)).as_deref() {
            Some("summary:send") => send(gw, inbound, c, lang, replies).await?,
            Some("summary:edit") => {
                draft(c).photos.clear();
                go(gw, c, Step::Category, replies);
            }
            Some(_) => {
                c.draft = None;
                c.step = Step::Idle;
                replies.push(Reply::text(t(lang, "bot-cancelled")));
            }
            None => replies.push(prompt(gw, Step::Summary, lang, c)),
        },
    }
    Ok(true)
}

/// `/start@bot rest` → `/start`; `None` if the text is no command.
fn command_of(text: &str) -> Option<String> {
    let word = text.split_whitespace().next()?;
    if !word.starts_with('/') {
        return None;
    }
    let name = word.split('@').next().unwrap_or(word);
    Some(name.to_lowercase())
}

/// Asks the current step's question again (a conversation not yet begun starts with the
/// choice of language).
fn ask_again(gw: &Gateway, c: &mut Conversation, lang: Language, replies: &mut Vec<Reply>) {
    if c.step == Step::Idle {
        c.step = Step::Language;
    }
    replies.push(prompt(gw, c.step, lang, c));
}

/// The draft (made if missing: a step after consent always has one).
fn draft(c: &mut Conversation) -> &mut Draft {
    c.draft.get_or_insert_with(Draft::default)
}

/// Moves to `step` and asks its question.
fn go(gw: &Gateway, c: &mut Conversation, step: Step, replies: &mut Vec<Reply>) {
    c.step = step;
    let lang = c.language.unwrap_or(Language::Ru);
    replies.push(prompt(gw, step, lang, c));
}

fn after_photos(gw: &Gateway, inbound: &Inbound, c: &mut Conversation, replies: &mut Vec<Reply>) {
    // WhatsApp: the sender's own number is the contact (it is what the reply goes to).
    match inbound
        .sender_phone
        .as_deref()
        .map(normalize::phone)
        .and_then(Result::ok)
    {
        Some(phone) => {
            draft(c).phone = Some(phone);
            go(gw, c, Step::Name, replies);
        }
        None => go(gw, c, Step::Contact, replies),
    }
}

fn add_photo(
    draft: &mut Draft,
    photo: &PhotoResult,
    max: usize,
    lang: Language,
    replies: &mut Vec<Reply>,
) {
    let text = match photo {
        PhotoResult::Fetched(_) if draft.photos.len() >= max => t(lang, "bot-photos-full"),
        PhotoResult::Fetched(p) => {
            draft.photos.push(p.clone());
            ta(
                lang,
                "bot-photo-added",
                &[("count", draft.photos.len().to_string())],
            )
        }
        PhotoResult::TooLarge { limit_mb } => ta(
            lang,
            "bot-photo-too-large",
            &[("limit", limit_mb.to_string())],
        ),
        PhotoResult::Unavailable => t(lang, "bot-photo-unavailable"),
    };
    replies.push(Reply::text(text));
}

/// A button's id, or the button whose number was typed; `None` for anything else
/// (including a stale button of an earlier step).
fn choice(event: &Event, buttons: &[Button]) -> Option<String> {
    match event {
        Event::Button(id) => buttons.iter().find(|b| &b.id == id).map(|b| b.id.clone()),
        Event::Text(text) => {
            let n = text.trim().parse::<usize>().ok()?;
            buttons.get(n.checked_sub(1)?).map(|b| b.id.clone())
        }
        _ => None,
    }
}

fn language_buttons() -> Vec<Button> {
    vec![
        button("lang:kk", "Қазақша".into()),
        button("lang:ru", "Русский".into()),
        button("lang:en", "English".into()),
    ]
}

fn consent_buttons(lang: Language) -> Vec<Button> {
    vec![
        button("consent:yes", t(lang, "bot-button-agree")),
        button("consent:no", t(lang, "bot-button-decline")),
    ]
}

fn category_buttons(gw: &Gateway, lang: Language) -> Vec<Button> {
    gw.catalogue()
        .categories
        .iter()
        .map(|cat| button(&format!("cat:{}", cat.code), cat.name(lang).to_owned()))
        .collect()
}

fn photos_buttons(lang: Language) -> Vec<Button> {
    vec![button("photos:done", t(lang, "bot-button-photos-done"))]
}

fn summary_buttons(lang: Language) -> Vec<Button> {
    vec![
        button("summary:send", t(lang, "bot-button-send")),
        button("summary:edit", t(lang, "bot-button-edit")),
        button("summary:cancel", t(lang, "bot-button-cancel")),
    ]
}

/// The question of a step.
fn prompt(gw: &Gateway, step: Step, lang: Language, c: &Conversation) -> Reply {
    match step {
        Step::Idle | Step::Language => Reply {
            text: t(lang, "bot-greeting"),
            buttons: language_buttons(),
            ask: Ask::Nothing,
            list: None,
        },
        Step::Consent => Reply {
            text: ta(
                lang,
                "bot-consent",
                &[("url", gw.regulation_url().to_owned())],
            ),
            buttons: consent_buttons(lang),
            ask: Ask::Nothing,
            list: None,
        },
        Step::Category => Reply {
            text: t(lang, "bot-ask-category"),
            buttons: category_buttons(gw, lang),
            ask: Ask::Nothing,
            list: Some(ListLabels {
                open: t(lang, "bot-button-categories"),
                more: t(lang, "bot-button-more"),
                first_number: 1,
            }),
        },
        Step::Text => Reply::text(t(lang, "bot-ask-text")),
        Step::Location => Reply {
            text: t(lang, "bot-ask-location"),
            buttons: Vec::new(),
            ask: Ask::Location(t(lang, "bot-button-share-location")),
            list: None,
        },
        Step::Photos => Reply {
            text: ta(
                lang,
                "bot-ask-photos",
                &[("max", max_photos(gw).to_string())],
            ),
            buttons: photos_buttons(lang),
            ask: Ask::Nothing,
            list: None,
        },
        Step::Contact => Reply {
            text: t(lang, "bot-ask-contact"),
            buttons: Vec::new(),
            ask: Ask::Contact(t(lang, "bot-button-share-contact")),
            list: None,
        },
        Step::Name => Reply::text(t(lang, "bot-ask-name")),
        Step::Summary => Reply {
            text: summary_text(gw, lang, c),
            buttons: summary_buttons(lang),
            ask: Ask::Nothing,
            list: None,
        },
    }
}

/// The name of a category code in `lang` (empty for none).
fn category_name(gw: &Gateway, lang: Language, code: Option<&str>) -> String {
    code.and_then(|code| gw.category(code))
        .map(|cat| cat.name(lang).to_owned())
        .unwrap_or_default()
}

fn summary_text(gw: &Gateway, lang: Language, c: &Conversation) -> String {
    let d = c.draft.clone().unwrap_or_default();
    let category = category_name(gw, lang, d.category.as_deref());
    let location = match &d.location {
        Some(Location {
            address: Some(a), ..
        }) => a.clone(),
        Some(Location {
            lat: Some(lat),
            lon: Some(lon),
            ..
        }) => format!("{lat:.5}, {lon:.5}"),
        _ => String::new(),
    };
    ta(
        lang,
        "bot-summary",
        &[
            ("category", category),
            ("text", d.text.unwrap_or_default()),
            ("location", location),
            ("photos", d.photos.len().to_string()),
            ("phone", d.phone.unwrap_or_default()),
            ("name", d.name.unwrap_or_default()),
        ],
    )
}

/// The citizen's appeals, newest first, each with what the case system last said and
/// the date the law sets for the answer.
async fn status_text(gw: &Gateway, lang: Language, c: &Conversation) -> String {
    if c.appeals.is_empty() {
        return t(lang, "bot-status-none");
    }
    let format = time::macros::format_description!("[day].[month].[year]");
    let mut lines = Vec::new();
    for tracking in c.appeals.iter().rev() {
        let Some(number) = crate::tracking::TrackingNumber::parse_lenient(tracking) else {
            continue;
        };
        let public = gw.public_status(&number).await;
        let state = match &public {
            Ok(found) => match found.status {
                Some(status) => t(lang, &format!("notify-status-{}", status.as_str())),
                None => t(lang, "bot-status-accepted"),
            },
            Err(_) => t(lang, "bot-status-unavailable"),
        };
        let public = public.unwrap_or_default();
        let deadline = public
            .deadline
            .and_then(|d| d.format(&format).ok())
            .unwrap_or_else(|| "—".to_owned());
        lines.push(ta(
            lang,
            "bot-status-line",
            &[
                ("tracking", tracking.clone()),
                ("state", state),
                ("deadline", deadline),
            ],
        ));
    }
    lines.join("\n")
}

fn reply_channel(channel: Channel) -> ReplyChannel {
    match channel {
        Channel::Whatsapp => ReplyChannel::Whatsapp,
        _ => ReplyChannel::Telegram,
    }
}

/// "Send": the draft becomes an appeal, durable before the tracking number is shown.
async fn send(
    gw: &Gateway,
    inbound: &Inbound,
    c: &mut Conversation,
    lang: Language,
    replies: &mut Vec<Reply>,
) -> Result<(), EngineError> {
    let d = c.draft.clone().unwrap_or_default();
    let mut intake = Intake::new(inbound.channel);
    intake.language = Some(lang);
    intake.category = d.category.clone();
    intake.text = d.text.clone().unwrap_or_default();
    intake.location = d.location.clone();
    intake.attachments = d
        .photos
        .iter()
        .map(|p| RawAttachment {
            kind: "photo".into(),
            content_type: p.content_type.clone(),
            size: p.size,
            sha256: p.sha256.clone(),
        })
        .collect();
    intake.applicant = applicant(&d);
    intake.consent = Some(RawConsent {
        method: ConsentMethod::BotButton,
        purposes: vec![Purpose::Appeal, Purpose::Notifications],
        given_at: Some(d.consent_at.clone()),
        captured_by: None,
    });
    let address = match inbound.channel {
        Channel::Whatsapp => d.phone.clone().unwrap_or_default(),
        _ => inbound.user.clone(),
    };
    intake.reply_to = Some((reply_channel(inbound.channel), address));
    let claim = IdempotencyClaim {
        key: format!("{}:{}", inbound.channel.as_str(), d.id),
        fingerprint: d.id.clone(),
    };
    match gw.submit_appeal(intake, Some(claim)).await {
        Ok(receipt) => {
            let tracking = receipt.tracking_number.unwrap_or_default();
            // What a receipt states (issue 33, point 2), as far as a chat needs it.
            let (registered, answer_by) = gw.calendar().acknowledged(&receipt.id);
            let category = category_name(gw, lang, d.category.as_deref());
            c.appeals.push(tracking.clone());
            let excess = c.appeals.len().saturating_sub(REMEMBERED_APPEALS);
            c.appeals.drain(..excess);
            c.draft = None;
            c.step = Step::Idle;
            replies.push(Reply::text(ta(
                lang,
                "bot-sent",
                &[
                    ("tracking", tracking),
                    ("registered", registered),
                    ("category", category),
                    ("answer_by", answer_by),
                ],
            )));
            Ok(())
        }
        Err(SubmitError::Invalid(errors)) => {
            tracing::info!(
                channel = inbound.channel.as_str(),
                fields = ?errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(),
                "bot appeal refused"
            );
            replies.push(Reply::text(t(lang, "bot-invalid")));
            replies.push(prompt(gw, Step::Summary, lang, c));
            Ok(())
        }
        Err(SubmitError::KeyReused | SubmitError::Unavailable | SubmitError::InProgress) => {
            Err(EngineError::Unavailable)
        }
    }
}

/// The applicant as typed: "Surname Name \[Patronymic\]". The channel's policy decides
/// what of it is kept (the patronymic is not on the bots' list, and is dropped by name).
fn applicant(d: &Draft) -> BTreeMap<String, Value> {
    let mut applicant = BTreeMap::new();
    if let Some(phone) = &d.phone {
        applicant.insert("phones".to_owned(), json!([phone]));
    }
    if let Some(name) = &d.name {
        let words: Vec<&str> = name.split_whitespace().collect();
        match words.as_slice() {
            [] => {}
            [first] => {
                applicant.insert("first_name".to_owned(), json!(first));
            }
            [last, first, rest @ ..] => {
                applicant.insert("last_name".to_owned(), json!(last));
                applicant.insert("first_name".to_owned(), json!(first));
                if !rest.is_empty() {
                    applicant.insert("patronymic".to_owned(), json!(rest.join(" ")));
                }
            }
        }
    }
    applicant
}

/// `/revoke` and `/stop`: the subject request, keyed by the messenger id and, where
/// the messenger gives it, the sender's own number (WhatsApp), so the withdrawal
/// matches the appeals' consent records. Never a phone typed or shared in the draft
/// (issue 34): a Telegram user can type or share anyone's number, and a withdrawal
/// under it would silence that person's answers.
async fn subject_request(
    gw: &Gateway,
    inbound: &Inbound,
    kind: SubjectRequestKind,
) -> Result<(), EngineError> {
    let phone = inbound.sender_phone.clone();
    let intake = SubjectIntake {
        kind,
        channel: inbound.channel,
        identifiers: RawIdentifiers {
            phone,
            messenger_id: Some(format!("{}:{}", inbound.channel.as_str(), inbound.user)),
            ..RawIdentifiers::default()
        },
        text: None,
        // The chat (and WhatsApp's number) is the channel's own proof of who asks.
        verified_by: Some(VerifiedBy::ChannelSession),
    };
    match gw.submit_subject_request(intake, None).await {
        Ok(_) => Ok(()),
        Err(SubmitError::Invalid(_)) => {
            // Only a malformed phone can be refused: retry with the messenger id alone.
            let intake = SubjectIntake {
                kind,
                channel: inbound.channel,
                identifiers: RawIdentifiers {
                    messenger_id: Some(format!("{}:{}", inbound.channel.as_str(), inbound.user)),
                    ..RawIdentifiers::default()
                },
                text: None,
                verified_by: Some(VerifiedBy::ChannelSession),
            };
            gw.submit_subject_request(intake, None)
                .await
                .map(|_| ())
                .map_err(|_| EngineError::Unavailable)
        }
        Err(_) => Err(EngineError::Unavailable),
    }
}

#[cfg(test)]
mod tests;
