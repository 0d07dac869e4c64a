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
        Step::Question => question_prompt(gw, lang, c),
        Step::Stopper => stopper_prompt(gw, lang, c),
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

/// The category's question the draft stands at, if any.
pub(super) fn current_question<'g>(
    gw: &'g Gateway,
    c: &Conversation,
) -> Option<&'g crate::attributes::Question> {
    let d = c.draft.as_ref()?;
    gw.category(d.category.as_deref()?)?
        .questions
        .get(d.question)
}

/// The emergency the draft's category or answers stop at, if any.
pub(super) fn emergency<'g>(
    gw: &'g Gateway,
    c: &Conversation,
) -> Option<&'g crate::catalogue::Emergency> {
    let d = c.draft.as_ref()?;
    let category = gw.category(d.category.as_deref()?)?;
    let answers = crate::attributes::check(
        &category.questions,
        &d.attributes,
        &mut Vec::new(),
        &mut Vec::new(),
    );
    gw.catalogue().stopper(category, &answers)
}

/// The buttons of a question: a list's values (those chosen marked ✓ in a
/// `multivaluelist`, with "Done"), "Skip" when it is not required.
pub(super) fn question_buttons(
    question: &crate::attributes::Question,
    lang: Language,
    chosen: &[String],
) -> Vec<Button> {
    let mut buttons: Vec<Button> = question
        .values
        .iter()
        .map(|v| {
            let mark = if chosen.contains(&v.key) { "✓ " } else { "" };
            button(
                &format!("q:{}", v.key),
                format!("{mark}{}", v.names.get(lang)),
            )
        })
        .collect();
    if question.kind == crate::attributes::AttributeType::Multivaluelist && !chosen.is_empty() {
        buttons.push(button("q:done", t(lang, "bot-button-photos-done")));
    } else if !question.required {
        buttons.push(button("q:skip", t(lang, "question-skip")));
    }
    buttons
}

fn question_prompt(gw: &Gateway, lang: Language, c: &Conversation) -> Reply {
    let Some(question) = current_question(gw, c) else {
        return Reply::text(t(lang, "bot-ask-text"));
    };
    let mut text = question.label.get(lang).to_owned();
    if !question.required {
        text = format!("{text} {}", t(lang, "question-optional"));
    }
    if let Some(help) = question.help(lang) {
        text = format!("{text}\n{help}");
    }
    let chosen: Vec<String> = c
        .draft
        .as_ref()
        .and_then(|d| d.attributes.get(&question.code))
        .and_then(|v| v.as_array())
        .map(|keys| {
            keys.iter()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let buttons = question_buttons(question, lang, &chosen);
    let list = (buttons.len() > 3).then(|| ListLabels {
        open: question.label.get(lang).to_owned(),
        more: t(lang, "bot-button-more"),
        first_number: 1,
    });
    Reply {
        text,
        buttons,
        ask: Ask::Nothing,
        list,
    }
}

/// "Call 104 now", with the way on as a non-urgent appeal, or out.
pub(super) fn stopper_buttons(lang: Language) -> Vec<Button> {
    vec![
        button("stopper:file", t(lang, "stopper-file-anyway")),
        button("stopper:cancel", t(lang, "stopper-cancel")),
    ]
}

fn stopper_prompt(gw: &Gateway, lang: Language, c: &Conversation) -> Reply {
    let Some(emergency) = emergency(gw, c) else {
        return Reply::text(t(lang, "bot-ask-text"));
    };
    let args = [
        ("number", emergency.number.clone()),
        ("service", emergency.names.get(lang).to_owned()),
    ];
    Reply {
        text: format!(
            "{}\n\n{}",
            ta(lang, "stopper-heading", &args),
            ta(lang, "stopper-body", &args)
        ),
        buttons: stopper_buttons(lang),
        ask: Ask::Nothing,
        list: None,
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
    let answers = answers_text(gw, lang, &d);
    let summary = ta(
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
    );
    if answers.is_empty() {
        summary
    } else {
        format!("{summary}\n{answers}")
    }
}

/// The answers to the category's questions, one line each (`label: answer`).
fn answers_text(gw: &Gateway, lang: Language, d: &Draft) -> String {
    let Some(category) = d.category.as_deref().and_then(|code| gw.category(code)) else {
        return String::new();
    };
    let mut lines = Vec::new();
    for question in &category.questions {
        let Some(answer) = d.attributes.get(&question.code) else {
            continue;
        };
        let name = |key: &str| {
            question
                .value(key)
                .map_or_else(|| key.to_owned(), |v| v.names.get(lang).to_owned())
        };
        let shown = match answer {
            serde_json::Value::String(s) if question.kind.is_list() => name(s),
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Array(keys) => keys
                .iter()
                .filter_map(|k| k.as_str())
                .map(name)
                .collect::<Vec<_>>()
                .join(", "),
            other => other.to_string(),
        };
        lines.push(format!("{}: {shown}", question.label.get(lang)));
    }
    lines.join("\n")
}
