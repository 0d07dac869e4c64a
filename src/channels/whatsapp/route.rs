//! The WhatsApp route of the way back: a session message inside the citizen's 24-hour
//! customer-service window, the approved template outside it (the Cloud API refuses
//! free-form messages there).

use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use serde_json::json;

use crate::notify::route::{Context, Route, RouteError, classify};

use super::settings::WhatsappConfig;

/// Characters of a text message (Cloud API limit).
pub(crate) const MAX_TEXT: usize = 4096;

/// Answers through the Cloud API.
pub(crate) struct WhatsappRoute {
    client: reqwest::Client,
    messages_url: String,
    access_token: String,
    template: String,
    answer_template: String,
}

impl WhatsappRoute {
    pub(crate) fn new(config: &WhatsappConfig) -> WhatsappRoute {
        WhatsappRoute {
            client: reqwest::Client::new(),
            messages_url: config.messages_url(),
            access_token: config.access_token.clone(),
            template: config.reply_template.clone(),
            answer_template: config.answer_template.clone(),
        }
    }
}

impl Route for WhatsappRoute {
    fn send<'a>(
        &'a self,
        address: &'a str,
        text: &'a str,
        ctx: &'a Context<'a>,
    ) -> BoxFuture<'a, Result<(), RouteError>> {
        async move {
            let digits: String = address.chars().filter(char::is_ascii_digit).collect();
            let body = if ctx.session_open {
                let mut body = format!("{}\n\n{text}", ctx.heading());
                if ctx.is_last_part() {
                    body.push_str(&format!("\n\n{}", ctx.status_link));
                }
                json!({
                    "messaging_product": "whatsapp", "recipient_type": "individual", "to": digits,
                    "type": "text",
                    "text": {"preview_url": true, "body": body},
                })
            } else if ctx.part.0 > 1 {
                // Outside the window the template stands for the whole answer: once.
                return Ok(());
            } else if ctx.part.1 == 1 && fits_template(text) {
                // The answer itself, in the template's body.
                json!({
                    "messaging_product": "whatsapp", "recipient_type": "individual", "to": digits,
                    "type": "template",
                    "template": {
                        "name": self.answer_template,
                        "language": {"code": ctx.language.as_str()},
                        "components": [{"type": "body", "parameters": [
                            {"type": "text", "text": ctx.tracking_number},
                            {"type": "text", "text": ctx.status_name()},
                            {"type": "text", "text": template_text(text)},
                        ]}],
                    },
                })
            } else {
                // An answer is waiting: the citizen taps "Show answer" (or writes) and
                // the held text follows as session messages (`notify::held`).
                ctx.withhold();
                json!({
                    "messaging_product": "whatsapp", "recipient_type": "individual", "to": digits,
                    "type": "template",
                    "template": {
                        "name": self.template,
                        "language": {"code": ctx.language.as_str()},
                        "components": [
                            {"type": "body", "parameters": [
                                {"type": "text", "text": ctx.tracking_number},
                                {"type": "text", "text": ctx.status_name()},
                            ]},
                            {"type": "button", "sub_type": "quick_reply", "index": "0",
                             "parameters": [{"type": "payload", "payload": SHOW_ANSWER}]},
                        ],
                    },
                })
            };
            let response = self
                .client
                .post(&self.messages_url)
                .bearer_auth(&self.access_token)
                .timeout(Duration::from_secs(10))
                .json(&body)
                .send()
                .await
                .map_err(|_| RouteError::Temporary("network"))?;
            classify(response.status())?;
            // `{"messages": [{"id": "wamid.…"}]}`: the id its `statuses[]` carry.
            if let Ok(answer) = response.json::<serde_json::Value>().await
                && let Some(id) = answer["messages"][0]["id"].as_str()
            {
                ctx.sent_as(id);
            }
            Ok(())
        }
        .boxed()
    }

    /// A text message takes 4,096 characters; the heading and the status link the rest.
    fn max_text(&self) -> Option<usize> {
        Some(MAX_TEXT - FRAME_RESERVE)
    }
}

/// The quick-reply button's payload: the citizen asks for the held answer.
pub(crate) const SHOW_ANSWER: &str = "show_answer";

/// Characters of the answer a template's body parameter carries: the Cloud API refuses
/// a template body over 1,024 characters, and the fixed text with the tracking number
/// and status takes up to about 200 of them.
const MAX_TEMPLATE_ANSWER: usize = 800;

/// Whether the answer fits a template's body parameter.
fn fits_template(text: &str) -> bool {
    text.chars().count() <= MAX_TEMPLATE_ANSWER
}

/// The answer as a body parameter: the Cloud API refuses new lines, tabs and more than
/// four spaces in a row there, so paragraphs become " · ".
fn template_text(text: &str) -> String {
    let paragraphs: Vec<String> = text
        .split('\n')
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|line| !line.is_empty())
        .collect();
    paragraphs.join(" · ")
}

/// Room left for the heading and the status link of a session message.
const FRAME_RESERVE: usize = 512;
