//! The Telegram route of the way back: `sendMessage` to the chat the appeal came from.

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use teloxide::prelude::Requester;

use crate::notify::route::{Context, Route, RouteError};

use super::settings::TelegramConfig;

/// Answers through the Bot API.
pub(crate) struct TelegramRoute {
    bot: teloxide::Bot,
}

impl TelegramRoute {
    pub(crate) fn new(config: &TelegramConfig) -> TelegramRoute {
        TelegramRoute {
            bot: teloxide::Bot::new(config.token.clone()).set_api_url(config.api_url.clone()),
        }
    }
}

impl Route for TelegramRoute {
    fn send<'a>(
        &'a self,
        address: &'a str,
        text: &'a str,
        ctx: &'a Context<'a>,
    ) -> BoxFuture<'a, Result<(), RouteError>> {
        async move {
            let Ok(chat) = address.parse::<i64>() else {
                return Err(RouteError::Permanent("invalid_address"));
            };
            let body = format!("{}\n\n{text}", ctx.heading());
            match self
                .bot
                .send_message(teloxide::types::ChatId(chat), body)
                .await
            {
                Ok(_) => Ok(()),
                Err(
                    teloxide::RequestError::Api(_) | teloxide::RequestError::MigrateToChatId(_),
                ) => Err(RouteError::Permanent("rejected_by_provider")),
                Err(_) => Err(RouteError::Temporary("provider_unavailable")),
            }
        }
        .boxed()
    }

    /// `sendMessage` takes 4,096 characters; the heading takes the rest.
    fn max_text(&self) -> Option<usize> {
        Some(MAX_MESSAGE - HEADING_RESERVE)
    }

    /// A message `sendMessage` returned is in the citizen's chat.
    fn delivered_on_send(&self) -> bool {
        true
    }
}

/// Characters of one `sendMessage` text (Bot API).
const MAX_MESSAGE: usize = 4096;
/// Room left for the heading (tracking number, status, part number).
const HEADING_RESERVE: usize = 128;
