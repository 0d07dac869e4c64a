//! The conversation's steps, one function each: what an event means at the step the
//! conversation stands at, what is kept of it in the draft, and which question comes
//! next. Commands ([`super::commands`]) and kinds of message the dialogue cannot take
//! come first, at any step.

use crate::appeal::{Language, Location};
use crate::normalize;
use crate::pipeline::Gateway;

use super::commands::{self, command_of};
use super::conversation::{Conversation, Draft, Step};
use super::error::EngineError;
use super::event::{Event, Inbound, PhotoResult, Unsupported};
use super::prompt::{
    ask_again, category_buttons, choice, consent_buttons, draft, go, language_buttons, max_photos,
    photos_buttons, prompt, summary_buttons,
};
use super::questions;
use super::reply::{Reply, t, ta};
use super::send::send;

/// Moves the conversation on by one event. Returns whether the conversation is kept
/// (`false`: erased from the store).
pub(super) async fn advance(
    gw: &Gateway,
    inbound: &Inbound,
    c: &mut Conversation,
    replies: &mut Vec<Reply>,
) -> Result<bool, EngineError> {
    let lang = c.language.or(inbound.language_hint).unwrap_or(Language::Ru);

    // The city-wide banner, once per banner, to a conversation that starts while it is
    // up (issue 29, point 4).
    if c.step == Step::Idle
        && let Some(banner) = gw.banner().await
        && c.banner.as_deref() != Some(banner.fingerprint().as_str())
    {
        c.banner = Some(banner.fingerprint());
        replies.push(Reply::text(format!("📢 {}", banner.text(lang))));
    }

    if let Event::Text(text) = &inbound.event
        && let Some(command) = command_of(text)
    {
        return commands::run(gw, inbound, &command, c, lang, replies).await;
    }
    if let Event::Unsupported(kind) = &inbound.event {
        unsupported(gw, *kind, c, lang, replies);
        return Ok(true);
    }

    let event = &inbound.event;
    match c.step {
        Step::Idle => idle(gw, c, lang, replies),
        Step::Language => language(gw, event, c, lang, replies),
        Step::Consent => return Ok(consent(gw, event, c, lang, replies)),
        Step::Category => category(gw, event, c, lang, replies),
        Step::Question => questions::question(gw, event, c, lang, replies),
        Step::Stopper => questions::stopper(gw, event, c, lang, replies),
        Step::Text => text(gw, event, c, lang, replies),
        Step::Location => location(gw, event, c, lang, replies),
        Step::Photos => photos(gw, inbound, c, lang, replies),
        Step::Contact => contact(gw, event, c, lang, replies),
        Step::Name => name(gw, event, c, lang, replies),
        Step::Summary => summary(gw, inbound, c, lang, replies).await?,
    }
    Ok(true)
}

/// A voice note, a sticker, a poll: the citizen is told why, and the step is asked again.
fn unsupported(
    gw: &Gateway,
    kind: Unsupported,
    c: &mut Conversation,
    lang: Language,
    replies: &mut Vec<Reply>,
) {
    let id = match kind {
        Unsupported::VoiceOrVideo => "bot-voice-not-accepted",
        Unsupported::Other => "bot-kind-not-accepted",
    };
    replies.push(Reply::text(t(lang, id)));
    ask_again(gw, c, lang, replies);
}

/// No conversation yet: anything begins it with the choice of language.
fn idle(gw: &Gateway, c: &mut Conversation, lang: Language, replies: &mut Vec<Reply>) {
    c.step = Step::Language;
    replies.push(prompt(gw, Step::Language, lang, c));
}

/// The language chosen: on to consent, or back to the step `/language` interrupted.
fn language(
    gw: &Gateway,
    event: &Event,
    c: &mut Conversation,
    lang: Language,
    replies: &mut Vec<Reply>,
) {
    match choice(event, &language_buttons()) {
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
    }
}

/// "I agree" opens the draft; "No" ends the conversation. Returns whether the
/// conversation is kept.
fn consent(
    gw: &Gateway,
    event: &Event,
    c: &mut Conversation,
    lang: Language,
    replies: &mut Vec<Reply>,
) -> bool {
    match choice(event, &consent_buttons(lang)).as_deref() {
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
            return !c.appeals.is_empty();
        }
        None => replies.push(prompt(gw, Step::Consent, lang, c)),
    }
    true
}

/// A category of the catalogue, or the next page of a long list ("Other…").
fn category(
    gw: &Gateway,
    event: &Event,
    c: &mut Conversation,
    lang: Language,
    replies: &mut Vec<Reply>,
) {
    let buttons = category_buttons(gw, lang);
    if let Event::Button(id) = event
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
        return;
    }
    match choice(event, &buttons) {
        Some(id) => {
            let code = id.strip_prefix("cat:").unwrap_or("other").to_owned();
            draft(c).category = Some(code);
            questions::begin(gw, c, lang, replies);
        }
        None => replies.push(prompt(gw, Step::Category, lang, c)),
    }
}

/// The complaint's text, typed or as a photo's caption (the photo is taken as well).
fn text(
    gw: &Gateway,
    event: &Event,
    c: &mut Conversation,
    lang: Language,
    replies: &mut Vec<Reply>,
) {
    match event {
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
    }
}

/// Where: a shared location or a typed address (a photo sent early is taken).
fn location(
    gw: &Gateway,
    event: &Event,
    c: &mut Conversation,
    lang: Language,
    replies: &mut Vec<Reply>,
) {
    match event {
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
    }
}

/// Photos until "Done" or the limit.
fn photos(
    gw: &Gateway,
    inbound: &Inbound,
    c: &mut Conversation,
    lang: Language,
    replies: &mut Vec<Reply>,
) {
    match &inbound.event {
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
    }
}

/// The phone, shared (Telegram's contact button) or typed.
fn contact(
    gw: &Gateway,
    event: &Event,
    c: &mut Conversation,
    lang: Language,
    replies: &mut Vec<Reply>,
) {
    let typed = match event {
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

/// The applicant's name, then the summary.
fn name(
    gw: &Gateway,
    event: &Event,
    c: &mut Conversation,
    lang: Language,
    replies: &mut Vec<Reply>,
) {
    match event {
        Event::Text(name) if !normalize::line(name).is_empty() => {
            draft(c).name = Some(normalize::line(name));
            go(gw, c, Step::Summary, replies);
        }
        _ => replies.push(prompt(gw, Step::Name, lang, c)),
    }
}

/// "Send", "Edit" (back to the category, photos dropped) or "Cancel".
async fn summary(
    gw: &Gateway,
    inbound: &Inbound,
    c: &mut Conversation,
    lang: Language,
    replies: &mut Vec<Reply>,
) -> Result<(), EngineError> {
    match choice(&inbound.event, &summary_buttons(lang)).as_deref() {
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
    }
    Ok(())
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
