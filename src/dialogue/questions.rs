//! The category's questions in a chat (issue 29, point 2): after the category, its
//! notice (if any) and then each question one by one — a list as buttons (WhatsApp: an
//! interactive list when there are more than three), "Skip" where an answer is not
//! required — and an emergency's stopper ("call 104 now") before anything else is asked.
//! Answers are checked as the intake will check them, so a wrong one is asked again here
//! rather than refused at "Send".

use serde_json::Value;

use crate::appeal::Language;
use crate::attributes::{self, AttributeType};
use crate::field_error::FieldError;
use crate::pipeline::Gateway;

use super::conversation::{Conversation, Step};
use super::event::Event;
use super::prompt::{
    choice, current_question, draft, emergency, go, prompt, question_buttons, stopper_buttons,
};
use super::reply::{Reply, t};

/// The category was chosen: its notice, then its stopper, its first question or the text.
pub(super) fn begin(gw: &Gateway, c: &mut Conversation, lang: Language, replies: &mut Vec<Reply>) {
    let notice = draft(c)
        .category
        .as_deref()
        .and_then(|code| gw.category(code))
        .and_then(|category| category.notice.as_ref())
        .map(|notice| notice.get(lang).to_owned());
    if let Some(notice) = notice {
        replies.push(Reply::text(format!("ℹ️ {notice}")));
    }
    let d = draft(c);
    d.question = 0;
    d.attributes.clear();
    d.emergency_notice_shown = false;
    next(gw, c, replies);
}

/// The stopper if one is up and not yet read, else the question the draft stands at,
/// else the text.
fn next(gw: &Gateway, c: &mut Conversation, replies: &mut Vec<Reply>) {
    let shown = c.draft.as_ref().is_some_and(|d| d.emergency_notice_shown);
    if !shown && emergency(gw, c).is_some() {
        go(gw, c, Step::Stopper, replies);
    } else if current_question(gw, c).is_some() {
        go(gw, c, Step::Question, replies);
    } else {
        go(gw, c, Step::Text, replies);
    }
}

/// An answer to the question asked: a button, a typed value, "Skip" or "Done".
pub(super) fn question(
    gw: &Gateway,
    event: &Event,
    c: &mut Conversation,
    lang: Language,
    replies: &mut Vec<Reply>,
) {
    let Some(question) = current_question(gw, c).cloned() else {
        return next(gw, c, replies);
    };
    let code = question.code.clone();
    let chosen: Vec<String> = draft(c)
        .attributes
        .get(&code)
        .and_then(Value::as_array)
        .map(|keys| {
            keys.iter()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let buttons = question_buttons(&question, lang, &chosen);
    let answer = match (question.kind.is_list(), choice(event, &buttons)) {
        (_, Some(id)) if id == "q:skip" || id == "q:done" => None,
        (_, Some(id)) => {
            let key = id.strip_prefix("q:").unwrap_or_default().to_owned();
            if question.kind == AttributeType::Multivaluelist {
                let mut keys = chosen;
                if let Some(at) = keys.iter().position(|k| *k == key) {
                    keys.remove(at);
                } else {
                    keys.push(key);
                }
                draft(c).attributes.insert(code, Value::from(keys));
                // Chosen so far, and the same question again until "Done".
                replies.push(prompt(gw, Step::Question, lang, c));
                return;
            }
            Some(Value::String(key))
        }
        (false, None) => match event {
            Event::Text(text) => Some(Value::String(text.clone())),
            _ => return replies.push(prompt(gw, Step::Question, lang, c)),
        },
        (true, None) => return replies.push(prompt(gw, Step::Question, lang, c)),
    };
    if let Some(answer) = answer {
        let mut errors: Vec<FieldError> = Vec::new();
        let raw = std::iter::once((code.clone(), answer.clone())).collect();
        attributes::check(
            std::slice::from_ref(&question),
            &raw,
            &mut errors,
            &mut Vec::new(),
        );
        if let Some(error) = errors.first() {
            replies.push(Reply::text(t(lang, &format!("error-{}", error.code))));
            return replies.push(prompt(gw, Step::Question, lang, c));
        }
        draft(c).attributes.insert(code, answer);
    } else if question.required && chosen.is_empty() {
        return replies.push(prompt(gw, Step::Question, lang, c));
    }
    draft(c).question += 1;
    next(gw, c, replies);
}

/// "I have called, file it as non-urgent" goes on; "Cancel" ends the draft.
pub(super) fn stopper(
    gw: &Gateway,
    event: &Event,
    c: &mut Conversation,
    lang: Language,
    replies: &mut Vec<Reply>,
) {
    match choice(event, &stopper_buttons(lang)).as_deref() {
        Some("stopper:file") => {
            let d = draft(c);
            d.emergency_notice_shown = true;
            // A stopper raised by an answer comes after that answer: go on past it.
            next(gw, c, replies);
        }
        Some(_) => {
            c.draft = None;
            c.step = Step::Idle;
            replies.push(Reply::text(t(lang, "bot-cancelled")));
        }
        None => replies.push(prompt(gw, Step::Stopper, lang, c)),
    }
}
