//! The routes a reply can travel: one per `reply_to.channel`. A route that is not
//! configured fails permanently, so the notifier falls back to another contact.

use std::time::Duration;

use serde_json::json;
use teloxide::prelude::Requester;

use crate::appeal::{Language, ReplyChannel, ReplyTo};
use crate::channels::email::ack::{Acknowledger, Reply as Mail};
use crate::i18n::MESSAGES;

use super::reply::CaseStatus;
use super::sms::Sms;

/// Why a send failed: worth a retry, or final. The reason is a code, never content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteError {
    Temporary(&'static str),
    Permanent(&'static str),
}

impl RouteError {
    pub fn reason(self) -> &'static str {
        match self {
            RouteError::Temporary(r) | RouteError::Permanent(r) => r,
        }
    }
}

/// What a route needs besides the address and the text.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    pub reply_id: &'a str,
    pub appeal_id: &'a str,
    pub tracking_number: &'a str,
    pub language: Language,
    pub status: Option<CaseStatus>,
    /// The appeal's status page, closing texts cut for length.
    pub status_link: &'a str,
    /// Whether the citizen wrote to the WhatsApp line in the last 24 hours (the Cloud
    /// API's customer-service window): inside it a free-form message, outside it only an
    /// approved template may be sent.
    pub whatsapp_session_open: bool,
}

/// The WhatsApp Cloud API route.
#[derive(Clone)]
pub struct Whatsapp {
    pub client: reqwest::Client,
    /// `{api_url}/{phone-number-id}/messages`.
    pub messages_url: String,
    pub access_token: String,
    /// The approved template used outside the 24-hour window; its body takes two
    /// parameters: the tracking number and the status.
    pub template: String,
}

/// The configured routes.
#[derive(Clone, Default)]
pub struct Routes {
    pub sms: Option<Sms>,
    pub email: Option<Acknowledger>,
    pub telegram: Option<teloxide::Bot>,
    pub whatsapp: Option<Whatsapp>,
}

impl Routes {
    /// Every route whose channel is configured.
    pub fn from_config(config: &crate::config::Config) -> Routes {
        let email = match (&config.mail.smtp_url, &config.mail.mail_from) {
            (Some(url), Some(from)) => Acknowledger::new(url, from).ok(),
            _ => None,
        };
        Routes {
            sms: config
                .sms
                .clone()
                .map(|(url, key, sender)| Sms::new(url, key, sender, config.sms_max_parts)),
            email,
            telegram: config
                .telegram
                .as_ref()
                .map(|t| teloxide::Bot::new(t.token.clone()).set_api_url(t.api_url.clone())),
            whatsapp: config.whatsapp.as_ref().map(|w| Whatsapp {
                client: reqwest::Client::new(),
                messages_url: format!(
                    "{}/{}/messages",
                    w.api_url.trim_end_matches('/'),
                    w.phone_number_id
                ),
                access_token: w.access_token.clone(),
                template: config.whatsapp_reply_template.clone(),
            }),
        }
    }
}

/// 2xx accepted; 5xx and 429 worth a retry; other answers final.
pub(crate) fn classify(status: reqwest::StatusCode) -> Result<(), RouteError> {
    if status.is_success() {
        Ok(())
    } else if status.is_server_error() || status.as_u16() == 429 {
        Err(RouteError::Temporary("provider_unavailable"))
    } else {
        Err(RouteError::Permanent("rejected_by_provider"))
    }
}

impl Routes {
    /// Sends `text` to `to`.
    pub async fn send(
        &self,
        to: &ReplyTo,
        text: &str,
        ctx: &Context<'_>,
    ) -> Result<(), RouteError> {
        let unavailable = Err(RouteError::Permanent("route_unavailable"));
        match to.channel {
            ReplyChannel::Sms => match &self.sms {
                Some(sms) => sms.send(&to.address, text, ctx.status_link).await,
                None => unavailable,
            },
            ReplyChannel::Email => match &self.email {
                Some(smtp) => send_mail(smtp, &to.address, text, ctx).await,
                None => unavailable,
            },
            ReplyChannel::Telegram => match &self.telegram {
                Some(bot) => send_telegram(bot, &to.address, text, ctx).await,
                None => unavailable,
            },
            ReplyChannel::Whatsapp => match &self.whatsapp {
                Some(wa) => send_whatsapp(wa, &to.address, text, ctx).await,
                None => unavailable,
            },
        }
    }
}

fn status_name(ctx: &Context<'_>) -> String {
    let id = format!(
        "notify-status-{}",
        ctx.status.map_or("answer", CaseStatus::as_str)
    );
    MESSAGES.text(ctx.language, &id, &[])
}

/// A threaded mail: under the appeal's acknowledgement (`<ack.{appeal id}@…>`, see the
/// email channel), with the tracking number in the subject.
async fn send_mail(
    smtp: &Acknowledger,
    to: &str,
    text: &str,
    ctx: &Context<'_>,
) -> Result<(), RouteError> {
    let thread = smtp.message_id("ack", ctx.appeal_id);
    let subject = format!("[{}] {}", ctx.tracking_number, status_name(ctx));
    let footer = MESSAGES.text(
        ctx.language,
        "notify-status-link",
        &[("link", ctx.status_link.to_owned())],
    );
    let mail = Mail {
        to: to.to_owned(),
        subject,
        body: format!("{text}\n\n{footer}"),
        message_id: smtp.message_id("reply", ctx.reply_id),
        in_reply_to: Some(thread.clone()),
        references: vec![thread],
    };
    smtp.send(&mail).await.map_err(|e| {
        if e.starts_with("recipient") {
            RouteError::Permanent("invalid_address")
        } else if e.contains("permanent") || e.contains("server answered 5") {
            RouteError::Permanent("rejected_by_provider")
        } else {
            RouteError::Temporary("provider_unavailable")
        }
    })
}

/// `sendMessage` to the chat the appeal came from.
async fn send_telegram(
    bot: &teloxide::Bot,
    chat: &str,
    text: &str,
    ctx: &Context<'_>,
) -> Result<(), RouteError> {
    let Ok(chat) = chat.parse::<i64>() else {
        return Err(RouteError::Permanent("invalid_address"));
    };
    let body = format!("{} — {}\n\n{text}", ctx.tracking_number, status_name(ctx));
    match bot.send_message(teloxide::types::ChatId(chat), body).await {
        Ok(_) => Ok(()),
        Err(teloxide::RequestError::Api(_)) => Err(RouteError::Permanent("rejected_by_provider")),
        Err(teloxide::RequestError::MigrateToChatId(_)) => {
            Err(RouteError::Permanent("rejected_by_provider"))
        }
        Err(_) => Err(RouteError::Temporary("provider_unavailable")),
    }
}

/// A session message inside the 24-hour window, the approved template outside it.
async fn send_whatsapp(
    wa: &Whatsapp,
    to: &str,
    text: &str,
    ctx: &Context<'_>,
) -> Result<(), RouteError> {
    let digits: String = to.chars().filter(char::is_ascii_digit).collect();
    let body = if ctx.whatsapp_session_open {
        json!({
            "messaging_product": "whatsapp", "recipient_type": "individual", "to": digits,
            "type": "text",
            "text": {"preview_url": true, "body": format!("{} — {}\n\n{text}\n\n{}", ctx.tracking_number, status_name(ctx), ctx.status_link)},
        })
    } else {
        json!({
            "messaging_product": "whatsapp", "recipient_type": "individual", "to": digits,
            "type": "template",
            "template": {
                "name": wa.template,
                "language": {"code": ctx.language.as_str()},
                "components": [{"type": "body", "parameters": [
                    {"type": "text", "text": ctx.tracking_number},
                    {"type": "text", "text": status_name(ctx)},
                ]}],
            },
        })
    };
    let response = wa
        .client
        .post(&wa.messages_url)
        .bearer_auth(&wa.access_token)
        .timeout(Duration::from_secs(10))
        .json(&body)
        .send()
        .await
        .map_err(|_| RouteError::Temporary("network"))?;
    classify(response.status())
}

/// The route's name in receipts and metrics.
pub fn name(channel: ReplyChannel) -> &'static str {
    match channel {
        ReplyChannel::Telegram => "telegram",
        ReplyChannel::Whatsapp => "whatsapp",
        ReplyChannel::Email => "email",
        ReplyChannel::Sms => "sms",
    }
}
