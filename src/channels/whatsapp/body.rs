//! The Graph API body of one reply within the Cloud API's limits: text, reply buttons
//! (up to three) or an interactive list (up to ten rows, "Other…" bringing the rest).

use serde_json::{Value, json};

use crate::dialogue::{Ask, Button, ListLabels, Reply};

use super::route::MAX_TEXT;

/// Reply buttons per interactive message (Cloud API limit).
pub(super) const MAX_BUTTONS: usize = 3;
/// Characters of a reply button's title (Cloud API limit).
pub(super) const MAX_BUTTON_TITLE: usize = 20;
/// Characters of an interactive message's body (Cloud API limit).
pub(super) const MAX_INTERACTIVE_BODY: usize = 1024;

/// The Graph API body of one reply.
pub(super) fn message_body(to: &str, reply: &Reply) -> Value {
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
pub(super) const MAX_ROWS: usize = 10;
/// Characters of a row's title, of its description, of the list's button (Cloud API
/// limits).
pub(super) const MAX_ROW_TITLE: usize = 24;
pub(super) const MAX_ROW_DESCRIPTION: usize = 72;
pub(super) const MAX_LIST_BUTTON: usize = 20;

/// An interactive list of the choices: up to ten rows; with more, the first nine and
/// "Other…" (`more:<index>`, which brings the rest). Rows are numbered as the choices
/// are, so that typing the number works as well; a title cut to the row's 24
/// characters is given whole in the description.
pub(super) fn list_message(text: &str, buttons: &[Button], list: &ListLabels) -> Value {
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
pub(super) fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut short: String = text.chars().take(max.saturating_sub(1)).collect();
    short.truncate(short.trim_end().len());
    short.push('…');
    short
}

pub(super) fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}
