//! The WhatsApp route of the way back: a session message inside the citizen's 24-hour
//! customer-service window, the approved template outside it (the Cloud API refuses
//! free-form messages there).

use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use serde_json::json;

use crate::notify::route::{Context, Route, RouteError, classify};

use super::WhatsappConfig;

/// Answers through the Cloud API.
pub(crate) struct WhatsappRoute {
    client: reqwest::Client,
    messages_url: String,
    access_token: String,
    template: String,
}

impl WhatsappRoute {
    pub(crate) fn new(config: &WhatsappConfig) -> WhatsappRoute {
        WhatsappRoute {
            client: reqwest::Client::new(),
            messages_url: config.messages_url(),
            access_token: config.access_token.clone(),
            template: config.reply_template.clone(),
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
            } else {
                json!({
                    "messaging_product": "whatsapp", "recipient_type": "individual", "to": digits,
                    "type": "template",
                    "template": {
                        "name": self.template,
                        "language": {"code": ctx.language.as_str()},
                        "components": [{"type": "body", "parameters": [
                            {"type": "text", "text": ctx.tracking_number},
                            {"type": "text", "text": ctx.status_name()},
                        ]}],
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
            classify(response.status())
        }
        .boxed()
    }

    /// A text message takes 4,096 characters; the heading and the status link the rest.
    fn max_text(&self) -> Option<usize> {
        Some(super::MAX_TEXT - FRAME_RESERVE)
    }
}

/// Room left for the heading and the status link of a session message.
const FRAME_RESERVE: usize = 512;
