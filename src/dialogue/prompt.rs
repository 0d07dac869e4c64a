//! The question of each step ([`prompt`]), its buttons, and reading an answer as one of
//! them ([`choice`]): the same words and buttons whether the step is asked the first
//! time or again.

use crate::appeal::{Channel, Language, Location};
use crate::pipeline::Gateway;

use super::conversation::{Conversation, Draft, Step};
use super::event::Event;
use super::reply::{Ask, Button, ListLabels, Reply, button, t, ta};

/// Photos a conversation takes: the smaller of the two bots' `attachments.max_count`
/// (`channels/telegram.toml`, `channels/whatsapp.toml`), so it reads the same on both.
pub(super) fn max_photos(gw: &Gateway) -> usize {
    let limit = |channel| gw.policy(channel).max_attachments;
    limit(Channel::Telegram).min(limit(Channel::Whatsapp))
}

/// Asks the current step's question again (a conversation not yet begun starts with the
/// choice of language).
pub(super) fn ask_again(
    gw: &Gateway,
    c: &mut Conversation,
    lang: Language,
    replies: &mut Vec<Reply>,
) {
    if c.step == Step::Idle {
        c.step = Step::Language;
    }
    replies.push(prompt(gw, c.step, lang, c));
}

/// The draft (made if missing: a step after consent always has one).
pub(super) fn draft(c: &mut Conversation) -> &mut Draft {
    c.draft.get_or_insert_with(Draft::default)
}

/// Moves to `step` and asks its question.
pub(super) fn go(gw: &Gateway, c: &mut Conversation, step: Step, replies: &mut Vec<Reply>) {
    c.step = step;
    let lang = c.language.unwrap_or(Language::Ru);
    replies.push(prompt(gw, step, lang, c));
}

/// A button's id, or the button whose number was typed; `None` for anything else
/// (including a stale button of an earlier step).
pub(super) fn choice(event: &Event, buttons: &[Button]) -> Option<String> {
    match event {
        Event::Button(id) => buttons.iter().find(|b| &b.id == id).map(|b| b.id.clone()),
        Event::Text(text) => {
            let n = text.trim().parse::<usize>().ok()?;
            buttons.get(n.checked_sub(1)?).map(|b| b.id.clone())
        }
        _ => None,
    }
}

pub(super) fn language_buttons() -> Vec<Button> {
    vec![
        button("lang:kk", "Қазақша".into()),
        button("lang:ru", "Русский".into()),
        button("lang:en", "English".into()),
    ]
}

pub(super) fn consent_buttons(lang: Language) -> Vec<Button> {
    vec![
        button("consent:yes", t(lang, "bot-button-agree")),
        button("consent:no", t(lang, "bot-button-decline")),
    ]
}

pub(super) fn category_buttons(gw: &Gateway, lang: Language) -> Vec<Button> {
    gw.catalogue()
        .categories
        .iter()
        .map(|cat| button(&format!("cat:{}", cat.code), cat.name(lang).to_owned()))
        .collect()
}

pub(super) fn photos_buttons(lang: Language) -> Vec<Button> {
    vec![button("photos:done", t(lang, "bot-button-photos-done"))]
}

pub(super) fn summary_buttons(lang: Language) -> Vec<Button> {
    vec![
        button("summary:send", t(lang, "bot-button-send")),
        button("summary:edit", t(lang, "bot-button-edit")),
        button("summary:cancel", t(lang, "bot-button-cancel")),
    ]
}

/// The question of a step.
pub(super) fn prompt(gw: &Gateway, step: Step, lang: Language, c: &Conversation) -> Reply {
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
pub(super) fn category_name(gw: &Gateway, lang: Language, code: Option<&str>) -> String {
    code.and_then(|code| gw.category(code))
        .map(|cat| cat.name(lang).to_owned())
        .unwrap_or_default()
}

pub(super) fn summary_text(gw: &Gateway, lang: Language, c: &Conversation) -> String {
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
