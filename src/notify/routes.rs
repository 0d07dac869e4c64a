//! The routes a reply can travel: one per `reply_to.channel`. A route that is not
//! configured fails permanently, so the notifier falls back to another contact.

use crate::appeal::{ReplyChannel, ReplyTo};

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

/// The configured routes. Telegram, WhatsApp and email join as their channels do.
#[derive(Clone, Default)]
pub struct Routes {
    pub sms: Option<Sms>,
}

impl Routes {
    /// Sends `text` to `to`; `status_link` closes a text cut for length.
    pub async fn send(
        &self,
        to: &ReplyTo,
        text: &str,
        status_link: &str,
    ) -> Result<(), RouteError> {
        match to.channel {
            ReplyChannel::Sms => match &self.sms {
                Some(sms) => sms.send(&to.address, text, status_link).await,
                None => Err(RouteError::Permanent("route_unavailable")),
            },
            ReplyChannel::Telegram | ReplyChannel::Whatsapp | ReplyChannel::Email => {
                Err(RouteError::Permanent("route_unavailable"))
            }
        }
    }
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
